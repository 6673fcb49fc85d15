"""LocalSearch++ over the seeds: nearest-two bookkeeping per row and the swap kernels
that price and apply the replacement of one centre."""

import numpy as np
from numba import njit, prange

from ._common import MAX_CHUNKS, _box_sqdist, _keep_two, _sqdist

__all__ = [
    "n_block_groups",
    "ls_nearest_two",
    "ls_swap_deltas",
    "ls_swap",
]


# -- local search over the seeds (LocalSearch++) ---------------------------------------------
#
# Lattanzi & Sohler (2019), "A better k-means++ algorithm via local search": after seeding,
# draw a row with probability ∝ weight * D^2 and swap it for the centre whose removal then
# costs least, when the swap lowers the potential. With every row's nearest centre
# (``label``), squared distance to it (``closest``) and to the second nearest (``second``),
# the potential after replacing centre j by candidate p changes by
#
#     delta_j = G + base_j + corr_j,    G = sum_x w (min(dp, d1) - d1)          (p's gain)
#                                       base_j = sum_{label=j} w (d2 - d1)      (j's loss)
#                                       corr_j = sum_{label=j, dp<d2} w (dp - d2) - gain_x
#
# Only rows with dp < d2 enter G and corr, so blocks farther from p than their largest d2
# (``block_max2``) are skipped, as in k-means++. Blocks are visited in fixed groups whose
# partial sums are reduced in order: results do not depend on the number of threads.


def n_block_groups(n_blocks):
    """Number of groups of blocks (at most MAX_CHUNKS); group g holds blocks g, g + G, ...

    Interleaved groups spread the blocks near one point, which hold all the work of a
    swap, over every thread.
    """
    return max(1, min(MAX_CHUNKS, n_blocks))


@njit(inline="always")
def _block_candidates(centers, box_lo, box_hi, b, cand):
    """Write into ``cand`` the centres that can be the nearest or second nearest of a
    row of block b and return how many: those whose distance to the block's box is at
    most the second smallest distance to its farthest corner (every row's second
    distance is within that). Both bounds hold in floating point, so the others are
    strictly farther than each row's second nearest; ``cand`` is in increasing order."""
    k = centers.shape[0]
    near = np.empty(k)
    far1 = np.inf
    far2 = np.inf
    for j in range(k):
        lo_d = 0.0
        hi_d = 0.0
        for f in range(centers.shape[1]):
            c = centers[j, f]
            lo = box_lo[b, f]
            hi = box_hi[b, f]
            gap = lo - c if c < lo else (c - hi if c > hi else 0.0)
            reach = max(c - lo, hi - c)
            lo_d += gap * gap
            hi_d += reach * reach
        near[j] = lo_d
        if hi_d < far1:
            far2 = far1
            far1 = hi_d
        elif hi_d < far2:
            far2 = hi_d
    m = 0
    for j in range(k):
        if near[j] <= far2:
            cand[m] = j
            m += 1
    return m


@njit(inline="always")
def _nearest_two(X, i, centers, cand, n_cand):
    """The two nearest of the centres ``cand[:n_cand]``: (best, second, best index)."""
    best = np.inf
    second = np.inf
    best_j = 0
    for m in range(n_cand):
        j = cand[m]
        best, second, best_j = _keep_two(_sqdist(X, i, centers, j), j, best, second, best_j)
    return best, second, best_j


@njit(parallel=True, cache=True)
def ls_nearest_two(X, weights, centers, block_starts, n_groups, box_lo, box_hi, closest, second,
                   label, block_max2, block_pot, part_base):
    """Nearest and second-nearest centre of every row (k >= 2), with the block stats
    ``block_max2`` (largest ``second``) and ``block_pot`` (sum of w * closest), and per
    group of blocks the partial ``base`` sums (n_groups, k)."""
    k = centers.shape[0]
    for g in prange(n_groups):
        cand = np.empty(k, dtype=np.int64)
        part_base[g, :] = 0.0  # OUT
        for b in range(g, block_starts.shape[0] - 1, n_groups):
            n_cand = _block_candidates(centers, box_lo, box_hi, b, cand)
            worst = 0.0
            pot = 0.0
            for i in range(block_starts[b], block_starts[b + 1]):
                best, sec, best_j = _nearest_two(X, i, centers, cand, n_cand)
                closest[i] = best  # OUT
                second[i] = sec  # OUT
                label[i] = best_j  # OUT
                w = weights[i]
                pot += w * best
                part_base[g, best_j] += w * (sec - best)
                if sec > worst:
                    worst = sec
            block_max2[b] = worst  # OUT
            block_pot[b] = pot  # OUT


@njit(parallel=True, cache=True)
def ls_swap_deltas(X, weights, candidate, block_starts, n_groups, box_lo, box_hi, closest,
                   second, label, block_max2, base):
    """Change of the potential (k,) if centre j were replaced by ``candidate`` (1, d)."""
    k = base.shape[0]
    part_corr = np.empty((n_groups, k))
    part_gain = np.empty(n_groups)
    for g in prange(n_groups):
        part_corr[g, :] = 0.0
        gain = 0.0
        for b in range(g, block_starts.shape[0] - 1, n_groups):
            if _box_sqdist(candidate, 0, box_lo, box_hi, b) >= block_max2[b]:
                continue
            for i in range(block_starts[b], block_starts[b + 1]):
                dp = _sqdist(X, i, candidate, 0)
                d2 = second[i]
                if dp < d2:
                    w = weights[i]
                    d1 = closest[i]
                    row_gain = w * (dp - d1) if dp < d1 else 0.0
                    gain += row_gain
                    part_corr[g, label[i]] += w * (dp - d2) - row_gain
        part_gain[g] = gain
    total_gain = 0.0
    corr = np.zeros(k)
    for g in range(n_groups):
        total_gain += part_gain[g]
        for j in range(k):
            corr[j] += part_corr[g, j]
    deltas = np.empty(k)
    for j in range(k):
        deltas[j] = total_gain + base[j] + corr[j]
    return deltas


@njit(parallel=True, cache=True)
def ls_swap(X, weights, centers, swapped, old, block_starts, n_groups, box_lo, box_hi, closest,
            second, label, block_max2, block_pot, base):
    """Centre ``swapped`` has moved from ``old`` (1, d) to ``centers[swapped]``: update the
    rows it can affect, their blocks' stats, and ``base`` (k,) in place."""
    k = centers.shape[0]
    part_base = np.empty((n_groups, k))
    for g in prange(n_groups):
        part_base[g, :] = 0.0
        cand = np.empty(k, dtype=np.int64)
        for b in range(g, block_starts.shape[0] - 1, n_groups):
            if (_box_sqdist(old, 0, box_lo, box_hi, b) > block_max2[b]
                    and _box_sqdist(centers, swapped, box_lo, box_hi, b) >= block_max2[b]):
                continue
            n_cand = -1  # the block's candidate centres, found when first needed
            worst = 0.0
            pot = 0.0
            for i in range(block_starts[b], block_starts[b + 1]):
                a = label[i]
                d1 = closest[i]
                d2 = second[i]
                w = weights[i]
                if a == swapped or _sqdist(X, i, old, 0) <= d2:
                    # the old centre was the nearest or second nearest: search again
                    if n_cand < 0:
                        n_cand = _block_candidates(centers, box_lo, box_hi, b, cand)
                    best, sec, best_j = _nearest_two(X, i, centers, cand, n_cand)
                else:
                    dp = _sqdist(X, i, centers, swapped)
                    best, sec, best_j = _keep_two(dp, swapped, d1, d2, a)
                if best != d1 or sec != d2 or best_j != a:
                    part_base[g, a] -= w * (d2 - d1)
                    part_base[g, best_j] += w * (sec - best)
                    closest[i] = best  # OUT
                    second[i] = sec  # OUT
                    label[i] = best_j  # OUT
                pot += w * best
                if sec > worst:
                    worst = sec
            block_max2[b] = worst  # OUT
            block_pot[b] = pot  # OUT
    for g in range(n_groups):
        for j in range(k):
            base[j] += part_base[g, j]  # OUT
