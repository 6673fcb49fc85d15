"""What a map shows and where: a per-cluster sample of the points (all of them up to
``max_points``), the view's bounds and longitudes across the 180° meridian, each point and
hull drawn beside its centroid."""

from dataclasses import dataclass

import numpy as np

from .io import geometry_points
from .projection import longitude_extent, wrap_longitude

__all__ = ["DEFAULT_MAX_POINTS", "View", "beside_centroid", "cluster_quota", "display_geometry",
           "map_view", "points_of", "sample_rows"]

DEFAULT_MAX_POINTS = 20_000


_MIN_PER_CLUSTER = 50


def cluster_quota(sizes, max_points):
    """Points to draw per cluster (k,) for cluster sizes (k,): all when they fit in
    ``max_points``, else ``min(size, 50)`` each plus a share of the rest in proportion."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.sum() <= max_points:
        return sizes
    floor = np.minimum(sizes, _MIN_PER_CLUSTER)
    spare = max(max_points - floor.sum(), 0)
    extra = np.floor((sizes - floor) * spare / max((sizes - floor).sum(), 1)).astype(int)
    return np.minimum(floor + extra, sizes)


def sample_rows(labels, n_clusters, max_points, rng):
    """Row indices to draw: all if they fit, else a per-cluster sample (sorted)."""
    n = labels.size
    if n <= max_points:
        return np.arange(n)
    sizes = np.bincount(labels, minlength=n_clusters)
    quota = cluster_quota(sizes, max_points)
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    chosen = [rng.choice(order[bounds[j]:bounds[j + 1]], quota[j], replace=False)
              for j in range(n_clusters) if quota[j]]
    return np.sort(np.concatenate(chosen))


def _unwrapper(lons, *more):
    """A function mapping longitudes so data across the 180° meridian are contiguous (of
    ``lons`` and the ``more`` arrays taken as one)."""
    west, east, width = longitude_extent(lons, *more)
    if west <= east:
        return (lambda lon: np.asarray(lon, dtype=np.float64)), (west, west + width)
    return (lambda lon: np.where(np.asarray(lon) < west, np.asarray(lon) + 360.0, lon)), (
        west, west + width)


def beside_centroid(lon, labels, centre_lon, unwrap):
    """Display longitudes: each point within 180° of its centroid's display longitude,
    so every cluster is drawn in one piece even where the view is cut."""
    shown_centres = unwrap(centre_lon)
    return shown_centres[labels] + wrap_longitude(lon - centre_lon[labels])


def points_of(result, max_points, random_state):
    """The points to draw from, their labels and the number of points clustered (None:
    those labelled). Of a dask result, a per-cluster sample computed on the cluster."""
    if not result.is_dask:
        return result.points, result._fitted.labels_, None
    from .sources import lazy_sample

    points = lazy_sample(result, cluster_quota(result.centroids.n_points, max_points),
                         random_state)
    return points, points[result.label_column].to_numpy(), int(result.centroids.n_points.sum())


@dataclass
class View:
    """What a map shows of the points and where.

    ``lon``/``lat``/``labels`` are those of the points with a cluster; ``rows`` the sample
    of them drawn, ``point_rows`` the same rows as positions in the points. ``unwrap``
    maps longitudes so that data across the 180° meridian are contiguous; ``bounds`` are
    ``[[south, west], [north, east]]``.
    """

    point_rows: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    labels: np.ndarray
    rows: np.ndarray
    centre_lon: np.ndarray
    unwrap: object
    bounds: list
    n_points: int


def map_view(points, labels, n_points, centroids, max_points, rng):
    """The ``View`` of ``points`` labelled ``labels`` (``n_points`` clustered, None: the
    labelled ones), a sample of each cluster drawn with ``rng`` beyond ``max_points``.
    When every point has a cluster, the points' own coordinate arrays are read, not
    copies (a map of a million points holds only its sample's)."""
    labelled = labels >= 0
    kept = None if labelled.all() else np.flatnonzero(labelled)
    del labelled
    geometry = points.geometry if kept is None else points.geometry.iloc[kept]
    lon, lat = geometry_points(geometry)  # a polygon's representative point
    kept_labels = labels if kept is None else labels[kept]
    rows = sample_rows(kept_labels, len(centroids), max_points, rng)
    centre_lon = centroids.geometry.x.to_numpy()
    centre_lat = centroids.geometry.y.to_numpy()
    unwrap, (west, east) = _unwrapper(lon, centre_lon)
    bounds = [[float(min(lat.min(), centre_lat.min())), west],
              [float(max(lat.max(), centre_lat.max())), east]]
    return View(rows if kept is None else kept[rows], lon, lat, kept_labels, rows, centre_lon,
                unwrap, bounds, kept_labels.size if n_points is None else n_points)


def display_geometry(geom, centre_lon, display_centre_lon):
    """A hull placed beside its centroid on the map.

    Longitudes are made continuous around the centroid (rejoining pieces cut at the 180°
    meridian), then the whole geometry moves with the centroid's display longitude, so a
    polygon is never torn across the map. A hull around a pole (or the whole globe)
    spans every longitude: it is cut 180° from the centroid instead, and its two pieces
    joined into one polygon there.
    """
    import shapely

    shift = display_centre_lon - centre_lon
    west, _, east, _ = geom.bounds
    if east - west >= 360.0 - 1e-9:
        cut = centre_lon - 180.0
        pieces = []
        for turn in (-360.0, 0.0, 360.0):
            piece = shapely.intersection(geom, shapely.box(cut - turn, -90.0, cut + 360.0 - turn,
                                                           90.0))
            pieces += [shapely.transform(part, lambda xy, t=turn: xy + [t + shift, 0.0])
                       for part in shapely.get_parts(piece) if shapely.get_dimensions(part) == 2]
        return shapely.union_all(pieces)

    def place(xy):
        lon = centre_lon + wrap_longitude(xy[:, 0] - centre_lon)
        return np.column_stack([lon + shift, xy[:, 1]])

    return shapely.transform(geom, place)
