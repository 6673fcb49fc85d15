"""Numba kernels: distances, assignment and partial sums over fixed chunks of rows.

Every parallel loop runs over chunks whose bounds depend only on the number of rows,
never on the number of threads. Each chunk writes its own slot of the partial
results, which are then reduced in chunk order, so results are bit-identical
whatever ``NUMBA_NUM_THREADS`` is. Kernels never validate; arguments written to are
marked ``# OUT``.
"""

import numpy as np
from numba import njit, prange

__all__ = [
    "MAX_CHUNKS",
    "MIN_CHUNK_ROWS",
    "chunk_starts",
    "assign_labels",
    "lloyd_step",
    "reduce_partials",
    "pairwise_distances",
    "update_closest",
    "candidate_potentials",
    "weighted_inertia",
]

# At least this many rows per chunk, and at most this many chunks: partial sums
# then take MAX_CHUNKS * k * d floats whatever n is.
MIN_CHUNK_ROWS = 512
MAX_CHUNKS = 256


def chunk_starts(n_rows):
    """Return the (n_chunks + 1,) int64 row offsets of the chunks for ``n_rows`` rows."""
    n_chunks = max(1, min(MAX_CHUNKS, -(-n_rows // MIN_CHUNK_ROWS)))
    return np.linspace(0, n_rows, n_chunks + 1).round().astype(np.int64)


@njit(inline="always")
def _sqdist(X, i, centers, j):
    total = 0.0
    for f in range(X.shape[1]):
        diff = X[i, f] - centers[j, f]
        total += diff * diff
    return total


@njit(inline="always")
def _nearest(X, i, centers):
    best = np.inf
    best_j = 0
    for j in range(centers.shape[0]):
        dist2 = _sqdist(X, i, centers, j)
        if dist2 < best:
            best = dist2
            best_j = j
    return best_j, best


@njit(parallel=True, cache=True)
def assign_labels(X, centers, starts, labels, dist2):
    """Nearest centre of every row: ``labels`` (n,) int32 and squared distance ``dist2`` (n,)."""
    for c in prange(starts.shape[0] - 1):
        for i in range(starts[c], starts[c + 1]):
            j, d2 = _nearest(X, i, centers)
            labels[i] = j  # OUT
            dist2[i] = d2  # OUT


@njit(parallel=True, cache=True)
def lloyd_step(X, weights, centers, starts, labels, dist2, part_sums, part_weights, part_inertia):
    """E-step plus per-chunk weighted sums for the M-step.

    Writes ``labels``, ``dist2`` (n,), and per chunk ``part_sums`` (n_chunks, k, d),
    ``part_weights`` (n_chunks, k) and ``part_inertia`` (n_chunks,).
    """
    d = X.shape[1]
    for c in prange(starts.shape[0] - 1):
        part_sums[c, :, :] = 0.0  # OUT
        part_weights[c, :] = 0.0  # OUT
        inertia = 0.0
        for i in range(starts[c], starts[c + 1]):
            j, d2 = _nearest(X, i, centers)
            labels[i] = j  # OUT
            dist2[i] = d2  # OUT
            w = weights[i]
            part_weights[c, j] += w
            for f in range(d):
                part_sums[c, j, f] += w * X[i, f]
            inertia += w * d2
        part_inertia[c] = inertia  # OUT


@njit(cache=True)
def reduce_partials(part_sums, part_weights, part_inertia, sums, cluster_weights):
    """Add the chunks' partial results in chunk order; return the total inertia."""
    sums[:, :] = 0.0  # OUT
    cluster_weights[:] = 0.0  # OUT
    inertia = 0.0
    for c in range(part_sums.shape[0]):
        for j in range(part_sums.shape[1]):
            cluster_weights[j] += part_weights[c, j]
            for f in range(part_sums.shape[2]):
                sums[j, f] += part_sums[c, j, f]
        inertia += part_inertia[c]
    return inertia


@njit(parallel=True, cache=True)
def weighted_inertia(X, weights, centers, labels, starts):
    """Sum of ``weights * squared distance`` of each row to the centre named by ``labels``."""
    n_chunks = starts.shape[0] - 1
    partial = np.zeros(n_chunks)
    for c in prange(n_chunks):
        total = 0.0
        for i in range(starts[c], starts[c + 1]):
            total += weights[i] * _sqdist(X, i, centers, labels[i])
        partial[c] = total
    inertia = 0.0
    for c in range(n_chunks):
        inertia += partial[c]
    return inertia


@njit(parallel=True, cache=True)
def pairwise_distances(X, centers, starts, out):
    """Euclidean distances from every row to every centre, into ``out`` (n, k)."""
    for c in prange(starts.shape[0] - 1):
        for i in range(starts[c], starts[c + 1]):
            for j in range(centers.shape[0]):
                out[i, j] = np.sqrt(_sqdist(X, i, centers, j))  # OUT


@njit(parallel=True, cache=True)
def update_closest(X, center, starts, closest):
    """``closest[i] = min(closest[i], |X[i] - center|^2)`` for a single centre (1, d)."""
    for c in prange(starts.shape[0] - 1):
        for i in range(starts[c], starts[c + 1]):
            d2 = _sqdist(X, i, center, 0)
            if d2 < closest[i]:
                closest[i] = d2  # OUT


@njit(parallel=True, cache=True)
def candidate_potentials(X, weights, candidates, closest, starts):
    """k-means++ potential of each candidate: ``sum_i w_i min(closest_i, |X_i - cand|^2)``."""
    n_chunks = starts.shape[0] - 1
    n_cand = candidates.shape[0]
    partial = np.zeros((n_chunks, n_cand))
    for c in prange(n_chunks):
        for i in range(starts[c], starts[c + 1]):
            w = weights[i]
            for t in range(n_cand):
                d2 = _sqdist(X, i, candidates, t)
                partial[c, t] += w * min(d2, closest[i])
    potentials = np.zeros(n_cand)
    for c in range(n_chunks):
        for t in range(n_cand):
            potentials[t] += partial[c, t]
    return potentials
