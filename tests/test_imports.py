"""What importing geokmeans loads, and the scikit-learn API without scikit-learn's base.

``import geokmeans`` and ``geokmeans --help`` load neither numpy, pandas, numba nor
scikit-learn; a ``cluster()`` run loads no scikit-learn; ``DataFrame.geokmeans`` exists whichever
of pandas and geokmeans is imported first. Each check runs in a fresh interpreter.
"""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import geokmeans as gk

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code):
    """The names among a few heavy packages that ``code`` leaves imported."""
    probe = (f"{code}\nimport json, sys\n"
             "print(json.dumps(sorted(m for m in ('pandas', 'geopandas', 'numba', 'sklearn', "
             "'folium', 'dask') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_loads_no_heavy_package():
    assert _modules_after("import geokmeans") == []


@pytest.mark.parametrize("command", ["--help", "cluster --help", "choose-k --help"])
def test_cli_help_loads_no_pandas_nor_numpy(command):
    code = (f"import sys\nfrom geokmeans.cli import main\nsys.argv = ['geokmeans', "
            f"*{command.split()!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass")
    assert _modules_after(code) == []


def test_cluster_run_loads_no_sklearn():
    loaded = _modules_after("import geokmeans as gk\n"
                            "gk.cluster('data/dc_places.csv', 4, random_state=0)")
    assert "sklearn" not in loaded and "numba" in loaded and "geopandas" in loaded


@pytest.mark.parametrize("order", ["pandas first", "geokmeans first"])
def test_accessor_registered_whatever_the_import_order(order):
    first, second = ("pandas", "geokmeans") if order == "pandas first" else ("geokmeans",
                                                                               "pandas")
    code = (f"import {first}\nimport {second}\nimport pandas as pd\n"
            "frame = pd.DataFrame({'lon': [0.0, 1.0, 2.0], 'lat': [0.0, 1.0, 2.0]})\n"
            "print(type(frame.geokmeans).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "GeoKMeansAccessor"


def test_public_names_resolve_and_are_listed():
    for name in gk.__all__:
        assert getattr(gk, name) is not None
        assert name in dir(gk)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        gk.nothing_here  # noqa: B018


def test_convergence_warning_is_sklearns_too():
    from sklearn.exceptions import ConvergenceWarning

    from geokmeans.errors import ConvergenceWarning as Ours

    assert gk.ConvergenceWarning is Ours
    assert issubclass(Ours, ConvergenceWarning) and issubclass(Ours, gk.GeoKMeansWarning)
    assert Ours.__module__ == "geokmeans.errors"
    with warnings.catch_warnings():  # a filter written for scikit-learn's class applies
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="distinct clusters"):
            gk.KMeans(3, n_init=1, random_state=0).fit(np.zeros((5, 2)))


# -- the estimator API ----------------------------------------------------------------------

def test_get_set_params_and_clone():
    from sklearn.base import clone

    model = gk.GeoKMeans(5, init="random", random_state=3, max_radius_m=1e4)
    params = model.get_params()
    assert params["n_clusters"] == 5 and params["init"] == "random"
    assert params["max_radius_m"] == 1e4 and "verbose" in params
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    assert copy.set_params(n_clusters=7, random_state=4) is copy
    assert (copy.n_clusters, copy.random_state, model.n_clusters) == (7, 4, 5)
    with pytest.raises(ValueError, match=r"Invalid parameter 'n_cluster' for estimator "
                                         r"GeoKMeans.*Valid parameters are: \[.*'n_clusters'"):
        model.set_params(n_cluster=3)
    assert model.set_params() is model


def test_repr_shows_changed_parameters_only():
    assert repr(gk.KMeans()) == "KMeans()"
    assert repr(gk.KMeans(3, init="random", n_init=2)) == \
        "KMeans(init='random', n_clusters=3, n_init=2)"
    assert repr(gk.GeoKMeans(4, crs="EPSG:3857")) == "GeoKMeans(crs='EPSG:3857', n_clusters=4)"
    long = repr(gk.KMeans(2, init=np.zeros((400, 2))))
    assert len(long) <= 703 and "..." in long


def test_not_fitted_is_sklearns_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="GeoKMeans instance is not fitted yet"):
        gk.GeoKMeans(2).predict(np.array([[0.0, 0.0]]))
    with pytest.raises(NotFittedError, match="KMeans instance is not fitted yet"):
        gk.KMeans(2).transform(np.zeros((3, 2)))


def test_sklearn_pipeline_and_grid_search():
    """The array estimator works in scikit-learn's meta-estimators, as a clusterer."""
    from sklearn.base import is_clusterer
    from sklearn.cluster import KMeans as SklearnKMeans
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.3, (60, 2)) for c in ((0, 0), (5, 5), (0, 5))])
    assert is_clusterer(gk.KMeans())
    start = X[[0, 60, 120]]
    pipe = make_pipeline(StandardScaler(), gk.KMeans(3, init=StandardScaler().fit(X)
                                                      .transform(start), n_init=1))
    theirs = make_pipeline(StandardScaler(), SklearnKMeans(3, init=StandardScaler().fit(X)
                                                            .transform(start), n_init=1))
    assert_array_equal(pipe.fit_predict(X), theirs.fit_predict(X))
    search = GridSearchCV(gk.KMeans(random_state=0), {"n_clusters": [2, 3, 4]}, cv=3).fit(X)
    assert search.best_params_["n_clusters"] in (2, 3, 4)
    assert search.best_estimator_.cluster_centers_.shape[1] == 2
