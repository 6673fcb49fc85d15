"""Run metadata: every parameter that shaped a result, in ``result.metadata`` and every
output; read back from each format, it redoes the same result."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from pyproj import CRS

import geokmeans as gk
from geokmeans.errors import DataTypeError, InputError
from geokmeans.run_metadata import cluster_options, read_metadata

DATA = Path(__file__).resolve().parents[1] / "data"
DC = DATA / "dc_places.csv"
BOX = (-77.15, 38.825, -76.9, 39.0)

#: What the brief of a run must name (``metadata["parameters"]``).
RECORDED = {"n_clusters", "init", "bbox", "crs", "n_init", "local_search", "max_iter", "tol",
            "random_state", "algorithm", "lat", "lon", "dropna", "max_radius_m", "size_min",
            "size_max", "size_by", "fixed_centers", "weight", "label_column",
            "distance_column"}

RUNS = {
    "bbox-weighted": dict(n_clusters=5, weight="population", init="bbox", bbox=BOX,
                          n_init=3, random_state=7, max_iter=50, tol=1e-6,
                          algorithm="lloyd", crs="EPSG:32618", label_column="zone"),
    "kmeans++-radius": dict(n_clusters=3, random_state=11, local_search=2,
                            max_radius_m=6_000.0),
    # explicit centres with limits per centre (one without a maximum) and a fixed depot:
    # nothing is drawn, so no seed is needed to redo it
    "depots": dict(n_clusters=3, init=np.array([[-77.03, 38.90], [-77.10, 38.85],
                                                [-76.95, 38.95]]),
                   size_max=np.array([np.inf, 70.0, 90.0]), size_min=40,
                   fixed_centers=np.array([True, False, False])),
}


def same_result(a, b):
    assert np.array_equal(a.model.labels_, b.model.labels_)
    assert a.model.inertia_ == b.model.inertia_ and a.model.n_iter_ == b.model.n_iter_
    assert_geodataframe_equal(a.centroids, b.centroids)


@pytest.mark.parametrize("name", list(RUNS))
def test_metadata_names_every_parameter(name):
    options = RUNS[name]
    result = gk.cluster(DC, **options)
    meta = result.metadata
    assert set(meta["parameters"]) == RECORDED
    assert meta["reproducible"] is True and "notes" not in meta
    assert meta["crs_used"] == result.model.crs_
    assert meta["geokmeans_version"] == gk.__version__
    for key, value in options.items():
        recorded = meta["parameters"][key]
        if isinstance(value, np.ndarray):  # arrays as lists, no maximum as "inf"
            value = [("inf" if v == np.inf else v) for v in value.tolist()]
        elif isinstance(value, tuple):
            value = list(value)
        assert recorded == value, key
    json.dumps(meta, allow_nan=False)  # plain JSON, as the GeoJSON writer needs


@pytest.mark.parametrize("name", list(RUNS))
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_each_format_redoes_the_run(tmp_path, name, suffix):
    result = gk.cluster(DC, **RUNS[name])
    which = "points" if suffix == ".parquet" else "all"
    path = tmp_path / f"out{suffix}"
    result.to_file(path, which=which)
    back = read_metadata(path)
    assert back == json.loads(json.dumps(result.metadata))
    if suffix == ".gpkg":  # every layer holds it
        for layer in ("centroids", "hulls"):
            assert read_metadata(path, layer=layer) == back
    again = gk.cluster(DC, **cluster_options(back))
    same_result(result, again)
    assert again.label_column == result.label_column


def test_pyproj_crs_recorded_by_its_code_or_wkt(tmp_path):
    result = gk.cluster(DC, 3, crs=CRS.from_epsg(32618), random_state=0)
    assert result.metadata["parameters"]["crs"] == "EPSG:32618"
    custom = CRS.from_proj4("+proj=tmerc +lon_0=-77 +lat_0=38.9 +k=1 +x_0=0 +y_0=0 "
                            "+ellps=WGS84 +units=m")
    result = gk.cluster(DC, 3, crs=custom, random_state=0)
    recorded = result.metadata["parameters"]["crs"]
    assert recorded.startswith("PROJCRS") and CRS.from_wkt(recorded).equals(custom)
    result.to_file(tmp_path / "p.gpkg")
    same_result(result, gk.cluster(DC, **cluster_options(read_metadata(tmp_path / "p.gpkg"))))


@pytest.mark.parametrize("random_state, kind", [
    (np.random.default_rng(0), "Generator"), (np.random.RandomState(0), "RandomState"),
    (None, None)])
def test_unrecorded_seed_is_noted_and_not_redone(random_state, kind):
    result = gk.cluster(DC, 3, random_state=random_state)
    meta = result.metadata
    assert meta["reproducible"] is False
    if kind is None:
        assert meta["parameters"]["random_state"] is None
        assert "random_state=None" in meta["notes"][0]
    else:
        assert meta["parameters"]["random_state"] == f"a numpy {kind} (not recorded)"
        assert f"numpy {kind}" in meta["notes"][0] and "cannot be reproduced" in \
            meta["notes"][0]
    with pytest.raises(InputError, match="cannot be reproduced from its metadata"):
        cluster_options(meta)


def test_weights_as_data_are_noted():
    weights = pd.read_csv(DC).population.to_numpy()
    meta = gk.cluster(DC, 3, weight=weights, random_state=0).metadata
    assert meta["parameters"]["weight"] == "an array (not recorded)"
    assert meta["reproducible"] is False and "weights were an array" in meta["notes"][0]
    meta = gk.cluster(DC, 3, random_state=0).metadata
    assert meta["parameters"]["weight"] is None and meta["reproducible"] is True


def test_relabel_reference_recorded(tmp_path):
    june = gk.cluster(DC, 4, random_state=0)
    saved = tmp_path / "june_centroids.geojson"
    june.to_file(saved, which="centroids")
    july = gk.cluster(DC, 4, random_state=3, relabel_like=saved)
    assert july.metadata["parameters"]["relabel_like"] == str(saved)
    same_result(july, gk.cluster(DC, **cluster_options(july.metadata)))
    # a result given as the reference is data: noted
    meta = gk.cluster(DC, 4, random_state=3).relabel(june).metadata
    assert meta["parameters"]["relabel_like"] == "a ClusterResult (not recorded)"
    assert meta["reproducible"] is False


def test_run_parameters_hook_reaches_every_output(tmp_path):
    # options beyond the model's (e.g. a grouping column) are recorded from here
    result = gk.cluster(DC, 3, random_state=0)
    result.run_parameters["by"] = "state"
    assert result.metadata["parameters"]["by"] == "state"
    result.to_file(tmp_path / "p.parquet")
    assert read_metadata(tmp_path / "p.parquet")["parameters"]["by"] == "state"


@pytest.mark.parametrize("keys", [[3, 1], [2.5, 0.5], [True, False]])
def test_group_k_mapping_with_non_text_keys_is_replayed(tmp_path, keys):
    # JSON keys are text: such a mapping is stored as [value, k] pairs and comes back
    # with its keys' types, so the file redoes the run
    frame = pd.read_csv(DC)
    frame["site"] = np.where(frame.longitude < frame.longitude.median(), keys[0], keys[1])
    ks = {keys[0]: 3, keys[1]: 2}
    result = gk.cluster(frame, ks, by="site", random_state=0)
    assert result.metadata["parameters"]["n_clusters"] == [[keys[0], 3], [keys[1], 2]]
    assert result.metadata["reproducible"] is True
    for name in ("p.geojson", "p.gpkg", "p.parquet"):
        result.to_file(tmp_path / name)
        options = cluster_options(read_metadata(tmp_path / name))
        assert options["n_clusters"] == ks
        assert [type(k) for k in options["n_clusters"]] == [type(k) for k in ks]
        again = gk.cluster(frame, **options)
        assert_geodataframe_equal(again.centroids, result.centroids)
    # text keys stay a mapping
    text = gk.cluster(frame.assign(site=frame.site.astype(str)), {str(keys[0]): 3,
                      str(keys[1]): 2}, by="site", random_state=0)
    assert text.metadata["parameters"]["n_clusters"] == {str(keys[0]): 3, str(keys[1]): 2}


def test_group_k_mapping_with_date_keys_is_a_note():
    frame = pd.read_csv(DC)
    days = pd.to_datetime(["2024-01-01", "2024-01-02"])
    frame["day"] = np.where(frame.longitude < frame.longitude.median(), days[0], days[1])
    result = gk.cluster(frame, {days[0]: 2, days[1]: 2}, by="day", random_state=0)
    meta = result.metadata
    assert meta["reproducible"] is False and "dates" in " ".join(meta["notes"])
    with pytest.raises(InputError, match="cannot be reproduced"):
        cluster_options(meta)


def test_read_metadata_refusals(tmp_path):
    result = gk.cluster(DC, 3, random_state=0)
    result.to_file(tmp_path / "p.csv")
    with pytest.raises(InputError, match=r"no metadata is written in this format \(.csv\)"):
        read_metadata(tmp_path / "p.csv")
    with pytest.raises(InputError, match="does not exist"):
        read_metadata(tmp_path / "missing.geojson")
    with pytest.raises(InputError, match="the metadata hold no 'parameters'"):
        cluster_options({"crs_used": "EPSG:32618"})
    with pytest.raises(DataTypeError, match="metadata='not a dict' should be a dict"):
        cluster_options("not a dict")


def test_gpkg_values_are_text_decoded(tmp_path):
    result = gk.cluster(DC, 3, random_state=0)
    path = tmp_path / "p.gpkg"
    result.to_file(path)
    raw = pyogrio.read_info(path, layer="points")["layer_metadata"]
    assert raw["crs_used"] == "EPSG:32618" and raw["reproducible"] == "true"
    assert json.loads(raw["parameters"])["random_state"] == 0


# -- dask: the same metadata from the partition-by-partition writers ----------------------------


@pytest.mark.slow
def test_dask_writers_store_the_metadata_that_redoes_the_run(tmp_path):
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(pd.read_csv(DC), npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        result = gk.cluster(frame, 4, weight="population", init="bbox", bbox=BOX, n_init=2,
                            random_state=5)
        expected = json.loads(json.dumps(result.metadata))
        assert expected["reproducible"] is True
        assert set(expected["parameters"]) == RECORDED
        paths = {suffix: tmp_path / f"points{suffix}" for suffix in (".geojson", ".gpkg",
                                                                     ".parquet")}
        result.write(points=paths[".geojson"], centroids=tmp_path / "c.gpkg")
        result.to_file(paths[".gpkg"])
        result.to_parquet(paths[".parquet"])
        result.to_parquet(tmp_path / "dataset")  # partitioned: a file per partition
        assert len(list((tmp_path / "dataset").glob("*.parquet"))) == 3
        for path in [*paths.values(), tmp_path / "c.gpkg", tmp_path / "dataset"]:
            assert read_metadata(path) == expected, path
        for part in sorted((tmp_path / "dataset").glob("*.parquet")):
            assert json.loads(pq.read_schema(part).metadata[b"geokmeans"]) == expected
        again = gk.cluster(frame, **cluster_options(read_metadata(tmp_path / "dataset")))
        assert np.array_equal(again.model.labels_.compute().to_numpy(),
                              result.model.labels_.compute().to_numpy())
        assert_geodataframe_equal(again.centroids, result.centroids)
        assert again.model.inertia_ == result.model.inertia_
