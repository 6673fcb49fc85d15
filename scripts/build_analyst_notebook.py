"""Write ``examples/analyst.ipynb`` (without outputs) from the cells below.

    python scripts/build_analyst_notebook.py

The notebook is kept in the repository without outputs; ``tests/test_notebook.py`` runs it
top to bottom. Edit the cells here, then run this script (or edit the notebook in Jupyter
and clear its outputs before committing: the test checks there are none).
"""

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    ("markdown", """\
# Territories from a table of places: an analyst's session

A whole workflow on the bundled GeoNames cities (`data/world_cities.csv`, CC BY 4.0):
load points, choose k, cluster weighted by population, keep the cluster numbers of an
earlier run, cluster country by country, draw a map that works offline, and export
GeoJSON. Every distance is in metres: geokmeans projects the points itself (a UTM zone
for one country, Earth-centred coordinates for data spanning zones).

The next cell holds the two paths the notebook uses; change them to work elsewhere."""),
    ("parameters", """\
from pathlib import Path

DATA = Path("../data")  # the repository's bundled data
OUT = Path("out")  # where the map and the GeoJSON files are written"""),
    ("code", """\
import geopandas as gpd
import pandas as pd

import geokmeans as gk

OUT.mkdir(exist_ok=True)
cities = pd.read_csv(DATA / "world_cities.csv")
cities = gpd.GeoDataFrame(
    cities, geometry=gpd.points_from_xy(cities.longitude, cities.latitude), crs="EPSG:4326"
)
france = cities[cities.country == "FR"]
france.head()"""),
    ("markdown", """\
## How many clusters?

`choose_k` fits every k on all points and scores each (inertia, the silhouette on a
sample, Calinski–Harabasz), in metres. `progress=True` shows a bar while it runs."""),
    ("code", """\
choice = gk.choose_k(france, range(3, 11), weight="population", random_state=0,
                     progress=True)
choice.table"""),
    ("code", """\
k = choice.recommended_k
k"""),
    ("markdown", """\
## Cluster, weighted by population

The result displays as a summary and a table of clusters; clusters are numbered by
descending total weight (here: population), so cluster 0 is the most populous."""),
    ("code", """\
result = gk.cluster(france, k, weight="population", random_state=0, n_init=10)
result"""),
    ("code", """\
result.points[["name", "population", "cluster", "distance_m"]].head()"""),
    ("markdown", """\
## Next month: the same territory numbers

A later run (new data, another k) numbers its clusters on its own: adding an eighth
territory here would renumber four of the seven. `relabel_like` matches the new clusters
to an earlier result (or its centroids file) by an optimal assignment on the geodesic
distance between centroids: matched clusters keep their numbers, the new one gets the
next free number."""),
    ("code", """\
from pyproj import Geod

later = gk.cluster(france, k + 1, weight="population", random_state=0, n_init=10,
                   relabel_like=result)
own = gk.cluster(france, k + 1, weight="population", random_state=0, n_init=10)
table = later.centroids[["cluster", "n_points", "geometry"]].merge(
    result.centroids[["cluster", "geometry"]], on="cluster", how="left",
    suffixes=("", "_before"))
table["without relabel_like"] = [  # the number the later run gives the same points
    own.points.cluster[later.points.cluster == j].mode()[0] for j in table.cluster]
kept = table.geometry_before.notna()
before, after = gpd.GeoSeries(table.geometry_before[kept]), gpd.GeoSeries(table.geometry[kept])
table.loc[kept, "moved_km"] = Geod(ellps="WGS84").inv(before.x, before.y, after.x,
                                                      after.y)[2] / 1000
table.drop(columns=["geometry", "geometry_before"]).round(1)"""),
    ("markdown", """\
## Country by country

`by="country"` clusters each country's cities separately (each in its own projection),
with cluster ids unique across the result and a `{country: k}` mapping for k."""),
    ("code", """\
europe = cities[cities.country.isin(["FR", "DE", "ES", "IT"])]
per_country = gk.cluster(europe, {"DE": 6, "ES": 5, "FR": 6, "IT": 5}, by="country",
                         weight="population", random_state=0)
per_country.centroids[["cluster", "country", "n_points", "weight"]]"""),
    ("markdown", """\
## A map that works offline

The map carries its own scripts; with `tiles=None` the saved page needs no network at all
(e-mail it, open it on a locked-down machine)."""),
    ("code", """\
page = per_country.explore(tiles=None)
page.save(OUT / "europe_clusters.html")
page"""),
    ("markdown", """\
## Export

RFC 7946 GeoJSON (lon/lat), with the run's parameters stored in the file so the run can
be redone from it."""),
    ("code", """\
import json

per_country.to_geojson(OUT / "europe_clusters.geojson", which="both")
collection = json.loads((OUT / "europe_clusters.geojson").read_text())
print(pd.Series([f["geokmeans:layer"] for f in collection["features"]]).value_counts())
collection["geokmeans"]["parameters"]"""),
]


def build():
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    for number, (kind, source) in enumerate(CELLS):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
        cell.id = f"cell-{number}"  # stable ids: the file changes only with its cells
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


if __name__ == "__main__":
    nbformat.write(build(), ROOT / "examples" / "analyst.ipynb")
