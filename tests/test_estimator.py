"""geokmeans.KMeans against hand-computed cases, scikit-learn and its estimator checks."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import check_estimator

from geokmeans import ConvergenceWarning, DataTypeError, InputError, KMeans

from .conftest import make_blobs

# The same expected failures, with the same reason, that scikit-learn declares for its
# own KMeans (sklearn/utils/_test_common/instance_generator.py).
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
}


@pytest.mark.filterwarnings(
    # expected: the estimators follow scikit-learn's API without importing its base class
    "ignore:Estimator KMeans does not inherit from `sklearn.base.BaseEstimator`:UserWarning"
)
def test_check_estimator():
    results = check_estimator(
        KMeans(n_clusters=2, n_init=2, max_iter=5),
        expected_failed_checks=EXPECTED_FAILED_CHECKS,
        on_fail=None,
    )
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) > 40


def test_hand_computed_toy_case():
    # Two obvious groups; centres are the means, inertia the sum of squared offsets.
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0], [13.0, 1.0]])
    km = KMeans(n_clusters=2, init=np.array([[0.0, 1.0], [11.0, 1.0]])).fit(X)
    assert_array_equal(km.labels_, [0, 0, 1, 1, 1])
    assert_allclose(km.cluster_centers_, [[0.0, 1.0], [11.0, 1.0]], rtol=0, atol=1e-12)
    # 1 + 1 for the first group; (1+1) + (1+1) + 4 for the second.
    assert km.inertia_ == pytest.approx(10.0, abs=1e-12)
    assert km.n_iter_ == 1


def test_hand_computed_weighted_toy_case():
    X = np.array([[0.0], [3.0], [100.0]])
    w = np.array([2.0, 1.0, 5.0])
    km = KMeans(n_clusters=2, init=np.array([[1.0], [90.0]])).fit(X, sample_weight=w)
    assert_array_equal(km.labels_, [0, 0, 1])
    # weighted mean of 0 (w=2) and 3 (w=1) is 1; inertia 2*1 + 1*4 = 6
    assert_allclose(km.cluster_centers_, [[1.0], [100.0]], atol=1e-12)
    assert km.inertia_ == pytest.approx(6.0, abs=1e-12)


@pytest.mark.parametrize("n_features", [1, 2, 3, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_sklearn_from_same_centres(seed, n_features, weighted):
    X, _ = make_blobs(2000, 6, n_features=n_features, spread=8.0, seed=seed)
    rng = np.random.default_rng(seed + 100)
    weights = rng.uniform(0.1, 5.0, size=len(X)) if weighted else None
    centres = X[rng.choice(len(X), 6, replace=False)]
    ours = KMeans(n_clusters=6, init=centres).fit(X, sample_weight=weights)
    ref = SklearnKMeans(n_clusters=6, init=centres, n_init=1, algorithm="lloyd").fit(
        X, sample_weight=weights
    )
    assert_array_equal(ours.labels_, ref.labels_)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert ours.n_iter_ == ref.n_iter_


def test_matches_sklearn_on_projected_metres(seed):
    # Coordinates of UTM size (hundreds of km): absolute values matter for precision.
    X, _ = make_blobs(3000, 8, spread=2_000.0, box=80_000.0, seed=seed)
    X += [500_000.0, 4_300_000.0]
    centres = X[:8].copy()
    ours = KMeans(8, init=centres).fit(X)
    ref = SklearnKMeans(8, init=centres, n_init=1, algorithm="lloyd").fit(X)
    assert_array_equal(ours.labels_, ref.labels_)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


@pytest.mark.parametrize("init", ["k-means++", "bbox", "random"])
def test_each_init_recovers_blobs(seed, init):
    X, truth = make_blobs(1500, 4, spread=1.0, box=40.0, seed=seed)
    km = KMeans(4, init=init, random_state=seed).fit(X)
    assert km.cluster_centers_.shape == (4, 2)
    assert len(np.unique(km.labels_)) == 4
    ref = SklearnKMeans(4, n_init=10, random_state=seed).fit(X)
    assert km.inertia_ <= ref.inertia_ * 1.05


def test_n_init_auto(monkeypatch):
    X, _ = make_blobs(300, 3, seed=0)
    seeds_drawn = []
    import geokmeans.core._estimator as est

    original = est.seed_centres

    def counting(*args, **kwargs):
        seeds_drawn.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(est, "seed_centres", counting)
    for init, expected in [("k-means++", 1), ("bbox", 10), ("random", 10), (X[:3], 1)]:
        seeds_drawn.clear()
        KMeans(3, init=init, random_state=0).fit(X)
        assert len(seeds_drawn) == expected, init


def test_best_of_n_init_is_kept():
    X, _ = make_blobs(500, 6, spread=3.0, seed=3)
    single = [KMeans(6, init="random", n_init=1, random_state=s).fit(X).inertia_ for s in range(5)]
    best = KMeans(6, init="random", n_init=10, random_state=0).fit(X).inertia_
    assert best <= np.median(single)


def test_explicit_centres_with_n_init_warns_and_runs_once():
    X, _ = make_blobs(100, 2, seed=0)
    with pytest.warns(RuntimeWarning, match="n_init=3 ignored"):
        KMeans(2, init=X[:2], n_init=3).fit(X)


def test_bbox_init_in_given_box():
    X, _ = make_blobs(400, 3, seed=0)
    box = np.array([[-5.0, -5.0], [5.0, 5.0]])
    km = KMeans(3, init="bbox", bbox=box, n_init=1, max_iter=1, random_state=0)
    from geokmeans.core._plans import seed_centres
    from geokmeans.core._source import ArraySource

    centres = seed_centres(ArraySource(X, np.ones(len(X))), "bbox", 50,
                           np.random.default_rng(0), bbox=box)
    assert (centres >= box[0]).all() and (centres <= box[1]).all()
    km.fit(X)
    assert km.cluster_centers_.shape == (3, 2)


def test_bbox_seeds_in_empty_space_still_give_k_clusters(seed):
    # Two tight groups far apart in a huge box: most bbox seeds land nowhere near data,
    # so empty clusters appear in the first iteration and must be relocated.
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(1000, 0.1, (50, 2))])
    box = [[-1e5, -1e5], [1e5, 1e5]]
    km = KMeans(5, init="bbox", bbox=box, n_init=1, random_state=seed).fit(X)
    assert km.cluster_centers_.shape == (5, 2)
    assert np.isfinite(km.cluster_centers_).all()
    assert len(np.unique(km.labels_)) == 5


def test_fewer_distinct_points_than_clusters_warns():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(2\).*n_clusters \(3\)"):
        km = KMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (3, 2)
    assert np.isfinite(km.cluster_centers_).all()


def test_predict_transform_score_consistent(blobs):
    X, _ = blobs
    km = KMeans(5, random_state=0).fit(X)
    assert_array_equal(km.predict(X), km.labels_)
    dist = km.transform(X)
    assert dist.shape == (len(X), 5)
    assert_array_equal(dist.argmin(axis=1), km.labels_)
    ref = np.sqrt(((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    assert_allclose(dist, ref, rtol=1e-12)
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-12)
    assert_array_equal(km.fit_predict(X), KMeans(5, random_state=0).fit(X).labels_)
    assert_allclose(km.fit_transform(X), dist)


def test_inputs_never_modified(blobs):
    X, _ = blobs
    w = np.linspace(1, 2, len(X))
    init = X[:5].copy()
    copies = X.copy(), w.copy(), init.copy()
    KMeans(5, init=init).fit(X, sample_weight=w)
    assert_array_equal(X, copies[0])
    assert_array_equal(w, copies[1])
    assert_array_equal(init, copies[2])


def test_same_seed_same_result(blobs):
    X, _ = blobs
    a = KMeans(5, random_state=7).fit(X)
    b = KMeans(5, random_state=7).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_labels_agree_with_sklearn_default_fit(blobs):
    X, truth = blobs
    km = KMeans(5, random_state=0).fit(X)
    assert adjusted_rand_score(truth, km.labels_) > 0.9


def test_verbose_logs_iterations(caplog):
    X, _ = make_blobs(100, 2, seed=0)
    with caplog.at_level("INFO", logger="geokmeans"):
        KMeans(2, random_state=0, verbose=1).fit(X)
    assert any("iteration 1, inertia" in r.getMessage() for r in caplog.records)


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]), r"row 1 is NaN"),
        (np.array([[0.0, 1.0], [1.0, 2.0], [np.inf, 4.0]]), r"row 2 is infinity"),
    ],
)
def test_non_finite_x_names_row(X, match):
    with pytest.raises(InputError, match=match):
        KMeans(2).fit(X)


def test_non_finite_in_predict_names_row():
    km = KMeans(1).fit([[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="row 0 is NaN"):
        km.predict([[np.nan, 0.0]])


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, np.nan, 1.0], r"sample_weight contains NaN or infinity: row 1 is NaN"),
        ([1.0, 1.0, -2.0], r"sample_weight must be >= 0: row 2 is -2.0"),
        ([0.0, 0.0, 0.0], r"zero for every sample"),
        ([1.0, 1.0], r"shape \(2,\); expected \(3,\)"),
        (["a", "b", "c"], r"sample_weight holds text"),
        ([True, False, True], r"sample_weight holds booleans"),
        ([1 + 1j, 1, 1], r"sample_weight holds complex numbers"),
    ],
)
def test_bad_weights(weights, match):
    X = np.array([[0.0], [1.0], [2.0]])
    with pytest.raises(InputError, match=match):
        KMeans(1).fit(X, sample_weight=weights)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_clusters=0), r"n_clusters=0 should be an integer >= 1"),
        (dict(n_clusters=4), r"n_samples=3 should be >= n_clusters=4"),
        (dict(n_clusters=2.5), r"n_clusters=2.5 should be an integer"),
        (dict(init="foo"), r"init='foo' should be 'k-means\+\+', 'bbox', 'random' or an array "
                           r"of centres"),
        (dict(n_clusters=2, init=[[0.0, 0.0]]), r"init array has shape \(1, 2\); expected"),
        (dict(n_clusters=1, init=[[np.nan, 0.0]]), r"init contains NaN"),
        (dict(n_init=0), r"n_init=0 should be 'auto' or an integer in \[1, 10000\]"),
        (dict(n_init="many"), r"n_init='many' should be 'auto' or an integer"),
        (dict(max_iter=0), r"max_iter=0 should be an integer >= 1"),
        (dict(tol=-1.0), r"tol=-1.0 should be a finite number >= 0"),
        (dict(algorithm="fast"), r"algorithm='fast' should be 'auto', 'lloyd' or 'hamerly'"),
        (dict(init="bbox", bbox=[[0, 0, 0], [1, 1, 1]]), r"bbox has shape \(2, 3\)"),
        (dict(init="bbox", bbox=[[1, 0], [0, 1]]), r"bbox minimum 1.0 > maximum 0.0"),
        (dict(random_state="abc"), r"random_state='abc' should be None, an integer in "
                                    r"\[0, 4294967295\], a numpy Generator or a numpy "
                                    r"RandomState"),
    ],
)
def test_bad_parameters(params, match):
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    params = {"n_clusters": 1, **params}
    with pytest.raises(InputError, match=match):
        KMeans(**params).fit(X)


def test_empty_and_non_numeric_x():
    with pytest.raises(ValueError, match="0 sample"):
        KMeans(1).fit(np.empty((0, 2)))
    with pytest.raises(DataTypeError, match="X must be numeric"):
        KMeans(1).fit(np.array([["a", "b"], ["c", "d"]], dtype=object))
    with pytest.raises(ValueError, match="could not convert|must be numeric"):
        KMeans(1).fit([["a", "b"], ["c", "d"]])


def test_random_state_generator_and_legacy_randomstate(blobs):
    X, _ = blobs
    a = KMeans(5, random_state=np.random.default_rng(3)).fit(X)
    b = KMeans(5, random_state=np.random.default_rng(3)).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    c = KMeans(5, random_state=np.random.RandomState(3)).fit(X)
    assert c.cluster_centers_.shape == (5, 2)


def test_no_warning_for_normal_fit(blobs):
    X, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(5, random_state=0).fit(X)


def test_restarts_are_reported_for_progress(caplog):
    X, _ = make_blobs(300, 3, seed=0)
    with caplog.at_level("DEBUG", logger="geokmeans"):
        KMeans(3, init="random", random_state=0).fit(X)
    progress = [r.progress for r in caplog.records if hasattr(r, "progress")]
    assert progress == [(i, 10) for i in range(1, 11)]


# -- hostile input (the "Trust" issue) --------------------------------------------------


@pytest.mark.parametrize("random_state", [-1, 2**32, True, 1.5, "0"])
def test_random_state_outside_numpys_rule_is_refused(random_state):
    X, _ = make_blobs(20, 2, seed=0)
    with pytest.raises(InputError, match=rf"random_state={random_state!r}|random_state=-1"):
        KMeans(2, random_state=random_state).fit(X)


def test_numpy_integers_are_integers():
    X, _ = make_blobs(60, 3, seed=0)
    a = KMeans(np.int64(3), random_state=np.uint32(5), n_init=np.int32(2)).fit(X)
    b = KMeans(3, random_state=5, n_init=2).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    with pytest.raises(DataTypeError, match=r"n_clusters=3.0 should be an integer >= 1"):
        KMeans(3.0).fit(X)


@pytest.mark.parametrize("X, match", [
    (np.array([[True, False], [False, True]]), "X holds booleans"),
    (np.array([[1 + 1j, 0], [0, 1]]), "Complex data not supported"),
    ([[True, False], [False, True]], "X holds booleans"),
])
def test_boolean_and_complex_x_refused(X, match):
    with pytest.raises(DataTypeError, match=match):
        KMeans(1).fit(X)


def test_boolean_frame_columns_refused():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [True, False]})
    with pytest.raises(DataTypeError, match="X holds booleans"):
        KMeans(1).fit(frame)


def test_coordinates_whose_squares_overflow_are_refused():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    with pytest.raises(InputError, match=r"X is too large for float64: feature 0 spans"):
        KMeans(2, random_state=0).fit(X * 1e200)
    km = KMeans(2, random_state=0).fit(X * 1e150)  # large but representable: exact
    assert np.isfinite(km.inertia_) and km.inertia_ == pytest.approx(1e300)
    with pytest.raises(InputError, match="too large"):
        km.predict(X * 1e200)


def test_weights_scaled_by_a_power_of_two_give_the_same_fit(blobs):
    X, _ = blobs
    w = np.random.default_rng(0).uniform(0.1, 3.0, len(X))
    reference = KMeans(5, random_state=0).fit(X, sample_weight=w)
    for factor in (2.0**-900, 2.0**900, 1e300, 1e-300):
        scaled = KMeans(5, random_state=0).fit(X, sample_weight=w * factor)
        assert_array_equal(scaled.labels_, reference.labels_)
        assert_allclose(scaled.cluster_centers_, reference.cluster_centers_, rtol=1e-12)
        assert scaled.inertia_ == pytest.approx(reference.inertia_ * factor, rel=1e-12)


def test_weights_near_the_float_limit_give_finite_centres():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    w = np.array([1e308, 1.0, 1.0, 1e308])
    km = KMeans(2, init=X[[0, 3]], random_state=0).fit(X, sample_weight=w)
    assert np.isfinite(km.cluster_centers_).all() and np.isfinite(km.inertia_)
    assert_allclose(sorted(km.cluster_centers_.tolist()), [[0.0, 0.0], [10.0, 1.0]], atol=1e-12)
    assert_array_equal(km.labels_, [0, 0, 1, 1])
    assert np.isfinite(km.score(X, sample_weight=w))
    # for init="random" the probabilities are computed from scaled weights, summing to 1
    KMeans(2, init="random", random_state=0).fit(X, sample_weight=[1e308, 1e308, 1, 1])


def test_inertia_that_overflows_is_refused():
    X = np.array([[0.0], [1e3], [5e3], [6e3]])
    with pytest.raises(InputError, match=r"the inertia overflows float64.*sample_weight"):
        KMeans(1).fit(X, sample_weight=[1e308, 1e308, 1.0, 1.0])


def test_n_init_and_k_beyond_what_the_data_can_use_are_refused():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(InputError, match=r"n_init=100000000 should be 'auto' or an integer in "
                                         r"\[1, 10000\]"):
        KMeans(2, init="bbox", n_init=100_000_000).fit(X)
    # refused before anything of size k is allocated
    with pytest.raises(InputError, match=r"n_samples=3 should be >= n_clusters=1000000000000"):
        KMeans(10**12).fit(X)


def test_parameters_checked_before_the_data():
    with pytest.raises(InputError, match="max_iter=0"):
        KMeans(1, max_iter=0).fit([[np.nan, 0.0]])


def test_too_few_positive_weights_are_named_in_the_warning():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    with pytest.warns(ConvergenceWarning, match=r"Only 1 sample has a positive sample_weight"):
        KMeans(2, random_state=0).fit(X, sample_weight=[1.0, 0.0, 0.0, 0.0])


def test_sphere_radius_whose_squares_overflow_is_refused():
    X, _ = make_blobs(50, 2, seed=0)
    with pytest.raises(InputError, match=r"sphere_radius=1e\+308 is too large for float64"):
        KMeans(2, sphere_radius=1e308).fit(X)
