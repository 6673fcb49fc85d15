"""Stable cluster numbers, ``ClusterResult.relabel`` and ``geokmeans.assign``."""

import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pyproj import Geod

import geokmeans as gk
from geokmeans import DataTypeError, GeoKMeansWarning, InputError
from geokmeans.cli import main
from geokmeans.model import stable_order
from geokmeans.stable_ids import SavedCentroids, match_ids, read_centroids

DATA = Path(__file__).resolve().parents[1] / "data"
GEOD = Geod(ellps="WGS84")

#: Five well-separated groups around Washington DC: (lon, lat, points, weight per point).
GROUPS = [(-77.30, 38.80, 60, 1.0), (-77.00, 39.10, 25, 9.0), (-76.70, 38.95, 45, 2.0),
          (-77.05, 38.60, 35, 0.5), (-76.80, 38.70, 15, 1.0)]


def groups_frame(seed=0, groups=GROUPS, spread_deg=0.01):
    """Points of ``groups`` (a blob each, far apart compared with its spread), shuffled;
    column ``w`` holds the weights and ``group`` the index of the group."""
    rng = np.random.default_rng(seed)
    parts = []
    for g, (lon, lat, n, w) in enumerate(groups):
        parts.append(pd.DataFrame({"lon": lon + rng.normal(0, spread_deg, n),
                                   "lat": lat + rng.normal(0, spread_deg, n),
                                   "w": np.full(n, w), "group": g}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def geodesic_to_all(lon, lat, centre_lon, centre_lat):
    """(n, k) geodesic distances in metres (pyproj), the reference for nearest centroids."""
    n, k = len(lon), len(centre_lon)
    out = GEOD.inv(np.repeat(lon, k), np.repeat(lat, k), np.tile(centre_lon, n),
                   np.tile(centre_lat, n))[2]
    return np.asarray(out).reshape(n, k)


def assert_consistent(result):
    """Every table and array indexed by cluster agrees with the labels."""
    model, centroids = result.model, result.centroids
    labels = np.asarray(model.labels_)
    valid = labels >= 0
    k = len(centroids)
    assert_array_equal(np.bincount(labels[valid], minlength=k), centroids.n_points)
    assert_array_equal(centroids.cluster, np.arange(k))
    assert_allclose(np.column_stack([centroids.geometry.x, centroids.geometry.y]),
                    model.cluster_centers_)
    lon, lat = model.projection_.inverse(model.cluster_centers_m_)
    assert_allclose(np.column_stack([lon, lat]), model.cluster_centers_, atol=1e-9)
    points = result.points.geometry[valid]
    distances = GEOD.inv(points.x.to_numpy(), points.y.to_numpy(),
                         model.cluster_centers_[labels[valid], 0],
                         model.cluster_centers_[labels[valid], 1])[2]
    assert_allclose(model.distances_m_[valid], distances, rtol=1e-9, atol=1e-6)
    assert_array_equal(result.points[result.label_column].to_numpy(), labels)


# -- numbering ---------------------------------------------------------------------------


def test_stable_order_hand_computed():
    # sizes first (descending), then longitude, then latitude (ascending)
    sizes = [5.0, 7.0, 5.0, 5.0, 7.0]
    lon = [10.0, 3.0, -2.0, 10.0, 3.0]
    lat = [1.0, 9.0, 0.0, -1.0, 8.0]
    assert stable_order(sizes, lon, lat).tolist() == [4, 1, 2, 3, 0]


def test_numbered_by_count_when_unweighted(seed):
    frame = groups_frame(seed)
    result = gk.cluster(frame, 5, random_state=seed)
    assert result.centroids.n_points.tolist() == [60, 45, 35, 25, 15]
    # each cluster is one group: its number follows the group sizes, whatever the seed
    by_group = frame.groupby("group")["lon"].size()
    assert by_group.tolist() == [60, 25, 45, 35, 15]
    expected = {0: 0, 2: 1, 3: 2, 1: 3, 4: 4}  # group -> cluster number
    assert_array_equal(result.points.cluster, frame.group.map(expected))
    assert_consistent(result)


def test_numbered_by_total_weight_when_weighted(seed):
    frame = groups_frame(seed)
    result = gk.cluster(frame, 5, weight="w", random_state=seed)
    totals = frame.groupby("group").w.sum()  # 60, 225, 90, 17.5, 15
    assert result.centroids.weight.tolist() == sorted(totals.tolist(), reverse=True)
    expected = {1: 0, 2: 1, 0: 2, 3: 3, 4: 4}
    assert_array_equal(result.points.cluster, frame.group.map(expected))
    assert_consistent(result)


def test_ties_by_longitude_then_latitude(seed):
    groups = [(-76.9, 38.9, 20, 1.0), (-77.2, 38.9, 20, 1.0), (-77.05, 39.1, 20, 1.0)]
    frame = groups_frame(seed, groups)
    result = gk.cluster(frame, 3, random_state=seed)
    assert result.centroids.n_points.tolist() == [20, 20, 20]
    assert np.all(np.diff(result.centroids.geometry.x.to_numpy()) > 0)
    assert_array_equal(result.points.cluster, frame.group.map({1: 0, 2: 1, 0: 2}))


def same_partition(a, b):
    """True when labels ``a`` and ``b`` make the same groups (up to numbering)."""
    pairs = set(zip(a, b, strict=True))
    return len(pairs) == len(set(a)) == len(set(b))


def test_same_partition_same_numbers_whatever_the_seeding():
    frame = groups_frame(3)
    runs = [gk.cluster(frame, 5, init=init, random_state=s, weight="w", n_init=10)
            for init in ("k-means++", "random", "bbox") for s in range(3)]
    found = [run for run in runs if same_partition(run.points.cluster, frame.group)]
    assert len(found) >= 6  # the groups are far apart: most seedings find them
    initial = [run.model.cluster_centers_ for run in found]
    for run in found[1:]:  # different seeds, numbered the same
        assert_array_equal(run.points.cluster, found[0].points.cluster)
        assert_allclose(run.model.cluster_centers_, found[0].model.cluster_centers_, atol=1e-9)
    assert len(initial) == len(found)


def test_explicit_centres_keep_their_order(seed):
    frame = groups_frame(seed)
    order = np.random.default_rng(seed).permutation(5)
    init = np.array([[g[0], g[1]] for g in GROUPS])[order]
    model = gk.GeoKMeans(5, init=init).fit(frame)
    # cluster j is initial centre j: the group placed j-th
    assert_array_equal(model.labels_, np.argsort(order)[frame.group.to_numpy()])
    assert_array_equal(np.bincount(model.labels_), np.array([g[2] for g in GROUPS])[order])


def test_explicit_centres_with_size_limits_keep_order_and_prices():
    frame = groups_frame(1)
    init = np.array([[g[0], g[1]] for g in GROUPS])[::-1]
    model = gk.GeoKMeans(5, init=init, size_max=[15, 35, 45, 30, 60]).fit(frame)
    counts = np.bincount(model.labels_, minlength=5)
    assert (counts <= [15, 35, 45, 30, 60]).all()
    assert model.centroids_.size_max.tolist() == [15, 35, 45, 30, 60]


def test_size_limits_renumbered_with_prices(seed):
    # scalar limits with k-means++: numbered by size, and the prices follow the clusters:
    # every point's cluster minimises squared projected distance + price (power cells)
    frame = groups_frame(seed)
    model = gk.GeoKMeans(5, size_max=40, random_state=seed).fit(frame)
    counts = np.bincount(model.labels_, minlength=5)
    assert counts.max() <= 40 and (np.diff(counts) <= 0).all()
    X = model.projection_.forward(frame.lon.to_numpy(), frame.lat.to_numpy())
    scores = ((X[:, None, :] - model.cluster_centers_m_[None]) ** 2).sum(-1) + model.size_prices_
    best = scores.min(axis=1)
    own = scores[np.arange(len(X)), model.labels_]
    assert_allclose(own, best, rtol=1e-9, atol=1e-3)


def test_radius_split_renumbered():
    frame = groups_frame(2)
    init = np.array([[g[0], g[1]] for g in GROUPS[:2]])
    model = gk.GeoKMeans(2, init=init, max_radius_m=5_000).fit(frame)
    assert model.n_clusters_ >= 5
    sizes = np.bincount(model.labels_)
    assert (np.diff(sizes) <= 0).all()
    assert_array_equal(sizes, model.centroids_.n_points)


def test_dask_numbers_as_memory(seed):
    dd = pytest.importorskip("dask.dataframe")
    import dask

    frame = groups_frame(seed)
    with dask.config.set(scheduler="synchronous"):
        on_dask = gk.GeoKMeans(5, random_state=seed).fit(dd.from_pandas(frame, npartitions=3),
                                                         sample_weight="w")
        labels = on_dask.labels_.compute().to_numpy()
    in_memory = gk.GeoKMeans(5, random_state=seed + 10).fit(frame, sample_weight="w")
    assert_array_equal(labels, in_memory.labels_)
    assert_allclose(on_dask.cluster_centers_, in_memory.cluster_centers_, atol=1e-9)
    assert_allclose(on_dask.centroids_.weight, in_memory.centroids_.weight, rtol=1e-12)


# -- relabel -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def places():
    return pd.read_csv(DATA / "dc_places.csv")


@pytest.fixture(scope="module")
def reference(places):
    return gk.cluster(places, 6, random_state=0, weight="population")


def shuffled(result, seed):
    """The same partition as ``result`` under a random numbering: a fit from its own
    centroids given in a shuffled order (explicit centres keep their order)."""
    order = np.random.default_rng(seed).permutation(len(result.centroids))
    again = gk.cluster(result.points.drop(columns=["cluster", "distance_m"]),
                       len(order), init=result.model.cluster_centers_[order],
                       weight="population")
    assert not np.array_equal(again.points.cluster, result.points.cluster)
    return again


def test_relabel_shuffled_recovers_reference_ids(reference, seed):
    again = shuffled(reference, seed)
    before = again.points.cluster.copy()
    fixed = again.relabel(reference)
    assert_array_equal(fixed.points.cluster, reference.points.cluster)
    assert_array_equal(fixed.model.labels_, reference.model.labels_)
    assert_array_equal(fixed.centroids.cluster, reference.centroids.cluster)
    for column in ("n_points", "weight", "mean_distance_m", "max_distance_m"):
        assert_allclose(fixed.centroids[column], reference.centroids[column], rtol=1e-9)
    assert_allclose(fixed.model.cluster_centers_, reference.model.cluster_centers_, atol=1e-9)
    assert fixed.cluster_ids is None
    assert_consistent(fixed)
    assert_array_equal(again.points.cluster, before)  # not mutated
    assert [h.equals(r) for h, r in zip(fixed.hulls.geometry, reference.hulls.geometry,
                                        strict=True)] == [True] * 6


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet", ".csv"])
def test_relabel_against_a_centroids_file(reference, tmp_path, suffix):
    path = tmp_path / f"centroids{suffix}"
    reference.to_file(path, which="centroids")
    fixed = shuffled(reference, 5).relabel(path)
    assert_array_equal(fixed.points.cluster, reference.points.cluster)
    table = {".csv": pd.read_csv, ".parquet": gpd.read_parquet}.get(suffix, gpd.read_file)(path)
    fixed_frame = shuffled(reference, 6).relabel(table)
    assert_array_equal(fixed_frame.points.cluster, reference.points.cluster)


def test_relabel_in_a_file_of_all_tables(reference, tmp_path):
    path = tmp_path / "all.geojson"
    reference.to_geojson(path, which="all")  # points, centroids, hulls in one collection
    fixed = shuffled(reference, 7).relabel(path)
    assert_array_equal(fixed.points.cluster, reference.points.cluster)
    gpkg = tmp_path / "all.gpkg"
    reference.to_file(gpkg, which="all")
    assert_array_equal(shuffled(reference, 8).relabel(gpkg).points.cluster,
                       reference.points.cluster)


def brute_force_ids(lon, lat, ref_ids, ref_lon, ref_lat):
    """Reference matching for small k: every injection tried, the least summed geodesic
    distance kept (ties: the first found); unmatched clusters numbered after the
    reference's largest id in their order."""
    k, m = len(lon), len(ref_ids)
    d = geodesic_to_all(lon, lat, ref_lon, ref_lat)
    best, best_cost = None, np.inf
    if k <= m:
        for chosen in itertools.permutations(range(m), k):
            cost = d[np.arange(k), chosen].sum()
            if cost < best_cost - 1e-6:
                best, best_cost = np.asarray(ref_ids)[list(chosen)], cost
        return best
    for rows in itertools.permutations(range(k), m):  # reference j matched to rows[j]
        cost = d[list(rows), np.arange(m)].sum()
        if cost < best_cost - 1e-6:
            best_cost, best_rows = cost, rows
    ids = np.full(k, -1)
    ids[list(best_rows)] = ref_ids
    unmatched = np.flatnonzero(ids < 0)
    ids[unmatched] = max(ref_ids) + 1 + np.arange(unmatched.size)
    return ids


@pytest.mark.parametrize("k, m", [(4, 4), (3, 5), (6, 3)])
def test_match_ids_equals_brute_force(seed, k, m):
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-10, 10, k), rng.uniform(40, 50, k)
    ref_lon, ref_lat = rng.uniform(-10, 10, m), rng.uniform(40, 50, m)
    ref_ids = rng.choice(100, m, replace=False)
    reference = SavedCentroids(ref_ids, ref_lon, ref_lat, None, None, "ref")
    assert_array_equal(match_ids(lon, lat, reference),
                       brute_force_ids(lon, lat, ref_ids, ref_lon, ref_lat))


def test_relabel_more_clusters_keeps_reference_ids(places, reference):
    more = gk.cluster(places, 8, random_state=1, weight="population").relabel(reference)
    ids = more.centroids.cluster.to_numpy()
    assert_array_equal(ids, np.arange(8))  # 0..5 matched, 6 and 7 new: still dense
    assert more.cluster_ids is None
    assert_consistent(more)
    # each reference id went to the cluster the optimal matching gives (brute force)
    unshuffled = gk.cluster(places, 8, random_state=1, weight="population")
    ref = reference.model.cluster_centers_
    expected = brute_force_ids(unshuffled.model.cluster_centers_[:, 0],
                               unshuffled.model.cluster_centers_[:, 1], np.arange(6),
                               ref[:, 0], ref[:, 1])
    assert_array_equal(more.points.cluster, expected[unshuffled.points.cluster])


def test_relabel_fewer_clusters_keeps_ids_with_gaps(places, reference, tmp_path):
    fewer = gk.cluster(places, 4, random_state=2, weight="population")
    relabelled = fewer.relabel(reference)
    ids = relabelled.cluster_ids
    assert ids is not None and len(ids) == 4 and set(ids) <= set(range(6))
    assert_array_equal(relabelled.centroids.cluster, ids)
    assert_array_equal(relabelled.points.cluster, ids[relabelled.model.labels_])
    assert_array_equal(np.bincount(relabelled.model.labels_), relabelled.centroids.n_points)
    assert_array_equal(relabelled.hulls.cluster, ids)
    assert_array_equal(relabelled.territories().cluster, ids)
    for j in range(4):  # each hull holds the points of its id
        members = relabelled.points[relabelled.points.cluster == ids[j]]
        assert relabelled.hulls.geometry[j].buffer(1e-9).contains(members.geometry).all()
    html = relabelled.explore().get_root().render()
    legend = "".join(f"{i}: " for i in ids)
    assert all(f"{i}: " in html for i in ids), legend
    relabelled.write(points=tmp_path / "p.geojson", centroids=tmp_path / "c.csv")
    written = gpd.read_file(tmp_path / "p.geojson")
    assert sorted(set(written.cluster)) == sorted(ids.tolist())
    # relabelled again against itself: the same ids
    assert_array_equal(relabelled.relabel(relabelled).points.cluster, relabelled.points.cluster)


def test_cluster_relabel_like_option(places, reference, tmp_path):
    path = tmp_path / "june.geojson"
    reference.to_file(path, which="centroids")
    order = [3, 5, 0, 1, 4, 2]  # the same partition, numbered otherwise without relabel_like
    result = gk.cluster(places, 6, init=reference.model.cluster_centers_[order],
                        weight="population", relabel_like=path,
                        write={"centroids": tmp_path / "july.csv"})
    assert_array_equal(result.points.cluster, reference.points.cluster)
    written = pd.read_csv(tmp_path / "july.csv")
    assert_array_equal(written.cluster, np.arange(6))
    assert_allclose(written.n_points, reference.centroids.n_points)
    with pytest.raises(InputError, match="is the relabel_like file"):
        gk.cluster(places, 6, relabel_like=path, write={"centroids": path})


def bad_reference_files(tmp_path):
    no_cluster = tmp_path / "no_cluster.csv"
    pd.DataFrame({"lon": [-77.0], "lat": [38.9]}).to_csv(no_cluster, index=False)
    duplicate = tmp_path / "duplicate.csv"
    pd.DataFrame({"lon": [-77.0, -76.9], "lat": [38.9, 38.8], "cluster": [1, 1]}).to_csv(
        duplicate, index=False)
    fractional = tmp_path / "fractional.csv"
    pd.DataFrame({"lon": [-77.0], "lat": [38.9], "cluster": [1.5]}).to_csv(fractional,
                                                                             index=False)
    negative = tmp_path / "negative.csv"
    pd.DataFrame({"lon": [-77.0], "lat": [38.9], "cluster": [-2]}).to_csv(negative, index=False)
    text = tmp_path / "text.csv"
    pd.DataFrame({"lon": [-77.0], "lat": [38.9], "cluster": ["north"]}).to_csv(text,
                                                                                index=False)
    empty = tmp_path / "empty.csv"
    empty.write_text("lon,lat,cluster\n")
    no_coords = tmp_path / "no_coords.csv"
    pd.DataFrame({"cluster": [0], "lat": [38.9]}).to_csv(no_coords, index=False)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("{not json")
    garbage_gpkg = tmp_path / "garbage.gpkg"
    garbage_gpkg.write_bytes(b"SQLite format 3\x00 but not really")
    return [
        (tmp_path / "missing.geojson", "does not exist"),
        (tmp_path, "is a directory"),
        (no_cluster, "has no 'cluster' column \\(columns: lon, lat\\)"),
        (duplicate, "cluster id 1 appears 2 times"),
        (fractional, "'cluster' holds 1.5 in row 0"),
        (negative, "'cluster' holds -2 in row 0"),
        (text, "'cluster' holds 'north' in row 0"),
        (empty, "holds no centroids"),
        (no_coords, "longitude"),
        (garbage, "could not read"),
        (garbage_gpkg, "could not read"),
    ]


def test_relabel_bad_reference(reference, tmp_path):
    for path, message in bad_reference_files(tmp_path):
        with pytest.raises(InputError, match=message):
            reference.relabel(path)
        with pytest.raises(InputError, match=message):
            reference.relabel(str(path))
    for bad in (3, None, [1, 2], reference.model):
        with pytest.raises(DataTypeError, match="should be a ClusterResult, a centroids file"):
            reference.relabel(bad)
    with pytest.raises(InputError, match="no 'cluster' column"):
        reference.relabel(reference.points.drop(columns="cluster"))
    with pytest.raises(InputError, match="has no 'cluster' column"):
        gk.cluster(DATA / "dc_places.csv", 3, relabel_like=DATA / "dc_places.csv")


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_relabel_like(reference, tmp_path, capsys):
    june = tmp_path / "june.geojson"
    reference.to_file(june, which="centroids")
    shuffled_centres = tmp_path / "shuffled.csv"  # the same partition, numbered otherwise
    pd.DataFrame(reference.model.cluster_centers_[[2, 0, 5, 1, 3, 4]],
                 columns=["lon", "lat"]).to_csv(shuffled_centres, index=False)
    code, out, err = run_cli(capsys, "cluster", DATA / "dc_places.csv", "--centres-file",
                             shuffled_centres, "--weight", "population", "--relabel-like",
                             june, "-o", tmp_path / "july.csv", "-q")
    assert code == 0, err
    assert_array_equal(pd.read_csv(tmp_path / "july.csv").cluster, reference.points.cluster)
    for path, message in bad_reference_files(tmp_path):
        before = sorted(tmp_path.iterdir())
        code, out, err = run_cli(capsys, "cluster", DATA / "dc_places.csv", "-k", 6,
                                 "--relabel-like", path, "-o", tmp_path / "out.csv")
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("geokmeans: error: --relabel-like")
        assert re.search(message, err), (message, err)
        assert sorted(tmp_path.iterdir()) == before
    code, out, err = run_cli(capsys, "cluster", DATA / "dc_places.csv", "-k", 6,
                             "--relabel-like", june, "--centroids", june)
    assert code == 2 and "is the --relabel-like file" in err and err.count("\n") == 1


# -- assign ------------------------------------------------------------------------------


def test_assign_equals_the_fit_labels(reference, tmp_path):
    labelled = gk.assign(DATA / "dc_places.csv", reference)
    assert_array_equal(labelled.cluster, reference.points.cluster)
    assert_allclose(labelled.distance_m, reference.points.distance_m, rtol=1e-12)
    for suffix in (".geojson", ".gpkg", ".parquet"):
        path = tmp_path / f"c{suffix}"
        reference.to_file(path, which="centroids")
        assert_array_equal(gk.assign(DATA / "dc_places.csv", path).cluster,
                           reference.points.cluster)


def test_assign_nearest_by_geodesic_distance(reference, seed):
    # new points around DC: the nearest centroid on the ellipsoid (pyproj), except where
    # two centroids are within 0.5% of each other (UTM's scale error is below 0.1% here)
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(-77.3, -76.8, 2000), rng.uniform(38.7, 39.1, 2000)
    labelled = gk.assign(np.column_stack([lon, lat]), reference)
    centres = reference.model.cluster_centers_
    d = geodesic_to_all(lon, lat, centres[:, 0], centres[:, 1])
    ordered = np.sort(d, axis=1)
    clear = ordered[:, 1] > 1.005 * ordered[:, 0]
    assert clear.mean() > 0.95
    assert_array_equal(labelled.cluster.to_numpy()[clear], np.argmin(d, axis=1)[clear])
    assert_allclose(labelled.distance_m, d[np.arange(2000), labelled.cluster], rtol=1e-9)


def test_assign_keeps_saved_ids_and_projection(tmp_path):
    # world cities: the sphere; ids of a relabelled run with gaps are kept
    cities = pd.read_csv(DATA / "world_cities.csv")
    first = gk.cluster(cities, 7, random_state=0)
    assert first.model.crs_ == "sphere"
    second = gk.cluster(cities, 5, random_state=1).relabel(first)
    path = tmp_path / "c.geojson"
    second.to_file(path, which="centroids")
    assert json.loads(path.read_text())["geokmeans"]["crs_used"] == "sphere"
    labelled = gk.assign(cities, path)
    assert_array_equal(labelled.cluster, second.points.cluster)
    centres = second.model.cluster_centers_
    d = geodesic_to_all(cities.longitude.to_numpy(), cities.latitude.to_numpy(), centres[:, 0],
                        centres[:, 1])
    ordered = np.sort(d, axis=1)
    clear = ordered[:, 1] > 1.01 * ordered[:, 0]  # the sphere vs the ellipsoid: < 0.5%
    assert_array_equal(labelled.cluster.to_numpy()[clear], second.cluster_ids[
        np.argmin(d, axis=1)[clear]])


def test_assign_named_crs_without_epsg_recorded(places, tmp_path):
    crs = "+proj=aeqd +lat_0=38.9 +lon_0=-77.0 +datum=WGS84 +units=m"
    result = gk.cluster(places, 4, crs=crs, random_state=0)
    assert "crs_used_wkt" in result.metadata
    path = tmp_path / "c.parquet"
    result.to_file(path, which="centroids")
    saved = read_centroids(path)
    assert saved.projection().crs.equals(result.model.projection_.crs)
    assert_array_equal(gk.assign(places, path).cluster, result.points.cluster)


def test_assign_csv_centroids_use_the_auto_rule(reference, tmp_path):
    path = tmp_path / "c.csv"  # no run facts in a CSV: the auto rule on the centroids
    reference.to_file(path, which="centroids")
    saved = read_centroids(path)
    assert saved.crs_used is None and saved.projection().name == "EPSG:32618"
    assert_array_equal(gk.assign(DATA / "dc_places.csv", path).cluster,
                       reference.points.cluster)


def test_assign_hostile(reference, tmp_path):
    for path, message in bad_reference_files(tmp_path):
        with pytest.raises(InputError, match=message):
            gk.assign(DATA / "dc_places.csv", path)
    empty = tmp_path / "points.csv"
    empty.write_text("lon,lat\n")
    with pytest.raises(InputError, match="no rows"):
        gk.assign(empty, reference)
    with pytest.raises(InputError, match="already have a column 'cluster'"):
        gk.assign(reference.points, reference)
    with pytest.raises(InputError, match="both 'x'"):
        gk.assign(DATA / "dc_places.csv", reference, label_column="x", distance_column="x")
    with pytest.raises(DataTypeError, match="label_column=3 should be a non-empty column name"):
        gk.assign(DATA / "dc_places.csv", reference, label_column=3)
    with pytest.raises(DataTypeError, match="dropna='yes' should be True or False"):
        gk.assign(DATA / "dc_places.csv", reference, dropna="yes")
    with pytest.raises(InputError, match="nope"):
        gk.assign(DATA / "dc_places.csv", reference, lat="nope")
    with pytest.raises(InputError, match="row 1"):
        gk.assign(np.array([[-77.0, 38.9], [np.inf, 38.9]]), reference)
    with pytest.raises(InputError, match="row 1"):
        gk.assign(np.array([[-77.0, 38.9], [np.nan, 38.9]]), reference)
    with pytest.warns(GeoKMeansWarning, match="skipped 1 row"):
        missing = gk.assign(np.array([[-77.0, 38.9], [np.nan, 38.9]]), reference, dropna=True)
    assert missing.cluster.tolist()[1] == -1 and np.isnan(missing.distance_m[1])
    bad = tmp_path / "bad_crs.geojson"
    reference.to_file(bad, which="centroids")
    collection = json.loads(bad.read_text())
    collection["geokmeans"]["crs_used"] = "EPSG:4326"  # degrees: never a fit's projection
    bad.write_text(json.dumps(collection))
    with pytest.raises(InputError, match="recorded projection 'EPSG:4326' cannot be used"):
        gk.assign(DATA / "dc_places.csv", bad)


def test_assign_refuses_dask_points(reference):
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(DataTypeError, match="assign takes points in memory"):
        gk.assign(dd.from_pandas(pd.read_csv(DATA / "dc_places.csv"), npartitions=2), reference)


def test_cli_assign(reference, tmp_path, capsys):
    centroids = tmp_path / "c.geojson"
    reference.to_file(centroids, which="centroids")
    for suffix in (".csv", ".geojson", ".gpkg", ".parquet"):
        out_path = tmp_path / f"labelled{suffix}"
        code, out, err = run_cli(capsys, "assign", DATA / "dc_places.csv", "--centroids",
                                 centroids, "-o", out_path)
        assert code == 0, err
        assert out == ("200 points assigned to 6 of the 6 clusters of "
                       f"'{centroids}' (CRS EPSG:32618)\n")
        table = {".csv": pd.read_csv, ".parquet": gpd.read_parquet}.get(suffix, gpd.read_file)(
            out_path)
        assert_array_equal(table.cluster, reference.points.cluster)
    assert list(pd.read_csv(tmp_path / "labelled.csv").columns)[-2:] == ["cluster",
                                                                         "distance_m"]


def test_cli_assign_hostile(reference, tmp_path, capsys):
    centroids = tmp_path / "c.geojson"
    reference.to_file(centroids, which="centroids")
    points = tmp_path / "points.csv"
    pd.read_csv(DATA / "dc_places.csv").to_csv(points, index=False)
    empty = tmp_path / "empty.csv"
    empty.write_text("lon,lat\n")
    bad = tmp_path / "bad"
    bad.mkdir()
    cases = [(["assign", points, "--centroids", path, "-o", tmp_path / "o.csv"], message)
             for path, message in bad_reference_files(bad)]
    cases += [
        (["assign", tmp_path / "nope.csv", "--centroids", centroids, "-o", tmp_path / "o.csv"],
         "does not exist"),
        (["assign", empty, "--centroids", centroids, "-o", tmp_path / "o.csv"], "no rows"),
        (["assign", points, "--centroids", centroids, "-o", points], "is the input file"),
        (["assign", points, "--centroids", centroids, "-o", centroids],
         "is the --centroids file"),
        (["assign", points, "--centroids", centroids, "-o", tmp_path / "o.txt"],
         "unsupported extension"),
        (["assign", points, "--centroids", centroids], "-o/--output"),
        (["assign", points, "-o", tmp_path / "o.csv"], "--centroids"),
        (["assign", points, "--centroids", centroids, "-o", tmp_path / "o.csv",
          "--label-column", "name"], "already have a column 'name'.*--label-column"),
    ]
    for argv, message in cases:
        before = sorted(p for p in tmp_path.rglob("*"))
        snapshot = {p: p.read_bytes() for p in before if p.is_file()}
        code, out, err = run_cli(capsys, *argv)
        assert code == 2, (argv, err)
        assert out == "" and err.count("\n") == 1 and err.startswith("geokmeans: error: ")
        assert re.search(message, err), (message, err)
        assert sorted(p for p in tmp_path.rglob("*")) == before
        assert {p: p.read_bytes() for p in before if p.is_file()} == snapshot


def test_dask_relabel_as_memory(places, reference, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    import dask

    with dask.config.set(scheduler="synchronous"):
        for k in (4, 6, 8):  # ids with gaps, a permutation, new ids
            init = gk.cluster(places, k, random_state=k, weight="population")
            centres = init.model.cluster_centers_
            in_memory = gk.cluster(places, k, init=centres, weight="population").relabel(
                reference)
            on_dask = gk.cluster(dd.from_pandas(places, npartitions=3), k, init=centres,
                                 weight="population").relabel(reference)
            assert_array_equal(on_dask.points.cluster.compute().to_numpy(),
                               in_memory.points.cluster)
            assert_array_equal(on_dask.model.labels_.compute().to_numpy(),
                               in_memory.model.labels_)
            assert_array_equal(on_dask.centroids.cluster, in_memory.centroids.cluster)
            assert (on_dask.cluster_ids is None) == (k >= 6)
            for mine, theirs in zip(on_dask.hulls.geometry, in_memory.hulls.geometry,
                                    strict=True):
                assert mine.equals(theirs)
            on_dask.write(points=tmp_path / f"p{k}.csv", centroids=tmp_path / f"c{k}.csv")
            assert_array_equal(pd.read_csv(tmp_path / f"p{k}.csv").cluster,
                               in_memory.points.cluster)
            html = on_dask.explore().get_root().render()
            assert all(f"{i}: " in html for i in on_dask.centroids.cluster)


# -- grouped results: ids matched within groups, points assigned within groups -----------


@pytest.fixture(scope="module")
def regions(places):
    """The DC places in three groups drawn at random: they overlap in space, so a cluster
    of one group is often nearest a point of another."""
    frame = places.copy()
    rng = np.random.default_rng(7)
    frame["region"] = rng.choice(["north", "east", "west"], size=len(frame), p=[0.4, 0.3, 0.3])
    return frame


@pytest.fixture(scope="module")
def grouped(regions):
    return gk.cluster(regions, 3, by="region", random_state=0)


def expected_within_groups(result, data):
    """The reference labels of ``data`` by ``result``'s groups: each group's own model's
    ``predict`` (nearest centre in that group's projection), as that group's ids."""
    labels = np.full(len(data), -1)
    for value, model in result.models.items():
        rows = (data[result.by] == value).to_numpy()
        ids = result.centroids.cluster[result.centroids[result.by] == value].to_numpy()
        labels[rows] = ids[model.predict(data[rows])]
    return labels


def group_of_ids(result):
    return dict(zip(result.centroids.cluster, result.centroids[result.by], strict=True))


def test_assign_grouped_centroids_match_within_each_group(grouped, regions, tmp_path, seed):
    rng = np.random.default_rng(seed)
    new = pd.DataFrame({"lon": rng.uniform(-77.2, -76.9, 500),
                        "lat": rng.uniform(38.8, 39.0, 500),
                        "region": rng.choice(["north", "east", "west"], 500)})
    expected = expected_within_groups(grouped, new)
    files = []
    for suffix in (".geojson", ".gpkg", ".parquet"):
        files.append(tmp_path / f"c{suffix}")
        grouped.to_file(files[-1], which="centroids")
    for centroids in (grouped, *files):  # a grouped result too (it used to be refused)
        labelled = gk.assign(new, centroids)
        assert_array_equal(labelled.cluster, expected)
        groups = group_of_ids(grouped)
        assert [groups[j] for j in labelled.cluster] == new.region.tolist()
    # the points of the fit get the fit's labels back
    assert_array_equal(gk.assign(regions, files[0]).cluster, grouped.points.cluster)
    # without groups the nearest centroid is often another group's: the test can fail
    grouped.to_file(tmp_path / "c.csv", which="centroids")
    assert read_centroids(tmp_path / "c.csv").by is None  # a CSV records no run facts
    assert (gk.assign(new, tmp_path / "c.csv").cluster != expected).sum() > 50


def test_assign_grouped_uses_each_group_s_projection(tmp_path):
    # one group in UTM 18N (DC), one in UTM 33N (Europe): each group's own projection
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"lon": np.r_[rng.uniform(-77.2, -76.9, 60), rng.uniform(13, 14, 60)],
                          "lat": np.r_[rng.uniform(38.8, 39.0, 60), rng.uniform(52, 53, 60)],
                          "site": [3] * 60 + [1] * 60})  # integer group values
    result = gk.cluster(frame, 2, by="site", random_state=0)
    assert {m.crs_ for m in result.models.values()} == {"EPSG:32618", "EPSG:32633"}
    path = tmp_path / "c.geojson"
    result.to_file(path, which="centroids")
    saved = read_centroids(path)
    assert saved.by == "site"
    assert sorted(c[0] for c in saved.group_crs) == ["EPSG:32618"] * 2 + ["EPSG:32633"] * 2
    frame_out, _, _, crs = gk.stable_ids.assign_points(frame, path)
    assert crs == "per group"
    assert_array_equal(frame_out.cluster, expected_within_groups(result, frame))
    assert_array_equal(frame_out.cluster, result.points.cluster)


def test_assign_grouped_refusals(grouped, regions, tmp_path):
    path = tmp_path / "c.geojson"
    grouped.to_file(path, which="centroids")
    with pytest.raises(InputError, match=r"grouped by 'region'.*need a column 'region'"):
        gk.assign(regions.drop(columns="region"), path)
    with pytest.raises(InputError, match=r"grouped by 'region'.*need a column 'region'"):
        gk.assign(regions.drop(columns="region"), grouped)
    other = regions.assign(region=np.where(np.arange(len(regions)) == 3, "south",
                                           regions.region))
    with pytest.raises(InputError, match=r"no centroids of group region='south' \(first: "
                                         r"row 3\)"):
        gk.assign(other, path)
    missing = regions.assign(region=regions.region.where(np.arange(len(regions)) != 4))
    with pytest.raises(InputError, match=r"1 point has no value in the group column "
                                         r"'region' \(first: row 4\).*dropna=True"):
        gk.assign(missing, path)
    with pytest.warns(GeoKMeansWarning, match="left unlabelled"):
        labelled = gk.assign(missing, path, dropna=True)
    assert labelled.cluster[4] == -1 and np.isnan(labelled.distance_m[4])
    # a grouped run's file without its group column
    table = json.loads(path.read_text())
    for feature in table["features"]:
        del feature["properties"]["region"]
    path.write_text(json.dumps(table))
    with pytest.raises(InputError, match=r"grouped by 'region' but has no column 'region'"):
        gk.assign(regions, path)


def test_cli_assign_grouped(grouped, regions, tmp_path, capsys):
    centroids = tmp_path / "c.geojson"
    grouped.to_file(centroids, which="centroids")
    points = tmp_path / "p.csv"
    regions.to_csv(points, index=False)
    code, out, err = run_cli(capsys, "assign", points, "--centroids", centroids, "-o",
                             tmp_path / "o.csv")
    assert code == 0, err
    assert_array_equal(pd.read_csv(tmp_path / "o.csv").cluster, grouped.points.cluster)
    regions.drop(columns="region").to_csv(points, index=False)
    code, out, err = run_cli(capsys, "assign", points, "--centroids", centroids, "-o",
                             tmp_path / "o2.csv")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "need a column 'region'" in err and not (tmp_path / "o2.csv").exists()


def test_relabel_grouped_recovers_shuffled_reference_ids(grouped, regions, seed):
    rng = np.random.default_rng(seed)
    ids = rng.choice(1000, len(grouped.centroids), replace=False)
    reference = grouped.centroids.assign(cluster=ids)
    fixed = grouped.relabel(reference)
    lookup = dict(zip(grouped.centroids.cluster, ids, strict=True))
    assert_array_equal(fixed.points.cluster, [lookup[j] for j in grouped.points.cluster])
    assert sorted(fixed.centroids.cluster) == sorted(ids)
    assert group_of_ids(fixed) == dict(zip(ids, grouped.centroids.region, strict=True))
    # every table follows: territories, hulls, run facts
    territories = fixed.territories()
    assert territories.cluster.tolist() == fixed.centroids.cluster.tolist()
    assert territories.region.tolist() == fixed.centroids.region.tolist()
    for group in fixed.metadata["groups"]:
        assert group["clusters"] == sorted(ids[grouped.centroids.region == group["group"]])
    assert fixed.hulls.cluster.tolist() == fixed.centroids.cluster.tolist()
    # and assign with the relabelled file gives the relabelled ids
    assert_array_equal(gk.assign(regions, fixed).cluster, fixed.points.cluster)


def test_relabel_grouped_matches_within_the_same_group_only(grouped, regions):
    # a reference whose groups' clusters stand where another group's are: matching over
    # all clusters would take the ids of the same places; within groups it must not
    reference = grouped.centroids.copy()
    rotate = {"east": "north", "north": "west", "west": "east"}
    reference["region"] = reference.region.map(rotate)
    reference["cluster"] = reference.cluster + 100
    again = gk.cluster(regions, 3, by="region", random_state=1)
    fixed = again.relabel(reference)
    from scipy.optimize import linear_sum_assignment

    expected = {}
    for value in ("east", "north", "west"):
        mine = again.centroids[again.centroids.region == value]
        theirs = reference[reference.region == value]
        d = geodesic_to_all(mine.geometry.x.to_numpy(), mine.geometry.y.to_numpy(),
                            theirs.geometry.x.to_numpy(), theirs.geometry.y.to_numpy())
        rows, cols = linear_sum_assignment(d)
        expected.update(zip(mine.cluster.to_numpy()[rows], theirs.cluster.to_numpy()[cols],
                            strict=True))
    assert_array_equal(fixed.points.cluster, [expected[j] for j in again.points.cluster])
    for j, value in group_of_ids(fixed).items():
        assert reference.region[reference.cluster == j].item() == value


def test_relabel_grouped_new_groups_and_unmatched_get_new_ids(grouped, regions):
    reference = grouped.centroids[grouped.centroids.region != "west"].copy()
    reference = reference[reference.cluster != 0]  # east: 2 of its 3 clusters
    reference["cluster"] = reference.cluster * 10
    fixed = grouped.relabel(reference)
    top = int(reference.cluster.max())
    ids = fixed.centroids.cluster.to_numpy()
    assert len(set(ids)) == len(ids) == 9  # unique across the result
    new = sorted(j for j in ids if j > top)
    assert new == list(range(top + 1, top + 5))  # east's unmatched one and west's three
    west = fixed.centroids[fixed.centroids.region == "west"].cluster
    assert sorted(west) == new[1:]
    east_kept = fixed.centroids[fixed.centroids.region == "east"].cluster
    assert sorted(east_kept) == [10, 20, new[0]]


def test_cluster_relabel_like_grouped_file_and_cli(grouped, regions, tmp_path, capsys):
    path = tmp_path / "june.geojson"
    shuffled_ids = grouped.centroids.assign(cluster=grouped.centroids.cluster[::-1].to_numpy())
    shuffled_ids.to_file(path, driver="GeoJSON")
    fixed = gk.cluster(regions, 3, by="region", random_state=0, relabel_like=path)
    assert_array_equal(fixed.points.cluster, 8 - grouped.points.cluster)
    source = tmp_path / "p.csv"
    regions.to_csv(source, index=False)
    code, out, err = run_cli(capsys, "cluster", source, "-k", 3, "--by", "region", "--seed", 0,
                             "--relabel-like", path, "-o", tmp_path / "july.csv", "-q")
    assert code == 0, err
    assert_array_equal(pd.read_csv(tmp_path / "july.csv").cluster, 8 - grouped.points.cluster)
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"cluster": grouped.centroids.cluster, "lon": grouped.centroids.geometry.x,
                  "lat": grouped.centroids.geometry.y}).to_csv(plain, index=False)
    before = sorted(tmp_path.iterdir())
    code, out, err = run_cli(capsys, "cluster", source, "-k", 3, "--by", "region",
                             "--relabel-like", plain, "-o", tmp_path / "x.csv")
    assert code == 2 and err.count("\n") == 1
    assert "--relabel-like of a run grouped by 'region'" in err and "no column 'region'" in err
    assert sorted(tmp_path.iterdir()) == before


def test_polygons_are_not_centroids(reference, places, tmp_path, capsys):
    hulls = reference.hulls
    assert (hulls.geom_type == "Polygon").any()
    with pytest.raises(InputError, match=r"row \d holds a Polygon, not a point; centroids are "
                                         r"points \(give the centroids table, not the hulls"):
        reference.relabel(hulls)
    with pytest.raises(InputError, match="holds a Polygon, not a point"):
        gk.assign(places, hulls)
    path = tmp_path / "hulls.geojson"
    reference.to_file(path, which="hulls")
    with pytest.raises(InputError, match="holds a Polygon, not a point"):
        gk.assign(places, path)
    code, out, err = run_cli(capsys, "assign", DATA / "dc_places.csv", "--centroids", path,
                             "-o", tmp_path / "o.csv")
    assert code == 2 and err.count("\n") == 1 and "holds a Polygon, not a point" in err


def test_a_centroid_without_geometry_is_named(reference):
    table = reference.centroids.copy()
    table.loc[2, "geometry"] = None
    for call in (lambda: reference.relabel(table), lambda: gk.assign(DATA / "dc_places.csv",
                                                                    table)):
        with pytest.raises(InputError, match=r"the centroid of cluster 2 \(row 2\) has no "
                                             r"coordinates") as caught:
            call()
        assert "dropna" not in str(caught.value)
