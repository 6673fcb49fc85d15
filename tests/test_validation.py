"""The table of public parameter constraints and its one checker."""

import inspect
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS

import geokmeans as gk
from geokmeans import DataTypeError, InputError
from geokmeans._validation import (
    MAX_N_INIT,
    MAX_SEED,
    PARAMETERS,
    as_real_array,
    check_magnitudes,
    check_param,
    expectation,
    power_of_two_scale,
)


def test_every_public_parameter_is_in_the_table():
    names = set(gk.KMeans._get_param_names()) | set(gk.GeoKMeans._get_param_names())
    cluster = set(inspect.signature(gk.cluster).parameters) - {"data", "options"}
    choose = set(inspect.signature(gk.choose_k).parameters) - {"data"}
    missing = (names | cluster | choose) - set(PARAMETERS)
    assert not missing


# name, accepted values, refused values with the error expected
TABLE = [
    ("n_clusters", [1, 3, np.int64(3), np.uint8(2)],
     [(0, InputError), (-1, InputError), (3.0, DataTypeError), (True, DataTypeError),
      ("3", DataTypeError), (None, DataTypeError)]),
    ("init", ["k-means++", "bbox", "random", [[0.0, 0.0]], np.zeros((2, 2))],
     [("kmeans", InputError), (5, DataTypeError), (None, DataTypeError)]),
    ("n_init", ["auto", 1, MAX_N_INIT],
     [(0, InputError), (MAX_N_INIT + 1, InputError), ("many", InputError),
      (2.0, DataTypeError), (True, DataTypeError)]),
    ("local_search", ["auto", 0, 5],
     [(-1, InputError), (10**9, InputError), (True, DataTypeError), ("always", InputError)]),
    ("max_iter", [1, 300], [(0, InputError), (1.5, DataTypeError)]),
    ("tol", [0, 0.0, 1e-4, np.float32(1e-3)],
     [(-1.0, InputError), (np.inf, InputError), (np.nan, InputError), ("small", DataTypeError),
      (False, DataTypeError)]),
    ("random_state", [None, 0, MAX_SEED, np.uint32(7), np.random.default_rng(0),
                      np.random.RandomState(0)],
     [(-1, InputError), (MAX_SEED + 1, InputError), (True, DataTypeError),
      (1.5, DataTypeError), ("0", DataTypeError)]),
    ("algorithm", ["auto", "lloyd", "hamerly"], [("elkan", InputError), (1, DataTypeError)]),
    ("bbox", [None, (0, 0, 1, 1), np.zeros((2, 2))], [("box", DataTypeError), (3, DataTypeError)]),
    ("sphere_radius", [None, 6.4e6], [(0.0, InputError), (-1, InputError), ("r", DataTypeError)]),
    ("verbose", [0, 2, True, False], [(-1, InputError), ("yes", DataTypeError)]),
    ("crs", ["auto", "sphere", "EPSG:32618", 32618, CRS.from_epsg(32618)],
     [(None, DataTypeError), (True, DataTypeError), (1.5, DataTypeError)]),
    ("lat", [None, "lat", 0], [(True, DataTypeError), (1.5, DataTypeError)]),
    ("dropna", [True, False, np.bool_(True)],
     [("no", DataTypeError), ("False", DataTypeError), (1, DataTypeError),
      (None, DataTypeError)]),
    ("max_radius_m", [None, 0.001, 5_000, 1e7],
     [(1e-9, InputError), (0, InputError), (-5, InputError), (np.nan, InputError),
      (np.inf, InputError), ("5", DataTypeError)]),
    ("weight", [None, "pop", [1.0, 2.0], np.ones(3)],
     [(True, DataTypeError), (1.5, DataTypeError)]),
    ("silhouette_sample", [2, 10_000], [(1, InputError), ("x", DataTypeError)]),
    ("progress", [False, True, np.bool_(True), print],
     [(5, DataTypeError), (1, DataTypeError), ("yes", DataTypeError), (None, DataTypeError)]),
    ("k_range", ["2..10", range(2, 5), [2, 3]], [(5, DataTypeError), (None, DataTypeError)]),
    ("label_column", ["cluster", "zone"], [("", DataTypeError), (None, DataTypeError),
                                           (3, DataTypeError)]),
    ("csv_raw", [True, False], [("yes", DataTypeError), (1, DataTypeError)]),
    ("partitioned", [None, True, False], [("yes", DataTypeError), (1, DataTypeError)]),
    ("write", [None, {"points": "p.csv"}], [("p.csv", DataTypeError), (["p.csv"], DataTypeError)]),
    ("boundary", [None, shapely.box(0, 0, 1, 1), gpd.GeoSeries([shapely.box(0, 0, 1, 1)]),
                  gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)])],
     [("area.geojson", DataTypeError), ([[0, 0], [1, 1]], DataTypeError), (5, DataTypeError)]),
    ("relabel_like", [None, "june.geojson", Path("june.csv"),
                      gpd.GeoDataFrame({"cluster": [0]}, geometry=[shapely.Point(0, 0)])],
     [(5, DataTypeError), ([[0, 0]], DataTypeError), (True, DataTypeError)]),
    ("by", [None, "region", 3], [("", DataTypeError), (["a", "b"], DataTypeError),
                                 (True, DataTypeError), (2.5, DataTypeError)]),
    ("max_points", [1, 20_000], [(0, InputError), (None, DataTypeError), (2.5, DataTypeError)]),
    ("radius", [0.5, 3], [(0, InputError), (float("nan"), InputError), ("3", DataTypeError)]),
    ("hulls", [True, False], [("yes", DataTypeError), (None, DataTypeError)]),
    ("tooltip", [None, "name", ["a", "b"]], [(1.5, DataTypeError), ({"a": 1}, DataTypeError)]),
]


@pytest.mark.parametrize("name, good, bad", TABLE, ids=[row[0] for row in TABLE])
def test_table(name, good, bad):
    for value in good:
        check_param(name, value)
    for value, error in bad:
        with pytest.raises(error) as info:
            check_param(name, value)
        message = str(info.value)
        # one message form: name=value should be <what is accepted>.
        assert message.startswith(f"{name}=") and " should be " in message, message
        assert message.endswith(f"{expectation(name)}."), message


def test_values_with_a_multi_line_repr_are_named_on_one_line():
    import pandas as pd

    class Lines:
        def __repr__(self):
            return "first\nsecond"

    for value, shown in ((pd.Series([1, 2]), "a Series of shape (2,)"),
                         (pd.DataFrame({"a": [1]}), "a DataFrame of shape (1, 1)"),
                         (Lines(), "first second")):
        with pytest.raises(DataTypeError) as info:
            check_param("n_clusters", value)
        assert str(info.value) == f"n_clusters={shown} should be {expectation('n_clusters')}."
    with pytest.raises(DataTypeError, match=r"^n_clusters=a Series of shape \(2,\) should"):
        gk.cluster(Path("never-read.csv"), pd.Series([1, 2]))


def test_converted_values():
    assert type(check_param("n_clusters", np.int64(3))) is int
    assert type(check_param("tol", np.float32(0.5))) is float
    assert check_param("random_state", None) is None


def test_messages_name_the_value():
    with pytest.raises(InputError, match=r"^random_state=-1 should be None, an integer in "
                                         r"\[0, 4294967295\], a numpy Generator or a numpy "
                                         r"RandomState\.$"):
        check_param("random_state", -1)
    with pytest.raises(DataTypeError, match=r"^dropna='yes' should be True or False\.$"):
        check_param("dropna", "yes")
    # an array is described by its shape, a long value shortened
    with pytest.raises(DataTypeError, match=r"^tol=array of shape \(3, 3\) should be"):
        check_param("tol", np.zeros((3, 3)))
    with pytest.raises(InputError) as info:
        check_param("algorithm", "x" * 100)
    assert str(info.value).startswith("algorithm='" + "x" * 56 + "... should be 'auto'")
    assert expectation("n_init", like=[0]) == "an integer in [1, 10000]"


@pytest.mark.parametrize("value, message", [
    ([True, False], "holds booleans"),
    ([1 + 2j, 3], "holds complex numbers"),
    (np.array([1.0, True], dtype=object), "holds booleans"),
    (["a", "b"], r"holds text \(such as 'a'\); it should hold real numbers"),
    (np.array(["1.5", "2"]), "holds text; it should hold real numbers"),
    ([True, 2, 3], r"holds booleans \(such as True\)"),
])
def test_as_real_array_refuses_non_real(value, message):
    with pytest.raises(DataTypeError, match=message):
        as_real_array(value, "w")
    assert as_real_array([1, 2], "w").dtype == np.float64


def test_magnitudes():
    check_magnitudes(np.array([[0.0, 0.0], [1e150, 0.0]]))
    with pytest.raises(InputError, match=r"X is too large for float64: feature 1 spans"):
        check_magnitudes(np.array([[0.0, 0.0], [0.0, 1e200]]))
    with pytest.raises(InputError, match="too large"):
        check_magnitudes(np.zeros((2, 2)), others=[np.full((1, 2), 1e300)])


@pytest.mark.parametrize("top, scale", [(1.0, 1.0), (1.5, 1.0), (2.0, 2.0), (1000.0, 512.0),
                                        (0.3, 0.25), (1e308, 2.0**1023)])
def test_power_of_two_scale(top, scale):
    assert power_of_two_scale(np.array([top, top / 3])) == scale
    assert 1.0 <= top / scale < 2.0
