"""The classic k-means tutorial, done in metres: DC places seeded in the DC box.

Tutorials often draw k random centres inside the Washington DC bounding box
(-77.15, 38.825, -76.9, 39.0) and run k-means on raw degrees. Here the seeds are drawn
uniformly over the box's area, distances are metres in UTM zone 18N, each place is
weighted by its population, and the result is written as GeoJSON.

    python examples/dc_tutorial.py [output directory]
"""

import sys
from pathlib import Path

import geokmeans as gk

HERE = Path(__file__).resolve().parent
DC_BOX = (-77.15, 38.825, -76.9, 39.0)  # west, south, east, north


def main(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = gk.cluster(HERE.parent / "data" / "dc_places.csv", 6, init="bbox", bbox=DC_BOX,
                        weight="population", random_state=42)
    model = result.model
    print(f"{len(result.points)} places, k=6, CRS {model.crs_}, inertia {model.inertia_:.4g} m², "
          f"{model.n_iter_} iterations")
    table = result.centroids.assign(lon=result.centroids.geometry.x,
                                    lat=result.centroids.geometry.y)
    columns = ["cluster", "n_points", "weight", "mean_distance_m", "max_distance_m", "lon", "lat"]
    print(table[columns]
          .round({"mean_distance_m": 0, "max_distance_m": 0, "lon": 5, "lat": 5})
          .to_string(index=False))
    path = out_dir / "dc_clusters.geojson"
    result.to_geojson(path, which="all")
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
