"""Dask back end on a 2-worker, 2-process LocalCluster: same results as in memory."""

import itertools
import logging
import os
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import geokmeans as gk
from geokmeans import InputError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
dask_geopandas = pytest.importorskip("dask_geopandas")

DATA = Path(__file__).resolve().parents[1] / "data"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def ais():
    return pd.read_csv(DATA / "ny_harbor_ais.csv")


@pytest.fixture(scope="module")
def ais_fifth(ais):
    """Every fifth position (10,000): the same harbour, fewer map-reduce rounds to split."""
    return ais.iloc[::5].reset_index(drop=True)


def seeds_from(frame, k, seed):
    rows = np.random.default_rng(seed).choice(len(frame), k, replace=False)
    return frame[["lon", "lat"]].to_numpy()[rows]


def assert_same_fit(distributed_model, memory_model):
    assert_array_equal(distributed_model.labels_.compute().to_numpy(), memory_model.labels_)
    assert_allclose(distributed_model.cluster_centers_m_, memory_model.cluster_centers_m_,
                    rtol=1e-9)
    assert distributed_model.inertia_ == pytest.approx(memory_model.inertia_, rel=1e-9)
    assert distributed_model.n_iter_ == memory_model.n_iter_
    assert distributed_model.crs_ == memory_model.crs_
    for column in ["n_points", "weight", "mean_distance_m", "max_distance_m"]:
        # distances on the workers use lon/lat back from the projected rows (not kept, to
        # save memory): equal within a micrometre
        assert_allclose(distributed_model.centroids_[column], memory_model.centroids_[column],
                        rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("npartitions", [1, 5])
def test_same_as_in_memory_from_same_centres(client, ais_fifth, seed, npartitions):
    ais = ais_fifth  # 10,000 positions: the same checks, fewer map-reduce rounds
    init = seeds_from(ais, 6, seed)
    frame = ais.assign(w=np.random.default_rng(seed).uniform(0.5, 2.0, len(ais)))
    on_dask = gk.GeoKMeans(6, init=init).fit(dd.from_pandas(frame, npartitions=npartitions),
                                             sample_weight="w")
    in_memory = gk.GeoKMeans(6, init=init).fit(frame, sample_weight="w")
    assert_same_fit(on_dask, in_memory)


def test_bbox_restarts_as_in_memory(client, ais_fifth, caplog):
    ais = ais_fifth  # 10,000 positions: the same checks, fewer map-reduce rounds
    # n_init="auto" is 10 bbox seedings, drawn from the same generator as in memory; the
    # run with the lowest inertia is kept, with a DEBUG progress record per run
    with caplog.at_level(logging.DEBUG, logger="geokmeans"):
        on_dask = gk.GeoKMeans(5, init="bbox", random_state=4).fit(
            dd.from_pandas(ais, npartitions=3))
    progress = [r.progress for r in caplog.records if hasattr(r, "progress")]
    assert progress == [(run, 10) for run in range(1, 11)]
    in_memory = gk.GeoKMeans(5, init="bbox", random_state=4).fit(ais)
    assert_same_fit(on_dask, in_memory)
    single = gk.GeoKMeans(5, init="bbox", random_state=4, n_init=1).fit(
        dd.from_pandas(ais, npartitions=3))
    assert on_dask.inertia_ <= single.inertia_
    with pytest.raises(InputError, match=r"n_init=0 should be 'auto' or an integer in \[1, "):
        gk.GeoKMeans(5, init="bbox", n_init=0).fit(dd.from_pandas(ais, npartitions=3))
    with pytest.warns(RuntimeWarning, match="n_init=3 ignored"):
        gk.GeoKMeans(5, init=seeds_from(ais, 5, 0), n_init=3).fit(
            dd.from_pandas(ais, npartitions=3))


def test_random_seeds_weighted_without_replacement(seed):
    # the k smallest exponential keys: the first drawn row follows the weights, as in memory
    from geokmeans.core._plans import random_rows
    from geokmeans.core._source import Chunk

    class Chunks:  # a source of several chunks in this process
        def __init__(self, parts):
            starts = np.cumsum([0] + [len(X) for X, _ in parts])
            self.chunks = [Chunk(X, w, index=i, first_row=starts[i])
                           for i, (X, w) in enumerate(parts)]

        def map(self, fn, *args):
            return [fn(c, *args) for c in self.chunks]

    def _init_random(parts, k, rng):
        return random_rows(Chunks(parts), k, rng)

    X = np.arange(4.0)[:, None]
    parts = [(X[:2], np.array([1.0, 0.0])), (X[2:], np.array([1.0, 2.0]))]
    rng = np.random.default_rng(seed)
    firsts = []
    for _ in range(4000):
        centres = _init_random(parts, 2, rng)
        assert centres[0, 0] != centres[1, 0] and 1.0 not in centres[:, 0]
        firsts.append(centres[0, 0])
    freq = np.bincount(np.array(firsts, dtype=int), minlength=4) / 4000
    assert freq[3] == pytest.approx(0.5, abs=0.04)
    assert freq[0] == pytest.approx(0.25, abs=0.04)
    # fewer positive weights than k: all of them, then distinct zero-weight rows
    parts = [(X[:2], np.array([0.0, 3.0])), (X[2:], np.array([0.0, 0.0]))]
    centres = _init_random(parts, 3, rng)
    assert 1.0 in centres[:, 0] and len(np.unique(centres)) == 3


def test_random_init_on_dask_as_in_memory(client, ais_fifth, caplog):
    # a row's random key depends on its position only: uneven partitions draw the rows
    # memory draws, so every restart is the in-memory one
    frame = ais_fifth.assign(w=np.random.default_rng(2).uniform(0.5, 2.0, len(ais_fifth)))
    parts = dd.from_pandas(frame, npartitions=1).repartition(divisions=[0, 10, 4000, 9999])
    with caplog.at_level(logging.DEBUG, logger="geokmeans"):
        on_dask = gk.GeoKMeans(6, init="random", random_state=0, n_init=4).fit(
            parts, sample_weight="w")
    assert [r.progress for r in caplog.records if hasattr(r, "progress")] == [
        (run, 4) for run in range(1, 5)]
    in_memory = gk.GeoKMeans(6, init="random", random_state=0, n_init=4).fit(
        frame, sample_weight="w")
    assert_same_fit(on_dask, in_memory)


@pytest.mark.parametrize("crs", ["auto", "sphere"])
def test_max_radius_on_dask_as_in_memory(client, ais_fifth, crs):
    from geokmeans.stats import geodesic_distances_m

    ais = ais_fifth
    frame = ais.assign(w=np.random.default_rng(0).uniform(0.5, 2.0, len(ais)))
    init = seeds_from(ais, 3, 1)
    model = gk.GeoKMeans(3, init=init, max_radius_m=6000, crs=crs).fit(
        dd.from_pandas(frame, npartitions=3), sample_weight="w")
    assert model.n_clusters_ > 3
    labels = model.labels_.compute().to_numpy()
    lon, lat = model.cluster_centers_.T
    dist = geodesic_distances_m(ais.lon, ais.lat, lon[labels], lat[labels])
    assert dist.max() <= 6000
    # the same splits (centroid and farthest member, 2-means to a fixed point) as in memory
    in_memory = gk.GeoKMeans(3, init=init, max_radius_m=6000, crs=crs).fit(
        frame, sample_weight="w")
    assert model.n_clusters_ == in_memory.n_clusters_
    assert_same_fit(model, in_memory)


def test_dask_geopandas_and_sphere(client):
    import geopandas as gpd

    airports = pd.read_csv(DATA / "us_airports.csv")
    gdf = gpd.GeoDataFrame(airports, geometry=gpd.points_from_xy(airports.longitude,
                                                                 airports.latitude),
                           crs=4326).to_crs(3857)
    init = airports[["longitude", "latitude"]].to_numpy()[[0, 100, 1000, 2000, 3000]]
    on_dask = gk.GeoKMeans(5, init=init).fit(dask_geopandas.from_geopandas(gdf, npartitions=4))
    in_memory = gk.GeoKMeans(5, init=init).fit(gdf)
    assert on_dask.crs_ == "sphere"
    assert_same_fit(on_dask, in_memory)


def test_dask_array_of_lonlat(client, ais):
    import dask.array as da

    lonlat = ais[["lon", "lat"]].to_numpy()
    init = seeds_from(ais, 4, 0)
    on_dask = gk.GeoKMeans(4, init=init).fit(da.from_array(lonlat, chunks=(7000, 2)))
    in_memory = gk.GeoKMeans(4, init=init).fit(lonlat)
    assert_same_fit(on_dask, in_memory)


def test_empty_and_uneven_partitions(client, ais):
    sizes = [0, 7, 30_000, 1, 0, 19_992]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    pieces = [ais.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    import dask

    frame = dd.from_delayed([dask.delayed(p) for p in pieces],
                            meta=ais.iloc[:0])
    assert frame.npartitions == 6
    init = seeds_from(ais, 5, 1)
    on_dask = gk.GeoKMeans(5, init=init).fit(frame)
    in_memory = gk.GeoKMeans(5, init=init).fit(ais)
    assert_same_fit(on_dask, in_memory)


def test_empty_clusters_relocated_as_in_memory(client, ais):
    # seeds in the box's far corners leave clusters empty at the first step
    init = np.array([[-74.2, 40.6], [-60.0, 10.0], [-50.0, 20.0], [-73.9, 40.8]])
    on_dask = gk.GeoKMeans(4, init=init, crs="EPSG:32618").fit(dd.from_pandas(ais, npartitions=3))
    in_memory = gk.GeoKMeans(4, init=init, crs="EPSG:32618").fit(ais)
    assert_same_fit(on_dask, in_memory)
    assert (in_memory.centroids_.n_points > 0).all()


def test_kmeans_parallel_seeding_quality(client, ais_fifth):
    ais = ais_fifth  # 10,000 positions: the same checks, fewer map-reduce rounds
    on_dask = gk.GeoKMeans(8, random_state=0).fit(dd.from_pandas(ais, npartitions=4))
    in_memory = [gk.GeoKMeans(8, random_state=s).fit(ais).inertia_ for s in range(5)]
    assert on_dask.inertia_ <= 1.1 * np.median(in_memory)
    again = gk.GeoKMeans(8, random_state=0).fit(dd.from_pandas(ais, npartitions=4))
    assert_allclose(again.cluster_centers_m_, on_dask.cluster_centers_m_)  # reproducible
    plain = gk.GeoKMeans(8, random_state=0, local_search=0).fit(dd.from_pandas(ais, npartitions=4))
    assert plain.inertia_ <= 1.1 * np.median(in_memory)


def test_worker_killed_mid_fit_is_survived(client, ais):
    init = seeds_from(ais, 6, 2)
    frame = dd.from_pandas(ais, npartitions=6)
    killed = threading.Event()

    class KillOnSecondIteration(logging.Handler):
        def emit(self, record):
            if "iteration 2," in record.getMessage() and not killed.is_set():
                killed.set()
                victim = sorted(client.scheduler_info()["workers"])[0]
                try:
                    client.run(os._exit, 1, workers=[victim])
                except Exception:  # the worker dies during the call
                    pass

    handler = KillOnSecondIteration()
    logger = logging.getLogger("geokmeans")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        on_dask = gk.GeoKMeans(6, init=init, verbose=1).fit(frame)
    finally:
        logger.removeHandler(handler)
    assert killed.is_set()
    in_memory = gk.GeoKMeans(6, init=init).fit(ais)
    assert_same_fit(on_dask, in_memory)
    client.wait_for_workers(2, timeout=60)


def test_bad_partition_gives_the_in_memory_error(client, ais):
    bad = ais.copy()
    bad.loc[[23_456, 41_000, 41_001], "lat"] = np.nan  # in two of the five partitions
    with pytest.raises(InputError) as in_memory:
        gk.GeoKMeans(3).fit(bad)
    with pytest.raises(InputError) as on_dask:
        gk.GeoKMeans(3).fit(dd.from_pandas(bad, npartitions=5))
    assert str(on_dask.value) == str(in_memory.value)
    assert "row 23456" in str(on_dask.value) and "(3 such rows)" in str(on_dask.value)


def test_cluster_result_and_partitioned_parquet(client, ais, tmp_path):
    result = gk.cluster(dd.from_pandas(ais, npartitions=4), 5, random_state=0)
    assert result.is_dask
    out = tmp_path / "points"  # no extension: a dataset, a file per partition
    result.to_parquet(out, which="points")
    assert sorted(p.name for p in out.iterdir()) == [f"part.{i}.parquet" for i in range(4)]
    back = pd.read_parquet(out)
    assert len(back) == len(ais)
    assert_array_equal(np.bincount(back.cluster, minlength=5), result.centroids.n_points)
    with pytest.raises(InputError, match="exists"):
        result.to_parquet(out, which="points")
    result.to_parquet(tmp_path / "points.parquet")  # one file, streamed from the cluster
    assert_array_equal(pd.read_parquet(tmp_path / "points.parquet").cluster, back.cluster)


def test_unsupported_options_are_clear(client, ais):
    frame = dd.from_pandas(ais, npartitions=2)
    with pytest.raises(InputError, match="column name"):
        gk.GeoKMeans(3).fit(frame, sample_weight=np.ones(len(ais)))


def test_cli_partitioned_csv_on_the_cluster(client, ais, tmp_path):
    import geopandas as gpd

    from .hostile import run_cli

    for i, rows in enumerate(np.array_split(np.arange(len(ais)), 3)):
        ais.iloc[rows].to_csv(tmp_path / f"ais_{i}.csv", index=False)
    pattern = str(tmp_path / "ais_*.csv")
    outputs = {}
    for name, extra in [("local", []), ("cluster", ["--dask", client.scheduler.address])]:
        out = tmp_path / f"{name}.parquet"
        code, stdout, err = run_cli(["cluster", pattern, "-k", "4", "--seed", "0", "-o", out,
                                     "--centroids", tmp_path / f"{name}_c.geojson", "--map",
                                     tmp_path / f"{name}.html", *extra])
        assert code == 0, err
        assert stdout.startswith("50,000 points, k=4, CRS EPSG:32618")
        outputs[name] = pd.read_parquet(out).cluster.to_numpy()
        from .geojson_check import check_geojson

        check_geojson(tmp_path / f"{name}_c.geojson")
        centroids = gpd.read_file(tmp_path / f"{name}_c.geojson")
        assert centroids.n_points.sum() == len(ais)
        page = (tmp_path / f"{name}.html").read_text()
        assert "of 50,000 points (a sample of each cluster)" in page
    assert_array_equal(outputs["local"], outputs["cluster"])
    assert_array_equal(np.bincount(outputs["local"], minlength=4),
                       centroids.n_points.to_numpy())


def test_cli_max_radius_on_the_cluster(client, ais_fifth, tmp_path):
    import geopandas as gpd

    from .hostile import run_cli

    ais = ais_fifth
    for i, rows in enumerate(np.array_split(np.arange(len(ais)), 2)):
        ais.iloc[rows].to_csv(tmp_path / f"ais_{i}.csv", index=False)
    code, out, err = run_cli(["cluster", tmp_path / "ais_*.csv", "-k", "2", "--max-radius-m",
                              "3000", "--seed", "0", "--centroids", tmp_path / "c.geojson",
                              "--dask", client.scheduler.address])
    assert code == 0, err
    assert "(from -k 2, split to a 3000 m radius)" in out
    from .geojson_check import check_geojson

    check_geojson(tmp_path / "c.geojson")
    centroids = gpd.read_file(tmp_path / "c.geojson")
    assert len(centroids) > 2 and centroids.max_distance_m.max() <= 3000
    assert centroids.n_points.sum() == len(ais)


def test_map_of_a_dask_result_draws_a_per_cluster_sample(client, ais):
    from geokmeans.distributed import sample_points
    from geokmeans.maps import cluster_quota

    result = gk.cluster(dd.from_pandas(ais, npartitions=4), 5, random_state=0)
    sizes = result.centroids.n_points.to_numpy()
    quota = cluster_quota(sizes, 2000)
    assert quota.sum() <= 2000 and (quota >= np.minimum(sizes, 50)).all()
    sample = sample_points(result, quota, random_state=0)
    full = result.points.compute()
    # sampled rows are input rows, at their coordinates, with their labels
    assert_array_equal(sample.cluster.to_numpy(), full.cluster.loc[sample.index].to_numpy())
    assert_allclose(sample.geometry.x, full.lon.loc[sample.index])
    assert_allclose(sample.geometry.y, full.lat.loc[sample.index])
    counts = np.bincount(sample.cluster, minlength=5)
    assert ((counts >= 0.8 * quota) & (counts <= 1.4 * quota)).all(), (counts, quota)
    again = sample_points(result, quota, random_state=0)
    assert_array_equal(again.index, sample.index)  # reproducible
    page = result.explore(max_points=2000, tiles=None).get_root().render()
    shown = int(page.split("Showing ")[1].split(" of 50,000 points")[0].replace(",", ""))
    assert shown <= 2000 and shown >= 0.9 * quota.sum()
    for size in sizes:  # the legend gives the true size of every cluster
        assert f"{size:,}" in page
    page = result.explore(max_points=2000, tiles=None, hulls=True).get_root().render()
    assert "convex hulls" in page


@pytest.mark.parametrize("crs", ["auto", "sphere"])
def test_hulls_of_a_dask_result_equal_in_memory(client, ais, crs):
    import shapely

    init = seeds_from(ais, 5, 2)
    on_dask = gk.cluster(dd.from_pandas(ais, npartitions=4), 5, init=init, crs=crs)
    in_memory = gk.cluster(ais, 5, init=init, crs=crs)
    # the same vertices; the centres, by which hulls are cut at the 180° meridian, differ
    # in the last bits on the sphere (partition sums are added in another order), so the
    # cut vertices may too: 1e-9° is 0.1 mm
    for a, b in zip(on_dask.hulls.geometry, in_memory.hulls.geometry, strict=True):
        assert a.geom_type == b.geom_type == "Polygon"
        assert shapely.equals_exact(a, b, tolerance=1e-9)
    assert_array_equal(on_dask.hulls.n_points, in_memory.hulls.n_points)


def test_cli_dask_errors(tmp_path, monkeypatch):
    from geokmeans import cli

    from .hostile import run_cli

    monkeypatch.setattr(cli, "CONNECT_TIMEOUT_S", 1)  # nothing listens there: no need to wait

    code, _, err = run_cli(["cluster", tmp_path / "none_*.csv", "-k", "3"])
    assert code == 2 and "no input files match" in err
    code, _, err = run_cli(["cluster", DATA / "dc_places.csv", "-k", "3", "--dask",
                            "tcp://127.0.0.1:1"])
    assert code == 2 and "cannot reach the dask scheduler" in err


def test_dropna_on_dask_matches_memory(client, ais):
    bad = ais.copy()
    bad.loc[[10, 30_000, 30_001], "lon"] = np.nan
    init = seeds_from(ais.drop(index=[10, 30_000, 30_001]), 4, 3)
    with pytest.warns(gk.GeoKMeansWarning, match="skipped 3 rows"):
        on_dask = gk.GeoKMeans(4, init=init, dropna=True).fit(dd.from_pandas(bad, npartitions=4))
    with pytest.warns(gk.GeoKMeansWarning):
        in_memory = gk.GeoKMeans(4, init=init, dropna=True).fit(bad)
    assert on_dask.n_dropped_ == in_memory.n_dropped_ == 3
    labels = on_dask.labels_.compute().to_numpy()
    assert (labels[[10, 30_000, 30_001]] == -1).all()
    assert_same_fit(on_dask, in_memory)


def test_dropna_with_a_partition_of_missing_rows(client, ais):
    """A partition without one row with coordinates is dropped whole, as in memory; only an
    input with none anywhere is refused, with the in-memory message."""
    bad = ais.copy()
    part = len(bad) // 4
    bad.loc[: part - 1, "lat"] = np.nan  # the whole first of four partitions
    init = seeds_from(bad.dropna(subset=["lat"]), 4, 5)
    with pytest.warns(gk.GeoKMeansWarning):
        on_dask = gk.GeoKMeans(4, init=init, dropna=True).fit(dd.from_pandas(bad, npartitions=4))
    with pytest.warns(gk.GeoKMeansWarning):
        in_memory = gk.GeoKMeans(4, init=init, dropna=True).fit(bad)
    assert on_dask.n_dropped_ == in_memory.n_dropped_ == part
    assert (on_dask.labels_.compute().to_numpy()[:part] == -1).all()
    assert_same_fit(on_dask, in_memory)
    bad["lat"] = np.nan
    for data in (bad, dd.from_pandas(bad, npartitions=4)):
        with pytest.raises(gk.InputError, match="every row has missing coordinates"):
            gk.GeoKMeans(4, dropna=True).fit(data)


def test_dask_result_outputs_all_or_nothing(client, ais, tmp_path, monkeypatch):
    import geopandas as gpd

    from .geojson_check import check_geojson

    result = gk.cluster(dd.from_pandas(ais, npartitions=3), 4, random_state=0,
                        label_column="grp")
    assert "grp" in result.points.columns and "cluster" not in result.points.columns
    outputs = dict(points=tmp_path / "p", centroids=tmp_path / "c.csv",
                   hulls=tmp_path / "h.geojson", map=tmp_path / "m.html")
    real_explore = gk.ClusterResult.explore
    monkeypatch.setattr(gk.ClusterResult, "explore",
                        lambda self, **o: (_ for _ in ()).throw(RuntimeError("map failed")))
    with pytest.raises(RuntimeError, match="map failed"):  # after the points were computed
        result.write(**outputs)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(gk.ClusterResult, "explore", real_explore)
    result.write(**outputs, map_options={"tiles": None, "max_points": 500})
    back = pd.read_parquet(tmp_path / "p")
    assert_array_equal(np.bincount(back.grp, minlength=4), result.centroids.n_points)
    assert len(pd.read_csv(tmp_path / "c.csv")) == 4
    assert len(check_geojson(tmp_path / "h.geojson")["features"]) == 4
    assert len(gpd.read_file(tmp_path / "h.geojson")) == 4
    assert "of 50,000 points" in (tmp_path / "m.html").read_text()
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "p").stat().st_mode & 0o777 == 0o777 & ~umask
    # every format holds the points of a dask result, computed on the cluster
    for name, which in [("p.csv", "points"), ("p.gpkg", "both"), ("p.geojson", "all")]:
        result.to_file(tmp_path / name, which=which)
    assert_array_equal(pd.read_csv(tmp_path / "p.csv").grp, back.grp)
    assert_array_equal(gpd.read_file(tmp_path / "p.gpkg", layer="points").grp, back.grp)
    assert len(check_geojson(tmp_path / "p.geojson")["features"]) == 50_000 + 8

# -- hostile input (the "Trust" issue) --------------------------------------------------


def _exploding(ais):
    """A dask frame whose partitions raise when read: a fit that reads it fails with
    RuntimeError, so an InputError shows the parameters were checked first."""
    def explode(part):
        raise RuntimeError("a partition was read")

    return dd.from_pandas(ais, npartitions=2).map_partitions(explode, meta=ais.iloc[:0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(random_state=-1), "random_state=-1"),
    (dict(dropna="no"), "dropna='no'"),
    (dict(n_init=10**8), "n_init=100000000"),
    (dict(max_radius_m=1e-9), "max_radius_m=1e-09"),
    (dict(crs="EPSG:4326"), "geographic"),
    (dict(init="bbox", local_search=-5), "local_search=-5"),
])
def test_parameters_checked_before_any_partition_is_read(ais, kwargs, match):
    with pytest.raises(gk.GeoKMeansError, match=match):
        gk.GeoKMeans(3, **kwargs).fit(_exploding(ais))


# what the column names and dtypes settle, each with the in-memory message, before any read
COLUMN_CASES = {
    "latitude missing": (dict(lat="nope"), {}),
    "longitude missing": (dict(lon="nope"), {}),
    "same column twice": (dict(lat="lat", lon="lat"), {}),
    "weight missing": (dict(weight="nope"), {}),
    "weight of booleans": (dict(weight="flag"), {}),
    "latitude of booleans": (dict(lat="flag"), {}),
    "two latitude columns": ({}, dict(Lat="lat")),
    "no coordinate columns": ({}, dict(drop=["lat", "lon"])),
    "a text geometry column": ({}, dict(geometry="mmsi")),
    "label column taken": (dict(label_column="lat"), {}),
    "distance column taken": (dict(distance_column="mmsi"), {}),
}


def _with_columns(frame, changes):
    frame = frame.assign(flag=frame.lat > 40.7)
    for name, value in changes.items():
        if name == "drop":
            frame = frame.drop(columns=value)
        else:
            frame = frame.assign(**{name: frame[value].astype(str) if name == "geometry"
                                    else frame[value]})
    return frame


@pytest.mark.parametrize("case", list(COLUMN_CASES))
def test_column_errors_before_any_partition_is_read(ais, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kwargs, changes = COLUMN_CASES[case]
    frame = _with_columns(ais.iloc[:300], changes)
    with pytest.raises(gk.GeoKMeansError) as in_memory:
        gk.cluster(frame, 3, **kwargs)
    with pytest.raises(gk.GeoKMeansError) as on_dask:
        gk.cluster(_exploding(frame), 3, **kwargs)
    assert type(on_dask.value) is type(in_memory.value)
    assert str(on_dask.value) == str(in_memory.value)
    assert list(tmp_path.iterdir()) == []


def test_csv_coordinate_names_of_a_geometry_input_checked_before_any_read(tmp_path, ais):
    # the CSV of a geometry input gets lon/lat columns: an input column 'lon' clashes
    def explode(part):
        raise RuntimeError("a partition was read")

    frame = gpd.GeoDataFrame(ais.iloc[:300].rename(columns={"lat": "lon", "lon": "x"}),
                             geometry=gpd.points_from_xy(ais.lon[:300], ais.lat[:300]),
                             crs="EPSG:4326")
    lazy = dask_geopandas.from_geopandas(frame, npartitions=2).map_partitions(
        explode, meta=frame.iloc[:0])
    out = tmp_path / "out.csv"
    with pytest.raises(gk.GeoKMeansError) as in_memory:
        gk.cluster(frame, 3, write={"points": out})
    with pytest.raises(gk.GeoKMeansError) as on_dask:
        gk.cluster(lazy, 3, write={"points": out})
    assert str(on_dask.value) == str(in_memory.value) and "'lon'" in str(on_dask.value)
    assert list(tmp_path.iterdir()) == []


def test_text_in_a_later_csv_part_is_named(client, ais, tmp_path):
    # dask guesses a column's type from the first file's rows; a later file differs
    parts = [ais.iloc[i * 1000:(i + 1) * 1000] for i in range(3)]
    for i, part in enumerate(parts):
        part = part.astype({"lat": object})
        if i == 2:
            part.iloc[5, part.columns.get_loc("lat")] = "abc"
        part.to_csv(tmp_path / f"p{i}.csv", index=False)
    with pytest.raises(gk.DataTypeError, match=r"^column 'lat' must be numeric: a part of the "
                       r"input after the first holds text \(could not convert string to "
                       r"float: 'abc'\)\.$"):
        gk.cluster(dd.read_csv(tmp_path / "p*.csv"), 3)
    for i, part in enumerate(parts):
        lat = part.lat.round().astype(int) if i == 0 else part.lat
        part.assign(lat=lat).to_csv(tmp_path / f"q{i}.csv", index=False)
    with pytest.raises(gk.InputError, match=r"column 'lat' changes type between the input's "
                       r"parts: int64 in the rows dask sampled, float64 in a later part; "
                       r"read the files with dtype=\{'lat': 'float64'\}"):
        gk.cluster(dd.read_csv(tmp_path / "q*.csv"), 3)


def test_partitions_of_zero_weights_as_in_memory(client, ais):
    # the weights' total is a property of the whole input: a partition of zeros is fine
    frame = ais.iloc[:900].assign(w=0.0)
    frame.loc[[3, 17, 899], "w"] = [1.0, 2.0, 3.0]
    init = seeds_from(frame, 3, 0)
    on_dask = gk.GeoKMeans(3, init=init).fit(dd.from_pandas(frame, npartitions=3),
                                             sample_weight="w")
    in_memory = gk.GeoKMeans(3, init=init).fit(frame, sample_weight="w")
    assert_same_fit(on_dask, in_memory)
    zero = frame.assign(w=0.0)
    with pytest.raises(InputError) as in_memory_error:
        gk.GeoKMeans(3, init=init).fit(zero, sample_weight="w")
    with pytest.raises(InputError) as on_dask_error:
        gk.GeoKMeans(3, init=init).fit(dd.from_pandas(zero, npartitions=3), sample_weight="w")
    assert str(on_dask_error.value) == str(in_memory_error.value)
    assert "zero for every sample" in str(on_dask_error.value)


def test_predict_refuses_a_dask_collection(ais):
    model = gk.GeoKMeans(3, random_state=0).fit(ais.iloc[:500])
    with pytest.raises(gk.DataTypeError, match="predict takes points in memory: compute"):
        model.predict(_exploding(ais.iloc[:500]))


def test_huge_weights_on_dask_as_in_memory(client, ais):
    init = seeds_from(ais, 4, 1)
    frame = ais.assign(w=np.random.default_rng(1).uniform(0.5, 2.0, len(ais)) * 1e290)
    on_dask = gk.GeoKMeans(4, init=init).fit(dd.from_pandas(frame, npartitions=3),
                                             sample_weight="w")
    in_memory = gk.GeoKMeans(4, init=init).fit(frame, sample_weight="w")
    assert_same_fit(on_dask, in_memory)
    assert np.isfinite(on_dask.inertia_) and np.isfinite(on_dask.centroids_.weight).all()
    with pytest.raises(InputError, match=r"weight column 'w' sums to more than float64"):
        gk.GeoKMeans(4, init=init).fit(dd.from_pandas(frame.assign(w=1e308), npartitions=3),
                                       sample_weight="w")


def test_named_crs_outside_its_area_warns_on_dask(client, ais):
    with pytest.warns(gk.GeoKMeansWarning, match=r"crs=EPSG:32755 .* area of use"):
        gk.GeoKMeans(2, init=seeds_from(ais, 2, 0), crs="EPSG:32755").fit(
            dd.from_pandas(ais, npartitions=2))


def test_partitioned_inputs_of_one_kind(tmp_path, ais):
    from geokmeans.distributed import read_partitioned

    small = ais.iloc[:100]
    (tmp_path / "csvs").mkdir()
    small.iloc[:50].to_csv(tmp_path / "csvs" / "a.csv", index=False)
    small.iloc[50:].to_csv(tmp_path / "csvs" / "b.csv", index=False)
    (tmp_path / "csvs" / "_SUCCESS").write_text("")
    assert len(read_partitioned(tmp_path / "csvs").compute()) == 100
    assert len(read_partitioned(tmp_path / "csvs" / "a.csv").compute()) == 50
    (tmp_path / "mixed").mkdir()
    small.to_parquet(tmp_path / "mixed" / "a.parquet")
    small.to_csv(tmp_path / "mixed" / "b.csv", index=False)
    with pytest.raises(InputError, match=r"mixes Parquet and CSV files"):
        read_partitioned(tmp_path / "mixed")
    with pytest.raises(InputError, match=r"holds no data files"):
        (tmp_path / "void").mkdir()
        read_partitioned(tmp_path / "void")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"could not read partitioned input .*junk"):
        gk.cluster(read_partitioned(tmp_path / "junk"), 2)


def test_partitioned_csv_files_need_one_header(tmp_path, ais):
    from geokmeans.distributed import read_partitioned

    ais.iloc[:5][["lat", "lon"]].to_csv(tmp_path / "a.csv", index=False)
    ais.iloc[5:9][["lon", "lat"]].to_csv(tmp_path / "b.csv", index=False)  # swapped order
    with pytest.raises(InputError, match=r"'.*b.csv' has columns \['lon', 'lat'\]"):
        read_partitioned(tmp_path / "*.csv")


def test_unparsable_partition_is_an_input_error(tmp_path):
    from geokmeans.distributed import read_partitioned

    (tmp_path / "a.csv").write_text("lat,lon\n1,2\n3,4\n")
    (tmp_path / "b.csv").write_text('lat,lon\n1,2\n"3,4\n5,6,7\n')
    with pytest.raises(InputError, match=r"could not read the input's partitions"):
        gk.cluster(read_partitioned(tmp_path), 1)


def test_boolean_dask_array_refused():
    import dask.array as da

    with pytest.raises(gk.DataTypeError, match="data holds booleans"):
        gk.cluster(da.from_array(np.array([[True, False], [False, True]])), 1)


def test_existing_names_with_glob_characters_are_read_as_themselves(tmp_path, ais):
    # dask globs the paths it is given: 'data[1].csv' read 'data1.csv', and a Parquet file
    # 'p[1].parquet' read nothing
    from geokmeans.distributed import is_partitioned_path, read_partitioned

    ais.iloc[:30].to_csv(tmp_path / "data[1].csv", index=False)
    ais.iloc[30:37].to_csv(tmp_path / "data1.csv", index=False)
    ais.iloc[:20].to_parquet(tmp_path / "p[1].parquet")
    ais.iloc[20:25].to_parquet(tmp_path / "p1.parquet")
    assert not is_partitioned_path(tmp_path / "data[1].csv")
    assert is_partitioned_path(tmp_path / "data[0-9].csv")  # no such file: a glob
    assert len(read_partitioned(tmp_path / "data[1].csv").compute()) == 30
    assert len(read_partitioned(tmp_path / "p[1].parquet").compute()) == 20
    (tmp_path / "dir[1]").mkdir()
    ais.iloc[:11].to_csv(tmp_path / "dir[1]" / "a.csv", index=False)
    assert len(read_partitioned(tmp_path / "dir[1]").compute()) == 11


def test_source_paths_of_dask_collections(tmp_path, ais):
    from geokmeans.distributed import input_paths, read_partitioned, source_paths

    (tmp_path / "parts").mkdir()
    ais.iloc[:10].to_csv(tmp_path / "parts" / "a.csv", index=False)
    ais.iloc[10:20].to_csv(tmp_path / "parts" / "b.csv", index=False)
    ais.iloc[:10].to_parquet(tmp_path / "p1.parquet")
    ais.iloc[10:20].to_parquet(tmp_path / "p2.parquet")
    import geopandas as gpd

    gpd.GeoDataFrame(ais.iloc[:5], geometry=gpd.points_from_xy(ais.lon[:5], ais.lat[:5]),
                     crs=4326).to_parquet(tmp_path / "g.parquet")
    csvs = {str(tmp_path / "parts" / n) for n in ("a.csv", "b.csv")}
    parquets = {str(tmp_path / n) for n in ("p1.parquet", "p2.parquet")}
    found = {
        "read_partitioned": read_partitioned(tmp_path / "parts"),
        "read_csv": dd.read_csv(str(tmp_path / "parts" / "*.csv"))[["lat", "lon"]],
        "read_parquet": dd.read_parquet(sorted(parquets)),
        "read_parquet_glob": dd.read_parquet(str(tmp_path / "p*.parquet")),
        "dask_geopandas": dask_geopandas.read_parquet(str(tmp_path / "g.parquet")),
        "from_pandas": dd.from_pandas(ais.iloc[:10], npartitions=2),
    }
    paths = {name: {str(p) for p in source_paths(frame)} for name, frame in found.items()}
    assert paths["read_partitioned"] == csvs and paths["read_csv"] == csvs
    assert paths["read_parquet"] == parquets and paths["read_parquet_glob"] == parquets
    assert paths["dask_geopandas"] == {str(tmp_path / "g.parquet")}
    assert paths["from_pandas"] == set()
    pattern = str(tmp_path / "p*.parquet")
    assert [str(p) for p in input_paths(pattern)[:-1]] == sorted(parquets)
    assert input_paths(pattern)[-1].pattern == pattern
    assert input_paths(tmp_path / "parts") == (str(tmp_path / "parts"),)


def test_partitioned_output_whose_name_has_glob_characters(tmp_path, ais):
    # dask's to_parquet globbed the temporary path: an internal error ("only one path")
    from .hostile import run_cli

    (tmp_path / "parts").mkdir()
    ais.iloc[:40].to_csv(tmp_path / "parts" / "a.csv", index=False)
    ais.iloc[40:80].to_csv(tmp_path / "parts" / "b.csv", index=False)
    out = tmp_path / "out[1]*?"  # no extension: a partitioned directory
    code, _, err = run_cli(["cluster", tmp_path / "parts", "-k", 2, "--seed", 0, "-o", out,
                            "--centroids", tmp_path / "c[1].gpkg"])
    assert code == 0, err
    assert len(pd.read_parquet(out)) == 80
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c[1].gpkg", out.name, "parts"]


# -- one engine: Dask and memory run the same code, so they agree ---------------------------


def _world(n=3000):
    cities = pd.read_csv(DATA / "world_cities.csv").iloc[::11].head(n).reset_index(drop=True)
    return cities


@pytest.mark.parametrize("case", ["sphere-radius", "sphere-radius-local", "utm-random-local",
                                  "utm-empty-lloyd", "utm-empty-hamerly"])
def test_same_engine_as_in_memory(client, ais_fifth, case):
    # from the same explicit centres (or random rows, drawn alike from any partitioning):
    # equal labels, centres, n_iter and final k, through LocalSearch++ over every row,
    # max_radius_m splitting, empty-cluster relocation, weights, the sphere and UTM
    if case.startswith("sphere-radius"):
        frame = _world()
        init = frame[["longitude", "latitude"]].to_numpy()[[0, 500, 1000, 1500, 2000, 2500]]
        options = dict(init=init, max_radius_m=2_500_000.0, crs="sphere")
        if case.endswith("local"):
            options.update(local_search=8, random_state=2)
        weight = "population"
    elif case == "utm-random-local":
        frame = ais_fifth.assign(w=np.random.default_rng(2).uniform(0.5, 2.0, len(ais_fifth)))
        init = np.zeros((6, 2))  # only its length is used
        options = dict(init="random", n_init=2, local_search=10, random_state=5,
                       max_radius_m=3_000.0)
        weight = "w"
    else:
        frame = ais_fifth.assign(w=np.random.default_rng(1).uniform(0.5, 2.0, len(ais_fifth)))
        init = seeds_from(frame, 5, 3)
        init[4] = [-60.0, 10.0]  # far from the harbour: empty after the first E-step
        options = dict(init=init, max_radius_m=3_000.0,
                       algorithm=case.rsplit("-", 1)[1])
        weight = "w"
    on_dask = gk.GeoKMeans(len(init), **options).fit(dd.from_pandas(frame, npartitions=4),
                                                     sample_weight=weight)
    in_memory = gk.GeoKMeans(len(init), **options).fit(frame, sample_weight=weight)
    assert in_memory.n_clusters_ > len(init)  # the radius split clusters
    assert on_dask.n_clusters_ == in_memory.n_clusters_
    assert_same_fit(on_dask, in_memory)
    assert_allclose(on_dask.distances_m_.compute().to_numpy(), in_memory.distances_m_,
                    rtol=1e-9)


def test_dask_result_points_carry_distances(client, ais_fifth):
    init = seeds_from(ais_fifth, 4, 0)
    result = gk.cluster(dd.from_pandas(ais_fifth, npartitions=3), 4, init=init)
    memory = gk.cluster(ais_fifth, 4, init=init)
    points = result.points.compute()
    assert list(points.columns) == list(memory.points.drop(columns="geometry").columns)
    assert_array_equal(points["cluster"].to_numpy(), memory.points["cluster"].to_numpy())
    assert_allclose(points["distance_m"].to_numpy(), memory.points["distance_m"].to_numpy(),
                    rtol=1e-9)


# -- reading only what is clustered; one task per worker thread ------------------------------


def test_dask_fit_reads_only_the_clustered_columns():
    from geokmeans.distributed import _columns_read

    frame = pd.DataFrame({"id": [1, 2], "Lat": [40.0, 40.1], "lon": [-74.0, -74.1],
                          "w": [1.0, 2.0], "note": ["a", "b"]})
    parts = dd.from_pandas(frame, npartitions=1)
    assert list(_columns_read(parts, None, None, None).columns) == ["lon", "Lat"]
    assert list(_columns_read(parts, None, None, "w").columns) == ["lon", "Lat", "w"]
    assert list(_columns_read(parts, "Lat", "lon", "lon").columns) == ["lon", "Lat"]
    # whatever read_points must refuse or look at further keeps every column
    assert _columns_read(parts, None, None, "missing") is parts
    assert _columns_read(parts, "Lat", "Lat", None) is parts
    renamed = parts.rename(columns={"Lat": "north"})
    assert _columns_read(renamed, None, None, None) is renamed
    with_geometry = parts.assign(geometry="x")
    assert _columns_read(with_geometry, None, None, None) is with_geometry
    # a GeoDataFrame's points: its geometry
    import dask_geopandas
    import geopandas as gpd

    geo = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.Lat), crs=4326)
    reduced = _columns_read(dask_geopandas.from_geopandas(geo, npartitions=1), None, None, "w")
    assert list(reduced.columns) == ["geometry", "w"] and reduced.crs == geo.crs


def test_a_missing_weight_column_is_still_named(client, ais):
    with pytest.raises(InputError, match="nope"):
        gk.GeoKMeans(3).fit(dd.from_pandas(ais, npartitions=2), sample_weight="nope")


def _chunk_facts(chunk):
    return chunk.index, chunk.first_row, len(chunk)


def test_dask_source_groups_partitions_per_worker_thread(client, ais):
    # 7 uneven partitions on 2 single-thread workers: 2 tasks a map, results per partition
    from geokmeans._dask_source import DaskSource
    from geokmeans.distributed import DaskPoints
    from geokmeans.projection import projection_for_extent

    frame = dd.from_pandas(ais, npartitions=1).repartition(
        divisions=[0, 1, 2, 100, 5000, 20000, 30000, len(ais) - 1])
    points = DaskPoints(frame)
    source = points.project(projection_for_extent("auto", *points.extent()), 1.0)
    assert isinstance(source, DaskSource) and source.n_chunks == 7
    assert len(source._groups) == 2
    assert sorted(n for numbers, _ in source._groups for n in numbers) == list(range(7))
    sizes = [1, 1, 98, 4900, 15000, 10000, len(ais) - 30000]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    assert source.map(_chunk_facts) == list(zip(range(7), starts, sizes, strict=True))
    assert source.chunk_rows(4, _chunk_facts) == (4, starts[4], sizes[4])


def test_kernels_of_a_task_run_on_one_thread():
    import numba

    from geokmeans.core._kernels._threads import single_threaded

    before = numba.get_num_threads()
    with single_threaded():
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(RuntimeError), single_threaded():
        raise RuntimeError("restored on errors too")
    assert numba.get_num_threads() == before


def test_local_scheduler_groups_consecutive_partitions(ais_fifth):
    # no client: dask's threads, one group per core, the same fit as in memory
    import dask

    init = seeds_from(ais_fifth, 4, 1)
    with dask.config.set(scheduler="threads"):
        on_dask = gk.GeoKMeans(4, init=init).fit(dd.from_pandas(ais_fifth, npartitions=5))
    assert_same_fit(on_dask, gk.GeoKMeans(4, init=init).fit(ais_fifth))


def test_groups_of_partitions_have_about_equal_rows(monkeypatch):
    import geokmeans._dask_source as source

    split = source._split
    assert split([0, 2, 4, 6], [5] * 8, 1) == [[0, 2, 4, 6]]
    assert split([0, 2, 4, 6], [5] * 8, 2) == [[0, 2], [4, 6]]
    assert split(list(range(5)), [0, 0, 10, 0, 5], 2) == [[0, 1, 2], [3, 4]]
    assert split([3], [0, 0, 0, 0], 4) == [[3]]  # never an empty group
    monkeypatch.setattr(source, "GROUP_ROWS", 10)
    assert split(list(range(4)), [100, 1, 1, 1], 1) == [[0], [1, 2, 3]]
    groups = split(list(range(10)), [4] * 10, 1)  # 40 rows: 4 groups of 10 or so
    assert len(groups) == 4 and sum(groups, []) == list(range(10))


def test_rows_are_balanced_between_workers_by_threads():
    from geokmeans._dask_source import _balanced

    # 22 of 40 equal partitions on one worker: two move, 20 and 20, each list in order
    placed = _balanced([("a", list(range(22)), 1), ("b", list(range(22, 40)), 1)], [5] * 40)
    assert [len(p[1]) for p in placed] == [20, 20]
    assert all(p[1] == sorted(p[1]) for p in placed)
    assert sorted(sum((p[1] for p in placed), [])) == list(range(40))
    # shares follow threads: 2 threads hold twice the rows of 1
    placed = _balanced([("a", list(range(12)), 2), ("b", [], 1)], [1] * 12)
    assert [(p[0], len(p[1])) for p in placed] == [("a", 8), ("b", 4)]
    # a partition larger than the imbalance it would mend stays where it is
    placed = _balanced([("a", [0, 1], 1), ("b", [2], 1)], [10, 3, 12])
    assert [p[1] for p in placed] == [[0, 1], [2]]
    # the move that brings the two nearest their shares (23 and 5 rows: 13 and 15)
    placed = _balanced([("a", [0, 1, 2], 1), ("b", [3], 1)], [10, 3, 10, 5])
    assert [p[1] for p in placed] == [[1, 2], [0, 3]]
    # a worker without partitions is dropped when nothing moves to it; one worker alone
    assert _balanced([("a", [0], 1), ("b", [], 1)], [7]) == [("a", [0], 1)]
    assert _balanced([("a", [0, 1], 4)], [3, 3]) == [("a", [0, 1], 4)]


def _chunk_of(first_row, n):
    from geokmeans.core._source import Chunk

    return Chunk(np.arange(2.0 * n).reshape(n, 2), np.ones(n), index=first_row // n,
                 first_row=first_row)


def test_partitions_held_by_one_worker_are_spread_over_both(client):
    # 8 partitions persisted on the first worker: the groups gather half the rows on the
    # other, and each partition's results come back in the partitions' order
    import dask
    from distributed import futures_of, wait

    from geokmeans._dask_source import DaskSource

    first, second = sorted(client.scheduler_info()["workers"])
    with dask.annotate(workers=[first], allow_other_workers=False):
        chunks = dask.persist(*[dask.delayed(_chunk_of)(100 * i, 100) for i in range(8)])

    def holders(persisted):
        future = futures_of(persisted)[0]
        wait([future])
        return set(client.who_has([future])[future.key])

    assert set.union(*[holders(c) for c in chunks]) == {first}
    source = DaskSource(list(chunks), 2, [100] * 8)
    held = {}
    for numbers, group in source._groups:
        for worker in holders(group):
            held[worker] = held.get(worker, 0) + len(numbers)
    assert held == {first: 4, second: 4}
    assert source.map(_chunk_facts) == [(i, 100 * i, 100) for i in range(8)]
