"""Size-limited clusters: the assignment against exact solvers, its optimality
certificate, the alternation's invariants, and the parameters' edges."""

import re
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import lil_matrix

import geokmeans as gk
from geokmeans import KMeans
from geokmeans.core import _balance, _rounding
from geokmeans.core._balance import balanced_assign
from geokmeans.errors import DataTypeError, GeoKMeansWarning, InputError

from .conftest import make_blobs


def squared(X, centres):
    return ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def exact_by_count(X, w, centres, lower, upper):
    """The optimal cost by count: an assignment over replicated slots, the first
    ``lower`` slots of each cluster made so cheap that they are always filled."""
    cost = squared(X, centres) * w[:, None]
    forced = 1e6 * (1.0 + cost.max())
    columns, slots = [], []
    for j in range(len(centres)):
        for s in range(int(upper[j])):
            columns.append(cost[:, j] - (forced if s < lower[j] else 0.0))
            slots.append(j)
    rows, chosen = linear_sum_assignment(np.stack(columns, axis=1))
    labels = np.array(slots)[chosen]
    return float(cost[rows, labels].sum())


def relaxed_by_weight(X, w, centres, lower, upper):
    """The linear relaxation by weight (rows may split), solved by HiGHS."""
    n, k = len(X), len(centres)
    equal, bounds = lil_matrix((n, n * k)), lil_matrix((2 * k, n * k))
    for i in range(n):
        for j in range(k):
            equal[i, i * k + j] = 1
            bounds[j, i * k + j] = 1
            bounds[k + j, i * k + j] = -1
    res = linprog(squared(X, centres).ravel(), A_ub=bounds.tocsr(),
                  b_ub=np.concatenate([upper, -lower]), A_eq=equal.tocsr(), b_eq=w,
                  bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


def assert_certificate(X, factor, centres, labels, sizes, lower, upper, prices, tol=1e-9):
    """Optimality by LP duality: every row at a cluster of least ``factor * d² +
    price``, and a threshold with every dearer cluster full and every cheaper one at
    its minimum."""
    reduced = factor[:, None] * squared(X, centres) + prices[None, :]
    scale = 1.0 + np.abs(reduced).max()
    assert (reduced[np.arange(len(X)), labels] <= reduced.min(axis=1) + tol * scale).all()
    room = sizes < upper - 0.5 * (sizes > -1)  # a cluster that could take more
    give = sizes > lower + 0.5 * (sizes > -1)  # one that could give
    if room.any() and give.any():
        assert prices[room].max() <= prices[give].min() + tol * scale


def random_instance(rng, n_max=120, k_max=7):
    n, k = int(rng.integers(1, n_max)), int(rng.integers(1, k_max))
    kind = rng.integers(3)
    if kind == 0:  # a small grid: many exact ties and duplicate rows
        X = rng.integers(0, 5, (n, 2)).astype(float)
    elif kind == 1:
        X = rng.normal(size=(n, 2))
    else:
        X = np.repeat(rng.normal(size=(max(1, n // 4), 3)), 4, axis=0)[:n]
        n = len(X)
    w = rng.uniform(0, 2, n)
    w[rng.uniform(size=n) < 0.2] = 0.0
    if rng.uniform() < 0.3:
        w = np.ones(n)
    centres = X[rng.integers(0, n, k)] + rng.normal(0, 0.3, (k, X.shape[1]))
    return X, w, centres


@pytest.mark.parametrize("seed", range(6))
def test_assignment_by_count_is_optimal(seed):
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 40:
        X, w, centres = random_instance(rng)
        n, k = len(X), len(centres)
        lower = rng.integers(0, n // k + 1, k).astype(float)
        upper = lower + rng.integers(0, n + 1, k)
        if lower.sum() > n or upper.sum() < n:
            continue
        checked += 1
        outcome = balanced_assign(X, w, centres, lower, upper)
        sizes = np.bincount(outcome.labels, minlength=k)
        assert (sizes >= lower).all() and (sizes <= upper).all()
        cost = float((w * squared(X, centres)[np.arange(n), outcome.labels]).sum())
        best = exact_by_count(X, w, centres, lower, upper)
        assert cost <= best + 1e-9 * max(1.0, abs(best))
        assert_certificate(X, w, centres, outcome.labels, sizes, lower, upper, outcome.prices)


@pytest.mark.parametrize("seed", range(4))
def test_assignment_by_weight_solves_the_relaxation(seed):
    rng = np.random.default_rng(100 + seed)
    checked = 0
    while checked < 30:
        X, w, centres = random_instance(rng, n_max=70, k_max=6)
        k, total = len(centres), w.sum()
        lower = rng.uniform(0, total / k, k) * (rng.uniform() < 0.7)
        upper = lower + rng.uniform(0, total, k)
        if lower.sum() > total or upper.sum() < total or total == 0:
            continue
        checked += 1
        outcome = balanced_assign(X, w, centres, lower, upper, by_weight=True)
        best = relaxed_by_weight(X, w, centres, lower, upper)
        assert outcome.relaxed_cost == pytest.approx(best, rel=1e-7, abs=1e-9)
        sums = np.bincount(outcome.labels, weights=w, minlength=k)
        # the rounding's bound: each sum within its limits widened by less than the
        # heaviest split row (nothing outside when nothing was split)
        heaviest = w[outcome.split_rows].max() if outcome.split_rows.size else 0.0
        outside = np.maximum(sums - upper, 0) + np.maximum(lower - sums, 0)
        assert (outside < heaviest + 1e-9 * total).all()
        assert (outside <= 1e-9 * total).all() or outcome.split_rows.size
        # rows neither split nor moved by the repair stay at their least reduced cost
        unsplit = np.setdiff1d(np.arange(len(X)),
                               np.union1d(outcome.split_rows, outcome.moved_rows))
        reduced = squared(X, centres) + outcome.prices[None, :]
        assert (reduced[unsplit, outcome.labels[unsplit]]
                <= reduced[unsplit].min(axis=1) + 1e-9 * (1 + np.abs(reduced).max())).all()


def test_large_assignment_carries_its_certificate():
    # above the sampling threshold the prices start from a sample's: the result is still
    # exact, which the duality certificate proves without an exact solver at this size
    X, _ = make_blobs(30_000, 12, spread=3.0, seed=4)
    rng = np.random.default_rng(4)
    centres = X[rng.choice(len(X), 9, replace=False)]
    lower, upper = np.full(9, 3200.0), np.full(9, 3500.0)
    outcome = balanced_assign(X, np.ones(len(X)), centres, lower, upper)
    sizes = np.bincount(outcome.labels, minlength=9)
    assert (sizes >= 3200).all() and (sizes <= 3500).all()
    assert_certificate(X, np.ones(len(X)), centres, outcome.labels, sizes, lower, upper,
                       outcome.prices)
    assert len(X) > _balance.SAMPLE_ROWS


def test_warm_start_gives_the_same_optimum():
    X, _ = make_blobs(3000, 5, seed=1)
    centres = X[:6].copy()
    lower, upper = np.full(6, 480.0), np.full(6, 520.0)
    cold = balanced_assign(X, np.ones(3000), centres, lower, upper)
    warm = balanced_assign(X, np.ones(3000), centres, lower, upper, potentials=cold.potentials,
                           list_length=cold.list_length)
    cost = [float(squared(X, centres)[np.arange(3000), o.labels].sum()) for o in (cold, warm)]
    assert cost[0] == pytest.approx(cost[1], rel=1e-12)
    assert cold.steps > 50 and warm.steps <= 2  # at most ties left to settle


def test_equal_limits_split_duplicates_exactly():
    # every row at one place: any split is optimal, the sizes must still be exact
    X = np.zeros((10, 2))
    outcome = balanced_assign(X, np.ones(10), np.array([[0.0, 0], [0, 0], [1, 1]]),
                              [2, 3, 5], [2, 3, 5])
    assert_array_equal(np.bincount(outcome.labels, minlength=3), [2, 3, 5])


# -- the alternation ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_alternation_never_raises_the_inertia(seed):
    X, _ = make_blobs(800, 6, spread=2.0, seed=seed)
    w = np.random.default_rng(seed).uniform(0.2, 3, len(X))
    trace = []
    km = KMeans(5, random_state=seed, size_min=150, size_max=170, tol=0.0, max_iter=100)
    from geokmeans.core import _constrained

    original = _constrained.balanced_lloyd

    def traced(*args, **kwargs):
        kwargs["callback"] = lambda it, inertia: trace.append(inertia)
        return original(*args, **kwargs)

    _constrained.balanced_lloyd = traced
    try:
        km.fit(X, sample_weight=w)
    finally:
        _constrained.balanced_lloyd = original
    assert len(trace) >= 2
    assert all(b <= a * (1 + 1e-12) for a, b in zip(trace, trace[1:], strict=False))
    sizes = np.bincount(km.labels_, minlength=5)
    assert (sizes >= 150).all() and (sizes <= 170).all()


def test_fit_is_a_fixed_point_of_its_own_assignment():
    # the labels belong to the returned centres: assigning again changes nothing, and
    # each centre is its cluster's weighted mean
    X, _ = make_blobs(2000, 4, seed=7)
    km = KMeans(4, random_state=0, size_min=480, size_max=520).fit(X)
    again = balanced_assign(X, np.ones(2000), km.cluster_centers_, np.full(4, 480.0),
                            np.full(4, 520.0))
    cost = float(squared(X, km.cluster_centers_)[np.arange(2000), again.labels].sum())
    assert cost == pytest.approx(km.inertia_, rel=1e-9)
    for j in range(4):
        assert_allclose(km.cluster_centers_[j], X[km.labels_ == j].mean(axis=0), rtol=1e-9)


@pytest.mark.parametrize("init", ["k-means++", "random", "bbox"])
def test_every_seeding_and_n_init_keep_the_limits(init):
    X, _ = make_blobs(1500, 3, seed=2)
    km = KMeans(6, init=init, n_init=3, random_state=1, size_min=240, size_max=260).fit(X)
    sizes = np.bincount(km.labels_, minlength=6)
    assert (sizes >= 240).all() and (sizes <= 260).all()
    assert km.size_prices_.shape == (6,)


def test_balanced_beats_unconstrained_sizes_at_a_modest_cost():
    X, _ = make_blobs(3000, 3, spread=1.0, seed=3)
    free = KMeans(6, random_state=0).fit(X)
    capped = KMeans(6, random_state=0, size_min=490, size_max=510).fit(X)
    assert np.bincount(free.labels_).max() > 510  # the data are uneven
    assert capped.inertia_ >= free.inertia_ * (1 - 1e-9)


def test_per_cluster_limits_follow_the_explicit_centres():
    X, _ = make_blobs(1200, 3, seed=5)
    init = X[[0, 400, 800]]
    km = KMeans(3, init=init, size_min=[100, 300, 500], size_max=[150, 350, 700]).fit(X)
    sizes = np.bincount(km.labels_, minlength=3)
    assert 100 <= sizes[0] <= 150 and 300 <= sizes[1] <= 350 and 500 <= sizes[2] <= 700


def test_by_weight_keeps_sums_within_one_row():
    X, _ = make_blobs(2000, 5, seed=6)
    w = np.random.default_rng(6).gamma(2.0, 5.0, 2000)
    total = w.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoKMeansWarning)
        km = KMeans(5, random_state=0, size_by="weight", size_min=0.19 * total,
                    size_max=0.21 * total).fit(X, sample_weight=w)
    sums = np.bincount(km.labels_, weights=w, minlength=5)
    assert (sums <= 0.21 * total + w.max()).all() and (sums >= 0.19 * total - w.max()).all()


def test_fixed_centres_never_move():
    X, _ = make_blobs(1000, 4, seed=8)
    init = X[[0, 1, 2, 3]].copy()
    fixed = np.array([True, False, True, False])
    for limits in ({}, {"size_min": 200, "size_max": 300}):
        km = KMeans(4, init=init, fixed_centers=fixed, **limits).fit(X)
        assert_array_equal(km.cluster_centers_[fixed], init[fixed])
        assert not np.allclose(km.cluster_centers_[~fixed], init[~fixed])


def test_fixed_empty_cluster_is_not_relocated():
    X = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    init = np.array([[100.0, 100], [0.5, 0.5]])
    with pytest.warns(gk.ConvergenceWarning, match="distinct clusters"):
        km = KMeans(2, init=init, fixed_centers=np.array([True, False])).fit(X)
    assert_array_equal(km.cluster_centers_[0], [100, 100])
    assert (km.labels_ == 1).all()


def test_predict_stays_nearest_centre():
    X, _ = make_blobs(600, 2, seed=9)
    km = KMeans(3, random_state=0, size_min=200, size_max=200).fit(X)
    nearest = squared(X, km.cluster_centers_).argmin(axis=1)
    assert_array_equal(km.predict(X), nearest)


def test_geokmeans_balances_in_metres_and_reports_limits():
    rng = np.random.default_rng(0)
    lon = np.concatenate([rng.normal(-77.0, 0.05, 700), rng.normal(-76.5, 0.05, 300)])
    lat = np.concatenate([rng.normal(38.9, 0.05, 700), rng.normal(39.2, 0.05, 300)])
    model = gk.GeoKMeans(4, random_state=0, size_min=240, size_max=260).fit(
        np.column_stack([lon, lat]))
    table = model.centroids_
    assert (table.n_points.between(240, 260)).all()
    assert (table.size_min == 240).all() and (table.size_max == 260).all()
    assert model.size_prices_.shape == (4,)


def test_geokmeans_sphere_mode_with_limits():
    rng = np.random.default_rng(1)
    lon = np.concatenate([rng.uniform(170, 180, 300), rng.uniform(-180, -170, 200)])
    lat = rng.uniform(-50, 50, 500)
    model = gk.GeoKMeans(5, random_state=0, crs="sphere", size_min=100, size_max=100).fit(
        np.column_stack([lon, lat]))
    assert (np.bincount(model.labels_) == 100).all()


# -- hostile parameters ---------------------------------------------------------------------


@pytest.mark.parametrize("options, error, text", [
    ({"size_min": -1}, InputError, "size_min=-1"),
    ({"size_min": float("nan")}, InputError, "size_min=nan"),
    ({"size_max": float("inf")}, InputError, "size_max=inf"),
    ({"size_min": "3"}, DataTypeError, "size_min='3'"),
    ({"size_min": True}, DataTypeError, "size_min=True"),
    ({"size_min": 30, "size_max": 20}, InputError, "size_min=30 > size_max=20"),
    ({"size_min": 2.5}, InputError, "whole numbers"),
    ({"size_min": 1000}, InputError, "cannot be met"),
    ({"size_max": 10}, InputError, "cannot be met"),
    ({"size_min": [1, 2, 3]}, InputError, "explicit initial centres"),
    ({"size_by": "pop", "size_max": 50}, InputError, "size_by='pop'"),
    ({"size_by": "weight", "size_max": 50}, InputError, "needs sample weights"),
    ({"fixed_centers": [True, False, True]}, InputError, "explicit initial centres"),
    ({"size_min": np.bool_(True)}, DataTypeError, "size_min holds booleans"),
    ({"size_min": Decimal("10")}, DataTypeError, "size_min=Decimal('10')"),
])
def test_bad_limits_are_refused_before_any_work(options, error, text):
    X, _ = make_blobs(100, 3, seed=0)
    with pytest.raises(error, match=re.escape(text)):
        KMeans(3, random_state=0, **options).fit(X)


@pytest.mark.parametrize("options, text", [
    ({"size_min": [1, 2]}, r"shape \(2,\)"),
    ({"size_min": [1, -2, 3]}, "should be >= 0"),
    ({"size_max": [10, np.nan, 100]}, "nan"),
    ({"fixed_centers": [1, 0, 1]}, "booleans"),
    ({"fixed_centers": np.array([True, False])}, r"shape \(2,\)"),
    ({"size_min": [1, None, 3]}, "size_min holds None"),
])
def test_bad_per_cluster_arrays(options, text):
    X, _ = make_blobs(100, 3, seed=0)
    with pytest.raises(InputError, match=text):
        KMeans(3, init=X[:3], **options).fit(X)


def test_huge_or_one_sided_limits():
    # a finite maximum so large its sum overflows is no maximum, without a numpy warning;
    # the centroid table shows the limits as given: no maximum is NaN, not the total
    X, _ = make_blobs(120, 3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = KMeans(3, size_max=1e308, random_state=0).fit(X)
        plain = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(model.labels_, plain.labels_)
    lonlat = np.column_stack([np.linspace(-77, -76, 60), np.linspace(38, 39, 60)])
    result = gk.cluster(lonlat, 3, size_min=15, random_state=0)
    assert result.centroids.size_min.tolist() == [15, 15, 15]
    assert result.centroids.size_max.isna().all()


def test_limits_with_radius_or_dask_are_refused():
    lonlat = np.column_stack([np.linspace(-77, -76, 50), np.linspace(38, 39, 50)])
    with pytest.raises(InputError, match="max_radius_m cannot be combined"):
        gk.GeoKMeans(2, size_max=30, max_radius_m=1000).fit(lonlat)
    with pytest.raises(InputError, match="max_radius_m cannot be combined with fixed_centers"):
        gk.GeoKMeans(2, init=lonlat[:2], fixed_centers=[True, False],
                     max_radius_m=1000).fit(lonlat)
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1]}),
                           npartitions=2)
    with pytest.raises(InputError, match="not available for dask inputs"):
        gk.GeoKMeans(2, size_max=30).fit(frame)


def test_map_legend_shows_sizes_against_limits():
    result = gk.cluster(Path(__file__).resolve().parents[1] / "data" / "dc_places.csv", 5,
                        size_min=38, size_max=42, random_state=0)
    page = result.explore(tiles=None).get_root().render()
    for row in result.centroids.itertuples():
        assert f'"{row.cluster}: {row.n_points} (38..42)"' in page
    plain = gk.cluster(Path(__file__).resolve().parents[1] / "data" / "dc_places.csv", 3,
                       random_state=0)
    assert "limits" not in plain.explore(tiles=None).get_root().render()


# -- rounding the rows split by weight limits ------------------------------------------------


def test_cycle_cancelling_keeps_sums_and_cost_and_leaves_a_forest():
    # three rows split around a cycle of three clusters, and a fourth row split between
    # two of them (a second cycle): pushing weight around keeps every cluster's sum, never
    # raises the cost, and ends with as many split rows as a forest allows
    rng = np.random.default_rng(3)
    X, centres = rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    weight = np.array([2.0, 3.0, 1.5, 2.5])
    rows = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    clusters = np.array([0, 1, 1, 2, 2, 0, 0, 1])
    amounts = np.array([1.2, 0.8, 1.0, 2.0, 0.5, 1.0, 1.5, 1.0])
    split = _rounding._Split(X, centres, weight, rows, clusters, amounts)

    def state():
        sums, cost = np.zeros(3), 0.0
        for row, part in split.parts.items():
            for cluster, amount in part.items():
                sums[cluster] += amount
                cost += amount * split.d2(row, cluster)
        for row, cluster in split.whole.items():
            sums[cluster] += weight[row]
            cost += weight[row] * split.d2(row, cluster)
        return sums, cost

    sums, cost = state()
    assert split._find_cycle() is not None
    split.cancel_cycles()
    after_sums, after_cost = state()
    assert_allclose(after_sums, sums, rtol=1e-12)
    assert after_cost <= cost + 1e-12
    edges = sum(len(part) for part in split.parts.values())
    nodes = len(split.parts) + len({c for part in split.parts.values() for c in part})
    assert edges <= nodes - 1  # a forest (one tree at most: no cycle)
    assert split._find_cycle() is None


@pytest.mark.parametrize("seed", range(3))
def test_forest_rounding_moves_each_sum_by_less_than_its_heaviest_row(seed):
    # random forests of split rows: whatever the limits, the top-down rounding changes
    # every cluster's sum by less than the heaviest split row touching it
    rng = np.random.default_rng(seed)
    for _ in range(200):
        k = int(rng.integers(2, 9))
        n = int(rng.integers(1, 3 * k))
        X, centres = rng.normal(size=(n, 2)), rng.normal(size=(k, 2))
        weight = rng.pareto(1.2, n) + 0.01
        rows, clusters, amounts = [], [], []
        joined = [int(rng.integers(k))]
        for row in range(n):  # each row joins a cluster of the tree to new ones (forest)
            fresh = [c for c in range(k) if c not in joined]
            if not fresh:
                break
            here = int(rng.choice(joined))
            others = list(rng.choice(fresh, size=min(len(fresh), int(rng.integers(1, 3))),
                                     replace=False))
            joined += [int(c) for c in others]
            shares = rng.dirichlet(np.ones(1 + len(others)))
            for cluster, share in zip([here, *others], shares, strict=True):
                rows.append(row)
                clusters.append(int(cluster))
                amounts.append(share * weight[row])
        rows, clusters, amounts = np.array(rows), np.array(clusters), np.array(amounts)
        split = _rounding._Split(X, centres, weight, rows, clusters, amounts)
        relaxed = np.bincount(clusters, weights=amounts, minlength=k)
        lower = relaxed * rng.uniform(0.9, 1.0, k)
        upper = relaxed * rng.uniform(1.0, 1.1, k)
        placed = _rounding._Rounder(split, relaxed.copy(), lower, upper).run()
        assert set(placed) == set(split.parts)
        rounded = np.zeros(k)
        for row, cluster in placed.items():
            rounded[cluster] += weight[row]
        rounded += relaxed - np.bincount(clusters, weights=amounts, minlength=k)
        heaviest = np.zeros(k)
        for row, cluster in zip(rows, clusters, strict=True):
            heaviest[cluster] = max(heaviest[cluster], weight[row])
        assert (np.abs(rounded - relaxed) < heaviest + 1e-12).all()


def test_coarse_start_keeps_the_limits_and_ends_at_a_fixed_point(monkeypatch):
    # above COARSE_ROWS the fit first converges on a sample; the whole data's answer must
    # still meet the limits exactly and be optimal for the returned centres
    from geokmeans.core import _constrained

    monkeypatch.setattr(_constrained, "COARSE_ROWS", 1000)
    calls = []
    original = _constrained._coarse_start
    monkeypatch.setattr(_constrained, "_coarse_start",
                        lambda *a: calls.append(len(a[0])) or original(*a))
    X, _ = make_blobs(4000, 5, spread=2.0, seed=9)
    km = KMeans(6, random_state=0, size_min=640, size_max=700).fit(X)
    assert calls == [4000]
    sizes = np.bincount(km.labels_, minlength=6)
    assert (sizes >= 640).all() and (sizes <= 700).all()
    again = balanced_assign(X, np.ones(4000), km.cluster_centers_, np.full(6, 640.0),
                            np.full(6, 700.0))
    cost = float(squared(X, km.cluster_centers_)[np.arange(4000), again.labels].sum())
    assert cost == pytest.approx(km.inertia_, rel=1e-9)
    assert_certificate(X, np.ones(4000), km.cluster_centers_, km.labels_, sizes,
                       np.full(6, 640.0), np.full(6, 700.0), km.size_prices_)


def test_coarse_start_by_weight_keeps_sums_within_one_row(monkeypatch):
    from geokmeans.core import _constrained

    monkeypatch.setattr(_constrained, "COARSE_ROWS", 1000)
    X, _ = make_blobs(3000, 4, spread=2.0, seed=10)
    w = np.random.default_rng(10).uniform(0, 2, len(X))
    w[::7] = 0.0  # zero weights in the sample of every 8th row too
    target = w.sum() / 5
    km = KMeans(5, random_state=1, size_by="weight", size_min=0.97 * target,
                size_max=1.03 * target).fit(X, sample_weight=w)
    sums = np.bincount(km.labels_, weights=w, minlength=5)
    assert (sums > 0.97 * target - w.max()).all() and (sums < 1.03 * target + w.max()).all()
