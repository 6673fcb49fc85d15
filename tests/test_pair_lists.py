"""The move lists of the size-limited assignment (``core._kernels.pair_lists``): built from a
grid index of each cluster's pieces, they must be exactly the lists a pass over every piece
gives (the m least moves, ties to the lower piece), with a floor under every move left out."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from geokmeans.core._kernels import pair_lists as pl


def _index(X, factor, row, cluster, amount, moved, box, k):
    d = X.shape[1]
    side = pl.grid_side(d)
    cells = side ** d
    keys = np.empty(len(row), dtype=np.int64)
    pl.grid_keys(X, row, cluster, len(row), box, side, keys)
    order, bounds = np.empty(len(row), dtype=np.int64), np.empty(k * cells + 1, np.int64)
    pl.counting_order(keys, k * cells, order, bounds)
    assert_array_equal(order, np.argsort(keys, kind="stable"))
    assert_array_equal(bounds, np.searchsorted(keys[order], np.arange(k * cells + 1)))
    cellbox, cellfac = np.empty((k * cells, 2, d)), np.empty((k * cells, 2))
    pl.cell_boxes(X, factor, row, amount, order, bounds, moved, cellbox, cellfac)
    return order, bounds, cellbox, cellfac, cells


def _sqdist(X, centre):
    """Squared distances summed coordinate by coordinate, in the kernels' order."""
    total = np.zeros(len(X))
    for f in range(X.shape[1]):
        total = total + (X[:, f] - centre[f]) * (X[:, f] - centre[f])
    return total


def _boxes(X, row, cluster, amount, k):
    box = np.empty((k, 2, X.shape[1]))
    for j in range(k):
        mine = X[row[(cluster == j) & (amount > 0)]]
        box[j, 0], box[j, 1] = (mine.min(0), mine.max(0)) if len(mine) else (np.inf, -np.inf)
    return box


@pytest.mark.parametrize("d", [2, 3, 8])
@pytest.mark.parametrize("seed", range(6))
def test_lists_equal_a_full_pass(d, seed):
    rng = np.random.default_rng(seed)
    n, k, m = int(rng.integers(50, 1500)), int(rng.integers(2, 7)), int(rng.integers(1, 40))
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d)
    X[rng.random(n) < 0.2] = X[0]  # many exact duplicates: ties
    X = np.round(X, 1)  # and ties on a lattice
    factor = rng.choice([1.0, 2.0, 0.5], n) if seed % 2 else np.ones(n)
    row = np.arange(n)
    cluster = rng.integers(0, k, n)
    amount = np.where(rng.random(n) < 0.1, 0.0, 1.0)  # pieces left empty
    centres_t = np.ascontiguousarray(rng.normal(size=(k, d)).T * 3)
    box = _boxes(X, row, cluster, amount, k)
    moved = np.zeros(n, dtype=bool)
    order, bounds, cellbox, cellfac, cells = _index(X, factor, row, cluster, amount, moved,
                                                    box, k)
    # after the index: some pieces move to other clusters (flagged, logged where they go)
    log, n_log = np.zeros((k, n), dtype=np.int64), np.zeros(k, dtype=np.int64)
    for q in rng.choice(n, n // 10, replace=False):
        if amount[q] > 0:
            cluster[q] = (cluster[q] + 1) % k
            moved[q] = True
            log[cluster[q], n_log[cluster[q]]] = q
            n_log[cluster[q]] += 1
    pairs = np.array([(j, o) for j in range(k) for o in range(k) if o != j], dtype=np.int64)
    vals, ids = np.empty((k, k, m)), np.empty((k, k, m), dtype=np.int64)
    counts, floor = np.zeros((k, k), dtype=np.int64), np.full((k, k), np.inf)
    pl.build_pairs(X, factor, centres_t, row, cluster, amount, order, bounds, moved, cellbox,
                   cellfac, cells, log, n_log, pairs, vals, ids, counts, floor)
    centres = centres_t.T
    for j, o in pairs:
        members = np.flatnonzero((cluster == j) & (amount > 0))
        delta = factor[members] * (_sqdist(X[members], centres[o])
                                   - _sqdist(X[members], centres[j]))
        ranked = np.lexsort((members, delta))  # by delta, then by piece
        expected = members[ranked[:m]]
        assert counts[j, o] == len(expected)
        assert_array_equal(ids[j, o, :counts[j, o]], expected)
        assert_array_equal(vals[j, o, :counts[j, o]], delta[ranked[:m]])
        left = delta[ranked[m:]]
        if len(left):
            assert floor[j, o] <= left.min()  # a true floor under every move left out
            assert floor[j, o] >= vals[j, o, m - 1]
        else:
            assert floor[j, o] == np.inf


def test_grid_side():
    assert [pl.grid_side(d) for d in (1, 2, 3, 4, 6, 7, 20)] == [64, 8, 4, 3, 2, 1, 1]
