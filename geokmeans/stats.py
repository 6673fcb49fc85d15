"""Per-cluster statistics in metres (geodesic, WGS84) and spherical convex hulls."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from pyproj import Geod

from ._hull_geometry import HULL_STEP_DEG, hull_geometries
from ._hulls import HEMISPHERE_MARGIN_DEG, HullVertices
from .core._chunks import inertia_of_state
from .core._source import are_unit_weights

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
_A_M = 6378137.0                    # WGS84 semi-major axis
_F = 1 / 298.257223563              # WGS84 flattening
_E2 = _F * (2 - _F)                 # first eccentricity squared

#: Points whose chord is at most this long get the closed formula of
#: ``geodesic_distances_m`` (error below 2 mm); longer lines get Karney's algorithm.
SHORT_CHORD_M = 500_000.0
#: Rows per piece of work: the temporaries of a piece (32 KiB arrays) stay in the CPU's
#: caches and below glibc's threshold for a mapping of their own (128 KiB, fixed when
#: ``MALLOC_TRIM_THRESHOLD_`` is set, as Dask sets it for its workers): larger ones are
#: mapped and unmapped per array, which took 2-3 times the CPU time of the arithmetic.
CHUNK_POINTS = 4_096
#: Arrays at least this long are split over threads (numpy and pyproj release the GIL).
PARALLEL_MIN_POINTS = 200_000


def _threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _earth_centred(lon_rad, lat_rad):
    """WGS84 Earth-centred x, y, z (m) of points on the ellipsoid (height 0)."""
    sin_lat, cos_lat = np.sin(lat_rad), np.cos(lat_rad)
    prime_vertical = _A_M / np.sqrt(1.0 - _E2 * sin_lat * sin_lat)
    return (prime_vertical * cos_lat * np.cos(lon_rad), prime_vertical * cos_lat
            * np.sin(lon_rad), prime_vertical * (1.0 - _E2) * sin_lat)


def _short_geodesics_m(lon, lat, to_lon, to_lat):
    """The closed formula of ``geodesic_distances_m`` for matching (n,) arrays (degrees);
    meant for chords up to ``SHORT_CHORD_M``. Returns ``(distance m, chord m)``."""
    lon1, lat1, lon2, lat2 = (np.radians(a) for a in (lon, lat, to_lon, to_lat))
    x1, y1, z1 = _earth_centred(lon1, lat1)
    x2, y2, z2 = _earth_centred(lon2, lat2)
    dx, dy, dz = x2 - x1, y2 - y1, z2 - z1
    chord2 = dx * dx + dy * dy + dz * dz
    # the chord's east and north parts at the midpoint give the line's azimuth there
    mid_lat = 0.5 * (lat1 + lat2)
    mid_lon = lon1 + 0.5 * (np.remainder(lon2 - lon1 + np.pi, 2 * np.pi) - np.pi)
    sin_lat, cos_lat = np.sin(mid_lat), np.cos(mid_lat)
    sin_lon, cos_lon = np.sin(mid_lon), np.cos(mid_lon)
    east = cos_lon * dy - sin_lon * dx
    north = cos_lat * dz - sin_lat * (cos_lon * dx + sin_lon * dy)
    # Euler: the normal section's curvature 1/R = cos²(az)/M + sin²(az)/N
    w = 1.0 - _E2 * sin_lat * sin_lat
    inv_prime_vertical = np.sqrt(w) / _A_M
    inv_meridian = w * inv_prime_vertical / (1.0 - _E2)
    horizontal2 = east * east + north * north
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 for coincident points
        curvature = (north * north * inv_meridian + east * east * inv_prime_vertical) / horizontal2
    curvature = np.where(horizontal2 > 0, curvature, inv_prime_vertical)
    # the arc of a circle of radius R on the chord c: 2R asin(c / 2R), as its series in
    # x² = (c / 2R)²: c (1 + x²/6 + 3x⁴/40 + 5x⁶/112 + 35x⁸/1152)
    x2 = 0.25 * chord2 * curvature * curvature
    series = 1.0 + x2 * (1 / 6 + x2 * (3 / 40 + x2 * (5 / 112 + x2 * (35 / 1152))))
    chord = np.sqrt(chord2)
    return chord * series, chord


def _geodesics_m(lon, lat, to_lon, to_lat):
    """``geodesic_distances_m`` of one piece: the closed formula, Karney's algorithm for
    chords beyond ``SHORT_CHORD_M``."""
    distance, chord = _short_geodesics_m(lon, lat, to_lon, to_lat)
    long_lines = ~(chord <= SHORT_CHORD_M) & np.isfinite(chord)
    if long_lines.any():
        distance[long_lines] = GEOD.inv(lon[long_lines], lat[long_lines], to_lon[long_lines],
                                        to_lat[long_lines])[2]
    return distance


def geodesic_distances_m(lon, lat, to_lon, to_lat, labels=None):
    """Geodesic distance in metres on the WGS84 ellipsoid between matching (n,) arrays of
    lon/lat points (degrees).

    Lines whose chord is at most ``SHORT_CHORD_M`` (500 km) take a closed formula: the
    chord between the two points (exact, from their Earth-centred coordinates) made into
    the arc of a circle whose radius is the radius of curvature of the ellipsoid's normal
    section at the midpoint in the line's direction (Euler's theorem from the meridian
    and prime-vertical radii; e.g. R. H. Rapp, *Geometric Geodesy, Part I*, 1991,
    ch. 3). Against Karney's algorithm (pyproj's ``Geod.inv``) on a million random lines
    everywhere on Earth, poles and the 180° meridian included, its error is below 2 mm
    and 1e-8 of the distance (``tests/test_stats.py``). Longer lines take Karney's
    algorithm itself. Each distance is computed alone, in pieces of ``CHUNK_POINTS``
    rows, spread over threads for long arrays: the result does not depend on the split.
    NaN coordinates give NaN.

    With ``labels`` (n,) the targets ``to_lon``/``to_lat`` are (k,) arrays, one per
    label: the distance of each point to its label's target (gathered piece by piece).
    """
    columns = [np.ascontiguousarray(a, dtype=np.float64) for a in (lon, lat, to_lon, to_lat)]
    n = columns[0].shape[0]
    out = np.empty(n)
    starts = range(0, n, CHUNK_POINTS)

    def piece(start):
        stop = min(start + CHUNK_POINTS, n)
        if labels is None:
            out[start:stop] = _geodesics_m(*(c[start:stop] for c in columns))
        else:
            which = labels[start:stop]
            out[start:stop] = _geodesics_m(columns[0][start:stop], columns[1][start:stop],
                                           columns[2][which], columns[3][which])

    n_threads = min(_threads(), len(starts)) if n >= PARALLEL_MIN_POINTS else 1
    if n_threads <= 1:
        for start in starts:
            piece(start)
        return out
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(piece, starts))
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
    distances = geodesic_distances_m(lon, lat, centre_lon, centre_lat, labels=labels)
    np.maximum.at(maximum, labels, distances)
    farthest = None
    if with_farthest:
        farthest = np.full((k, d), np.nan)
        order = np.lexsort((distances, labels))  # by cluster, then distance: last is farthest
        last = np.searchsorted(labels[order], np.arange(k), side="right") - 1
        present = np.bincount(labels, minlength=k) > 0
        farthest[present] = chunk.X[order[last[present]]]
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    # weights of 1: the weight sums are the counts and the weighted distances the
    # distances, exactly, without arrays of n temporaries
    unit = are_unit_weights(w)
    partial = (counts, counts.copy() if unit else np.bincount(labels, weights=w, minlength=k),
               np.bincount(labels, weights=distances if unit else w * distances, minlength=k),
               maximum, inertia_of_state(chunk, state, centres), farthest)
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
