"""Hamerly's accelerated iterations: the bounded E-step, its bounds and centre
neighbourhoods, and the M-step partials it runs with."""

import numpy as np
from numba import njit, prange

from ._common import _all_sqdist, _keep_two, _sqdist

__all__ = [
    "BOUND_DTYPE",
    "SEARCH_RADIUS",
    "hamerly_step",
    "cluster_partials",
    "distances_to_own_centre",
    "centre_neighbours",
    "state_pass",
]


# -- Hamerly's accelerated iterations ------------------------------------------------------
#
# G. Hamerly, "Making k-means even faster", SIAM SDM 2010. Each row keeps a lower bound on
# the distance to any centre but its own; a row is examined only when its distance to its
# centre exceeds both that bound and half the distance from its centre to the nearest other
# centre. Hamerly also keeps an upper bound on the distance to the row's own centre, to test
# a row without reading its coordinates; here the step reads every row's coordinates anyway
# (it adds them into the M-step's sums), and in 2 or 3 dimensions the exact distance costs
# less than a stored bound (4 bytes a row read and written, and memory held), so it is
# computed afresh. The rows searched are the same: Hamerly's second test, after tightening
# the upper bound to the exact distance, is this test. Rows whose bound fails search only
# the centres near their current one: any centre that could be nearer lies within twice
# the row's distance of it, so the search walks the other centres in order of distance
# (``neighbours``) up to SEARCH_RADIUS times that distance and bounds the rest from below
# (after Newling & Fleuret, "Fast k-means with accurate bounds", ICML 2016). Ties are broken
# towards the lowest index, as in ``assign_labels``, so labels, sums and centres equal
# Lloyd's.

# Bounds are compared with this much slack so that rounding can never skip a row whose
# nearest centre changed; near-ties within ~1e-10 relative get a search instead.
_SAFE = 1.0 - 1e-10
SEARCH_RADIUS = 3.0

# The lower bounds are stored as float32 (4 bytes a row instead of 8: beside the rows,
# they and the labels are the memory a fit holds, and every iteration reads them), computed
# in float64 and rounded down when stored, so a stored bound is never above the exact
# one. The labels are unchanged; a bound looser by one float32 step (6e-8 relative) only
# sends a row to a search.
BOUND_DTYPE = np.float32
# float32 rounding moves a normal value by at most 2**-24 of it, and any value by at most
# 2**-150 more: lowered by 2**-22 of itself plus 2**-149 first, the stored bound lies
# below the exact one, with no branch (the loops stay vectorised)
_REL = 2.0**-22
_ABS = 2.0**-149
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@njit(inline="always")
def _round_down(value):
    """A float32 at or below ``value`` (float64; inf becomes nearly the largest float32,
    still a lower bound)."""
    value = min(value, _FLOAT32_MAX)
    return np.float32(value - abs(value) * _REL - _ABS)


@njit(inline="always")
def _largest_two(shift):
    """Index of the largest of ``shift`` (k,) and the largest among the others."""
    first = 0
    for j in range(1, shift.shape[0]):
        if shift[j] > shift[first]:
            first = j
    second = 0.0
    for j in range(shift.shape[0]):
        if j != first and shift[j] > second:
            second = shift[j]
    return first, second


# Squared distances are >= 0 (never -0.0: a sum of squares), so their bit patterns read as
# int64 are ordered as the values are; integer minima vectorise where float minima do not
# (the compiler may not reorder them, for NaN's sake), which makes the choice of the two
# nearest among many centres branch-free. No distance is NaN: rows and centres are finite.
_NO_BITS = np.iinfo(np.int64).max


@njit(inline="always")
def _two_smallest(bits, count):
    """Of the first ``count`` squared distances, viewed as ``bits``: the position of the
    smallest (the first among equals) and the bits of the smallest and of the second
    smallest (the smallest of the others; ``_NO_BITS`` if none). The choice
    ``_keep_two`` makes, without its branches."""
    best = _NO_BITS
    for m in range(count):
        v = bits[m]
        best = v if v < best else best
    best_j = count
    for m in range(count):
        j = m if bits[m] == best else count
        best_j = j if j < best_j else best_j
    second = _NO_BITS
    for m in range(count):
        v = _NO_BITS if m == best_j else bits[m]
        second = v if v < second else second
    return best_j, best, second


@njit(inline="always")
def _as_float(buf, bits, slot, value_bits):
    """The float64 whose bits are ``value_bits`` (through ``buf``/``bits`` at ``slot``);
    inf for ``_NO_BITS``."""
    if value_bits == _NO_BITS:
        return np.inf
    bits[slot] = value_bits
    return buf[slot]


@njit(inline="always")
def _search(X, i, centers, a, u, d2_a, neighbours, neighbour_dist):
    """Nearest centre of row i among ``a`` (at distance ``u``, squared ``d2_a``) and
    the neighbours of ``a`` within SEARCH_RADIUS * u; returns ``(index, squared
    distance, a lower bound on the distance to every other centre)``."""
    reach = SEARCH_RADIUS * u * (1.0 + 1e-10) + 1e-300
    best = d2_a
    best_j = a
    second = np.inf
    beyond = np.inf
    for m in range(neighbours.shape[1]):
        if neighbour_dist[a, m] > reach:
            beyond = neighbour_dist[a, m] - u
            break
        j = neighbours[a, m]
        best, second, best_j = _keep_two(_sqdist(X, i, centers, j), j, best, second, best_j)
    return best_j, best, min(np.sqrt(second), beyond * _SAFE)


@njit(inline="always")
def _nearest_two(X, i, centers_t, buf, bits):
    """The nearest centre of row i (the lowest index among equals), its squared
    distance and the second smallest squared distance, over all centres; ``buf`` (k + 1,)
    and its int64 view ``bits`` are scratch."""
    k = centers_t.shape[1]
    _all_sqdist(X, i, centers_t, buf)
    best_j, best_bits, second_bits = _two_smallest(bits, k)
    return (best_j, _as_float(buf, bits, k, best_bits),
            _as_float(buf, bits, k, second_bits))


def hamerly_step(X, weights, centers, centers_t, shift, half_gap, neighbours, neighbour_dist,
                 starts, labels, lower, part_sums, part_weights, n_changed):
    """One bounded E-step fused with the M-step's partials, in one pass over the rows.

    ``shift`` (k,) bounds how far each centre moved since the bounds were computed
    (zeros at the start); ``labels`` < 0 forces a full search for that row.
    ``centers`` (k, d) and its transpose ``centers_t`` (d, k) hold the same centres;
    ``neighbours[a]`` lists the other centres by increasing distance ``neighbour_dist[a]``
    from centre a. Moves the lower bounds by ``shift``, updates ``labels`` and ``lower``
    (n,) in place and writes per chunk ``part_sums`` (n_chunks, k, d), ``part_weights``
    (n_chunks, k) and the number of changed labels ``n_changed`` (n_chunks,). The partial
    sums add the rows in the order of ``cluster_partials``, so both give the same bits.

    A single chunk (at most ``MIN_CHUNK_ROWS`` rows) runs a serial copy of the kernel, the
    parallel one runs the others: a first run on a small input compiles only the serial
    copy (a few times faster to compile than a ``prange`` loop). Both compute each row
    with ``_hamerly_row``, so the results are the same bits.
    """
    args = (X, weights, centers, centers_t, shift, half_gap, neighbours, neighbour_dist, starts,
            labels, lower, part_sums, part_weights, n_changed)
    if starts.shape[0] == 2:
        scratch = np.empty(centers.shape[0] + 1)
        _hamerly_single_chunk(*args, scratch, scratch.view(np.int64))
    else:
        _hamerly_step_parallel(*args)


@njit(inline="always")
def _hamerly_row(X, i, centers, centers_t, shift, first, second_shift, half_gap, neighbours,
                 neighbour_dist, labels, lower, buf, bits):
    """Row i's step: its nearest centre (``labels[i]`` when its bound holds), and its
    lower bound stored (``lower[i]``). The distance to its own centre is computed
    afresh (Hamerly's upper bound would save it only where the row's coordinates are
    not read, and the M-step reads them for every row)."""
    a = labels[i]
    if a < 0:
        best_j, best, second = _nearest_two(X, i, centers_t, buf, bits)
        lower[i] = _round_down(np.sqrt(second))  # OUT
        return best_j
    low = np.float64(lower[i]) - (second_shift if a == first else shift[first])
    bound = max(half_gap[a], low) * _SAFE  # >= 0: half_gap is
    d2_a = _sqdist(X, i, centers, a)
    best_j = a
    # d2_a <= bound**2 (rounded) means a distance within 1e-10 of the bound: still inside
    if d2_a > bound * bound:
        u = np.sqrt(d2_a)
        if u > bound:
            best_j, _, low = _search(X, i, centers, a, u, d2_a, neighbours, neighbour_dist)
    lower[i] = _round_down(low)  # OUT
    return best_j


@njit(parallel=True, cache=True)
def _hamerly_step_parallel(X, weights, centers, centers_t, shift, half_gap, neighbours,
                           neighbour_dist, starts, labels, lower, part_sums, part_weights,
                           n_changed):
    """``hamerly_step``, a chunk per iteration of a ``prange`` loop."""
    k, d = centers.shape
    first, second_shift = _largest_two(shift)
    for c in prange(starts.shape[0] - 1):
        # the chunk's sums in a local array (k, d + 1), weights last: the compiler keeps
        # it apart from the rows and the bounds (faster than adding into part_sums); the
        # order of the additions is the same
        acc = np.zeros((k, d + 1))
        buf = np.empty(k + 1)
        n_changed[c] = _hamerly_rows(X, weights, centers, centers_t, shift, first,
                                     second_shift, half_gap, neighbours, neighbour_dist,
                                     starts[c], starts[c + 1], labels, lower, acc, buf,
                                     buf.view(np.int64))  # OUT
        for j in range(k):
            for f in range(d):
                part_sums[c, j, f] = acc[j, f]  # OUT
            part_weights[c, j] = acc[j, d]  # OUT


@njit(cache=True)
def _hamerly_single_chunk(X, weights, centers, centers_t, shift, half_gap, neighbours,
                          neighbour_dist, starts, labels, lower, part_sums, part_weights,
                          n_changed, buf, bits):
    """``_hamerly_step_parallel`` for one chunk (``starts`` (2,)), serial; ``buf`` (k + 1,)
    and its int64 view ``bits`` are scratch (the view taken here would cost a second of
    compilation)."""
    k, d = centers.shape
    first, second_shift = _largest_two(shift)
    acc = np.zeros((k, d + 1))  # the chunk's sums, weights last, added as in the parallel kernel
    n_changed[0] = _hamerly_rows(X, weights, centers, centers_t, shift, first, second_shift,
                                 half_gap, neighbours, neighbour_dist, starts[0], starts[1],
                                 labels, lower, acc, buf, bits)  # OUT
    for j in range(k):
        for f in range(d):
            part_sums[0, j, f] = acc[j, f]  # OUT
        part_weights[0, j] = acc[j, d]  # OUT


@njit(inline="always")
def _hamerly_rows(X, weights, centers, centers_t, shift, first, second_shift, half_gap,
                  neighbours, neighbour_dist, start, stop, labels, lower, acc, buf, bits):
    """Rows ``start:stop`` stepped (``_hamerly_row``), their weighted coordinates added
    into ``acc`` (k, d + 1) by cluster (weights last); returns how many labels changed."""
    d = X.shape[1]
    changed = 0
    for i in range(start, stop):
        best_j = _hamerly_row(X, i, centers, centers_t, shift, first, second_shift, half_gap,
                              neighbours, neighbour_dist, labels, lower, buf, bits)
        if best_j != labels[i]:
            labels[i] = best_j  # OUT
            changed += 1
        w = weights[i]
        for f in range(d):
            acc[best_j, f] += w * X[i, f]
        acc[best_j, d] += w
    return changed


@njit(parallel=True, cache=True)
def cluster_partials(X, weights, labels, starts, part_sums, part_weights):
    """Per-chunk weighted sums of the rows of each cluster (the M-step's partials)."""
    d = X.shape[1]
    for c in prange(starts.shape[0] - 1):
        part_sums[c, :, :] = 0.0  # OUT
        part_weights[c, :] = 0.0  # OUT
        for i in range(starts[c], starts[c + 1]):
            j = labels[i]
            w = weights[i]
            part_weights[c, j] += w
            for f in range(d):
                part_sums[c, j, f] += w * X[i, f]


@njit(parallel=True, cache=True)
def distances_to_own_centre(X, centers, labels, starts, dist2):
    """Squared distance of each row to the centre named by ``labels``."""
    for c in prange(starts.shape[0] - 1):
        for i in range(starts[c], starts[c + 1]):
            dist2[i] = _sqdist(X, i, centers, labels[i])  # OUT


#: Up to this many centres, ``centre_neighbours`` sorts in numba by insertion (k**3 / 4
#: steps, a few microseconds where numpy's calls take tens); beyond it, numpy's argsort.
SMALL_K = 64


@njit(cache=True)
def _small_neighbours(centers):
    """``centre_neighbours`` (without ``half_gap``) by insertion sort, for k >= 2."""
    k = centers.shape[0]
    neighbours = np.empty((k, k - 1), dtype=np.int64)
    neighbour_dist = np.empty((k, k - 1))
    for j in range(k):
        m = 0
        for other in range(k):
            if other == j:
                continue
            dist = np.sqrt(_sqdist(centers, j, centers, other))
            slot = m
            while slot > 0 and neighbour_dist[j, slot - 1] > dist:
                neighbour_dist[j, slot] = neighbour_dist[j, slot - 1]
                neighbours[j, slot] = neighbours[j, slot - 1]
                slot -= 1
            neighbour_dist[j, slot] = dist
            neighbours[j, slot] = other
            m += 1
    return neighbours, neighbour_dist


def centre_neighbours(centers):
    """For each centre, the others sorted by distance: ``(neighbours (k, k-1) int64,
    distances (k, k-1), half_gap (k,))``, ``half_gap`` being half the nearest distance
    (inf when k = 1).
    The order among equal distances does not matter: the search takes every neighbour
    within its reach and breaks ties by index, so any sort gives the same labels.

    Beyond ``SMALL_K`` centres plain numpy (numba's ``argsort`` took 3-4 s to compile):
    the squared distances add the columns' squared differences in the order of
    ``_sqdist`` (whose first ``0.0 +`` changes no square), so they have its bits. Rows are
    taken in blocks that keep the temporaries near 16 MB whatever k is.
    """
    k, d = centers.shape
    if k <= 1:
        return (np.empty((k, 0), dtype=np.int64), np.empty((k, 0)), np.full(k, np.inf))
    if k <= SMALL_K:
        neighbours, neighbour_dist = _small_neighbours(centers)
        return neighbours, neighbour_dist, 0.5 * neighbour_dist[:, 0]
    neighbours = np.empty((k, k - 1), dtype=np.int64)
    neighbour_dist = np.empty((k, k - 1))
    block = max(1, (1 << 21) // k)
    for lo in range(0, k, block):
        hi = min(lo + block, k)
        diff = centers[lo:hi, 0, None] - centers[None, :, 0]
        dist = diff * diff
        for f in range(1, d):
            diff = centers[lo:hi, f, None] - centers[None, :, f]
            dist += diff * diff
        np.sqrt(dist, out=dist)
        dist[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
        order = np.argsort(dist, axis=1)[:, : k - 1]
        neighbours[lo:hi] = order
        neighbour_dist[lo:hi] = np.take_along_axis(dist, order, axis=1)
    return neighbours, neighbour_dist, 0.5 * neighbour_dist[:, 0]


@njit(parallel=True, cache=True)
def state_pass(X, labels, lower, starts):
    """Read each row's coordinates, label and lower bound once; return their sum.

    The memory traffic that no bounded iteration can avoid, for benchmarks to set
    iterations against (the sum only keeps the reads from being optimised away; chunks
    are added in order).
    """
    n_chunks = starts.shape[0] - 1
    partial = np.zeros(n_chunks)
    for c in prange(n_chunks):
        total = 0.0
        for i in range(starts[c], starts[c + 1]):
            row = np.float64(labels[i]) + np.float64(lower[i])
            for f in range(X.shape[1]):
                row += X[i, f]
            total += row
        partial[c] = total
    result = 0.0
    for c in range(n_chunks):
        result += partial[c]
    return result
