"""Per-cluster statistics in metres (geodesic, WGS84) and convex hulls."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Transformer

from .projection import wrap_longitude

__all__ = [
    "GEOD",
    "cluster_hulls",
    "cluster_table",
    "cluster_table_from_sums",
    "geodesic_distances_m",
    "hull_vertex_rows",
]

#: WGS84 ellipsoid for geodesic distances (Karney's algorithm, via PROJ).
GEOD = Geod(ellps="WGS84")


#: Arrays at least this long are split over threads (pyproj releases the GIL in Geod.inv).
PARALLEL_MIN_POINTS = 200_000


def _threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def geodesic_distances_m(lon, lat, to_lon, to_lat):
    """Geodesic distance in metres between matching (n,) arrays of points.

    Long arrays are cut into one slice per available CPU, computed in threads; each
    distance is computed alone, so the result does not depend on the split.
    """
    columns = [np.ascontiguousarray(a, dtype=np.float64) for a in (lon, lat, to_lon, to_lat)]
    n = columns[0].shape[0]
    n_threads = min(_threads(), n // (PARALLEL_MIN_POINTS // 2)) if n >= PARALLEL_MIN_POINTS else 1
    if n_threads <= 1:
        return np.asarray(GEOD.inv(*columns)[2], dtype=np.float64)
    out = np.empty(n)
    bounds = np.linspace(0, n, n_threads + 1).astype(int)

    def part(i):
        lo, hi = bounds[i], bounds[i + 1]
        out[lo:hi] = GEOD.inv(*(c[lo:hi] for c in columns))[2]

    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(part, range(n_threads)))
    return out


def cluster_table(labels, weights, distances_m, n_clusters):
    """One row per cluster: ``cluster, n_points, weight, mean_distance_m, max_distance_m``.

    ``mean_distance_m`` is weighted by ``weights``; empty clusters get 0 points and NaN
    distances.
    """
    maximum = np.full(n_clusters, -np.inf)
    np.maximum.at(maximum, labels, distances_m)
    return cluster_table_from_sums(
        np.bincount(labels, minlength=n_clusters),
        np.bincount(labels, weights=weights, minlength=n_clusters),
        np.bincount(labels, weights=weights * distances_m, minlength=n_clusters),
        maximum,
    )


def cluster_table_from_sums(counts, weight, weighted_distance_m, max_distance_m):
    """The cluster table from per-cluster sums (as combined from partitions).

    ``max_distance_m`` is -inf for empty clusters.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(weight > 0, weighted_distance_m / weight, np.nan)
    return pd.DataFrame({
        "cluster": np.arange(len(counts)),
        "n_points": np.asarray(counts).astype(np.int64),
        "weight": np.asarray(weight, dtype=np.float64),
        "mean_distance_m": mean,
        "max_distance_m": np.where(np.isfinite(max_distance_m), max_distance_m, np.nan),
    })


def _split_at_antimeridian(geom):
    """Cut a geometry whose longitudes run past ±180 into pieces within [-180, 180]."""
    minx, _, maxx, _ = geom.bounds
    if minx >= -180 and maxx <= 180:
        return geom
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        window = shapely.box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        part = shapely.intersection(geom, window)
        if not part.is_empty:
            pieces.append(shapely.affinity.translate(part, xoff=shift))
    return shapely.union_all(pieces)


def _cluster_members(labels, n_clusters):
    """For each cluster, the indices of its rows."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    return [order[bounds[j]:bounds[j + 1]] for j in range(n_clusters)]


def _local_hull(lon, lat, centre_lon, centre_lat):
    """(hull in metres, transformer, x, y): the convex hull of the points in an azimuthal
    equidistant projection centred on (centre_lon, centre_lat)."""
    local = CRS.from_proj4(
        f"+proj=aeqd +lat_0={centre_lat} +lon_0={centre_lon} +datum=WGS84 +units=m"
    )
    to_local = Transformer.from_crs("EPSG:4326", local, always_xy=True)
    x, y = to_local.transform(lon, lat)
    return shapely.convex_hull(shapely.multipoints(np.column_stack([x, y]))), to_local, x, y


def cluster_hulls(lon, lat, labels, centre_lon, centre_lat):
    """Convex hull of each cluster as lon/lat geometry (k,), computed in metres.

    Each hull is taken in an azimuthal equidistant projection centred on the cluster's
    centroid (so clusters across the 180° meridian or at high latitude get a true
    hull), then mapped back to lon/lat and cut at the 180° meridian where it crosses it.
    Clusters of one or two distinct points give a Point or LineString; empty ones None.
    """
    import shapely.affinity  # noqa: F401  (used by _split_at_antimeridian)

    n_clusters = len(centre_lon)
    hulls = np.empty(n_clusters, dtype=object)
    for j, members in enumerate(_cluster_members(labels, n_clusters)):
        if members.size == 0:
            hulls[j] = None
            continue
        hull, to_local, _, _ = _local_hull(lon[members], lat[members], centre_lon[j],
                                           centre_lat[j])
        coords = shapely.get_coordinates(hull)
        hlon, hlat = to_local.transform(coords[:, 0], coords[:, 1], direction="INVERSE")
        hlon = centre_lon[j] + wrap_longitude(np.asarray(hlon) - centre_lon[j])
        hull = shapely.set_coordinates(hull, np.column_stack([hlon, hlat]))
        hulls[j] = _split_at_antimeridian(hull)
    return hulls


def hull_vertex_rows(lon, lat, labels, centre_lon, centre_lat):
    """Indices of the rows that are vertices of their cluster's hull (as ``cluster_hulls``
    takes it). The hulls of any set of rows containing these are the same, so hulls of
    partitioned data are those of the union of each partition's vertex rows."""
    rows = []
    for j, members in enumerate(_cluster_members(labels, len(centre_lon))):
        if members.size == 0:
            continue
        hull, _, x, y = _local_hull(lon[members], lat[members], centre_lon[j], centre_lat[j])
        on_hull = np.zeros(members.size, dtype=bool)
        for vx, vy in shapely.get_coordinates(hull):  # a few dozen vertices at most
            on_hull |= (x == vx) & (y == vy)
        rows.append(members[on_hull])
    return np.sort(np.concatenate(rows)) if rows else np.empty(0, dtype=np.int64)
