"""Hull benchmark: time of ``cluster_hulls`` and ``hull_vertex_rows`` for many points.

    python benchmarks/hulls.py [--sizes 100000 1000000] [--k 64] [--repeat 3]

Local clusters (Gaussian blobs about 50 km across over the contiguous US, the labels those of
the blobs, the centres their means on the sphere) and, for contrast, the same number of
points spread over the globe in k clusters. Prints a markdown table.
"""

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import clustered_lonlat, machine, markdown_table, timed  # noqa: E402
from geokmeans.stats import cluster_hulls, hull_vertex_rows  # noqa: E402


def sphere_means(lon, lat, labels, k):
    """Normalised mean direction of each cluster, as (lon, lat) in degrees."""
    lam, phi = np.radians(lon), np.radians(lat)
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    sums = np.stack([np.bincount(labels, weights=xyz[:, i], minlength=k) for i in range(3)], 1)
    return (np.degrees(np.arctan2(sums[:, 1], sums[:, 0])),
            np.degrees(np.arctan2(sums[:, 2], np.hypot(sums[:, 0], sums[:, 1]))))


def local_case(n, k, seed=0):
    """Blobs over the contiguous US; the blob is the label."""
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(-120, -70, k), rng.uniform(28, 47, k)])
    labels = np.sort(rng.integers(0, k, n))
    rng.shuffle(labels)
    lonlat = centres[labels] + rng.normal(scale=0.15, size=(n, 2))
    return lonlat[:, 0], lonlat[:, 1], labels


def global_case(n, k, seed=0):
    """Points over the globe, labelled by the nearest of k random centres."""
    rng = np.random.default_rng(seed)
    lonlat = clustered_lonlat(n, n_centres=200, seed=seed, box=((-180, -70), (180, 80)),
                              spread_deg=3.0)
    lon = (lonlat[:, 0] + 180) % 360 - 180
    xyz = np.column_stack([np.cos(np.radians(lonlat[:, 1])) * np.cos(np.radians(lon)),
                           np.cos(np.radians(lonlat[:, 1])) * np.sin(np.radians(lon)),
                           np.sin(np.radians(lonlat[:, 1]))])
    labels = np.argmax(xyz @ xyz[rng.choice(n, k, replace=False)].T, axis=1)
    return lon, lonlat[:, 1], labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for n in args.sizes:
        for name, case in (("local", local_case), ("global", global_case)):
            lon, lat, labels = case(n, args.k)
            centre_lon, centre_lat = sphere_means(lon, lat, labels, args.k)
            try:
                seconds, _ = timed(functools.partial(cluster_hulls, lon, lat, labels,
                                                     centre_lon, centre_lat), args.repeat)
                hull_s = f"{seconds:.3f}"
            except Exception as exc:  # the benchmark also runs older versions
                hull_s = f"error ({type(exc).__name__})"
            rows_s, rows_ = timed(functools.partial(hull_vertex_rows, lon, lat, labels,
                                                    centre_lon, centre_lat), args.repeat)
            rows.append([f"{n:,}", args.k, name, hull_s, f"{rows_s:.3f}", len(rows_)])
    print(f"Machine: {machine()}\n")
    print(markdown_table(["points", "k", "clusters", "cluster_hulls s", "hull_vertex_rows s",
                          "vertex rows"], rows))


if __name__ == "__main__":
    main()
