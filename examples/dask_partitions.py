"""Clustering a partitioned dataset with Dask: New York harbour AIS positions in Parquet
files, on a local cluster of two worker processes.

The same calls work against a real cluster (``Client("tcp://scheduler:8786")``) and on
files too large for one machine: only coordinates stay in the workers' memory, and the
driver receives per-cluster sums, a per-cluster sample for the map and each partition's
hull vertices. Writes ``ais_parts/`` (the input, 5 files), ``ais_labelled.parquet`` (one
GeoParquet file, written partition by partition; a path without extension would give a
directory of one file per partition), ``ais_centroids.geojson`` and ``ais_map.html``.

    python examples/dask_partitions.py [output directory]
"""

import sys
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import geokmeans as gk

HERE = Path(__file__).resolve().parent


def main(out_dir):
    out_dir = Path(out_dir)
    parts = out_dir / "ais_parts"
    parts.mkdir(parents=True, exist_ok=True)
    ais = pd.read_csv(HERE.parent / "data" / "ny_harbor_ais.csv")
    for i, rows in enumerate(np.array_split(np.arange(len(ais)), 5)):
        ais.iloc[rows].to_parquet(parts / f"part_{i}.parquet", index=False)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, \
            Client(cluster):
        points = dd.read_parquet(str(parts / "*.parquet"))
        result = gk.cluster(points, 6, max_radius_m=4_000, random_state=0)
        # the three outputs appear together, or none of them
        result.write(points=out_dir / "ais_labelled.parquet",
                     centroids=out_dir / "ais_centroids.geojson",
                     map=out_dir / "ais_map.html",
                     map_options={"hulls": True, "tooltip": ["mmsi"]})
    model = result.model
    print(f"{int(result.centroids.n_points.sum()):,} points in {points.npartitions} partitions, "
          f"k={model.n_clusters_} (from 6, every point within 4,000 m), CRS {model.crs_}, "
          f"{model.n_iter_} iterations")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
