"""k-means++ seeding over spatial blocks: Morton ordering of the rows, the blocks'
bounding boxes, and the kernels that add, score and sample centres block by block."""

import numpy as np
from numba import njit, prange

from ._common import _box_sqdist, _sqdist

__all__ = [
    "BLOCK_ROWS",
    "morton_keys",
    "radix_argsort",
    "gather_rows",
    "column_bounds",
    "block_boxes",
    "block_layout",
    "kpp_add_centre",
    "kpp_candidate_potentials",
    "kpp_sample",
]


# -- k-means++ over spatial blocks -----------------------------------------------------------
#
# Rows are put in Morton (Z-order) so that consecutive rows are near each other, then
# cut into blocks of BLOCK_ROWS rows with a bounding box, the largest squared distance
# to the chosen centres (``block_max``) and the block's potential (``block_pot``). A
# candidate farther from a block's box than ``sqrt(block_max)`` cannot bring any of its
# rows closer, so the block's potential is taken as it is, without touching its rows.
# The test is exact (box minimum distances never exceed a row's distance in floating
# point), so the potentials are those of the plain algorithm up to summation order.

BLOCK_ROWS = 256


@njit(inline="always")
def _spread_bits(q, dims):
    """Spread the low bits of ``q`` so that ``dims`` keys interleave (Z-order)."""
    if dims == 2:  # 16 bits -> every other bit
        q &= 0x0000FFFF
        q = (q | (q << 8)) & 0x00FF00FF
        q = (q | (q << 4)) & 0x0F0F0F0F
        q = (q | (q << 2)) & 0x33333333
        q = (q | (q << 1)) & 0x55555555
    elif dims == 3:  # 10 bits -> every third bit
        q &= 0x000003FF
        q = (q | (q << 16)) & 0xFF0000FF
        q = (q | (q << 8)) & 0x0300F00F
        q = (q | (q << 4)) & 0x030C30C3
        q = (q | (q << 2)) & 0x09249249
    return q


@njit(parallel=True, cache=True)
def morton_keys(X, lo, scale, dims):
    """32-bit Z-order keys of the first ``dims`` (1 to 3) coordinates of each row."""
    n = X.shape[0]
    bits = 32 // dims if dims < 3 else 10
    top = (1 << bits) - 1
    keys = np.empty(n, dtype=np.uint32)
    for i in prange(n):
        key = 0
        for f in range(dims):
            q = int((X[i, f] - lo[f]) * scale[f])
            q = min(max(q, 0), top)
            key |= _spread_bits(q, dims) << f
        keys[i] = key
    return keys


@njit(cache=True)
def radix_argsort(keys):
    """Stable argsort (int32, so n < 2**31) of uint32 keys: three 11-bit counting passes."""
    n = keys.shape[0]
    order = np.empty(n, dtype=np.int32)
    for i in range(n):
        order[i] = i
    order_next = np.empty(n, dtype=np.int32)
    current = keys.copy()
    current_next = np.empty_like(current)
    for shift in (0, 11, 22):
        counts = np.zeros(2049, dtype=np.int64)
        for i in range(n):
            counts[((current[i] >> shift) & 2047) + 1] += 1
        for b in range(2048):
            counts[b + 1] += counts[b]
        for i in range(n):
            digit = (current[i] >> shift) & 2047
            slot = counts[digit]
            order_next[slot] = order[i]
            current_next[slot] = current[i]
            counts[digit] = slot + 1
        order, order_next = order_next, order
        current, current_next = current_next, current
    return order


@njit(parallel=True, cache=True)
def gather_rows(X, order, X_out):
    """``X_out = X[order]``, in parallel."""
    for i in prange(order.shape[0]):
        r = order[i]
        for f in range(X.shape[1]):
            X_out[i, f] = X[r, f]  # OUT


@njit(cache=True)
def column_bounds(X):
    """(2, d) array of each column's minimum and maximum."""
    d = X.shape[1]
    out = np.empty((2, d))
    for f in range(d):
        out[0, f] = np.inf
        out[1, f] = -np.inf
    for i in range(X.shape[0]):
        for f in range(d):
            v = X[i, f]
            if v < out[0, f]:
                out[0, f] = v
            if v > out[1, f]:
                out[1, f] = v
    return out


def block_layout(X):
    """``(starts, box_lo, box_hi)`` of ``X`` (n, d) cut, in its order, into blocks of
    ``BLOCK_ROWS`` rows: the blocks' first rows (and n) and their bounding boxes."""
    n_rows = X.shape[0]
    starts = np.append(np.arange(0, n_rows, BLOCK_ROWS), n_rows)
    box_lo = np.empty((starts.shape[0] - 1, X.shape[1]))
    box_hi = np.empty_like(box_lo)
    block_boxes(X, starts, box_lo, box_hi)
    return starts, box_lo, box_hi


@njit(parallel=True, cache=True)
def block_boxes(X, block_starts, box_lo, box_hi):
    """Bounding box of each block of rows."""
    d = X.shape[1]
    for b in prange(block_starts.shape[0] - 1):
        for f in range(d):
            box_lo[b, f] = np.inf  # OUT
            box_hi[b, f] = -np.inf  # OUT
        for i in range(block_starts[b], block_starts[b + 1]):
            for f in range(d):
                v = X[i, f]
                if v < box_lo[b, f]:
                    box_lo[b, f] = v
                if v > box_hi[b, f]:
                    box_hi[b, f] = v


@njit(parallel=True, cache=True)
def kpp_add_centre(X, weights, center, block_starts, box_lo, box_hi, closest, block_max,
                   block_pot):
    """Take ``center`` (1, d) as chosen: lower ``closest`` and refresh the block stats.

    Blocks are skipped when the centre is no nearer than their current maximum; a first
    call with ``closest`` all infinite visits every row. Returns the new potential.
    """
    n_blocks = block_starts.shape[0] - 1
    for b in prange(n_blocks):
        if _box_sqdist(center, 0, box_lo, box_hi, b) >= block_max[b]:
            continue
        worst = 0.0
        pot = 0.0
        for i in range(block_starts[b], block_starts[b + 1]):
            d2 = _sqdist(X, i, center, 0)
            if d2 < closest[i]:
                closest[i] = d2  # OUT
            c = closest[i]
            if c > worst:
                worst = c
            pot += weights[i] * c
        block_max[b] = worst  # OUT
        block_pot[b] = pot  # OUT
    total = 0.0
    for b in range(n_blocks):
        total += block_pot[b]
    return total


@njit(parallel=True, cache=True)
def kpp_candidate_potentials(X, weights, candidates, block_starts, box_lo, box_hi, closest,
                             block_max, block_pot):
    """Potential of each candidate (t,) if it were added, visiting only nearby blocks."""
    n_blocks = block_starts.shape[0] - 1
    n_cand = candidates.shape[0]
    partial = np.empty((n_blocks, n_cand))
    for b in prange(n_blocks):
        for t in range(n_cand):
            if _box_sqdist(candidates, t, box_lo, box_hi, b) >= block_max[b]:
                partial[b, t] = block_pot[b]
                continue
            pot = 0.0
            for i in range(block_starts[b], block_starts[b + 1]):
                d2 = _sqdist(X, i, candidates, t)
                c = closest[i]
                pot += weights[i] * (d2 if d2 < c else c)
            partial[b, t] = pot
    potentials = np.zeros(n_cand)
    for b in range(n_blocks):
        for t in range(n_cand):
            potentials[t] += partial[b, t]
    return potentials


@njit(cache=True)
def kpp_sample(targets, weights, closest, block_starts, block_pot):
    """Rows drawn with probability ∝ ``weights * closest``: for each target in
    [0, total potential) the row where the running sum (block by block) passes it."""
    n_blocks = block_starts.shape[0] - 1
    out = np.empty(targets.shape[0], dtype=np.int64)
    for t in range(targets.shape[0]):
        remaining = targets[t]
        last_positive = -1
        chosen = -1
        for b in range(n_blocks):
            if block_pot[b] <= 0.0:
                continue
            if remaining >= block_pot[b]:
                remaining -= block_pot[b]
                for i in range(block_starts[b + 1] - 1, block_starts[b] - 1, -1):
                    if weights[i] * closest[i] > 0.0:
                        last_positive = i
                        break
                continue
            for i in range(block_starts[b], block_starts[b + 1]):
                p = weights[i] * closest[i]
                if p <= 0.0:
                    continue
                last_positive = i
                if remaining < p:
                    chosen = i
                    break
                remaining -= p
            if chosen < 0:
                chosen = last_positive  # rounding ran past the block's end
            break
        out[t] = chosen if chosen >= 0 else max(last_positive, 0)
    return out
