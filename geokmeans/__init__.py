"""geokmeans: k-means clustering of longitude/latitude points, measured in metres."""

import importlib
import importlib.abc
import importlib.util
import sys

from ._version import __version__
from .errors import (
    CRSError,
    DataTypeError,
    GeoKMeansError,
    GeoKMeansWarning,
    GroupedResultError,
    InputError,
    OptionalDependencyError,
)


class _AfterPandas(importlib.abc.MetaPathFinder):
    """Registers ``DataFrame.geokmeans`` as soon as pandas has been imported (a post-import
    hook): the accessor needs pandas, and ``import geokmeans`` alone does not import it."""

    def find_spec(self, name, path=None, target=None):
        if name != "pandas":
            return None
        sys.meta_path.remove(self)  # once; the other finders locate pandas itself
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            importlib.import_module(".accessor", __name__)

        spec.loader.exec_module = exec_then_register  # this spec's own loader instance
        return spec


if "pandas" in sys.modules:
    from . import accessor  # noqa: F401  (registers DataFrame.geokmeans)
elif not any(isinstance(finder, _AfterPandas) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AfterPandas())

# The public names of heavier modules (numba kernels, geopandas, scikit-learn's tags) load
# on first use, so ``import geokmeans`` and ``geokmeans --help`` stay quick.
_LAZY = {
    "KMeans": ".core",
    "GeoKMeans": ".model",
    "Projection": ".projection",
    "choose_projection": ".projection",
    "ClusterResult": ".result",
    "cluster": ".result",
    "KChoice": ".selection",
    "choose_k": ".selection",
    "assign": ".stable_ids",
    "ConvergenceWarning": ".errors",
}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
    "GroupedResultError",
    "InputError",
    "OptionalDependencyError",
    "__version__",
]
