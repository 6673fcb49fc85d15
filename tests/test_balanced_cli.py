"""The command line's explicit centres and size limits: results, and refusals (exit 2,
nothing written)."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from .hostile import run_cli, snapshot

ROOT = Path(__file__).resolve().parents[1]
DC = ROOT / "data" / "dc_places.csv"

DEPOTS = """name,latitude,longitude,cap,fixed,gap
A,38.90,-77.03,60,true,60
B,38.85,-77.10,50,false,
C,38.95,-76.95,50,no,50
D,39.00,-77.10,60,1,60
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "depots.csv").write_text(DEPOTS)
    return tmp_path


def test_depots_with_capacities_and_fixed_centres(folder):
    code, out, err = run_cli(["cluster", DC, "--centres-file", folder / "depots.csv",
                              "--size-min", "45", "--size-max", "cap", "--fixed-column", "fixed",
                              "-o", folder / "points.geojson", "--centroids",
                              folder / "centroids.csv"])
    assert code == 0, err
    assert "size limits" in out and "45..60" in out
    centroids = pd.read_csv(folder / "centroids.csv")
    assert centroids.n_points.between(centroids.size_min, centroids.size_max).all()
    assert list(centroids.size_max) == [60, 50, 50, 60]
    assert centroids.n_points.sum() == 200
    depots = pd.read_csv(folder / "depots.csv")
    for j in (0, 3):  # fixed: still on their depot
        assert centroids.longitude[j] == pytest.approx(depots.longitude[j], abs=1e-9)
        assert centroids.latitude[j] == pytest.approx(depots.latitude[j], abs=1e-9)
    assert abs(centroids.longitude[1] - depots.longitude[1]) > 1e-4  # free: moved
    points = gpd.read_file(folder / "points.geojson")
    sizes = np.bincount(points.cluster, minlength=4)
    assert list(sizes) == list(centroids.n_points)


def test_limits_by_weight(folder):
    code, out, err = run_cli(["cluster", DC, "-k", "4", "--weight", "population",
                              "--size-by", "weight", "--size-min", "800000", "--size-max",
                              "1000000", "--seed", "0", "--centroids", folder / "c.csv"])
    assert code == 0, err
    table = pd.read_csv(folder / "c.csv")
    heaviest = pd.read_csv(DC).population.max()
    assert (table.weight <= 1_000_000 + heaviest).all()
    assert (table.weight >= 800_000 - heaviest).all()
    outside = (table.weight > 1_000_000) | (table.weight < 800_000)
    assert ("outside their size limits" in err) == bool(outside.any())


@pytest.mark.parametrize("args, needle", [
    (["-k", "3", "--size-max", "cap"], "a column name needs --centres-file"),
    (["--centres-file", "{d}", "--size-max", "nope"], "neither a number nor a column"),
    (["--centres-file", "{d}", "--fixed-column", "name"], "holds 'A'"),
    (["--centres-file", "{d}", "--fixed-column", "missing"], "not a column"),
    (["--centres-file", "{d}", "-k", "5"], "holds 4 centres"),
    (["--centres-file", "{d}", "--init", "bbox"], "both choose the initial centres"),
    (["-k", "4", "--size-by", "weight", "--size-max", "5"], "needs --weight"),
    (["-k", "4", "--size-min", "100"], "cannot be met"),
    (["-k", "4", "--size-min", "-3"], "--size-min -3.0 should be a finite number >= 0"),
    (["-k", "4", "--size-min", "nan"], "--size-min nan should be"),
    (["-k", "4", "--size-min", "2.5"], "whole numbers"),
    (["-k", "4", "--size-max", "30", "--max-radius-m", "500"], "cannot be combined"),
    (["--centres-file", "{d}", "-o", "{d}"], "is the --centres-file"),
    (["--centres-file", "{d}", "--territories", "{d}"], "is the --centres-file"),
    (["--centres-file", "{folder}/missing.csv"], "--centres-file"),
    (["--size-min", "3"], "-k/--k is required"),
    (["--fixed-column", "fixed", "-k", "4"], "needs --centres-file"),
    (["--centres-file", "{d}", "--size-max", "gap"], "--size-max column 'gap' of"),
    (["-k", "4", "--size-by", "weight", "--weight", "population", "--size-min", "1e12"],
     "(sum of --size-min)"),
])
def test_bad_options_exit_2_and_write_nothing(folder, args, needle):
    depots = str(folder / "depots.csv")
    argv = [a.replace("{d}", depots).replace("{folder}", str(folder)) for a in args]
    if "-o" not in argv:
        argv += ["-o", str(folder / "out.geojson")]
    before = snapshot(folder)
    code, out, err = run_cli(["cluster", DC, *argv])
    assert code == 2, (out, err)
    assert needle in err and len(err.strip().splitlines()) == 1
    assert snapshot(folder) == before
