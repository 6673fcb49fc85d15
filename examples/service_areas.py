"""Service areas with a guaranteed radius: every DC place within 5 km of its centre.

k-means alone cannot promise a distance; with ``max_radius_m`` the number of clusters
is a minimum and clusters are split until every member is within the radius (geodesic,
WGS84) of its centroid, e.g. to site depots or clinics. Writes
``service_areas.gpkg`` (layers points, centroids, hulls) and ``service_areas.html``.

    python examples/service_areas.py [output directory]
"""

import sys
from pathlib import Path

import geokmeans as gk

HERE = Path(__file__).resolve().parent
RADIUS_M = 5_000


def main(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = gk.cluster(HERE.parent / "data" / "dc_places.csv", 4, weight="population",
                        max_radius_m=RADIUS_M, random_state=0)
    worst = result.centroids.max_distance_m.max()
    print(f"k grew from 4 to {result.model.n_clusters_} so that every place is within "
          f"{RADIUS_M:,} m of its centre (farthest: {worst:,.0f} m)")
    result.to_file(out_dir / "service_areas.gpkg", which="all")
    result.explore(tooltip=["name", "population"], hulls=True).save(out_dir / "service_areas.html")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
