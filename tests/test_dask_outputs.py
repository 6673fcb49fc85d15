"""Dask results are full results: every format written partition by partition (one
file) or as a partitioned GeoParquet dataset, with the same content as in memory."""

import dataclasses
import decimal
import functools
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal

import geokmeans as gk
from geokmeans import InputError

from .geojson_check import check_geojson, layer_features
from .hostile import run_cli

dask = pytest.importorskip("dask")
pytestmark = pytest.mark.slow
dd = pytest.importorskip("dask.dataframe")
dask_geopandas = pytest.importorskip("dask_geopandas")

DATA = Path(__file__).resolve().parents[1] / "data"
FORMATS = ["geojson", "gpkg", "csv", "parquet"]
HOSTILE = ['q"uote\'s', "ünï ç 東京", "{{ 7*7 }}", "${x}%s", "=SUM(A1)", "kind"]


@pytest.fixture(autouse=True)
def synchronous():
    """Partitions computed in this thread, one after the other."""
    with dask.config.set(scheduler="synchronous"):
        yield


def places():
    """300 US airports in 3 partitions, with hostile column names and cells."""
    frame = pd.read_csv(DATA / "us_airports.csv").head(300)
    rng = np.random.default_rng(0)
    frame[HOSTILE[0]] = [f'=HYPERLINK("x{i}")' for i in range(300)]
    frame[HOSTILE[1]] = rng.normal(size=300) * 1e-300
    frame[HOSTILE[2]] = [None if i < 120 else f"{{{{ {i} }}}}" for i in range(300)]
    frame[HOSTILE[3]] = np.arange(300, dtype=np.int64) * 2**50 + 1
    frame[HOSTILE[4]] = pd.date_range("2024-03-30", periods=300, freq="h", tz="Europe/Paris")
    frame[HOSTILE[5]] = "-12.5"
    return frame


def objects():
    """Object columns whose Arrow types depend on the values: missing in the whole first
    partition, nested values, binary, decimals of growing precision."""
    frame = pd.read_csv(DATA / "us_airports.csv").head(300)[["name", "latitude", "longitude"]]
    frame["nested"] = pd.Series([None if i < 110 else {"a": [i, 0.5]} for i in range(300)],
                                dtype=object)
    frame["blob"] = pd.Series([bytes([i % 256, 0]) for i in range(300)], dtype=object)
    frame["price"] = pd.Series([decimal.Decimal(i) / 4 * (10 if i > 200 else 1)
                                for i in range(300)], dtype=object)
    return frame


@functools.cache
def _fit(kind):
    if kind == "geo":  # a GeoDataFrame in a projected CRS: GeoPackage keeps it
        frame = places()
        geo = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.longitude,
                                                                  frame.latitude), crs=4326)
        data = dask_geopandas.from_geopandas(geo.to_crs(3857), npartitions=3)
    elif kind == "table":  # lat/lon columns: points get their geometry when written
        data = dd.from_pandas(places(), npartitions=3)
    else:
        with dask.config.set({"dataframe.convert-string": False}):
            data = dd.from_pandas(objects(), npartitions=3)
    return gk.cluster(data, 3, random_state=0, n_init=1)


def in_memory(result):
    """The in-memory result of the same computed points (as ``cluster`` builds them)."""
    points = result.points.compute()
    if result.coordinate_columns is not None:
        lon, lat = result.coordinate_columns
        added = [result.label_column, result.distance_column]
        values = {name: points.pop(name) for name in added}
        points = gk.io.PointTable(points, points[lon].to_numpy(float),  # geometry deferred
                                  points[lat].to_numpy(float))
        for name in added:
            points[name] = values[name]
    memory = dataclasses.replace(result, points=points)
    memory.__dict__["hulls"] = result.hulls  # computed from the dask result's model
    assert not memory.is_dask
    return memory


@pytest.fixture(scope="module", params=["geo", "table", "objects"])
def results(request):
    with dask.config.set(scheduler="synchronous"):
        result = _fit(request.param)
        return result, in_memory(result)


def assert_same_file(dask_path, memory_path, fmt, layer=None):
    """Both files hold the same tables: rows in order, columns, dtypes, geometry, CRS."""
    if fmt in ("geojson", "csv"):  # the same text, byte for byte
        assert dask_path.read_bytes() == memory_path.read_bytes()
    if fmt == "geojson":
        assert check_geojson(dask_path) == json.loads(memory_path.read_text())
    elif fmt == "csv":
        assert_frame_equal(pd.read_csv(dask_path), pd.read_csv(memory_path))
    elif fmt == "gpkg":
        assert_geodataframe_equal(gpd.read_file(dask_path, layer=layer),
                                  gpd.read_file(memory_path, layer=layer), check_crs=True)
        info, expected = (pyogrio.read_info(p, layer=layer) for p in (dask_path, memory_path))
        for key in ("fields", "dtypes", "ogr_types", "crs", "geometry_type", "features",
                    "fid_column", "geometry_name", "layer_metadata", "total_bounds"):
            assert np.array_equal(info[key], expected[key]), key
    else:
        assert_geodataframe_equal(gpd.read_parquet(dask_path), gpd.read_parquet(memory_path))
        assert pq.read_schema(dask_path).equals(pq.read_schema(memory_path),
                                                check_metadata=True)
        assert (pq.ParquetFile(dask_path).metadata.metadata
                == pq.ParquetFile(memory_path).metadata.metadata)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_file_as_in_memory(results, fmt, tmp_path):
    result, memory = results
    result.to_file(tmp_path / f"dask.{fmt}")
    memory.to_file(tmp_path / f"memory.{fmt}")
    assert_same_file(tmp_path / f"dask.{fmt}", tmp_path / f"memory.{fmt}", fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"dask.{fmt}", f"memory.{fmt}"]


def test_hostile_names_and_cells_kept(tmp_path):
    result = _fit("table")
    result.to_file(tmp_path / "p.geojson")
    result.to_file(tmp_path / "p.csv")
    result.to_file(tmp_path / "p.parquet")
    feature = check_geojson(tmp_path / "p.geojson")["features"][130]
    assert list(feature["properties"])[-8:] == [*HOSTILE, "cluster", "distance_m"]
    assert feature["properties"]["{{ 7*7 }}"] == "{{ 130 }}"
    assert feature["properties"]["${x}%s"] == 130 * 2**50 + 1  # digit for digit
    assert feature["properties"]["kind"] == "-12.5" and feature["geokmeans:layer"] == "points"
    header = (tmp_path / "p.csv").read_bytes().decode("utf-8").split("\r\n")[0]
    assert header.endswith('"q""uote\'s",ünï ç 東京,{{ 7*7 }},${x}%s,\'=SUM(A1),kind,cluster,'
                           'distance_m')
    back = pd.read_csv(tmp_path / "p.csv")
    assert back['q"uote\'s'][0] == '\'=HYPERLINK("x0")'  # a formula made inert
    parquet = gpd.read_parquet(tmp_path / "p.parquet")
    assert_frame_equal(parquet[HOSTILE], places()[HOSTILE], check_dtype=False)


def test_raw_csv_as_in_memory(results, tmp_path):
    result, memory = results
    result.to_file(tmp_path / "dask.csv", csv_raw=True)
    memory.to_file(tmp_path / "memory.csv", csv_raw=True)
    assert_same_file(tmp_path / "dask.csv", tmp_path / "memory.csv", "csv")


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_all_tables_in_one_file(results, fmt, tmp_path):
    result, memory = results
    result.to_file(tmp_path / f"dask.{fmt}", which="all")
    memory.to_file(tmp_path / f"memory.{fmt}", which="all")
    if fmt == "gpkg":
        assert pyogrio.list_layers(tmp_path / "dask.gpkg")[:, 0].tolist() == [
            "points", "centroids", "hulls"]
        for layer in ("points", "centroids", "hulls"):
            assert_same_file(tmp_path / "dask.gpkg", tmp_path / "memory.gpkg", fmt, layer)
    else:
        assert_same_file(tmp_path / "dask.geojson", tmp_path / "memory.geojson", fmt)
        collection = check_geojson(tmp_path / "dask.geojson")
        assert [len(layer_features(collection, k)) for k in ("points", "centroids", "hulls")] \
            == [300, 3, 3]


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_partitions_and_a_named_index(fmt, tmp_path):
    frame = pd.read_csv(DATA / "us_airports.csv").head(300)
    frame.index = pd.Index(np.arange(300) * 3, name="site id")
    result = gk.cluster(dd.from_pandas(frame, npartitions=3), 3, random_state=0, n_init=1)
    emptied = result.points.map_partitions(lambda p: p.iloc[:0] if p.index[0] != 300 else p)
    hulls = result.hulls
    result = dataclasses.replace(result, points=emptied)  # partitions of 0, 100 and 0 rows
    result.__dict__["hulls"] = hulls
    memory = in_memory(result)
    assert len(memory.points) == 100
    which = "all" if fmt in ("gpkg", "geojson") else "points"
    result.to_file(tmp_path / f"dask.{fmt}", which=which)
    memory.to_file(tmp_path / f"memory.{fmt}", which=which)
    assert_same_file(tmp_path / f"dask.{fmt}", tmp_path / f"memory.{fmt}", fmt, "points")
    if fmt == "csv":  # the named index is a column
        assert (tmp_path / "dask.csv").read_bytes().startswith(b"site id,iata,")


def test_types_differing_between_partitions_refused_as_in_memory(tmp_path):
    frame = objects()[["name", "latitude", "longitude"]]
    frame["mixed"] = pd.Series([i if i < 100 else f"t{i}" for i in range(300)], dtype=object)
    with dask.config.set({"dataframe.convert-string": False}):
        result = gk.cluster(dd.from_pandas(frame, npartitions=3), 3, random_state=0, n_init=1)
    for write in (lambda: in_memory(result).to_file(tmp_path / "m.parquet"),
                  lambda: result.to_file(tmp_path / "p.parquet"),
                  lambda: result.to_parquet(tmp_path / "dataset")):
        with pytest.raises(InputError, match="column 'mixed' cannot be written to Parquet"):
            write()
    assert list(tmp_path.iterdir()) == []


def test_write_several_formats(results, tmp_path):
    result, memory = results
    result.write(points=tmp_path / "p.gpkg", centroids=tmp_path / "c.csv",
                 hulls=tmp_path / "h.geojson")
    memory.to_file(tmp_path / "m.gpkg")
    assert_same_file(tmp_path / "p.gpkg", tmp_path / "m.gpkg", "gpkg")
    assert len(pd.read_csv(tmp_path / "c.csv")) == 3
    assert len(check_geojson(tmp_path / "h.geojson")["features"]) == 3


def test_parquet_file_or_partitioned_dataset(results, tmp_path):
    result, memory = results
    memory.to_parquet(tmp_path / "memory.parquet")
    expected = gpd.read_parquet(tmp_path / "memory.parquet")
    result.to_parquet(tmp_path / "bare")  # no extension: a dataset
    result.to_file(tmp_path / "forced.parquet", partitioned=True)
    result.write(points=tmp_path / "written")
    for name in ("bare", "forced.parquet", "written"):
        folder = tmp_path / name
        assert folder.is_dir(), name
        assert sorted(p.name for p in folder.iterdir()) == [f"part.{i}.parquet" for i in range(3)]
        assert_geodataframe_equal(gpd.read_parquet(folder), expected)
        first = pq.read_schema(folder / "part.0.parquet")
        assert json.loads(first.metadata[b"geokmeans"]) == json.loads(json.dumps(
            result.metadata))
        assert first.remove_metadata().equals(pq.read_schema(
            tmp_path / "memory.parquet").remove_metadata())
    result.to_parquet(tmp_path / "one.parquet", partitioned=False)
    assert (tmp_path / "one.parquet").is_file()
    with pytest.raises(InputError, match="exists; choose a new directory"):
        result.to_parquet(tmp_path / "bare")
    with pytest.raises(InputError, match="unknown extension"):
        result.to_file(tmp_path / "bare2", which="centroids")


def test_points_never_computed_whole(results, tmp_path, monkeypatch):
    result, _ = results
    # neither the frame nor a Dask collection is computed at once: partition by partition
    monkeypatch.setattr(type(result.points), "compute",
                        lambda *a, **k: pytest.fail("the whole frame was computed"))
    for fmt in FORMATS:
        result.to_file(tmp_path / f"p.{fmt}")
    result.to_parquet(tmp_path / "dataset")


def _exploding(result):
    """The result with points whose second partition raises when computed."""
    def explode(part):
        if len(part) and part.index[0] == 100:
            raise RuntimeError("partition 1 failed")
        return part

    points = result.points.map_partitions(explode, meta=result.points._meta)
    return dataclasses.replace(result, points=points)


@pytest.mark.parametrize("target", [*(f"out.{f}" for f in FORMATS), "dataset"])
def test_failing_partition_leaves_nothing(target, tmp_path):
    broken = _exploding(_fit("table"))
    path = tmp_path / target
    if path.suffix:
        path.write_text("previous")
    (tmp_path / "c.csv").write_text("old centroids")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RuntimeError, match="partition 1 failed"):
        broken.to_parquet(path) if not path.suffix else broken.to_file(path)
    with pytest.raises(RuntimeError, match="partition 1 failed"):
        broken.write(points=path, centroids=tmp_path / "c.csv")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def _with_row(result, row, **columns):
    """The result with ``columns`` changed at index ``row`` only ({name: (value, at row)})."""
    def change(part):
        part = part.copy()
        for name, (value, special) in columns.items():
            part[name] = pd.Series([special if i == row else value for i in part.index],
                                   index=part.index)
        return part

    return dataclasses.replace(result, points=result.points.map_partitions(change))


def test_rows_named_across_partitions(tmp_path):
    result = _fit("table")
    fine = pd.Timestamp("2024-01-01 00:00:00.000000001")
    late = _with_row(result, 250, late=(pd.Timestamp("2024-01-01"), fine))
    with pytest.raises(InputError, match=r"column 'late' of the points .* row 250 holds"):
        late.to_file(tmp_path / "p.gpkg")
    far = _with_row(result, 280, longitude=(-77.0, 200.0))
    with pytest.raises(InputError, match="row 280 has lon=200.0"):
        far.to_file(tmp_path / "p.geojson")
    assert list(tmp_path.iterdir()) == []


def test_outputs_over_the_input_refused(tmp_path):
    frame = places()[["name", "latitude", "longitude"]]
    (tmp_path / "in").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(300), 3)):
        frame.iloc[rows].to_parquet(tmp_path / "in" / f"p{i}.parquet")
    result = gk.cluster(dd.read_parquet(str(tmp_path / "in" / "*.parquet")), 3,
                        random_state=0, n_init=1)
    before = {p: p.read_bytes() for p in (tmp_path / "in").iterdir()}
    with pytest.raises(InputError, match="refusing to overwrite the input file"):
        result.to_file(tmp_path / "in" / "p1.parquet")
    with pytest.raises(InputError, match="refusing to overwrite the input file"):
        result.write(points=tmp_path / "in" / "p2.parquet")
    with pytest.raises(InputError, match="input"):
        result.to_parquet(tmp_path / "in" / "p0.parquet", partitioned=True)
    assert {p: p.read_bytes() for p in (tmp_path / "in").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_command_line_writes_every_format(tmp_path):
    (tmp_path / "parts").mkdir()
    frame = places()[["name", "latitude", "longitude"]]
    for i, rows in enumerate(np.array_split(np.arange(300), 3)):
        frame.iloc[rows].to_csv(tmp_path / "parts" / f"{i}.csv", index=False)
    for out in ("p.gpkg", "p.csv", "p.geojson", "p.parquet", "dataset"):
        code, _, err = run_cli(["cluster", tmp_path / "parts", "-k", 3, "--seed", 0,
                                "-o", tmp_path / out])
        assert code == 0, err
    labels = pd.read_csv(tmp_path / "p.csv").cluster
    assert len(labels) == 300
    assert (gpd.read_file(tmp_path / "p.gpkg").cluster == labels).all()
    assert (gpd.read_parquet(tmp_path / "p.parquet").cluster == labels).all()
    assert (gpd.read_parquet(tmp_path / "dataset").cluster == labels).all()
    assert len(check_geojson(tmp_path / "p.geojson")["features"]) == 300
    before = sorted(os.listdir(tmp_path / "dataset"))
    code, _, err = run_cli(["cluster", tmp_path / "parts", "-k", 3, "-o", tmp_path / "dataset"])
    assert code == 2 and "exists" in err
    assert sorted(os.listdir(tmp_path / "dataset")) == before
