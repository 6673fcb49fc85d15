"""Numeric core: Euclidean k-means on (n, d) float64 arrays (numpy and numba only)."""

from ._estimator import KMeans

__all__ = ["KMeans"]
