"""choose_k and max_radius_m."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geokmeans as gk
from geokmeans import InputError
from geokmeans.selection import parse_k_range
from geokmeans.stats import geodesic_distances_m

DATA = Path(__file__).resolve().parents[1] / "data"


def blobs_lonlat(n_blobs, seed, per_blob=120, scale=0.01):
    rng = np.random.default_rng(seed)

    def random_centres():
        return np.column_stack([rng.uniform(-75.0, -73.0, n_blobs),
                                rng.uniform(40.0, 41.5, n_blobs)])

    def closest_pair_deg(centres):
        return (np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.eye(n_blobs)).min()

    centres = random_centres()
    while closest_pair_deg(centres) < 0.25:  # keep blobs well apart
        centres = random_centres()
    return np.concatenate([c + rng.normal(scale=scale, size=(per_blob, 2)) for c in centres])


@pytest.mark.parametrize("n_blobs", [3, 5, 7])
def test_recommends_the_true_number_of_clusters(seed, n_blobs):
    choice = gk.choose_k(blobs_lonlat(n_blobs, seed), range(2, 11), random_state=seed)
    assert choice.recommended_k == n_blobs
    assert list(choice.table.k) == list(range(2, 11))
    assert (np.diff(choice.table.inertia_m2) < 0).all()
    best = choice.table.set_index("k").calinski_harabasz.idxmax()
    assert best == n_blobs


def test_silhouette_is_sampled_for_large_inputs():
    lonlat = blobs_lonlat(3, 0, per_blob=2000)
    choice = gk.choose_k(lonlat, [2, 3, 4], random_state=0, silhouette_sample=1000)
    assert choice.silhouette_sample == 1000
    assert choice.recommended_k == 3


def test_plot_returns_figure_and_writes_png(tmp_path):
    choice = gk.choose_k(blobs_lonlat(3, 1), "2..5", random_state=0)
    fig = choice.plot(tmp_path / "elbow.png")
    assert (tmp_path / "elbow.png").read_bytes()[:4] == b"\x89PNG"
    assert len(fig.axes) == 2


@pytest.mark.parametrize("text, expected", [("2..5", [2, 3, 4, 5]), ("3,8,5", [3, 5, 8]),
                                            ("2-4", [2, 3, 4])])
def test_parse_k_range(text, expected):
    assert list(parse_k_range(text)) == expected


@pytest.mark.parametrize("text", ["5..2", "a..b", "0..3", ""])
def test_parse_k_range_errors(text):
    with pytest.raises(InputError, match="k_range=.* should be A..B"):
        parse_k_range(text)


def test_choose_k_larger_than_n():
    with pytest.raises(InputError, match="largest k=10"):
        gk.choose_k([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], range(2, 11))


@pytest.mark.parametrize("radius_m", [1_000.0, 4_000.0, 20_000.0])
def test_max_radius_holds_geodesically(radius_m):
    ais = pd.read_csv(DATA / "ny_harbor_ais.csv").iloc[::5]
    result = gk.cluster(ais, 2, max_radius_m=radius_m, random_state=0)
    pts = result.points
    cx = result.centroids.geometry.x.to_numpy()
    cy = result.centroids.geometry.y.to_numpy()
    d = geodesic_distances_m(pts.lon, pts.lat, cx[pts.cluster], cy[pts.cluster])
    assert d.max() <= radius_m
    assert result.model.n_clusters_ == len(result.centroids) >= 2
    assert (result.centroids.max_distance_m <= radius_m).all()
    assert (result.centroids.n_points > 0).all()


def test_max_radius_already_satisfied_keeps_k():
    result = gk.cluster(DATA / "dc_places.csv", 4, max_radius_m=1e6, random_state=0)
    assert result.model.n_clusters_ == 4


def test_max_radius_on_the_sphere():
    cities = pd.read_csv(DATA / "world_cities.csv").iloc[::10]
    result = gk.cluster(cities, 5, max_radius_m=2_000_000, random_state=0)
    assert result.model.crs_ == "sphere"
    assert (result.centroids.max_distance_m <= 2_000_000).all()


def test_bad_max_radius():
    with pytest.raises(InputError, match=r"max_radius_m=-5 should be None or a finite number of "
                                         r"metres >= 0.001"):
        gk.cluster(DATA / "dc_places.csv", 2, max_radius_m=-5)


# -- hostile input (the "Trust" issue) --------------------------------------------------

LONLAT = np.array([[-77.0, 38.9], [-77.01, 38.91], [-76.0, 39.5], [-76.01, 39.49]])


def test_a_huge_k_range_is_refused_without_building_it():
    import tracemalloc

    tracemalloc.start()
    try:
        for k_range in ("2..1000000000", range(2, 10**12)):
            with pytest.raises(InputError, match=r"n_samples=4 should be >= the largest "
                                                 r"k=(999999999999|1000000000) of k_range"):
                gk.choose_k(LONLAT, k_range)
        assert tracemalloc.get_traced_memory()[1] < 50_000_000
    finally:
        tracemalloc.stop()
    assert isinstance(parse_k_range("2..1000000000"), range)


@pytest.mark.parametrize("k_range, error, match", [
    (5, gk.DataTypeError, r"k_range=5 should be"),
    (["2", "3"], gk.DataTypeError, r"'2' is not an integer"),
    ([2, True], gk.DataTypeError, r"True is not an integer"),
    ([], InputError, r"k_range=\[\] should be A..B"),
    (range(0, 3), InputError, r"k_range=range\(0, 3\) should be A..B"),
    ("2..x", InputError, r"k_range='2..x' should be A..B"),
])
def test_bad_k_ranges(k_range, error, match):
    with pytest.raises(error, match=match):
        gk.choose_k(LONLAT, k_range)


def test_k_range_forms_agree():
    from geokmeans.selection import check_k_range

    assert list(check_k_range(range(4, 1, -1))) == [2, 3, 4]
    assert list(check_k_range(np.array([3, 2, 3]))) == [2, 3]
    assert list(check_k_range("3,2,3")) == [2, 3]


@pytest.mark.parametrize("kwargs, match", [
    (dict(silhouette_sample=1), r"silhouette_sample=1 should be an integer >= 2"),
    (dict(progress=5), r"progress=5 should be True, False or a callable"),
    (dict(random_state=-1), r"random_state=-1 should be None"),
    (dict(dropna="yes"), r"dropna='yes' should be True or False"),
    (dict(init=[[0.0, 0.0], [1.0, 1.0]]), r"should be 'k-means\+\+', 'bbox' or 'random' for "
                                          r"choose_k"),
    (dict(crs="EPSG:4326"), r"geographic"),
])
def test_bad_options_named_before_reading(kwargs, match, tmp_path):
    with pytest.raises(gk.GeoKMeansError, match=match):
        gk.choose_k(tmp_path / "not-there.csv", "2..3", **kwargs)


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    import sys

    choice = gk.choose_k(LONLAT, "1..2", random_state=0)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(gk.OptionalDependencyError, match=r'pip install "geokmeans\[plot\]"'):
        choice.plot()


def test_dask_collections_are_refused():
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(pd.DataFrame({"lon": LONLAT[:, 0], "lat": LONLAT[:, 1]}),
                           npartitions=2)
    with pytest.raises(InputError, match="choose_k fits every k in memory"):
        gk.choose_k(frame, "2..3")


# -- the sweep against separate fits and scikit-learn's scores ------------------------------

def separate_fits(data, ks, random_state, silhouette_sample=10_000, **options):
    """choose_k's table the plain way: a GeoKMeans fit per k (the projection and one
    Generator shared, drawn from in turn: the sample first, then each fit) scored by
    scikit-learn (silhouette from exactly computed distances of the sample rows)."""
    from scipy.spatial.distance import cdist
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    from geokmeans.core._estimator import make_rng
    from geokmeans.io import read_points
    from geokmeans.projection import choose_projection

    points = read_points(data, weight=options.pop("weight", None), keep_frame=False)
    params = gk.GeoKMeans(ks[0], random_state=random_state, **options)._validated()
    rng = make_rng(random_state)
    n = len(points.lon)
    sample = (np.sort(rng.choice(n, silhouette_sample, replace=False))
              if n > silhouette_sample else np.arange(n))
    params["crs"] = choose_projection(points.lon, points.lat, params["crs"])
    X = params["crs"].forward(points.lon, points.lat)
    distances = cdist(X[sample], X[sample])
    rows = []
    for k in ks:
        model = gk.GeoKMeans(k, init=params["init"], crs=params["crs"], random_state=rng)
        model._fit_read(points, {**params, "n_clusters": k, "random_state": rng})
        labels = model.labels_[points.valid]
        sil = ch = np.nan
        if 1 < np.unique(labels).size < n:
            ch = calinski_harabasz_score(X, labels)
            if 1 < np.unique(labels[sample]).size < sample.size:
                sil = silhouette_score(distances, labels[sample], metric="precomputed")
        rows.append((k, model.inertia_, sil, ch))
    return pd.DataFrame(rows, columns=["k", "inertia_m2", "silhouette", "calinski_harabasz"])


def assert_same_table(choice, expected):
    assert list(choice.table.columns) == list(expected.columns)
    np.testing.assert_array_equal(choice.table.k, expected.k)
    # the same fits, bit for bit: the sweep reuses only what does not depend on k
    np.testing.assert_array_equal(choice.table.inertia_m2, expected.inertia_m2)
    for column in ("silhouette", "calinski_harabasz"):
        np.testing.assert_allclose(choice.table[column], expected[column], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("init", ["k-means++", "bbox", "random"])
def test_the_sweep_equals_separate_fits_and_scikit_learn(seed, init):
    lonlat = blobs_lonlat(4, seed, per_blob=150)
    choice = gk.choose_k(lonlat, range(1, 9), random_state=seed, init=init,
                         silhouette_sample=400)
    expected = separate_fits(lonlat, range(1, 9), seed, silhouette_sample=400, init=init)
    assert_same_table(choice, expected)
    assert np.isnan(choice.table.silhouette[0]) and np.isnan(choice.table.calinski_harabasz[0])
    assert choice.silhouette_sample == 400
    best = expected.dropna().sort_values(["silhouette", "k"], ascending=[False, True]).k.iloc[0]
    assert choice.recommended_k == best


def test_weights_change_the_fits_not_the_scores():
    ais = pd.read_csv(DATA / "ny_harbor_ais.csv").iloc[::25].reset_index(drop=True)
    ais["w"] = np.random.default_rng(3).pareto(1.5, len(ais)) + 0.1
    choice = gk.choose_k(ais, "2..6", weight="w", random_state=1, silhouette_sample=700)
    expected = separate_fits(ais, range(2, 7), 1, silhouette_sample=700, weight="w")
    assert_same_table(choice, expected)  # scikit-learn's scores are unweighted
    unweighted = gk.choose_k(ais, "2..6", random_state=1, silhouette_sample=700)
    assert not np.array_equal(unweighted.table.inertia_m2, choice.table.inertia_m2)


def test_the_sweep_on_the_sphere_and_with_duplicates():
    cities = pd.read_csv(DATA / "world_cities.csv").iloc[::40].reset_index(drop=True)
    cities = pd.concat([cities, cities.iloc[:200]], ignore_index=True)  # duplicate points
    choice = gk.choose_k(cities, "2..7", random_state=0, silhouette_sample=500)
    assert choice.crs == "sphere"
    assert_same_table(choice, separate_fits(cities, range(2, 8), 0, silhouette_sample=500))


def test_as_many_clusters_as_points_has_no_scores():
    choice = gk.choose_k(LONLAT, "1..4", random_state=0)
    assert np.isnan(choice.table.silhouette[[0, 3]]).all()
    assert np.isnan(choice.table.calinski_harabasz[[0, 3]]).all()
    assert np.isfinite(choice.table.silhouette[[1, 2]]).all()
    assert choice.recommended_k == 2


def test_a_huge_silhouette_sample_scores_every_point():
    choice = gk.choose_k(LONLAT, "2..3", random_state=0, silhouette_sample=10**18)
    assert choice.silhouette_sample == len(LONLAT)


def test_progress_after_every_k_the_last_when_all_is_scored():
    calls = []
    gk.choose_k(blobs_lonlat(3, 0), "2..5", random_state=0, progress=lambda *a: calls.append(a))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize("spread_m", [2e3, 1e-2])  # 1e-2: the within sum computed directly
def test_calinski_harabasz_equals_scikit_learn(spread_m):
    from sklearn.metrics import calinski_harabasz_score

    from geokmeans.selection import _calinski_harabasz_of

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 500) * 2  # clusters 1, 3, ... are empty
    centres = rng.normal(size=(13, 3)) * 5e3 + [4.5e6, 6e5, -3e6]  # far from the origin
    X = centres[labels] + rng.normal(size=(500, 3)) * spread_m
    assert _calinski_harabasz_of(X)(labels) == pytest.approx(
        calinski_harabasz_score(X, labels), rel=1e-9)
    repeated = np.repeat(X[:3], 4, axis=0)  # every cluster one point repeated
    assert _calinski_harabasz_of(repeated)(np.repeat([0, 1, 2], 4)) == 1.0
    assert calinski_harabasz_score(repeated, np.repeat([0, 1, 2], 4)) == 1.0
    assert np.isnan(_calinski_harabasz_of(X)(np.zeros(500, dtype=np.int64)))
    assert np.isnan(_calinski_harabasz_of(X[:3])(np.arange(3)))


def test_skipped_rows_change_nothing_else():
    lonlat = blobs_lonlat(3, 2, per_blob=100)
    frame = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1]})
    holes = pd.DataFrame({"lon": [np.nan, -74.0], "lat": [40.5, np.nan]})
    with_holes = pd.concat([frame.iloc[:50], holes, frame.iloc[50:]], ignore_index=True)
    clean = gk.choose_k(frame, "2..5", random_state=4, silhouette_sample=200)
    skipped = gk.choose_k(with_holes, "2..5", random_state=4, silhouette_sample=200,
                          dropna=True)
    pd.testing.assert_frame_equal(skipped.table, clean.table)
