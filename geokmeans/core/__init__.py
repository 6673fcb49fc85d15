"""Numeric core: Euclidean k-means on (n, d) float64 arrays (numpy and numba only)."""

from ._driver import assign
from ._estimator import KMeans

__all__ = ["KMeans", "assign", "nearest_centre"]


def nearest_centre(X, centres):
    """Index (n,) int32 of the nearest of ``centres`` (k, d) for each row of ``X`` (n, d).

    Ties go to the lowest index. Inputs are assumed validated (finite).
    """
    return assign(X, centres)[0]
