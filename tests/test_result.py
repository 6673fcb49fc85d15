"""ClusterResult exports: GeoJSON (RFC 7946), GeoPackage, GeoParquet, CSV; hulls."""

import json
import shutil
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
    with pytest.raises(InputError, match="which='everything' is not valid"):
        result.to_geojson(tmp_path / "out.geojson", which="everything")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file(result, tmp_path, monkeypatch):
    from geokmeans import _writers

    path = tmp_path / "out.geojson"
    path.write_text("previous")

    def explode(handle, features, metadata):
        handle.write('{"type":"FeatureCollection","features":[')  # half a file
        raise OSError("disk full")

    monkeypatch.setattr(_writers, "_dump_collection", explode)
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


def test_cluster_result_from_copy_of_source(tmp_path):
    copy = tmp_path / "dc.csv"
    shutil.copy(DATA / "dc_places.csv", copy)
    res = gk.cluster(copy, 2, random_state=0)
    res.to_file(tmp_path / "out.csv")
    assert copy.read_bytes() == (DATA / "dc_places.csv").read_bytes()
