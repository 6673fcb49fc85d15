"""Dask benchmark: 20M points from partitioned Parquet on a 2-worker local cluster.

    python benchmarks/dask_bench.py [--n 20000000] [--k 64] [--memory-limit 1GiB]

Writes AIS-like records (id, time, lon, lat, speed, course: 48 bytes a row) as 40 Parquet
files, starts a LocalCluster of 2 worker processes (1 thread each) with a per-worker
memory limit, then fits, side by side in this run: geokmeans on the dask frame (k-means||
seeding), dask-ml's KMeans on the projected coordinates (its own k-means||), and
in-memory geokmeans on the same Parquet files read into this process, every column (as
``pd.read_parquet(path)`` does) and only lon/lat (as the Dask fit reads them); all timed
from the files to a fitted model, each seeding plan on both. Reports wall time, inertia
and each worker's peak memory (sampled every 50 ms). Prints a markdown table.
"""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import clustered_lonlat, machine, markdown_table  # noqa: E402


def warm_up():
    """Load geokmeans and its compiled kernels (both seeding plans) in this process, as a
    fit would, so that neither side's timing includes loading them."""
    import numpy as np

    import geokmeans as gk

    rng = np.random.default_rng(0)
    lonlat = np.column_stack([rng.uniform(-77.0, -76.0, 2000), rng.uniform(38.0, 39.0, 2000)])
    for options in ({}, {"init": "random", "n_init": 1}):
        gk.GeoKMeans(8, random_state=0, **options).fit(lonlat)
    return 0


def worker_rss(dask_worker):
    import psutil

    return psutil.Process().memory_info().rss


class PeakSampler:
    """Polls each worker's RSS on the cluster while a fit runs."""

    def __init__(self, client):
        self.client = client
        self.peaks = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                for worker, rss in self.client.run(worker_rss).items():
                    self.peaks[worker] = max(self.peaks.get(worker, 0), rss)
            except Exception:  # a worker restarting
                pass
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000_000)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--memory-limit", default="850MiB")
    parser.add_argument("--dask-ml-max-iter", type=int, default=30)
    parser.add_argument("--skip-dask-ml", action="store_true")
    args = parser.parse_args()

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import geokmeans as gk

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lonlat = clustered_lonlat(args.n, n_centres=200, seed=5,
                                  box=((-78.0, 38.0), (-74.0, 42.0)), spread_deg=0.05)
        rng = np.random.default_rng(6)
        frame = pd.DataFrame({"id": np.arange(args.n),
                              "time": rng.integers(1.6e9, 1.7e9, args.n),
                              "lon": lonlat[:, 0], "lat": lonlat[:, 1],
                              "speed": rng.gamma(2.0, 3.0, args.n),
                              "course": rng.uniform(0, 360, args.n)})
        dataset_mb = frame.memory_usage(index=False).sum() / 2**20
        del lonlat
        for i, part in enumerate(np.array_split(np.arange(args.n), args.partitions)):
            frame.iloc[part].to_parquet(Path(tmp) / f"part_{i:03d}.parquet", index=False)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          memory_limit=args.memory_limit, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            ddf = dd.read_parquet(str(Path(tmp) / "part_*.parquet"))
            del frame  # both fits read the Parquet files, as a user's job would
            client.run(warm_up)  # imports and compiled kernels, on every worker
            warm_up()  # and here
            baseline = max(client.run(worker_rss).values())
            files = str(Path(tmp) / "part_*.parquet")
            model = None
            for label, options in (("random rows (the same rows on both)",
                                    {"init": "random", "n_init": 1}),
                                   ("k-means|| on dask / k-means++ in memory", {})):
                with PeakSampler(client) as sampler:
                    start = time.perf_counter()
                    fitted = gk.GeoKMeans(args.k, random_state=0, **options).fit(
                        dd.read_parquet(files))
                    on_dask = time.perf_counter() - start
                rows.append([f"geokmeans on dask, seeds: {label}", f"{on_dask:.1f}",
                             f"{fitted.inertia_:.5g}", fitted.n_iter_, fitted.crs_,
                             " / ".join(f"{p / 2**20:.0f}" for p in sampler.peaks.values())])
                print("partial:", rows[-1], flush=True)
                model = model or fitted
                # the same job in this process: read the same files (every column, as
                # pd.read_parquet(path) does, and only lon/lat, as Dask reads), fit, same plan
                for read, columns in (("all columns read", None), ("lon/lat read",
                                                                   ["lon", "lat"])):
                    start = time.perf_counter()
                    in_memory = gk.GeoKMeans(args.k, random_state=0, **options).fit(
                        pd.read_parquet(tmp, columns=columns))
                    elapsed = time.perf_counter() - start
                    rows.append([f"geokmeans in memory (this process, 2 threads, {read}), "
                                 f"seeds: {label}", f"{elapsed:.1f}",
                                 f"{in_memory.inertia_:.5g}", in_memory.n_iter_,
                                 in_memory.crs_, f"dask / memory = {on_dask / elapsed:.2f}"])
                    print("partial:", rows[-1], flush=True)
                    del in_memory
            projection = model.projection_

            try:
                from dask_ml.cluster import KMeans as DaskMLKMeans
            except ImportError:  # a benchmark-only dependency
                print("dask-ml is not installed (pip install dask-ml): not measured")
                args.skip_dask_ml = True
            if not args.skip_dask_ml:
                import dask.array as da

                X = ddf[["lon", "lat"]].to_dask_array()
                X.compute_chunk_sizes()
                X = X.map_blocks(lambda b: projection.forward(b[:, 0], b[:, 1]),
                                 dtype=np.float64).persist()
                name = (f"dask-ml KMeans (projected X persisted first; max_iter="
                        f"{args.dask_ml_max_iter})")
                with PeakSampler(client) as sampler:
                    start = time.perf_counter()
                    try:
                        ref = DaskMLKMeans(n_clusters=args.k, random_state=0, init_max_iter=2,
                                           oversampling_factor=2,
                                           max_iter=args.dask_ml_max_iter).fit(X)
                        outcome = [f"{float(ref.inertia_):.5g}", getattr(ref, "n_iter_", "–")]
                    except Exception as exc:  # e.g. KilledWorker past the memory limit
                        outcome = [f"failed: {type(exc).__name__}", "–"]
                    elapsed = time.perf_counter() - start
                rows.append([name, f"{elapsed:.1f}", *outcome, projection.name,
                             " / ".join(f"{p / 2**20:.0f}" for p in sampler.peaks.values())])
                del X, da
    print(f"Machine: {machine()}; n = {args.n:,} points in {args.partitions} Parquet files "
          f"({dataset_mb:.0f} MiB as a DataFrame); k = {args.k}; 2 workers x 1 thread, "
          f"memory limit {args.memory_limit} each; worker baseline after imports "
          f"{baseline / 2**20:.0f} MiB\n")
    print(markdown_table(["engine", "seconds", "inertia m²", "n_iter", "CRS",
                          "peak RSS per worker MiB"], rows))


if __name__ == "__main__":
    main()
