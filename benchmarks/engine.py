"""Engine benchmark: geokmeans against scikit-learn (and faiss and scikit-learn-intelex
when installed).

    python benchmarks/engine.py [--quick] [--skip-10m] [--only 1,2] [--out results.md]

scikit-learn-intelex (oneDAL) is a contender only when it can be imported; to try it
without installing it beside the project, e.g.::

    python -m venv --system-site-packages .bench-venv
    .bench-venv/bin/pip install scikit-learn-intelex
    .bench-venv/bin/python benchmarks/engine.py

Sections (all measured side by side in this one run; in sections 1 and 2 the contenders
take turns, round after round, and the median of 5 rounds is reported):
1. Lloyd iterations from the same initial centres (k rows drawn at random), 20 iterations,
   n=1M, k=64: the smooth data at d=2/3 and uneven data (heavy-tailed cluster sizes,
   spreads 20x apart) at d=2, per iteration and against the time of one pass over the
   coordinates, bounds and labels (the memory traffic of an iteration that skips every
   distance).
2. Full default fit (seeding + convergence), n=1M, k=64, d=2, 3 seeds: time and inertia.
3. Scaling of the default fit: n in {100k, 1M, 10M} x k in {8, 64, 256}.
4. Peak memory above the baseline during a 10M-point fit, as a multiple of the input.
5. Cold start: `import geokmeans`, and a fresh process's first fit minus a warm fit.
6. End to end: 1M-row CSV -> `geokmeans cluster ... -o out.parquet --map map.html`.
7. Higher dimensions: Hamerly, plain Lloyd and scikit-learn for d in {2, 8, 32, 64}.

Data are realistic geographic points: Gaussian blobs of varied size over the contiguous
US, projected to metres (EPSG:5070, d=2) or Earth-centred (sphere, d=3); the uneven set
(``_common.uneven_lonlat``) has 80 blobs whose sizes follow a Pareto law (the largest
holds a quarter of the points) and whose spreads range over 0.05-1 degree.
"""

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    clustered_lonlat,
    machine,
    markdown_table,
    side_by_side,
    timed,
    uneven_lonlat,
)
from geokmeans import KMeans  # noqa: E402
from geokmeans.projection import Projection, choose_projection  # noqa: E402


def projected(n, d, seed=0, uneven=False):
    lonlat = (uneven_lonlat(n, seed=seed) if uneven
              else clustered_lonlat(n, n_centres=80, seed=seed))
    proj = Projection("sphere") if d == 3 else choose_projection(lonlat[:, 0], lonlat[:, 1],
                                                                 "EPSG:5070")
    return proj.forward(lonlat[:, 0], lonlat[:, 1])


def sklearn_kmeans(**kw):
    from sklearn.cluster import KMeans as SklearnKMeans

    return SklearnKMeans(**kw)


def faiss_fit(X, k, init, n_iter):
    import faiss

    km = faiss.Kmeans(X.shape[1], k, niter=n_iter, verbose=False, seed=0, min_points_per_centroid=1,
                      max_points_per_centroid=10**9)
    km.train(np.ascontiguousarray(X, dtype=np.float32), init_centroids=init.astype(np.float32))
    return km


def has_faiss():
    try:
        import faiss  # noqa: F401 - only: is it installed?
    except ImportError:
        return False
    return True


def has_sklearnex():
    try:
        import sklearnex  # noqa: F401 - only: is it installed?
    except ImportError:
        return False
    return True


def sklearnex_kmeans(**kw):
    from sklearnex.cluster import KMeans as IntelKMeans

    return IntelKMeans(**kw)


def intel_fit(X, init, n_iter):
    """scikit-learn-intelex's Lloyd from ``init``, ``n_iter`` iterations (tol 0)."""
    return sklearnex_kmeans(n_clusters=len(init), init=init, n_init=1, max_iter=n_iter,
                            tol=0.0, algorithm="lloyd").fit(X)


def sklearnex_engine(model_factory):
    """Whether scikit-learn-intelex ran ``model_factory()`` on oneDAL ("oneDAL") or fell
    back to scikit-learn's code ("fallback"), from the log it writes."""
    import logging

    records = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("sklearnex")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        model_factory()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    fits = [m for m in records if "fit" in m]
    return "fallback" if any("fallback" in m for m in fits) else "oneDAL"


def same_start_runs(X, init, max_iter, hamerly_name):
    """The engines to time from the same centres ``init``, ``max_iter`` iterations each
    (tol 0): name -> callable."""
    k = len(init)
    return {
        hamerly_name: lambda: KMeans(k, init=init, max_iter=max_iter, tol=0.0).fit(X),
        "geokmeans lloyd": lambda: KMeans(k, init=init, max_iter=max_iter, tol=0.0,
                                          algorithm="lloyd").fit(X),
        "sklearn lloyd": lambda: sklearn_kmeans(n_clusters=k, init=init, n_init=1,
                                                max_iter=max_iter, tol=0.0,
                                                algorithm="lloyd").fit(X),
        "sklearn elkan": lambda: sklearn_kmeans(n_clusters=k, init=init, n_init=1,
                                                max_iter=max_iter, tol=0.0,
                                                algorithm="elkan").fit(X),
    }


def memory_pass_seconds(X, repeat=21):
    """Median time of one parallel pass reading every row's coordinates, int32 label and
    float32 lower bound (``_kernels.state_pass``), and the bytes it reads."""
    from geokmeans.core import _kernels

    n = X.shape[0]
    labels = np.zeros(n, dtype=np.int32)
    lower = np.ones(n, dtype=_kernels.BOUND_DTYPE)
    starts = _kernels.chunk_starts(n)
    seconds, _ = timed(lambda: _kernels.state_pass(X, labels, lower, starts), repeat)
    return seconds, X.nbytes + labels.nbytes + lower.nbytes


def section_lloyd(repeat, n=1_000_000, k=64, n_iter=20):
    rows, notes = [], []
    for data, d in (("smooth", 2), ("smooth", 3), ("uneven", 2)):
        X = projected(n, d, uneven=data == "uneven")
        init = X[np.random.default_rng(1).choice(len(X), k, replace=False)]
        KMeans(k, init=init, max_iter=2).fit(X[:5000])  # compile outside the timing
        runs = same_start_runs(X, init, n_iter, "geokmeans (auto: hamerly)")
        if has_faiss():
            runs["faiss (float32)"] = functools.partial(faiss_fit, X, k, init, n_iter)
        if has_sklearnex():
            intel = functools.partial(intel_fit, X, init, n_iter)
            engine = sklearnex_engine(functools.partial(intel_fit, X[:5000], init, 2))
            runs[f"sklearnex lloyd ({engine})"] = intel
        times, models = side_by_side(runs, repeat)
        pass_s, pass_bytes = memory_pass_seconds(X)
        notes.append(f"{data} d={d}: one pass over coordinates + bounds + labels "
                     f"({pass_bytes / 1e6:.0f} MB) {pass_s * 1e3:.1f} ms "
                     f"({pass_bytes / pass_s / 1e9:.1f} GB/s)")
        for name in runs:
            iterations = getattr(models[name], "n_iter_", n_iter)
            per_iter = times[name] / iterations
            rows.append([data, d, name, f"{times[name]:.3f}", iterations,
                         f"{per_iter * 1e3:.1f}", f"{per_iter / pass_s:.1f}",
                         f"{times['sklearn lloyd'] / times[name]:.1f}x"])
    table = markdown_table(["data", "d", "engine", f"seconds ({n_iter} iterations)", "n_iter",
                            "ms / iteration", "iteration / memory pass",
                            "speed-up vs sklearn lloyd"], rows)
    missing = [] if has_sklearnex() else ["scikit-learn-intelex is not installed: not run."]
    return "\n\n".join([table, "Memory pass, measured in the same run: " + "; ".join(notes)
                         + ". ms / iteration is the whole fit's time over its iterations "
                         "(the first, with no bounds yet, measures every distance)."]
                        + missing)


def section_dimensions(repeat, dims=(2, 8, 32, 64), n=200_000, k=64):
    """Why algorithm="auto" is Hamerly at every d: 30 iterations from the same centres."""
    rows = []
    rng = np.random.default_rng(0)
    for d in dims:
        centres = rng.uniform(-10, 10, (80, d))
        which = rng.integers(0, 80, n)
        X = centres[which] + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.5, 80)[which, None]
        init = X[rng.choice(n, k, replace=False)]
        for algorithm in ("hamerly", "lloyd"):
            KMeans(k, init=init, max_iter=2, algorithm=algorithm).fit(X[:5000])
        runs = same_start_runs(X, init, 30, "geokmeans hamerly")
        times, _ = side_by_side(runs, repeat)
        rows.append([d] + [f"{times[name]:.3f}" for name in runs]
                    + [f"{times['sklearn lloyd'] / times['geokmeans hamerly']:.1f}x"])
    return markdown_table(["d", *runs, "hamerly vs sklearn lloyd"], rows)


def default_fit_runs(X, seed):
    """Default fits of k = 64 with ``seed``: ours, sklearn's and ours without LocalSearch++
    (and scikit-learn-intelex's when installed)."""
    runs = {
        "ours": lambda: KMeans(64, random_state=seed).fit(X),
        "sklearn": lambda: sklearn_kmeans(n_clusters=64, random_state=seed).fit(X),
        "plain": lambda: KMeans(64, random_state=seed, local_search=0).fit(X),
    }
    if has_sklearnex():
        runs["sklearnex"] = lambda: sklearnex_kmeans(n_clusters=64, random_state=seed).fit(X)
    return runs


def section_full(repeat, quality_seeds=12):
    X = projected(1_000_000, 2)
    rows, ratios, speedups, intel_speedups = [], [], [], []
    KMeans(64, random_state=0).fit(X[:5000])
    intel = has_sklearnex()
    for seed in range(3):
        times, models = side_by_side(default_fit_runs(X, seed), repeat)
        (ours_s, ours), (ref_s, ref) = (times["ours"], models["ours"]), (times["sklearn"],
                                                                           models["sklearn"])
        plain_s, plain = times["plain"], models["plain"]
        ratios.append(ours.inertia_ / ref.inertia_)
        speedups.append(ref_s / ours_s)
        row = [seed, f"{ours_s:.3f}", f"{ref_s:.3f}", f"{ref_s / ours_s:.1f}x",
               f"{ours.inertia_ / ref.inertia_:.4f}", f"{plain_s:.3f}",
               f"{plain.inertia_ / ref.inertia_:.4f}"]
        if intel:
            intel_speedups.append(times["sklearnex"] / ours_s)
            row += [f"{times['sklearnex']:.3f}", f"{times['sklearnex'] / ours_s:.1f}x",
                    f"{models['sklearnex'].inertia_ / ref.inertia_:.4f}"]
        rows.append(row)
    rows.append(["median", "", "", f"{statistics.median(speedups):.1f}x",
                 f"{statistics.median(ratios):.4f}", "", ""]
                + (["", f"{statistics.median(intel_speedups):.1f}x", ""] if intel else []))
    table = markdown_table(["seed", "geokmeans s", "sklearn default s", "speed-up",
                            "inertia ours / sklearn", "local_search=0 s",
                            "inertia local_search=0 / sklearn"]
                           + (["sklearnex default s", "speed-up vs sklearnex",
                               "inertia sklearnex / sklearn"] if intel else []), rows)
    if not intel:
        table += "\n\nscikit-learn-intelex is not installed: not run."
    # seeding luck moves the final inertia by a few percent either way; over more seeds,
    # the ratio seed by seed (the same seed gives both libraries independent streams):
    summary = []
    for name, options in [("default", {}), ("local_search=0", {"local_search": 0})]:
        per_seed = np.array([KMeans(64, random_state=s, **options).fit(X).inertia_ /
                             sklearn_kmeans(n_clusters=64, random_state=s).fit(X).inertia_
                             for s in range(quality_seeds)])
        summary.append(f"{name}: median {np.median(per_seed):.4f}, mean {per_seed.mean():.4f}, "
                       f"worst {per_seed.max():.4f}")
    return table + (f"\n\nInertia ours / sklearn seed by seed over seeds 0..{quality_seeds - 1}: "
                    + "; ".join(summary) + ".")


def section_scaling(sizes, ks, with_sklearn_up_to):
    rows = []
    for n in sizes:
        X = projected(n, 2)
        for k in ks:
            ours_s, ours = timed(lambda k=k, X=X: KMeans(k, random_state=0).fit(X),
                                 1 if n > 1_000_000 else 3)
            ref = "–"
            if n <= with_sklearn_up_to:
                ref_s, _ = timed(
                    lambda k=k, X=X: sklearn_kmeans(n_clusters=k, random_state=0).fit(X), 1)
                ref = f"{ref_s:.2f} ({ref_s / ours_s:.1f}x)"
            rows.append([f"{n:,}", k, f"{ours_s:.2f}", ours.n_iter_, ref])
    return markdown_table(["n", "k", "geokmeans s", "n_iter", "sklearn default s (ratio)"], rows)


MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys, threading, time, numpy as np
    sys.path.insert(0, sys.argv[1])
    from benchmarks.engine import projected
    from geokmeans import KMeans
    KMeans(8, random_state=0).fit(np.random.default_rng(0).normal(size=(5000, 2)))
    n = int(sys.argv[2])
    X = projected(n, 2)
    page = 4096
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page
    import gc; gc.collect()
    time.sleep(0.2)
    baseline = rss()
    peak = [baseline]
    done = threading.Event()
    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.001)
    t = threading.Thread(target=poll); t.start()
    km = KMeans(64, random_state=0).fit(X)
    done.set(); t.join()
    print(json.dumps({"input_bytes": X.nbytes, "extra": peak[0] - baseline}))
""")


def section_memory(n):
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(ROOT), str(n)],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    ratio = data["extra"] / data["input_bytes"]
    return markdown_table(["n", "input MB", "peak above baseline MB", "ratio (target <= 2.5)"],
                          [[f"{n:,}", f"{data['input_bytes'] / 1e6:.0f}",
                            f"{data['extra'] / 1e6:.0f}", f"{ratio:.2f}"]])


COLD_SCRIPT = textwrap.dedent("""
    import time
    start = time.perf_counter()
    import geokmeans
    imported = time.perf_counter() - start
    import numpy as np
    X = np.random.default_rng(0).normal(size=(100_000, 2)) * 1e4
    start = time.perf_counter()
    geokmeans.KMeans(16, random_state=0).fit(X)
    first = time.perf_counter() - start
    start = time.perf_counter()
    geokmeans.KMeans(16, random_state=0).fit(X)
    warm = time.perf_counter() - start
    g = geokmeans.GeoKMeans(8, random_state=0)
    lonlat = np.column_stack([np.random.default_rng(1).uniform(-74.1, -73.8, 100_000),
                              np.random.default_rng(2).uniform(40.6, 40.9, 100_000)])
    start = time.perf_counter()
    g.fit(lonlat)
    geo_first = time.perf_counter() - start
    start = time.perf_counter()
    g.fit(lonlat)
    geo_warm = time.perf_counter() - start
    print(imported, first, warm, geo_first, geo_warm)
""")


def section_cold():
    # fill the cache
    subprocess.run([sys.executable, "-c", COLD_SCRIPT], check=True, capture_output=True)
    runs = [list(map(float, subprocess.run([sys.executable, "-c", COLD_SCRIPT], check=True,
                                           capture_output=True, text=True).stdout.split()))
            for _ in range(3)]
    imported, first, warm, geo_first, geo_warm = (statistics.median(col)
                                                  for col in zip(*runs, strict=True))
    return markdown_table(
        ["import geokmeans s", "first KMeans fit s", "warm fit s", "first - warm s (target <= 1)",
         "first GeoKMeans fit s", "warm GeoKMeans s"],
        [[f"{imported:.2f}", f"{first:.3f}", f"{warm:.3f}", f"{first - warm:.3f}",
          f"{geo_first:.3f}", f"{geo_warm:.3f}"]])


def section_end_to_end(n):
    import pandas as pd

    import geokmeans as gk
    from geokmeans.io import read_points

    with tempfile.TemporaryDirectory() as tmp:
        lonlat = clustered_lonlat(n, seed=3)
        csv = Path(tmp) / "points.csv"
        pd.DataFrame({"id": np.arange(n), "lat": lonlat[:, 1].round(6),
                      "lon": lonlat[:, 0].round(6)}).to_csv(csv, index=False)
        stages = []
        start = time.perf_counter()
        points = read_points(csv)
        stages.append(("read CSV", time.perf_counter() - start))
        start = time.perf_counter()
        model = gk.GeoKMeans(64, random_state=0)
        model._fit_read(points)
        stages.append((f"project + fit + stats ({model.crs_})", time.perf_counter() - start))
        start = time.perf_counter()
        result = gk.cluster(points.frame, 64, random_state=0)  # the same run through the API
        whole = time.perf_counter() - start
        start = time.perf_counter()
        result.to_file(Path(tmp) / "out.parquet", which="points")
        stages.append(("write GeoParquet", time.perf_counter() - start))
        start = time.perf_counter()
        result.explore().save(Path(tmp) / "map.html")
        stages.append(("build + save map", time.perf_counter() - start))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "geokmeans.cli", "cluster", str(csv), "-k", "64",
                        "--seed", "0", "-o", str(Path(tmp) / "cli.parquet"), "--map",
                        str(Path(tmp) / "cli.html")], check=True, capture_output=True)
        cli = time.perf_counter() - start
    rows = [[name, f"{seconds:.2f}"] for name, seconds in stages]
    rows.append(["cluster() on a GeoDataFrame (geometry read, fit, result frames)", f"{whole:.2f}"])
    rows.append(["whole CLI command in a fresh process", f"{cli:.2f}"])
    return markdown_table(["stage (n = %s)" % f"{n:,}", "seconds"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run each, smaller scaling table")
    parser.add_argument("--skip-10m", action="store_true", help="leave out the 10M-point runs")
    parser.add_argument("--only", type=_sections, default=None,
                        help="comma-separated section numbers to run (default: all)")
    parser.add_argument("--out", help="also write the report to this markdown file")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    big = [] if args.skip_10m else [10_000_000]
    wanted = set(range(1, 8)) if args.only is None else args.only
    parts = [f"Machine: {machine()}; numba threads: "
             f"{__import__('numba').config.NUMBA_NUM_THREADS}; faiss: {has_faiss()}; "
             f"scikit-learn-intelex: {has_sklearnex()}"]
    if 1 in wanted:
        parts += ["### 1. Lloyd iterations from the same centres (n = 1M, k = 64)",
                  section_lloyd(repeat)]
    if 2 in wanted:
        parts += ["### 2. Full default fit (n = 1M, k = 64, d = 2)", section_full(repeat)]
    if 3 in wanted:
        sizes = [100_000, 1_000_000] + big
        ks = [8, 64] if args.quick else [8, 64, 256]
        parts += ["### 3. Scaling of the default fit (d = 2)",
                  section_scaling(sizes, ks, 1_000_000)]
    if big and 4 in wanted:
        parts += ["### 4. Peak memory of a 10M-point fit (k = 64, d = 2)",
                  section_memory(10_000_000)]
    if 5 in wanted:
        parts += ["### 5. Cold start", section_cold()]
    if 6 in wanted:
        parts += ["### 6. End to end (1M-row CSV, k = 64)", section_end_to_end(1_000_000)]
    if 7 in wanted:
        parts += ["### 7. Higher dimensions (n = 200k, k = 64, 30 iterations from the same "
                  "centres, seconds)", section_dimensions(repeat)]
    report = "\n\n".join(parts)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")


def _sections(text):
    """``--only``: a comma-separated list of section numbers 1..7."""
    try:
        numbers = {int(part) for part in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} should be section numbers such as 1,2") \
            from None
    if not numbers or not numbers <= set(range(1, 8)):
        raise argparse.ArgumentTypeError(f"{text!r}: sections are numbered 1 to 7")
    return numbers


if __name__ == "__main__":
    main()
