"""Size-limited assignment of rows to fixed centres (see ``_kernels.balance``).

``balanced_assign`` puts every row in a cluster so that each cluster's size (its number
of rows, or its total weight) lies in ``[lower_j, upper_j]`` at the least weighted
inertia. By count the result is optimal (the transportation problem has integral
optimal vertices, and the successive shortest paths move whole rows). By weight the
linear relaxation is solved exactly, rows split between clusters are then rounded
(``_rounding``). Private: arguments are assumed validated and feasible.
"""

import numpy as np

from . import _kernels
from ._kernels import balance as _bk
from ._kernels import pair_lists as _pl
from ._rounding import round_split_rows

__all__ = ["Balanced", "balanced_assign"]

#: Move lists hold at most this many entries in all (k x k x m), and start with
#: ``FIRST_LIST_LENGTH`` per pair of clusters; each refill doubles the length.
MAX_LIST_ENTRIES = 2**22
FIRST_LIST_LENGTH = 32
#: A cluster whose pieces times k are at most this has all its lists built at once.
ALL_PAIRS_WORK = 2**12  # measured: 2**18 made 1M/k=100 1.4x and 50k/k=20 1.7x slower
MAX_LIST_LENGTH = 256
#: A cold start on more rows than this first solves a sample of every
#: ``SAMPLE_STRIDE``-th row (and so on down), whose prices leave little to move.
SAMPLE_ROWS = 20_000
SAMPLE_STRIDE = 8
#: A warm start this far from the limits (share of the total size outside them) is
#: compared with a sample's prices, and the nearer of the two is used.
WARM_TOLERANCE = 0.05


class Balanced:
    """The outcome of ``balanced_assign``: ``labels`` (n,) int32, ``potentials`` (k+1,)
    (warm start of the next call; ``prices`` are ``potentials[k] - potentials[:k]``),
    ``relaxed_cost`` (the cost before rounding), ``split_rows`` (rows that the
    relaxation split between clusters; none by count) and ``moved_rows`` (rows the
    rounding's repair moved away from their cluster of least reduced cost)."""

    __slots__ = ("labels", "potentials", "relaxed_cost", "split_rows", "moved_rows", "steps",
                 "list_length")

    def __init__(self, labels, potentials, relaxed_cost, split_rows, moved_rows, steps,
                 list_length):
        self.labels = labels
        self.potentials = potentials
        self.relaxed_cost = relaxed_cost
        self.split_rows = split_rows
        self.moved_rows = moved_rows
        self.steps = steps
        self.list_length = list_length  # where the next call's lists start

    @property
    def prices(self):
        """Per-cluster prices (k,): a row goes to the cluster of least
        ``factor * d² + price`` (``factor``: its weight by count, 1 by weight)."""
        return self.potentials[-1] - self.potentials[:-1]


class _Pieces:
    """Rows, amounts and clusters of the pieces (a row split by weight is two pieces)."""

    def __init__(self, labels, amount):
        n = len(labels)
        capacity = n + max(1024, n // 8)
        self.row = np.empty(capacity, dtype=np.int64)
        self.row[:n] = np.arange(n)
        self.cluster = np.empty(capacity, dtype=np.int32)
        self.cluster[:n] = labels
        self.amount = np.zeros(capacity)
        self.amount[:n] = amount
        self.next = np.full(capacity, -1, dtype=np.int64)  # a row's pieces, chained
        self.moved = np.zeros(capacity, dtype=bool)  # moved since the lists' index
        self.count = np.array([n], dtype=np.int64)

    def grow(self):
        extra = len(self.row)
        self.row = np.concatenate([self.row, np.empty(extra, dtype=np.int64)])
        self.cluster = np.concatenate([self.cluster, np.empty(extra, dtype=np.int32)])
        self.amount = np.concatenate([self.amount, np.zeros(extra)])
        self.next = np.concatenate([self.next, np.full(extra, -1, dtype=np.int64)])
        self.moved = np.concatenate([self.moved, np.zeros(extra, dtype=bool)])


class _Lists:
    """The move lists of the pairs of clusters built so far, each pair's least piece,
    and for the other pairs a lower bound from the leaving cluster's bounding box: a
    list is built only for a pair a shortest path uses."""

    def __init__(self, X, factor, centres_t, pieces, length, amount_eps):
        k, d = centres_t.shape[1], centres_t.shape[0]
        self.X, self.factor, self.centres_t = X, factor, centres_t
        self.pieces, self.amount_eps, self.length = pieces, amount_eps, length
        self.vals, self.ids = np.empty((k, k, length)), np.empty((k, k, length), dtype=np.int64)
        self.heads, self.counts = np.zeros((k, k), dtype=np.int64), np.zeros((k, k), np.int64)
        self.floor = np.full((k, k), np.inf)
        self.arc_val = np.full((k, k), np.inf)
        self.arc_piece = np.full((k, k), -1, dtype=np.int64)
        self.built, self.need = np.zeros((k, k), dtype=bool), np.zeros((k, k), dtype=bool)
        used = int(pieces.count[0])
        self.box = np.empty((k, 2, d))
        _bk.cluster_boxes(X, pieces.row, pieces.cluster, pieces.amount, used, self.box)
        live = pieces.amount[:used] > 0
        f = factor[pieces.row[:used][live]] if live.any() else np.ones(1)
        self.factor_range = np.array([f.min(), f.max()])
        _bk.lazy_pairs(self.built, centres_t, self.box, self.factor_range, self.arc_val,
                       self.arc_piece)
        self.log = np.empty((k, max(1024, used // (2 * k))), dtype=np.int64)
        self.n_log = np.zeros(k, dtype=np.int64)  # pieces moved into each cluster
        self.reindex()

    def reindex(self):
        """Index the pieces by cluster and by cell of a grid over the cluster's box (one
        counting sort; see ``_kernels.pair_lists``); the log of moves starts empty."""
        (d, k), pieces = self.centres_t.shape, self.pieces
        used = int(pieces.count[0])
        side = _pl.grid_side(d)
        self.cells = side ** d
        keys = np.empty(used, dtype=np.int64)
        _pl.grid_keys(self.X, pieces.row, pieces.cluster, used, self.box, side, keys)
        self.order = np.empty(used, dtype=np.int64)
        self.bounds = np.empty(k * self.cells + 1, dtype=np.int64)
        _pl.counting_order(keys, k * self.cells, self.order, self.bounds)
        pieces.moved[:] = False
        self.n_log[:] = 0
        self.cellbox = np.empty((k * self.cells, 2, d))
        self.cellfac = np.empty((k * self.cells, 2))
        _pl.cell_boxes(self.X, self.factor, pieces.row, pieces.amount, self.order, self.bounds,
                       pieces.moved, self.cellbox, self.cellfac)

    def arrays(self):
        return (self.vals, self.ids, self.heads, self.counts, self.floor, self.arc_val,
                self.arc_piece, self.built, self.box, self.factor_range, self.need,
                self.pieces.moved, self.log, self.n_log)

    def build(self, pairs):
        """Build (or rebuild) the lists of ``pairs`` (P, 2)."""
        pieces = self.pieces
        pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]  # each cluster's pieces once
        _pl.build_pairs(self.X, self.factor, self.centres_t, pieces.row, pieces.cluster,
                        pieces.amount, self.order, self.bounds, pieces.moved, self.cellbox,
                        self.cellfac, self.cells, self.log, self.n_log, pairs, self.vals,
                        self.ids, self.counts, self.floor)
        self.heads[pairs[:, 0], pairs[:, 1]] = 0
        self.built[pairs[:, 0], pairs[:, 1]] = True
        self.need[pairs[:, 0], pairs[:, 1]] = False
        _bk.refresh_arcs(pairs, self.vals, self.ids, self.heads, self.counts, self.floor,
                         pieces.cluster, pieces.amount, self.amount_eps, self.arc_val,
                         self.arc_piece)

    def build_needed(self):
        """Build the pairs a shortest path needs; for a cluster of few pieces, every pair
        leaving it (its members are gathered once for all its pairs, and a later path
        leaving it will not stop for another build: with many clusters of few points,
        stopping is what costs)."""
        k = self.centres_t.shape[1]
        small = np.diff(self.bounds[::self.cells]) * k <= ALL_PAIRS_WORK
        leaving = np.flatnonzero(self.need.any(axis=1) & small)
        whole = np.zeros((k, k), dtype=bool)
        whole[leaving] = ~self.built[leaving]
        np.fill_diagonal(whole, False)
        self.build(np.argwhere(whole | self.need))

    def refill(self, length):
        """Longer lists: rebuild the pairs whose list ran out, copy the other built ones."""
        k = self.centres_t.shape[1]
        empty = self.arc_piece == -2
        if length != self.length:
            vals = np.empty((k, k, length))
            ids = np.empty((k, k, length), dtype=np.int64)
            counts = np.zeros((k, k), dtype=np.int64)
            kept = self.built & ~empty
            _bk.copy_move_lists(self.vals, self.ids, self.heads, self.counts, kept, vals, ids,
                                counts)
            self.heads[kept] = 0
            self.vals, self.ids, self.counts, self.length = vals, ids, counts, length
        self.build(np.argwhere(empty))


def _initial_flows(sizes, potentials, lower, upper):
    """Sink flows with non-negative reduced costs for the potentials: a cluster dearer
    than the sink is filled to its maximum, a cheaper one held at its minimum, the
    others keep their size within the limits."""
    k = len(sizes)
    below, above = potentials[:k] < potentials[k], potentials[:k] > potentials[k]
    return np.where(below, upper, np.where(above, lower, np.clip(sizes, lower, upper)))


def _start(X, factor, amount, centres_t, potentials):
    """Each row at its cluster of least reduced cost, and the clusters' sizes."""
    n, k = X.shape[0], centres_t.shape[1]
    labels = np.empty(n, dtype=np.int32)
    _bk.assign_with_prices(X, factor, centres_t, potentials[:k], _kernels.chunk_starts(n),
                           labels)
    return labels, np.bincount(labels, weights=amount, minlength=k)


def _violation_share(sizes, lower, upper):
    """How much of the total size lies outside the limits, as a share of it."""
    outside = np.maximum(sizes - upper, 0).sum() + np.maximum(lower - sizes, 0).sum()
    return float(outside / max(sizes.sum(), np.finfo(float).tiny))


def _sample_potentials(X, weights, centres, lower, upper, by_weight):
    """Potentials solved on every ``SAMPLE_STRIDE``-th row with the limits scaled to
    the sample (rounded outwards by count, so they stay feasible): prices are per unit
    of size, so they carry over to all rows, which then differ from their limits by
    sampling noise only."""
    sample = slice(None, None, SAMPLE_STRIDE)
    weights_s = weights[sample]
    if by_weight:
        share = weights_s.sum() / max(weights.sum(), np.finfo(float).tiny)
        lower_s, upper_s = lower * share, upper * share
    else:
        share = len(weights_s) / len(weights)
        lower_s, upper_s = np.floor(lower * share), np.ceil(upper * share)
    outcome = balanced_assign(np.ascontiguousarray(X[sample]), weights_s, centres, lower_s,
                              upper_s, by_weight=by_weight)
    return outcome.potentials


def balanced_assign(X, weights, centres, lower, upper, *, by_weight=False, potentials=None,
                    list_length=FIRST_LIST_LENGTH):
    """Rows of ``X`` (n, d) to ``centres`` (k, d) within size limits ``lower``/``upper``
    (k,) of counts or (``by_weight``) of summed ``weights``; returns a ``Balanced``.
    ``potentials`` and ``list_length`` from a previous call (its ``Balanced``) start the
    search near its answer."""
    n, k = X.shape[0], centres.shape[0]
    weights = np.asarray(weights, dtype=np.float64)
    factor = np.ones(n) if by_weight else np.ascontiguousarray(weights)
    amount = np.ascontiguousarray(weights) if by_weight else np.ones(n)
    total = float(amount.sum())
    centres_t = np.ascontiguousarray(centres.T)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    potentials = np.zeros(k + 1) if potentials is None else np.array(potentials, dtype=float)
    potentials[:k] -= potentials[k]
    potentials[k] = 0.0
    labels, sizes = _start(X, factor, amount, centres_t, potentials)
    if n > SAMPLE_ROWS and k > 1 and _violation_share(sizes, lower, upper) > WARM_TOLERANCE:
        # far from the limits (a cold start, or centres that moved much): a sample's
        # prices leave sampling noise only
        sampled = _sample_potentials(X, weights, centres, lower, upper, by_weight)
        sampled[:k] -= sampled[k]
        sampled[k] = 0.0
        other, other_sizes = _start(X, factor, amount, centres_t, sampled)
        if _violation_share(other_sizes, lower, upper) < _violation_share(sizes, lower, upper):
            potentials, labels, sizes = sampled, other, other_sizes
    flow = _initial_flows(sizes, potentials, lower, upper)
    excess = np.append(sizes - flow, flow.sum() - total)
    eps = 0.5 if not by_weight else 1e-12 * max(total, np.finfo(float).tiny)
    amount_eps = 0.5 if not by_weight else 0.0
    pieces = _Pieces(labels, amount)
    steps, length = _solve(X, factor, centres_t, pieces, sizes, flow, lower, upper, potentials,
                           excess, eps, amount_eps, list_length)
    used = int(pieces.count[0])
    return _outcome(X, factor, centres_t, pieces, used, n, potentials, by_weight, steps, length,
                    (lower, upper))


def _solve(X, factor, centres_t, pieces, sizes, flow, lower, upper, potentials, excess, eps,
           amount_eps, length):
    k = centres_t.shape[1]
    steps = 0
    longest = max(2, min(MAX_LIST_LENGTH, MAX_LIST_ENTRIES // (k * k)))
    lists = _Lists(X, factor, centres_t, pieces, min(length, longest), amount_eps)
    while True:
        status, done = _bk.augment(X, factor, centres_t, pieces.row, pieces.cluster,
                                   pieces.amount, pieces.next, pieces.count, sizes, flow,
                                   lower, upper, potentials, excess, eps, amount_eps,
                                   *lists.arrays(), 1 << 62)
        steps += done
        if status == _bk.DONE:
            return steps, lists.length
        if status == _bk.GROW:
            pieces.grow()
        elif status == _bk.BUILD:
            lists.build_needed()
        elif status == _bk.REINDEX:
            lists.reindex()
        elif status == _bk.REFILL:
            lists.refill(min(2 * lists.length, longest))
        else:  # STUCK: refused before any work by the callers' feasibility check
            raise RuntimeError("size limits could not be met: no augmenting path left.")


def _outcome(X, factor, centres_t, pieces, used, n, potentials, by_weight, steps, length,
             limits=None):
    rows, clusters = pieces.row[:used], pieces.cluster[:used]
    amounts = pieces.amount[:used]
    d2 = ((X[rows] - centres_t.T[clusters]) ** 2).sum(axis=1)
    relaxed = float((amounts * factor[rows] * d2).sum())
    labels = clusters[:n].copy()
    live = amounts > 0  # a row's weight may have left its first piece
    labels[rows[live]] = clusters[live]
    split_rows = np.empty(0, dtype=np.int64)
    moved_rows = np.empty(0, dtype=np.int64)
    if by_weight:
        weight = np.bincount(rows, weights=amounts, minlength=n)
        if used > n:
            split_rows, moved_rows = round_split_rows(X, centres_t.T, weight, rows, clusters,
                                                      amounts, labels, *limits)
        # rows of zero weight weigh nothing anywhere: each to its least price
        zero = np.flatnonzero(weight <= 0)
        if zero.size:
            own = np.empty(zero.size, dtype=np.int32)
            k = centres_t.shape[1]
            _bk.assign_with_prices(np.ascontiguousarray(X[zero]), np.ones(zero.size), centres_t,
                                   potentials[:k] - potentials[k],
                                   _kernels.chunk_starts(zero.size), own)
            labels[zero] = own
    return Balanced(labels, potentials, relaxed, split_rows, moved_rows, steps, length)
