"""geokmeans: k-means clustering of longitude/latitude points, measured in metres."""

from .core import KMeans
from .errors import (
    ConvergenceWarning,
    CRSError,
    DataTypeError,
    GeoKMeansError,
    GeoKMeansWarning,
    InputError,
)

__version__ = "0.1.0"

__all__ = [
    "KMeans",
    "ConvergenceWarning",
    "CRSError",
    "DataTypeError",
    "GeoKMeansError",
    "GeoKMeansWarning",
    "InputError",
    "__version__",
]
