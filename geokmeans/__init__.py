"""geokmeans: k-means clustering of longitude/latitude points, measured in metres."""

from . import accessor  # noqa: F401  (registers DataFrame.geokmeans)
from ._version import __version__
from .core import KMeans
from .errors import (
    ConvergenceWarning,
    CRSError,
    DataTypeError,
    GeoKMeansError,
    GeoKMeansWarning,
    InputError,
    OptionalDependencyError,
)
from .model import GeoKMeans
from .projection import Projection, choose_projection
from .result import ClusterResult, cluster
from .selection import KChoice, choose_k
from .stable_ids import assign


def explore(result, **map_options):
    """A folium map of a ``ClusterResult``; see ``geokmeans.maps.explore``."""
    from .maps import explore as _explore

    return _explore(result, **map_options)

__all__ = [
    "ClusterResult",
    "GeoKMeans",
    "assign",
    "KMeans",
    "Projection",
    "choose_projection",
    "choose_k",
    "cluster",
    "KChoice",
    "explore",
    "ConvergenceWarning",
    "CRSError",
    "DataTypeError",
    "GeoKMeansError",
    "GeoKMeansWarning",
    "InputError",
    "OptionalDependencyError",
    "__version__",
]
