"""End-to-end benchmark: a CSV of points to a clustered GeoParquet file and a map.

    python benchmarks/pipeline.py [--rows 1000000] [--k 64] [--rounds 3] [--data DIR]

Runs, each in a fresh process and taking turns round after round (so that a slow spell of
a shared machine falls on every contender alike):

- ``geokmeans cluster big.csv -k 64 -o out.parquet --map map.html --seed 0 -q`` (numba's
  cache and Python's bytecode written by one run first, as after an install);
- the same without ``--map``;
- the ten-line script of pandas, pyproj, scikit-learn and geopandas that does the same job
  without a map (``BASELINE`` below: ``read_csv``, a UTM transform, ``KMeans``,
  ``GeoDataFrame.to_parquet``). It draws no map: a folium map of its points
  (``GeoDataFrame.explore``) takes minutes at this size and the page does not load
  (``benchmarks/results_maps.md``), so the comparison that counts is ours *with* the map
  against the script *without* one.

Each contender also runs once per round instrumented (timers around its stages, in a fresh
process too) for the stage tables; the end-to-end times are of the plain runs. Memory:
the peak resident size of the whole run (``wait4``), and for our run the peak above the
process's size once its modules are imported, numba's deferred ones included (numba
imports most of itself, scipy.linalg and LLVM at the first call of any compiled
function: ``NUMBA_START``), against the CSV's size (the rule: under 3x); also above the
Python imports alone, and without the fixed cost of loading our compiled kernels
(measured alone on a 1,000-point fit). Writes ``benchmarks/results_pipeline.md``.

The data: ``rows`` points in clusters of varied size and spread over central Europe (one
UTM zone, 33N, so that both contenders project with the same CRS), with an integer id
and a text column.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: this checkout first (E402 below)

from benchmarks._common import clustered_lonlat, machine, markdown_table  # noqa: E402

BOX = ((13.0, 46.0), (17.0, 53.0))  # every point within 4° of 15°E: UTM zone 33N
UTM_33N = "EPSG:32633"

BASELINE = '''\
import sys
import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from sklearn.cluster import KMeans

df = pd.read_csv(sys.argv[1])
x, y = Transformer.from_crs("EPSG:4326", sys.argv[3], always_xy=True).transform(
    df.lon.to_numpy(), df.lat.to_numpy())
df["cluster"] = KMeans(n_clusters=int(sys.argv[4]), random_state=0).fit_predict(
    np.column_stack([x, y]))
points = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
points.to_parquet(sys.argv[2])
'''

# the same lines, timed: stage name -> seconds, printed as JSON on stdout
BASELINE_STAGES = '''\
import json, sys, time
start = time.perf_counter(); times = {}
def mark(name):
    global start
    now = time.perf_counter(); times[name] = now - start; start = now
import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from sklearn.cluster import KMeans
mark("imports")
df = pd.read_csv(sys.argv[1])
mark("read CSV")
x, y = Transformer.from_crs("EPSG:4326", sys.argv[3], always_xy=True).transform(
    df.lon.to_numpy(), df.lat.to_numpy())
mark("project")
df["cluster"] = KMeans(n_clusters=int(sys.argv[4]), random_state=0).fit_predict(
    np.column_stack([x, y]))
mark("fit")
points = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
mark("geometry")
points.to_parquet(sys.argv[2])
mark("write GeoParquet")
print(json.dumps(times))
'''

# our command line, timed by wrapping the functions each stage runs; also the resident
# size after the imports and the peak (VmHWM), in MiB, and per stage the peak above the
# imports while it ran (the kernel's high-water mark reset at each stage's start through
# /proc/self/clear_refs, the overall peak kept aside) and the size left when it ended
OURS_STAGES = '''\
import functools, gc, json, sys, time
start = time.perf_counter()
gc.set_threshold(10_000, 10, 10)  # as the command's entry point (geokmeans.cli.run) does
import geokmeans, geokmeans.cli, geokmeans.result, geokmeans.maps, geokmeans._map_elements
import branca.element, folium, pyarrow.parquet
from geokmeans import io, model, result, sources, stats
imports = time.perf_counter() - start

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(key))

rss_after_imports = status("VmRSS")
begin = time.perf_counter()
import numba_start  # numba's own start (see NUMBA_START), before the run as imports are
numba_start.one(1.0)
numba_seconds = time.perf_counter() - begin
rss_after_start = status("VmRSS")
times, peaks, left = {}, {}, {}
open_stages = []  # the stages running now, outermost first
overall = [rss_after_start]
OTHER = "other (checks, report, commit)"

def fold():
    # the high-water mark since the last reset: into the overall peak and the innermost
    # stage running (a stage's peak leaves out the stages it calls), else into "other"
    high = status("VmHWM")
    overall[0] = max(overall[0], high)
    stage = open_stages[-1] if open_stages else OTHER
    peaks[stage] = max(peaks.get(stage, 0.0), high)

def reset(folded=False):
    if not folded:
        fold()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # no reset: each stage then shows the peak so far

def timed(owner, name, stage):
    function = getattr(owner, name)
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if stage in open_stages:  # called again from inside the stage
            return function(*args, **kwargs)
        reset()
        open_stages.append(stage)
        begin = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[stage] = times.get(stage, 0.0) + time.perf_counter() - begin
            fold()
            open_stages.remove(stage)
            left[stage] = status("VmRSS")
            reset(folded=True)  # its peak is the stage's, not the caller's
    setattr(owner, name, wrapper)

timed(io, "read_table", "read CSV")
timed(result.io, "read_points", "read + coordinates")
timed(sources.MemoryPoints, "project", "project")
timed(model, "best_of", "fit")
timed(model, "final_stats", "statistics (geodesic)")
timed(io, "write_parquet", "write GeoParquet")
timed(result.ClusterResult, "explore", "map")
timed(io, "write_text", "map")
timed(branca.element.Figure, "render", "map")  # the page, rendered between the two
from geokmeans.cli import main
reset()
begin = time.perf_counter()
code = main(sys.argv[1:])
total = time.perf_counter() - begin
fold()
times["read + coordinates"] -= times["read CSV"]
times["coordinates"] = times.pop("read + coordinates")
for named in (peaks, left):
    named["coordinates"] = named.pop("read + coordinates")
order = ["read CSV", "coordinates", "project", "fit", "statistics (geodesic)",
         "write GeoParquet", "map"]
times = {"imports": imports, "numba's start": numba_seconds,
         **{name: times.get(name, 0.0) for name in order}, OTHER: total - sum(times.values())}
left[OTHER] = status("VmRSS")
stages = {name: {"peak": peaks.get(name, rss_after_start) - rss_after_start,
                 "left": left.get(name, rss_after_start) - rss_after_start}
          for name in [*order, OTHER]}
print(json.dumps({"times": times, "rss_after_imports": rss_after_imports,
                  "rss_after_start": rss_after_start,
                  "peak": max(overall[0], status("VmHWM")), "stages": stages, "code": code}))
'''

# numba's own start: what its first call of any compiled function costs, whoever wrote the
# function (the modules numba imports then, scipy.linalg among them, its type registries
# and LLVM): a trivial function, loaded from numba's cache as the kernels are. The
# instrumented run counts it with the imports; the report gives the peak above both, and
# above the imports alone.
NUMBA_START = '''\
"""numba's own start, alone: one trivial compiled function, from numba's cache."""
import numba


@numba.njit(cache=True)
def one(x):
    return x + 1.0
'''

# the fixed memory of loading the compiled kernels: a 1,000-point fit after the imports
# and numba's start
KERNELS = '''\
import json
import numpy as np, pandas as pd
import geokmeans, geokmeans.cli, geokmeans.result, geokmeans.maps, folium, pyarrow.parquet
import numba_start

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(key))

numba_start.one(1.0)
before = status("VmRSS")
rng = np.random.default_rng(0)
frame = pd.DataFrame({"lon": rng.uniform(13, 17, 1000), "lat": rng.uniform(46, 53, 1000)})
geokmeans.cluster(frame, 64, random_state=0)
print(json.dumps({"kernels": status("VmHWM") - before}))
'''


# the CSV reader: pandas as io.read_table calls it, against pyarrow.csv + to_pandas
READER = '''\
import json, sys, time
import pandas as pd, pyarrow as pa, pyarrow.csv

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(key))

before = status("VmRSS")
begin = time.perf_counter()
if sys.argv[1] == "pandas":
    frame = pd.read_csv(sys.argv[2], keep_default_na=False, na_values=[""])
else:
    options = pyarrow.csv.ConvertOptions(null_values=[""], strings_can_be_null=True)
    frame = pyarrow.csv.read_csv(sys.argv[2], convert_options=options).to_pandas()
seconds = time.perf_counter() - begin
print(json.dumps({"seconds": seconds, "peak": status("VmHWM") - before,
                  "kept": status("VmRSS") - before}))
'''

# geodesic distances of the points to the nearest of 64 centres (as the statistics of a
# fit measure them): ours against pyproj's Geod.inv
GEODESIC = '''\
import json, sys, time
import numpy as np, pandas as pd
from pyproj import Geod
from scipy.spatial import cKDTree
from geokmeans.stats import geodesic_distances_m

frame = pd.read_csv(sys.argv[1], usecols=["lat", "lon"])
lon, lat = frame.lon.to_numpy(), frame.lat.to_numpy()
rng = np.random.default_rng(0)
centres = rng.choice(len(lon), 64, replace=False)
scale = np.cos(np.radians(lat.mean()))  # nearest centre in a plane, near enough here
_, labels = cKDTree(np.column_stack([lon[centres] * scale, lat[centres]])).query(
    np.column_stack([lon * scale, lat]))
to_lon, to_lat = lon[centres][labels], lat[centres][labels]
out = {}
for name, run in [("geokmeans", lambda: geodesic_distances_m(lon, lat, to_lon, to_lat)),
                  ("pyproj", lambda: np.asarray(Geod(ellps="WGS84").inv(lon, lat, to_lon,
                                                                      to_lat)[2]))]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    out[name] = {"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    out[name + "_values"] = result
error = np.abs(out.pop("geokmeans_values") - out.pop("pyproj_values"))
out["max_error_m"] = float(error.max())
print(json.dumps(out))
'''


def make_csv(path, rows, seed=0):
    """``rows`` clustered points over central Europe: id, lat, lon (6 decimals), name."""
    lonlat = clustered_lonlat(rows, seed=seed, box=BOX, spread_deg=0.15)
    rng = np.random.default_rng(seed + 1)
    kinds = np.array(["cafe", "school", "park", "station", "clinic", "market", "library"])
    names = np.char.add(kinds[rng.integers(0, len(kinds), rows)],
                        np.char.add(" ", rng.integers(0, 10**6, rows).astype(str)))
    pd.DataFrame({"id": np.arange(rows), "lat": lonlat[:, 1].round(6),
                  "lon": lonlat[:, 0].round(6), "name": names}).to_csv(path, index=False)


def run_measured(argv, env):
    """(seconds, peak resident MiB, stdout) of one fresh process, reaped with ``wait4`` so
    that its own peak resident size is known."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        begin = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - begin
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise RuntimeError(f"{argv[:4]} exited {code}:\n{err.read().decode()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def median_of(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="folder for the CSV (kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results_pipeline.md")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pipeline-"))
    data = args.data or work
    data.mkdir(parents=True, exist_ok=True)
    csv = data / f"points_{args.rows}.csv"
    if not csv.exists():
        make_csv(csv, args.rows)
    csv_mib = csv.stat().st_size / 2**20
    (work / "baseline.py").write_text(BASELINE)
    (work / "baseline_stages.py").write_text(BASELINE_STAGES)
    (work / "numba_start.py").write_text(NUMBA_START)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(work), *filter(None, [os.environ.get("PYTHONPATH")])])}
    # bytecode written and reused, as for any installed package (pip compiles it): else a
    # machine that sets this would compile this checkout's modules from source every run
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = sys.executable
    cli = [python, "-m", "geokmeans.cli", "cluster", str(csv), "-k", str(args.k), "--seed", "0",
           "-q"]
    contenders = {
        "geokmeans cluster (GeoParquet + map)": cli + ["-o", str(work / "ours.parquet"),
                                                      "--map", str(work / "map.html")],
        "geokmeans cluster (GeoParquet only)": cli + ["-o", str(work / "ours_nomap.parquet")],
        "pandas + pyproj + scikit-learn + geopandas script": [
            python, str(work / "baseline.py"), str(csv), str(work / "baseline.parquet"),
            UTM_33N, str(args.k)],
    }
    staged = {
        "ours": [python, "-c", OURS_STAGES, *contenders[
            "geokmeans cluster (GeoParquet + map)"][3:]],
        "baseline": [python, str(work / "baseline_stages.py"), str(csv),
                     str(work / "baseline_stages.parquet"), UTM_33N, str(args.k)],
    }
    print(f"data: {csv} ({csv_mib:.1f} MiB); warming up (numba cache, file cache)", flush=True)
    for argv in contenders.values():
        run_measured(argv, env)
    run_measured([python, "-c", "import numba_start; numba_start.one(1.0)"], env)

    times = {name: [] for name in contenders}
    peaks = {name: [] for name in contenders}
    stages = {"ours": [], "baseline": []}
    memory = []
    for round_ in range(args.rounds):
        for name, argv in contenders.items():
            seconds, peak, _ = run_measured(argv, env)
            times[name].append(seconds)
            peaks[name].append(peak)
            print(f"round {round_ + 1}: {name}: {seconds:.2f} s, peak {peak:.0f} MiB", flush=True)
        for name, argv in staged.items():
            _, _, out = run_measured(argv, env)
            report = json.loads(out.strip().splitlines()[-1])
            if name == "ours":
                stages["ours"].append(report["times"])
                memory.append(report)
            else:
                stages["baseline"].append(report)
    _, _, out = run_measured([python, "-c", KERNELS], env)
    kernels_mib = json.loads(out.strip().splitlines()[-1])["kernels"]
    choices = {"reader": {"pandas": [], "pyarrow": []}, "geodesic": []}
    for _ in range(args.rounds):
        for reader in ("pandas", "pyarrow"):
            _, _, out = run_measured([python, "-c", READER, reader, str(csv)], env)
            choices["reader"][reader].append(json.loads(out.strip().splitlines()[-1]))
        _, _, out = run_measured([python, "-c", GEODESIC, str(csv)], env)
        choices["geodesic"].append(json.loads(out.strip().splitlines()[-1]))
    text = report_markdown(args, csv, csv_mib, contenders, times, peaks, stages, memory,
                           kernels_mib) + choices_markdown(choices)
    args.out.write_text(text)
    print(text)


def _stage_rows(stages):
    names = list(dict.fromkeys(name for run_ in stages for name in run_))
    return {name: median_of([run_.get(name, 0.0) for run_ in stages]) for name in names}


def report_markdown(args, csv, csv_mib, contenders, times, peaks, stages, memory, kernels_mib):
    medians = {name: median_of(t) for name, t in times.items()}
    names = list(contenders)
    ours, ours_nomap, baseline = names
    rows = [[name, f"{medians[name]:.2f}", " / ".join(f"{t:.2f}" for t in times[name]),
             f"{medians[baseline] / medians[name]:.2f}x", f"{median_of(peaks[name]):.0f}"]
            for name in names]
    ours_stages, base_stages = _stage_rows(stages["ours"]), _stage_rows(stages["baseline"])
    stage_rows = [[name, f"{seconds:.2f}"] for name, seconds in ours_stages.items()]
    base_rows = [[name, f"{seconds:.2f}"] for name, seconds in base_stages.items()]
    imports_ours, imports_base = ours_stages.get("imports", 0.0), base_stages.get("imports", 0.0)
    after_imports = [medians[ours] - imports_ours, medians[baseline] - imports_base]
    above_mib = median_of([m["peak"] - m["rss_after_start"] for m in memory])
    above_imports_mib = median_of([m["peak"] - m["rss_after_imports"] for m in memory])
    start_mib = median_of([m["rss_after_start"] - m["rss_after_imports"] for m in memory])
    lines = [
        "# End to end: CSV to clustered GeoParquet and map",
        "",
        f"Machine: {machine()} (shared with other work while measured). "
        f"{args.rows:,} points (id, lat, lon, name) in `{csv.name}` ({csv_mib:.1f} MiB), "
        f"k = {args.k}, {args.rounds} rounds taking turns, each run a fresh process, numba's "
        "cache warm.",
        "",
        "Command: `python benchmarks/pipeline.py"
        + (f" --rows {args.rows}" if args.rows != 1_000_000 else "")
        + (f" --k {args.k}" if args.k != 64 else "")
        + (f" --rounds {args.rounds}" if args.rounds != 3 else "") + "`",
        "",
        f"Ours: `geokmeans cluster {csv.name} -k {args.k} -o out.parquet --map map.html "
        "--seed 0 -q`. The script (no map, see the benchmark's docstring): `pd.read_csv`, "
        f"pyproj to {UTM_33N}, scikit-learn `KMeans(n_clusters={args.k}, random_state=0)`, "
        "`GeoDataFrame(..., geometry=points_from_xy(...)).to_parquet(...)`.",
        "",
        markdown_table(["run", "median s", "rounds s", "speed-up vs the script",
                        "peak RSS MiB"], rows),
        "",
        f"Without the imports (ours {imports_ours:.2f} s, the script's {imports_base:.2f} s, "
        f"medians of the instrumented runs): ours {after_imports[0]:.2f} s, the script "
        f"{after_imports[1]:.2f} s, "
        f"{after_imports[1] / after_imports[0]:.2f}x.",
        "",
        "Stages (medians of the instrumented runs, seconds):",
        "",
        "| geokmeans cluster | s |\n|---|---|\n" + "\n".join(
            f"| {a} | {b} |" for a, b in stage_rows),
        "",
        "| the script | s |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in base_rows),
        "",
        "Memory of our run (with the map): resident size after the imports "
        f"{median_of([m['rss_after_imports'] for m in memory]):.0f} MiB, after numba's start "
        f"{median_of([m['rss_after_start'] for m in memory]):.0f} MiB (+{start_mib:.0f} MiB: "
        "the first call of any compiled function, here a trivial one from numba's cache, "
        "imports the modules numba defers, scipy.linalg among them, and starts LLVM), peak "
        f"{median_of([m['peak'] for m in memory]):.0f} MiB: **{above_mib:.0f} MiB above the "
        f"imports and numba's start, {above_mib / csv_mib:.2f}x the CSV's size** (rule: under "
        f"3x; above the Python imports alone {above_imports_mib:.0f} MiB, "
        f"{above_imports_mib / csv_mib:.2f}x). Of the {above_mib:.0f} MiB, {kernels_mib:.0f} "
        "MiB is the fixed cost of loading our compiled kernels (a 1,000-point fit alone); "
        f"without it {above_mib - kernels_mib:.0f} MiB, "
        f"{(above_mib - kernels_mib) / csv_mib:.2f}x.",
        "",
        "Memory by stage (medians of the instrumented runs, MiB above the resident size after "
        "the imports and numba's start): the peak while the stage ran (not counting the "
        "stages it calls: the reading of the CSV inside `coordinates`), and what was left "
        "when it ended.",
        "",
        markdown_table(["stage", "peak MiB", "x CSV", "left MiB"], memory_rows(memory, csv_mib)),
        "",
        "",
    ]
    return "\n".join(lines)


def memory_rows(memory, csv_mib):
    """The per-stage memory table's rows: stage, peak above the imports (and against the
    CSV's size), size left at its end."""
    names = list(dict.fromkeys(name for m in memory for name in m["stages"]))
    rows = []
    for name in names:
        peak = median_of([m["stages"][name]["peak"] for m in memory])
        left = median_of([m["stages"][name]["left"] for m in memory])
        rows.append([name, f"{peak:.0f}", f"{peak / csv_mib:.2f}x", f"{left:.0f}"])
    return rows


def choices_markdown(choices):
    """The measurements behind two choices: pandas' CSV reader, the geodesic formula."""
    def med(runs, key):
        return median_of([r[key] for r in runs])

    reader = choices["reader"]
    rows = [[name, f"{med(runs, 'seconds'):.2f}", f"{med(runs, 'peak'):.0f}",
             f"{med(runs, 'kept'):.0f}"] for name, runs in
            (("pandas.read_csv (as io.read_table calls it)", reader["pandas"]),
             ("pyarrow.csv.read_csv + to_pandas", reader["pyarrow"]))]
    geodesic = choices["geodesic"]
    grows = [[name, f"{median_of([g[key]['seconds'] for g in geodesic]):.2f}",
              f"{median_of([g[key]['cpu'] for g in geodesic]):.2f}"]
             for name, key in (("geokmeans.stats.geodesic_distances_m", "geokmeans"),
                               ("pyproj Geod(ellps='WGS84').inv, one call", "pyproj"))]
    error = max(g["max_error_m"] for g in geodesic)
    return "\n".join([
        "Choices measured in the same run (medians, fresh processes):",
        "",
        markdown_table(["reading the CSV into a DataFrame", "s",
                        "peak MiB above the imports", "MiB kept"], rows),
        "",
        markdown_table(["geodesic distances of every row to the nearest of 64 centres", "wall s",
                        "CPU s"], grows),
        "",
        f"Largest difference between the two: {error * 1000:.3f} mm.",
        "",
    ])


if __name__ == "__main__":
    main()
