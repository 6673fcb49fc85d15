"""First-ever run: the README's main job with numba's kernels compiled from nothing.

    python benchmarks/first_run.py [--rounds 3] [--large] [--out results.md]

Each round runs, each in a fresh process:

- **first run**: ``python examples/dc_tutorial.py OUT`` (the README's main job) with
  ``NUMBA_CACHE_DIR`` pointing at a new, empty directory: what the first run after a
  fresh install compiles (numba finds no cached kernel and writes them there);
- **warm run**: the same command again, the kernels loaded from that directory.

It prints the median wall time and CPU time (user + system, of the child) of each, the
compile part (first minus warm) and the kernels the first run compiled (the index files
numba wrote). ``--large`` adds the same pair for a default fit of 1,000,000 points, k = 64
(k-means++ seeding, then Hamerly's iterations), generated once and loaded from a ``.npy``
file, the compile part of a job that uses every stage of a fit.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(ROOT))

from benchmarks._common import clustered_lonlat, machine, markdown_table  # noqa: E402
from geokmeans.projection import choose_projection  # noqa: E402

LARGE_FIT = """
import sys, numpy as np
from geokmeans import KMeans
X = np.load(sys.argv[1])
model = KMeans(64, random_state=0).fit(X)
print(model.n_iter_, model.inertia_)
"""


def run(command, cache_dir):
    """(wall seconds, stdout) of ``command`` in a fresh process whose numba cache is
    ``cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{err}")
    return wall, out


def cpu_of_children():
    """CPU seconds (user + system) of the children reaped so far."""
    usage = os.times()
    return usage.children_user + usage.children_system


def kernels_in(cache_dir):
    """Names (``module.function``) of the kernels numba cached in ``cache_dir``."""
    return sorted(path.name.split("-")[0] for path in Path(cache_dir).rglob("*.nbi"))


def measure(command, rounds):
    """Median (wall, CPU) of the first and the warm runs, and the kernels compiled."""
    first, warm, kernels = [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            for times in (first, warm):
                cpu = cpu_of_children()
                wall, _ = run(command, cache)
                times.append((wall, cpu_of_children() - cpu))
            kernels = kernels_in(cache)
    med = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
    return ({"first": (med(first, 0), med(first, 1)), "warm": (med(warm, 0), med(warm, 1))},
            kernels)


def row(name, result):
    (first_wall, first_cpu), (warm_wall, warm_cpu) = result["first"], result["warm"]
    return [name, f"{first_wall:.1f}", f"{warm_wall:.1f}", f"**{first_wall - warm_wall:.1f}**",
            f"{first_cpu:.1f}", f"{warm_cpu:.1f}", f"{first_cpu - warm_cpu:.1f}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large", action="store_true",
                        help="also a default fit of 1M points, k = 64")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()

    jobs = {}
    with tempfile.TemporaryDirectory(prefix="first-run-") as work:
        tutorial = [sys.executable, "examples/dc_tutorial.py", str(Path(work) / "out")]
        jobs["README main job (`examples/dc_tutorial.py`, 200 rows, k = 6)"] = tutorial
        if args.large:
            data = Path(work) / "points.npy"
            lonlat = clustered_lonlat(1_000_000, n_centres=80, seed=0)
            projection = choose_projection(lonlat[:, 0], lonlat[:, 1], "EPSG:5070")
            np.save(data, projection.forward(lonlat[:, 0], lonlat[:, 1]))
            jobs["default fit, 1,000,000 points, k = 64"] = [sys.executable, "-c", LARGE_FIT,
                                                             str(data)]
        rows, compiled = [], []
        for name, command in jobs.items():
            result, kernels = measure(command, args.rounds)
            rows.append(row(name, result))
            compiled.append(f"- {name}: {len(kernels)} kernels compiled: "
                            + ", ".join(f"`{k}`" for k in kernels))
    table = markdown_table(["job", "first run s", "warm run s", "compile (first - warm) s",
                            "first run CPU s", "warm run CPU s", "compile CPU s"], rows)
    report = "\n\n".join([
        f"First-ever run, numba's cache empty (`NUMBA_CACHE_DIR` a new directory), "
        f"median of {args.rounds} rounds, {machine()}:",
        table,
        "\n".join(compiled),
    ])
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
