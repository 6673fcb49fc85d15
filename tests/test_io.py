"""Reading every input form; atomic writes."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal

from geokmeans import DataTypeError, GeoKMeansWarning, InputError
from geokmeans.io import atomic_path, read_points

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def table():
    return pd.DataFrame({
        "name": ["a", "b", "c"],
        "Latitude": [38.9, 38.8, 39.0],
        "LNG": [-77.0, -77.1, -76.9],
        "pop": [10.0, 20.0, 30.0],
    })


def test_dataframe_columns_detected_any_case(table):
    points = read_points(table, weight="pop")
    assert_array_equal(points.lat, table["Latitude"])
    assert_array_equal(points.lon, table["LNG"])
    assert_array_equal(points.weights, [10.0, 20.0, 30.0])
    assert points.frame.crs.equals("EPSG:4326")
    assert list(points.frame.columns) == ["name", "Latitude", "LNG", "pop", "geometry"]


def test_explicit_columns(table):
    frame = table.rename(columns={"Latitude": "northing_deg", "LNG": "easting_deg"})
    points = read_points(frame, lat="northing_deg", lon="easting_deg")
    assert_array_equal(points.lat, table["Latitude"])
    with pytest.raises(InputError, match=r"latitude column 'nope' not found; columns are"):
        read_points(frame, lat="nope", lon="easting_deg")


def test_no_columns_found():
    with pytest.raises(InputError, match="no latitude/longitude columns found"):
        read_points(pd.DataFrame({"a": [1.0], "b": [2.0]}))


def test_array_of_lon_lat():
    points = read_points(np.array([[-77.0, 38.9], [2.35, 48.86]]))
    assert_array_equal(points.lon, [-77.0, 2.35])
    assert_array_equal(points.lat, [38.9, 48.86])
    with pytest.raises(InputError, match=r"shape \(n, 2\)"):
        read_points(np.zeros((3, 3)))
    with pytest.raises(DataTypeError, match="data must be"):
        read_points(object())


def test_geodataframe_in_projected_crs_is_converted():
    lonlat = gpd.GeoDataFrame({"v": [1, 2]},
                              geometry=gpd.points_from_xy([-74.0, -73.9], [40.7, 40.8]),
                              crs=4326)
    projected = lonlat.to_crs(32618)
    points = read_points(projected)
    assert_allclose(points.lon, [-74.0, -73.9], atol=1e-9)
    assert_allclose(points.lat, [40.7, 40.8], atol=1e-9)
    assert points.frame.crs.equals(projected.crs)  # the original geometry is kept
    series_points = read_points(projected.geometry)
    assert_allclose(series_points.lat, [40.7, 40.8], atol=1e-9)


def test_geodataframe_without_crs():
    frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0], [0.0]))
    with pytest.raises(InputError, match=r"no CRS.*set_crs"):
        read_points(frame)
    frame["lat"] = [1.0]
    frame["lon"] = [2.0]
    assert_array_equal(read_points(frame).lat, [1.0])


def test_non_point_geometry_suggests_representative_point():
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(InputError, match=r"row 1 is a Polygon.*representative_point"):
        read_points(frame)


def test_latitude_out_of_range_hints_at_swap():
    frame = pd.DataFrame({"lat": [-77.0, -122.4], "lon": [38.9, 37.8]})
    with pytest.raises(InputError, match=r"row 1 has lat=-122.4\. .*look swapped"):
        read_points(frame)


def test_longitude_out_of_range():
    with pytest.raises(InputError, match=r"longitude must be within \[-180, 180\]: row 0 has lon=200"):
        read_points(pd.DataFrame({"lat": [10.0], "lon": [200.0]}))


def test_missing_coordinates_error_or_drop():
    frame = pd.DataFrame({"lat": [1.0, np.nan, 3.0, 4.0], "lon": [1.0, 2.0, None, 4.0]})
    with pytest.raises(InputError, match=r"row 1 .* \(2 such rows\).*dropna=True"):
        read_points(frame)
    with pytest.warns(GeoKMeansWarning, match="skipped 2 rows"):
        points = read_points(frame, dropna=True)
    assert points.n_dropped == 2
    assert_array_equal(points.lat, [1.0, 4.0])
    assert len(points.frame) == 4


def test_non_numeric_coordinates_name_row():
    frame = pd.DataFrame({"lat": ["1.0", "north"], "lon": [1.0, 2.0]})
    with pytest.raises(DataTypeError, match=r"column 'lat' must be numeric: row 1 is 'north'"):
        read_points(frame)


@pytest.mark.parametrize(
    "weight, match",
    [
        ("missing", r"weight column 'missing' not found; columns are"),
        ("w", r"row 1 is -5.0"),
        ([1.0, 2.0], r"shape \(2,\); expected \(3,\)"),
    ],
)
def test_bad_weights(weight, match):
    frame = pd.DataFrame({"lat": [1.0, 2.0, 3.0], "lon": [1.0, 2.0, 3.0], "w": [1.0, -5.0, 1.0]})
    with pytest.raises(InputError, match=match):
        read_points(frame, weight=weight)


def test_empty_input():
    with pytest.raises(InputError, match="no rows"):
        read_points(pd.DataFrame({"lat": [], "lon": []}))


def test_files_of_each_format(tmp_path):
    frame = pd.read_csv(DATA / "dc_places.csv")
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.longitude, frame.latitude),
                           crs=4326)
    gdf.to_file(tmp_path / "p.geojson")
    gdf.to_file(tmp_path / "p.gpkg")
    gdf.to_file(tmp_path / "p.shp")
    gdf.to_parquet(tmp_path / "p.parquet")
    frame.to_parquet(tmp_path / "plain.parquet")
    reference = read_points(DATA / "dc_places.csv")
    for name in ["p.geojson", "p.gpkg", "p.shp", "p.parquet", "plain.parquet"]:
        points = read_points(tmp_path / name)
        assert_allclose(points.lon, reference.lon, atol=1e-9, err_msg=name)
        assert_allclose(points.lat, reference.lat, atol=1e-9, err_msg=name)


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_points(tmp_path / "nope.csv")
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(InputError, match="could not read"):
        read_points(bad)
    odd = tmp_path / "points.xyz"
    odd.write_text("1,2")
    with pytest.raises(InputError, match="unknown extension '.xyz'"):
        read_points(odd)


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_atomic_path_refuses_input_and_missing_directory(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("x")
    with pytest.raises(InputError, match="refusing to overwrite the input file"):
        with atomic_path(source, protected=[source]):
            pass
    with pytest.raises(InputError, match="does not exist"):
        with atomic_path(tmp_path / "no" / "out.geojson"):
            pass


def test_csv_keeps_na_strings_and_empty_is_missing(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("name,country,lat,lon\nKatima Mulilo,NA,-17.5,24.27\nX,,1.0,\n")
    with pytest.raises(InputError, match="row 1 has lon=nan"):
        read_points(path)
    with pytest.warns(GeoKMeansWarning):
        points = read_points(path, dropna=True)
    assert points.frame.country.iloc[0] == "NA"
