"""The geokmeans command line on the bundled data: in this process (``run``, fast), and in
real processes where the process matters (entry point, terminals, signals, devices)."""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geokmeans import io as gio
from geokmeans.stats import geodesic_distances_m

from .geojson_check import check_geojson, layer_features
from .hostile import files_under, run_cli, snapshot

ROOT = Path(__file__).resolve().parents[1]
DC = ROOT / "data" / "dc_places.csv"

# tests running the command in a subprocess are marked slow; in-process ones are not


def run(*args, cwd=None):
    """``geokmeans ARGS`` in this process, in folder ``cwd``: (exit code, stdout, stderr)."""
    from .hostile import run_cli

    if cwd is None:
        return run_cli(args)
    before = os.getcwd()
    os.chdir(cwd)
    try:
        return run_cli(args)
    finally:
        os.chdir(before)


def run_process(*args, cwd=None):
    """``python -m geokmeans.cli ARGS`` in a new process: (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "geokmeans.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_entry_point_in_a_process():
    code, out, _ = run_process("--version")
    assert code == 0 and out.startswith("geokmeans ")


@pytest.mark.slow
def test_the_quick_exit_keeps_outputs_report_codes_and_exit_handlers(tmp_path):
    # run() ends with os._exit: everything printed reaches the pipe, the outputs are in
    # place, atexit handlers still run (after the report), and the exit code passes through
    source, frame = small_csv(tmp_path, n=300)
    child = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('exit handler ran'))\n"
        "from geokmeans.cli import run\n"
        "sys.argv[0] = 'geokmeans'\n"
        "run()\n"
    )

    # block-buffered stdout, as for any pipe (this machine's environment may unbuffer it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

    def command(*args):
        done = subprocess.run([sys.executable, "-c", child, *map(str, args)],
                              capture_output=True, text=True, timeout=300, env=env)
        return done.returncode, done.stdout, done.stderr

    out_path = tmp_path / "p.geojson"
    code, out, err = command("cluster", source, "-k", 3, "--seed", 0, "-o", out_path,
                             "--centroids", tmp_path / "c.csv")
    assert code == 0, err
    expected_code, expected_out, _ = run("cluster", source, "-k", 3, "--seed", 0)
    assert expected_code == 0
    report = out.rsplit("exit handler ran", 1)[0]
    assert out.endswith("exit handler ran\n")
    # the same report as in this process (the run's time aside)
    assert re.sub(r"[0-9.]+ s\b", "", report) == re.sub(r"[0-9.]+ s\b", "", expected_out)
    assert len(gpd.read_file(out_path)) == len(frame)
    assert len(pd.read_csv(tmp_path / "c.csv")) == 3
    assert not [p for p in tmp_path.iterdir() if ".geokmeans-" in p.name]
    code, out, err = command("cluster", source, "-k", 0)
    assert code == 2 and "geokmeans: error" in err and out == "exit handler ran\n"
    code, out, _ = command("--version")
    assert code == 0 and out.startswith("geokmeans ") and out.endswith("exit handler ran\n")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_help_into_a_full_device_fails_the_exit():
    # --help's text cannot be written: Python's own status for a failed final flush (120),
    # not 0, although the quick exit skips the interpreter's flush
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["--help"], ["--version"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "geokmeans.cli", *args], stdout=full,
                                  stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        assert done.returncode == 120, (args, done.stderr)


@pytest.mark.slow
def test_started_with_stdout_closed(tmp_path):
    # ``geokmeans ... >&-``: sys.stdout is None; the report cannot be written, so nothing
    # is (exit 2, one line); --version and usage errors keep their codes
    source, _ = small_csv(tmp_path, n=300)

    def command(*args):
        done = subprocess.run([sys.executable, "-m", "geokmeans.cli", *map(str, args)],
                              stderr=subprocess.PIPE, text=True, timeout=300,
                              preexec_fn=lambda: os.close(1))
        return done.returncode, done.stderr

    code, err = command("cluster", source, "-k", 3, "-o", tmp_path / "p.csv")
    assert code == 2 and "cannot write the report to stdout: it is closed" in err, err
    assert not (tmp_path / "p.csv").exists() and "Traceback" not in err
    assert command("--version")[0] == 0
    assert command("cluster", source, "--bogus")[0] == 2


@pytest.mark.slow
def test_report_into_a_closed_pipe(tmp_path):
    # the reader of stdout has gone (``geokmeans cluster ... | head -c 1``): the outputs are
    # not committed (stdout is one of them) and the exit code says so
    source, _ = small_csv(tmp_path, n=300)
    proc = subprocess.Popen([sys.executable, "-m", "geokmeans.cli", "cluster", str(source),
                             "-k", "3", "-o", str(tmp_path / "p.csv")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # nothing will read the report
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert proc.returncode == 2, err
    assert "stdout" in err
    assert not (tmp_path / "p.csv").exists()


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
    if suffix == ".geojson":
        from .geojson_check import check_geojson

        for path in (points, centroids):
            check_geojson(path)
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
    from .geojson_check import check_geojson

    check_geojson(out_path)
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
        (["cluster", DC, "-k", 500, "-o", "out.geojson"], "-k 500 but the data hold 200 points"),
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


def no_new_files(folder):
    """``os.open`` refusing to create a file in ``folder`` (as ``/proc`` does, where
    ``os.access`` says root may write)."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if Path(path).parent == folder and flags & os.O_CREAT:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_open(path, flags, *args, **kwargs)

    return fake_open


@pytest.mark.parametrize("flag, name", [("-o", "x.csv"), ("--centroids", "x.geojson"),
                                        ("--hulls", "x.gpkg"), ("--territories", "x.parquet"),
                                        ("--map", "x.html"), ("assign -o", "x.csv")])
def test_output_folder_accepting_no_file_is_named(tmp_path, monkeypatch, flag, name):
    # the flag and the path given, one line, exit 2, before any work: never the name of
    # the temporary file written first
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "open", no_new_files(locked))
    centroids = ROOT / "data" / "dc_places.csv"
    targets = [locked / name] + ([Path("/proc") / name] if Path("/proc/self").exists() else [])
    for target in targets:
        if flag == "assign -o":
            args = ["assign", DC, "--centroids", centroids, "-o", target]
        else:
            args = ["cluster", DC, "-k", "3", flag, target]
        code, out, err = run(*args)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        option = flag.split()[-1]
        assert err.startswith(f"geokmeans: error: {option}: cannot write '{target}': no new "
                              f"file can be created in directory '{target.parent}'"), err
        assert ".geokmeans-" not in err and ".tmp" not in err
    assert list(locked.iterdir()) == []


def test_an_interrupted_writability_probe_leaves_nothing(tmp_path, monkeypatch):
    # the probe file of the check is removed even when Ctrl-C (or a signal turned into an
    # exception) arrives while it exists
    from geokmeans._atomic import OutputSet

    real_close = os.close

    def close_then_interrupt(fd):
        real_close(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "close", close_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        OutputSet().check(tmp_path / "x.csv")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


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


@pytest.mark.slow
def test_progress_on_a_terminal():
    # a real pseudo-terminal as stderr: progress is drawn there
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # a terminal of 24 rows and 100 columns (a new pseudo-terminal has none: tqdm draws
    # bars as wide as the terminal)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "geokmeans.cli", "choose-k", str(DC), "--k",
                             "2..4", "--seed", "0"], stdout=subprocess.PIPE, stderr=follower)
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
    err = b"".join(chunks).decode()
    assert proc.returncode == 0 and "k sweep: 100%" in err and "3/3" in err


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def run_on_terminal(*args):
    """``geokmeans ARGS`` in this process with stderr a (pretend) terminal."""
    from geokmeans.cli import main

    out, err = io.StringIO(), _Terminal()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def test_progress_bars_and_quiet():
    code, _, err = run_on_terminal("cluster", DC, "-k", 4, "--init", "bbox", "--seed", 0)
    assert code == 0 and "restarts: 100%" in err and "10/10" in err
    code, _, err = run_on_terminal("choose-k", DC, "--k", "2..4", "--seed", 0, "--quiet")
    assert code == 0 and err == ""


# -- outputs: in process (fast) -------------------------------------------------------------


def small_csv(folder, n=30, seed=0, **extra):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"name": [f"p{i}" for i in range(n)],
                          "Latitude": rng.uniform(38.8, 39.0, n),
                          "Longitude": rng.uniform(-77.1, -76.9, n), **extra})
    path = Path(folder) / "in.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet", ".csv"])
def test_hulls_option_every_format(tmp_path, suffix):
    source, _ = small_csv(tmp_path)
    hulls = tmp_path / f"hulls{suffix}"
    code, out, err = run_cli(["cluster", source, "-k", 3, "--seed", 0, "--hulls", hulls])
    assert code == 0, err
    reader = {".csv": pd.read_csv, ".parquet": gpd.read_parquet}.get(suffix, gpd.read_file)
    back = reader(hulls)
    assert list(back.cluster) == [0, 1, 2] and back.n_points.sum() == 30
    if suffix == ".geojson":
        assert len(layer_features(check_geojson(hulls), "hulls")) == 3
    if suffix == ".csv":
        assert back.wkt.str.startswith("POLYGON").all()


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet", ".csv"])
def test_territories_option_every_format(tmp_path, suffix):
    source, frame = small_csv(tmp_path)
    out = tmp_path / f"territories{suffix}"
    code, _, err = run_cli(["cluster", source, "-k", 3, "--seed", 0, "--territories", out])
    assert code == 0, err
    reader = {".csv": pd.read_csv, ".parquet": gpd.read_parquet}.get(suffix, gpd.read_file)
    back = reader(out)
    assert list(back.cluster) == [0, 1, 2]
    if suffix == ".geojson":
        assert len(layer_features(check_geojson(out), "territories")) == 3
    if suffix == ".csv":
        assert back.wkt.str.startswith("POLYGON").all()
    else:  # every point in one territory
        points = gpd.points_from_xy(frame.Longitude, frame.Latitude, crs=4326)
        assert (back.to_crs(4326).sindex.query(points, predicate="within")[0].size == 30)


def boundary_file(folder, geometries, name="boundary.geojson", crs="EPSG:4326"):
    path = Path(folder) / name
    gpd.GeoDataFrame({"name": [f"b{i}" for i in range(len(geometries))]},
                     geometry=list(geometries), crs=crs).to_file(path)
    return path


def test_territories_cover_the_boundary_file(tmp_path):
    import shapely

    source, _ = small_csv(tmp_path)
    county = shapely.Point(325_000.0, 4_310_000.0).buffer(15_000.0)  # UTM 18N, metres
    boundary = boundary_file(tmp_path, [county], "county.gpkg", crs="EPSG:32618")
    out = tmp_path / "t.geojson"
    code, _, err = run_cli(["cluster", source, "-k", 4, "--seed", 0, "--territories", out,
                            "--boundary", boundary])
    assert code == 0, err
    back = gpd.read_file(out).to_crs(32618)
    assert back.union_all().area == pytest.approx(county.area, rel=1e-5)
    assert back.area.sum() == pytest.approx(county.area, rel=1e-5)


def hostile_boundaries(folder):
    import shapely

    paris = boundary_file(folder, [shapely.box(2.2, 48.8, 2.4, 48.9)], "paris.geojson")
    points = boundary_file(folder, [shapely.Point(-77.0, 38.9)], "points.geojson")
    empty = Path(folder) / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    return {"paris": paris, "points": points, "empty": empty}


@pytest.mark.parametrize("case, needles", [
    ("no-territories", ["--boundary is only used with --territories"]),
    ("paris", ["the boundary (lon 2.2 to 2.4", "does not meet the data"]),
    ("points", ["points.geojson'", "is a Point", "Polygon"]),
    ("empty", ["empty.geojson'", "no geometry"]),
    ("csv", ["in.csv'", "holds no geometry"]),
    ("missing", ["none.geojson", "does not exist"]),
    ("onto-boundary", ["--territories", "is the --boundary file"]),
])
def test_bad_boundaries_exit_2_and_write_nothing(tmp_path, case, needles):
    source, _ = small_csv(tmp_path)
    files = hostile_boundaries(tmp_path)
    files.update(csv=source, missing=tmp_path / "none.geojson")
    territories = tmp_path / "t.geojson"
    boundary = files.get(case, files["paris"])
    if case == "onto-boundary":
        territories = boundary
    args = ["cluster", source, "-k", 3, "-o", tmp_path / "p.geojson", "--boundary", boundary]
    if case != "no-territories":
        args += ["--territories", territories]
    before = snapshot(tmp_path)
    code, _, err = run_cli(args)
    assert code == 2, err
    assert err.startswith("geokmeans: error: ") and err.count("\n") == 1
    for needle in needles:
        assert needle in err
    assert snapshot(tmp_path) == before


def test_cli_writes_the_hull_of_the_world(tmp_path):
    out = tmp_path / "h.geojson"
    code, _, err = run_cli(["cluster", ROOT / "data" / "world_cities.csv", "-k", 1, "--hulls", out])
    assert code == 0, err
    assert "geokmeans: warning: clusters [0] do not fit in a hemisphere" in err
    hull, = layer_features(check_geojson(out), "hulls")
    assert hull["geometry"]["coordinates"] == [[[-180, -90], [180, -90], [180, 90], [-180, 90],
                                                  [-180, -90]]]


def test_geojson_outputs_of_the_command_line_are_rfc7946(tmp_path):
    source, frame = small_csv(tmp_path)
    names = ["p.geojson", "c.json", "h.GEOJSON"]
    code, _, err = run_cli(["cluster", source, "-k", 3, "--seed", 0, "-o", tmp_path / names[0],
                            "--centroids", tmp_path / names[1], "--hulls", tmp_path / names[2]])
    assert code == 0, err
    for name, layer, count in zip(names, ["points", "centroids", "hulls"], [30, 3, 3],
                                   strict=True):
        document = check_geojson(tmp_path / name)
        assert len(layer_features(document, layer)) == count == len(document["features"])
    points = gpd.read_file(tmp_path / "p.geojson")
    assert list(points.name) == list(frame.name)


@pytest.mark.parametrize("first, second", [
    ("out.geojson", "out.geojson"),
    ("out.geojson", "./out.geojson"),
    ("out.geojson", "sub/../out.geojson"),
    ("out.geojson", "{tmp}/out.geojson"),
    ("out.geojson", "link.geojson"),       # a symlink to out.geojson
    ("out.geojson", "hard.geojson"),       # a hard link to out.geojson
])
def test_same_output_file_in_every_spelling(tmp_path, monkeypatch, first, second):
    source, _ = small_csv(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "out.geojson").write_text("previous")
    os.symlink(tmp_path / "out.geojson", tmp_path / "link.geojson")
    os.link(tmp_path / "out.geojson", tmp_path / "hard.geojson")
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    for a, b in [("-o", "--centroids"), ("--centroids", "--hulls"), ("-o", "--hulls")]:
        code, _, err = run_cli(["cluster", source, "-k", 3, a, first, b,
                                second.format(tmp=tmp_path)])
        assert code == 2, err
        assert f"{a} '{first}' and {b} '" in err and "are the same file" in err
    assert files_under(tmp_path) == before
    assert (tmp_path / "out.geojson").read_text() == "previous"


def test_output_onto_the_input_in_any_spelling(tmp_path, monkeypatch):
    source, _ = small_csv(tmp_path)
    os.link(source, tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path)
    for option in ["-o", "--centroids", "--hulls"]:
        for spelling in ["in.csv", "./in.csv", "hard.csv"]:
            code, _, err = run_cli(["cluster", source, "-k", 3, option, spelling])
            assert code == 2 and f"{option} '{spelling}' is the input file" in err


def test_failure_of_a_later_output_leaves_nothing(tmp_path, monkeypatch):
    source, _ = small_csv(tmp_path)
    (tmp_path / "c.gpkg").write_text("previous")

    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(gio, "write_gpkg", broken)  # --centroids, after -o was written
    before = files_under(tmp_path)
    code, _, err = run_cli(["cluster", source, "-k", 3, "-o", tmp_path / "p.geojson",
                            "--centroids", tmp_path / "c.gpkg", "--map", tmp_path / "m.html"])
    assert code == 2 and "no space left on device" in err
    assert files_under(tmp_path) == before
    assert (tmp_path / "c.gpkg").read_text() == "previous"


@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_signal_while_writing_leaves_nothing(tmp_path, monkeypatch, signame, code):
    source, _ = small_csv(tmp_path)
    real_write_gpkg = gio.write_gpkg

    def write_then_signal(*args, **kwargs):
        real_write_gpkg(*args, **kwargs)  # its temporary file is on disk now
        assert any(".geokmeans-" in name for name in files_under(tmp_path))
        os.kill(os.getpid(), getattr(signal, signame))
        time.sleep(5)  # never reached: the handler raises at once

    monkeypatch.setattr(gio, "write_gpkg", write_then_signal)
    before = files_under(tmp_path)
    exit_code, _, err = run_cli(["cluster", source, "-k", 3, "-o", tmp_path / "p.csv",
                                 "--centroids", tmp_path / "c.gpkg",
                                 "--hulls", tmp_path / "h.geojson"])
    assert exit_code == code and f"terminated by {signame}" in err
    assert files_under(tmp_path) == before
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


def test_ctrl_c_while_writing_leaves_nothing(tmp_path, monkeypatch):
    source, _ = small_csv(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gio, "write_text", interrupted)  # the map, written last
    before = files_under(tmp_path)
    code, _, err = run_cli(["cluster", source, "-k", 3, "-o", tmp_path / "p.parquet",
                            "--map", tmp_path / "m.html"])
    assert code == 130 and "interrupted" in err
    assert files_under(tmp_path) == before


def test_label_and_distance_column_options(tmp_path):
    source, _ = small_csv(tmp_path, cluster=["mine"] * 30)
    code, _, err = run_cli(["cluster", source, "-k", 3, "-o", tmp_path / "p.csv"])
    assert code == 2 and "already has a column 'cluster'" in err and "--label-column" in err
    assert not (tmp_path / "p.csv").exists()
    code, _, err = run_cli(["cluster", source, "-k", 3, "--seed", 0, "-o", tmp_path / "p.csv",
                            "--label-column", "group", "--distance-column", "metres"])
    assert code == 0, err
    back = pd.read_csv(tmp_path / "p.csv")
    assert list(back.columns) == ["name", "Latitude", "Longitude", "cluster", "group", "metres"]
    assert set(back.cluster) == {"mine"} and set(back.group) == {0, 1, 2}


def test_csv_output_keeps_the_input_coordinate_names_and_defuses_formulas(tmp_path):
    formulas = ["=1+1", "@cmd", "-3", "ok"] * 7 + ["+x", "plain"]
    source, frame = small_csv(tmp_path, note=formulas)
    code, _, err = run_cli(["cluster", source, "-k", 2, "-o", tmp_path / "p.csv"])
    assert code == 0, err
    back = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert list(back.columns) == ["name", "Latitude", "Longitude", "note", "cluster", "distance_m"]
    np.testing.assert_allclose(back.Latitude, frame.Latitude)
    assert list(back.note[:4]) == ["'=1+1", "'@cmd", "-3", "ok"] and back.note[28] == "'+x"
    code, _, err = run_cli(["cluster", source, "-k", 2, "-o", tmp_path / "raw.csv", "--csv-raw"])
    assert code == 0, err
    assert list(pd.read_csv(tmp_path / "raw.csv", keep_default_na=False).note) == formulas


def test_a_kind_column_survives_the_command_line(tmp_path):
    source, _ = small_csv(tmp_path, kind=["shop", "home", "park"] * 10)
    outputs = [tmp_path / name for name in ("p.geojson", "c.parquet", "h.csv")]
    code, _, err = run_cli(["cluster", source, "-k", 3, "-o", outputs[0]])
    assert code == 0, err
    code, _, err = run_cli(["cluster", source, "-k", 3, "-o", outputs[1]])
    assert code == 0, err
    for path in outputs[:2]:
        back = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
        assert list(back.kind) == ["shop", "home", "park"] * 10, path


def test_replaced_outputs_keep_their_mode(tmp_path):
    source, _ = small_csv(tmp_path)
    out = tmp_path / "p.parquet"
    out.write_text("old")
    out.chmod(0o640)
    code, _, err = run_cli(["cluster", source, "-k", 3, "-o", out])
    assert code == 0, err
    assert out.stat().st_mode & 0o777 == 0o640 and len(gpd.read_parquet(out)) == 30


@pytest.mark.slow
def test_sigterm_from_outside_while_writing(tmp_path):
    # a real SIGTERM delivered while the output is being written: the child sends it to
    # itself from inside the CSV writer, so the signal always lands mid-write
    source, _ = small_csv(tmp_path, n=300)
    child = (
        "import os, signal, sys\n"
        "import geokmeans._writers as writers\n"
        "from geokmeans.cli import main\n"
        "original = writers.write_csv_rows\n"
        "def rows(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return original(*args, **kwargs)\n"
        "writers.write_csv_rows = rows\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    before = files_under(tmp_path)
    proc = subprocess.run([sys.executable, "-c", child, "cluster", str(source), "-k", "2",
                           "--n-init", "1", "--seed", "0", "-o", str(tmp_path / "p.csv"),
                           "--centroids", str(tmp_path / "c.geojson")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 143, f"not caught while writing (exit {proc.returncode}): " \
                                   f"{proc.stderr}"
    assert "terminated by SIGTERM" in proc.stderr
    assert files_under(tmp_path) == before


@pytest.mark.slow
def test_sigkill_leftovers_are_removed_by_the_next_run(tmp_path):
    # SIGKILL cannot be caught: the temporary file stays, named after host and process;
    # the next run writing into the folder removes it, and not a live process's. The
    # child kills itself while its output is half-written, so no timing is involved.
    source, _ = small_csv(tmp_path)
    child = (
        "import os, signal, sys\n"
        "from geokmeans._atomic import OutputSet\n"
        "outputs = OutputSet().__enter__()\n"
        "outputs.reserve(sys.argv[1]).write_text('half written')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", child, str(tmp_path / "p.csv")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    left = [p.name for p in tmp_path.iterdir() if ".geokmeans-" in p.name]
    assert len(left) == 1 and f"-{proc.pid}-" in left[0] and left[0].startswith(".p.csv.")
    live = tmp_path / f".x.csv.geokmeans-{left[0].split('.geokmeans-')[1].split('-')[0]}-" \
                      f"{os.getpid()}-0123abcd.tmp.csv"
    live.write_text("a concurrent run's")
    before = sorted(p.name for p in tmp_path.iterdir() if ".geokmeans-" not in p.name)
    code, _, err = run_cli(["cluster", source, "-k", 2, "--n-init", 1,
                            "--centroids", tmp_path / "c.csv"])
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "c.csv", live.name])


class FullDevice(io.StringIO):
    """A stdout that fails like /dev/full."""

    def write(self, text):
        raise OSError(28, "No space left on device")


def test_stdout_on_a_full_device_leaves_no_output(tmp_path):
    from geokmeans.cli import main

    source, _ = small_csv(tmp_path)
    before = files_under(tmp_path)
    err = io.StringIO()
    with contextlib.redirect_stdout(FullDevice()), contextlib.redirect_stderr(err):
        code = main(["cluster", str(source), "-k", "3", "-o", str(tmp_path / "p.geojson"),
                     "--centroids", str(tmp_path / "c.csv"), "--map", str(tmp_path / "m.html")])
    assert code == 2
    assert "cannot write the report to stdout: No space left on device" in err.getvalue()
    assert files_under(tmp_path) == before


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_real_full_device(tmp_path):
    source, _ = small_csv(tmp_path)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "geokmeans.cli", "choose-k", str(source),
                               "--k", "2..3", "--plot", str(tmp_path / "elbow.png")],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
        assert done.returncode == 2, done.stderr
        done = subprocess.run([sys.executable, "-m", "geokmeans.cli", "cluster", str(source),
                               "-k", "3", "-o", str(tmp_path / "p.csv")],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip() == ("geokmeans: error: [Errno 28] cannot write the report to "
                                   "stdout: No space left on device")
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]

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


def test_signal_inside_a_compiled_kernel_is_still_a_signal(tmp_path, monkeypatch):
    # a signal handled while numba's dispatcher runs surfaces as a SystemError whose
    # cause is the signal's exception: still exit 143, one line, no output left
    import signal

    from geokmeans import cli

    def kernel_interrupted(args, progress):
        try:
            raise cli.Terminated(signal.SIGTERM)
        except cli.Terminated as exc:
            raise SystemError("CPUDispatcher(<function k>) returned a result with an "
                              "exception set") from exc

    monkeypatch.setattr(cli, "run_cluster", kernel_interrupted)
    code, _, err = run("cluster", DC, "-k", 3, "-o", tmp_path / "p.csv")
    assert code == 143 and err.strip() == "geokmeans: terminated by SIGTERM"
    assert list(tmp_path.iterdir()) == []


def test_signal_after_the_run_is_an_exit_code_not_a_traceback(tmp_path, monkeypatch):
    import signal

    from geokmeans import cli

    real_run = cli._run

    def run_then_hang_up(args, progress):
        code = real_run(args, progress)
        os.kill(os.getpid(), signal.SIGHUP)  # arrives while the command is being left
        return code

    monkeypatch.setattr(cli, "_run", run_then_hang_up)
    code, _, err = run("cluster", DC, "-k", 3, "--seed", 0, "-o", tmp_path / "p.csv")
    assert code == 129 and err.strip() == "geokmeans: terminated by SIGHUP"
    assert (tmp_path / "p.csv").exists()  # the run was complete: its outputs stand

@pytest.mark.parametrize("name", ["data[1].csv", "what?.csv", "{{ 7*7 }}.csv", "*.csv"])
def test_an_existing_file_is_a_file_whatever_its_characters(tmp_path, name):
    # such names were taken for globs: exit 2 with a partitioned-run message (or, as a
    # glob, data[1].csv would have read data1.csv)
    frame = pd.read_csv(DC)
    frame.head(30).to_csv(tmp_path / name, index=False)
    frame.tail(7).to_csv(tmp_path / "data1.csv", index=False)  # what the glob would match
    code, out, err = run("cluster", tmp_path / name, "-k", 2, "--seed", 0,
                         "-o", tmp_path / "o.geojson")
    assert code == 0, err
    assert out.startswith("30 points, k=2")
    assert len(gpd.read_file(tmp_path / "o.geojson")) == 30


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".parquet"])
def test_a_second_geometry_column_is_written(tmp_path, suffix):
    # exit 1, AttributeError: 'Series' object has no attribute 'to_wkt'
    frame = gpd.GeoDataFrame({"a": [1, 2, 3, 4]}, crs=4326,
                             geometry=gpd.points_from_xy([0.0, 1, 2, 3], [0.0, 1, 2, 3]))
    frame["other"] = gpd.GeoSeries(gpd.points_from_xy([5.0, 6, 7, 8], [0.0, 0, 0, 0]),
                                   crs=4326)
    frame.to_parquet(tmp_path / "two.parquet")
    code, _, err = run("cluster", tmp_path / "two.parquet", "-k", 2, "--seed", 0,
                       "-o", tmp_path / f"out{suffix}")
    assert code == 0, err
    if suffix == ".parquet":
        back = gpd.read_parquet(tmp_path / "out.parquet")
        assert back["other"].tolist() == frame["other"].tolist()
    else:
        back = (pd.read_csv if suffix == ".csv" else gpd.read_file)(tmp_path / f"out{suffix}")
        assert back["other"].tolist() == frame["other"].to_wkt().tolist()
