"""Lloyd iterations against a plain-numpy reference, and their invariants (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from geokmeans import ConvergenceWarning, KMeans
from geokmeans.core import _driver, _kernels
from geokmeans.core._driver import relocate_empty_clusters
from geokmeans.core._source import ArraySource

from .conftest import make_blobs


def lloyd(X, weights, centers, max_iter, tol, starts=None, callback=None, sphere_radius=None,
          algorithm="lloyd"):
    """The driver over an in-memory source: (labels, inertia, centres, n_iter)."""
    source = ArraySource(np.ascontiguousarray(X, dtype=np.float64), np.asarray(weights, float))
    centres, n_iter = _driver.lloyd(source, centers, max_iter, tol, sphere_radius=sphere_radius,
                                    algorithm=algorithm, callback=callback)
    return (_driver.final_labels(source, "run"), _driver.inertia(source, centres), centres,
            n_iter)


def hamerly(*args, **kwargs):
    return lloyd(*args, **kwargs, algorithm="hamerly")


def numpy_lloyd_step(X, weights, centers):
    """One E-step and M-step written out in plain numpy (no empty clusters)."""
    dist2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    labels = dist2.argmin(axis=1)
    new = np.empty_like(centers)
    for j in range(len(centers)):
        members = labels == j
        new[j] = (weights[members, None] * X[members]).sum(0) / weights[members].sum()
    inertia = (weights * dist2[np.arange(len(X)), labels]).sum()
    return labels, new, inertia


@pytest.mark.parametrize("n_samples", [1, 7, 513, 5000, 200_000])
def test_one_lloyd_step_matches_numpy(seed, n_samples):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3)) * [1.0, 10.0, 100.0]
    weights = rng.uniform(0.5, 2.0, n_samples)
    centers = X[rng.choice(n_samples, min(4, n_samples), replace=False)].copy()
    starts = _kernels.chunk_starts(n_samples)
    labels, inertia, new_centers, n_iter = lloyd(X, weights, centers, 1, 0.0, starts)
    assert n_iter == 1
    ref_labels, ref_centers, _ = numpy_lloyd_step(X, weights, centers)
    assert_allclose(new_centers, ref_centers, rtol=1e-12, atol=1e-12)
    # after one step the labels are recomputed against the new centres
    ref_labels2, _, ref_inertia2 = numpy_lloyd_step(X, weights, new_centers)
    assert_array_equal(labels, ref_labels2)
    assert inertia == pytest.approx(ref_inertia2, rel=1e-12)


def test_chunks_cover_rows_exactly():
    for n in [0, 1, 511, 512, 513, 10_000, 131_073, 10_000_001]:
        starts = _kernels.chunk_starts(n)
        assert starts[0] == 0 and starts[-1] == n
        assert (np.diff(starts) >= 0).all()
        assert len(starts) - 1 <= _kernels.MAX_CHUNKS


def test_relocation_moves_farthest_points_into_empty_clusters():
    X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    weights = np.ones(5)
    labels = np.array([0, 0, 0, 0, 0], dtype=np.int32)
    centre = 4.8
    dist2 = (X[:, 0] - centre) ** 2
    sums = np.array([[24.0], [0.0], [0.0]])
    cluster_weights = np.array([5.0, 0.0, 0.0])
    relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights)
    # farthest from 4.8: 11 (d=6.2), then 10 (d=5.2)
    assert_allclose(sums[:, 0], [3.0, 11.0, 10.0])
    assert_allclose(cluster_weights, [3.0, 1.0, 1.0])


def test_relocation_never_empties_another_cluster():
    X = np.array([[0.0], [100.0]])
    weights = np.ones(2)
    labels = np.array([0, 1], dtype=np.int32)
    dist2 = np.array([0.0, 25.0])  # point 1 alone in cluster 1, 5 from its centre
    sums = np.array([[0.0], [100.0], [0.0]])
    cluster_weights = np.array([1.0, 1.0, 0.0])
    relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights)
    assert_allclose(cluster_weights, [1.0, 1.0, 0.0])


# -- properties -------------------------------------------------------------------------

coords = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def datasets(draw, max_rows=60):
    n = draw(st.integers(2, max_rows))
    d = draw(st.integers(1, 3))
    X = draw(arrays(np.float64, (n, d), elements=coords))
    k = draw(st.integers(1, min(n, 5)))
    w = draw(arrays(np.float64, n, elements=st.floats(0.1, 10.0)))
    seed = draw(st.integers(0, 2**16))
    return X, w, k, seed


@st.composite
def continuous_datasets(draw, max_rows=60):
    """Rows drawn by numpy from a hypothesis seed: distinct points, no exact distance ties.

    Repetition and permutation invariance hold up to tie-breaking; exact ties (which
    hypothesis loves to produce) legitimately break them, so these properties use
    continuous random data of hypothesis-chosen size, shape and scale.
    """
    n = draw(st.integers(2, max_rows))
    d = draw(st.integers(1, 3))
    k = draw(st.integers(1, min(n, 5)))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e6]))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    w = rng.uniform(0.1, 10.0, n)
    return X, w, k, seed


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(datasets())
def test_inertia_never_increases(data):
    X, w, k, seed = data
    rng = np.random.default_rng(seed)
    centers = X[rng.choice(len(X), k, replace=False)]
    trace = []
    lloyd(X, w, centers, 100, 0.0, _kernels.chunk_starts(len(X)),
          callback=lambda it, inertia: trace.append(inertia))
    diffs = np.diff(trace)
    assert (diffs <= 1e-9 * max(1.0, trace[0])).all(), trace


@SETTINGS
@given(datasets())
def test_centres_are_weighted_means_at_convergence(data):
    X, w, k, seed = data
    km = KMeans(k, tol=0.0, max_iter=1000, random_state=seed)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            km.fit(X, sample_weight=w)
    for j in np.unique(km.labels_):
        members = km.labels_ == j
        mean = (w[members, None] * X[members]).sum(0) / w[members].sum()
        assert_allclose(km.cluster_centers_[j], mean, rtol=1e-9, atol=1e-9)
    # and every point's label is its nearest centre
    dist2 = ((X[:, None] - km.cluster_centers_[None]) ** 2).sum(-1)
    assert (dist2[np.arange(len(X)), km.labels_] <= dist2.min(1) * (1 + 1e-12) + 1e-12).all()


@SETTINGS
@given(datasets())
def test_predict_on_centres_is_arange(data):
    X, w, k, seed = data
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KMeans(k, random_state=seed).fit(X, sample_weight=w)
    centres = km.cluster_centers_
    # distinct as floats: every pair's squared distance is representable (> 0)
    pair_d2 = ((centres[:, None] - centres[None]) ** 2).sum(-1) + np.diag(np.full(k, np.inf))
    if pair_d2.min() > 0:
        assert_array_equal(km.predict(centres), np.arange(k))


@SETTINGS
@given(continuous_datasets(max_rows=30), st.data())
def test_integer_weights_equal_repetition(data, draw):
    X, _, k, seed = data
    reps = draw.draw(arrays(np.int64, len(X), elements=st.integers(1, 4)))
    rng = np.random.default_rng(seed)
    init = X[rng.choice(len(X), k, replace=False)]
    a = KMeans(k, init=init, tol=0.0).fit(X, sample_weight=reps.astype(float))
    b = KMeans(k, init=init, tol=0.0).fit(np.repeat(X, reps, axis=0))
    scale = np.abs(X).max()
    assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-9, atol=1e-12 * scale)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-9, abs=1e-12 * scale**2)
    assert_array_equal(np.repeat(a.labels_, reps), b.labels_)


@SETTINGS
@given(continuous_datasets())
def test_row_permutation_keeps_objective(data):
    X, w, k, seed = data
    rng = np.random.default_rng(seed)
    init = X[rng.choice(len(X), k, replace=False)]
    perm = rng.permutation(len(X))
    a = KMeans(k, init=init, tol=0.0).fit(X, sample_weight=w)
    b = KMeans(k, init=init, tol=0.0).fit(X[perm], sample_weight=w[perm])
    scale = np.abs(X).max()
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-9, abs=1e-12 * scale**2)
    assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-9, atol=1e-12 * scale)
    assert_array_equal(a.labels_[perm], b.labels_)


def test_large_blobs_converge_strictly():
    X, _ = make_blobs(20_000, 8, seed=4)
    km = KMeans(8, random_state=0, tol=0.0).fit(X)
    assert km.n_iter_ < 300


# -- accelerated iterations give Lloyd's result --------------------------------------------



@pytest.mark.parametrize("n_features", [1, 2, 3, 6])
@pytest.mark.parametrize("k", [1, 2, 8, 40])
def test_hamerly_equals_lloyd(seed, n_features, k):
    X, _ = make_blobs(6000, 10, n_features=n_features, spread=3.0, seed=seed)
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 3.0, len(X))
    init = X[rng.choice(len(X), k, replace=False)]
    starts = _kernels.chunk_starts(len(X))
    a = lloyd(X, w, init, 300, 0.0, starts)
    b = hamerly(X, w, init, 300, 0.0, starts)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[2], b[2])  # bit-identical centres
    assert a[1] == b[1] and a[3] == b[3]


def test_hamerly_equals_lloyd_with_empty_clusters_and_tol(seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 0.1, (300, 2)), rng.normal(1000, 0.1, (300, 2))])
    init = rng.uniform(-1e5, 1e5, size=(6, 2))  # most seeds far from any data
    starts = _kernels.chunk_starts(len(X))
    traces = [], []
    for algorithm, trace in zip((lloyd, hamerly), traces, strict=True):
        algorithm(X, np.ones(len(X)), init, 50, 1e-3, starts,
                  callback=lambda it, inertia, t=trace: t.append(inertia))
    a = lloyd(X, np.ones(len(X)), init, 50, 1e-3, starts)
    b = hamerly(X, np.ones(len(X)), init, 50, 1e-3, starts)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[2], b[2])
    assert traces[0] == traces[1]


def test_hamerly_equals_lloyd_on_the_sphere(seed):
    from geokmeans.projection import EARTH_RADIUS_M, Projection

    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-180, 180, 5000), np.degrees(np.arcsin(rng.uniform(-1, 1, 5000)))
    X = Projection("sphere").forward(lon, lat)
    init = X[rng.choice(5000, 12, replace=False)]
    starts = _kernels.chunk_starts(5000)
    a = lloyd(X, np.ones(5000), init, 300, 0.0, starts, sphere_radius=EARTH_RADIUS_M)
    b = hamerly(X, np.ones(5000), init, 300, 0.0, starts, sphere_radius=EARTH_RADIUS_M)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[2], b[2])


def test_algorithm_parameter_selects_same_result():
    X, _ = make_blobs(5000, 6, seed=1)
    results = [KMeans(6, random_state=0, algorithm=alg).fit(X)
               for alg in ("lloyd", "hamerly", "auto")]
    for other in results[1:]:
        assert_array_equal(results[0].labels_, other.labels_)
        assert_array_equal(results[0].cluster_centers_, other.cluster_centers_)
        assert results[0].n_iter_ == other.n_iter_


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_rounding_of_a_mean_never_moves_rows_back_and_forth(algorithm):
    # two locations, k = 4: the weighted mean of two equal rows is off them in the last bit;
    # those rows must not count as "farthest" and bounce between an empty cluster and their
    # own, and no cluster may keep a residue of weight without members (found by hypothesis)
    X = np.full((52, 3), 3.0)
    X[[1, 51], 0] = 0.0
    w = np.full(52, 7.0)
    w[1] = float.fromhex("0x1.55097dd1ca35cp+0")
    with pytest.warns(ConvergenceWarning):
        km = KMeans(4, tol=0.0, max_iter=1000, random_state=0, algorithm=algorithm).fit(
            X, sample_weight=w)
    assert km.n_iter_ < 10
    for j in np.unique(km.labels_):
        members = km.labels_ == j
        np.testing.assert_allclose(km.cluster_centers_[j],
                                   np.average(X[members], axis=0, weights=w[members]),
                                   rtol=1e-15, atol=1e-15)


def test_relocation_counts_members_not_weights():
    # moving the last positive-weight member out is refused even when subtracting weights
    # would leave a positive residue by rounding
    X = np.array([[0.0], [1.0], [1.0], [5.0]])
    weights = np.array([1.0, 0.1, 0.2, 1.0])
    labels = np.array([0, 1, 1, 1], dtype=np.int32)
    dist2 = np.array([0.0, 4.0, 3.0, 1.0])
    sums = np.array([[0.0], [0.1 + 0.2 + 5.0], [0.0]])
    cluster_weights = np.array([1.0, 1.3, 0.0])
    moved = relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights)
    assert moved == 1 and cluster_weights[2] == 0.1  # the farthest row fills the empty one
    cluster_weights = np.array([1.0, 0.1, 0.0, 0.0])
    sums = np.array([[0.0], [0.1], [0.0], [0.0]])
    members = np.array([1, 1, 0, 0])
    moved = relocate_empty_clusters(X[:2], weights[:2], labels[:2], dist2[:2], sums,
                                    cluster_weights, members)
    assert moved == 0 and cluster_weights[1] == 0.1  # its only member stays


# -- stored bounds and k-means|| states ----------------------------------------------------


def _awkward_values():
    """Distances of every magnitude float64 holds, with the float32 edges."""
    rng = np.random.default_rng(3)
    tiny = np.finfo(np.float32).smallest_subnormal
    values = [0.0, tiny, tiny / 3, 2 * tiny, np.finfo(np.float32).tiny,
              float(np.finfo(np.float32).max), float(np.finfo(np.float32).max) * 1.5, 1e300,
              np.inf, 1.0, 1.0 + 2.0**-40, 6378137.0, 1e-300]
    values += list(10.0 ** rng.uniform(-320, 300, 2000))
    values += list(rng.uniform(0, 1e7, 2000))
    return np.array(values)


def test_lower_bounds_are_stored_below():
    # a lower bound is never stored above the exact value, and (for normal float32
    # values) within a few float32 steps of it
    from geokmeans.core._kernels.hamerly import _round_down

    values = _awkward_values()
    down_values = np.concatenate([values, -values[values > 0][:500]])
    down = np.array([_round_down(v) for v in down_values])  # numba hands float32 back as float
    assert_array_equal(down.astype(np.float32), down)  # float32 values, as stored
    assert (down.astype(np.float64) <= down_values).all()
    normal = (np.abs(down_values) >= np.finfo(np.float32).tiny) & (np.abs(down_values) <= 1e38)
    assert (np.abs(down[normal] - down_values[normal])
            <= np.abs(down_values[normal]) * 2.0**-20).all()
    # k = 1: no other centre, a lower bound of (nearly) the largest float32 is still valid
    assert 3.4e38 < _round_down(np.inf) <= np.finfo(np.float32).max


def test_hamerly_state_is_labels_and_float32_lower_bounds():
    from geokmeans.core import _chunks
    from geokmeans.core._source import Chunk

    X, _ = make_blobs(3000, 5, seed=2)
    centres = X[:5].copy()
    state, _ = _chunks.iterate_hamerly(Chunk(X, np.ones(len(X))), None, centres, None,
                                        _kernels.centre_neighbours(centres), False)
    labels, lower = state  # 8 bytes a row: no upper bound is kept
    assert labels.dtype == np.int32
    assert lower.dtype == np.float32
    exact = np.sqrt(((X[:, None] - centres[None]) ** 2).sum(-1))
    assert_array_equal(labels, exact.argmin(axis=1))
    others = np.where(np.arange(5)[None] == labels[:, None], np.inf, exact).min(axis=1)
    assert (lower <= others).all() and (lower >= others * (1 - 2.0**-20)).all()


def _brute_force_rounds(X, w, rounds, listed=32):
    """Feed ``rounds`` of candidates to ``closest_candidate`` (with each earlier
    candidate's squared distance to the nearest new one, computed here) and check, after
    every round, each row's nearest candidate and the cost against a search of all the
    candidates so far (ties: the earlier one)."""
    from geokmeans.core import _chunks
    from geokmeans.core._plans import near_lists
    from geokmeans.core._source import Chunk

    chunk = Chunk(X, w)
    state, seen = None, np.empty((0, X.shape[1]))
    for new in rounds:
        before = None if state is None else state[0]
        state, cost = _chunks.closest_candidate(chunk, state, new, len(seen),
                                                *near_lists(seen, new, listed=listed))
        if before is not None:
            assert state[0] is before  # updated in place, not reallocated
        seen = np.concatenate([seen, new])
        d2 = ((X[:, None] - seen[None]) ** 2).sum(-1)
        assert_array_equal(state[1], d2.argmin(axis=1))
        assert_array_equal(state[0], d2.min(axis=1).astype(np.float32))
        assert state[0].dtype == np.float32 and state[1].dtype == np.int32
        assert_allclose(cost, (w * d2.min(axis=1)).sum(), rtol=1e-6)


def test_closest_candidate_updates_in_place_and_returns_the_cost():
    # many exact ties (integer grid), zero weights
    from geokmeans.core import _chunks
    from geokmeans.core._source import Chunk

    rng = np.random.default_rng(4)
    X = rng.integers(0, 6, (4000, 2)).astype(float)
    w = rng.uniform(0, 2, len(X))
    w[::7] = 0.0
    _brute_force_rounds(X, w, [X[rng.choice(len(X), m, replace=False)] for m in (1, 5, 9)])
    empty = Chunk(np.empty((0, 2)), np.empty(0))
    state, cost = _chunks.closest_candidate(empty, None, X[:1], 0, np.empty((0, 1), np.int32),
                                            np.empty((0, 1)), np.empty(0))
    assert cost == 0.0 and state[0].shape == (0,)


@pytest.mark.parametrize("d, listed", [(2, 32), (3, 32), (2, 3)])
def test_closest_candidate_searches_only_candidates_that_can_be_nearer(d, listed):
    # k-means|| rounds on clustered data, where most rows of later rounds read few or
    # none of the new candidates (those within twice their distance of their nearest
    # one, from lists of ``listed``; rows reaching past the list search all): the
    # result equals the full search, also for candidates at a row or duplicated
    rng = np.random.default_rng(d)
    X = np.concatenate([rng.normal(c, 1.0, (300, d)) for c in rng.uniform(-50, 50, (10, d))])
    w = rng.uniform(0.5, 2, len(X))
    rounds = [X[:1], X[rng.choice(len(X), 12)], X[rng.choice(len(X), 12)] + 1e-3,
              np.repeat(X[rng.choice(len(X), 3)], 2, axis=0)]
    _brute_force_rounds(X, w, rounds, listed)


def test_near_lists_in_blocks_equal_all_pairs_sorted():
    from geokmeans.core._plans import near_lists

    rng = np.random.default_rng(0)
    points, others = rng.normal(size=(37, 3)), rng.normal(size=(11, 3))
    others[5] = others[2]  # a tie: the lower index first
    d2 = ((points[:, None] - others[None]) ** 2).sum(-1)
    order = np.argsort(d2, axis=1, kind="stable")
    near, near_d2, beyond = near_lists(points, others, listed=4, block_entries=50)
    assert_array_equal(near, order[:, :4])
    assert_allclose(near_d2, np.take_along_axis(d2, order[:, :4], axis=1), rtol=1e-15)
    assert_allclose(beyond, np.take_along_axis(d2, order[:, 4:5], axis=1)[:, 0], rtol=1e-15)
    near, near_d2, beyond = near_lists(points, others, listed=40)
    assert near.shape == (37, 11) and np.isinf(beyond).all()


# -- the fused Hamerly step on uneven data, ties and empty clusters -------------------------


def uneven_blobs(n, n_blobs, seed):
    """Heterogeneous clusters in metres: heavy-tailed sizes (a Pareto law: one blob holds
    a large share, many a handful of rows), spreads 20x apart."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-50_000.0, 50_000.0, size=(n_blobs, 2))
    sizes = rng.pareto(1.1, n_blobs) + 1e-3
    which = rng.choice(n_blobs, size=n, p=sizes / sizes.sum())
    spreads = np.exp(rng.uniform(np.log(200.0), np.log(4_000.0), n_blobs))
    return centres[which] + rng.normal(size=(n, 2)) * spreads[which, None]


@pytest.mark.parametrize("weighted", [False, True])
def test_hamerly_equals_lloyd_and_sklearn_on_uneven_data(seed, weighted):
    from sklearn.cluster import KMeans as SklearnKMeans

    X = uneven_blobs(20_000, 30, seed)
    rng = np.random.default_rng(seed + 7)
    w = rng.pareto(1.5, len(X)) + 0.1 if weighted else np.ones(len(X))
    init = X[rng.choice(len(X), 24, replace=False)]  # k rows at random: many in the big blob
    a = lloyd(X, w, init, 300, 0.0)
    b = hamerly(X, w, init, 300, 0.0)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[2], b[2])
    assert a[1] == b[1] and a[3] == b[3]
    ours = KMeans(24, init=init, tol=0.0, max_iter=300).fit(X, sample_weight=w)
    assert ours.n_iter_ == b[3]
    assert_array_equal(ours.cluster_centers_, b[2])
    ref = SklearnKMeans(24, init=init, n_init=1, tol=0.0, max_iter=300,
                        algorithm="lloyd").fit(X, sample_weight=w)
    assert_array_equal(ours.labels_, ref.labels_)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    assert ours.n_iter_ == ref.n_iter_


def test_hamerly_equals_lloyd_with_ties_and_duplicates(seed):
    # integer points on a small grid, each repeated, and centres among them: many rows lie
    # at exactly the same distance from two or more centres (ties go to the lower index)
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 12, size=(400, 2)).astype(float)
    X = np.repeat(grid, rng.integers(1, 6, len(grid)), axis=0)
    w = rng.integers(1, 4, len(X)).astype(float)
    init = np.array([[2.0, 2.0], [4.0, 2.0], [2.0, 4.0], [4.0, 4.0], [9.0, 9.0], [9.0, 9.0]])
    dist2 = ((X[:, None] - init[None]) ** 2).sum(-1)
    assert (dist2 == dist2.min(1, keepdims=True)).sum(1).max() > 1  # the ties are there
    for max_iter in (1, 2, 3, 300):
        a = lloyd(X, w, init, max_iter, 0.0)
        b = hamerly(X, w, init, max_iter, 0.0)
        assert_array_equal(a[0], b[0])
        assert_array_equal(a[2], b[2])
        assert a[1] == b[1] and a[3] == b[3]


def test_hamerly_equals_lloyd_and_sklearn_with_an_empty_cluster(seed):
    from sklearn.cluster import KMeans as SklearnKMeans

    X = uneven_blobs(8000, 12, seed)
    rng = np.random.default_rng(seed)
    init = X[rng.choice(len(X), 10, replace=False)]
    init[7] = init[3]  # a duplicate centre: no row is nearer to it than to centre 3
    a = lloyd(X, np.ones(len(X)), init, 300, 0.0)
    b = hamerly(X, np.ones(len(X)), init, 300, 0.0)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[2], b[2])
    assert a[3] == b[3]
    assert len(np.unique(b[0])) == 10  # the empty cluster got a row and kept it
    ref = SklearnKMeans(10, init=init, n_init=1, tol=0.0, max_iter=300,
                        algorithm="lloyd").fit(X)
    assert_array_equal(b[0], ref.labels_)
    assert_allclose(b[2], ref.cluster_centers_, rtol=1e-9)
    assert b[3] == ref.n_iter_


def test_a_row_without_a_label_gets_a_full_search_mid_run():
    # rows whose label is < 0 are searched over every centre even when the others have
    # bounds: the step's labels and sums equal the plain step's
    from geokmeans.core import _chunks
    from geokmeans.core._source import Chunk

    X = uneven_blobs(5000, 8, 3)
    centres = X[:9].copy()
    chunk = Chunk(X, np.ones(len(X)))
    state, _ = _chunks.iterate_hamerly(chunk, None, centres, None,
                                        _kernels.centre_neighbours(centres), False)
    moved = centres + 100.0
    state[0][::7] = -1
    shift = np.sqrt(((moved - centres) ** 2).sum(1)) * (1 + 1e-9)
    state, (sums, weights, _, _) = _chunks.iterate_hamerly(
        chunk, state, moved, shift, _kernels.centre_neighbours(moved), False)
    plain, (ref_sums, ref_weights, _, _) = _chunks.iterate_lloyd(chunk, None, moved, None, None,
                                                                 False)
    assert_array_equal(state[0], plain[0])
    assert_array_equal(sums, ref_sums)
    assert_array_equal(weights, ref_weights)


def _two_smallest_reference(values):
    """``_keep_two`` folded over ``values`` from its start in the kernel (centre 0)."""
    best, second, best_j = np.inf, np.inf, 0
    for j, v in enumerate(values):
        if v < best:
            best, second, best_j = v, best, j
        elif v < second:
            second = v
    return best_j, best, second


@pytest.mark.parametrize("values", [
    [3.0], [0.0, 0.0], [2.0, 1.0, 1.0, 5.0], [np.inf, 4.0], [np.inf], [7.0, 7.0, 7.0],
    [0.0, 5e-324, 1e308, np.inf], [1.0, 0.5, 0.25, 0.25, 0.5],
])
def test_two_smallest_by_bits_is_the_choice_of_keep_two(values):
    from geokmeans.core._kernels.hamerly import _NO_BITS, _two_smallest

    buf = np.array(values + [0.0])
    best_j, best_bits, second_bits = _two_smallest(buf.view(np.int64), len(values))
    ref_j, ref_best, ref_second = _two_smallest_reference(values)
    as_float = np.array([best_bits, second_bits]).view(np.float64)
    assert best_j == ref_j
    assert as_float[0] == ref_best
    assert (second_bits == _NO_BITS and ref_second == np.inf) or as_float[1] == ref_second


def test_two_smallest_on_random_distances(seed):
    from geokmeans.core._kernels.hamerly import _two_smallest

    rng = np.random.default_rng(seed)
    for _ in range(200):
        values = list(rng.integers(0, 6, rng.integers(1, 70)).astype(float) ** 2)
        buf = np.array(values + [0.0])
        best_j, best_bits, second_bits = _two_smallest(buf.view(np.int64), len(values))
        ref_j, ref_best, ref_second = _two_smallest_reference(values)
        assert best_j == ref_j
        assert np.array([best_bits]).view(np.float64)[0] == ref_best
        if ref_second < np.inf:
            assert np.array([second_bits]).view(np.float64)[0] == ref_second


def test_state_pass_reads_every_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3001, 2))
    labels = rng.integers(0, 9, 3001).astype(np.int32)
    lower = rng.uniform(0, 1, 3001).astype(np.float32)
    total = _kernels.state_pass(X, labels, lower, _kernels.chunk_starts(3001))
    expected = X.sum() + labels.sum() + lower.astype(float).sum()
    assert total == pytest.approx(expected, rel=1e-12)


# -- the serial copies that run a single chunk (a first run compiles no prange loop) ------


def _hamerly_inputs(n, k, d, seed):
    rng = np.random.default_rng(seed)
    X = np.ascontiguousarray(rng.normal(size=(n, d)) * 1e3 + 5e5)
    X[: n // 4] = X[n // 4: n // 2]  # duplicate rows: exact ties
    centres = X[rng.choice(n, k, replace=False)] + rng.normal(size=(k, d))
    return X, rng.uniform(0.5, 2.0, n), centres


@pytest.mark.parametrize("k", [1, 2, 6, 64, 65])
@pytest.mark.parametrize("d", [2, 3])
def test_single_chunk_copies_equal_the_parallel_kernels(k, d):
    """The serial copies give the parallel kernels' bits: labels, lower bounds, sums, inertia,
    over several iterations (the first full search, then bounded steps)."""
    from geokmeans.core._kernels import _common, hamerly

    X, w, centres = _hamerly_inputs(300, k, d, seed=k * d)
    starts = _kernels.chunk_starts(len(X))
    assert starts.shape[0] == 2  # one chunk
    states = {}
    for name in ("serial", "parallel"):
        labels = np.full(len(X), -1, dtype=np.int32)
        lower = np.zeros(len(X), dtype=_kernels.BOUND_DTYPE)
        c, shift, out = centres.copy(), np.zeros(k), []
        for _ in range(4):
            order, order_dist, half_gap = _kernels.centre_neighbours(c)
            part_sums, part_weights = np.empty((1, k, d)), np.empty((1, k))
            changed = np.empty(1, dtype=np.int64)
            args = (X, w, c, np.ascontiguousarray(c.T), shift, half_gap, order, order_dist,
                    starts, labels, lower, part_sums, part_weights, changed)
            if name == "serial":
                scratch = np.empty(k + 1)
                hamerly._hamerly_single_chunk(*args, scratch, scratch.view(np.int64))
                inertia = _common._single_chunk_inertia(X, w, c, labels, starts)
            else:
                hamerly._hamerly_step_parallel(*args)
                inertia = _common._weighted_inertia_parallel(X, w, c, labels, starts)
            out.append((labels.copy(), lower.copy(), part_sums.copy(),
                        part_weights.copy(), changed.copy(), inertia))
            new = part_sums[0] / np.maximum(part_weights[0], 1e-300)[:, None]
            new[part_weights[0] == 0] = c[part_weights[0] == 0]
            shift = np.sqrt(((new - c) ** 2).sum(axis=1)) * (1 + 1e-9)
            c = new
        states[name] = out
    for serial, parallel in zip(states["serial"], states["parallel"], strict=True):
        for a, b in zip(serial, parallel, strict=True):
            assert_array_equal(a, b)


def test_hamerly_step_runs_the_serial_copy_for_one_chunk_only(monkeypatch):
    from geokmeans.core._kernels import hamerly

    calls = []
    monkeypatch.setattr(hamerly, "_hamerly_single_chunk", lambda *a: calls.append("serial"))
    monkeypatch.setattr(hamerly, "_hamerly_step_parallel", lambda *a: calls.append("parallel"))
    centres = np.zeros((3, 2))
    for n in (_kernels.MIN_CHUNK_ROWS, _kernels.MIN_CHUNK_ROWS + 1):  # one chunk, then two
        hamerly.hamerly_step(None, None, centres, None, None, None, None, None,
                             _kernels.chunk_starts(n), None, None, None, None, None)
    assert calls == ["serial", "parallel"]


@pytest.mark.parametrize("k", [1, 2, 5, 64, 65, 200])
def test_centre_neighbours_sorted_distances_as_sqdist(k):
    """Distances with the bits of the kernels' ``_sqdist`` (a plain loop here), sorted,
    each row naming every other centre once; both the insertion sort (k <= SMALL_K) and
    numpy's argsort (beyond)."""
    rng = np.random.default_rng(k)
    centres = rng.normal(size=(k, 3)) * 1e5 + 6e6
    if k > 4:
        centres[3] = centres[1]  # a tie
    order, dist, half_gap = _kernels.centre_neighbours(centres)
    assert order.shape == dist.shape == (k, max(k - 1, 0)) and order.dtype == np.int64
    for j in range(k):
        assert sorted(order[j].tolist()) == [m for m in range(k) if m != j]
        for m in range(k - 1):
            total = 0.0
            for f in range(3):
                diff = centres[j, f] - centres[order[j, m], f]
                total += diff * diff
            assert dist[j, m] == np.sqrt(total)
        assert np.all(np.diff(dist[j]) >= 0)
    assert_array_equal(half_gap, 0.5 * dist[:, 0] if k > 1 else [np.inf])


def test_ordered_sum_adds_in_chunk_order():
    from geokmeans.core._kernels._common import ordered_sum

    rng = np.random.default_rng(0)
    values = rng.normal(size=1000) * 10.0 ** rng.integers(-8, 8, 1000)
    serial = 0.0
    for v in values.tolist():
        serial += v
    assert ordered_sum(values) == serial
    assert values.sum() != serial  # numpy's pairwise sum rounds differently: a real test
    for n_chunks in (1, 3, 8, 9, 250):  # the loop and the accumulate paths
        table = values[: n_chunks * 4].reshape(n_chunks, 4)
        expected = np.zeros(4)
        for row in table:
            expected = expected + row
        assert_array_equal(ordered_sum(table), expected)
        out = np.full(4, np.nan)
        assert ordered_sum(table, out=out) is out
        assert_array_equal(out, expected)
    assert ordered_sum(np.empty(0)) == 0.0
