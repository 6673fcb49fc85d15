"""Silhouettes of the numeric core against scikit-learn's, on exact and awkward cases."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import silhouette_samples as sk_samples
from sklearn.metrics import silhouette_score as sk_score

from geokmeans.core._silhouette import _passes, silhouette_samples, silhouette_sweep

RTOL, ATOL = 1e-9, 1e-12


def reference(X, labels):
    """scikit-learn's silhouettes from exactly computed distances (its own Euclidean
    distances use |x|² - 2x·y + |y|², whose rounding is not what is tested here)."""
    return sk_samples(cdist(X, X), labels, metric="precomputed")


def awkward_rows(seed, n=240, d=2):
    """Integer coordinates (many equal distances: ties), a few duplicated rows, far
    from the origin like projected metres."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 12, size=(n, d)).astype(np.float64) * 250.0 + 4.5e6
    X[1::17] = X[0]
    return X


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_equals_scikit_learn_with_ties_singletons_and_duplicates(seed, d):
    X = awkward_rows(seed, d=d)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 6, len(X)) * 3 + 7  # values need not be 0..k-1
    labels[[5, 9]] = [100, 101]  # two clusters of one member
    ours = silhouette_samples(X, labels)
    expected = reference(X, labels)
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=ATOL)
    assert ours[5] == ours[9] == 0.0
    assert np.mean(ours) == pytest.approx(sk_score(cdist(X, X), labels, metric="precomputed"),
                                          rel=RTOL)


def test_equals_scikit_learn_euclidean_near_the_origin(seed):
    # near the origin scikit-learn's own distances are exact enough to compare with
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 1.0, (150, 2)) for c in [(0, 0), (6, 1), (2, 7)]])
    labels = np.repeat([0, 1, 2], 150)
    labels[::31] = 1
    np.testing.assert_allclose(silhouette_samples(X, labels), sk_samples(X, labels),
                               rtol=RTOL, atol=ATOL)


def test_all_duplicates_and_two_members():
    X = np.array([[3.0, 4.0]] * 4 + [[3.0, 5.0]] * 2)
    labels = np.array([0, 0, 1, 1, 2, 2])
    # a = b = 0 for the first four rows (0/0 is 0, as in scikit-learn)
    np.testing.assert_allclose(silhouette_samples(X, labels), reference(X, labels), atol=ATOL)
    np.testing.assert_array_equal(silhouette_samples(X, labels), [0, 0, 0, 0, 1, 1])


def test_one_cluster_gives_nan_and_a_lone_point_zero():
    X = np.arange(8.0).reshape(4, 2)
    assert np.isnan(silhouette_samples(X, [0, 0, 0, 0])).all()
    np.testing.assert_array_equal(silhouette_samples(X[:2], [0, 1]), [0.0, 0.0])


def labellings(X, seed):
    """Nested partitions (cuts of one axis), unrelated random ones and one of nearly
    all singletons: the sweep groups some and not others."""
    rng = np.random.default_rng(seed)
    cuts = [np.searchsorted(np.quantile(X[:, 0], np.linspace(0, 1, k + 1)[1:-1]), X[:, 0])
            for k in (2, 3, 4, 6)]
    randoms = [rng.integers(0, k, len(X)) for k in (50, 2)]
    almost_singletons = np.arange(len(X))
    almost_singletons[-1] = 0
    return np.array(cuts + randoms + [almost_singletons] + cuts[:1])


def test_a_sweep_equals_one_labelling_at_a_time(seed):
    X = awkward_rows(seed, n=300)
    sets = labellings(X, seed)
    swept = silhouette_sweep(X, sets)
    for labels, row in zip(sets, swept, strict=True):
        np.testing.assert_allclose(row, reference(X, labels), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(row, silhouette_samples(X, labels), rtol=1e-12, atol=ATOL)


def test_passes_share_nested_labellings_not_unrelated_ones():
    X = awkward_rows(0, n=2000)
    sets = labellings(X, 0)
    codes = [np.unique(s, return_inverse=True)[1].ravel() for s in sets]
    passes = _passes(codes, len(X))
    assert sorted(t for p in passes for t in p) == list(range(len(sets)))
    assert passes[0] == [0, 1, 2, 3]  # the cuts: a few cells for four labellings
    assert passes[1][0] == 4  # 50 random clusters, hundreds of cells with the cuts: apart
    assert [6] in passes  # 1,999 clusters: a pass of its own


def test_identical_with_one_and_two_threads():
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only")
    X = awkward_rows(1, n=3000)
    sets = labellings(X, 1)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = silhouette_sweep(X, sets)
        numba.set_num_threads(2)
        two = silhouette_sweep(X, sets)
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == two.tobytes()
