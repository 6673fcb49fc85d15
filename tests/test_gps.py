"""GPS checks: points at (0, 0) warned once per fit, exact duplicates counted in the
summary, a seeding box that holds none of the points warned."""

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geokmeans as gk
from geokmeans._gps import count_duplicates, count_null_island, in_box
from geokmeans.errors import GeoKMeansWarning, InputError

from .hostile import run_cli

DC = Path(__file__).resolve().parents[1] / "data" / "dc_places.csv"


def dc_points(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-77.1, -76.9, n), rng.uniform(38.8, 39.0, n)])


def fit_warnings(call):
    """The ``GeoKMeansWarning`` messages ``call()`` issues (every one, no filtering)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    return value, [str(w.message) for w in caught if issubclass(w.category, GeoKMeansWarning)]


# -- the counts, against plain numpy ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_duplicates_count_as_numpy_unique(seed):
    rng = np.random.default_rng(seed)
    lonlat = np.round(rng.uniform(-1, 1, size=(500, 2)), 1)  # many repeats
    lonlat[:7] = 0.0
    expected = len(lonlat) - len(np.unique(lonlat, axis=0))
    assert count_duplicates(lonlat[:, 0], lonlat[:, 1]) == expected > 0
    assert count_null_island(lonlat[:, 0], lonlat[:, 1]) == int(
        ((lonlat[:, 0] == 0) & (lonlat[:, 1] == 0)).sum()) >= 7


def test_counts_hand_cases():
    assert count_duplicates(np.array([]), np.array([])) == 0
    assert count_duplicates(np.array([1.0]), np.array([2.0])) == 0
    # same lon, different lat (and the reverse) are not duplicates
    assert count_duplicates(np.array([1.0, 1.0, 2.0]), np.array([2.0, 3.0, 2.0])) == 0
    assert count_duplicates(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0])) == 2
    assert count_duplicates(np.array([-0.0, 0.0, 0.0]), np.array([1.0, 1.0, -0.0])) == 1
    # -0.0 is the same place as 0.0; near (0, 0) is not (0, 0)
    assert count_null_island(np.array([-0.0, 0.0, 1e-12, 0.0]),
                             np.array([0.0, -0.0, 0.0, 1e-12])) == 2


def test_in_box_edges_and_antimeridian():
    lon = np.array([10.0, 11.0, 12.0, 179.5, -179.5, 0.0])
    lat = np.array([5.0, 6.0, 6.0, 0.0, 0.0, 0.0])
    assert in_box(lon, lat, 10, 5, 11, 6).tolist() == [True, True, False, False, False, False]
    assert in_box(lon, lat, 179, -1, -179, 1).tolist() == [False] * 3 + [True, True, False]


# -- warnings of a fit ---------------------------------------------------------------------------


def test_null_island_warned_once_per_fit_naming_the_count():
    lonlat = dc_points()
    lonlat[[3, 50, 199]] = 0.0
    # ten restarts (init="bbox"): still one warning
    model, messages = fit_warnings(
        lambda: gk.GeoKMeans(3, init="bbox", random_state=0).fit(lonlat))
    island = [m for m in messages if "Null Island" in m]
    assert len(island) == 1 and island[0].startswith("3 of 200 points (1.5%)")
    assert "\n" not in island[0]
    assert model.n_null_island_ == 3
    # the same through cluster(), and once for choose_k's whole sweep
    _, messages = fit_warnings(lambda: gk.cluster(lonlat, 3, random_state=0))
    assert sum("Null Island" in m for m in messages) == 1
    _, messages = fit_warnings(lambda: gk.choose_k(lonlat, "2..4", random_state=0))
    assert sum("Null Island" in m for m in messages) == 1


def test_no_warning_without_points_at_null_island():
    lonlat = dc_points()
    lonlat[0] = (0.0, 1e-7)  # near, not at
    model, messages = fit_warnings(lambda: gk.GeoKMeans(3, random_state=0).fit(lonlat))
    assert messages == [] and model.n_null_island_ == 0


def test_null_island_rows_skipped_are_not_counted():
    frame = pd.DataFrame({"lon": [0.0, np.nan, -77.0, -77.01, -77.02],
                          "lat": [0.0, 0.0, 38.9, 38.91, 38.92]})
    model, messages = fit_warnings(
        lambda: gk.GeoKMeans(2, dropna=True, random_state=0).fit(frame))
    assert model.n_null_island_ == 1
    assert any(m.startswith("1 of 4 points (25.0%)") for m in messages)


def test_bbox_holding_no_point_warned_once():
    lonlat = dc_points()
    box = (10.0, 10.0, 11.0, 11.0)
    _, messages = fit_warnings(
        lambda: gk.GeoKMeans(3, init="bbox", bbox=box, n_init=10, random_state=0).fit(lonlat))
    empty = [m for m in messages if "holds none" in m]
    assert len(empty) == 1
    assert empty[0].startswith("bbox=(10, 10, 11, 11) holds none of the 200 points")
    assert "lat 38.8" in empty[0]
    # a box holding one point: no warning; the default box (the data's extent): none
    one = (lonlat[0, 0] - 1e-6, lonlat[0, 1] - 1e-6, lonlat[0, 0] + 1e-6, lonlat[0, 1] + 1e-6)
    for kwargs in (dict(bbox=one), {}):
        _, messages = fit_warnings(
            lambda kw=kwargs: gk.GeoKMeans(3, init="bbox", random_state=0, **kw).fit(lonlat))
        assert not [m for m in messages if "holds none" in m]
    # a box given without init="bbox" would not seed: refused (test_validation)


@pytest.mark.parametrize("init, named", [("k-means++", "init='k-means++'"),
                                         ("random", "init='random'"),
                                         ([[-77.0, 38.9], [-77.1, 38.8]], "init=array")])
def test_bbox_without_init_bbox_is_refused_before_reading(tmp_path, init, named):
    # it would be silently ignored (the command line refuses --bbox without --init bbox)
    missing = tmp_path / "nope.csv"  # never read: the parameters are checked first
    box = (-77.2, 38.8, -76.9, 39.0)
    calls = [lambda: gk.GeoKMeans(2, init=init, bbox=box).fit(missing),
             lambda: gk.cluster(missing, 2, init=init, bbox=box)]
    if isinstance(init, str):  # (by= refuses explicit centres first)
        calls.append(lambda: gk.cluster(missing, 2, init=init, bbox=box, by="g"))
    for call in calls:
        with pytest.raises(InputError, match=r"bbox=\(-77.2, 38.8, -76.9, 39.0\) is only used "
                                             rf"with init='bbox', and .*{re.escape(named)}"):
            call()
    assert list(tmp_path.iterdir()) == []
    gk.GeoKMeans(2, init="bbox", bbox=box, random_state=0).fit(dc_points())  # accepted


def test_bbox_across_the_antimeridian():
    rng = np.random.default_rng(1)
    # half just west of the 180° meridian, half just east of it
    lonlat = np.column_stack([rng.uniform(179.0, 180.0, 50), rng.uniform(-1, 1, 50)])
    lonlat[::2, 0] = rng.uniform(-180.0, -179.0, 25)
    _, messages = fit_warnings(lambda: gk.GeoKMeans(
        2, init="bbox", bbox=(178.0, -2.0, -178.0, 2.0), random_state=0).fit(lonlat))
    assert messages == []  # the box crossing 180° holds them all
    # (the sphere: seeds drawn around the world cannot be projected to one UTM zone)
    _, messages = fit_warnings(lambda: gk.GeoKMeans(
        2, init="bbox", bbox=(-178.0, -2.0, 178.0, 2.0), crs="sphere",
        random_state=0).fit(lonlat))
    assert sum("holds none" in m for m in messages) == 1  # the other way round: none


def test_cli_prints_each_warning_on_one_line(tmp_path):
    frame = pd.read_csv(DC)
    frame.loc[:4, ["latitude", "longitude"]] = 0.0
    path = tmp_path / "with_zeros.csv"
    frame.to_csv(path, index=False)
    code, _, err = run_cli(["cluster", path, "-k", 3, "--seed", 0, "--init", "bbox",
                            "--bbox", 10, 10, 11, 11])
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("geokmeans: warning: 5 of 200 points (2.5%) are at exactly")
    assert lines[1].startswith("geokmeans: warning: --bbox 10 10 11 11 holds none of the 200")
    assert "--init bbox" in lines[1]


# -- the summary ---------------------------------------------------------------------------------


def test_summary_counts_exact_duplicates():
    lonlat = dc_points()
    lonlat[10:15] = lonlat[20]  # 5 repeats of one place
    lonlat[30] = lonlat[31]  # and one of another
    lonlat[40] = (lonlat[41, 0], lonlat[41, 1] + 1e-12)  # not a duplicate
    expected = len(lonlat) - len(np.unique(lonlat, axis=0))
    assert expected == 6
    result = gk.cluster(lonlat, 3, random_state=0)
    assert result.model.n_duplicates_ == expected
    assert "6 at the exact lon/lat of another point" in repr(result)
    html = result._repr_html_()
    assert "<td>duplicate coordinates</td><td>6 points at the exact lon/lat of another " \
           "point</td>" in html
    assert "at (0, 0)" not in html  # shown only when there are such points
    clean = gk.cluster(dc_points(seed=2), 3, random_state=0)
    assert clean.model.n_duplicates_ == 0 and "no duplicate coordinates" in repr(clean)
    assert "<td>duplicate coordinates</td><td>none</td>" in clean._repr_html_()


def test_summary_shows_points_at_null_island():
    lonlat = dc_points()
    lonlat[:2] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoKMeansWarning)
        result = gk.cluster(lonlat, 3, random_state=0)
    assert "2 at (0, 0)" in repr(result)
    assert "<td>at (0, 0)</td><td>2 points" in result._repr_html_()
    # the two at (0, 0) are duplicates of each other too
    assert result.model.n_duplicates_ == 1


# -- dask ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_fit_warns_once_and_does_not_count_duplicates():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    lonlat = dc_points()
    lonlat[[0, 150]] = 0.0
    frame = dd.from_pandas(pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1]}),
                           npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        result, messages = fit_warnings(lambda: gk.cluster(
            frame, 3, init="bbox", bbox=(10.0, 10.0, 11.0, 11.0), random_state=0))
    assert sum(m.startswith("2 of 200 points") for m in messages) == 1
    assert sum("holds none of the 200 points" in m for m in messages) == 1
    assert result.model.n_null_island_ == 2 and result.model.n_duplicates_ is None
    assert "<td>duplicate coordinates</td><td>not counted (dask input)</td>" in \
        result._repr_html_()
