"""Functions of one chunk of rows, mapped over a source by the driver and the plans.

Each takes a ``Chunk`` (``X`` (n, d), ``weights`` (n,)) first, then for stateful steps
the chunk's state, then plain arguments; it returns numpy values small enough to send
back from a worker (per-cluster sums, a few rows), never a per-row array, except the
states that stay where the chunk is. The numba kernels do the per-row work; a chunk of
this process holds all rows, so they run over all of them in parallel.
"""

import numpy as np

from . import _kernels

__all__ = [
    "assign_rows",
    "candidate_weights",
    "closest_candidate",
    "column_sums",
    "far_rows",
    "inertia_of_state",
    "iterate_hamerly",
    "iterate_lloyd",
    "labels_of_state",
    "member_locations",
    "off_centre",
    "oversample",
    "pick_row",
    "positive_members",
    "positive_box",
    "smallest_keys",
    "split_sums",
    "squared_deviations",
    "swap_apply",
    "swap_deltas",
    "swap_pick",
    "swap_start",
]


def _empty_partial(k, d):
    return np.zeros((k, d)), np.zeros(k), 0.0, 0


def cluster_sums(X, weights, labels, n_clusters, starts):
    """Weighted coordinate sums (k, d) and weights (k,) of each cluster's rows
    (chunked partials added in chunk order: independent of the thread count)."""
    n_chunks, d = starts.shape[0] - 1, X.shape[1]
    part_sums = np.empty((n_chunks, n_clusters, d))
    part_weights = np.empty((n_chunks, n_clusters))
    _kernels.cluster_partials(X, weights, labels, starts, part_sums, part_weights)
    sums = np.empty((n_clusters, d))
    totals = np.empty(n_clusters)
    _kernels.reduce_partials(part_sums, part_weights, np.zeros(n_chunks), sums, totals)
    return sums, totals


# -- Lloyd iterations -----------------------------------------------------------------


def iterate_hamerly(chunk, state, centres, shift, neighbours, with_inertia):
    """One E-step with Hamerly's bounds (Hamerly, 2010) and the chunk's M-step partials.

    ``state`` is ``(labels, lower)`` of the previous step (None at the start; the lower
    bounds are ``_kernels.BOUND_DTYPE``, rounded down);
    ``shift`` (k,) how far each centre moved since (None at the start);
    ``neighbours`` is ``_kernels.centre_neighbours(centres)``. Returns the new state
    and ``(sums (k, d), weights (k,), inertia (NaN unless with_inertia), changed)``.
    """
    X, w = chunk.X, chunk.weights
    n = X.shape[0]
    k, d = centres.shape
    if state is None:
        state = (np.full(n, -1, dtype=np.int32), np.zeros(n, dtype=_kernels.BOUND_DTYPE))
    if n == 0:
        return state, _empty_partial(k, d)
    labels, lower = state
    starts = _kernels.chunk_starts(n)
    n_chunks = starts.shape[0] - 1
    order, order_dist, half_gap = neighbours
    part_sums = np.empty((n_chunks, k, d))
    part_weights = np.empty((n_chunks, k))
    n_changed = np.empty(n_chunks, dtype=np.int64)
    _kernels.hamerly_step(X, w, centres, np.ascontiguousarray(centres.T),
                          np.zeros(k) if shift is None else shift, half_gap, order, order_dist,
                          starts, labels, lower, part_sums, part_weights, n_changed)
    sums = np.empty((k, d))
    totals = np.empty(k)
    _kernels.reduce_partials(part_sums, part_weights, np.zeros(n_chunks), sums, totals)
    inertia = (float(_kernels.weighted_inertia(X, w, centres, labels, starts))
               if with_inertia else np.nan)
    return state, (sums, totals, inertia, int(n_changed.sum()))


def iterate_lloyd(chunk, state, centres, shift, neighbours, with_inertia):
    """One plain Lloyd E-step (every distance), fused with the M-step partials.

    Same contract as ``iterate_hamerly``; the state is ``(labels, previous labels)``
    (the arrays are swapped, not reallocated, each step). The inertia is always known.
    """
    X, w = chunk.X, chunk.weights
    n = X.shape[0]
    k, d = centres.shape
    if state is None:
        state = (np.full(n, -1, dtype=np.int32), np.full(n, -1, dtype=np.int32))
    if n == 0:
        return state, _empty_partial(k, d)
    previous, labels = state
    starts = _kernels.chunk_starts(n)
    n_chunks = starts.shape[0] - 1
    part_sums = np.empty((n_chunks, k, d))
    part_weights = np.empty((n_chunks, k))
    part_inertia = np.empty(n_chunks)
    _kernels.lloyd_step(X, w, np.ascontiguousarray(centres.T), starts, labels, np.empty(n),
                        part_sums, part_weights, part_inertia)
    sums = np.empty((k, d))
    totals = np.empty(k)
    inertia = _kernels.reduce_partials(part_sums, part_weights, part_inertia, sums, totals)
    changed = int(np.count_nonzero(labels != previous))
    return (labels, previous), (sums, totals, float(inertia), changed)


def labels_of_state(chunk, state):
    """The labels an iteration state holds (its first array)."""
    return state[0]


def inertia_of_state(chunk, state, centres):
    """Weighted squared distance of every row to the centre its state names."""
    if len(chunk) == 0:
        return 0.0
    X = chunk.X
    return float(_kernels.weighted_inertia(X, chunk.weights, centres, state[0],
                                           _kernels.chunk_starts(X.shape[0])))


#: Relative size of a distance too small to tell from the rounding of a mean: a row
#: nearer its centre than this (times its norm) sits on it. The weighted mean of equal
#: rows can differ from them in the last bits; without this, such a row would be
#: "farthest" and move to an empty cluster, and back, forever.
ROUNDING = 1e-14


def off_centre(X, dist2):
    """Rows (mask) whose squared distance to their centre exceeds rounding noise."""
    return dist2 > ROUNDING**2 * np.einsum("ij,ij->i", X, X)


def far_rows(chunk, state, centres, n_rows):
    """The ``n_rows`` positive-weight rows farthest from their centre (ties: lower row),
    as ``(X, weights, labels, squared distances, row numbers)`` in row order."""
    X, w = chunk.X, chunk.weights
    labels = state[0]
    dist2 = np.empty(X.shape[0])
    if X.shape[0]:
        _kernels.distances_to_own_centre(X, centres, labels,
                                         _kernels.chunk_starts(X.shape[0]), dist2)
    movable = np.flatnonzero((w > 0) & (dist2 > 0) & off_centre(X, dist2))
    if movable.size > n_rows:
        d2 = dist2[movable]
        cut = np.partition(d2, d2.size - n_rows)[d2.size - n_rows]  # n_rows-th largest
        above = movable[d2 > cut]
        movable = np.concatenate([above, movable[d2 == cut][: n_rows - above.size]])
    far = np.sort(movable)
    return X[far], np.asarray(w[far], dtype=np.float64), labels[far], dist2[far], far


def positive_members(chunk, state, n_clusters):
    """Number of positive-weight rows the state labels with each cluster (k,)."""
    labels = state[0]
    return np.bincount(labels[np.asarray(chunk.weights) > 0], minlength=n_clusters)


def assign_rows(chunk, centres):
    """Nearest centre (int32) and squared distance of every row."""
    X = chunk.X
    labels = np.empty(X.shape[0], dtype=np.int32)
    dist2 = np.empty(X.shape[0])
    if X.shape[0]:
        _kernels.assign_labels(X, np.ascontiguousarray(centres.T),
                               _kernels.chunk_starts(X.shape[0]), labels, dist2)
    return labels, dist2


# -- summaries --------------------------------------------------------------------------


def column_sums(chunk):
    """``(rows, column sums (d,))``."""
    X = chunk.X  # column by column: far faster than numpy's axis-0 sum of C-ordered rows
    return X.shape[0], np.array([X[:, f].sum() for f in range(X.shape[1])])


def squared_deviations(chunk, mean):
    """Per column, the sum of squared deviations from ``mean`` (d,)."""
    X = chunk.X
    out = np.zeros(X.shape[1])
    for f in range(X.shape[1]):
        diff = X[:, f] - mean[f]
        out[f] = diff @ diff
    return out


def positive_box(chunk):
    """``(mins, maxs)`` (d,) of the rows with positive weight, or None."""
    kept = chunk.X[chunk.weights > 0]
    if kept.shape[0] == 0:
        return None
    return kept.min(axis=0), kept.max(axis=0)


def weight_total(chunk):
    return float(np.sum(chunk.weights))


# -- seeding ----------------------------------------------------------------------------


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def row_uniforms(first_row, n, seed):
    """Uniform numbers in [0, 1) for the rows ``first_row .. first_row + n - 1`` of a
    source: the ``row + 1``-th output of SplitMix64 (Steele, Lea & Flood, 2014) seeded
    with ``seed``, a function of the row's position alone, so that every split of the
    rows into chunks (one array, Dask partitions of any sizes) gives each row the same
    number. 53 random bits each."""
    rows = np.arange(first_row + 1, first_row + n + 1, dtype=np.uint64)
    z = np.uint64(seed) + rows * _GOLDEN  # wraps modulo 2**64, as SplitMix64 does
    z ^= z >> np.uint64(30)
    z *= _MIX[0]
    z ^= z >> np.uint64(27)
    z *= _MIX[1]
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def smallest_keys(chunk, n_clusters, seed):
    """The chunk's ``n_clusters`` rows with the smallest random keys, as ``(keys (m, 2),
    rows (m, d))``: key ``-log(1 - u) / w`` for positive weights (Efraimidis & Spirakis,
    2006: the k smallest form a weighted sample without replacement, the distribution of
    drawing rows one after another with probability ∝ weight), then zero-weight rows in
    uniform random order. ``u`` depends on the row's position only (``row_uniforms``):
    the same rows are drawn however the rows are split into chunks."""
    X, w = chunk.X, chunk.weights
    u = row_uniforms(chunk.first_row, X.shape[0], seed)
    positive = w > 0
    with np.errstate(divide="ignore", over="ignore"):  # tiny weights: keys of +inf
        primary = np.where(positive, -np.log1p(-u) / np.where(positive, w, 1.0), np.inf)
    rows = np.arange(len(primary))
    if len(primary) > n_clusters:  # sort only the rows that can be among the smallest
        rows = np.flatnonzero(primary <= np.partition(primary, n_clusters - 1)[n_clusters - 1])
    order = rows[np.lexsort((u[rows], primary[rows]))][:n_clusters]
    return np.column_stack([primary[order], u[order]]), X[order]


def pick_row(chunk, target):
    """The row where the chunk's running sum of weights passes ``target``."""
    row = int(np.searchsorted(np.cumsum(chunk.weights), target, side="right"))
    return chunk.X[min(row, chunk.X.shape[0] - 1)].copy()


def closest_candidate(chunk, state, candidates, first_index, near, near_d2, beyond):
    """k-means|| state: each row's (squared distance as float32, index) of its nearest
    candidate so far (8 bytes a row, as Hamerly's state), updated in place with the new
    ``candidates``, numbered from ``first_index``; ``near``, ``near_d2``, ``beyond``:
    the new candidates nearest each earlier one (``_plans.near_lists``), which spare most
    rows a search. Returns the state and the chunk's weighted cost (sum of weight times
    squared distance)."""
    X, w = chunk.X, chunk.weights
    n = X.shape[0]
    if state is None:
        state = (np.full(n, np.inf, dtype=np.float32), np.zeros(n, dtype=np.int32))
    if n == 0:
        return state, 0.0
    starts = _kernels.chunk_starts(n)
    cost = np.empty(starts.shape[0] - 1)
    # fewer than 2**31 candidates: the labels stay int32
    _kernels.nearest_update(X, w, np.ascontiguousarray(candidates, dtype=np.float64),
                            np.int32(first_index), near, near_d2, beyond, starts, state[1],
                            state[0], cost)
    return state, float(cost.sum())


def oversample(chunk, state, factor, seed):
    """Rows drawn independently with probability ``min(1, factor * w * D²)``."""
    rng = np.random.default_rng([seed, chunk.index])
    keep = rng.uniform(size=chunk.X.shape[0]) < factor * chunk.weights * state[0]
    return chunk.X[keep]


def candidate_weights(chunk, state, n_candidates):
    """Total weight of the rows nearest to each candidate."""
    return np.bincount(state[1], weights=chunk.weights, minlength=n_candidates)


def all_rows(chunk):
    """``(X, weights)`` of the chunk (for small inputs gathered whole)."""
    return chunk.X, np.asarray(chunk.weights, dtype=np.float64)


# -- LocalSearch++ over every row (after bbox, random or explicit seeds) -----------------


class SwapRows:
    """A chunk's LocalSearch++ state: its rows, in their order, in blocks of
    ``_kernels.BLOCK_ROWS`` with boxes, and per row the nearest centre (``label``) and the
    squared distances to the nearest and second-nearest (``closest``, ``second``), with
    per block the largest ``second`` and the potential (sum of weight times ``closest``).
    20 bytes a row beside the rows (see ``_kernels.local_search``)."""

    __slots__ = ("starts", "n_groups", "box_lo", "box_hi", "closest", "second", "label",
                 "block_max", "block_pot")

    def kernel_args(self):
        return (self.starts, self.n_groups, self.box_lo, self.box_hi, self.closest,
                self.second, self.label, self.block_max)


def swap_start(chunk, state, centres):
    """A new ``SwapRows`` for ``centres`` (k >= 2); result ``(potential, base (k,))``,
    ``base[j]`` the weighted cost of removing centre j alone over the chunk's rows."""
    n, k = len(chunk), centres.shape[0]
    state = SwapRows()
    state.starts, state.box_lo, state.box_hi = _kernels.block_layout(chunk.X)
    n_blocks = state.starts.shape[0] - 1
    state.n_groups = _kernels.n_block_groups(n_blocks)
    state.closest, state.second = np.empty(n), np.empty(n)
    state.label = np.empty(n, dtype=np.int32)
    state.block_max, state.block_pot = np.empty(n_blocks), np.empty(n_blocks)
    part_base = np.empty((state.n_groups, k))
    _kernels.ls_nearest_two(chunk.X, chunk.weights, centres, *state.kernel_args(),
                            state.block_pot, part_base)
    return state, (float(state.block_pot.sum()), part_base.sum(axis=0))


def swap_pick(chunk, state, index, target):
    """In chunk ``index`` only (None elsewhere): the row (1, d) where the running sum of
    weight times ``closest``, in row order, passes ``target``."""
    if chunk.index != index:
        return None
    row = _kernels.kpp_sample(np.array([target]), chunk.weights, state.closest, state.starts,
                              state.block_pot)[0]
    return chunk.X[row : row + 1].copy()


def swap_deltas(chunk, state, candidate, n_clusters):
    """The chunk's part (k,) of the change of the potential if ``candidate`` (1, d)
    replaced each centre (the removal costs ``base`` are added by the caller)."""
    return _kernels.ls_swap_deltas(chunk.X, chunk.weights, candidate, *state.kernel_args(),
                                   np.zeros(n_clusters))


def swap_apply(chunk, state, centres, swapped, old):
    """Update the state after centre ``swapped`` moved from ``old`` (1, d) to
    ``centres[swapped]``; result ``(potential, change of base (k,))``."""
    change = np.zeros(centres.shape[0])
    _kernels.ls_swap(chunk.X, chunk.weights, centres, swapped, old, *state.kernel_args(),
                     state.block_pot, change)
    return state, (float(state.block_pot.sum()), change)


# -- splitting clusters -----------------------------------------------------------------


def _wide_slots(labels, n_clusters, wide):
    """Each row's index in ``wide`` (-1 for rows of other clusters)."""
    slot = np.full(n_clusters, -1)
    slot[wide] = np.arange(len(wide))
    return slot[labels]


def split_sums(chunk, state, centres, wide, halves):
    """Sums for a 2-means of the members of each too-wide cluster: rows that the
    state labels ``wide[m]`` go to the nearer of ``halves[2m]`` and ``halves[2m + 1]``
    (the second only when strictly nearer)."""
    X, w = chunk.X, chunk.weights
    if X.shape[0] == 0:
        return np.zeros(halves.shape), np.zeros(len(halves))
    slots = _wide_slots(state[0], len(centres), wide)
    member = slots >= 0
    Xm, m = np.ascontiguousarray(X[member]), slots[member]
    wm = np.ascontiguousarray(w[member], dtype=np.float64)
    d0 = ((Xm - halves[2 * m]) ** 2).sum(axis=1)
    d1 = ((Xm - halves[2 * m + 1]) ** 2).sum(axis=1)
    half = (2 * m + (d1 < d0)).astype(np.int32)
    return cluster_sums(Xm, wm, half, len(halves), _kernels.chunk_starts(len(Xm)))


def member_locations(chunk, state, n_clusters, wide):
    """For each cluster of ``wide``: its first member's row here (NaN if none) and
    whether any other member here lies elsewhere: ``(firsts (m, d), spread (m,))``."""
    X = chunk.X
    firsts = np.full((len(wide), X.shape[1]), np.nan)
    spread = np.zeros(len(wide), dtype=bool)
    if X.shape[0] == 0:
        return firsts, spread
    slots = _wide_slots(state[0], n_clusters, wide)
    rows = np.flatnonzero(slots >= 0)
    present, first = np.unique(slots[rows], return_index=True)
    firsts[present] = X[rows[first]]
    differs = (X[rows] != firsts[slots[rows]]).any(axis=1)
    spread[np.unique(slots[rows][differs])] = True
    return firsts, spread
