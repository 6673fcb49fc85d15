"""ClusterResult exports: GeoJSON (RFC 7946), GeoPackage, GeoParquet, CSV; hulls."""

import base64
import json
import re
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal

import geokmeans as gk
from geokmeans import InputError

from .geojson_check import check_geojson, layer_features
from .hull_check import assert_good_hulls, normalised_means

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def result():
    return gk.cluster(DATA / "dc_places.csv", 5, weight="population", random_state=0)


def test_geojson_is_rfc7946_and_round_trips(result, tmp_path):
    path = tmp_path / "out.geojson"
    result.to_geojson(path, which="both")
    document = check_geojson(path)
    assert document["type"] == "FeatureCollection"
    assert "crs" not in document  # RFC 7946: WGS84 lon/lat implied, no crs member
    assert document["geokmeans"]["crs_used"] == "EPSG:32618"
    kinds = [f["geokmeans:layer"] for f in document["features"]]
    assert kinds.count("points") == 200 and kinds.count("centroids") == 5
    assert all("kind" not in f["properties"] for f in document["features"])
    first = document["features"][0]["geometry"]["coordinates"]
    assert -77.31 < first[0] < -76.79 and 38.69 < first[1] < 39.11  # lon first

    back = gpd.read_file(path)
    assert back.crs.equals("EPSG:4326")
    assert kinds[:200] == ["points"] * 200  # points first, then centroids, in order
    points = back.iloc[:200].reset_index(drop=True)
    assert_array_equal(points.cluster.astype(int), result.points.cluster)
    assert_array_equal(points.name, result.points.name)
    # at least 6 decimals: positions within 1e-6 degrees
    assert_allclose(points.geometry.x, result.points.geometry.x, atol=1e-6)
    assert_allclose(points.geometry.y, result.points.geometry.y, atol=1e-6)
    centroids = back.iloc[200:].reset_index(drop=True)
    assert_allclose(centroids.max_distance_m, result.centroids.max_distance_m)
    assert_allclose([f["properties"]["max_distance_m"]
                     for f in layer_features(document, "centroids")],
                    result.centroids.max_distance_m)


def test_geojson_default_is_the_points_alone(result, tmp_path):
    result.to_geojson(tmp_path / "p.geojson")
    document = check_geojson(tmp_path / "p.geojson")
    assert [f["geokmeans:layer"] for f in document["features"]] == ["points"] * 200
    back = gpd.read_file(tmp_path / "p.geojson")
    assert_array_equal(back.cluster, result.points.cluster)
    assert_allclose(back.distance_m, result.points.distance_m, rtol=1e-12)


def test_geojson_from_projected_input_is_lonlat(tmp_path):
    frame = pd.read_csv(DATA / "dc_places.csv")
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.longitude, frame.latitude),
                           crs=4326).to_crs(32618)
    res = gk.cluster(gdf, 3, random_state=0)
    res.to_geojson(tmp_path / "p.geojson", which="points")
    check_geojson(tmp_path / "p.geojson")
    back = gpd.read_file(tmp_path / "p.geojson")
    assert_allclose(back.geometry.x, frame.longitude, atol=1e-6)
    assert_array_equal(back.cluster, res.points.cluster)


def test_geopackage_layers(result, tmp_path):
    path = tmp_path / "out.gpkg"
    result.to_file(path, which="all")
    layers = sorted(name for name, _ in pyogrio.list_layers(path))
    assert layers == ["centroids", "hulls", "points"]
    points = gpd.read_file(path, layer="points")
    assert_array_equal(points.cluster, result.points.cluster)
    meta = pyogrio.read_info(path, layer="points")["layer_metadata"]
    assert meta["crs_used"] == "EPSG:32618"


def test_geoparquet_with_metadata(result, tmp_path):
    path = tmp_path / "out.parquet"
    result.to_file(path)
    back = gpd.read_parquet(path)
    assert back.crs.equals("EPSG:4326")
    assert "kind" not in back.columns  # one table per file: no layer column
    assert list(back.columns) == [*result.points.columns.drop("geometry"), "geometry"]
    assert_array_equal(back.cluster, result.points.cluster)
    assert_allclose(back.distance_m, result.points.distance_m)
    assert_allclose(back.geometry.x, result.points.geometry.x)
    meta = json.loads(pq.read_schema(path).metadata[b"geokmeans"])
    assert meta["n_clusters"] == 5 and meta["crs_used"] == "EPSG:32618"
    result.to_parquet(tmp_path / "c.parquet", which="centroids")
    cents = gpd.read_parquet(tmp_path / "c.parquet")
    assert_allclose(cents.max_distance_m, result.centroids.max_distance_m)
    assert "kind" not in cents.columns


def test_csv_output(result, tmp_path):
    path = tmp_path / "out.csv"
    result.to_file(path)
    back = pd.read_csv(path)
    # the input's own coordinate columns, written as they were; nothing added twice
    source = pd.read_csv(DATA / "dc_places.csv")
    assert list(back.columns) == [*source.columns, "cluster", "distance_m"]
    assert_array_equal(back.cluster, result.points.cluster)
    assert_allclose(back.longitude, source.longitude)
    assert_allclose(back.latitude, source.latitude)
    result.to_file(tmp_path / "c.csv", which="centroids")
    cents = pd.read_csv(tmp_path / "c.csv")
    assert len(cents) == 5
    assert list(cents.columns) == ["cluster", "n_points", "weight", "mean_distance_m",
                                   "max_distance_m", "longitude", "latitude"]
    assert_allclose(cents.longitude, result.centroids.geometry.x)


def test_unknown_extension_and_which(result, tmp_path):
    with pytest.raises(InputError, match="unknown extension '.xlsx'"):
        result.to_file(tmp_path / "out.xlsx")
    with pytest.raises(InputError, match="which='everything' should be"):
        result.to_geojson(tmp_path / "out.geojson", which="everything")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file(result, tmp_path, monkeypatch):
    from geokmeans import _writers

    path = tmp_path / "out.geojson"
    path.write_text("previous")

    def explode(handle, features, first):
        handle.write(",".join(features[:3]))  # half a file
        raise OSError("disk full")

    monkeypatch.setattr(_writers, "write_features", explode)
    with pytest.raises(OSError, match="disk full"):
        result.to_geojson(path)
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.geojson"]


def test_input_file_never_overwritten(tmp_path):
    source = tmp_path / "places.geojson"
    frame = pd.read_csv(DATA / "dc_places.csv")
    gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.longitude, frame.latitude),
                     crs=4326).to_file(source)
    before = source.read_bytes()
    res = gk.cluster(source, 3, random_state=0)
    with pytest.raises(InputError, match="refusing to overwrite the input file"):
        res.to_geojson(source)
    assert source.read_bytes() == before


def test_input_protected_after_a_change_of_directory(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    shutil.copy(DATA / "dc_places.csv", tmp_path / "a" / "dc.csv")
    monkeypatch.chdir(tmp_path / "a")
    res = gk.cluster("dc.csv", 2, random_state=0)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="refusing to overwrite the input file"):
        res.to_file(tmp_path / "a" / "dc.csv")
    assert (tmp_path / "a" / "dc.csv").read_bytes() == (DATA / "dc_places.csv").read_bytes()
    res.to_file("dc.csv")  # a new file of that name elsewhere is fine
    assert len(pd.read_csv(tmp_path / "dc.csv")) == 200


def test_paths_with_spaces_and_unicode(small, tmp_path):
    folder = tmp_path / "dossier été 東京"
    folder.mkdir()
    for name in ("p ü.gpkg", "p ü.geojson", "p ü.parquet", "p ü.csv"):
        small.to_file(folder / name)
        assert len(read_back(folder / name)) == 24, name
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["p ü.gpkg", "p ü.geojson", "p ü.parquet", "p ü.csv"])


def test_hulls_contain_their_points(result):
    hulls = result.hulls
    assert hulls.crs.equals("EPSG:4326")
    for row in hulls.itertuples():
        members = result.points[result.points.cluster == row.cluster]
        assert shapely.covers(row.geometry.buffer(1e-9), members.geometry).all()


def test_hull_across_antimeridian_is_split_not_world_wide():
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([np.where(rng.random(200) < 0.5, rng.uniform(178, 180, 200),
                                       rng.uniform(-180, -178, 200)),
                              rng.uniform(-18, -16, 200)])
    res = gk.cluster(lonlat, 1, random_state=0)
    hull = res.hulls.geometry.iloc[0]
    assert hull.geom_type == "MultiPolygon"
    minx, _, maxx, _ = hull.bounds
    assert minx >= -180 and maxx <= 180
    # total width of the pieces is ~4°, not ~356°
    widths = [g.bounds[2] - g.bounds[0] for g in hull.geoms]
    assert sum(widths) < 5.0


@pytest.mark.parametrize("name, k", [("us_airports", 1), ("us_airports", 5),
                                     ("world_cities", 2)])
def test_result_hulls_cover_their_points(name, k):
    result = gk.cluster(DATA / f"{name}.csv", k, random_state=0)
    assert_good_hulls(result.hulls.geometry, result.points.geometry.x, result.points.geometry.y,
                      result.points.cluster)


def test_every_kind_of_hull_is_written_as_rfc7946(tmp_path):
    rng = np.random.default_rng(0)
    groups = [
        np.column_stack([rng.uniform(178, 182, 50), rng.uniform(-18, -16, 50)]),  # antimeridian
        np.column_stack([rng.uniform(-180, 180, 50), rng.uniform(80, 89, 50)]),  # north pole
        np.column_stack([rng.uniform(-180, 180, 50), rng.uniform(-89, -70, 50)]),  # south pole
        np.column_stack([rng.uniform(2, 3, 50), rng.uniform(48, 49, 50)]),  # Paris
        np.array([[10.0, 10.0]] * 3),  # one point
        np.array([[179.5, 5.0], [-179.5, 5.5]]),  # two, across the antimeridian
    ]
    lonlat = np.concatenate(groups)
    lonlat[:, 0] = (lonlat[:, 0] + 180) % 360 - 180
    labels = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    centres = np.array(normalised_means(lonlat[:, 0], lonlat[:, 1], labels, len(groups))).T
    result = gk.cluster(lonlat, len(groups), init=centres, max_iter=1, crs="sphere")
    assert_array_equal(result.points.cluster, labels)
    types = [g.geom_type for g in result.hulls.geometry]
    assert types == ["MultiPolygon", "Polygon", "Polygon", "Polygon", "Point", "MultiLineString"]
    result.to_file(tmp_path / "all.geojson", which="all")
    hulls = layer_features(check_geojson(tmp_path / "all.geojson"), "hulls")
    assert [f["geometry"]["type"] for f in hulls] == types




RING = np.arange(-180.0, 180.0, 10.0)
AROUND = np.linspace(-170, 170, 30)


@pytest.mark.parametrize("lonlat, globe", [
    (np.column_stack([RING, np.full(36, 85.0)]), False),  # around the north pole
    (np.column_stack([np.append(RING, 0), np.append(np.full(36, 85.0), 90)]), False),
    (np.column_stack([RING, np.full(36, -88.0)]), False),  # around the south pole
    (np.column_stack([AROUND, np.full(30, 60.0)]), False),
    (np.column_stack([AROUND, np.zeros(30)]), True),  # in no hemisphere
    (np.column_stack([np.linspace(-90, 90, 30), np.linspace(-60, 60, 30)]), True),  # antipodes
    (np.column_stack([np.linspace(-40, 40, 30), np.linspace(-30, 30, 30)]), False),
])
def test_hulls_anywhere_are_valid_cover_their_points_and_are_written(tmp_path, lonlat, globe):
    result = gk.cluster(lonlat, 1, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hull = result.hulls.geometry[0]
    assert len(caught) == globe
    assert hull.geom_type == "Polygon" and hull.area > 0
    assert_good_hulls([hull], lonlat[:, 0], lonlat[:, 1], result.points.cluster)
    assert shapely.equals(hull, shapely.box(-180, -90, 180, 90)) == globe
    result.to_file(tmp_path / "all.geojson", which="all")
    written, = layer_features(check_geojson(tmp_path / "all.geojson"), "hulls")
    assert written["geometry"]["type"] == "Polygon"


def test_cluster_result_from_copy_of_source(tmp_path):
    copy = tmp_path / "dc.csv"
    shutil.copy(DATA / "dc_places.csv", copy)
    res = gk.cluster(copy, 2, random_state=0)
    res.to_file(tmp_path / "out.csv")
    assert copy.read_bytes() == (DATA / "dc_places.csv").read_bytes()


# -- outputs: formats, tables, names --------------------------------------------------------


def small_table(n=24, seed=0, **extra):
    """A few dozen DC points as a DataFrame with ``Latitude``/``Longitude`` columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"name": [f"p{i}" for i in range(n)],
                          "Latitude": rng.uniform(38.8, 39.0, n),
                          "Longitude": rng.uniform(-77.1, -76.9, n)})
    for name, values in extra.items():
        frame[name] = values
    return frame


@pytest.fixture(scope="module")
def small():
    return gk.cluster(small_table(kind=["user"] * 24), 3, random_state=0)


def read_back(path, layer=None):
    suffix = Path(path).suffix.lower()
    if suffix in (".geojson", ".json"):
        check_geojson(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".parquet":
        return gpd.read_parquet(path)
    return gpd.read_file(path, layer=layer)


@pytest.mark.parametrize("name, which, layers", [
    ("p.geojson", "points", {"points": 24}),
    ("c.json", "centroids", {"centroids": 3}),
    ("h.GeoJSON", "hulls", {"hulls": 3}),
    ("b.JSON", "both", {"points": 24, "centroids": 3}),
    ("a.geojson", "all", {"points": 24, "centroids": 3, "hulls": 3}),
])
def test_every_geojson_written_is_rfc7946(small, tmp_path, name, which, layers):
    small.to_file(tmp_path / name, which=which)
    document = check_geojson(tmp_path / name)
    written = [f["geokmeans:layer"] for f in document["features"]]
    assert {k: written.count(k) for k in layers} == layers and len(written) == sum(layers.values())
    for feature in layer_features(document, "hulls"):
        assert feature["geometry"]["type"] == "Polygon"
        assert shapely.geometry.shape(feature["geometry"]).exterior.is_ccw


def test_hulls_geojson_from_the_library_call(small, tmp_path):
    small.to_geojson(tmp_path / "h.geojson", which="hulls")
    back = gpd.read_file(tmp_path / "h.geojson")
    assert_array_equal(back.cluster, small.hulls.cluster)
    for mine, theirs in zip(small.hulls.geometry, back.geometry, strict=True):
        assert shapely.equals_exact(shapely.normalize(mine), shapely.normalize(theirs), 1e-7)


@pytest.mark.parametrize("name, which", [("out.parquet", "both"), ("out.csv", "all"),
                                         ("out.geoparquet", "all"), ("OUT.CSV", "both")])
def test_one_table_formats_refuse_several_tables(small, tmp_path, name, which):
    with pytest.raises(InputError, match=r"holds one table.*to_file\('.*_points.*which='points'\)"
                                         r" and to_file\('.*_centroids"):
        small.to_file(tmp_path / name, which=which)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("which", ["everything", None, ["points"], 1])
def test_bad_which_lists_the_choices(small, tmp_path, which):
    with pytest.raises(InputError, match=r"should be 'points', 'centroids', "
                                         r"'hulls', 'both' or 'all'"):
        small.to_file(tmp_path / "out.gpkg", which=which)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["k.geojson", "k.gpkg", "k.parquet", "k.csv"])
def test_a_user_column_named_kind_survives_every_format(small, tmp_path, name):
    small.to_file(tmp_path / name)
    back = read_back(tmp_path / name)
    assert list(back["kind"]) == ["user"] * 24
    assert_array_equal(back["cluster"], small.points.cluster)


def test_binary_cells_by_format(tmp_path):
    blobs = [bytes([i, 255, 0]) for i in range(24)]
    res = gk.cluster(small_table(blob=blobs), 2, random_state=0)
    for name in ("b.geojson", "b.csv"):
        res.to_file(tmp_path / name)
    document = check_geojson(tmp_path / "b.geojson")
    assert [base64.b64decode(f["properties"]["blob"]) for f in document["features"]] == blobs
    assert [base64.b64decode(v) for v in pd.read_csv(tmp_path / "b.csv").blob] == blobs
    for name in ("b.parquet", "b.gpkg"):
        res.to_file(tmp_path / name)
        assert list(read_back(tmp_path / name).blob) == blobs


def test_label_and_distance_column_names(tmp_path):
    frame = small_table(cluster=["mine"] * 24, distance_m=np.arange(24.0))
    with pytest.raises(InputError, match=r"already has a column 'cluster'.*"
                                         r"label_column='cluster_1'.*--label-column"):
        gk.cluster(frame, 3, random_state=0)
    with pytest.raises(InputError, match=r"already has a column 'distance_m'.*distance_column="):
        gk.cluster(frame, 3, random_state=0, label_column="group")
    res = gk.cluster(frame, 3, random_state=0, label_column="group", distance_column="metres")
    assert list(res.points.cluster) == ["mine"] * 24  # the user's columns untouched
    assert_array_equal(res.points.distance_m, np.arange(24.0))
    assert_array_equal(res.points.group, res.model.labels_)
    assert_allclose(res.points.metres, res.model.distances_m_)
    assert list(res.centroids.columns)[0] == "cluster"  # the centroid table is ours
    for name in ("n.geojson", "n.gpkg", "n.parquet", "n.csv"):
        res.to_file(tmp_path / name)
        back = read_back(tmp_path / name)
        assert list(back.cluster) == ["mine"] * 24, name
        assert_array_equal(back.group, res.model.labels_)
        assert_allclose(back.metres, res.model.distances_m_)
    page = res.explore(tiles=None).get_root().render()
    assert "geokmeans-legend" in page


@pytest.mark.parametrize("options, message", [
    (dict(label_column="d", distance_column="d"), "both 'd'"),
    (dict(label_column=""), "label_column='' should be a non-empty column name"),
    (dict(distance_column=3), "distance_column=3 should be a non-empty column name"),
    (dict(label_column="geometry"), "already has a column 'geometry'"),
    (dict(label_column="station"), "already has a column 'station'"),  # an index level
])
def test_bad_or_clashing_column_names_before_any_work(options, message, monkeypatch):
    frame = small_table().set_index(pd.Index([f"s{i}" for i in range(24)], name="station"))
    monkeypatch.setattr(gk.GeoKMeans, "_fit_read", lambda *a: pytest.fail("fitted"))
    with pytest.raises(InputError, match=message):
        gk.cluster(frame, 3, **options)


def test_named_index_is_written(tmp_path):
    frame = small_table().set_index(pd.Index([f"s{i}" for i in range(24)], name="station"))
    res = gk.cluster(frame, 3, random_state=0)
    for name in ("i.geojson", "i.gpkg", "i.parquet", "i.csv"):
        res.to_file(tmp_path / name)
        assert list(read_back(tmp_path / name).station) == list(frame.index), name


def test_csv_coordinates_of_geometry_inputs(tmp_path):
    table = small_table()
    gdf = gpd.GeoDataFrame(table.drop(columns=["Latitude", "Longitude"]),
                           geometry=gpd.points_from_xy(table.Longitude, table.Latitude),
                           crs=4326).to_crs(32618)
    res = gk.cluster(gdf, 3, random_state=0)
    assert res.coordinate_columns is None
    res.to_file(tmp_path / "g.csv")
    back = pd.read_csv(tmp_path / "g.csv")
    assert list(back.columns) == ["name", "cluster", "distance_m", "lon", "lat"]
    assert_allclose(back.lon, table.Longitude, atol=1e-9)
    assert_allclose(back.lat, table.Latitude, atol=1e-9)
    # a column named lat that is not the coordinates: refused, the way out named
    clash = gk.cluster(gdf.assign(lat=range(24)), 3, random_state=0)
    with pytest.raises(InputError, match=r"CSV column 'lat'.*lat=/lon="):
        clash.to_file(tmp_path / "clash.csv")
    clash.to_file(tmp_path / "clash.parquet")  # other formats are fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clash.parquet", "g.csv"]


def test_csv_coordinate_clash_refused_before_any_work(tmp_path, monkeypatch):
    gdf = gpd.GeoDataFrame({"lon": range(3)}, geometry=gpd.points_from_xy(
        [-77.0, -76.9, -77.1], [38.9, 38.8, 39.0]), crs=4326)
    monkeypatch.setattr(gk.GeoKMeans, "_fit_read", lambda *a: pytest.fail("fitted"))
    with pytest.raises(InputError, match=r"CSV column 'lon'"):
        gk.cluster(gdf, 2, write={"points": tmp_path / "p.csv"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("epsg", [32618, 3857])
def test_geopackage_layers_in_the_input_crs(tmp_path, epsg):
    table = small_table()
    gdf = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table.Longitude, table.Latitude),
                           crs=4326).to_crs(epsg)
    res = gk.cluster(gdf, 3, random_state=0)
    res.to_file(tmp_path / "all.gpkg", which="all")
    for layer in ("points", "centroids", "hulls"):
        assert pyogrio.read_info(tmp_path / "all.gpkg", layer=layer)["crs"] == f"EPSG:{epsg}"
    cents = gpd.read_file(tmp_path / "all.gpkg", layer="centroids")
    expected = res.centroids.to_crs(epsg)
    assert_allclose(cents.geometry.x, expected.geometry.x, atol=1e-6)
    assert_allclose(cents.geometry.y, expected.geometry.y, atol=1e-6)
    points = gpd.read_file(tmp_path / "all.gpkg", layer="points")
    assert_allclose(points.geometry.x, gdf.geometry.x)
    res.to_file(tmp_path / "c.gpkg", which="centroids")  # alone: still the input's CRS
    assert pyogrio.read_info(tmp_path / "c.gpkg")["crs"] == f"EPSG:{epsg}"


def test_missing_points_are_null_geometry_and_nan_is_null(tmp_path):
    frame = small_table(score=[np.nan] + [1.0] * 23)
    frame.loc[3, "Latitude"] = np.nan
    with pytest.warns(gk.GeoKMeansWarning, match="skipped 1 row"):
        res = gk.cluster(frame, 3, random_state=0, dropna=True)
    res.to_file(tmp_path / "p.geojson")
    features = check_geojson(tmp_path / "p.geojson")["features"]
    assert features[3]["geometry"] is None
    assert features[3]["properties"]["cluster"] == -1
    assert features[3]["properties"]["distance_m"] is None
    assert features[0]["properties"]["score"] is None
    res.to_file(tmp_path / "p.csv")
    back = pd.read_csv(tmp_path / "p.csv")
    assert np.isnan(back.Latitude[3]) and back.cluster[3] == -1


def test_replacing_an_output_keeps_its_permissions(small, tmp_path):
    path = tmp_path / "p.geojson"
    path.write_text("old")
    path.chmod(0o604)
    small.to_file(path)
    check_geojson(path)
    assert path.stat().st_mode & 0o777 == 0o604


# -- several outputs at once ----------------------------------------------------------------


def test_write_is_all_or_nothing(small, tmp_path, monkeypatch):
    old = tmp_path / "c.csv"
    old.write_text("previous")

    def broken_map(self, **options):
        raise RuntimeError("map failed")

    monkeypatch.setattr(gk.ClusterResult, "explore", broken_map)
    with pytest.raises(RuntimeError, match="map failed"):
        small.write(points=tmp_path / "p.geojson", centroids=old, hulls=tmp_path / "h.gpkg",
                    map=tmp_path / "m.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]
    assert old.read_text() == "previous"
    monkeypatch.undo()
    small.write(points=tmp_path / "p.geojson", centroids=old, hulls=tmp_path / "h.gpkg",
                map=tmp_path / "m.html", map_options={"tiles": None})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "h.gpkg", "m.html",
                                                          "p.geojson"]
    check_geojson(tmp_path / "p.geojson")
    assert len(pd.read_csv(old)) == 3
    assert len(gpd.read_file(tmp_path / "h.gpkg", layer="hulls")) == 3
    assert "L.canvas" in (tmp_path / "m.html").read_text()


@pytest.mark.parametrize("outputs, message", [
    (dict(points="a.csv", centroids="./a.csv"), "the points output 'a.csv' and the centroids"),
    (dict(points="a.csv", hulls="sub/../a.csv"), "are the same file"),
    (dict(map="m.txt"), "map output 'm.txt' must end in .html or .htm"),
    (dict(centroids="c.xlsx"), "unknown extension '.xlsx'"),
    (dict(points="no/such/p.csv"), "directory 'no/such' does not exist"),
    (dict(hulls="sub"), "unknown extension ''"),
    (dict(hulls="sub.gpkg"), "it is a directory"),
])
def test_write_checks_every_path_first(small, tmp_path, monkeypatch, outputs, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub.gpkg").mkdir()
    with pytest.raises(InputError, match=re.escape(message)):
        small.write(**outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "sub.gpkg"]


def test_cluster_write_checks_paths_before_reading(tmp_path, monkeypatch):
    from geokmeans import io as gio

    monkeypatch.setattr(gio, "read_points", lambda *a, **k: pytest.fail("input read"))
    with pytest.raises(InputError, match="directory .* does not exist"):
        gk.cluster(DATA / "dc_places.csv", 3, write={"points": tmp_path / "no" / "p.csv"})
    with pytest.raises(InputError, match="unknown output 'labels'"):
        gk.cluster(DATA / "dc_places.csv", 3, write={"labels": tmp_path / "p.csv"})
    with pytest.raises(InputError, match="write=.* should be None or a dict"):
        gk.cluster(DATA / "dc_places.csv", 3, write=str(tmp_path / "p.csv"))
    assert list(tmp_path.iterdir()) == []


def test_cluster_writes_its_outputs(tmp_path):
    res = gk.cluster(small_table(), 3, random_state=0, label_column="grp",
                     write={"points": tmp_path / "p.csv", "hulls": tmp_path / "h.geojson"})
    back = pd.read_csv(tmp_path / "p.csv")
    assert_array_equal(back.grp, res.points.grp)
    assert len(layer_features(check_geojson(tmp_path / "h.geojson"), "hulls")) == 3


def test_label_and_distance_columns_are_the_models_arrays():
    # not copies (a million-point result holds them once): documented in ``cluster``
    result = gk.cluster(DATA / "dc_places.csv", 3, random_state=0)
    table = result._rows.table  # the rows as read and written, points not built
    assert np.shares_memory(table["cluster"].to_numpy(), result.model.labels_)
    assert np.shares_memory(table["distance_m"].to_numpy(), result.model.distances_m_)
    assert_array_equal(result.points["cluster"], result.model.labels_)
    assert_array_equal(result.points["distance_m"], result.model.distances_m_)
