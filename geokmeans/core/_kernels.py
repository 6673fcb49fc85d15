"""Numba kernels: distances, assignment and partial sums over fixed chunks of rows.

Every parallel loop runs over chunks whose bounds depend only on the number of rows,
never on the number of threads. Each chunk writes its own slot of the partial
results, which are then reduced in chunk order, so results are bit-identical
whatever ``NUMBA_NUM_THREADS`` is. Kernels never validate; arguments written to are
marked ``# OUT``.

Threads wait passively between parallel loops (``OMP_WAIT_POLICY=PASSIVE`` unless the
environment already says otherwise): OpenMP's default spin-waiting threads take the
cores from whatever else runs, and on a busy machine (a Dask worker beside others, a
test run, a shared server) every parallel loop then waits for descheduled spinners. On
the project's 2-core machine under load, a 50,000-point fit with many small parallel
loops ran 10-20 times slower with spinning threads; idle, passive waiting was as fast.
"""

import os

# read by libgomp when numba's OpenMP threading layer first loads (the first parallel call)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

__all__ = [
    "MAX_CHUNKS",
    "MIN_CHUNK_ROWS",
    "chunk_starts",
    "assign_labels",
    "lloyd_step",
    "reduce_partials",
    "pairwise_distances",
    "weighted_inertia",
    "hamerly_assign",
    "cluster_partials",
    "distances_to_own_centre",
    "hamerly_move_bounds",
    "centre_neighbours",
    "SEARCH_RADIUS",
    "BLOCK_ROWS",
    "morton_keys",
    "radix_argsort",
    "gather_rows",
    "column_bounds",
    "mean_column_variance",
    "block_boxes",
    "kpp_add_centre",
    "kpp_candidate_potentials",
    "kpp_sample",
    "n_block_groups",
    "ls_nearest_two",
    "ls_swap_deltas",
    "ls_swap",
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


# -- Hamerly's accelerated iterations ------------------------------------------------------
#
# G. Hamerly, "Making k-means even faster", SIAM SDM 2010. Each row keeps an upper bound
# on the distance to its centre and a lower bound on the distance to any other centre;
# a row is examined only when its upper bound exceeds both its lower bound and half the
# distance from its centre to the nearest other centre. Rows whose bounds fail search
# only the centres near their current one: any centre that could be nearer lies within
# twice the row's distance of it, so the search walks the other centres in order of
# distance (``neighbours``) up to SEARCH_RADIUS times that distance and bounds the rest
# from below (after Newling & Fleuret, "Fast k-means with accurate bounds", ICML 2016).
# Ties are broken towards the lowest index, as in ``assign_labels``, so labels, sums and
# centres equal Lloyd's.

# Bounds are compared with this much slack so that rounding can never skip a row whose
# nearest centre changed; near-ties within ~1e-10 relative get a search instead.
_SAFE = 1.0 - 1e-10
SEARCH_RADIUS = 3.0


@njit(inline="always")
def _keep_two(d2, j, best, second, best_j):
    """Fold centre j at squared distance d2 into the two nearest so far (ties: lower j)."""
    if d2 < best or (d2 == best and j < best_j):
        return d2, best, j
    if d2 < second:
        return best, d2, best_j
    return best, second, best_j


@njit(parallel=True, cache=True)
def hamerly_assign(X, centers, centers_t, half_gap, neighbours, neighbour_dist, starts, labels,
                   upper, lower, n_changed):
    """One bounded E-step. ``labels`` < 0 forces a full search for that row.

    ``centers`` (k, d) and its transpose ``centers_t`` (d, k) hold the same centres;
    ``neighbours[a]`` lists the other centres by increasing distance ``neighbour_dist[a]``
    from centre a. Updates ``labels``, ``upper`` and ``lower`` (n,) in place and writes
    the number of changed labels per chunk into ``n_changed`` (n_chunks,).
    """
    k = centers.shape[0]
    for c in prange(starts.shape[0] - 1):
        changed = 0
        buf = np.empty(k)
        for i in range(starts[c], starts[c + 1]):
            a = labels[i]
            if a >= 0:
                bound = max(half_gap[a], lower[i]) * _SAFE
                if upper[i] <= bound:
                    continue
                d2_a = _sqdist(X, i, centers, a)
                u = np.sqrt(d2_a)
                upper[i] = u  # OUT
                if u <= bound:
                    continue
                radius = SEARCH_RADIUS * u
                reach = radius * (1.0 + 1e-10) + 1e-300
                best = d2_a
                best_j = a
                second = np.inf
                beyond = np.inf
                for m in range(k - 1):
                    if neighbour_dist[a, m] > reach:
                        beyond = neighbour_dist[a, m] - u
                        break
                    j = neighbours[a, m]
                    best, second, best_j = _keep_two(_sqdist(X, i, centers, j), j, best, second,
                                                     best_j)
                upper[i] = np.sqrt(best)  # OUT
                lower[i] = min(np.sqrt(second), beyond * _SAFE)  # OUT
            else:
                _all_sqdist(X, i, centers_t, buf)
                best = np.inf
                second = np.inf
                best_j = 0
                for j in range(k):
                    best, second, best_j = _keep_two(buf[j], j, best, second, best_j)
                upper[i] = np.sqrt(best)  # OUT
                lower[i] = np.sqrt(second)  # OUT
            if best_j != a:
                labels[i] = best_j  # OUT
                changed += 1
        n_changed[c] = changed  # OUT


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


@njit(parallel=True, cache=True)
def hamerly_move_bounds(labels, shift, starts, upper, lower):
    """Loosen the bounds after centres moved by ``shift`` (k,) (Euclidean distances)."""
    k = shift.shape[0]
    first = 0
    for j in range(1, k):
        if shift[j] > shift[first]:
            first = j
    second_shift = 0.0
    for j in range(k):
        if j != first and shift[j] > second_shift:
            second_shift = shift[j]
    for c in prange(starts.shape[0] - 1):
        for i in range(starts[c], starts[c + 1]):
            a = labels[i]
            upper[i] += shift[a]  # OUT
            lower[i] -= second_shift if a == first else shift[first]  # OUT


@njit(parallel=True, cache=True)
def centre_neighbours(centers):
    """For each centre, the others sorted by distance: ``(neighbours (k, k-1) int64,
    distances (k, k-1), half_gap (k,))``, ``half_gap`` being half the nearest distance
    (inf when k = 1). Rows are independent, so the result does not depend on threads.
    The order among equal distances does not matter: the search takes every neighbour
    within its reach and breaks ties by index, so any sort gives the same labels."""
    k = centers.shape[0]
    dist = np.empty((k, k))
    for j in prange(k):
        for m in range(k):
            dist[j, m] = np.inf if m == j else np.sqrt(_sqdist(centers, j, centers, m))
    neighbours = np.empty((k, max(k - 1, 0)), dtype=np.int64)
    neighbour_dist = np.empty((k, max(k - 1, 0)))
    half_gap = np.full(k, np.inf)
    for j in prange(k):
        order = np.argsort(dist[j])[: k - 1]
        for m in range(k - 1):
            neighbours[j, m] = order[m]
            neighbour_dist[j, m] = dist[j, order[m]]
        if k > 1:
            half_gap[j] = 0.5 * neighbour_dist[j, 0]
    return neighbours, neighbour_dist, half_gap


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


@njit(parallel=True, cache=True)
def mean_column_variance(X, starts):
    """``mean(var(X, axis=0))`` with two passes over fixed chunks (thread-count independent)."""
    n, d = X.shape
    n_chunks = starts.shape[0] - 1
    partial = np.zeros((n_chunks, d))
    for c in prange(n_chunks):
        for i in range(starts[c], starts[c + 1]):
            for f in range(d):
                partial[c, f] += X[i, f]
    mean = np.zeros(d)
    for c in range(n_chunks):
        for f in range(d):
            mean[f] += partial[c, f]
    mean /= n
    partial[:, :] = 0.0
    for c in prange(n_chunks):
        for i in range(starts[c], starts[c + 1]):
            for f in range(d):
                diff = X[i, f] - mean[f]
                partial[c, f] += diff * diff
    total = 0.0
    for f in range(d):
        column = 0.0
        for c in range(n_chunks):
            column += partial[c, f]
        total += column / n
    return total / d


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
