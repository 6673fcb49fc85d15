"""``GeoKMeans``: k-means on longitude/latitude, measured in metres anywhere on Earth."""

import numbers

import geopandas as gpd
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import check_choice, check_finite_rows, check_int, check_positive_float
from .core import KMeans, nearest_centre
from .core._estimator import INIT_METHODS, log_restart, make_rng, resolve_n_init
from .errors import InputError
from .io import read_points
from .projection import choose_projection, longitude_extent, wrap_longitude
from .stats import cluster_table, geodesic_distances_m

__all__ = ["GeoKMeans", "LonLatBox", "sample_bbox"]


class LonLatBox:
    """A (west, south, east, north) box in degrees; ``west > east`` crosses the 180° meridian."""

    def __init__(self, west_lon_deg, south_lat_deg, east_lon_deg, north_lat_deg):
        values = dict(west_lon_deg=west_lon_deg, south_lat_deg=south_lat_deg,
                      east_lon_deg=east_lon_deg, north_lat_deg=north_lat_deg)
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
                raise InputError(f"bbox {name}={value!r} should be a finite number of degrees.")
        for name in ("west_lon_deg", "east_lon_deg"):
            if not -180 <= values[name] <= 180:
                raise InputError(f"bbox {name}={values[name]} should be within [-180, 180].")
        for name in ("south_lat_deg", "north_lat_deg"):
            if not -90 <= values[name] <= 90:
                raise InputError(f"bbox {name}={values[name]} should be within [-90, 90].")
        if south_lat_deg > north_lat_deg:
            raise InputError(
                f"bbox south_lat_deg={south_lat_deg} is north of north_lat_deg={north_lat_deg}."
            )
        self.west_lon_deg = float(west_lon_deg)
        self.south_lat_deg = float(south_lat_deg)
        self.east_lon_deg = float(east_lon_deg)
        self.north_lat_deg = float(north_lat_deg)

    @classmethod
    def from_value(cls, bbox):
        if isinstance(bbox, LonLatBox):
            return bbox
        try:
            west, south, east, north = bbox
        except (TypeError, ValueError):
            raise InputError(
                f"bbox={bbox!r} is not valid; expected (west, south, east, north) in degrees."
            ) from None
        return cls(west, south, east, north)

    @classmethod
    def of_points(cls, lon, lat):
        """The smallest box holding the points (antimeridian-aware)."""
        west, east, _ = longitude_extent(lon)
        return cls(west, float(np.min(lat)), east, float(np.max(lat)))

    @property
    def width_deg(self):
        return (self.east_lon_deg - self.west_lon_deg) % 360.0 or (
            360.0 if self.east_lon_deg != self.west_lon_deg else 0.0)


def sample_bbox(box, n, rng):
    """``n`` points uniform over the box's area on the Earth: ``(lon, lat)`` arrays.

    Longitude is uniform; ``sin(lat)`` is uniform, so equal areas (on the sphere) get
    equal numbers of seeds and a box at 70°N is not crowded at its northern edge.
    """
    lon = wrap_longitude(box.west_lon_deg + rng.uniform(size=n) * box.width_deg)
    lo, hi = np.sin(np.radians([box.south_lat_deg, box.north_lat_deg]))
    lat = np.degrees(np.arcsin(rng.uniform(lo, hi, size=n)))
    return lon, lat


class GeoKMeans(ClusterMixin, BaseEstimator):
    """k-means of longitude/latitude points with distances in metres.

    Points are projected so that Euclidean distance is distance on the Earth: a UTM
    zone for local data, Earth-centred 3-D coordinates (``"sphere"``) for data that
    span zones, the 180° meridian or a pole, or a projected CRS you name. Centroids come
    back as lon/lat.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "bbox", "random"} or array-like of shape (n_clusters, 2)
        Seeding; an array gives initial centres as (lon, lat) rows. ``"bbox"`` draws
        centres uniformly over the area of ``bbox`` on the Earth.
    bbox : (west, south, east, north) in degrees, default=None
        Box for ``init="bbox"``; default the data's extent. ``west > east`` crosses the
        180° meridian.
    crs : "auto", "sphere" or a projected CRS (``"EPSG:32618"``, pyproj.CRS, ...)
        ``"auto"``: a UTM zone when every point lies within 4° of longitude of its
        central meridian and within latitudes -80..84, else ``"sphere"``. A geographic
        CRS raises ``CRSError``.
    n_init, local_search, max_iter, tol, random_state, algorithm, verbose
        As in ``geokmeans.KMeans`` (``local_search``: LocalSearch++ steps refining the
        k-means++ seeds, by default ``n_clusters``).
    lat, lon : str, default=None
        Coordinate column names for tables (detected when omitted).
    dropna : bool, default=False
        Skip rows with missing coordinates (labelled -1) instead of raising.
    max_radius_m : float, default=None
        If given, ``n_clusters`` is a minimum: clusters whose farthest member is more than
        this many metres (geodesic) from the centroid are split until none is. The final
        number of clusters is ``n_clusters_``.

    Attributes
    ----------
    labels_ : ndarray (n_rows,) int32, -1 for skipped rows
    cluster_centers_ : ndarray (n_clusters, 2) of (lon, lat), lon in [-180, 180)
    centroids_ : GeoDataFrame (EPSG:4326)
        ``cluster, n_points, weight, mean_distance_m, max_distance_m`` and Point geometry.
    distances_m_ : ndarray (n_rows,)
        Geodesic distance of each row to its centroid (NaN for skipped rows).
    inertia_ : float
        Weighted sum of squared projected distances, m².
    cluster_centers_m_ : ndarray (n_clusters, 2 or 3)
        The centres in the projection's metres.
    crs_ : str
        ``"sphere"`` or ``"EPSG:n"``: the projection used.
    projection_ : geokmeans.projection.Projection
    n_iter_ : int
    n_dropped_ : int
    n_clusters_ : int
        Number of clusters found (``n_clusters`` unless ``max_radius_m`` split some).

    Examples
    --------
    >>> import numpy as np, geokmeans as gk
    >>> lonlat = np.array([[-77.03, 38.90], [-77.02, 38.91], [-76.90, 38.80], [-76.91, 38.81]])
    >>> model = gk.GeoKMeans(2, random_state=0).fit(lonlat)
    >>> model.crs_
    'EPSG:32618'
    >>> sorted(np.bincount(model.labels_).tolist())
    [2, 2]
    """

    def __init__(self, n_clusters=8, *, init="k-means++", bbox=None, crs="auto", n_init="auto",
                 local_search="auto", max_iter=300, tol=1e-4, random_state=None, algorithm="auto", lat=None, lon=None,
                 dropna=False, max_radius_m=None, verbose=0):
        self.n_clusters = n_clusters
        self.init = init
        self.bbox = bbox
        self.crs = crs
        self.n_init = n_init
        self.local_search = local_search
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm
        self.lat = lat
        self.lon = lon
        self.dropna = dropna
        self.max_radius_m = max_radius_m
        self.verbose = verbose

    def _core(self, init, n_init, rng, projection, n_clusters=None, tol=None):
        return KMeans(self.n_clusters if n_clusters is None else n_clusters, init=init,
                      n_init=n_init, local_search=self.local_search, max_iter=self.max_iter,
                      tol=self.tol if tol is None else tol, random_state=rng, algorithm=self.algorithm,
                      sphere_radius=projection.sphere_radius_m, verbose=self.verbose)

    def _init_centres(self, n_clusters):
        try:
            centres = np.array(self.init, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("init array must be numeric (lon, lat) rows.") from None
        if centres.shape != (n_clusters, 2):
            raise InputError(
                f"init array has shape {centres.shape}; expected (n_clusters, 2) = "
                f"({n_clusters}, 2) rows of (lon, lat)."
            )
        check_finite_rows(centres, "init")
        if (np.abs(centres[:, 0]) > 180).any() or (np.abs(centres[:, 1]) > 90).any():
            raise InputError("init centres must be (lon, lat) within [-180, 180] x [-90, 90].")
        return centres

    def _fit_points(self, points, rng):
        """Project, fit the core model and return it with the projection."""
        n_clusters = check_int("n_clusters", self.n_clusters, minimum=1)
        projection = choose_projection(points.lon, points.lat, self.crs)
        X = projection.forward(points.lon, points.lat)
        if isinstance(self.init, str):
            check_choice("init", self.init, INIT_METHODS, "an array of (lon, lat) centres")
        if isinstance(self.init, str) and self.init != "bbox":
            core = self._core(self.init, self.n_init, rng, projection)
            return core.fit(X, sample_weight=points.weights), projection
        if not isinstance(self.init, str):
            centres = self._init_centres(n_clusters)
            seeds = [projection.forward(centres[:, 0], centres[:, 1])]
        else:
            box = (LonLatBox.of_points(points.lon, points.lat) if self.bbox is None
                   else LonLatBox.from_value(self.bbox))
            n_init = resolve_n_init(self.n_init, "bbox")
            seeds = [projection.forward(*sample_bbox(box, n_clusters, rng)) for _ in range(n_init)]
        best = None
        for run, seed_centres in enumerate(seeds):
            core = self._core(seed_centres, 1, rng, projection)
            core.fit(X, sample_weight=points.weights)
            if best is None or core.inertia_ < best.inertia_:
                best = core
            log_restart(run + 1, len(seeds), core.inertia_)
        return best, projection

    def fit(self, data, y=None, sample_weight=None):
        """Cluster the points of ``data``.

        Parameters
        ----------
        data : GeoDataFrame, GeoSeries, DataFrame, path, or array-like (n, 2) of (lon, lat)
        y : ignored
        sample_weight : str or array-like (n,), optional
            A weight column name, or one non-negative weight per row.

        Returns
        -------
        self : GeoKMeans
        """
        from .distributed import is_dask_collection

        if is_dask_collection(data):
            from .distributed import fit_dask

            return fit_dask(self, data, sample_weight)
        points = read_points(data, lat=self.lat, lon=self.lon, weight=sample_weight,
                             dropna=self.dropna, keep_frame=False)
        self._fit_read(points)
        return self

    def _fit_read(self, points):
        """Fit on an already-read ``PointData``; sets the fitted attributes."""
        n_clusters = check_int("n_clusters", self.n_clusters, minimum=1)
        if len(points.lon) < n_clusters:
            raise InputError(
                f"n_samples={len(points.lon)} should be >= n_clusters={n_clusters}: there are "
                f"fewer points than clusters."
            )
        max_radius_m = (None if self.max_radius_m is None else
                        check_positive_float("max_radius_m", self.max_radius_m, allow_zero=False))
        rng = make_rng(self.random_state)
        core, projection = self._fit_points(points, rng)
        if max_radius_m is not None:
            core = self._split_to_radius(points, core, projection, max_radius_m, rng)
        centre_lon, centre_lat = projection.inverse(core.cluster_centers_)
        weights = points.weights if points.weights is not None else np.ones(len(points.lon))
        labels = core.labels_
        distances = geodesic_distances_m(points.lon, points.lat, centre_lon[labels],
                                         centre_lat[labels])
        table = cluster_table(labels, weights, distances, core.cluster_centers_.shape[0])
        self._set_fitted(projection, core.cluster_centers_, centre_lon, centre_lat, table,
                         core.inertia_, core.n_iter_, points.n_dropped)
        self.labels_ = np.full(len(points.valid), -1, dtype=np.int32)
        self.labels_[points.valid] = labels
        self.distances_m_ = np.full(len(points.valid), np.nan)
        self.distances_m_[points.valid] = distances
        return self

    def _set_fitted(self, projection, centres, centre_lon, centre_lat, table, inertia, n_iter,
                    n_dropped):
        """Set the attributes every fit shares (in memory or on dask)."""
        self.cluster_centers_m_ = np.asarray(centres, dtype=np.float64)
        self.projection_ = projection
        self.crs_ = projection.name
        self.cluster_centers_ = np.column_stack([centre_lon, centre_lat])
        self.centroids_ = gpd.GeoDataFrame(
            table, geometry=gpd.points_from_xy(centre_lon, centre_lat), crs="EPSG:4326"
        )
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        self.n_dropped_ = int(n_dropped)
        self.n_clusters_ = len(centres)

    def _split_to_radius(self, points, core, projection, max_radius_m, rng):
        """Split clusters until every member is within ``max_radius_m`` of its centroid.

        Each round splits every cluster whose farthest member (geodesic) is beyond the
        radius in two (2-means of its members, started from the centroid and that
        farthest member), then reruns Lloyd on all points from the enlarged set of
        centres. k grows every round and cannot exceed the number of distinct points, so
        this ends. The Dask back end splits the same way.
        """
        X = projection.forward(points.lon, points.lat)
        for _ in range(len(points.lon)):
            lon, lat = projection.inverse(core.cluster_centers_)
            labels = core.labels_
            dist = geodesic_distances_m(points.lon, points.lat, lon[labels], lat[labels])
            worst = np.full(len(lon), 0.0)
            np.maximum.at(worst, labels, dist)
            too_wide = np.flatnonzero(worst > max_radius_m)
            if too_wide.size == 0:
                return core
            centres = [c for j, c in enumerate(core.cluster_centers_) if j not in set(too_wide)]
            for j in too_wide:
                members = np.flatnonzero(labels == j)
                w = None if points.weights is None else points.weights[members]
                farthest = X[members[np.argmax(dist[members])]]
                start = np.stack([core.cluster_centers_[j], farthest])
                # run to a fixed point (no tolerance), as the Dask back end does
                halves = self._core(start, 1, rng, projection, n_clusters=2, tol=0.0)
                centres.extend(halves.fit(X[members], sample_weight=w).cluster_centers_)
            centres = np.unique(np.asarray(centres), axis=0)
            core = self._core(centres, 1, rng, projection, n_clusters=len(centres))
            core.fit(X, sample_weight=points.weights)
        return core  # pragma: no cover - every point its own cluster ends the loop earlier

    def predict(self, data):
        """Nearest centroid (in the fitted projection) of each point of ``data``."""
        check_is_fitted(self)
        points = read_points(data, lat=self.lat, lon=self.lon, keep_frame=False)
        return nearest_centre(self.projection_.forward(points.lon, points.lat),
                              self.cluster_centers_m_)

    def fit_predict(self, data, y=None, sample_weight=None):
        """Fit, then return ``labels_``."""
        return self.fit(data, sample_weight=sample_weight).labels_
