"""Initial centres: uniform in a box, random data points, greedy k-means++.

Private: arguments are assumed validated (float64 C-contiguous ``X`` (n, d), weights
(n,) >= 0 with a positive sum, ``1 <= n_clusters <= n``, ``rng`` a numpy Generator).
"""

import math

import numpy as np

from . import _kernels

__all__ = ["init_bbox", "init_random", "init_kmeanspp", "data_bbox"]


def data_bbox(X, weights):
    """Return the (2, d) box ``[mins, maxs]`` of the rows with positive weight."""
    kept = X[weights > 0]
    return np.stack([kept.min(axis=0), kept.max(axis=0)])


def init_bbox(X, weights, n_clusters, rng, bbox=None):
    """Centres drawn uniformly in ``bbox`` (2, d), by default the data's box."""
    box = data_bbox(X, weights) if bbox is None else bbox
    return rng.uniform(box[0], box[1], size=(n_clusters, X.shape[1]))


def init_random(X, weights, n_clusters, rng):
    """``n_clusters`` distinct rows drawn without replacement, with probability ∝ weight.

    When fewer rows than ``n_clusters`` have positive weight, all of those are taken and
    the rest are drawn uniformly among the zero-weight rows.
    """
    positive = np.flatnonzero(weights > 0)
    if positive.size >= n_clusters:
        chosen = rng.choice(X.shape[0], size=n_clusters, replace=False, p=weights / weights.sum())
    else:
        zero = np.flatnonzero(weights == 0)
        extra = rng.choice(zero, size=n_clusters - positive.size, replace=False)
        chosen = np.concatenate([rng.permutation(positive), extra])
    return X[chosen].copy()


def init_kmeanspp(X, weights, n_clusters, rng, starts):
    """Greedy k-means++ (Arthur & Vassilvitskii, 2007) with ``2 + floor(ln k)`` trials.

    Each step draws the candidates with probability ∝ ``weight * D(x)^2`` and keeps the
    one that lowers the weighted potential most (the greedy variant of Arthur &
    Vassilvitskii's section 5, as in scikit-learn).
    """
    n_samples, n_features = X.shape
    n_trials = 2 + int(math.log(n_clusters))
    centers = np.empty((n_clusters, n_features))
    first = rng.choice(n_samples, p=weights / weights.sum())
    centers[0] = X[first]
    closest = np.full(n_samples, np.inf)
    _kernels.update_closest(X, centers[0:1], starts, closest)
    potential = float(closest @ weights)
    for c in range(1, n_clusters):
        cumulative = np.cumsum(weights * closest)
        draws = rng.uniform(size=n_trials) * potential
        candidate_ids = np.minimum(np.searchsorted(cumulative, draws), n_samples - 1)
        candidates = np.ascontiguousarray(X[candidate_ids])
        potentials = _kernels.candidate_potentials(X, weights, candidates, closest, starts)
        best = int(np.argmin(potentials))
        potential = float(potentials[best])
        centers[c] = candidates[best]
        _kernels.update_closest(X, candidates[best : best + 1], starts, closest)
    return centers
