"""The file-in, files-out job: compressed CSVs, points whose geometry is built only when
asked for, GeoParquet in GeoArrow point encoding read back by geopandas, GDAL and DuckDB."""

import bz2
import gzip
import json
import platform
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal

import geokmeans as gk
from geokmeans import InputError
from geokmeans import io as gio

from .hostile import run_cli

DATA = Path(__file__).resolve().parents[1] / "data"

HOSTILE_CSV = (
    "\ufeffid,lat,lon,name,code,mixed,empty,when\r\n"
    '1,45.5,13.25,"Trieste, port",NA,1,,2024-03-30\r\n'
    '2,46.1,14.5,"say ""hi""",N/A,x,,2024-03-31T12:00\r\n'
    "3,,15.0,=SUM(A1),nan,2.5,,\r\n"
    '4,47.25,16.75,"two\nlines",null,,,12:00\r\n'
    "5,48.0,-17.5,東京 ünï,NA,3,,2024\r\n"
)


def write_compressed(path, data):
    """``data`` (bytes) written to ``path`` compressed as its suffix says."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    elif suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    elif suffix in (".zst", ".zstd"):
        with pa.CompressedOutputStream(str(path), "zstd") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["points.csv.gz", "points.csv.bz2", "points.csv.zst",
                                  "points.CSV.GZ", "points.txt.zstd"])
def test_compressed_csv_reads_as_the_plain_file(tmp_path, name):
    data = HOSTILE_CSV.encode("utf-8")
    plain = gio.read_table(write_compressed(tmp_path / "plain.csv", data))
    packed = gio.read_table(write_compressed(tmp_path / name, data))
    assert_frame_equal(packed, plain)  # rows, columns, dtypes, values
    assert list(plain.columns)[0] == "id"  # the byte-order mark is not part of a name
    assert plain.code.tolist()[0] == "NA" and plain.loc[0, "name"] == "Trieste, port"
    assert plain["empty"].isna().all() and np.isnan(plain.lat[2])


def test_compressed_tsv_and_real_data(tmp_path):
    frame = pd.read_csv(DATA / "us_airports.csv", keep_default_na=False, na_values=[""])
    text = frame.to_csv(sep="\t", index=False).encode()
    got = gio.read_table(write_compressed(tmp_path / "airports.tsv.gz", text))
    assert_frame_equal(got, frame)


def test_compressed_csv_refusals_name_the_file(tmp_path):
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=r"could not read '.*bad\.csv\.gz'"):
        gio.read_table(tmp_path / "bad.csv.gz")
    (tmp_path / "bad.csv.zst").write_bytes(b"not zstd at all")
    with pytest.raises(InputError, match=r"could not read '.*bad\.csv\.zst'"):
        gio.read_table(tmp_path / "bad.csv.zst")
    write_compressed(tmp_path / "twice.csv.zst", b"lat,lon,lat\n1,2,3\n")
    with pytest.raises(InputError, match="names the column 'lat' twice"):
        gio.read_table(tmp_path / "twice.csv.zst")
    write_compressed(tmp_path / "twice.csv.gz", b"lat,lon,lat\n1,2,3\n")
    with pytest.raises(InputError, match="names the column 'lat' twice"):
        gio.read_table(tmp_path / "twice.csv.gz")
    write_compressed(tmp_path / "latin.csv.gz", "lat,lon,name\n1,2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"could not read '.*latin\.csv\.gz'"):
        gio.read_table(tmp_path / "latin.csv.gz")
    write_compressed(tmp_path / "empty.csv.gz", b"")
    with pytest.raises(InputError, match=r"could not read '.*empty\.csv\.gz'"):
        gio.read_table(tmp_path / "empty.csv.gz")
    for name, shown in [("points.gpkg.gz", "'.gpkg.gz'"), ("points.gz", "'.gz'"),
                        ("points.csv.xz", "'.xz'")]:
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(InputError, match=f"unknown extension {shown}"):
            gio.read_table(tmp_path / name)


def test_cli_reads_a_compressed_csv(tmp_path):
    source = DATA / "dc_places.csv"
    write_compressed(tmp_path / "places.csv.gz", source.read_bytes())
    for name in ("places.csv.gz", "plain.csv"):
        if name == "plain.csv":
            (tmp_path / name).write_bytes(source.read_bytes())
        code, out, err = run_cli(["cluster", str(tmp_path / name), "-k", "3", "--seed", "0",
                                  "-q", "-o", str(tmp_path / f"{name}.parquet")])
        assert code == 0, err
    assert_geodataframe_equal(gpd.read_parquet(tmp_path / "places.csv.gz.parquet"),
                              gpd.read_parquet(tmp_path / "plain.csv.parquet"))


# -- points whose geometry is deferred ----------------------------------------------------


def reference_points(path, result, **read):
    """``result.points`` as it was built before the geometry was deferred: the read frame,
    its Point geometry from ``points_from_xy``, then the labels and distances."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], **read)
    lon = pd.to_numeric(frame[result.coordinate_columns[0]]).to_numpy(float)
    lat = pd.to_numeric(frame[result.coordinate_columns[1]]).to_numpy(float)
    points = gpd.GeoDataFrame(frame.copy(), geometry=gpd.points_from_xy(lon, lat), crs=4326)
    points[result.label_column] = result.model.labels_
    points[result.distance_column] = result.model.distances_m_
    return points


def assert_same_points(got, expected):
    """Frames equal, geometries too (compared as WKB: a point with a NaN coordinate is not
    equal to itself as a geometry)."""
    assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                       pd.DataFrame(expected.drop(columns="geometry")))
    assert got.geometry.name == expected.geometry.name and got.crs == expected.crs
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_array_equal(shapely.to_wkb(got.geometry.to_numpy()),
                                  shapely.to_wkb(expected.geometry.to_numpy()))


def test_points_are_the_frame_points_from_xy_gave(tmp_path):
    path = write_compressed(tmp_path / "hostile.csv", HOSTILE_CSV.encode())
    with pytest.warns(gk.GeoKMeansWarning, match="skipped 1 row"):
        result = gk.cluster(path, 2, random_state=0, dropna=True)
    assert isinstance(result.__dict__["_rows"], gio.PointTable)  # not built yet
    expected = reference_points(path, result)
    assert list(result._rows.columns) == list(expected.columns)
    assert_same_points(result.points, expected)
    assert isinstance(result.__dict__["_rows"], gpd.GeoDataFrame)  # built once, kept
    assert result.points is result.points


def test_points_of_a_dataframe_do_not_follow_later_changes_of_it():
    frame = pd.read_csv(DATA / "dc_places.csv")
    result = gk.cluster(frame, 3, random_state=0)
    before = frame.copy()
    frame["latitude"] += 1.0
    frame["name"] = "changed"
    points = result.points
    assert_frame_equal(points[before.columns].reset_index(drop=True), before)
    np.testing.assert_array_equal(points.geometry.y, before.latitude)


def test_writing_parquet_csv_map_and_hulls_builds_no_geometry(tmp_path, monkeypatch):
    result = gk.cluster(DATA / "dc_places.csv", 4, random_state=0)

    def refuse(*args, **kwargs):
        raise AssertionError("the points' geometry was built")

    monkeypatch.setattr(gio.PointTable, "geodataframe", refuse)
    result.write(points=tmp_path / "p.parquet", map=tmp_path / "m.html",
                 centroids=tmp_path / "c.geojson")
    result.to_file(tmp_path / "p.csv")
    result.hulls  # noqa: B018 - computed from the coordinates
    assert isinstance(result.__dict__["_rows"], gio.PointTable)


def test_outputs_equal_those_of_the_built_frame(tmp_path):
    """Every output of a result whose points are deferred is the file of the same result
    with its points built (the slower path it replaces)."""
    deferred = gk.cluster(DATA / "dc_places.csv", 4, random_state=0, weight="population")
    built = gk.cluster(DATA / "dc_places.csv", 4, random_state=0, weight="population")
    built.points  # noqa: B018 - builds the GeoDataFrame
    assert isinstance(built.__dict__["_rows"], gpd.GeoDataFrame)
    for name in ("p.geojson", "p.csv", "p.gpkg"):
        deferred.to_file(tmp_path / f"deferred_{name}")
        built.to_file(tmp_path / f"built_{name}")
        if name.endswith(".gpkg"):
            assert_geodataframe_equal(gpd.read_file(tmp_path / f"deferred_{name}"),
                                      gpd.read_file(tmp_path / f"built_{name}"))
        else:
            assert (tmp_path / f"deferred_{name}").read_bytes() == \
                (tmp_path / f"built_{name}").read_bytes()
    deferred.to_parquet(tmp_path / "deferred.parquet")
    built.to_parquet(tmp_path / "built.parquet")
    ours, theirs = (pq.read_table(tmp_path / f"{name}.parquet") for name in ("deferred",
                                                                             "built"))
    assert ours.equals(theirs) and ours.schema.equals(theirs.schema, check_metadata=True)
    assert json.loads(ours.schema.metadata[b"geo"])["columns"]["geometry"]["encoding"] == \
        "point"  # however the points are held
    assert deferred.explore(tiles=None).get_root().render().count("cluster") == \
        built.explore(tiles=None).get_root().render().count("cluster")
    deferred.explore(tiles=None).save(tmp_path / "deferred.html")
    built.explore(tiles=None).save(tmp_path / "built.html")
    assert _map_data(tmp_path / "deferred.html") == _map_data(tmp_path / "built.html")
    assert_geodataframe_equal(deferred.hulls, built.hulls)


def _map_data(path):
    """The page without folium's random element ids."""
    import re

    return re.sub(r"_[0-9a-f]{32}", "_id", path.read_text())


# -- GeoParquet in GeoArrow point encoding ------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A hostile table clustered (some rows without coordinates), its points written in
    GeoArrow encoding, and the same points written by geopandas as WKB and as GeoArrow."""
    folder = tmp_path_factory.mktemp("parquet")
    path = write_compressed(folder / "hostile.csv", HOSTILE_CSV.encode())
    with pytest.warns(gk.GeoKMeansWarning, match="skipped 1 row"):
        result = gk.cluster(path, 2, random_state=0, dropna=True)
    result.to_parquet(folder / "geoarrow.parquet")
    built = result.points.copy()
    table = built.drop(columns="geometry")
    table["geometry"] = built.geometry  # the writers put the geometry last
    frame = gpd.GeoDataFrame(table, geometry="geometry", crs=4326)
    frame.to_parquet(folder / "wkb.parquet", index=False)
    frame.to_parquet(folder / "geopandas.parquet", index=False, geometry_encoding="geoarrow")
    return folder, result


def test_geoarrow_file_is_the_one_geopandas_writes(written):
    folder, result = written
    ours, theirs = (pq.read_table(folder / f) for f in ("geoarrow.parquet",
                                                         "geopandas.parquet"))
    assert ours.schema.equals(theirs.schema, check_metadata=False)
    assert ours.drop_columns("geometry").equals(theirs.drop_columns("geometry"))
    for axis in ("x", "y"):  # NaN where a row has no coordinate
        np.testing.assert_array_equal(ours.column("geometry").combine_chunks().field(axis),
                                      theirs.column("geometry").combine_chunks().field(axis))
    for key in (b"geo", b"pandas"):
        assert json.loads(ours.schema.metadata[key]) == json.loads(theirs.schema.metadata[key])
    geo = json.loads(ours.schema.metadata[b"geo"])["columns"]["geometry"]
    assert geo["encoding"] == "point" and geo["geometry_types"] == ["Point"]
    assert geo["bbox"] == [-17.5, 45.5, 16.75, 48.0]  # of the rows with coordinates
    assert json.loads(ours.schema.metadata[b"geokmeans"]) == json.loads(
        json.dumps(result.metadata))
    geometry = ours.column("geometry").combine_chunks()
    np.testing.assert_array_equal(geometry.field("x"), result._rows.lon)
    np.testing.assert_array_equal(geometry.field("y"), result._rows.lat)


def test_geoarrow_file_reads_back_as_the_wkb_file(written):
    folder, _ = written
    assert_same_points(gpd.read_parquet(folder / "geoarrow.parquet"),
                       gpd.read_parquet(folder / "wkb.parquet"))


@pytest.mark.skipif("Parquet" not in pyogrio.list_drivers(),
                    reason="this GDAL has no Parquet driver (pyogrio's wheels have none)")
def test_gdal_reads_the_geoarrow_file(written):  # pragma: no cover - needs GDAL's Parquet
    folder, _ = written
    assert_same_points(pyogrio.read_dataframe(folder / "geoarrow.parquet"),
                       pyogrio.read_dataframe(folder / "wkb.parquet"))


def test_duckdb_reads_the_geoarrow_file(written):
    duckdb = pytest.importorskip("duckdb")
    folder, result = written
    path = str(folder / "geoarrow.parquet").replace("'", "''")
    got = duckdb.sql(f"SELECT * EXCLUDE (geometry), geometry.x AS x, geometry.y AS y "
                     f"FROM read_parquet('{path}')").df()
    expected = pd.read_parquet(folder / "wkb.parquet").drop(columns="geometry")
    assert list(got.columns[:-2]) == list(expected.columns)
    np.testing.assert_array_equal(got.id, expected.id)
    np.testing.assert_array_equal(got.x, result._rows.lon)
    np.testing.assert_array_equal(got.y, result._rows.lat)
    assert got.name.tolist() == expected.name.tolist()
    np.testing.assert_array_equal(got.distance_m, expected.distance_m)


def test_geoarrow_parquet_refusals(tmp_path):
    frame = pd.DataFrame({"lat": [45.0, 46.0], "lon": [13.0, 14.0],
                          "mixed": pd.Series([1, "a"], dtype=object)})
    result = gk.cluster(frame, 1, random_state=0)
    with pytest.raises(InputError, match="column 'mixed' cannot be written to Parquet"):
        result.to_parquet(tmp_path / "odd.parquet")
    assert list(tmp_path.iterdir()) == []
    frame = pd.DataFrame({"lat": [45.0, 46.0], "lon": [13.0, 14.0], "geometry": ["a", "b"]})
    with pytest.raises(InputError, match="has a column 'geometry' that is not its geometry"):
        gk.cluster(frame, 1, random_state=0)


def test_rows_of_lonlat_points():
    from geokmeans._point_table import LonLatPoints

    points = LonLatPoints(np.arange(5.0), np.arange(5.0) + 10, pd.RangeIndex(5))
    assert points.iloc[np.arange(5)] is points  # every row in order: the same arrays
    for rows in (np.array([0, 1, 2, 4, 3]), np.array([0, 1, 2, 3]), np.array([1, 1, 2, 3, 4]),
                 np.array([True, False, True, True, True])):
        taken = points.iloc[rows]
        assert taken is not points
        np.testing.assert_array_equal(taken.lon, np.arange(5.0)[rows])
        np.testing.assert_array_equal(taken.lat, np.arange(5.0)[rows] + 10)
    lon, lat = gio.geometry_points(points.iloc[[3, 0]])
    np.testing.assert_array_equal(lon, [3.0, 0.0])
    np.testing.assert_array_equal(lat, [13.0, 10.0])
    assert points.geom_type.tolist() == ["Point"] * 5


def test_changes_to_the_built_points_are_written(tmp_path):
    result = gk.cluster(DATA / "dc_places.csv", 3, random_state=0)
    result.points["note"] = "checked"
    result.points.loc[0, "name"] = "renamed"
    result.to_parquet(tmp_path / "points.parquet")
    back = gpd.read_parquet(tmp_path / "points.parquet")
    assert (back.note == "checked").all() and back.name[0] == "renamed"
    geo = json.loads(pq.read_schema(tmp_path / "points.parquet").metadata[b"geo"])
    assert geo["columns"]["geometry"]["encoding"] == "point"
    result.points.loc[1, "geometry"] = None  # no longer points only: WKB
    result.to_parquet(tmp_path / "points.parquet")
    geo = json.loads(pq.read_schema(tmp_path / "points.parquet").metadata[b"geo"])
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert gpd.read_parquet(tmp_path / "points.parquet").geometry[1] is None


@pytest.mark.parametrize("columns", [
    {},  # the coordinates only
    {"when": pd.to_datetime(["2024-01-01", None, "2024-03-01"], utc=True),
     "kind": pd.Categorical(["a", "b", "a"]), "n": pd.array([1, None, 3], dtype="Int64")},
    {"text": pd.Series(["x", None, "z"], dtype="str"), "blob": [b"a", b"", None]},
])
@pytest.mark.parametrize("rows", [3, 1])
def test_point_table_encoding_is_the_geodataframe_one(columns, rows):
    # the encoding from lon/lat arrays (_point_arrow: no shapely points, no column of None
    # per row for the geometry's pandas metadata) against geopandas' GeoArrow of the same
    # GeoDataFrame: same schema, columns and metadata, the coordinates bit for bit
    from geokmeans._geoparquet import parquet_table
    from geokmeans._point_table import PointTable

    lon, lat = np.array([13.0, 14.5, 15.0])[:rows], np.array([45.0, 46.25, 47.0])[:rows]
    frame = pd.DataFrame({"lat": lat, "lon": lon, **{k: v[:rows] for k, v in columns.items()}},
                         index=pd.RangeIndex(rows, name="row"))
    ours = parquet_table(PointTable(frame, lon, lat))
    theirs = parquet_table(gpd.GeoDataFrame(frame.reset_index(), geometry=gpd.points_from_xy(
        lon, lat), crs=4326), geoarrow=True)
    assert ours.schema.equals(theirs.schema, check_metadata=False)
    assert ours.drop_columns("geometry").equals(theirs.drop_columns("geometry"))
    for axis in ("x", "y"):
        np.testing.assert_array_equal(ours.column("geometry").combine_chunks().field(axis),
                                      theirs.column("geometry").combine_chunks().field(axis))
    assert ours.schema.metadata.keys() == theirs.schema.metadata.keys()
    for key in ours.schema.metadata:
        assert json.loads(ours.schema.metadata[key]) == json.loads(theirs.schema.metadata[key])


def test_empty_point_table_metadata_has_the_geometry_entry():
    # geopandas cannot encode no rows in GeoArrow; the pandas metadata is the one pyarrow
    # gives the attributes with the geometry as a column of None last, as geopandas writes
    from geokmeans._geoparquet import parquet_table
    from geokmeans._point_table import PointTable

    frame = pd.DataFrame({"lat": np.array([]), "lon": np.array([]),
                          "text": pd.Series([], dtype="str")})
    ours = parquet_table(PointTable(frame, np.array([]), np.array([])))
    assert ours.num_rows == 0 and ours.column_names == ["lat", "lon", "text", "geometry"]
    expected = pa.Table.from_pandas(frame.assign(geometry=None), preserve_index=False)
    assert json.loads(ours.schema.metadata[b"pandas"]) == json.loads(
        expected.schema.metadata[b"pandas"])
    geo = json.loads(ours.schema.metadata[b"geo"])["columns"]["geometry"]
    assert geo["encoding"] == "point" and "bbox" not in geo  # no rows, no box


FREED_HEAP = """
import json
from geokmeans._memory import release_freed

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS"))

blocks = [bytearray(64 * 1024) for _ in range(3000)]  # 188 MiB in the heap, resident
pin = bytearray(64 * 1024)  # above them: the heap's top cannot shrink by itself
del blocks
freed = rss()
trimmed = release_freed()
print(json.dumps({"freed": freed, "trimmed": trimmed, "after": rss()}))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_pages_go_back_to_the_system():
    # what the stages of a run free inside glibc's heaps stays resident until trimmed
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", FREED_HEAP], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    report = json.loads(out)
    assert report["trimmed"] is True
    assert report["freed"] - report["after"] > 150  # MiB of the 188 freed
