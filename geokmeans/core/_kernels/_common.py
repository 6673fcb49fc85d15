"""What every kernel family shares: the fixed chunking of rows, the inlined distance
primitives, and the whole-array passes (reductions, inertia, distances) that belong to
no single algorithm."""

import numpy as np
from numba import njit, prange

__all__ = [
    "MAX_CHUNKS",
    "MIN_CHUNK_ROWS",
    "chunk_starts",
    "ordered_sum",
    "reduce_partials",
    "weighted_inertia",
    "pairwise_distances",
]


# At least this many rows per chunk, and at most this many chunks: partial sums
# then take MAX_CHUNKS * k * d floats whatever n is.
MIN_CHUNK_ROWS = 512
MAX_CHUNKS = 256


def chunk_starts(n_rows):
    """Return the (n_chunks + 1,) int64 row offsets of the chunks for ``n_rows`` rows."""
    n_chunks = max(1, min(MAX_CHUNKS, -(-n_rows // MIN_CHUNK_ROWS)))
    return np.linspace(0, n_rows, n_chunks + 1).round().astype(np.int64)


# -- inlined distance primitives --------------------------------------------------------------

@njit(inline="always")
def _sqdist(X, i, centers, j):
    total = 0.0
    for f in range(X.shape[1]):
        diff = X[i, f] - centers[j, f]
        total += diff * diff
    return total


@njit(inline="always")
def _all_sqdist(X, i, centers_t, buf):
    """Squared distances from row i to every centre into ``buf`` (k,).

    ``centers_t`` is the (d, k) transpose of the centres, so the loop over centres is
    contiguous and vectorises; each distance adds the same terms in the same order as
    ``_sqdist``, so both give the same value.
    """
    k = centers_t.shape[1]
    for j in range(k):
        buf[j] = 0.0
    for f in range(centers_t.shape[0]):
        xf = X[i, f]
        for j in range(k):
            diff = xf - centers_t[f, j]
            buf[j] += diff * diff


@njit(inline="always")
def _keep_two(d2, j, best, second, best_j):
    """Fold centre j at squared distance d2 into the two nearest so far (ties: lower j)."""
    if d2 < best or (d2 == best and j < best_j):
        return d2, best, j
    if d2 < second:
        return best, d2, best_j
    return best, second, best_j


@njit(inline="always")
def _box_sqdist(point, t, box_lo, box_hi, b):
    total = 0.0
    for f in range(point.shape[1]):
        v = point[t, f]
        gap = 0.0
        if v < box_lo[b, f]:
            gap = box_lo[b, f] - v
        elif v > box_hi[b, f]:
            gap = v - box_hi[b, f]
        total += gap * gap
    return total


# -- whole-array passes ------------------------------------------------------------------------

def ordered_sum(partials, out=None):
    """Sum of ``partials`` over its first axis, added one after another from 0.0 in index
    order: the bits of a serial loop ``total += partials[c]`` (numpy's ``sum`` adds in
    pairs, which rounds differently; ``add.accumulate``, ``add`` in a loop and Python's
    floats add in order). A float for a 1-d ``partials``, else an array (``out`` if given).
    """
    if partials.ndim == 1:
        total = 0.0
        for value in partials.tolist():
            total += value
        return total
    if partials.shape[0] > 8:
        first = np.zeros((1,) + partials.shape[1:])
        total = np.add.accumulate(np.concatenate([first, partials]), axis=0)[-1]
        if out is None:
            return total
        out[...] = total
        return out
    out = np.empty(partials.shape[1:]) if out is None else out
    if partials.shape[0] == 0:
        out.fill(0.0)
    else:
        np.add(0.0, partials[0], out=out)
    for c in range(1, partials.shape[0]):
        np.add(out, partials[c], out=out)
    return out


def reduce_partials(part_sums, part_weights, part_inertia, sums, cluster_weights):
    """Add the chunks' partial results in chunk order; return the total inertia (plain
    numpy: nothing to compile)."""
    ordered_sum(part_sums, out=sums)  # OUT
    ordered_sum(part_weights, out=cluster_weights)  # OUT
    return ordered_sum(part_inertia)


def weighted_inertia(X, weights, centers, labels, starts):
    """Sum of ``weights * squared distance`` of each row to the centre named by ``labels``.

    A single chunk runs a serial copy of the kernel (on a small input, a first run
    compiles no ``prange`` loop); the sum is the same bits."""
    if starts.shape[0] == 2:
        return _single_chunk_inertia(X, weights, centers, labels, starts)
    return _weighted_inertia_parallel(X, weights, centers, labels, starts)


@njit(cache=True)
def _single_chunk_inertia(X, weights, centers, labels, starts):
    total = 0.0
    for i in range(starts[0], starts[1]):
        total += weights[i] * _sqdist(X, i, centers, labels[i])
    return 0.0 + total  # as the parallel kernel adds its one partial to 0.0


@njit(parallel=True, cache=True)
def _weighted_inertia_parallel(X, weights, centers, labels, starts):
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
