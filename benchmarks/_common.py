"""Helpers shared by the benchmark scripts: timing, clustered test data, tables."""

import platform
import statistics
import time

import numpy as np


def timed(fn, repeat=3):
    """Median wall time of ``repeat`` calls of ``fn`` and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def side_by_side(runs, repeat=5):
    """Median wall time of each of ``runs`` (name -> callable) and its last result.

    The runs take turns, round after round, so that a slow spell of a shared machine
    falls on every contender alike instead of on whichever ran then.
    """
    times = {name: [] for name in runs}
    results = {}
    for _ in range(repeat):
        for name, fn in runs.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, results


def clustered_lonlat(n, n_centres=50, seed=0, box=((-125.0, 25.0), (-67.0, 49.0)), spread_deg=0.4):
    """Realistic clustered lon/lat points: Gaussian blobs of varied size in a box."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(box[0], box[1], size=(n_centres, 2))
    sizes = rng.dirichlet(np.ones(n_centres) * 0.7)
    which = rng.choice(n_centres, size=n, p=sizes)
    noise = rng.normal(scale=spread_deg, size=(n, 2))  # before the spreads: the same data as ever
    lonlat = centres[which] + noise * rng.uniform(0.3, 1.5, (n_centres, 1))[which]
    lonlat[:, 1] = np.clip(lonlat[:, 1], -89.9, 89.9)
    return lonlat


def uneven_lonlat(n, n_centres=80, seed=0, box=((-125.0, 25.0), (-67.0, 49.0)),
                  spread_deg=(0.05, 1.0), tail=1.1):
    """Heterogeneous clustered lon/lat points: cluster sizes from a heavy-tailed (Pareto,
    index ``tail``) law, so that a few clusters hold most points (the largest about a
    quarter of them with the defaults) and many hold a few hundred; spreads log-uniform
    over ``spread_deg`` (20x apart with the defaults)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(box[0], box[1], size=(n_centres, 2))
    sizes = rng.pareto(tail, n_centres) + 1e-3
    which = rng.choice(n_centres, size=n, p=sizes / sizes.sum())
    spreads = np.exp(rng.uniform(np.log(spread_deg[0]), np.log(spread_deg[1]), n_centres))
    lonlat = centres[which] + rng.normal(size=(n, 2)) * spreads[which, None]
    lonlat[:, 1] = np.clip(lonlat[:, 1], -89.9, 89.9)
    return lonlat


def machine():
    import os

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
