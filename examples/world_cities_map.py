"""A web map of the world's cities clustered by population (sphere mode).

34,006 GeoNames cities of 15,000+ people, 40 clusters weighted by population. The data
span the globe, so distances are great-circle (Earth-centred coordinates). Writes
``world_cities_map.html`` and ``world_cities_clusters.geojson``.

    python examples/world_cities_map.py [output directory]
"""

import sys
from pathlib import Path

import geokmeans as gk

HERE = Path(__file__).resolve().parent


def main(out_dir, tiles="OpenStreetMap"):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = gk.cluster(HERE.parent / "data" / "world_cities.csv", 40, weight="population",
                        random_state=0)
    print(f"{len(result.points):,} cities, k=40, CRS {result.model.crs_}")
    biggest = result.centroids.sort_values("weight", ascending=False).head(5)
    for row in biggest.itertuples():
        print(f"cluster {row.cluster:2d}: {row.weight / 1e6:8.1f} M people in {row.n_points:5d} "
              f"cities, centroid {row.geometry.y:7.2f}°, {row.geometry.x:8.2f}°, "
              f"mean distance {row.mean_distance_m / 1000:6.0f} km")
    m = result.explore(tooltip=["name", "country", "population"], hulls=True, tiles=tiles)
    m.save(out_dir / "world_cities_map.html")
    result.to_geojson(out_dir / "world_cities_clusters.geojson", which="centroids")
    print(f"wrote {out_dir / 'world_cities_map.html'}")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
