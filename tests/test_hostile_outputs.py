"""Hostile outputs: every way an output can be wrong, through the library and the CLI.

Each case asserts the exception type (library) or exit code (command line), that the
message names the culprit (the path, option or column), and that no file is left behind
in the case's folder: no output, no temporary file, nothing replaced by a half file.
"""

import functools
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geokmeans as gk
from geokmeans import DataTypeError, InputError
from geokmeans import io as gio

from .hostile import CliCase, LibCase, check_cli_case, check_lib_case


def table(n=24, seed=0, **extra):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"name": [f"p{i}" for i in range(n)],
                          "Latitude": rng.uniform(38.8, 39.0, n),
                          "Longitude": rng.uniform(-77.1, -76.9, n)})
    for name, values in extra.items():
        frame[name] = values
    return frame


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """Inputs and traps: a CSV (and links to it), clashing tables, directories named like
    outputs, an existing output with a symlink and a hard link, a 'locked' directory."""
    n = 24
    table().to_csv(tmp_path / "in.csv", index=False)
    os.link(tmp_path / "in.csv", tmp_path / "in_hard.csv")
    os.symlink(tmp_path / "in.csv", tmp_path / "in_link.csv")
    table(cluster=["x"] * n).to_csv(tmp_path / "clash.csv", index=False)
    table(distance_m=np.ones(n)).to_csv(tmp_path / "dist.csv", index=False)
    table(geometry=["POINT (0 0)"] * n).to_csv(tmp_path / "geom.csv", index=False)
    table(Name=["a"] * n).to_csv(tmp_path / "twins.csv", index=False)
    frame = table()
    gpd.GeoDataFrame(frame.drop(columns=["Latitude"]).assign(lat=np.arange(n)),
                     geometry=gpd.points_from_xy(frame.Longitude, frame.Latitude),
                     crs=4326).drop(columns=["Longitude"]).to_file(tmp_path / "lat.gpkg")
    for name in ("sub", "dir.geojson", "dir.gpkg", "dir.parquet", "dir.html", "locked"):
        (tmp_path / name).mkdir()
    (tmp_path / "old.geojson").write_text("{}")
    (tmp_path / "m.html").write_text("<p>")
    os.symlink(tmp_path / "old.geojson", tmp_path / "link.geojson")
    os.link(tmp_path / "old.geojson", tmp_path / "hard.geojson")
    os.symlink(tmp_path / "m.html", tmp_path / "m_link.geojson")
    # partitioned inputs: a directory of CSV files, Parquet files matched by a glob, a
    # Parquet dataset directory (read in memory as one table)
    (tmp_path / "parts").mkdir()
    table(seed=1).to_csv(tmp_path / "parts" / "a.csv", index=False)
    table(seed=2).to_csv(tmp_path / "parts" / "b.csv", index=False)
    table(seed=3).to_parquet(tmp_path / "p1.parquet")
    table(seed=4).to_parquet(tmp_path / "p2.parquet")
    (tmp_path / "ds.parquet").mkdir()
    table(seed=5).to_parquet(tmp_path / "ds.parquet" / "part.0.parquet")
    # root may write anywhere: the 'locked' directory is refused where the check asks
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False
                        if Path(p) == tmp_path / "locked" else real_access(p, mode, **kw))
    return tmp_path


def result_of(folder, name="in.csv", **options):
    return gk.cluster(folder / name, 3, random_state=0, n_init=1, **options)


@functools.cache
def _shared_result():
    return gk.cluster(table(), 3, random_state=0, n_init=1)


def any_result(folder):
    """A result of in-memory points (no input file): one fit shared by the cases."""
    return _shared_result()


def dask_frame(folder):
    dd = pytest.importorskip("dask.dataframe")
    return dd.from_pandas(pd.read_csv(folder / "in.csv"), npartitions=2)


def dask_read(folder, how):
    """A dask frame read from the folder's partitioned inputs, as a user would."""
    dd = pytest.importorskip("dask.dataframe")
    if how == "csv-glob":
        return dd.read_csv(str(folder / "parts" / "*.csv"))
    if how == "parquet-list":
        return dd.read_parquet([str(folder / "p1.parquet"), str(folder / "p2.parquet")])
    if how == "parquet-dir":
        return dd.read_parquet(str(folder / "ds.parquet"))
    from geokmeans.distributed import read_partitioned

    return read_partitioned(folder / "parts")


def dask_result(folder, how):
    return gk.cluster(dask_read(folder, how), 2, random_state=0, n_init=1)


def frame_with(**columns):
    """A result of in-memory points with extra columns (24 rows)."""
    return gk.cluster(table(**columns), 2, random_state=0, n_init=1)


def plotted(folder):
    pytest.importorskip("matplotlib")
    return gk.choose_k(folder / "in.csv", "2..3", random_state=0)


LONG_NAME = "é" * 126 + ".csv"  # 256 bytes: one more than NAME_MAX


LIB_CASES = [
    # the same file twice, in every spelling
    LibCase("same-file-plain", lambda f: any_result(f).write(points=f / "o.csv",
                                                           centroids=f / "o.csv"),
            InputError, "o.csv", "same file"),
    LibCase("same-file-dot", lambda f: any_result(f).write(points=f / "o.csv",
                                                         hulls=f / "." / "o.csv"),
            InputError, "points output", "hulls output", "same file"),
    LibCase("same-file-dotdot", lambda f: any_result(f).write(
        centroids=f / "o.gpkg", hulls=f / "sub" / ".." / "o.gpkg"), InputError, "same file"),
    LibCase("same-file-symlink", lambda f: any_result(f).write(
        points=f / "old.geojson", centroids=f / "link.geojson"),
        InputError, "link.geojson", "same file"),
    LibCase("same-file-hardlink", lambda f: any_result(f).write(
        points=f / "old.geojson", hulls=f / "hard.geojson"),
        InputError, "hard.geojson", "same file"),
    LibCase("same-file-map-via-symlink", lambda f: any_result(f).write(
        map=f / "m.html", hulls=f / "m_link.geojson"), InputError, "m_link.geojson", "same file"),
    # the input file
    LibCase("onto-input", lambda f: result_of(f).to_file(f / "in.csv"),
            InputError, "refusing to overwrite the input file", "in.csv"),
    LibCase("onto-input-hardlink", lambda f: result_of(f).to_file(f / "in_hard.csv"),
            InputError, "refusing to overwrite the input file", "in_hard.csv"),
    LibCase("onto-input-symlink", lambda f: result_of(f).to_geojson(f / "in_link.csv"),
            InputError, "refusing to overwrite the input file", "in_link.csv"),
    LibCase("onto-input-write", lambda f: gk.cluster(f / "in.csv", 3,
                                                     write={"centroids": f / "sub/../in.csv"}),
            InputError, "refusing to overwrite the input file"),
    # paths that cannot be written
    LibCase("unwritable-dir", lambda f: any_result(f).to_file(f / "locked" / "o.geojson"),
            InputError, "locked", "not writable"),
    LibCase("output-is-dir", lambda f: any_result(f).to_file(f / "dir.geojson"),
            InputError, "dir.geojson", "is a directory"),
    LibCase("missing-parent", lambda f: any_result(f).to_file(f / "no" / "o.geojson"),
            InputError, "no", "does not exist"),
    LibCase("parent-is-file", lambda f: any_result(f).to_file(f / "in.csv" / "o.geojson"),
            InputError, "in.csv", "is not a directory"),
    LibCase("special-file", lambda f: any_result(f).to_geojson("/dev/null"),
            InputError, "/dev/null", "not a regular file"),
    LibCase("path-not-a-path", lambda f: any_result(f).to_file(5),
            DataTypeError, "str or os.PathLike", "int"),
    LibCase("write-path-not-a-path", lambda f: any_result(f).write(hulls=3.5),
            DataTypeError, "hulls output path", "float"),
    # formats and which=
    LibCase("unknown-extension", lambda f: any_result(f).to_file(f / "o.xlsx"),
            InputError, "o.xlsx", "unknown extension '.xlsx'"),
    LibCase("shapefile", lambda f: any_result(f).to_file(f / "o.shp"),
            InputError, "o.shp", "Shapefiles are not written", ".gpkg"),
    LibCase("no-extension", lambda f: any_result(f).to_file(f / "output"),
            InputError, "output", "unknown extension ''"),
    LibCase("map-extension", lambda f: any_result(f).write(map=f / "m.png"),
            InputError, "m.png", ".html"),
    LibCase("which-unknown", lambda f: any_result(f).to_file(f / "o.gpkg", which="everything"),
            InputError, "which='everything'", "'points', 'centroids', 'hulls', 'both' or 'all'"),
    LibCase("which-none", lambda f: any_result(f).to_geojson(f / "o.geojson", which=None),
            InputError, "which=None"),
    LibCase("which-list", lambda f: any_result(f).to_file(f / "o.csv", which=["points"]),
            InputError, "which=['points']"),
    LibCase("parquet-both", lambda f: any_result(f).to_file(f / "o.parquet", which="both"),
            InputError, "o.parquet", "one table", "which='points'", "which='centroids'"),
    LibCase("csv-all", lambda f: any_result(f).to_file(f / "o.CSV", which="all"),
            InputError, "o.CSV", "one table", "which='hulls'"),
    LibCase("to-parquet-all", lambda f: any_result(f).to_parquet(f / "o.parquet", which="all"),
            InputError, "GeoParquet holds one table"),
    LibCase("write-unknown-kind", lambda f: gk.cluster(f / "in.csv", 3,
                                                       write={"labels": f / "o.csv"}),
            InputError, "unknown output 'labels'"),
    LibCase("write-not-a-dict", lambda f: gk.cluster(f / "in.csv", 3, write=str(f / "o.csv")),
            InputError, "write=", "should be None or a dict"),
    # column names: ours must not take the user's
    LibCase("clash-cluster", lambda f: result_of(f, "clash.csv"),
            InputError, "'cluster'", "label_column='cluster_1'"),
    LibCase("clash-distance", lambda f: result_of(f, "dist.csv"),
            InputError, "'distance_m'", "distance_column="),
    LibCase("clash-geometry-column", lambda f: result_of(f, "geom.csv"),
            InputError, "'geometry'", "Rename"),
    LibCase("clash-label-geometry", lambda f: result_of(f, label_column="geometry"),
            InputError, "'geometry'", "label_column="),
    LibCase("clash-label-coordinate", lambda f: result_of(f, label_column="Latitude"),
            InputError, "'Latitude'", "label_column="),
    LibCase("clash-label-distance", lambda f: result_of(f, label_column="d", distance_column="d"),
            InputError, "label_column and distance_column are both 'd'"),
    LibCase("clash-label-empty", lambda f: result_of(f, label_column=""),
            InputError, "label_column=''"),
    LibCase("clash-index-name", lambda f: gk.cluster(
        table().set_index(pd.Index(range(24), name="cluster")), 3),
        InputError, "'cluster'", "label_column="),
    LibCase("clash-csv-lat", lambda f: gk.cluster(f / "lat.gpkg", 3,
                                                  write={"points": f / "o.csv"}),
            InputError, "CSV column 'lat'", "lat=/lon="),
    LibCase("clash-csv-lat-to-file", lambda f: result_of(f, "lat.gpkg").to_file(f / "o.csv"),
            InputError, "CSV column 'lat'"),
    LibCase("gpkg-case-twins", lambda f: result_of(f, "twins.csv").to_file(f / "o.gpkg"),
            InputError, "'name' and 'Name'", "differ only in case"),
    LibCase("parquet-mixed-column", lambda f: gk.cluster(table(mixed=[1, "x"] * 12), 3)
            .to_file(f / "o.parquet"), InputError, "column 'mixed'", "Parquet"),
    LibCase("geojson-out-of-range", lambda f: gio.write_geojson(f / "o.geojson", {
        "points": gpd.GeoDataFrame(geometry=gpd.points_from_xy([181.0], [0.0]), crs=4326)}),
        InputError, "lon=181.0"),
    # dask results: a partitioned dataset is a new directory, of GeoParquet, of the points
    LibCase("dask-points-dataset-exists", lambda f: gk.cluster(dask_frame(f), 3,
                                                               write={"points": f / "sub"}),
            InputError, "sub", "exists"),
    LibCase("dask-points-onto-a-directory", lambda f: gk.cluster(
        dask_frame(f), 3, write={"points": f / "dir.parquet"}),
        InputError, "dir.parquet", "is a directory"),
    LibCase("dask-partitioned-csv", lambda f: gk.cluster(dask_frame(f), 3, n_init=1).to_file(
        f / "o.csv", partitioned=True), InputError, "o.csv", "partitioned dataset is GeoParquet"),
    LibCase("dask-partitioned-centroids", lambda f: gk.cluster(dask_frame(f), 3, n_init=1)
            .to_parquet(f / "c", which="centroids", partitioned=True),
            InputError, "partitioned=True writes the points"),
    LibCase("memory-partitioned", lambda f: any_result(f).to_parquet(f / "p", partitioned=True),
            InputError, "partitioned=True writes the points of a result of a dask input"),
    LibCase("partitioned-not-a-boolean", lambda f: any_result(f).to_file(
        f / "p.parquet", partitioned="yes"), DataTypeError, "partitioned='yes'"),
    # partitioned and directory inputs: every file they read is protected
    LibCase("dask-csv-write-onto-a-part", lambda f: gk.cluster(
        dask_read(f, "csv-glob"), 2, write={"centroids": f / "parts" / "a.csv"}),
        InputError, "refusing to overwrite the input file", "a.csv"),
    LibCase("dask-csv-to-file-onto-a-part", lambda f: dask_result(f, "csv-glob").to_file(
        f / "parts" / "b.csv", which="centroids"),
        InputError, "refusing to overwrite the input file", "b.csv"),
    LibCase("dask-read-partitioned-onto-a-part", lambda f: dask_result(f, "partitioned")
            .to_geojson(f / "parts" / "." / "a.csv", which="centroids"),
            InputError, "refusing to overwrite the input file"),
    LibCase("dask-parquet-list-onto-a-part", lambda f: gk.cluster(
        dask_read(f, "parquet-list"), 2, write={"hulls": f / "p2.parquet"}),
        InputError, "refusing to overwrite the input file", "p2.parquet"),
    LibCase("dask-parquet-dir-output-inside", lambda f: gk.cluster(
        dask_read(f, "parquet-dir"), 2, write={"centroids": f / "ds.parquet" / "c.parquet"}),
        InputError, "inside the input directory", "ds.parquet"),
    LibCase("dask-points-into-input-dir", lambda f: dask_result(f, "parquet-dir").to_parquet(
        f / "ds.parquet" / "labelled.parquet"), InputError, "inside the input directory"),
    LibCase("dask-map-onto-a-part", lambda f: dask_result(f, "csv-glob").explore(tiles=None)
            .save(f / "parts" / "a.csv"), InputError, "refusing to overwrite the input file"),
    LibCase("dataset-dir-output-inside", lambda f: gk.cluster(
        f / "ds.parquet", 2, write={"centroids": f / "ds.parquet" / "c.csv"}),
        InputError, "inside the input directory", "ds.parquet"),
    # maps and plots know their input too
    LibCase("map-save-onto-input", lambda f: result_of(f).explore(tiles=None).save(f / "in.csv"),
            InputError, "refusing to overwrite the input file", "in.csv"),
    LibCase("map-save-onto-input-symlink", lambda f: result_of(f).explore(tiles=None).save(
        f / "in_link.csv"), InputError, "refusing to overwrite the input file", "in_link.csv"),
    LibCase("map-save-map-onto-input", lambda f: __import__("geokmeans.maps").maps.save_map(
        result_of(f).explore(tiles=None), f / "in_hard.csv"), InputError,
        "refusing to overwrite the input file", "in_hard.csv"),
    LibCase("choose-k-plot-onto-input", lambda f: plotted(f).plot(f / "in.csv"),
            InputError, "refusing to overwrite the input file", "in.csv"),
    # names the file system cannot hold: refused before any work
    LibCase("name-too-long", lambda f: gk.cluster(f / "in.csv", 2, write={
        "centroids": f / LONG_NAME}), InputError, "256 bytes", "at most 255", "shorter name"),
    LibCase("name-too-long-to-file", lambda f: any_result(f).to_file(f / LONG_NAME),
            InputError, "256 bytes"),
    LibCase("name-too-long-map", lambda f: any_result(f).explore(tiles=None).save(
        f / ("m" * 252 + ".html")), InputError, "257 bytes"),
    # values a format cannot hold exactly: refused naming the column, never changed
    LibCase("gpkg-uint64-beyond-int64", lambda f: frame_with(
        u=np.array([1] * 23 + [2**64 - 1], dtype=np.uint64)).to_file(f / "o.gpkg"),
        InputError, "column 'u'", "row 23", "18446744073709551615", ".parquet"),
    LibCase("gpkg-nullable-uint64", lambda f: frame_with(
        u=pd.array([None] * 23 + [2**63], dtype="UInt64")).to_file(f / "o.gpkg"),
        InputError, "column 'u'", "9223372036854775808"),
    LibCase("gpkg-python-int-beyond-int64", lambda f: frame_with(
        big=pd.Series([2**70] + [1] * 23, dtype=object)).to_file(f / "o.gpkg"),
        InputError, "column 'big'", "row 0", ".parquet"),
    LibCase("gpkg-submillisecond", lambda f: frame_with(t=pd.to_datetime(
        ["2020-01-01 00:00:00.123456"] * 24)).to_file(f / "o.gpkg", which="all"),
        InputError, "column 't'", "millisecond", ".dt.floor('ms')"),
    LibCase("gpkg-nul-character", lambda f: frame_with(note=["a\x00b"] * 24).to_file(
        f / "o.gpkg"), InputError, "column 'note'", "NUL"),
    LibCase("parquet-python-int-beyond-int64", lambda f: frame_with(
        big=pd.Series([2**70] + [1] * 23, dtype=object)).to_file(f / "o.parquet"),
        InputError, "column 'big'", "Parquet"),
]


def cli(*args):
    return lambda f: ["cluster", *(a.format(f=f) if isinstance(a, str) else a for a in args)]


CLI_CASES = [
    CliCase("same-o-centroids", cli("{f}/in.csv", "-k", 3, "-o", "{f}/o.geojson",
                                    "--centroids", "{f}/o.geojson"),
            2, "-o", "--centroids", "same file"),
    CliCase("same-dot", cli("{f}/in.csv", "-k", 3, "-o", "{f}/o.gpkg", "--hulls",
                            "{f}/./o.gpkg"), 2, "-o", "--hulls", "same file"),
    CliCase("same-dotdot", cli("{f}/in.csv", "-k", 3, "--centroids", "{f}/o.csv", "--hulls",
                               "{f}/sub/../o.csv"), 2, "--centroids", "--hulls", "same file"),
    CliCase("same-symlink", cli("{f}/in.csv", "-k", 3, "-o", "{f}/old.geojson", "--centroids",
                                "{f}/link.geojson"), 2, "link.geojson", "same file"),
    CliCase("same-hardlink", cli("{f}/in.csv", "-k", 3, "--hulls", "{f}/hard.geojson", "-o",
                                 "{f}/old.geojson"), 2, "hard.geojson", "same file"),
    CliCase("same-map-symlink", cli("{f}/in.csv", "-k", 3, "--map", "{f}/m.html", "--hulls",
                                    "{f}/m_link.geojson"), 2, "--map", "--hulls", "same file"),
    CliCase("onto-input", cli("{f}/in.csv", "-k", 3, "-o", "{f}/in.csv"),
            2, "-o", "is the input file"),
    CliCase("onto-input-hardlink", cli("{f}/in.csv", "-k", 3, "--centroids", "{f}/in_hard.csv"),
            2, "--centroids", "in_hard.csv", "is the input file"),
    CliCase("onto-input-symlink", cli("{f}/in.csv", "-k", 3, "--hulls", "{f}/in_link.csv"),
            2, "--hulls", "is the input file"),
    CliCase("unwritable-dir", cli("{f}/in.csv", "-k", 3, "-o", "{f}/locked/o.geojson"),
            2, "-o", "locked", "not writable"),
    CliCase("output-is-dir", cli("{f}/in.csv", "-k", 3, "-o", "{f}/dir.geojson"),
            2, "-o", "dir.geojson", "is a directory"),
    CliCase("centroids-into-dir-after-o", cli("{f}/in.csv", "-k", 3, "-o", "{f}/o.geojson",
                                              "--centroids", "{f}/dir.gpkg"),
            2, "--centroids", "dir.gpkg", "is a directory"),
    CliCase("map-into-dir", cli("{f}/in.csv", "-k", 3, "-o", "{f}/o.csv", "--map",
                                "{f}/dir.html"), 2, "--map", "dir.html", "is a directory"),
    CliCase("map-into-missing-dir", cli("{f}/in.csv", "-k", 3, "--map", "{f}/no/m.html"),
            2, "--map", "does not exist"),
    CliCase("missing-parent", cli("{f}/in.csv", "-k", 3, "--centroids", "{f}/no/c.geojson"),
            2, "--centroids", "does not exist"),
    CliCase("parent-is-file", cli("{f}/in.csv", "-k", 3, "--hulls", "{f}/in.csv/h.geojson"),
            2, "--hulls", "is not a directory"),
    CliCase("unknown-extension", cli("{f}/in.csv", "-k", 3, "-o", "{f}/o.xlsx"),
            2, "-o", "o.xlsx", "unsupported extension"),
    CliCase("map-extension", cli("{f}/in.csv", "-k", 3, "--map", "{f}/m.png"),
            2, "--map", "m.png", ".html"),
    CliCase("hulls-no-extension", cli("{f}/in.csv", "-k", 3, "--hulls", "{f}/hulls"),
            2, "--hulls", "unsupported extension"),
    CliCase("clash-cluster", cli("{f}/clash.csv", "-k", 3, "-o", "{f}/o.csv"),
            2, "'cluster'", "--label-column"),
    CliCase("clash-distance", cli("{f}/dist.csv", "-k", 3, "-o", "{f}/o.csv"),
            2, "'distance_m'", "--distance-column"),
    CliCase("clash-geometry", cli("{f}/geom.csv", "-k", 3, "-o", "{f}/o.geojson"),
            2, "'geometry'"),
    CliCase("label-equals-distance", cli("{f}/in.csv", "-k", 3, "--label-column", "x",
                                         "--distance-column", "x", "-o", "{f}/o.csv"),
            2, "both 'x'"),
    CliCase("label-empty", cli("{f}/in.csv", "-k", 3, "--label-column", "", "-o", "{f}/o.csv"),
            2, "label_column=''"),
    CliCase("label-is-coordinate", cli("{f}/in.csv", "-k", 3, "--label-column", "Longitude",
                                       "-o", "{f}/o.csv"), 2, "'Longitude'", "--label-column"),
    CliCase("clash-csv-lat", cli("{f}/lat.gpkg", "-k", 3, "-o", "{f}/o.csv"),
            2, "CSV column 'lat'", "--lat/--lon"),
    CliCase("gpkg-case-twins", cli("{f}/twins.csv", "-k", 3, "--centroids", "{f}/c.geojson",
                                   "-o", "{f}/o.gpkg"), 2, "'name' and 'Name'", "case"),
    CliCase("partitioned-output-exists", cli("{f}/in*.csv", "-k", 3, "-o", "{f}/sub"),
            2, "-o", "sub", "exists"),
    CliCase("no-extension-in-memory", cli("{f}/in.csv", "-k", 3, "-o", "{f}/labelled"),
            2, "-o", "labelled", "unsupported extension"),
    # partitioned inputs: no output over one of their files, inside their directory, or
    # where their glob would read it on a later run
    CliCase("dir-centroids-onto-a-part", cli("{f}/parts", "-k", 3, "--centroids",
                                             "{f}/parts/a.csv"),
            2, "--centroids", "inside the input directory"),
    CliCase("dir-points-inside", cli("{f}/parts", "-k", 3, "-o", "{f}/parts/x.parquet"),
            2, "-o", "inside the input directory"),
    CliCase("dir-map-in-a-subfolder", cli("{f}/parts", "-k", 3, "--map",
                                          "{f}/parts/sub/m.html"),
            2, "--map", "inside the input directory"),
    CliCase("dir-hulls-via-dotdot", cli("{f}/parts", "-k", 3, "--hulls",
                                        "{f}/sub/../parts/h.geojson"),
            2, "--hulls", "inside the input directory"),
    CliCase("glob-centroids-onto-a-part", cli("{f}/parts/*.csv", "-k", 3, "--centroids",
                                              "{f}/parts/b.csv"),
            2, "--centroids", "input file", "b.csv"),
    CliCase("glob-other-spelling-onto-a-part", cli("{f}/sub/../parts/*.csv", "-k", 3,
                                                   "--centroids", "{f}/parts/a.csv"),
            2, "--centroids", "input file", "a.csv"),
    CliCase("glob-new-file-it-would-match", cli("{f}/parts/*.csv", "-k", 3, "--hulls",
                                                "{f}/parts/new.csv"),
            2, "--hulls", "matches the input pattern", "later run"),
    CliCase("parquet-glob-onto-a-part", cli("{f}/p*.parquet", "-k", 3, "--centroids",
                                            "{f}/p1.parquet"),
            2, "--centroids", "input file", "p1.parquet"),
    CliCase("parquet-glob-new-match", cli("{f}/p*.parquet", "-k", 3, "-o", "{f}/p3.parquet"),
            2, "-o", "matches the input pattern"),
    CliCase("dataset-dir-output-inside", cli("{f}/ds.parquet", "-k", 3, "--centroids",
                                             "{f}/ds.parquet/c.csv"),
            2, "--centroids", "inside the input directory"),
    CliCase("name-too-long", cli("{f}/in.csv", "-k", 3, "-o", "{f}/" + LONG_NAME),
            2, "-o", "256 bytes", "at most 255"),
    CliCase("choose-k-plot-name-too-long", lambda f: ["choose-k", f / "in.csv", "--k", "2..3",
                                                      "--plot", f / ("p" * 252 + ".png")],
            2, "--plot", "256 bytes"),
]


@pytest.mark.parametrize("case", [c.param() for c in LIB_CASES])
def test_library(case, folder):
    check_lib_case(case, folder)


@pytest.mark.parametrize("case", [c.param() for c in CLI_CASES])
def test_command_line(case, folder):
    check_cli_case(case, folder)


def test_the_tables_are_large_enough():
    assert len(LIB_CASES) + len(CLI_CASES) >= 35
    assert len({c.id for c in LIB_CASES}) == len(LIB_CASES)
    assert len({c.id for c in CLI_CASES}) == len(CLI_CASES)
