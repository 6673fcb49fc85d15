"""Group-by benchmark: ``cluster(data, k, by=column)`` against a loop of ``cluster`` calls
over ``DataFrame.groupby`` (the manual way), side by side in one run.

    python benchmarks/groups.py [--repeat 5]

The AIS data (``data/ny_harbor_ais.csv``: 50,000 positions of 140 vessels) grouped by
vessel (``mmsi``, k = 2 each), and 1,000 groups of 3 points (the first 3,000 rows, k = 1)
for the cost per group. Prints a markdown table; the centres of the two ways are checked
to be the same.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geokmeans as gk  # noqa: E402
from benchmarks._common import machine, markdown_table, side_by_side  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


def grouped(frame, by, k):
    return gk.cluster(frame, k, by=by, random_state=0)


def loop(frame, by, k):
    return {value: gk.cluster(rows, k, random_state=0)
            for value, rows in frame.groupby(by, sort=True)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ais = pd.read_csv(DATA / "ny_harbor_ais.csv")
    tiny = ais.head(3000).assign(spot=np.arange(3000) // 3)
    gk.cluster(ais.head(500), 2, random_state=0)  # compile the kernels first
    rows = []
    for name, frame, by, k in (("AIS by vessel (50,000 points)", ais, "mmsi", 2),
                               ("1,000 groups of 3 points", tiny, "spot", 1)):
        times, results = side_by_side({"by=": lambda f=frame, b=by, k=k: grouped(f, b, k),
                                       "loop": lambda f=frame, b=by, k=k: loop(f, b, k)},
                                      repeat=args.repeat)
        one, many = results["by="], results["loop"]
        assert all(np.array_equal(one.models[v].cluster_centers_, r.model.cluster_centers_)
                   for v, r in many.items())
        n_groups = len(one.models)
        rows.append([name, f"{n_groups:,}", f"{times['by=']:.2f}", f"{times['loop']:.2f}",
                     f"{times['by='] / times['loop']:.2f}",
                     f"{1000 * times['by='] / n_groups:.1f}"])
    print(f"{machine()}; median of {args.repeat} rounds, side by side\n")
    print(markdown_table(["data", "groups", "by= s", "loop s", "by= / loop", "ms per group"],
                         rows))


if __name__ == "__main__":
    main()
