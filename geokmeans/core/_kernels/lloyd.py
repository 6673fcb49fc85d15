"""Lloyd's iterations: the full E-step (every row against every centre) fused with the
M-step's per-chunk weighted sums."""

import numpy as np
from numba import njit, prange

from ._common import _all_sqdist

__all__ = [
    "assign_labels",
    "lloyd_step",
    "nearest_update",
]


@njit(inline="always")
def _nearest(X, i, centers_t, buf):
    """Index of and squared distance to the nearest centre (lowest index on ties)."""
    _all_sqdist(X, i, centers_t, buf)
    best = np.inf
    best_j = 0
    for j in range(buf.shape[0]):
        if buf[j] < best:
            best = buf[j]
            best_j = j
    return best_j, best


@njit(parallel=True, cache=True)
def assign_labels(X, centers_t, starts, labels, dist2):
    """Nearest centre of every row: ``labels`` (n,) int32 and squared distance ``dist2`` (n,).

    ``centers_t`` is the (d, k) transpose of the centres.
    """
    for c in prange(starts.shape[0] - 1):
        buf = np.empty(centers_t.shape[1])
        for i in range(starts[c], starts[c + 1]):
            j, d2 = _nearest(X, i, centers_t, buf)
            labels[i] = j  # OUT
            dist2[i] = d2  # OUT


@njit(parallel=True, cache=True)
def lloyd_step(X, weights, centers_t, starts, labels, dist2, part_sums, part_weights, part_inertia):
    """E-step plus per-chunk weighted sums for the M-step (``centers_t``: (d, k)).

    Writes ``labels``, ``dist2`` (n,), and per chunk ``part_sums`` (n_chunks, k, d),
    ``part_weights`` (n_chunks, k) and ``part_inertia`` (n_chunks,).
    """
    d = X.shape[1]
    for c in prange(starts.shape[0] - 1):
        part_sums[c, :, :] = 0.0  # OUT
        part_weights[c, :] = 0.0  # OUT
        buf = np.empty(centers_t.shape[1])
        inertia = 0.0
        for i in range(starts[c], starts[c + 1]):
            j, d2 = _nearest(X, i, centers_t, buf)
            labels[i] = j  # OUT
            dist2[i] = d2  # OUT
            w = weights[i]
            part_weights[c, j] += w
            for f in range(d):
                part_sums[c, j, f] += w * X[i, f]
            inertia += w * d2
        part_inertia[c] = inertia  # OUT


@njit(parallel=True, cache=True)
def nearest_update(X, weights, centers_t, first_index, starts, labels, dist2, part_cost):
    """Fold new centres into each row's nearest so far, in place: where a centre of
    ``centers_t`` (d, m) is strictly nearer than ``dist2``, ``labels`` becomes its index
    plus ``first_index`` (ties keep the earlier centre). Writes each chunk's weighted
    sum of the new ``dist2`` into ``part_cost`` (n_chunks,)."""
    for c in prange(starts.shape[0] - 1):
        buf = np.empty(centers_t.shape[1])
        cost = 0.0
        for i in range(starts[c], starts[c + 1]):
            j, d2 = _nearest(X, i, centers_t, buf)
            if d2 < dist2[i]:
                dist2[i] = d2  # OUT
                labels[i] = j + first_index  # OUT
            cost += weights[i] * dist2[i]
        part_cost[c] = cost  # OUT
