"""Reading every input form; atomic writes."""

import base64
import datetime
import decimal
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal

from geokmeans import DataTypeError, GeoKMeansWarning, InputError
from geokmeans import io as gio
from geokmeans._atomic import _host
from geokmeans.io import atomic_path, read_points

from .geojson_check import check_geojson
from .hostile import files_under

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


def test_lines_are_refused_with_a_hint():
    # polygons are read (tests/test_polygons.py); lines and collections are not
    line = shapely.LineString([(0, 0), (1, 1)])
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), line], crs=4326)
    with pytest.raises(InputError, match=r"points or polygons: row 1 is a LineString.*interpolate"):
        read_points(frame)
    frame = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1),
                                       shapely.GeometryCollection([line])], crs=4326)
    with pytest.raises(InputError, match=r"row 1 is a GeometryCollection.*representative_point"):
        read_points(frame)


def test_latitude_out_of_range_hints_at_swap():
    frame = pd.DataFrame({"lat": [-77.0, -122.4], "lon": [38.9, 37.8]})
    with pytest.raises(InputError, match=r"row 1 has lat=-122.4\. .*look swapped"):
        read_points(frame)


def test_longitude_out_of_range():
    with pytest.raises(InputError,
                       match=r"longitude must be within \[-180, 180\]: row 0 has lon=200"):
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


# -- all-or-nothing outputs -----------------------------------------------------------------


def names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def dead_pid():
    """The id of a process of this host that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_output_set_renames_all_or_none(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    b.write_text("old b")
    with pytest.raises(RuntimeError, match="second writer"):
        with gio.OutputSet() as outputs:
            outputs.reserve(a).write_text("new a")
            outputs.reserve(b).write_text("new b")
            raise RuntimeError("second writer failed")
    assert names(tmp_path) == ["b.txt"] and b.read_text() == "old b"
    with gio.OutputSet() as outputs:
        outputs.reserve(a).write_text("new a")
        outputs.reserve(b).write_text("new b")
        # before the commit: only hidden temporaries, the old b untouched
        assert [n for n in names(tmp_path) if not n.startswith(".")] == ["b.txt"]
        assert b.read_text() == "old b"
    assert names(tmp_path) == ["a.txt", "b.txt"]
    assert (a.read_text(), b.read_text()) == ("new a", "new b")


def test_interruption_removes_temporaries_and_sqlite_sidecars(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with gio.OutputSet() as outputs:
            tmp = outputs.reserve(tmp_path / "out.gpkg")
            tmp.write_bytes(b"half")
            for sidecar in ("-journal", "-wal", "-shm"):
                Path(f"{tmp}{sidecar}").write_bytes(b"x")
            raise KeyboardInterrupt
    assert names(tmp_path) == []


def test_unwritten_output_fails_the_commit(tmp_path):
    with pytest.raises(RuntimeError, match="'.*b.txt' was not written"):
        with gio.OutputSet() as outputs:
            outputs.reserve(tmp_path / "a.txt").write_text("a")
            outputs.reserve(tmp_path / "b.txt")
    assert names(tmp_path) == []


def test_failed_rename_puts_back_the_files_already_replaced(tmp_path, monkeypatch):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == b:
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        with gio.OutputSet() as outputs:
            outputs.reserve(a).write_text("new a")
            outputs.reserve(b).write_text("new b")
    assert (a.read_text(), b.read_text()) == ("old a", "old b")
    assert names(tmp_path) == ["a.txt", "b.txt"]


def test_temporary_names_carry_host_and_pid(tmp_path):
    with gio.OutputSet() as outputs:
        tmp = outputs.reserve(tmp_path / "my out é.geojson")
        assert tmp.parent == tmp_path
        pattern = (rf"\.my out é\.geojson\.geokmeans-{_host()}-{os.getpid()}-[0-9a-f]{{8}}"
                   r"\.tmp\.geojson")
        assert re.fullmatch(pattern, tmp.name), tmp.name
        tmp.write_text("{}")
    assert names(tmp_path) == ["my out é.geojson"]


def test_stale_temporaries_of_dead_processes_of_this_host_are_removed(tmp_path):
    host, dead = _host(), dead_pid()
    stale = [f".out.geojson.geokmeans-{host}-{dead}-0123abcd.tmp.geojson",
             f".x.gpkg.geokmeans-{host}-{dead}-0123abce.tmp.gpkg-journal",
             f".x.gpkg.geokmeans-{host}-{dead}-0123abce.bak.gpkg"]
    kept = [f".out.geojson.geokmeans-{host}-{os.getpid()}-0123abcd.tmp.geojson",  # alive
            f".out.geojson.geokmeans-{host}-1-0123abcd.tmp.geojson",             # alive
            f".out.geojson.geokmeans-{host}x-{dead}-0123abcd.tmp.geojson",       # other host
            ".out.geojson.abc123.tmp.geojson",                                   # not ours
            "notes.txt"]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    directory = tmp_path / f".p.parquet.geokmeans-{host}-{dead}-0123abcf.tmp.parquet"
    directory.mkdir()
    (directory / "part.0.parquet").write_text("x")
    Path(f"{directory}-dir").write_text("")  # the marker a partitioned output leaves
    gio.write_text(tmp_path / "new.html", "<p>")
    assert names(tmp_path) == sorted(kept + ["new.html"])


def test_cleanup_removes_only_names_of_exactly_our_form(tmp_path):
    # a prefix match deleted user files and a user directory: only whole names of our
    # form go, directories only with the marker we create, symbolic links never
    host, dead = _host(), dead_pid()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    user = [f".notes.geokmeans-{host}-{dead}-12345678.bakup.txt",      # 'bak' + more
            f".notes.geokmeans-{host}-{dead}-12345678.tmpfile",        # 'tmp' + more
            f".notes.geokmeans-{host}-{dead}-123456789.tmp.txt",       # token too long
            f".notes.geokmeans-{host}-{dead}-12345678.tmp.txt.old",    # two suffixes
            f".notes.geokmeans-{host}-{dead}-12345678.tmp.csv-journal.bak",
            f"x.notes.geokmeans-{host}-{dead}-12345678.tmp.txt",       # not hidden
            f".notes.geokmeans-{host}-99999999999-12345678.tmp.txt",   # pid beyond range
            f".notes.geokmeans-{host}-4294967296-12345678.tmp.txt"]    # pid beyond os.kill
    for name in user:
        (tmp_path / name).write_text("mine")
    folders = [f".mydata.geokmeans-{host}-{dead}-0badcafe.tmp",        # no marker
               f".mydata.geokmeans-{host}-{dead}-0badcaff.bak"]        # never a directory
    for name in folders:
        (tmp_path / name).mkdir()
        (tmp_path / name / "data.csv").write_text("mine")
    Path(f"{tmp_path / folders[1]}-dir").write_text("")  # a marker beside a .bak: still not
    links = [f".l.geokmeans-{host}-{dead}-0badcafe.tmp.csv",             # to a file
             f".d.geokmeans-{host}-{dead}-0badcafe.tmp.parquet"]         # to a directory
    os.symlink(outside / "precious.txt", tmp_path / links[0])
    os.symlink(outside, tmp_path / links[1])
    Path(f"{tmp_path / links[1]}-dir").write_text("")  # marked, but a link: left alone
    before = files_under(tmp_path)
    assert gio.remove_stale_temporaries(tmp_path) == []
    assert files_under(tmp_path) == before
    assert (outside / "precious.txt").read_text() == "keep"


def test_host_token_tells_apart_names_that_differ_only_in_punctuation(monkeypatch):
    import socket

    tokens = {}
    for name in ("build-1.example.org", "build_1.example.org", "build.1.example.org",
                 "a" * 30 + "1", "a" * 30 + "2", "", "hôte"):
        monkeypatch.setattr(socket, "gethostname", lambda name=name: name)
        tokens[name] = _host()
        assert re.fullmatch(r"[A-Za-z0-9_]{1,24}_[0-9a-f]{10}", tokens[name]), tokens[name]
    assert len(set(tokens.values())) == len(tokens)
    assert tokens["build-1.example.org"].startswith("build_1_example_org_")


def test_partitioned_output_temporary_is_marked_until_committed(tmp_path):
    with gio.OutputSet() as outputs:
        folder = outputs.reserve(tmp_path / "parts.parquet", directory=True)
        assert Path(f"{folder}-dir").is_file()
        folder.mkdir()
        (folder / "part.0.parquet").write_text("x")
    assert names(tmp_path) == ["parts.parquet"]
    with pytest.raises(KeyboardInterrupt):
        with gio.OutputSet() as outputs:
            outputs.reserve(tmp_path / "more.parquet", directory=True).mkdir()
            raise KeyboardInterrupt
    assert names(tmp_path) == ["parts.parquet"]


def test_output_names_longer_than_the_file_system_allows_fail_before_any_work(tmp_path):
    name = "é" * 126 + ".csv"  # 256 bytes
    with pytest.raises(InputError) as info:
        gio.OutputSet().check(tmp_path / name)
    message = str(info.value)
    assert "256 bytes" in message and "at most 255" in message and "shorter name" in message
    longest = "é" * 125 + ".csv"  # 254 bytes: the temporary name is shortened, not refused
    gio.write_text(tmp_path / longest, "x")
    assert names(tmp_path) == [longest]


def test_temporary_names_fit_a_file_system_with_short_names(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "pathconf", lambda path, name: 143 if name == "PC_NAME_MAX" else
                        4096)  # eCryptfs-like
    with gio.OutputSet() as outputs:
        tmp = outputs.reserve(tmp_path / ("n" * 138 + ".gpkg"))  # 143 bytes
        assert len(os.fsencode(tmp.name + "-journal")) <= 143
        tmp.write_text("x")
    with pytest.raises(InputError, match="at most 143"):
        gio.OutputSet().check(tmp_path / ("n" * 136 + ".geojson"))  # 144 bytes
    monkeypatch.setattr(os, "pathconf", lambda path, name: 40 if name == "PC_NAME_MAX" else
                        4096)
    with pytest.raises(InputError, match="too few for the temporary file"):
        gio.OutputSet().check(tmp_path / "o.csv")


def test_replaced_file_keeps_its_mode_and_new_files_follow_the_umask(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    os.chmod(target, 0o640)
    gio.write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    previous = os.umask(0o002)
    try:
        gio.write_text(tmp_path / "new.csv", "x")
        with gio.OutputSet() as outputs:
            folder = outputs.reserve(tmp_path / "parts.parquet", directory=True)
            folder.mkdir(mode=0o700)  # as tempfile.mkdtemp makes them
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o664
    assert stat.S_IMODE((tmp_path / "parts.parquet").stat().st_mode) == 0o775


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_replaced_file_keeps_its_owner(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    os.chown(target, 1234, 5678)
    gio.write_text(target, "new")
    assert (target.stat().st_uid, target.stat().st_gid) == (1234, 5678)


def test_dangling_symlink_names_where_it_points(tmp_path):
    os.symlink(tmp_path / "gone" / "x.geojson", tmp_path / "out.geojson")
    with pytest.raises(InputError, match=re.escape(f"directory '{tmp_path / 'gone'}' does not")):
        gio.write_text(tmp_path / "out.geojson", "x")
    assert names(tmp_path) == ["out.geojson"]


def test_same_file_in_every_spelling(tmp_path, monkeypatch):
    original = tmp_path / "a.csv"
    original.write_text("x")
    sub = tmp_path / "sub"
    sub.mkdir()
    os.symlink(original, tmp_path / "link.csv")
    os.link(original, tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path)
    for other in [original, "a.csv", "./a.csv", "sub/../a.csv", tmp_path / "." / "a.csv",
                  "link.csv", "hard.csv"]:
        assert gio.same_file(original, other), other
    assert gio.same_file("new.csv", sub / ".." / "new.csv")  # not there yet
    assert not gio.same_file(original, "b.csv")
    assert not gio.same_file(original, sub / "a.csv")


@pytest.mark.parametrize("target, message", [
    ("folder.geojson", "it is a directory"),
    ("missing/out.geojson", "directory 'missing' does not exist"),
    ("notes.txt/out.geojson", "'notes.txt' is not a directory"),
    ("", "path is empty"),
])
def test_output_paths_that_cannot_be_written(tmp_path, monkeypatch, target, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.geojson").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    before = names(tmp_path)
    with pytest.raises(InputError, match=re.escape(message)):
        gio.write_text(target, "x")
    assert names(tmp_path) == before


def test_special_files_and_non_paths_are_refused():
    with pytest.raises(InputError, match="is not a regular file"):
        gio.write_text("/dev/null", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(DataTypeError, match="path must be a str or os.PathLike; got int"):
        gio.write_text(5, "x")


def test_long_unicode_and_spaced_names(tmp_path):
    long_name = "é" * 120 + ".geojson"  # 248 bytes: the temporary name must stay < 256
    gio.write_text(tmp_path / long_name, "x")
    spaced = tmp_path / "with space 東京.csv"
    gio.write_text(spaced, "y")
    assert names(tmp_path) == sorted([long_name, spaced.name])


# -- writers --------------------------------------------------------------------------------


def ring(points):
    return [*points, points[0]]


@pytest.fixture
def odd_shapes():
    """Polygons wound the wrong way, and geometries that are missing, empty or NaN."""
    shell_cw = ring([(0, 0), (0, 2), (2, 2), (2, 0)])
    hole_ccw = ring([(0.5, 0.5), (1.5, 0.5), (1.5, 1.5), (0.5, 1.5)])
    polygon = shapely.Polygon(shell_cw, [hole_ccw])
    assert not polygon.exterior.is_ccw
    multi = shapely.MultiPolygon([polygon, shapely.Polygon(ring([(5, 5), (5, 6), (6, 6)]))])
    return gpd.GeoDataFrame(
        {"name": ["p", "m", "none", "empty", "nan"],
         "value": [1.5, np.nan, np.inf, -2.0, 3.0]},
        geometry=[polygon, multi, None, shapely.Point(), shapely.Point(np.nan, np.nan)],
        crs=4326)


def test_geojson_winding_nulls_and_non_finite_values(odd_shapes, tmp_path):
    path = tmp_path / "shapes.geojson"
    gio.write_geojson(path, {"shapes": odd_shapes}, {"note": "x"})
    document = check_geojson(path)  # winding, ranges, no NaN, no crs
    features = document["features"]
    assert [f["geokmeans:layer"] for f in features] == ["shapes"] * 5
    assert [f["geometry"] is None for f in features] == [False, False, True, True, True]
    assert [f["properties"]["value"] for f in features] == [1.5, None, None, -2.0, 3.0]
    assert document["geokmeans"] == {"note": "x"}
    back = gpd.read_file(path)
    assert back.geometry.iloc[0].equals(odd_shapes.geometry.iloc[0])  # same shape, rewound
    assert back.geometry.iloc[0].exterior.is_ccw
    assert not back.geometry.iloc[0].interiors[0].is_ccw


def test_geojson_coordinates_rounded_and_kept_in_range(tmp_path):
    frame = gpd.GeoDataFrame({"v": [1, 2]},
                             geometry=[shapely.Point(180.0000000004, -90.0000000001),
                                       shapely.Point(-77.123456789, 38.987654321)], crs=4326)
    gio.write_geojson(tmp_path / "p.geojson", {"points": frame})
    coords = [f["geometry"]["coordinates"]
              for f in check_geojson(tmp_path / "p.geojson")["features"]]
    assert coords == [[180.0, -90.0], [-77.1234568, 38.9876543]]
    far = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(181.0, 0.0)], crs=4326)
    with pytest.raises(InputError, match=r"row 0 has lon=181.0"):
        gio.write_geojson(tmp_path / "far.geojson", {"points": far})
    assert names(tmp_path) == ["p.geojson"]


@pytest.fixture
def every_kind():
    """A table with a cell of each awkward kind, a user column named ``kind`` and a
    named index."""
    when = pd.to_datetime(["2024-03-01 12:00", "2024-03-02 00:30"]).tz_localize("Europe/Paris")
    frame = gpd.GeoDataFrame({
        "kind": ["user", "data"],
        "blob": [b"\x00\xff\x10", None],
        "when": when,
        "day": [datetime.date(2024, 3, 1), None],
        "cat": pd.Categorical(["x", "y"]),
        "nested": [{"a": [1, 2]}, None],
        "month": pd.PeriodIndex(["2024-01", "2024-02"], freq="M"),
        "span": pd.to_timedelta([1.5, 60], unit="s"),
        "shape": [shapely.Point(1, 2), None],
        "big": np.array([2**53 + 1, -5], dtype=np.int64),
    }, geometry=gpd.points_from_xy([-77.0, -76.5], [38.9, 39.1]), crs=4326)
    frame.index = pd.Index(["s1", "s2"], name="station")
    return frame


def test_geojson_cells_of_every_kind(every_kind, tmp_path):
    gio.write_geojson(tmp_path / "t.geojson", {"points": every_kind})
    props = [f["properties"] for f in check_geojson(tmp_path / "t.geojson")["features"]]
    first = props[0]
    assert list(first)[:2] == ["station", "kind"]
    assert first["station"] == "s1" and first["kind"] == "user"
    assert base64.b64decode(first["blob"]) == b"\x00\xff\x10" and props[1]["blob"] is None
    assert pd.Timestamp(first["when"]) == every_kind["when"].iloc[0]  # same instant
    assert first["day"].startswith("2024-03-01")
    assert first["cat"] == "x" and first["nested"] == {"a": [1, 2]}
    assert first["month"] == "2024-01" and first["shape"] == "POINT (1 2)"
    assert first["big"] == 2**53 + 1
    assert pd.Timedelta(first["span"]) == pd.Timedelta(1.5, unit="s")


def test_csv_cells_of_every_kind(every_kind, tmp_path):
    gio.write_csv(tmp_path / "t.csv", every_kind)
    back = pd.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert list(back.columns) == ["station", *every_kind.columns.drop("geometry"), "lon", "lat"]
    assert list(back.station) == ["s1", "s2"] and list(back.kind) == ["user", "data"]
    assert base64.b64decode(back.blob[0]) == b"\x00\xff\x10"
    assert json.loads(back.nested[0]) == {"a": [1, 2]}
    assert back["shape"][0] == "POINT (1 2)" and list(back.big) == [2**53 + 1, -5]
    assert_allclose(back.lon, [-77.0, -76.5])


def test_geopackage_cells_of_every_kind(every_kind, tmp_path):
    gio.write_gpkg(tmp_path / "t.gpkg", {"points": every_kind})
    back = pyogrio.read_dataframe(tmp_path / "t.gpkg")
    assert list(back.station) == ["s1", "s2"] and list(back.kind) == ["user", "data"]
    assert back.blob[0] == b"\x00\xff\x10"  # binary stays binary
    assert back.when.iloc[0] == every_kind["when"].iloc[0]
    assert json.loads(back.nested[0]) == {"a": [1, 2]}
    assert list(back.month) == ["2024-01", "2024-02"] and back.span[0] == "P0DT0H0M1.5S"
    assert list(back.big) == [2**53 + 1, -5]


def test_parquet_cells_of_every_kind(every_kind, tmp_path):
    gio.write_parquet(tmp_path / "t.parquet", every_kind)
    back = gpd.read_parquet(tmp_path / "t.parquet")
    assert list(back.station) == ["s1", "s2"] and list(back.kind) == ["user", "data"]
    assert back.blob[0] == b"\x00\xff\x10"
    assert back.when.iloc[0] == every_kind["when"].iloc[0]
    assert back.span[0] == pd.Timedelta(1.5, unit="s")
    assert list(back.big) == [2**53 + 1, -5]
    assert back.crs.equals("EPSG:4326")


def test_parquet_names_a_column_it_cannot_hold(tmp_path):
    frame = gpd.GeoDataFrame({"fine": [1, 2], "mixed": [1, "x"]},
                             geometry=gpd.points_from_xy([0, 1], [0, 1]), crs=4326)
    with pytest.raises(InputError, match=r"column 'mixed' cannot be written to Parquet"):
        gio.write_parquet(tmp_path / "t.parquet", frame)
    with pytest.raises(InputError, match="a Parquet file holds one table; got 2"):
        gio.write_parquet(tmp_path / "t.parquet", {"a": frame, "b": frame})
    assert names(tmp_path) == []


def lonlat_frame(n=3, **columns):
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(np.linspace(-77, -76, n),
                                                                 np.linspace(38, 39, n)),
                            crs=4326)


def test_geojson_numbers_read_back_exactly(tmp_path):
    # pandas' to_json kept 15 digits: 0.1 + 0.2 became 0.3 (GeoPackage, Parquet and CSV
    # kept 0.30000000000000004); every float64 and every integer must read back as itself
    floats = [0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 2.0**60, 1 / 3]
    frame = lonlat_frame(
        len(floats), f64=floats, f32=np.array([0.1, 1.5, 3.25, 7, 8, 9, 10], dtype=np.float32),
        Float64=pd.array([0.1 + 0.2, None, 1, 2, 3, 4, 5], dtype="Float64"),
        i64=np.array([2**63 - 1, -2**63, 2**53 + 1, 0, 1, 2, 3], dtype=np.int64),
        u64=np.array([2**64 - 1, 2**63, 2**53 + 1, 0, 1, 2, 3], dtype=np.uint64),
        Int64=pd.array([2**53 + 1, None, 1, 2, 3, 4, 5], dtype="Int64"),
        huge=pd.Series([2**70, -2**70, 1, 2, 3, 4, 5], dtype=object),
        mixed=pd.Series([0.1 + 0.2, "x", None, float("nan"), 2**64, True, 1e-7], dtype=object),
        nested=pd.Series([{"a": [0.1 + 0.2, float("nan")], 1: np.float64(1 / 3)}, None, [],
                          {}, [1], [2], [3]], dtype=object),
        nonfinite=[float("nan"), float("inf"), -float("inf"), 1, 2, 3, 4])
    gio.write_geojson(tmp_path / "t.geojson", {"points": frame})
    features = check_geojson(tmp_path / "t.geojson")["features"]
    column = {name: [f["properties"][name] for f in features] for name in frame.columns
              if name != "geometry"}
    assert column["f64"] == floats and str(column["f64"][4]) == "-0.0"
    assert column["f32"] == frame["f32"].astype(float).tolist()  # the float32 values, exactly
    assert column["Float64"][:2] == [0.1 + 0.2, None]
    assert column["i64"] == frame["i64"].tolist() and column["u64"] == frame["u64"].tolist()
    assert column["Int64"][:2] == [2**53 + 1, None] and column["huge"][:2] == [2**70, -2**70]
    assert column["mixed"] == [0.1 + 0.2, "x", None, None, 2**64, True, 1e-7]
    assert column["nested"][0] == {"a": [0.1 + 0.2, None], "1": 1 / 3}
    assert column["nonfinite"][:3] == [None, None, None]
    # coordinates stay rounded to 1e-7 degrees, as documented
    coordinates = [f["geometry"]["coordinates"] for f in features]
    assert all(round(v, 7) == v for xy in coordinates for v in xy)


def test_geojson_times_keep_every_digit(tmp_path):
    frame = lonlat_frame(
        2, ns=pd.to_datetime(["2020-01-01 00:00:00.123456789", "2020-01-02"], format="ISO8601"),
        zoned=pd.to_datetime(["2020-01-01 00:00:00.5", None]).tz_localize("Europe/Paris"),
        day=pd.Series([datetime.date(2020, 1, 1), None], dtype=object),
        clock=pd.Series([datetime.time(1, 2, 3, 456789), datetime.time(0)], dtype=object),
        span=pd.to_timedelta([1.5, 2], unit="us"))
    gio.write_geojson(tmp_path / "t.geojson", {"points": frame})
    first, second = [f["properties"] for f in check_geojson(tmp_path / "t.geojson")["features"]]
    assert first["ns"] == "2020-01-01T00:00:00.123456789"
    assert pd.Timestamp(first["ns"]) == frame["ns"].iloc[0]
    assert first["zoned"] == "2020-01-01T00:00:00.500000+01:00" and second["zoned"] is None
    assert first["day"] == "2020-01-01" and second["day"] is None
    assert first["clock"] == "01:02:03.456789"
    assert pd.Timedelta(first["span"]) == frame["span"].iloc[0]


def test_geopackage_holds_each_value_exactly_or_as_text(tmp_path):
    # intervals lost their closed side (left/right columns), unsigned integers became REAL,
    # times of day were cut to milliseconds; what a GeoPackage cannot hold is refused
    # (tests/test_hostile_outputs.py)
    frame = lonlat_frame(
        3, interval=pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3], closed="left"),
        u64=np.array([2**63 - 1, 0, 2**53 + 1], dtype=np.uint64),
        UInt64=pd.array([2**53 + 1, None, 1], dtype="UInt64"),
        clock=pd.Series([datetime.time(1, 2, 3, 456789), None, datetime.time(0)], dtype=object),
        money=pd.Series([decimal.Decimal("0.1"), decimal.Decimal("1E+30"), None], dtype=object),
        ms=pd.to_datetime(["2020-01-01 00:00:00.123", "2020-01-02", None], format="ISO8601"))
    gio.write_gpkg(tmp_path / "t.gpkg", {"points": frame})
    back = pyogrio.read_dataframe(tmp_path / "t.gpkg", use_arrow=True)
    assert list(back.interval) == ["[0, 1)", "[1, 2)", "[2, 3)"]
    assert back.u64.tolist() == [2**63 - 1, 0, 2**53 + 1]
    assert pyogrio.read_info(tmp_path / "t.gpkg")["dtypes"][
        list(back.columns).index("u64")] == "int64"
    with sqlite3.connect(tmp_path / "t.gpkg") as db:
        assert db.execute("SELECT UInt64 FROM points").fetchall() == [(2**53 + 1,), (None,),
                                                                        (1,)]
    assert back.clock.tolist()[::2] == ["01:02:03.456789", "00:00:00"]
    assert back.money.tolist()[:2] == ["0.1", "1E+30"]
    assert back.ms.iloc[0] == pd.Timestamp("2020-01-01 00:00:00.123")


def test_extra_geometry_columns_in_every_format(tmp_path):
    # a second geometry column crashed every writer but Parquet ('Series' has no to_wkt)
    frame = lonlat_frame(2, a=[1, 2])
    frame["other"] = gpd.GeoSeries(gpd.points_from_xy([500_000.0, 500_001.0], [0.0, 1.0]),
                                   crs=32631)
    frame["plain"] = gpd.GeoSeries([shapely.Point(0.1 + 0.2, 1), None])
    expected = frame["other"].to_crs(4326)
    gio.write_csv(tmp_path / "t.csv", frame)
    gio.write_geojson(tmp_path / "t.geojson", {"points": frame})
    gio.write_gpkg(tmp_path / "t.gpkg", {"points": frame})
    gio.write_parquet(tmp_path / "t.parquet", frame)
    csv = pd.read_csv(tmp_path / "t.csv", keep_default_na=False, na_values=[""])
    props = [f["properties"] for f in check_geojson(tmp_path / "t.geojson")["features"]]
    gpkg = pyogrio.read_dataframe(tmp_path / "t.gpkg")
    for other, plain in [(csv.other, csv.plain), ([p["other"] for p in props],
                                                  [p["plain"] for p in props]),
                         (gpkg.other, gpkg.plain)]:
        # WKT in lon/lat (the table's CRS) with every digit; a column without CRS as it is
        assert shapely.from_wkt(list(other)).tolist() == expected.tolist()
        assert list(plain)[0] == "POINT (0.30000000000000004 1)" and pd.isna(list(plain)[1])
    parquet = gpd.read_parquet(tmp_path / "t.parquet")
    assert parquet["other"].crs.equals(frame["other"].crs)  # native, in its own CRS
    assert parquet["other"].tolist() == frame["other"].tolist()
    assert parquet.geometry.name == "geometry"


def test_wkt_keeps_every_digit(tmp_path):
    square = shapely.Polygon([(0.1 + 0.2, 0), (1, 0), (1, 1 / 3), (0.1 + 0.2, 0)])
    frame = gpd.GeoDataFrame({"cell": pd.Series([square], dtype=object)},
                             geometry=[square], crs=4326)
    gio.write_csv(tmp_path / "t.csv", frame)
    back = pd.read_csv(tmp_path / "t.csv")
    assert shapely.from_wkt(back.wkt[0]).equals_exact(square, 0)
    assert shapely.from_wkt(back.cell[0]).equals_exact(square, 0)


def test_protected_inputs_files_directories_and_globs(tmp_path):
    from geokmeans._atomic import InputGlob

    (tmp_path / "parts").mkdir()
    (tmp_path / "parts2").mkdir()
    (tmp_path / "parts" / "a.csv").write_text("lat,lon\n")
    outputs = gio.OutputSet(protected=[tmp_path / "parts",
                                       InputGlob(str(tmp_path / "p*.parquet"))])
    for refused in ("parts/a.csv", "parts/new.csv", "parts2/../parts/x.geojson",
                    "p1.parquet", "p.parquet"):
        with pytest.raises(InputError, match="refusing"):
            outputs.check(tmp_path / refused)
    for allowed in ("parts2/a.csv", "parts.csv", ".p1.parquet", "q1.parquet",
                    "p1.parquet.csv"):
        outputs.check(tmp_path / allowed)
    glob = InputGlob(str(tmp_path / "*" / "*.csv"))
    assert glob.matches(tmp_path / "parts" / "b.csv")
    assert not glob.matches(tmp_path / "parts" / "sub" / "b.csv")  # one level, as glob does
    assert not glob.matches(tmp_path / ".hidden" / "b.csv")


def test_geopackage_keeps_columns_named_fid_and_geom(tmp_path):
    frame = gpd.GeoDataFrame({"fid": [5.5, None], "geom": ["a", "b"], "v": [1, 2]},
                             geometry=gpd.points_from_xy([0, 1], [0, 1]), crs=4326)
    gio.write_gpkg(tmp_path / "t.gpkg", {"points": frame})
    back = pyogrio.read_dataframe(tmp_path / "t.gpkg")
    assert list(back.columns) == ["fid", "geom", "v", "geometry"]
    assert_array_equal(back.fid, [5.5, np.nan])
    assert list(back.geom) == ["a", "b"]
    twins = frame.assign(Name=["x", "y"], name=["z", "w"])
    with pytest.raises(InputError, match=r"columns 'Name' and 'name' .* differ only in case"):
        gio.write_gpkg(tmp_path / "twins.gpkg", {"points": twins})
    assert names(tmp_path) == ["t.gpkg"]


def test_geopackage_layers_share_one_crs(tmp_path):
    points = gpd.GeoDataFrame({"v": [1]}, geometry=gpd.points_from_xy([500_000.0], [4_300_000.0]),
                              crs=32618)
    centre = gpd.GeoDataFrame({"c": [0]}, geometry=gpd.points_from_xy([-75.0], [38.85]), crs=4326)
    gio.write_gpkg(tmp_path / "t.gpkg", {"points": points, "centroids": centre})
    for layer in ("points", "centroids"):
        assert pyogrio.read_info(tmp_path / "t.gpkg", layer=layer)["crs"] == "EPSG:32618"
    back = gpd.read_file(tmp_path / "t.gpkg", layer="centroids")
    assert_allclose(back.geometry.x, centre.to_crs(32618).geometry.x)


def test_csv_formula_cells_get_a_quote_unless_raw(tmp_path):
    cells = ['=HYPERLINK("http://x","y")', "+1 555 0100", "-2", "-2.5e3", "+7", "@SUM(A1)",
             "\tx", "\rx", "plain", "a=b", None]
    frame = gpd.GeoDataFrame({"text": cells, "=cmd": range(11), "n": [-1.5] * 11},
                             geometry=gpd.points_from_xy([0.0] * 11, [0.0] * 11), crs=4326)
    gio.write_csv(tmp_path / "safe.csv", frame)
    back = pd.read_csv(tmp_path / "safe.csv", dtype=str, keep_default_na=False)
    assert list(back.columns) == ["text", "'=cmd", "n", "lon", "lat"]
    assert list(back.text) == ["'" + cells[0], "'+1 555 0100", "-2", "-2.5e3", "+7",
                               "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b", ""]
    assert set(back.n) == {"-1.5"}  # numbers untouched
    gio.write_csv(tmp_path / "raw.csv", frame, raw=True)
    raw = pd.read_csv(tmp_path / "raw.csv", dtype=str, keep_default_na=False)
    assert list(raw.columns)[1] == "=cmd"
    assert list(raw.text) == [*cells[:-1], ""]


def test_csv_coordinate_columns(tmp_path):
    points = gpd.GeoDataFrame({"Latitude": ["38.9", "39.1"], "Longitude": [-77.0, -76.5]},
                              geometry=gpd.points_from_xy([-77.0, -76.5], [38.9, 39.1]),
                              crs=4326)
    gio.write_csv(tmp_path / "own.csv", points, coordinate_columns=("Longitude", "Latitude"))
    assert list(pd.read_csv(tmp_path / "own.csv").columns) == ["Latitude", "Longitude"]
    clash = points.rename(columns={"Latitude": "lat"})
    with pytest.raises(InputError, match=r"CSV column 'lat'.*--lat/--lon"):
        gio.write_csv(tmp_path / "clash.csv", clash)
    missing = points.copy()
    missing.loc["x"] = ["1", 2.0, None]  # a row without geometry: empty coordinates
    gio.write_csv(tmp_path / "missing.csv", missing)
    back = pd.read_csv(tmp_path / "missing.csv")
    assert list(back.columns) == ["Latitude", "Longitude", "lon", "lat"]
    assert np.isnan(back.lon.iloc[2]) and back.lon.iloc[0] == -77.0
    assert names(tmp_path) == ["missing.csv", "own.csv"]


def test_output_formats_by_extension():
    assert gio.output_format("a.JSON") == "GeoJSON"
    assert gio.output_format("a/b c.GeoParquet") == "GeoParquet"
    with pytest.raises(InputError, match=r"unknown extension '.shp' \(Shapefiles are not written"):
        gio.output_format("a.shp")
    with pytest.raises(InputError, match=r"unknown extension ''"):
        gio.output_format("noext")


def test_geometry_column_that_is_not_the_geometry_is_refused():
    frame = pd.DataFrame({"lat": [1.0], "lon": [2.0], "geometry": ["POINT (2 1)"]})
    with pytest.raises(InputError, match=r"column 'geometry' that is not its geometry.*Rename"):
        read_points(frame)
    points = read_points(frame.drop(columns="geometry"))
    assert points.lonlat_columns == ("lon", "lat")
    lonlat = gpd.GeoDataFrame(geometry=gpd.points_from_xy([2.0], [1.0]), crs=4326)
    assert read_points(lonlat).lonlat_columns is None


@pytest.mark.parametrize("document, problem", [
    ('{"type":"FeatureCollection","crs":{},"features":[]}', "crs"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"v":NaN},'
     '"geometry":null}]}', "NaN"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
     '"geometry":{"type":"Point","coordinates":[]}}]}', "empty coordinates"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
     '"geometry":{"type":"Point","coordinates":[null,null]}}]}', "position"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
     '"geometry":{"type":"Point","coordinates":[200,0]}}]}', "longitude"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":'
     '{"type":"Polygon","coordinates":[[[0,0],[0,1],[1,1],[0,0]]]}}]}', "clockwise"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null}]}',
     "properties"),
])
def test_the_geojson_checker_rejects(document, problem):
    with pytest.raises(AssertionError, match=problem):
        check_geojson(document)

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
    with pytest.raises(DataTypeError, match=r"sample_weight holds text"):
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


def test_rows_of_a_multiindex_are_named_plainly():
    frame = pd.DataFrame({"lat": [38.9, np.nan], "lon": [-77.0, -77.1]},
                         index=pd.MultiIndex.from_tuples([(1, 2), (2, 3)]))
    with pytest.raises(InputError, match=r"row 1 \(index \(2, 3\)\)"):
        read_points(frame)


def test_projected_points_are_checked_by_a_round_trip():
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(-77.03, 38.9)
    good = read_points(gpd.GeoDataFrame(geometry=[shapely.Point(x, y)], crs=3857))
    assert_allclose([good.lon[0], good.lat[0]], [-77.03, 38.9], atol=1e-9)
    wrapped = gpd.GeoDataFrame(geometry=[shapely.Point(1e30, 0.0)], crs=3857)
    with pytest.raises(InputError, match="outside the valid area of its CRS 'EPSG:3857'"):
        read_points(wrapped)
