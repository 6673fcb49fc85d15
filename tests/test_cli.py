"""The geokmeans command line, run in subprocesses on the bundled data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geokmeans.stats import geodesic_distances_m

ROOT = Path(__file__).resolve().parents[1]
DC = ROOT / "data" / "dc_places.csv"

pytestmark = pytest.mark.slow


def run(*args, cwd=None):
    done = subprocess.run([sys.executable, "-m", "geokmeans.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)
    return done.returncode, done.stdout, done.stderr


def test_version_and_help():
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("geokmeans ")
    code, out, _ = run("cluster", "--help")
    assert code == 0 and "examples:" in out and "--max-radius-m" in out
    code, out, _ = run("choose-k", "--help")
    assert code == 0 and "--plot" in out


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet", ".csv"])
def test_cluster_every_output_format(tmp_path, suffix):
    points = tmp_path / f"points{suffix}"
    centroids = tmp_path / f"centroids{suffix}"
    code, out, err = run("cluster", DC, "-k", 5, "--weight", "population", "--seed", 0,
                         "-o", points, "--centroids", centroids)
    assert code == 0, err
    summary = out.splitlines()[0]
    assert summary.startswith("200 points, k=5, CRS EPSG:32618, inertia ")
    assert "iterations" in summary and summary.endswith(" s")
    assert "mean dist" in out.splitlines()[1]
    assert len(out.splitlines()) == 2 + 5
    reader = {".csv": pd.read_csv, ".parquet": gpd.read_parquet}.get(suffix, gpd.read_file)
    back = reader(points)
    assert len(back) == 200 and back.cluster.between(0, 4).all()
    cents = reader(centroids)
    assert len(cents) == 5 and set(cents.columns) >= {"n_points", "max_distance_m"}
    assert err == ""  # no progress output when stderr is not a terminal


def test_cluster_matches_library(tmp_path):
    import geokmeans as gk

    out_path = tmp_path / "p.geojson"
    code, _, err = run("cluster", DC, "-k", 4, "--seed", 3, "--init", "bbox", "--bbox",
                       -77.15, 38.825, -76.9, 39.0, "-o", out_path)
    assert code == 0, err
    expected = gk.cluster(DC, 4, random_state=3, init="bbox", bbox=(-77.15, 38.825, -76.9, 39.0))
    back = gpd.read_file(out_path)
    np.testing.assert_array_equal(back.cluster, expected.points.cluster)
    meta = json.loads(out_path.read_text())["geokmeans"]
    assert meta["crs_used"] == "EPSG:32618"


def test_map_output(tmp_path):
    code, _, err = run("cluster", DC, "-k", 3, "--seed", 0, "--map", tmp_path / "m.html")
    assert code == 0, err
    assert "L.canvas" in (tmp_path / "m.html").read_text()


def test_max_radius_verified_geodesically(tmp_path):
    out_path = tmp_path / "p.parquet"
    code, out, err = run("cluster", ROOT / "data" / "ny_harbor_ais.csv", "-k", 3,
                         "--max-radius-m", 5000, "--seed", 0, "-o", out_path,
                         "--centroids", tmp_path / "c.parquet")
    assert code == 0, err
    final_k = int(out.split("k=")[1].split(" ")[0])
    assert final_k > 3 and "split to a 5000 m radius" in out
    points = gpd.read_parquet(out_path)
    cents = gpd.read_parquet(tmp_path / "c.parquet")
    assert len(cents) == final_k
    c = cents.set_index("cluster").geometry
    d = geodesic_distances_m(points.geometry.x, points.geometry.y,
                             c.x.to_numpy()[points.cluster], c.y.to_numpy()[points.cluster])
    assert d.max() <= 5000


@pytest.mark.parametrize(
    "args, message",
    [
        (["cluster", "missing.csv", "-k", 3, "-o", "out.geojson"], "does not exist"),
        (["cluster", DC, "-k", 3, "--lat", "nope", "-o", "out.geojson"],
         "latitude column 'nope' not found"),
        (["cluster", DC, "-k", 500, "-o", "out.geojson"], "n_clusters=500"),
        (["cluster", DC, "-k", 3, "--crs", "EPSG:4326", "-o", "out.geojson"], "geographic"),
        (["cluster", DC, "-k", 3, "--crs", "EPSG:0", "-o", "out.geojson"], "not a CRS"),
        (["cluster", DC, "-k", 3, "-o", "out.xlsx"], "unsupported extension"),
        (["cluster", DC, "-k", 3, "-o", "no/such/dir/out.geojson"], "does not exist"),
        (["cluster", DC, "-k", 3, "--weight", "nope", "-o", "out.geojson"],
         "weight column 'nope' not found"),
        (["cluster", DC, "-k", 3, "--bbox", 0, 0, 1, 1, "-o", "out.geojson"],
         "only used with --init bbox"),
        (["choose-k", DC, "--k", "5..2"], "argument --k: '5..2' should be A..B"),
        (["cluster", DC, "-k", "three"], "argument -k/--k: 'three' should be an integer >= 1"),
        (["cluster", DC, "-k", 3, "--local-search", -1, "-o", "out.geojson"],
         "argument --local-search: '-1' should be 'auto' or an integer in [0, 100000]"),
    ],
)
def test_bad_input_exit_2_one_line_no_output(tmp_path, args, message):
    code, out, err = run(*args, cwd=tmp_path)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("geokmeans: error:") or "error:" in last
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_directory(tmp_path, monkeypatch, capsys):
    # root can write anywhere, so the denial is simulated where the check asks the OS
    from geokmeans import cli

    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked
                        else real_access(p, mode))
    code = cli.main(["cluster", str(DC), "-k", "3", "-o", str(locked / "out.geojson")])
    assert code == 2
    assert "is not writable" in capsys.readouterr().err
    assert list(locked.iterdir()) == []


def test_output_onto_input_refused(tmp_path):
    source = tmp_path / "dc.csv"
    source.write_bytes(DC.read_bytes())
    code, _, err = run("cluster", source, "-k", 3, "-o", source)
    assert code == 2 and "is the input file" in err
    assert source.read_bytes() == DC.read_bytes()


def test_choose_k_recommends_known_number(tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[-74.2, 40.6], [-73.8, 40.9], [-74.6, 41.1], [-73.4, 40.5]])
    lonlat = np.concatenate([c + rng.normal(scale=0.01, size=(150, 2)) for c in centres])
    path = tmp_path / "four.csv"
    pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1]}).to_csv(path, index=False)
    code, out, err = run("choose-k", path, "--k", "2..8", "--seed", 0,
                         "--plot", tmp_path / "elbow.png")
    assert code == 0, err
    assert "recommended k = 4" in out
    assert (tmp_path / "elbow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = run("choose-k", path, "--k", "2..5", "--seed", 0, "--format", "csv")
    table = pd.read_csv(pd.io.common.StringIO(out))
    assert list(table.columns) == ["k", "inertia_m2", "silhouette", "calinski_harabasz"]
    assert list(table.k) == [2, 3, 4, 5]
    assert "recommended k = 4" in err


def test_verbose_logs_iterations():
    code, _, err = run("cluster", DC, "-k", 3, "--seed", 0, "--verbose")
    assert code == 0
    assert "iteration 1, inertia" in err


def test_progress_on_a_terminal():
    # a pseudo-terminal as stderr: progress is drawn there; --quiet silences it
    import pty

    def with_tty(*extra, command=("choose-k", str(DC), "--k", "2..4", "--seed", "0")):
        leader, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "geokmeans.cli", *command, *extra],
                                stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=300)
        os.close(leader)
        return proc.returncode, b"".join(chunks).decode()

    code, err = with_tty()
    assert code == 0 and "k sweep [" in err and "3/3" in err
    code, err = with_tty("--quiet")
    assert code == 0 and "k sweep" not in err
    code, err = with_tty(command=("cluster", str(DC), "-k", "4", "--init", "bbox", "--seed", "0"))
    assert code == 0 and "restarts [" in err and "10/10" in err


# -- the "Trust" issue: bad input is exit 2 with one line, checked before any work --------
# (in this process: the command line's main() with stdout/stderr captured)


def run_here(*args):
    from .hostile import run_cli

    return run_cli(list(args))


@pytest.mark.parametrize("args, needle", [
    (["cluster", DC, "-k"], "argument -k/--k: expected one argument"),
    (["cluster", DC, "-k", 2, "--seed", -1], "argument --seed: '-1' should be an integer in "
                                             "[0, 4294967295]"),
    (["cluster", DC, "-k", 2, "--dask", "bogus://x"], "--dask 'bogus://x' is not a scheduler "
                                                      "address"),
    (["cluster", DC, "-k", 2, "--init", "bbox", "--n-init", 100_000_000], "argument --n-init"),
    (["choose-k", DC, "--k", "2..1000000000"], "n_samples=200 should be >= the largest "
                                               "k=1000000000"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_are_one_line(args, needle):
    code, out, err = run_here(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("geokmeans: error: "), err
    assert needle in err and "usage:" not in err


def test_mixed_directory_is_exit_2(tmp_path):
    pd.read_csv(DC).to_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.csv").write_text("lat,lon\n1,1\n")
    code, _, err = run_here("cluster", tmp_path, "-k", 2)
    assert code == 2 and "mixes Parquet and CSV files" in err


def test_plot_without_matplotlib_is_refused_before_the_sweep(monkeypatch, tmp_path):
    import geokmeans.selection

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(geokmeans.selection, "choose_k",
                        lambda *a, **k: pytest.fail("the sweep ran"))
    code, out, err = run_here("choose-k", DC, "--k", "2..3", "--plot", tmp_path / "e.png")
    assert code == 2 and out == ""
    assert err == ('geokmeans: error: --plot needs matplotlib, which is not installed: '
                   'pip install "geokmeans[plot]"\n')
    assert list(tmp_path.iterdir()) == []


def test_warnings_are_one_line_and_restored():
    import warnings

    before = warnings.showwarning
    code, _, err = run_here("cluster", DC, "-k", 2, "--seed", 0, "--crs", "EPSG:32755")
    assert code == 0
    (line,) = err.splitlines()
    assert line.startswith("geokmeans: warning: crs=EPSG:32755 (WGS 84 / UTM zone 55S) is "
                           "meant for lon 144 to 150")
    assert warnings.showwarning is before
