"""Lloyd's iterations: the full E-step (every row against every centre) fused with the
M-step's per-chunk weighted sums."""

import numpy as np
from numba import njit, prange

from ._common import _all_sqdist, _sqdist

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


#: A new centre is searched only when its squared distance from the row's nearest
#: centre so far is below 4 d² times this (beyond it, it cannot be nearer). The stored
#: d² is a float32 (rounded to nearest: 6e-8 relative at most); the slack covers that
#: rounding with room to spare.
_PRUNE_SLACK = 1.0 + 1e-6


@njit(parallel=True, cache=True)
def nearest_update(X, weights, centers, first_index, near, near_d2, beyond, starts, labels,
                   dist2, part_cost):
    """Fold new centres into each row's nearest so far, in place: where a centre of
    ``centers`` (m, d) is strictly nearer than ``dist2`` (float32), ``labels`` becomes
    its index plus ``first_index`` (ties keep the earlier centre, among the new ones the
    lowest index). Writes each chunk's weighted sum of the new ``dist2`` into
    ``part_cost`` (n_chunks,).

    ``near`` (first_index, L) int32 and ``near_d2`` (first_index, L): for each earlier
    centre, its L nearest new ones and their squared distances from it, in increasing
    order; ``beyond`` (first_index,): the squared distance to the next one (inf if
    none). A new centre at 2 d or more from the row's nearest centre so far cannot be
    nearer (the triangle inequality, as in Elkan, "Using the triangle inequality to
    accelerate k-means", ICML 2003), so a row reads only the new centres listed within
    that reach, and all of them only when the reach goes past the list. In the later
    rounds of k-means|| most rows read none."""
    centers_t = np.ascontiguousarray(centers.T)
    for c in prange(starts.shape[0] - 1):
        buf = np.empty(centers.shape[0])
        cost = 0.0
        for i in range(starts[c], starts[c + 1]):
            old = np.float64(dist2[i])
            if first_index > 0 and 4.0 * old * _PRUNE_SLACK <= beyond[labels[i]]:
                j, d2 = _nearest_listed(X, i, centers, near, near_d2, labels[i],
                                        4.0 * old * _PRUNE_SLACK)
            else:
                j, d2 = _nearest(X, i, centers_t, buf)
            if d2 < old:
                dist2[i] = d2  # OUT
                labels[i] = j + first_index  # OUT
                old = np.float64(dist2[i])
            cost += weights[i] * old
        part_cost[c] = cost  # OUT


@njit(inline="always")
def _nearest_listed(X, i, centers, near, near_d2, a, reach2):
    """Index of and squared distance to the nearest (lowest index on ties) of the
    centres listed for ``a`` within ``reach2`` of it (inf if none)."""
    best, best_j = np.inf, 0
    for t in range(near.shape[1]):
        if near_d2[a, t] >= reach2:
            break
        j = near[a, t]
        d2 = _sqdist(X, i, centers, j)
        if d2 < best or (d2 == best and j < best_j):
            best, best_j = d2, j
    return best_j, best
