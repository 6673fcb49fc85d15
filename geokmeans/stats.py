"""Per-cluster statistics in metres (geodesic, WGS84) and spherical convex hulls."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from pyproj import Geod

from ._hull_geometry import HULL_STEP_DEG, hull_geometries
from ._hulls import HEMISPHERE_MARGIN_DEG, HullVertices
from .core._chunks import inertia_of_state

__all__ = [
    "GEOD",
    "HEMISPHERE_MARGIN_DEG",
    "HULL_STEP_DEG",
    "cluster_hulls",
    "cluster_partials",
    "combine_cluster_partials",
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


def cluster_partials(chunk, state, centres, centre_lon, centre_lat, with_farthest, projection,
                     keep_distances):
    """Per-cluster sums of one chunk of a source, against the labels its ``state``
    holds: ``(distances (n,), (counts, weights, weighted distances, maximum distance,
    inertia, farthest rows))`` with geodesic distances in metres to the labelled centre
    (``centre_lon``/``centre_lat``, degrees). ``farthest`` (k, d) holds the projected
    coordinates of each cluster's farthest row (NaN where none; None unless
    ``with_farthest``). The distances are the chunk's new state when ``keep_distances``
    (else None). A chunk without ``lon``/``lat`` (kept on Dask workers: projected rows
    only, to save memory) gets them from ``projection.inverse``."""
    labels = state[0]
    k, d = len(centre_lon), centres.shape[1]
    maximum = np.full(k, -np.inf)
    if len(chunk) == 0:
        farthest = np.full((k, d), np.nan) if with_farthest else None
        return np.empty(0), (np.zeros(k), np.zeros(k), np.zeros(k), maximum, 0.0, farthest)
    w = np.asarray(chunk.weights, dtype=np.float64)
    lon, lat = (chunk.lon, chunk.lat) if chunk.lon is not None else projection.inverse(chunk.X)
    distances = geodesic_distances_m(lon, lat, centre_lon[labels],
                                     centre_lat[labels])
    np.maximum.at(maximum, labels, distances)
    farthest = None
    if with_farthest:
        farthest = np.full((k, d), np.nan)
        order = np.lexsort((distances, labels))  # by cluster, then distance: last is farthest
        last = np.searchsorted(labels[order], np.arange(k), side="right") - 1
        present = np.bincount(labels, minlength=k) > 0
        farthest[present] = chunk.X[order[last[present]]]
    partial = (np.bincount(labels, minlength=k).astype(np.float64),
               np.bincount(labels, weights=w, minlength=k),
               np.bincount(labels, weights=w * distances, minlength=k), maximum,
               inertia_of_state(chunk, state, centres), farthest)
    return (distances if keep_distances else None), partial


def combine_cluster_partials(partials):
    """``cluster_partials`` of every chunk added up: ``(counts, weights, weighted
    distances, maximum distance, inertia, farthest rows or None)``."""
    counts, weights, weighted, inertia = (sum(p[i] for p in partials) for i in (0, 1, 2, 4))
    maxima = np.array([p[3] for p in partials])
    farthest = None
    if partials[0][5] is not None:
        winner = np.argmax(maxima, axis=0)
        farthest = np.array([partials[c][5][j] for j, c in enumerate(winner)])
    return counts, weights, weighted, maxima.max(axis=0), float(inertia), farthest


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


def cluster_hulls(lon, lat, labels, centre_lon, centre_lat):
    """Spherical convex hull of each cluster as lon/lat geometry (k,).

    The hull is the smallest region bounded by great-circle arcs holding every point of
    the cluster. It is found as the planar hull in a gnomonic projection centred on the
    cluster (great circles are straight lines there), for clusters within less than 90°
    of a centre; longitudes run continuously around the cluster, then the geometry is
    cut at the 180° meridian.

    Parameters
    ----------
    lon, lat : (n,) float arrays
        Points in degrees (WGS84).
    labels : (n,) int array
        Cluster of each point, in ``0 .. k - 1``.
    centre_lon, centre_lat : (k,) float arrays
        Each cluster's centre, where its projection is centred (when a point is 90° or
        more from it, a centre is found from the cluster's points instead).

    Returns
    -------
    (k,) object array of shapely geometries
        A valid Polygon, or MultiPolygon when cut at the 180° meridian, exterior
        counter-clockwise (RFC 7946). Its edges follow the great-circle arcs between
        the hull's vertices (which are input points): sampled at least every
        ``HULL_STEP_DEG``, with a point added wherever an arc bows out of the straight
        lon/lat segment between two samples (where the arc's tangents meet), so that the
        lon/lat polygon contains the whole spherical hull and so every point of the
        cluster. A hull around a pole runs along latitude ±90 over the full 360°. One
        distinct point gives a Point; points on one great circle a LineString along it
        (also cut at the 180° meridian); an empty cluster None. A cluster that fits in
        no hemisphere (no point within 90° - ``HEMISPHERE_MARGIN_DEG`` of all its
        points), whose spherical convex hull is the whole sphere, gets the whole globe
        ``POLYGON ((-180 -90, 180 -90, 180 90, -180 90, -180 -90))`` and a
        ``GeoKMeansWarning`` naming it.

    Examples
    --------
    >>> hulls = cluster_hulls([179.0, -179.0, 179.5, 10.0], [-17.0, -17.5, -18.0, 0.0],
    ...                       [0, 0, 0, 1], [179.8, 10.0], [-17.5, 0.0])
    >>> [(h.geom_type, h.is_valid) for h in hulls]
    [('MultiPolygon', True), ('Point', True)]
    """
    return hull_geometries(HullVertices(lon, lat, labels, centre_lon, centre_lat))


def hull_vertex_rows(lon, lat, labels, centre_lon, centre_lat):
    """Indices (sorted) of the rows on their cluster's hull as ``cluster_hulls`` finds it:
    every row at a vertex of the planar hull in the cluster's gnomonic projection and,
    for a cluster in no hemisphere, a few rows that already fit in none.

    The hulls of any set of rows holding these are the same, so hulls of partitioned
    data are those of the union of each partition's vertex rows.
    """
    found = HullVertices(lon, lat, labels, centre_lon, centre_lat)
    return np.sort(found.order[found.on_hull])
