"""Numeric core: Euclidean k-means on (n, d) float64 arrays (numpy and numba only)."""

import numpy as np

from . import _kernels
from ._estimator import KMeans

__all__ = ["KMeans", "nearest_centre"]


def nearest_centre(X, centres):
    """Index (n,) int32 of the nearest of ``centres`` (k, d) for each row of ``X`` (n, d).

    Ties go to the lowest index. Inputs are assumed validated (float64, finite).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    labels = np.empty(X.shape[0], dtype=np.int32)
    dist2 = np.empty(X.shape[0])
    _kernels.assign_labels(X, np.ascontiguousarray(np.asarray(centres, dtype=np.float64).T),
                           _kernels.chunk_starts(X.shape[0]), labels, dist2)
    return labels
