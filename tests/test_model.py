"""GeoKMeans and cluster(): correctness on the Earth, seeding, results."""

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import geokmeans as gk
from geokmeans import CRSError, InputError
from geokmeans.model import LonLatBox, sample_bbox, stable_order
from geokmeans.stats import geodesic_distances_m

DATA = Path(__file__).resolve().parents[1] / "data"
DC_BOX = (-77.15, 38.825, -76.9, 39.0)


def great_circle_angle(lon1, lat1, lon2, lat2):
    """Central angle (radians) by the haversine formula."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * np.arcsin(np.sqrt(a))


def nearest_by(metric, lon, lat, centres):
    d = np.column_stack([metric(lon, lat, np.full_like(lon, c[0]), np.full_like(lat, c[1]))
                         for c in centres])
    return d


def test_sphere_mode_labels_are_great_circle_nearest(seed):
    cities = pd.read_csv(DATA / "world_cities.csv")
    model = gk.GeoKMeans(40, crs="sphere", random_state=seed).fit(cities)
    d = nearest_by(great_circle_angle, cities.longitude.to_numpy(), cities.latitude.to_numpy(),
                   model.cluster_centers_)
    own = d[np.arange(len(d)), model.labels_]
    assert (own <= d.min(axis=1) + 1e-12).all()


def test_auto_mode_local_data_agrees_with_geodesic_nearest(seed):
    ais = pd.read_csv(DATA / "ny_harbor_ais.csv")
    model = gk.GeoKMeans(12, random_state=seed).fit(ais)
    assert model.crs_ == "EPSG:32618"
    d = nearest_by(geodesic_distances_m, ais.lon.to_numpy(), ais.lat.to_numpy(),
                   model.cluster_centers_)
    agree = np.mean(d.argmin(axis=1) == model.labels_)
    assert agree >= 0.999


def test_distances_and_stats_are_geodesic():
    result = gk.cluster(DATA / "dc_places.csv", 4, weight="population", random_state=1)
    pts = result.points
    centres = result.centroids.geometry
    expected = geodesic_distances_m(pts.longitude, pts.latitude, centres.x.to_numpy()[pts.cluster],
                                    centres.y.to_numpy()[pts.cluster])
    assert_allclose(pts.distance_m, expected, rtol=1e-12)
    for row in result.centroids.itertuples():
        members = pts[pts.cluster == row.cluster]
        assert row.n_points == len(members)
        assert row.weight == pytest.approx(members.population.sum())
        assert row.max_distance_m == pytest.approx(members.distance_m.max())
        w = members.population
        assert row.mean_distance_m == pytest.approx((w * members.distance_m).sum() / w.sum())


@pytest.mark.parametrize("crs", ["auto", "sphere", "EPSG:32618"])
def test_centroid_is_weighted_mean_in_projection(crs):
    frame = pd.read_csv(DATA / "dc_places.csv")
    model = gk.GeoKMeans(5, crs=crs, random_state=0, tol=0.0).fit(frame, sample_weight="population")
    X = model.projection_.forward(frame.longitude, frame.latitude)
    w = frame.population.to_numpy(float)
    for j in range(5):
        m = model.labels_ == j
        mean = (w[m, None] * X[m]).sum(0) / w[m].sum()
        if model.projection_.mode == "sphere":
            mean *= gk.projection.EARTH_RADIUS_M / np.linalg.norm(mean)
        lon, lat = model.projection_.inverse(mean[None])
        assert_allclose([lon[0], lat[0]], model.cluster_centers_[j], atol=1e-9)


def test_across_antimeridian_centroids_stay_near_180(seed):
    rng = np.random.default_rng(seed)
    fiji = np.column_stack([rng.uniform(177.0, 180.0, 200), rng.uniform(-19.0, -16.0, 200)])
    fiji_east = np.column_stack([rng.uniform(-180.0, -178.5, 100), rng.uniform(-19.0, -16.0, 100)])
    aleut = np.column_stack([rng.uniform(172.0, 180.0, 150), rng.uniform(51.0, 53.0, 150)])
    aleut_east = np.column_stack([rng.uniform(-180.0, -170.0, 150), rng.uniform(51.0, 54.0, 150)])
    lonlat = np.concatenate([fiji, fiji_east, aleut, aleut_east])
    model = gk.GeoKMeans(2, random_state=seed).fit(lonlat)
    assert model.crs_ == "sphere"
    lon, lat = model.cluster_centers_.T
    assert (np.abs(lon) > 170).all(), lon
    assert sorted(np.sign(lat)) == [-1, 1]
    assert (np.abs(lon) <= 180).all() and (np.abs(lat) <= 90).all()


def test_narrow_antimeridian_data_use_utm_with_valid_centroid():
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([np.where(rng.random(300) < 0.5, rng.uniform(179, 180, 300),
                                       rng.uniform(-180, -179, 300)),
                              rng.uniform(-17.5, -16.5, 300)])
    model = gk.GeoKMeans(1, random_state=0).fit(lonlat)
    assert model.projection_.mode == "utm"
    lon, lat = model.cluster_centers_[0]
    assert abs(lon) > 179.0 and -17.5 < lat < -16.5


def test_near_the_pole_results_are_valid(seed):
    rng = np.random.default_rng(seed)
    lonlat = np.column_stack([rng.uniform(-180, 180, 500), rng.uniform(85.0, 90.0, 500)])
    model = gk.GeoKMeans(4, random_state=seed).fit(lonlat)
    assert model.crs_ == "sphere"
    lon, lat = model.cluster_centers_.T
    assert ((-180 <= lon) & (lon < 180)).all()
    assert (lat > 84.0).all() and (lat <= 90.0).all()
    assert np.isfinite(model.centroids_.max_distance_m).all()
    # every cluster's farthest member is within the cap (< 5° from the pole ≈ 560 km ×2)
    assert (model.centroids_.max_distance_m < 1_200_000).all()


def test_us_airports_use_the_sphere():
    airports = pd.read_csv(DATA / "us_airports.csv")
    model = gk.GeoKMeans(10, random_state=0).fit(airports)
    assert model.crs_ == "sphere"
    assert model.cluster_centers_.shape == (10, 2)


def test_bbox_seeds_are_uniform_over_area(seed):
    box = LonLatBox(10.0, 60.0, 30.0, 80.0)
    lon, lat = sample_bbox(box, 20000, np.random.default_rng(seed))
    assert ((lon >= 10) & (lon <= 30)).all() and ((lat >= 60) & (lat <= 80)).all()
    # share of the box's area north of 70°N on the sphere
    north_share = (np.sin(np.radians(80)) - np.sin(np.radians(70))) / (
        np.sin(np.radians(80)) - np.sin(np.radians(60)))
    assert np.mean(lat > 70) == pytest.approx(north_share, abs=0.015)
    assert north_share < 0.45  # not the 0.5 that uniform-in-degrees would give


def test_bbox_across_antimeridian():
    box = LonLatBox.from_value((170.0, -20.0, -170.0, -10.0))
    assert box.width_deg == 20.0
    lon, _ = sample_bbox(box, 5000, np.random.default_rng(0))
    assert ((lon >= 170) | (lon <= -170)).all()
    assert np.mean(lon > 0) == pytest.approx(0.5, abs=0.03)


def test_dc_tutorial_bbox_run():
    result = gk.cluster(DATA / "dc_places.csv", 6, init="bbox", bbox=DC_BOX,
                        weight="population", random_state=0)
    assert result.model.crs_ == "EPSG:32618"
    assert len(result.centroids) == 6
    assert (result.centroids.n_points > 0).all()
    assert result.points.cluster.between(0, 5).all()


@pytest.mark.parametrize(
    "bbox, match",
    [
        ((0, 0, 1), r"expected \(west, south, east, north\)"),
        ((0, 10, 1, 5), r"south_lat_deg=10 is north of north_lat_deg=5"),
        ((0, -95, 1, 5), r"south_lat_deg=-95 should be within \[-90, 90\]"),
        ((200, 0, 1, 5), r"west_lon_deg=200 should be within"),
        (("a", 0, 1, 5), r"west_lon_deg='a' should be a finite number"),
    ],
)
def test_bad_bbox(bbox, match):
    with pytest.raises(InputError, match=match):
        gk.GeoKMeans(2, init="bbox", bbox=bbox).fit([[0.0, 0.0], [1.0, 1.0]])


def test_explicit_lonlat_seeds():
    lonlat = np.array([[-77.0, 38.9], [-77.01, 38.91], [-76.0, 39.5], [-76.01, 39.49]])
    model = gk.GeoKMeans(2, init=[[-77.0, 38.9], [-76.0, 39.5]]).fit(lonlat)
    assert_array_equal(model.labels_, [0, 0, 1, 1])
    with pytest.raises(InputError, match=r"init array has shape \(1, 2\)"):
        gk.GeoKMeans(2, init=[[0.0, 0.0]]).fit(lonlat)
    with pytest.raises(InputError, match="within"):
        gk.GeoKMeans(2, init=[[0.0, 0.0], [0.0, 95.0]]).fit(lonlat)


def numbered_as_model(model, core, weights=None):
    """A core fit's labels and centres numbered by the model's rule: descending total
    weight (count), ties by centroid lon, then lat (``stable_order``)."""
    sizes = np.bincount(core.labels_, weights=weights)
    order = stable_order(sizes, *model.projection_.inverse(core.cluster_centers_))
    return np.argsort(order)[core.labels_], core.cluster_centers_[order]


def test_matches_core_kmeans_on_projected_points():
    frame = pd.read_csv(DATA / "dc_places.csv")
    model = gk.GeoKMeans(5, random_state=3).fit(frame, sample_weight="population")
    X = model.projection_.forward(frame.longitude, frame.latitude)
    core = gk.KMeans(5, random_state=3).fit(X, sample_weight=frame.population)
    labels, centres = numbered_as_model(model, core, frame.population.to_numpy(float))
    assert_array_equal(model.labels_, labels)
    assert_array_equal(model.cluster_centers_m_, centres)
    assert model.inertia_ == pytest.approx(core.inertia_, rel=1e-12)


def test_predict_uses_fitted_projection():
    ais = pd.read_csv(DATA / "ny_harbor_ais.csv")
    model = gk.GeoKMeans(6, random_state=0).fit(ais)
    assert_array_equal(model.predict(ais), model.labels_)
    centres = gpd.GeoDataFrame(geometry=model.centroids_.geometry.to_crs(3857))
    assert_array_equal(model.predict(centres), np.arange(6))


def test_input_geodataframe_crs_and_columns_kept():
    frame = pd.read_csv(DATA / "dc_places.csv")
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.longitude, frame.latitude),
                           crs=4326).to_crs(3857)
    result = gdf.geokmeans.cluster(3, random_state=0)
    assert result.points.crs.equals(gdf.crs)
    assert list(result.points.columns) == list(gdf.columns) + ["cluster", "distance_m"]
    assert_array_equal(result.points.index, gdf.index)
    assert "cluster" not in gdf.columns  # input untouched


def test_dropna_labels_skipped_rows():
    frame = pd.DataFrame({"lat": [1.0, np.nan, 1.1, 5.0, 5.1], "lon": [1.0, 1.0, 1.1, 5.0, 5.1]})
    with pytest.warns(gk.GeoKMeansWarning, match="skipped 1 row"):
        result = gk.cluster(frame, 2, dropna=True, random_state=0)
    assert result.points.cluster.iloc[1] == -1
    assert np.isnan(result.points.distance_m.iloc[1])
    assert result.model.n_dropped_ == 1
    assert sorted(result.centroids.n_points) == [2, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_clusters=10), InputError, r"n_samples=3 should be >= n_clusters=10"),
        (dict(n_clusters=2, crs="EPSG:4326"), CRSError, "geographic"),
        (dict(n_clusters=2, init="kmeans"), InputError,
         r"init='kmeans' should be 'k-means\+\+', 'bbox', 'random'"),
        (dict(n_clusters=0), InputError, r"n_clusters=0 should be an integer >= 1"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        gk.cluster([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], **kwargs)


def test_weights_given_twice():
    with pytest.raises(InputError, match="give the weights once"):
        gk.cluster([[0.0, 0.0]], 1, weight=[1.0], sample_weight=[1.0])


def test_ordinary_fit_emits_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gk.cluster(DATA / "dc_places.csv", 5, random_state=0)


def test_hull_vertex_rows_give_the_same_hulls():
    import shapely

    from geokmeans.stats import cluster_hulls, hull_vertex_rows

    rng = np.random.default_rng(3)
    # one cluster across the 180° meridian, one near the pole, one ordinary, one empty
    lon = np.concatenate([rng.uniform(178, 182, 500), rng.uniform(-180, 180, 300),
                          rng.uniform(2, 3, 400)])
    lon = (lon + 180) % 360 - 180
    lat = np.concatenate([rng.uniform(-18, -16, 500), rng.uniform(86, 89, 300),
                          rng.uniform(48, 49, 400)])
    labels = np.repeat([0, 1, 2], [500, 300, 400])
    centre_lon, centre_lat = np.array([180.0, 0.0, 2.5, 10.0]), np.array([-17.0, 90.0, 48.5, 0.0])
    rows = hull_vertex_rows(lon, lat, labels, centre_lon, centre_lat)
    assert 3 * 3 <= rows.size < 120  # a few vertices per cluster
    whole = cluster_hulls(lon, lat, labels, centre_lon, centre_lat)
    part = cluster_hulls(lon[rows], lat[rows], labels[rows], centre_lon, centre_lat)
    assert whole[3] is None and part[3] is None
    for a, b in zip(whole[:3], part[:3], strict=True):
        assert shapely.equals_exact(a, b, tolerance=0)


# -- hostile input (the "Trust" issue) --------------------------------------------------

LONLAT = np.array([[-77.0, 38.9], [-77.01, 38.91], [-76.0, 39.5], [-76.01, 39.49]])


def test_weights_scaled_give_the_same_fit_in_their_units():
    frame = pd.read_csv(DATA / "dc_places.csv")
    w = frame.population.to_numpy(float)
    reference = gk.GeoKMeans(5, random_state=0).fit(frame, sample_weight=w)
    for factor in (1e250, 1e-250, 2.0**200):
        scaled = gk.GeoKMeans(5, random_state=0).fit(frame, sample_weight=w * factor)
        assert_array_equal(scaled.labels_, reference.labels_)
        assert_allclose(scaled.cluster_centers_, reference.cluster_centers_, rtol=1e-12)
        assert scaled.inertia_ == pytest.approx(reference.inertia_ * factor, rel=1e-12)
        assert_allclose(scaled.centroids_.weight, reference.centroids_.weight * factor,
                        rtol=1e-12)
        assert_allclose(scaled.centroids_.mean_distance_m, reference.centroids_.mean_distance_m,
                        rtol=1e-12)


def test_a_weight_near_the_float_limit_gives_finite_results():
    result = gk.cluster(LONLAT, 2, weight=[1e308, 1.0, 1.0, 1.0], random_state=0)
    numbers = result.centroids.drop(columns="geometry").to_numpy(float)
    assert np.isfinite(numbers).all() and np.isfinite(result.model.inertia_)
    assert np.isfinite(result.model.cluster_centers_).all()
    # the heavy point pulls its centroid onto itself
    heavy = result.model.cluster_centers_[result.model.labels_[0]]
    assert_allclose(heavy, LONLAT[0], atol=1e-9)
    assert result.centroids.weight.sum() == pytest.approx(1e308 + 3)


def test_weights_whose_totals_overflow_are_refused():
    with pytest.raises(InputError, match=r"sample_weight sums to more than float64 can hold"):
        gk.cluster(LONLAT, 2, weight=[1e308, 1e308, 1.0, 1.0])
    with pytest.raises(InputError, match=r"the inertia overflows float64"):
        gk.cluster(LONLAT, 1, weight=[1e307, 1e307, 1.0, 1.0])


def test_weight_series_is_aligned_on_the_index():
    frame = pd.DataFrame({"lon": LONLAT[:, 0], "lat": LONLAT[:, 1]}, index=[10, 11, 12, 13])
    weights = pd.Series([1.0, 2.0, 3.0, 4.0], index=[10, 11, 12, 13])
    shuffled = weights.iloc[[3, 1, 0, 2]]
    expected = gk.cluster(frame, 2, weight=weights.to_numpy(), random_state=0)
    aligned = gk.cluster(frame, 2, weight=shuffled, random_state=0)
    assert_array_equal(aligned.centroids.weight, expected.centroids.weight)
    assert_array_equal(aligned.points.cluster, expected.points.cluster)
    # a Series for a larger frame gives the weights of the rows present
    aligned = gk.cluster(frame, 2, weight=pd.concat([weights, pd.Series([9.0], index=[99])]),
                         random_state=0)
    assert_array_equal(aligned.centroids.weight, expected.centroids.weight)
    with pytest.raises(InputError, match=r"no weight for 2 of the data's index labels \(12, 13\)"):
        gk.cluster(frame, 2, weight=pd.Series([1.0, 2.0], index=[10, 11]))


def test_bbox_seeds_are_drawn_one_restart_at_a_time(monkeypatch):
    from geokmeans import model as model_module
    from geokmeans.core import _driver

    events = []
    real_sample, real_lloyd = model_module.sample_bbox, _driver.lloyd

    def sample(*args):
        events.append("draw")
        return real_sample(*args)

    def lloyd(*args, **kwargs):
        events.append("fit")
        return real_lloyd(*args, **kwargs)

    monkeypatch.setattr(model_module, "sample_bbox", sample)
    monkeypatch.setattr(_driver, "lloyd", lloyd)
    gk.GeoKMeans(2, init="bbox", n_init=3, random_state=0).fit(LONLAT)
    assert events == ["draw", "fit"] * 3


def test_bbox_restarts_keep_the_random_stream():
    # the seeds of all runs drawn first, as before, give the same result
    from geokmeans.model import LonLatBox, sample_bbox

    ais = pd.read_csv(DATA / "ny_harbor_ais.csv").iloc[::20]
    model = gk.GeoKMeans(4, init="bbox", n_init=4, random_state=7).fit(ais)
    rng = np.random.default_rng(7)
    box = LonLatBox.of_points(ais.lon.to_numpy(), ais.lat.to_numpy())
    seeds = [model.projection_.forward(*sample_bbox(box, 4, rng)) for _ in range(4)]
    X = model.projection_.forward(ais.lon, ais.lat)
    fits = [gk.KMeans(4, init=s, n_init=1, random_state=rng).fit(X) for s in seeds]
    best = min(fits, key=lambda f: f.inertia_)
    labels, centres = numbered_as_model(model, best)
    assert_array_equal(model.labels_, labels)
    assert_array_equal(model.cluster_centers_m_, centres)


def test_tiny_max_radius_names_the_radius():
    with pytest.raises(InputError, match=r"max_radius_m=1e-09 should be None or a finite number "
                                         r"of metres >= 0.001"):
        gk.cluster(np.array([[150.0, -33.0], [150.0, -33.0], [151.0, -34.0]]), 1,
                   max_radius_m=1e-9)
    result = gk.cluster(np.array([[150.0, -33.0], [150.0, -33.0], [151.0, -34.0]]), 1,
                        max_radius_m=0.001, random_state=0)
    assert result.model.n_clusters_ == 2  # duplicates stay together, within 1 mm
    assert result.centroids.max_distance_m.max() <= 0.001


def test_predict_missing_coordinates_message():
    model = gk.GeoKMeans(2, dropna=True, random_state=0).fit(LONLAT)
    frame = pd.DataFrame({"lon": [-77.0, np.nan], "lat": [38.9, 39.0]}, index=["a", "b"])
    with pytest.raises(InputError) as info:
        model.predict(frame)
    message = str(info.value)
    assert "row 1 (index 'b')" in message and "predict needs coordinates for every row" in message
    assert "dropna=True" not in message


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(random_state=True), gk.DataTypeError, r"random_state=True should be None"),
    (dict(random_state=-1), InputError, r"random_state=-1 should be None, an integer in"),
    (dict(dropna="False"), gk.DataTypeError, r"dropna='False' should be True or False"),
    (dict(dropna=1), gk.DataTypeError, r"dropna=1 should be True or False"),
    (dict(n_clusters=2.0), gk.DataTypeError, r"n_clusters=2.0 should be an integer >= 1"),
    (dict(init=5), gk.DataTypeError, r"init=5 should be 'k-means\+\+', 'bbox', 'random' or"),
    (dict(init=[[True, False], [False, True]]), gk.DataTypeError, r"init holds booleans"),
    (dict(init="bbox", bbox=(-77.0, 38.0, -77.0, 40.0)), InputError, r"has no area"),
    (dict(crs=None), gk.DataTypeError, r"crs=None should be 'auto', 'sphere' or a projected"),
    (dict(crs="EPSG:999999"), CRSError, r"not a CRS pyproj understands"),
    (dict(verbose="yes"), gk.DataTypeError, r"verbose='yes' should be"),
    (dict(foo=1), gk.DataTypeError, r"cluster\(\) got an unknown option 'foo'; options are"),
])
def test_bad_parameters_are_named_before_reading(kwargs, error, match, tmp_path):
    kwargs = {"n_clusters": 2, **kwargs}
    with pytest.raises(error, match=match):  # the file does not exist: never read
        gk.cluster(tmp_path / "not-there.csv", **kwargs)


def test_numpy_integer_k():
    model = gk.GeoKMeans(np.int64(2), random_state=0).fit(LONLAT)
    assert model.n_clusters_ == 2


def test_input_cluster_column_is_never_overwritten():
    frame = pd.DataFrame({"lon": LONLAT[:, 0], "lat": LONLAT[:, 1], "cluster": ["x"] * 4})
    with pytest.raises(gk.InputError, match=r"already has a column 'cluster'.*label_column="):
        gk.cluster(frame, 2, random_state=0)
    result = gk.cluster(frame, 2, random_state=0, label_column="territory")
    assert list(result.points.cluster) == ["x"] * 4  # the user's column, untouched
    assert result.points.territory.between(0, 1).all()


def test_named_crs_outside_its_area_of_use_warns():
    sydney = np.array([[151.2, -33.9], [151.0, -33.8], [150.9, -34.0]])
    with pytest.warns(gk.GeoKMeansWarning, match=r"crs=EPSG:32618 \(WGS 84 / UTM zone 18N\) is "
                                                r"meant for lon -78 to -72"):
        gk.GeoKMeans(1, crs="EPSG:32618").fit(sydney)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gk.GeoKMeans(1, crs="EPSG:32756").fit(sydney)  # UTM 56S covers Sydney


def test_explicit_centres_with_n_init_warn_as_in_the_core():
    init = LONLAT[[0, 2]]
    with pytest.warns(RuntimeWarning, match="n_init=3 ignored, 1 run done"):
        gk.GeoKMeans(2, init=init, n_init=3).fit(LONLAT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gk.GeoKMeans(2, init=init).fit(LONLAT)


def test_max_radius_split_is_bounded(monkeypatch):
    # a radius far below the points' spacing would split for hours: past the limit on
    # the number of clusters it is refused, naming the radius
    import geokmeans._validation as validation

    monkeypatch.setattr(validation, "MAX_RADIUS_CLUSTERS", 12)
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([rng.uniform(-74.1, -73.9, 300), rng.uniform(40.6, 40.8, 300)])
    with pytest.raises(gk.InputError, match=r"max_radius_m=10 needs more than 12 clusters"):
        gk.GeoKMeans(2, max_radius_m=10, random_state=0).fit(lonlat)
    model = gk.GeoKMeans(2, max_radius_m=20_000, random_state=0).fit(lonlat)  # within it
    assert model.n_clusters_ <= 12
