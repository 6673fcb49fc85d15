"""Progress bars: ``progress=True`` draws a tqdm bar (restarts, k sweep, Dask
iterations) on stderr outside notebooks; ``False`` draws nothing; other values are
refused; the command line draws the same bars only on a terminal."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import geokmeans as gk
from geokmeans.errors import DataTypeError

from .hostile import run_cli

DC = Path(__file__).resolve().parents[1] / "data" / "dc_places.csv"


@pytest.fixture(autouse=True)
def every_update(monkeypatch):
    """tqdm redraws at every update (by default at most every 0.1 s), so that each
    count it reaches is in the captured text."""
    monkeypatch.setenv("TQDM_MININTERVAL", "0")


def lonlat(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-77.03, 38.90], [-77.10, 38.85], [-76.95, 38.95]])
    return np.concatenate([c + rng.normal(scale=0.01, size=(n // 3, 2)) for c in centres])


def stderr_of(call):
    """``(value, text written to stderr)`` of ``call()``."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        value = call()
    return value, err.getvalue()


def counts(text, desc):
    """The ``done/total`` pairs a bar named ``desc`` showed, in order."""
    return [(int(a), int(b)) for a, b in re.findall(rf"{re.escape(desc)}:\s+\d+%\|[^|]*\| "
                                                   r"(\d+)/(\d+)", text)]


def test_restarts_bar_counts_every_run():
    model, err = stderr_of(lambda: gk.GeoKMeans(3, n_init=7, random_state=0,
                                                 progress=True).fit(lonlat()))
    shown = counts(err, "restarts")
    assert shown[0] == (0, 7) and shown[-1] == (7, 7)
    assert [done for done, _ in shown] == sorted(done for done, _ in shown)
    assert {total for _, total in shown} == {7}
    # the bar does not change the fit
    quiet = gk.GeoKMeans(3, n_init=7, random_state=0).fit(lonlat())
    assert np.array_equal(model.labels_, quiet.labels_) and model.inertia_ == quiet.inertia_


def test_nothing_printed_without_progress(capsys):
    gk.GeoKMeans(3, n_init=3, random_state=0).fit(lonlat())
    gk.cluster(lonlat(), 3, n_init=3, random_state=0, progress=False)
    gk.choose_k(lonlat(), "2..4", random_state=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_cluster_and_auto_n_init():
    # init="bbox": n_init "auto" is 10 runs
    _, err = stderr_of(lambda: gk.cluster(lonlat(), 3, init="bbox", random_state=0,
                                          progress=True))
    assert counts(err, "restarts")[-1] == (10, 10)
    # k-means++: one run, a bar of one
    _, err = stderr_of(lambda: gk.cluster(lonlat(), 3, random_state=0, progress=True))
    assert counts(err, "restarts")[-1] == (1, 1)


def test_grouped_fit_draws_one_bar_over_the_groups():
    # one bar named "groups", no bar per group (140 of them for the AIS vessels)
    frame = pd.DataFrame(lonlat(), columns=["lon", "lat"]).assign(
        group=np.repeat(["a", "b", "c", "d"], 75))
    result, err = stderr_of(lambda: gk.cluster(frame, 2, by="group", n_init=3, random_state=0,
                                               progress=True))
    shown = counts(err, "groups")
    assert shown[0] == (0, 4) and shown[-1] == (4, 4)
    assert [done for done, _ in shown] == sorted(done for done, _ in shown)
    assert counts(err, "restarts") == [] and "restarts" not in err
    quiet = gk.cluster(frame, 2, by="group", n_init=3, random_state=0)
    assert np.array_equal(result.points.cluster, quiet.points.cluster)
    # a callable gets (groups done, groups), once per group, never a group's restarts
    calls = []
    gk.cluster(frame, 2, by="group", n_init=3, random_state=0,
               progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_callable_called_after_each_run():
    calls = []
    gk.GeoKMeans(3, n_init=4, random_state=0,
                 progress=lambda done, total: calls.append((done, total))).fit(lonlat())
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_k_sweep_bar():
    choice, err = stderr_of(lambda: gk.choose_k(lonlat(), "2..5", random_state=0,
                                                progress=True))
    shown = counts(err, "k sweep")
    assert shown[0] == (0, 4) and shown[-1] == (4, 4)
    plain = gk.choose_k(lonlat(), "2..5", random_state=0)
    assert choice.table.equals(plain.table)


def test_progress_is_an_estimator_parameter():
    model = gk.GeoKMeans(3, progress=True)
    assert model.get_params()["progress"] is True
    assert clone(model).progress is True
    assert model.set_params(progress=False).progress is False
    assert gk.GeoKMeans().progress is False


@pytest.mark.parametrize("value", ["yes", 1, 0, None, 0.5, [True]])
def test_bad_values_refused_before_any_work(value):
    expected = f"progress={value!r} should be True, False or a callable."
    if isinstance(value, (int, float)) or value is None:
        expected = f"progress={value} should be True, False or a callable."
    for call in (lambda: gk.GeoKMeans(2, progress=value).fit("no such file.csv"),
                 lambda: gk.cluster("no such file.csv", 2, progress=value),
                 lambda: gk.choose_k("no such file.csv", "2..3", progress=value)):
        with pytest.raises(DataTypeError) as info:
            call()
        assert str(info.value) == expected


def test_bar_closed_when_the_fit_fails(monkeypatch):
    import geokmeans.model

    def failing(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(geokmeans.model, "best_of", failing)
    err = io.StringIO()
    with pytest.raises(RuntimeError, match="boom") as info, contextlib.redirect_stderr(err):
        gk.GeoKMeans(3, n_init=5, progress=True).fit(lonlat())
    # the traceback (held by ``info``) keeps the fit's frames and its bar alive: the bar
    # was closed by the fit, which ended its line, and counted no run
    assert info.value is not None and err.getvalue().endswith("\n")
    assert counts(err.getvalue(), "restarts")[-1] == (0, 5)


# -- the command line ---------------------------------------------------------------------------


def test_cli_draws_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    code, out, err = run_cli(["cluster", DC, "-k", 4, "--init", "bbox", "--seed", 0])
    assert code == 0 and out and err == ""
    code, out, err = run_cli(["choose-k", DC, "--k", "2..4", "--seed", 0])
    assert code == 0 and "restarts" not in err and "k sweep" not in err


def test_cli_bars_on_a_terminal():
    from .test_cli import run_on_terminal

    code, _, err = run_on_terminal("cluster", DC, "-k", 4, "--init", "bbox", "--seed", 0)
    assert code == 0 and counts(err, "restarts")[-1] == (10, 10)
    assert "clustering" in err  # the stage line, through tqdm too
    code, _, err = run_on_terminal("choose-k", DC, "--k", "2..4", "--seed", 0)
    assert code == 0 and counts(err, "k sweep")[-1] == (3, 3)
    code, _, err = run_on_terminal("cluster", DC, "-k", 4, "--init", "bbox", "--seed", 0,
                                   "--quiet")
    assert code == 0 and err == ""


# -- dask ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_iterations_bar():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    points = lonlat()
    frame = dd.from_pandas(pd.DataFrame({"lon": points[:, 0], "lat": points[:, 1]}),
                           npartitions=3)
    with dask.config.set(scheduler="synchronous"):
        result, err = stderr_of(lambda: gk.cluster(frame, 3, init="random", n_init=1,
                                                   random_state=0, progress=True))
        assert counts(err, "restarts")[-1] == (1, 1)
        iterations = counts(err, "iterations")
        assert iterations[-1] == (result.model.n_iter_, 300)
        assert [done for done, _ in iterations] == list(range(result.model.n_iter_ + 1))
        # several runs: a bar per run, named by its number
        result, err = stderr_of(lambda: gk.cluster(frame, 3, init="random", n_init=2,
                                                   random_state=0, progress=True))
        assert counts(err, "run 1/2") and counts(err, "run 2/2")
        assert counts(err, "restarts")[-1] == (2, 2)
