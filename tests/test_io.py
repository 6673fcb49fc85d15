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


# -- hostile input (the "Trust" issue) --------------------------------------------------


@pytest.mark.parametrize("columns, match", [
    (["lat", "lon", "lat"], r"latitude column 'lat' appears 2 times"),
    (["lat", "lon", "Lat"], r"2 columns could be the latitude: 'lat', 'Lat'.*lat=\.\.\."),
    (["LAT", "lon", "lng"], None),  # different names: the first of the list (lon) is used
])
def test_colliding_coordinate_columns(columns, match):
    frame = pd.DataFrame(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), columns=columns)
    if match is None:
        assert_array_equal(read_points(frame).lon, [2.0, 5.0])
        return
    with pytest.raises(InputError, match=match):
        read_points(frame)


def test_explicit_column_name_is_exact_with_a_case_hint():
    frame = pd.DataFrame({"LAT": [1.0], "lon": [2.0]})
    with pytest.raises(InputError, match=r"latitude column 'lat' not found \(column 'LAT' "
                                         r"differs only in case"):
        read_points(frame, lat="lat")
    twice = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "a", "lon"])
    with pytest.raises(InputError, match=r"latitude column 'a' appears 2 times"):
        read_points(twice, lat="a")
    with pytest.raises(InputError, match=r"weight column 'w' appears 2 times"):
        read_points(pd.DataFrame([[1.0, 2.0, 3.0, 4.0]], columns=["lat", "lon", "w", "w"]),
                    weight="w")


@pytest.mark.parametrize("values, match", [
    ([True, False], r"column 'lat' holds booleans"),
    ([1 + 1j, 2 + 0j], r"column 'lat' holds complex numbers"),
    (pd.array([True, None], dtype="boolean"), r"column 'lat' holds booleans"),
    (pd.Series([True, None], dtype=object), r"column 'lat' must be numeric: row 0 is True"),
])
def test_boolean_and_complex_columns_refused(values, match):
    frame = pd.DataFrame({"lat": values, "lon": [1.0, 2.0]})
    with pytest.raises(DataTypeError, match=match):
        read_points(frame)


@pytest.mark.parametrize("data, match", [
    (np.array([[True, False], [False, True]]), "data holds booleans"),
    (np.array([[1 + 1j, 2.0]]), "data holds complex numbers"),
    (None, "got NoneType"),
    (5, "got int"),
    ("", "does not exist|is a directory"),
])
def test_bad_data_objects(data, match):
    with pytest.raises(InputError, match=match):
        read_points(data)


def test_decimal_comma_hint():
    frame = pd.DataFrame({"lat": ["38,9", "38,8"], "lon": ["-77,0", "-77,1"]})
    with pytest.raises(DataTypeError, match=r"row 0 is '38,9'\. \(a number written with a comma"):
        read_points(frame)


def test_rows_named_by_index_label_too():
    frame = pd.DataFrame({"lat": [1.0, 2.0, 95.0], "lon": [1.0, 2.0, 3.0]},
                         index=["a", "b", "abc"])
    with pytest.raises(InputError, match=r"row 2 \(index 'abc'\) has lat=95\.0"):
        read_points(frame)
    filtered = pd.DataFrame({"lat": [1.0, np.nan], "lon": [1.0, 2.0]}, index=[4, 7])
    with pytest.raises(InputError, match=r"row 1 \(index 7\) has lon=2\.0, lat=nan"):
        read_points(filtered)
    with pytest.raises(InputError, match=r"row 1 is -1\.0"):  # a RangeIndex: positions
        read_points(pd.DataFrame({"lat": [1.0, 2.0], "lon": [1.0, 2.0], "w": [1.0, -1.0]}),
                    weight="w")


def test_infinite_coordinates_are_out_of_range_not_missing():
    frame = pd.DataFrame({"lat": [1.0, 2.0, 3.0], "lon": [1.0, np.inf, 2.0]})
    with pytest.raises(InputError, match=r"longitude must be within \[-180, 180\]: row 1 has "
                                         r"lon=inf"):
        read_points(frame, dropna=True)


def test_geometry_column_without_active_geometry():
    points = gpd.points_from_xy([0.0, 1.0], [0.0, 1.0])
    frame = gpd.GeoDataFrame({"where": gpd.GeoSeries(points, crs=4326), "v": [1, 2]})
    with pytest.raises(InputError, match=r"column 'where' holds geometries: use "
                                         r"gpd.GeoDataFrame\(data, geometry='where'\)"):
        read_points(frame)
    assert_array_equal(read_points(frame.set_geometry("where")).lat, [0.0, 1.0])


def test_points_with_z_use_lon_lat():
    series = gpd.GeoSeries(shapely.points([[-77.0, 38.9, 120.0], [-77.1, 38.8, 0.0]]), crs=4326)
    points = read_points(series)
    assert_array_equal(points.lon, [-77.0, -77.1])
    assert_array_equal(points.lat, [38.9, 38.8])


def test_multipoints_are_refused():
    series = gpd.GeoSeries([shapely.MultiPoint([(0, 0), (1, 1)])], crs=4326)
    with pytest.raises(InputError, match=r"row 0 is a MultiPoint"):
        read_points(series)


def test_csv_edge_cases(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"could not read '.*empty.csv'"):
        read_points(empty)
    header = tmp_path / "header.csv"
    header.write_text("lat,lon\n")
    with pytest.raises(InputError, match="input has no rows"):
        read_points(header)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefflat,lon\n1.5,2.5\n".encode("utf-8"))
    assert_array_equal(read_points(bom).lat, [1.5])


def test_weight_series_aligned_and_weight_checks():
    frame = pd.DataFrame({"lat": [1.0, 2.0, 3.0], "lon": [1.0, 2.0, 3.0]}, index=[5, 6, 7])
    points = read_points(frame, weight=pd.Series([30.0, 10.0, 20.0], index=[7, 5, 6]))
    assert_array_equal(points.weights, [10.0, 20.0, 30.0])
    assert_array_equal(read_points(frame, weight=[1.0, 2.0, 3.0]).weights, [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=r"no weight for 1 of the data's index labels \(7\)"):
        read_points(frame, weight=pd.Series([1.0, 2.0], index=[5, 6]))
    with pytest.raises(InputError, match="duplicate index labels"):
        read_points(frame, weight=pd.Series([1.0, 2.0, 3.0, 4.0], index=[5, 6, 7, 7]))
    with pytest.raises(DataTypeError, match=r"sample_weight should hold numbers"):
        read_points(frame, weight=["a", "b", "c"])
    with pytest.raises(DataTypeError, match="sample_weight holds booleans"):
        read_points(frame, weight=[True, False, True])
    with pytest.raises(DataTypeError, match=r"weight column 'w' holds booleans"):
        read_points(frame.assign(w=[True, False, True]), weight="w")
    with pytest.raises(InputError, match=r"sums to more than float64 can hold"):
        read_points(frame, weight=[1e308, 1e308, 1.0])


def test_missing_coordinates_message_for_predict():
    frame = pd.DataFrame({"lat": [1.0, np.nan], "lon": [1.0, 2.0]})
    with pytest.raises(InputError, match=r"row 1 .*; predict needs coordinates for every row\.$"):
        read_points(frame, purpose="predict")


def test_semicolon_separated_csv_hint(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("lat;lon\n38,9;-77,0\n")
    with pytest.raises(InputError, match=r"columns are \['lat;lon'\]\. \(the file looks "
                                         r"separated by ';'"):
        read_points(path)


def test_lat_and_lon_naming_one_column():
    with pytest.raises(InputError, match=r"lat='a' and lon='a' name the same column"):
        read_points(pd.DataFrame({"a": [1.0]}), lat="a", lon="a")
