"""Choosing k: ``geokmeans.choose_k`` against a scikit-learn loop, side by side.

    python benchmarks/choose_k.py [--rounds 3] [--out benchmarks/results_choose_k.md]

Two data sets of 50,000 points, k = 2..12, seed 0:
- ``data/ny_harbor_ais.csv``: AIS vessel positions in New York harbour (bundled);
- synthetic: 7 Gaussian blobs of uneven size and spread around Chicago, fixed seed.

Contenders, taking turns round after round (median of ``--rounds``):
- geokmeans: ``gk.choose_k(lonlat, range(2, 13), random_state=0)`` from lon/lat in
  memory (projection, fits, inertia, Calinski–Harabasz, silhouette on 10,000 points);
- scikit-learn: for each k, ``KMeans(k, random_state=0).fit(X)`` and
  ``silhouette_score(X, labels, sample_size=10_000, random_state=0)`` on the same
  projected metres ``X`` (projected beforehand, outside the timing).

Then, once: the stages of our sweep, and the silhouette of the same sample rows under
the same labels (ours) by both implementations, time and largest difference.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(ROOT))

import geokmeans as gk  # noqa: E402
from benchmarks._common import machine, markdown_table  # noqa: E402
from geokmeans.core._estimator import make_rng  # noqa: E402
from geokmeans.core._silhouette import silhouette_sweep  # noqa: E402
from geokmeans.io import read_points  # noqa: E402
from geokmeans.projection import choose_projection  # noqa: E402
from geokmeans.selection import (  # noqa: E402
    DEFAULT_SILHOUETTE_SAMPLE,
    _calinski_harabasz_of,
    _fitter,
    _silhouette_rows,
)

KS = range(2, 13)
SEED = 0


def ais_lonlat():
    import pandas as pd

    frame = pd.read_csv(ROOT / "data" / "ny_harbor_ais.csv")
    return np.column_stack([frame.lon.to_numpy(), frame.lat.to_numpy()])


def blobs_lonlat(n=50_000, seed=7):
    """7 blobs around Chicago: sizes from a Dirichlet draw, spreads 2-6 km."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-87.9, 41.9], [-87.5, 41.6], [-88.3, 41.5], [-87.7, 42.3],
                        [-88.4, 42.1], [-87.2, 42.0], [-88.0, 41.2]])
    which = rng.choice(len(centres), size=n, p=rng.dirichlet(np.full(len(centres), 3.0)))
    spread_deg = rng.uniform(0.02, 0.06, len(centres))
    return centres[which] + rng.normal(size=(n, 2)) * spread_deg[which, None]


def projected(lonlat):
    projection = choose_projection(lonlat[:, 0], lonlat[:, 1], "auto")
    return projection.forward(lonlat[:, 0], lonlat[:, 1]), projection.name


def sklearn_loop(X, stages):
    """The baseline: KMeans + sampled silhouette per k; returns the recommended k and
    adds its stage times to ``stages``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    scores = []
    for k in KS:
        start = time.perf_counter()
        labels = KMeans(k, random_state=SEED).fit(X).labels_
        middle = time.perf_counter()
        scores.append(silhouette_score(X, labels, sample_size=DEFAULT_SILHOUETTE_SAMPLE,
                                       random_state=SEED))
        stages["fits"].append(middle - start)
        stages["silhouette"].append(time.perf_counter() - middle)
    return KS[int(np.argmax(scores))], scores


def our_stages(lonlat):
    """choose_k's steps one by one (as ``selection.choose_k`` and ``_sweep`` run them),
    timed: ``(stage seconds, table rows, sample rows, projected rows, sample labels)``."""
    times = {}
    start = time.perf_counter()
    template = gk.GeoKMeans(KS[0], random_state=SEED)
    params = template._validated()
    points = read_points(lonlat, keep_frame=False)
    rng = make_rng(SEED)
    sample = _silhouette_rows(len(points.lon), DEFAULT_SILHOUETTE_SAMPLE, rng)
    params["crs"] = choose_projection(points.lon, points.lat, params["crs"])
    params["random_state"] = rng
    X, fit = _fitter(points, template, params)
    times["read, project, tolerance"] = time.perf_counter() - start
    rows, fitted = [], []
    start = time.perf_counter()
    for k in KS:
        fitted.append(fit(k))
    times["fits (11 ks)"] = time.perf_counter() - start
    start = time.perf_counter()
    score = _calinski_harabasz_of(X)
    ch = [score(labels) for labels, _ in fitted]
    times["Calinski–Harabasz (11 ks)"] = time.perf_counter() - start
    start = time.perf_counter()
    sample_labels = np.array([labels[sample] for labels, _ in fitted])
    silhouettes = silhouette_sweep(X[sample], sample_labels).mean(axis=1)
    times["silhouette (11 ks, 10,000 points)"] = time.perf_counter() - start
    for k, (_, inertia), c, s in zip(KS, fitted, ch, silhouettes, strict=True):
        rows.append((k, inertia, s, c))
    return times, rows, sample, X, sample_labels


def same_sample_silhouettes(X, sample, sample_labels):
    """Both silhouettes of our sample rows under our labels: times and largest difference."""
    from sklearn.metrics import silhouette_score

    start = time.perf_counter()
    ours = silhouette_sweep(X[sample], sample_labels).mean(axis=1)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = np.array([silhouette_score(X[sample], labels) for labels in sample_labels])
    t_theirs = time.perf_counter() - start
    return t_ours, t_theirs, float(np.max(np.abs(ours - theirs)))


def side_by_side(runs, repeat):
    """As ``_common.side_by_side`` (turns, round after round; medians), with the CPU
    seconds of this process (every thread) beside the wall seconds: a shared machine's
    load lengthens the wall time of whoever waits for a core, much less the CPU time."""
    wall = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    results = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return ({name: statistics.median(t) for name, t in wall.items()},
            {name: statistics.median(t) for name, t in cpu.items()}, results)


def run_data_set(name, lonlat, rounds, report):
    X, crs = projected(lonlat)
    stages = {"fits": [], "silhouette": []}
    times, cpu, results = side_by_side({
        "geokmeans choose_k": lambda: gk.choose_k(lonlat, KS, random_state=SEED),
        "scikit-learn loop": lambda: sklearn_loop(X, stages),
    }, repeat=rounds)
    ours, theirs = times["geokmeans choose_k"], times["scikit-learn loop"]
    choice, (their_k, their_scores) = results["geokmeans choose_k"], results["scikit-learn loop"]
    report(f"### {name}: n = {len(lonlat):,}, k = 2..12, CRS {crs}\n")
    cpu_ours, cpu_theirs = cpu["geokmeans choose_k"], cpu["scikit-learn loop"]
    report(markdown_table(
        ["contender", f"wall s (median of {rounds})", "speed-up", "CPU s", "CPU ratio",
         "recommended k"],
        [["geokmeans choose_k", f"{ours:.2f}", f"{theirs / ours:.1f}x", f"{cpu_ours:.2f}",
          f"{cpu_theirs / cpu_ours:.1f}x", choice.recommended_k],
         ["scikit-learn KMeans + silhouette_score(sample_size=10,000)", f"{theirs:.2f}",
          "1.0x", f"{cpu_theirs:.2f}", "1.0x", their_k]]))
    per_round = {key: sum(v) / rounds for key, v in stages.items()}
    stage_times, rows, sample, X_ours, sample_labels = our_stages(lonlat)
    assert np.allclose([r[2] for r in rows], choice.table.silhouette, rtol=1e-12)
    report("\nStages, seconds (ours: one staged run of the same steps; scikit-learn: "
           "mean per round):\n")
    stage_rows = [["geokmeans", stage, f"{t:.3f}"] for stage, t in stage_times.items()]
    stage_rows += [["scikit-learn", "KMeans fits (11 ks)", f"{per_round['fits']:.3f}"],
                   ["scikit-learn", "silhouette_score (11 ks, 10,000 points)",
                    f"{per_round['silhouette']:.3f}"]]
    report(markdown_table(["who", "stage", "seconds"], stage_rows))
    t_ours, t_theirs, diff = same_sample_silhouettes(X_ours, sample, sample_labels)
    report(f"\nThe same 10,000 sample rows under the same labels (ours), 11 ks: our "
           f"silhouettes {t_ours:.3f} s, scikit-learn's {t_theirs:.2f} s "
           f"({t_theirs / t_ours:.0f}x); largest difference of the mean silhouette "
           f"{diff:.1e} (scikit-learn's distances round |x|² - 2x·y + |y|² at UTM "
           "magnitudes; ours subtract coordinates).\n")
    table = markdown_table(
        ["k", "silhouette (ours)", "silhouette (scikit-learn loop)", "CH (ours)"],
        [[k, f"{s:.4f}", f"{t:.4f}", f"{c:.0f}"]
         for (k, _, s, c), t in zip(rows, their_scores, strict=True)])
    report(table + "\n")
    return theirs / ours, cpu_theirs / cpu_ours, choice.recommended_k == their_k


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="also write the report to this markdown file")
    args = parser.parse_args()
    lines = []

    def report(text=""):
        print(text, flush=True)
        lines.append(text)

    import numba

    report(f"Command: `python benchmarks/choose_k.py --rounds {args.rounds}`. Machine: "
           f"{machine()}; numba threads: {numba.get_num_threads()}; load average at the "
           f"start {os.getloadavg()[0]:.1f} (the machine is shared).\n")
    gk.choose_k(blobs_lonlat(3000), range(2, 5), random_state=0)  # compile the kernels
    outcomes = [run_data_set("New York harbour AIS (data/ny_harbor_ais.csv)", ais_lonlat(),
                             args.rounds, report),
                run_data_set("7 blobs (synthetic, seed 7)", blobs_lonlat(), args.rounds,
                             report)]
    met = min(min(wall, cpu) for wall, cpu, _ in outcomes) >= 5
    report("Speed-ups (wall / CPU): " + ", ".join(f"{w:.1f}x / {c:.1f}x" for w, c, _ in outcomes)
           + f" (target >= 5x: {'met' if met else 'NOT met'}); same recommended k: "
           + ", ".join("yes" if same else "NO" for _, _, same in outcomes))
    report(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
