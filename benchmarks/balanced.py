"""Balanced clusters: geokmeans's size limits against k-means-constrained, side by side.

    python benchmarks/balanced.py [--skip-large] [--seeds 3]

1. 50,000 clustered points in metres (a UTM-like plane), k = 20, every cluster's size
   within ±5% of n/k: ``geokmeans.KMeans(size_min, size_max)`` and
   ``k_means_constrained.KMeansConstrained(n_init=1)`` with the same limits, each seed
   run by both; reports the time and the inertia of each, the median inertia ratio and
   the speed-up.
2. 1,000,000 points, k = 100, ±5%: the size-limited fit against the default
   unconstrained fit of the same data (the issue's bound: 15 times its time).

Prints markdown tables. k-means-constrained is installed from PyPI when missing
(``pip install k-means-constrained``); it is not a dependency of geokmeans.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import clustered_lonlat, machine, markdown_table  # noqa: E402
from geokmeans import KMeans  # noqa: E402


def plane(n, seed):
    """Clustered points, uneven sizes and spreads, in metres."""
    lonlat = clustered_lonlat(n, n_centres=60, seed=seed, box=((-78.0, 38.0), (-74.0, 42.0)),
                              spread_deg=0.08)
    return np.ascontiguousarray(lonlat * [86_000.0, 111_000.0])


def limits(n, k, slack=0.05):
    return int(np.floor((1 - slack) * n / k)), int(np.ceil((1 + slack) * n / k))


def timed_fit(make):
    start = time.perf_counter()
    model = make()
    return model, time.perf_counter() - start


def against_kmeans_constrained(seeds):
    from k_means_constrained import KMeansConstrained

    n, k = 50_000, 20
    X = plane(n, seed=11)
    low, high = limits(n, k)
    KMeans(k, random_state=0, size_min=low // 10, size_max=high // 10 + 1,
           max_iter=2).fit(X[:5000])  # compile the kernels first
    rows, ratios, speedups = [], [], []
    for seed in range(seeds):
        ours, t_ours = timed_fit(lambda s=seed: KMeans(k, random_state=s, size_min=low,
                                                       size_max=high).fit(X))
        theirs, t_theirs = timed_fit(lambda s=seed: KMeansConstrained(
            n_clusters=k, size_min=low, size_max=high, n_init=1, random_state=s).fit(X))
        sizes = np.bincount(ours.labels_, minlength=k)
        assert low <= sizes.min() and sizes.max() <= high
        ratios.append(ours.inertia_ / theirs.inertia_)
        speedups.append(t_theirs / t_ours)
        rows.append([seed, f"{t_ours:.2f}", f"{t_theirs:.2f}", f"{ours.inertia_:.6g}",
                     f"{theirs.inertia_:.6g}", f"{ratios[-1]:.4f}", f"{speedups[-1]:.1f}"])
    print(f"n = {n:,}, k = {k}, sizes in [{low}, {high}] (±5% of n/k); "
          "KMeansConstrained(n_init=1)\n")
    print(markdown_table(["seed", "geokmeans s", "k-means-constrained s", "geokmeans inertia",
                          "k-means-constrained inertia", "inertia ratio", "speed-up"], rows))
    print(f"\nmedian inertia ratio {np.median(ratios):.4f} (target <= 1.0); median speed-up "
          f"{np.median(speedups):.1f}x (target >= 20x)\n")


def large():
    n, k = 1_000_000, 100
    X = plane(n, seed=12)
    low, high = limits(n, k)
    KMeans(k, random_state=0, max_iter=2).fit(X[:20000])  # compile the kernels first,
    KMeans(k, random_state=0, max_iter=2, size_min=low // 50,  # both fits' kernels
           size_max=high // 50 + 1).fit(X[:20000])
    free, t_free = timed_fit(lambda: KMeans(k, random_state=0).fit(X))
    capped, t_capped = timed_fit(lambda: KMeans(k, random_state=0, size_min=low,
                                                size_max=high).fit(X))
    sizes = np.bincount(capped.labels_, minlength=k)
    free_sizes = np.bincount(free.labels_, minlength=k)
    rows = [["unconstrained (default)", f"{t_free:.2f}", f"{free.inertia_:.6g}", free.n_iter_,
             f"{free_sizes.min()}..{free_sizes.max()}"],
            [f"sizes in [{low}, {high}]", f"{t_capped:.2f}", f"{capped.inertia_:.6g}",
             capped.n_iter_, f"{sizes.min()}..{sizes.max()}"]]
    print(f"n = {n:,}, k = {k}\n")
    print(markdown_table(["fit", "seconds", "inertia", "n_iter", "cluster sizes"], rows))
    print(f"\nsize-limited / unconstrained time = {t_capped / t_free:.1f}x (target <= 15x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    against_kmeans_constrained(args.seeds)
    if not args.skip_large:
        large()


if __name__ == "__main__":
    main()
