"""Group-by (``cluster(data, k, by=column)``): every group's fit is the separate fit of
its rows; ids unique across groups; the group column everywhere; hostile inputs."""

import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

import geokmeans as gk
from geokmeans import DataTypeError, GeoKMeansWarning, InputError
from geokmeans.errors import GeoKMeansError, GroupedResultError

from .hostile import run_cli, snapshot

DATA = Path(__file__).resolve().parents[1] / "data"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def places():
    """The 200 DC places in three groups drawn at random (they overlap in space), with
    a weight column."""
    frame = pd.read_csv(DATA / "dc_places.csv")
    rng = np.random.default_rng(7)
    frame["region"] = rng.choice(["north", "east", "west"], size=len(frame), p=[0.4, 0.3, 0.3])
    return frame


def group_rows(data, by, value):
    return data[data[by] == value]


def assert_separate_fits(result, data, by, ks, **options):
    """Each group of ``result`` is exactly ``cluster`` of that group's rows alone: labels
    (up to the group's id offset), distances, centroid table, hulls, inertia, model."""
    label = result.label_column
    offsets = {}
    for value, model in result.models.items():
        rows = (data[by] == value).to_numpy()
        k = ks[value] if isinstance(ks, dict) else ks
        alone = gk.cluster(data[rows], k, **options)
        table = result.centroids[result.centroids[by] == value]
        offset = int(table.cluster.min())
        offsets[value] = offset
        assert table.cluster.tolist() == list(range(offset, offset + len(table)))
        mine = result.points[label].to_numpy()[rows]
        own = alone.points[alone.label_column].to_numpy()
        np.testing.assert_array_equal(np.where(mine >= 0, mine - offset, -1), own)
        np.testing.assert_array_equal(result.points[result.distance_column].to_numpy()[rows],
                                      alone.points[alone.distance_column].to_numpy())
        table = table.drop(columns=by).reset_index(drop=True)
        table["cluster"] = table["cluster"] - offset
        assert_geodataframe_equal(table, alone.centroids, check_less_precise=False)
        hulls = result.hulls[result.hulls[by] == value].drop(columns=by).reset_index(drop=True)
        hulls["cluster"] = hulls["cluster"] - offset
        assert_geodataframe_equal(hulls, alone.hulls)
        assert model.inertia_ == alone.model.inertia_
        assert model.crs_ == alone.model.crs_ and model.n_iter_ == alone.model.n_iter_
        np.testing.assert_array_equal(model.cluster_centers_, alone.model.cluster_centers_)
    # groups in sorted order of their values, ids running on
    values = sorted(result.models)
    assert list(result.models) == values
    assert [offsets[v] for v in values] == sorted(offsets.values())
    assert result.centroids.cluster.tolist() == list(range(len(result.centroids)))
    return offsets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_int_k_equals_separate_fits(places, seed):
    result = gk.cluster(places, 3, by="region", random_state=seed)
    assert len(result.centroids) == 9
    assert list(result.centroids.columns[:2]) == ["cluster", "region"]
    offsets = assert_separate_fits(result, places, "region", 3, random_state=seed)
    assert offsets == {"east": 0, "north": 3, "west": 6}
    assert result.metadata["inertia_m2"] == pytest.approx(
        sum(m.inertia_ for m in result.models.values()), rel=1e-15)


def test_mapping_k_with_weights(places):
    ks = {"north": 4, "east": 2, "west": 3}
    result = gk.cluster(places, ks, by="region", weight="population", random_state=3)
    assert [len(result.centroids[result.centroids.region == g]) for g in sorted(ks)] == [2, 4, 3]
    assert_separate_fits(result, places, "region", ks, weight="population", random_state=3)
    # within a group, ids by descending weight (the single fit's stable numbering)
    for value in ks:
        weights = result.centroids[result.centroids.region == value].weight.to_numpy()
        assert (np.diff(weights) <= 0).all()


def test_size_limits_apply_per_group(places):
    result = gk.cluster(places, 3, by="region", size_min=15, size_max=32, random_state=0)
    assert_separate_fits(result, places, "region", 3, size_min=15, size_max=32, random_state=0)
    assert result.centroids.n_points.between(15, 32).all()
    # by weight: group totals 0.92, 1.97 and 1.01 million, the largest place 0.69 million
    by_weight = dict(weight="population", size_by="weight", random_state=1)
    result = gk.cluster(places, 2, by="region", size_min=2e5, size_max=1.4e6, **by_weight)
    assert_separate_fits(result, places, "region", 2, size_min=2e5, size_max=1.4e6,
                         **by_weight)


def test_max_radius_applies_per_group(places):
    result = gk.cluster(places, 1, by="region", max_radius_m=6_000, random_state=0)
    assert (result.centroids.max_distance_m <= 6_000).all()
    counts = result.centroids.groupby("region").size()
    assert (counts > 1).all()  # each group split to the radius on its own
    assert result.metadata["groups"][0]["n_clusters"] == 1
    assert [g["n_clusters_found"] for g in result.metadata["groups"]] == counts.tolist()
    assert_separate_fits(result, places, "region", 1, max_radius_m=6_000, random_state=0)


def dc_and_alaska():
    """DC places (one UTM zone) and Alaska's airports (across zones): two groups."""
    airports = pd.read_csv(DATA / "us_airports.csv", keep_default_na=False, na_values=[""])
    alaska = airports[airports.state == "AK"]
    dc = pd.read_csv(DATA / "dc_places.csv")
    return pd.concat([dc[["name", "latitude", "longitude"]].assign(area="dc"),
                      alaska[["name", "latitude", "longitude"]].assign(area="ak")],
                     ignore_index=True)


def test_projection_chosen_per_group():
    both = dc_and_alaska()
    result = gk.cluster(both, 3, by="area", random_state=0)
    crs = {g: m.crs_ for g, m in result.models.items()}
    assert crs == {"ak": "sphere", "dc": "EPSG:32618"}
    assert "crs_used" not in result.metadata  # no one projection for the whole result
    assert {g["group"]: g["crs_used"] for g in result.metadata["groups"]} == crs
    assert result._fitted.crs_ == "per group" and "CRS per group" in repr(result)
    assert_separate_fits(result, both, "area", 3, random_state=0)


def test_generator_seed_drawn_once_for_every_group(places):
    first = gk.cluster(places, 3, by="region", random_state=np.random.default_rng(11))
    again = gk.cluster(places, 3, by="region", random_state=np.random.default_rng(11))
    assert_geodataframe_equal(first.centroids, again.centroids)
    seed = int(np.random.default_rng(11).integers(0, 2**32, dtype=np.uint64))
    as_int = gk.cluster(places, 3, by="region", random_state=seed)
    assert_geodataframe_equal(first.centroids, as_int.centroids)
    # a group's fit does not depend on the other groups
    north = group_rows(places, "region", "north")
    alone = gk.cluster(north, 3, by="region", random_state=np.random.default_rng(11))
    table = first.centroids[first.centroids.region == "north"].reset_index(drop=True)
    table["cluster"] -= table.cluster.min()
    assert_geodataframe_equal(table, alone.centroids)


def test_single_group_is_the_plain_fit(places):
    one = places.assign(region="all")
    result = gk.cluster(one, 4, by="region", weight="population", random_state=0)
    plain = gk.cluster(places, 4, weight="population", random_state=0)
    assert_geodataframe_equal(result.centroids.drop(columns="region"), plain.centroids)
    np.testing.assert_array_equal(result.points.cluster, plain.points.cluster)


def test_many_tiny_groups(places):
    tiny = places.assign(spot=np.arange(len(places)) // 2)  # 100 groups of 2 points
    result = gk.cluster(tiny, 1, by="spot", random_state=0)
    assert len(result.models) == 100 and len(result.centroids) == 100
    assert result.centroids.spot.tolist() == list(range(100))
    assert (result.centroids.n_points == 2).all()
    np.testing.assert_array_equal(result.points.cluster.to_numpy(), tiny.spot.to_numpy())
    # each centroid is its pair's midpoint in the group's projection (pyproj reference)
    from pyproj import Transformer

    for spot in (0, 37, 99):
        crs = result.models[spot].crs_
        forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        pair = tiny[tiny.spot == spot]
        x, y = forward.transform(pair.longitude.to_numpy(), pair.latitude.to_numpy())
        lon, lat = forward.transform(x.mean(), y.mean(), direction="INVERSE")
        centre = result.centroids.geometry.iloc[spot]
        assert centre.x == pytest.approx(lon, abs=1e-9) and centre.y == pytest.approx(lat,
                                                                                      abs=1e-9)


def test_group_values_of_other_kinds(places):
    # integers, dates and a categorical (its categories' order, not the alphabet)
    numbered = places.assign(code=places.region.map({"north": 30, "east": 10, "west": 20}))
    result = gk.cluster(numbered, 2, by="code", random_state=0)
    assert list(result.models) == [10, 20, 30] and result.centroids.code.dtype == np.int64
    dated = places.assign(day=pd.to_datetime(places.region.map(
        {"north": "2024-03-01", "east": "2024-01-01", "west": "2024-02-01"})))
    result = gk.cluster(dated, {pd.Timestamp("2024-01-01"): 2, pd.Timestamp("2024-02-01"): 1,
                                pd.Timestamp("2024-03-01"): 3}, by="day", random_state=0)
    assert result.centroids.day.dt.month.tolist() == [1, 1, 2, 3, 3, 3]
    order = pd.CategoricalDtype(["west", "north", "east"])
    result = gk.cluster(places.assign(region=places.region.astype(order)), 1, by="region",
                        random_state=0)
    assert list(result.models) == ["west", "north", "east"]
    assert result.centroids.region.tolist() == ["west", "north", "east"]


def test_model_refused_with_pointer_to_models(places):
    result = gk.cluster(places, 2, by="region", random_state=0)
    with pytest.raises(GroupedResultError, match=r"result\.models\['east'\]"):
        result.model  # noqa: B018
    with pytest.raises(AttributeError):  # also an AttributeError
        result.model  # noqa: B018
    assert not hasattr(result, "model")
    assert set(result.models) == {"east", "north", "west"}
    assert all(isinstance(m, gk.GeoKMeans) for m in result.models.values())
    plain = gk.cluster(places, 2, random_state=0)
    assert plain.models is None and plain.by is None and plain.model.n_clusters_ == 2


def test_metadata_repr_and_html(places):
    ks = {"north": 3, "east": 2, "west": 2}
    result = gk.cluster(places, ks, by="region", random_state=0)
    facts = result.metadata
    assert facts["by"] == "region" and facts["n_clusters"] == 7
    assert [(g["group"], g["n_clusters"], g["first_cluster"]) for g in facts["groups"]] == [
        ("east", 2, 0), ("north", 3, 2), ("west", 2, 5)]
    assert facts["crs_used"] == "EPSG:32618"
    text = repr(result)
    assert "3 groups by 'region'" in text and "7 clusters" in text
    page = result._repr_html_()
    assert "3 groups by &#x27;region&#x27;" in page
    assert "<th>region</th>" in page and "<td>north</td>" in page


def test_exports_carry_the_group_column(places, tmp_path):
    result = gk.cluster(places, 2, by="region", random_state=0)
    result.to_file(tmp_path / "all.gpkg", which="all")
    for layer in ("centroids", "hulls"):
        table = gpd.read_file(tmp_path / "all.gpkg", layer=layer)
        assert table.region.tolist() == result.centroids.region.tolist()
    points = gpd.read_file(tmp_path / "all.gpkg", layer="points")
    assert points.cluster.tolist() == result.points.cluster.tolist()
    result.to_file(tmp_path / "c.csv", which="centroids")
    assert pd.read_csv(tmp_path / "c.csv").region.tolist() == result.centroids.region.tolist()
    result.to_file(tmp_path / "c.parquet", which="centroids")
    table = gpd.read_parquet(tmp_path / "c.parquet")
    assert table.region.tolist() == result.centroids.region.tolist()
    meta = json.loads(__import__("pyarrow.parquet").parquet.read_schema(
        tmp_path / "c.parquet").metadata[b"geokmeans"])
    assert meta["by"] == "region" and len(meta["groups"]) == 3
    result.to_geojson(tmp_path / "c.geojson", which="centroids")
    document = json.loads((tmp_path / "c.geojson").read_text())
    assert [f["properties"]["region"] for f in document["features"]] == \
        result.centroids.region.tolist()
    assert document["geokmeans"]["by"] == "region"


def test_territories_per_group(places):
    result = gk.cluster(places, 3, by="region", random_state=0)
    table = result.territories()
    assert table.cluster.tolist() == result.centroids.cluster.tolist()
    assert table.region.tolist() == result.centroids.region.tolist()
    for value in result.models:
        alone = gk.cluster(group_rows(places, "region", value), 3, random_state=0)
        mine = table[table.region == value].drop(columns="region").reset_index(drop=True)
        mine["cluster"] -= mine.cluster.min()
        assert_geodataframe_equal(mine, alone.territories())
        # a group's territories tile its region; its points lie in their own territory
        parts = mine.geometry.to_numpy()
        assert sum(a.intersection(b).area for i, a in enumerate(parts)
                   for b in parts[i + 1:]) < 1e-12


def test_map_shows_groups_escaped(places):
    frame = places.copy()
    frame.loc[frame.region == "west", "region"] = XSS
    result = gk.cluster(frame, 2, by="region", random_state=0)
    html = result.explore(tiles=None).get_root().render()
    assert XSS not in html
    legend = [json.loads(b) for b in re.findall(r"\n\}\)\(map_[0-9a-f]+, (\{.*\})\);\n",
                                                html)][0]
    assert legend["title"] == "Cluster (region): points"
    groups = result.centroids.region.tolist()
    assert legend["lines"] == [f"{j} ({g}): {n:,}" for j, (g, n) in enumerate(
        zip(groups, result.centroids.n_points, strict=True))]
    popups = [json.loads(b) for b in re.findall(r"\n\}\)\((\{.*\})\);\n", html)
              if '"popups"' in b][0]
    assert [dict(p)["region"] for p in popups["popups"]] == groups
    assert popups["tooltips"][0] == f"cluster 0 ({groups[0]})"
    page = result._repr_html_()  # the notebook display escapes the group values too
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_dropna_skips_rows_without_a_group(places):
    frame = places.copy()
    frame.loc[[3, 50, 51], "region"] = None
    with pytest.raises(InputError, match=r"3 rows have a missing group value \(first: row 3\)"
                                         r".*dropna=True"):
        gk.cluster(frame, 2, by="region")
    with pytest.warns(GeoKMeansWarning, match="skipped 3 rows with a missing value in the "
                                              "group column 'region'"):
        result = gk.cluster(frame, 2, by="region", dropna=True, random_state=0)
    labels = result.points.cluster.to_numpy()
    assert (labels[[3, 50, 51]] == -1).all() and (np.delete(labels, [3, 50, 51]) >= 0).all()
    assert np.isnan(result.points.distance_m.to_numpy()[[3, 50, 51]]).all()
    assert result._fitted.n_dropped_ == 3 and "3 rows skipped" in repr(result)
    kept = frame.dropna(subset=["region"])
    for value in result.models:  # the skipped rows belong to no group
        alone = gk.cluster(group_rows(kept, "region", value), 2, random_state=0)
        assert result.centroids[result.centroids.region == value].n_points.sum() == \
            alone.centroids.n_points.sum()
    # rows without coordinates, with dropna: skipped in their group as in a separate fit
    frame.loc[10, "latitude"] = np.nan
    with pytest.warns(GeoKMeansWarning):
        result = gk.cluster(frame, 2, by="region", dropna=True, random_state=0)
    assert result.points.cluster.iloc[10] == -1 and result._fitted.n_dropped_ == 4


# -- hostile inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("by, error, words", [
    ("Region", InputError, ["no column 'Region'", "did you mean 'region'", "'latitude'"]),
    ("nope", InputError, ["no column 'nope'", "'name'", "'region'"]),
    ("cluster", InputError, ["label_column"]),
    ("distance_m", InputError, ["distance_column"]),
    ("weight", InputError, ["centroid and hull tables", "rename"]),
    ("geometry", InputError, ["centroid and hull tables"]),
    ("latitude", InputError, ["coordinate column"]),
    ("", InputError, ["non-empty"]),
    (["region", "name"], DataTypeError, ["should be None or a non-empty column name",
                                         "combine"]),
    (3.5, DataTypeError, ["by=3.5 should be None or a non-empty column name"]),
    (3, InputError, ["no column 3"]),
])
def test_bad_by(places, by, error, words):
    with pytest.raises(error) as caught:
        gk.cluster(places, 2, by=by)
    for word in words:
        assert word in str(caught.value)
    assert "'geometry'" not in str(caught.value) or by == "geometry"  # a table's own


def test_integer_column_name(places):
    frame = places.rename(columns={"region": 7})
    result = gk.cluster(frame, 2, by=7, random_state=0)
    assert list(result.centroids.columns[:2]) == ["cluster", 7] and result.by == 7


def test_by_collides_with_renamed_label_column(places):
    with pytest.raises(InputError, match="by='group' is also the label_column"):
        gk.cluster(places.assign(group=1), 2, by="group", label_column="group")
    with pytest.raises(InputError, match="by='d' is also the distance_column"):
        gk.cluster(places.assign(d=1), 2, by="d", distance_column="d")


@pytest.mark.parametrize("ks, error, words", [
    ({"north": 2, "east": 2}, InputError, ["no k for group 'west'", "every group"]),
    ({"north": 2, "east": 2, "west": 2, "south": 1}, InputError,
     ["names group 'south' not in column 'region'"]),
    ({"north": 2, "east": 2.0, "west": 2}, DataTypeError, ["n_clusters['east']=2.0",
                                                           "integer >= 1"]),
    ({"north": 2, "east": 0, "west": 2}, InputError, ["n_clusters['east']=0"]),
    ({"north": True, "east": 2, "west": 2}, DataTypeError, ["n_clusters['north']=True"]),
    ({}, InputError, ["empty mapping"]),
    (2.5, DataTypeError, ["n_clusters=2.5"]),
    (0, InputError, ["n_clusters=0"]),
])
def test_bad_k(places, ks, error, words):
    with pytest.raises(error) as caught:
        gk.cluster(places, ks, by="region")
    for word in words:
        assert word in str(caught.value)


def test_mapping_without_by(places):
    with pytest.raises(DataTypeError, match="needs by="):
        gk.cluster(places, {"north": 2}, random_state=0)


def test_groups_smaller_than_k_are_named(places):
    frame = places.copy()
    frame.loc[:1, "region"] = "tiny"
    frame.loc[2, "region"] = "one"
    with pytest.raises(InputError) as caught:
        gk.cluster(frame, 3, by="region")
    message = str(caught.value)
    assert "2 groups have fewer points than clusters" in message
    assert "region='one' has 1 point for k=3" in message
    assert "region='tiny' has 2 points for k=3" in message
    # a mapping giving them a k they can hold works
    result = gk.cluster(frame, {"tiny": 2, "one": 1, "north": 3, "east": 3, "west": 3},
                        by="region", random_state=0)
    assert result.centroids.groupby("region").size().to_dict() == {
        "east": 3, "north": 3, "one": 1, "tiny": 2, "west": 3}


def test_group_size_limits_that_cannot_be_met_name_the_group(places):
    with pytest.raises(InputError, match=r"^group region='east': size limits cannot be met"):
        gk.cluster(places, 2, by="region", size_min=35, size_max=40)


def test_warnings_name_the_group():
    with warnings.catch_warnings(record=True) as caught:  # Alaska is far outside UTM 18N
        warnings.simplefilter("always")
        gk.cluster(dc_and_alaska(), 2, by="area", crs="EPSG:32618", random_state=0)
    texts = [str(w.message) for w in caught if issubclass(w.category, GeoKMeansWarning)]
    assert texts and all(t.startswith("group area='ak': ") for t in texts), texts


def test_dropna_must_be_a_bool(places):
    with pytest.raises(DataTypeError, match="dropna='yes'"):
        gk.cluster(places, 2, by="region", dropna="yes")


def test_unhashable_and_mixed_group_values(places):
    frame = places.copy()
    frame["region"] = frame["region"].astype(object)
    frame.at[4, "region"] = ["north"]
    with pytest.raises(DataTypeError, match=r"row 4 holds a list"):
        gk.cluster(frame, 2, by="region")
    frame.at[4, "region"] = 7
    with pytest.raises(DataTypeError, match=r"mixes kinds of values: .*str.*number.*astype"):
        gk.cluster(frame, 2, by="region")
    with pytest.raises(InputError, match="every row has a missing group value"):
        gk.cluster(places.assign(region=None), 2, by="region", dropna=True)


def test_refused_combinations(places):
    depots = [[-77.03, 38.90], [-77.10, 38.85]]
    with pytest.raises(InputError, match=r"explicit initial centres \(init=array\)"):
        gk.cluster(places, 2, by="region", init=depots)
    with pytest.raises(InputError, match="fixed_centers"):
        gk.cluster(places, 2, by="region", fixed_centers=[True, False])
    earlier = gk.cluster(places, 2, random_state=0)
    # a grouped run matches clusters within groups: the reference needs the group column
    with pytest.raises(InputError, match=r"no column 'region'.*relabel_like of a run "
                                         r"grouped by 'region'"):
        gk.cluster(places, 2, by="region", relabel_like=earlier)
    grouped = gk.cluster(places, 2, by="region", random_state=0)
    with pytest.raises(InputError, match=r"no column 'region' \(columns: cluster, n_points"):
        grouped.relabel(earlier)
    with pytest.raises(InputError, match=r"against a grouped result \(by='region'\) needs a "
                                         r"result grouped by the same column"):
        earlier.relabel(grouped)
    with pytest.raises(InputError, match="grouped result"):
        gk.cluster(places, 2, relabel_like=grouped)
    with pytest.raises(InputError, match=r"needs a table|no column 'region'"):
        gk.cluster(places[["longitude", "latitude"]].to_numpy(), 2, by="region")


def test_dask_input_refused_before_reading(places):
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(places, npartitions=2)
    with pytest.raises(InputError, match="by='region' needs the points in memory.*compute"):
        gk.cluster(frame, 2, by="region")


def test_errors_come_before_any_output(places, tmp_path):
    with pytest.raises(GeoKMeansError):
        gk.cluster(places, 2, by="nope", write={"points": tmp_path / "p.geojson",
                                                "centroids": tmp_path / "c.csv"})
    assert list(tmp_path.iterdir()) == []


def test_accessor_groups_too(places):
    frame = gpd.GeoDataFrame(places, geometry=gpd.points_from_xy(places.longitude,
                                                                 places.latitude),
                             crs="EPSG:4326")
    result = frame.geokmeans.cluster(2, by="region", random_state=0)
    assert result.by == "region" and len(result.models) == 3


# -- the command line ---------------------------------------------------------------------


def test_cli_by(places, tmp_path):
    source = tmp_path / "places.csv"
    places.to_csv(source, index=False)
    code, out, err = run_cli(["cluster", source, "-k", "2", "--by", "region", "--seed", "0",
                              "--centroids", tmp_path / "c.csv", "-o", tmp_path / "p.gpkg",
                              "--map", tmp_path / "m.html"])
    assert code == 0, err
    assert "k=6 in 3 groups by region" in out
    assert re.search(r"^cluster region\s+points", out.splitlines()[1])
    expected = gk.cluster(places, 2, by="region", random_state=0)
    table = pd.read_csv(tmp_path / "c.csv")
    assert table.region.tolist() == expected.centroids.region.tolist()
    np.testing.assert_array_equal(gpd.read_file(tmp_path / "p.gpkg").cluster,
                                  expected.points.cluster)


@pytest.mark.parametrize("extra, words", [
    (["--by", "nope"], ["--by 'nope'", "no column 'nope'"]),
    (["--by", "region", "-k", "60"], ["fewer points than clusters", "smaller -k"]),
    (["--by", "cluster"], ["--by 'cluster' is also the --label-column",
                           "give --label-column another name"]),
    (["--by", "lat"], ["--by 'lat' names a column of the centroid and hull tables",
                       "size_min, size_max", "rename that column of the input"]),
    (["--by", "region", "--label-column", "region"], ["--by 'region' is also the "
                                                      "--label-column"]),
    (["--by", ""], ["--by needs a column name; got an empty one"]),
    (["--label-column", "c2", "--distance-column", "c2"],
     ["--label-column and --distance-column are both 'c2'"]),
    (["--by", "empty"], ["missing group value", "--dropna"]),
])
def test_cli_by_errors(places, tmp_path, extra, words):
    source = tmp_path / "places.csv"
    places.assign(empty=np.where(np.arange(len(places)) == 5, "", "x")).to_csv(source,
                                                                               index=False)
    before = snapshot(tmp_path)
    args = ["cluster", source, "-o", tmp_path / "p.geojson", "--centroids", tmp_path / "c.csv"]
    if "-k" not in extra:
        args += ["-k", "2"]
    code, out, err = run_cli(args + extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("geokmeans: error: ")
    for word in words:
        assert word in err
    for library in ("label_column", "distance_column", "--size-min", "data.rename",
                    "should be None"):
        assert library not in err
    assert snapshot(tmp_path) == before


def test_cli_by_on_a_dask_input(places, tmp_path):
    pytest.importorskip("dask.dataframe")
    folder = tmp_path / "parts"
    folder.mkdir()
    places.head(100).to_csv(folder / "a.csv", index=False)
    places.tail(100).to_csv(folder / "b.csv", index=False)
    before = snapshot(tmp_path)
    code, out, err = run_cli(["cluster", folder, "-k", "2", "--by", "region", "--centroids",
                              tmp_path / "c.csv"])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--by 'region' needs the points in memory" in err and "give one file" in err
    assert snapshot(tmp_path) == before


def test_readme_groups_example_runs(tmp_path, monkeypatch):
    readme = (DATA.parent / "README.md").read_text()
    section = readme[readme.index("### Groups"):readme.index("### Stable cluster numbers")]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    (tmp_path / "data").symlink_to(DATA)
    monkeypatch.chdir(tmp_path)
    scope = {"gk": gk}
    exec(code, scope)  # noqa: S102 - the README's own example
    result = scope["result"]
    assert result.centroids.groupby("state").cluster.agg(["min", "max"]).values.tolist() == [
        [0, 5], [6, 8], [9, 12]]
    assert gpd.read_file(tmp_path / "per_state.gpkg", layer="centroids").state.tolist() == \
        result.centroids.state.tolist()
