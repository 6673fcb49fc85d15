"""LocalSearch++ (Lattanzi & Sohler, 2019) refining the seeds: kernels against numpy
brute force, the whole search against a plain numpy implementation, and its effect."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from geokmeans import GeoKMeans, InputError, KMeans
from geokmeans.core._estimator import make_rng
from geokmeans.core._plans import local_search_rows, random_rows
from geokmeans.core._seeding import (
    _Blocks,
    _SwapState,
    local_search,
    spatial_order,
)
from geokmeans.core._source import ArraySource, Chunk
from geokmeans.model import stable_order

from .conftest import make_blobs


def sqdist(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def clustered(rng, n_per=3000, n_groups=8, d=2):
    centres = rng.uniform(-100, 100, (n_groups, d))
    return np.concatenate([rng.normal(c, rng.uniform(0.5, 3.0), size=(n_per, d)) for c in centres])


def check_state(state, X, w):
    """The swap state equals a fresh brute-force computation."""
    D = sqdist(X, state.centers)
    order = np.argsort(D, axis=1, kind="stable")
    rows = np.arange(len(X))
    d1, d2 = D[rows, order[:, 0]], D[rows, order[:, 1]]
    assert_array_equal(state.blocks.closest, d1)
    assert_array_equal(state.second, d2)
    assert_array_equal(state.label, order[:, 0])
    k = len(state.centers)
    assert_allclose(state.base, np.bincount(order[:, 0], w * (d2 - d1), minlength=k),
                    rtol=1e-9, atol=1e-9 * (w * d2).sum())
    starts = state.blocks.starts
    pots = np.add.reduceat(w * d1, starts[:-1])
    assert_allclose(state.blocks.block_pot, pots, rtol=1e-12)
    assert_array_equal(state.blocks.block_max, np.maximum.reduceat(d2, starts[:-1]))


@pytest.mark.parametrize("d", [2, 3])
def test_swap_deltas_and_swaps_match_brute_force(seed, d):
    rng = np.random.default_rng(seed)
    X = clustered(rng, d=d)
    w = rng.uniform(0, 2, len(X))
    w[::10] = 0.0  # zero-weight rows count for nothing
    blocks = _Blocks(X, w)
    Xs, ws = blocks.X, blocks.weights
    centres = Xs[rng.choice(len(X), 7, replace=False)].copy()
    state = _SwapState(blocks, centres)
    check_state(state, Xs, ws)
    for _ in range(12):
        candidate = Xs[rng.integers(len(X))][None].copy()
        cost = (ws * sqdist(Xs, state.centers).min(1)).sum()
        expected = []
        for j in range(len(centres)):
            swapped = state.centers.copy()
            swapped[j] = candidate[0]
            expected.append((ws * sqdist(Xs, swapped).min(1)).sum() - cost)
        assert_allclose(state.deltas(candidate), expected, rtol=0, atol=1e-9 * cost)
        state.swap(int(rng.integers(len(centres))), candidate)  # any swap, good or bad
        check_state(state, Xs, ws)


def reference_local_search(X, w, centres, n_steps, rng, order=None):
    """LocalSearch++ in plain numpy, rows in the same spatial order as the blocks (or in
    ``order``)."""
    order = spatial_order(X) if order is None else order
    Xs, ws = X[order], w[order]
    C = centres.copy()
    for _ in range(n_steps):
        d1 = sqdist(Xs, C).min(1)
        target = rng.uniform(size=1)[0] * (ws * d1).sum()
        if not target > 0:
            continue
        row = np.searchsorted(np.cumsum(ws * d1), target, side="right")
        costs = []
        for j in range(len(C)):
            swapped = C.copy()
            swapped[j] = Xs[row]
            costs.append((ws * sqdist(Xs, swapped).min(1)).sum())
        deltas = np.array(costs) - (ws * d1).sum()
        j = int(np.argmin(deltas))
        if deltas[j] < 0:
            C[j] = Xs[row]
    return C


def test_whole_search_equals_numpy_reference(seed):
    # integer coordinates and weights: every sum is exact, so the two must agree exactly
    rng = np.random.default_rng(seed)
    X = np.round(clustered(rng, n_per=500) * 5)
    w = rng.integers(0, 4, len(X)).astype(float)
    start = random_rows(ArraySource(X, w), 9, rng)
    ours = local_search(X, w, start, 40, np.random.default_rng(seed + 10))
    ref = reference_local_search(X, w, start, 40, np.random.default_rng(seed + 10))
    assert_array_equal(ours, ref)
    assert not np.array_equal(ours, start)  # the search did swap centres


def test_search_never_raises_the_potential_and_fixes_a_bad_seeding(seed):
    rng = np.random.default_rng(seed)
    groups = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], dtype=float)
    X = np.repeat(groups, 500, axis=0) + rng.normal(scale=1.0, size=(2000, 2))
    w = np.ones(len(X))
    start = X[:4].copy()  # all four seeds in the first group
    potential = [(w * sqdist(X, start).min(1)).sum()]
    centres = start
    for _ in range(6):
        centres = local_search(X, w, centres, 4, rng)
        potential.append((w * sqdist(X, centres).min(1)).sum())
    assert all(b <= a for a, b in itertools.pairwise(potential))
    nearest_group = sqdist(centres, groups).argmin(1)
    assert sorted(nearest_group) == [0, 1, 2, 3]


def test_zero_weight_rows_never_become_centres(seed):
    rng = np.random.default_rng(seed)
    X = clustered(rng, n_per=400)
    w = np.where(rng.uniform(size=len(X)) < 0.5, 0.0, 1.0)
    start = random_rows(ArraySource(X, w), 6, rng)
    centres = local_search(X, w, start, 60, rng)
    allowed = {tuple(r) for r in X[w > 0]}
    assert all(tuple(c) in allowed for c in centres)


def test_degenerate_inputs():
    X = np.zeros((50, 2))
    w = np.ones(50)
    # every row on a centre: nothing to draw, nothing changes
    assert_array_equal(local_search(X, w, X[:3].copy(), 10, np.random.default_rng(0)), X[:3])
    # one centre: no swap is defined; returned as it is
    Y = np.arange(10.0).reshape(5, 2)
    assert_array_equal(local_search(Y, np.ones(5), Y[:1], 10, np.random.default_rng(0)), Y[:1])
    km = KMeans(5, local_search=50, random_state=0).fit(Y)  # n == k
    assert sorted(km.cluster_centers_[:, 0]) == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_default_fit_uses_k_steps_and_zero_gives_plain_kmeanspp(monkeypatch):
    import geokmeans.core._seeding as seeding

    X, _ = make_blobs(3000, 5, seed=1)
    steps = []
    original = seeding._local_search

    def spy(blocks, centers, n_steps, rng):
        steps.append(n_steps)
        return original(blocks, centers, n_steps, rng)

    monkeypatch.setattr(seeding, "_local_search", spy)
    KMeans(5, random_state=0).fit(X)
    KMeans(5, random_state=0, local_search=0).fit(X)
    KMeans(5, random_state=0, local_search=3).fit(X)
    assert steps == [5, 0, 3]
    # bbox, random and explicit centres are left as drawn unless steps are asked for
    for init in ["bbox", "random", X[:5]]:
        auto = KMeans(5, init=init, n_init=1, max_iter=1, random_state=0).fit(X)
        none = KMeans(5, init=init, n_init=1, max_iter=1, random_state=0, local_search=0).fit(X)
        assert_array_equal(auto.cluster_centers_, none.cluster_centers_)


def test_positive_steps_refine_explicit_centres():
    X, _ = make_blobs(2000, 6, seed=2)
    start = X[:6].copy()
    km = KMeans(6, init=start, local_search=30, random_state=7).fit(X)
    refined = local_search_rows(ArraySource(X, np.ones(len(X))), start, 30, make_rng(7))
    assert not np.array_equal(refined, start)
    expected = KMeans(6, init=refined, local_search=0).fit(X)
    assert_array_equal(km.cluster_centers_, expected.cluster_centers_)
    assert km.inertia_ == expected.inertia_


def test_local_search_lowers_final_inertia_over_seeds():
    # 80 blobs for k = 30: where the centres go is a real choice, and plain k-means++
    # ends in local optima a few percent apart; the search swaps centres towards better
    # ones (about 7% lower on average here, same seeds for both).
    X, _ = make_blobs(40_000, 80, spread=2.0, box=200.0, seed=5)
    plain = [KMeans(30, random_state=s, local_search=0).fit(X).inertia_ for s in range(8)]
    refined = [KMeans(30, random_state=s).fit(X).inertia_ for s in range(8)]
    assert np.mean(refined) < 0.97 * np.mean(plain)
    assert np.median(refined) < np.median(plain)


def test_geokmeans_passes_local_search_through():
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([rng.uniform(-77.2, -76.9, 3000), rng.uniform(38.8, 39.0, 3000)])
    for steps in ["auto", 0, 9]:
        model = GeoKMeans(6, random_state=3, local_search=steps).fit(lonlat)
        X = model.projection_.forward(lonlat[:, 0], lonlat[:, 1])
        core = KMeans(6, random_state=3, local_search=steps).fit(X)
        # the same fit, its clusters numbered by size then centroid lon/lat (the model's rule)
        order = stable_order(np.bincount(core.labels_),
                             *model.projection_.inverse(core.cluster_centers_))
        assert_array_equal(model.labels_, np.argsort(order)[core.labels_])
        assert_array_equal(model.cluster_centers_m_, core.cluster_centers_[order])


@pytest.mark.parametrize(
    "value, message",
    [
        (-1, r"local_search=-1 should be 'auto' or an integer in \[0, 100000\]"),
        ("always", r"local_search='always' should be 'auto' or an integer in \[0, 100000\]"),
        (2.5, "local_search=2.5 should be 'auto' or an integer"),
        (True, "local_search=True should be 'auto' or an integer"),
        (10**9, "local_search=1000000000 should be"),
    ],
)
def test_bad_local_search_is_named(value, message):
    X, _ = make_blobs(100, 3, seed=0)
    with pytest.raises(InputError, match=message):
        KMeans(3, local_search=value).fit(X)


# -- LocalSearch++ over the rows of a source (after bbox, random or explicit seeds) ---------


class ChunkedSource(ArraySource):
    """The rows of an ``ArraySource`` cut into chunks at ``cuts``, as a Dask source has them."""

    def __init__(self, X, w, cuts):
        bounds = [0, *cuts, len(X)]
        self.chunks = [Chunk(np.ascontiguousarray(X[a:b]), w[a:b], index=i, first_row=a)
                       for i, (a, b) in enumerate(itertools.pairwise(bounds))]
        self.n_features = X.shape[1]
        self.n_chunks = len(self.chunks)
        self._states = {}


@pytest.mark.parametrize("cuts", [[], [0, 1000, 1001, 2500, 3999]])
def test_search_over_a_source_equals_numpy_reference_in_row_order(seed, cuts):
    # integer coordinates and weights: every sum is exact; chunks (one of them empty, one
    # of one row) change nothing, since the draw follows the rows' order
    rng = np.random.default_rng(seed)
    X = np.round(clustered(rng, n_per=500) * 5)
    w = rng.integers(0, 4, len(X)).astype(float)
    start = X[rng.choice(len(X), 9, replace=False)].copy()
    source = ChunkedSource(X, w, cuts) if cuts else ArraySource(X, w)
    ours = local_search_rows(source, start, 40, np.random.default_rng(seed + 10))
    ref = reference_local_search(X, w, start, 40, np.random.default_rng(seed + 10),
                                 order=np.arange(len(X)))
    assert_array_equal(ours, ref)
    assert not np.array_equal(ours, start)
    assert source._states == {}  # the per-row state is dropped at the end


def test_search_over_a_source_degenerate_inputs_and_zero_weights(seed):
    rng = np.random.default_rng(seed)
    X = clustered(rng, n_per=300)
    w = np.where(rng.uniform(size=len(X)) < 0.5, 0.0, 1.0)
    start = X[w > 0][:5].copy()
    centres = local_search_rows(ChunkedSource(X, w, [100, 700]), start, 50, rng)
    allowed = {tuple(r) for r in X[w > 0]}
    assert all(tuple(c) in allowed for c in centres)
    before = (w * sqdist(X, start).min(1)).sum()
    assert (w * sqdist(X, centres).min(1)).sum() < before
    same = np.zeros((40, 2))
    assert_array_equal(local_search_rows(ArraySource(same, np.ones(40)), same[:3], 10,
                                         np.random.default_rng(0)), same[:3])
    assert_array_equal(local_search_rows(ArraySource(X, w), start[:1], 10, rng), start[:1])
    assert_array_equal(local_search_rows(ArraySource(X, w), start, 0, rng), start)


@pytest.mark.parametrize("init", ["bbox", "random", "array"])
def test_local_search_after_other_seedings_lowers_the_seed_potential(seed, init):
    # the seeds KMeans starts Lloyd from: with local_search, their potential is lower
    from geokmeans.core._plans import seed_centres

    rng_data = np.random.default_rng(seed)
    X = clustered(rng_data, n_per=400)
    w = np.ones(len(X))
    given = X[:6].copy() if init == "array" else init
    plain = seed_centres(ArraySource(X, w), given, 6, np.random.default_rng(seed))
    searched = seed_centres(ArraySource(X, w), given, 6, np.random.default_rng(seed),
                            local_steps=30)
    potential = [(w * sqdist(X, c).min(1)).sum() for c in (plain, searched)]
    assert potential[1] < potential[0]
