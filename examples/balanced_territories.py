"""Sales territories of equal workload: German cities in 6 territories of equal population.

Plain k-means gives the Rhine-Ruhr one territory and the north-east another of a third
of its population. With ``size_by="weight"`` and limits on each territory's summed
population (here within 5% of an equal share), the assignment puts every city in a
territory so that the sums hold, at the least squared distance in metres. Writes
``territories.gpkg`` (layers points, centroids, hulls) and ``territories.html``, and
prints each territory's population against its limits.

    python examples/balanced_territories.py [output directory]
"""

import sys
from pathlib import Path

import pandas as pd

import geokmeans as gk

HERE = Path(__file__).resolve().parent
K = 6
SLACK = 0.05


def main(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cities = pd.read_csv(HERE.parent / "data" / "world_cities.csv")
    germany = cities[cities.country == "DE"].reset_index(drop=True)
    share = germany.population.sum() / K
    plain = gk.cluster(germany, K, weight="population", random_state=0)
    result = gk.cluster(germany, K, weight="population", random_state=0, size_by="weight",
                        size_min=(1 - SLACK) * share, size_max=(1 + SLACK) * share)
    spread = [r.centroids.weight.max() / r.centroids.weight.min() for r in (plain, result)]
    print(f"{len(germany):,} cities, {germany.population.sum():,} people, {K} territories; "
          f"largest / smallest population: {spread[0]:.2f} plain, {spread[1]:.2f} balanced")
    for row in result.centroids.sort_values("cluster").itertuples():
        print(f"territory {row.cluster}: {row.n_points:4d} cities, {row.weight:12,.0f} people "
              f"(limits {row.size_min:,.0f}..{row.size_max:,.0f})")
    result.to_file(out_dir / "territories.gpkg", which="all")
    result.explore(tooltip=["name", "population"], hulls=True).save(out_dir / "territories.html")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
