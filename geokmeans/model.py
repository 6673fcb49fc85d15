"""``GeoKMeans``: k-means on longitude/latitude, measured in metres anywhere on Earth."""

import numbers
import warnings

import geopandas as gpd
import numpy as np

from . import sources
from ._gps import warn_empty_box, warn_null_island
from ._memory import release_freed
from ._params import Estimator, check_fitted
from ._progress import RunProgress
from ._radius import final_stats, split_to_radius
from ._validation import (
    as_real_array,
    check_finite_rows,
    check_param,
    check_params,
    describe_value,
)
from .core import KMeans, nearest_centre
from .core._constrained import (
    constrained_run,
    constraints_for,
    unscaled_prices,
    warn_outside_sizes,
)
from .core._driver import best_of, lloyd, tolerance
from .core._estimator import (
    _unscaled_inertia,
    make_rng,
    resolve_algorithm,
    resolve_local_search,
    resolve_n_init,
)
from .core._plans import seed_centres
from .errors import DataTypeError, InputError
from .io import read_points
from .projection import longitude_extent, parse_crs, projection_for_extent, wrap_longitude
from .stats import cluster_table_from_sums

__all__ = ["GeoKMeans", "LonLatBox", "sample_bbox", "stable_order"]


def stable_order(sizes, centre_lon, centre_lat):
    """The clusters in their stable numbering: ``order[j]`` is the cluster numbered ``j``.

    Clusters are numbered by descending size (``sizes``: total weight, or count when
    unweighted), ties by centroid longitude, then latitude (both ascending): the numbers
    depend on the partition only, not on the seeding that found it.

    >>> stable_order([3.0, 5.0, 3.0], [10.0, 0.0, -20.0], [0.0, 0.0, 0.0]).tolist()
    [1, 2, 0]
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    return np.lexsort((np.asarray(centre_lat, dtype=np.float64),
                       np.asarray(centre_lon, dtype=np.float64), -sizes))


class LonLatBox:
    """A (west, south, east, north) box in degrees; ``west > east`` crosses the 180° meridian."""

    def __init__(self, west_lon_deg, south_lat_deg, east_lon_deg, north_lat_deg):
        values = dict(west_lon_deg=west_lon_deg, south_lat_deg=south_lat_deg,
                      east_lon_deg=east_lon_deg, north_lat_deg=north_lat_deg)
        for name, value in values.items():
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not np.isfinite(value)):
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
        """A user's box: a LonLatBox or four numbers; a box without width or height
        (``west == east`` or ``south == north``) is refused: it has no area to seed."""
        if isinstance(bbox, LonLatBox):
            return bbox
        try:
            west, south, east, north = bbox
        except (TypeError, ValueError):
            raise InputError(
                f"bbox={bbox!r} is not valid; expected (west, south, east, north) in degrees."
            ) from None
        box = cls(west, south, east, north)
        if box.west_lon_deg == box.east_lon_deg or box.south_lat_deg == box.north_lat_deg:
            raise InputError(
                f"bbox={tuple(bbox)!r} has no area (west == east or south == north); for all "
                "longitudes use west=-180, east=180."
            )
        return box

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


class GeoKMeans(Estimator):
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
        CRS raises ``CRSError``; a named CRS whose area of use (pyproj) the data exceed
        by more than 3° gives a ``GeoKMeansWarning``.
    n_init, local_search, max_iter, tol, random_state, algorithm, verbose
        As in ``geokmeans.KMeans`` (``local_search``: LocalSearch++ steps refining the
        k-means++ seeds, by default ``n_clusters``). ``n_init`` is at most 10,000;
        ``init="bbox"`` draws each run's seeds when the run starts. ``random_state``:
        None, an int in [0, 2**32 - 1], a Generator or a RandomState.
    lat, lon : str, default=None
        Coordinate column names for tables (exact; detected when omitted).
    dropna : bool, default=False
        Skip rows with missing coordinates (labelled -1) instead of raising. ``True``
        or ``False`` (a numpy bool too); strings and integers are refused.
    max_radius_m : float, default=None
        If given, ``n_clusters`` is a minimum: clusters whose farthest member is more than
        this many metres (geodesic) from the centroid are split until none is. The final
        number of clusters is ``n_clusters_``. At least 0.001 (1 mm, far above the
        projections' round-trip error).
    progress : bool or callable, default=False
        ``True`` shows a ``tqdm.auto`` bar (a widget in notebooks, stderr elsewhere) of
        the ``n_init`` restarts and, for a dask input, of each run's iterations; a
        callable ``progress(done, total)`` is called after each restart instead.
        Anything else (``"yes"``, ``1``) is refused.

    GPS checks, one ``GeoKMeansWarning`` each per fit: points at exactly lon 0, lat 0
    ("Null Island", failed fixes), counted; a ``bbox`` that holds none of the points
    with ``init="bbox"``. Exact duplicate coordinates are counted (``n_duplicates_``)
    and shown in a result's summary.

    Every parameter is checked (one table, ``geokmeans._validation.PARAMETERS``) when
    ``fit`` is called, before the data are read: ``DataTypeError`` for a value of the
    wrong type, ``InputError`` for one out of range, naming parameter and value.
    Weights are divided by a power of two before fitting (exactly, so the clustering is
    the same), so weights near the float64 limit give finite centroids; ``inertia_``
    and the centroids' ``weight`` are in the weights' own units, and a fit where they
    would overflow float64 raises ``InputError``.

    Clusters are numbered by descending total weight (count when unweighted), ties by
    centroid longitude then latitude, so the numbers depend on the partition only
    (``stable_order``). With explicit initial centres (``init`` an array: depots,
    per-centre size limits, ``fixed_centers``) cluster ``j`` is initial centre ``j``
    instead, unless ``max_radius_m`` split clusters (then all are numbered by the rule).

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
    n_null_island_ : int
        Points at exactly lon 0, lat 0 (warned about).
    n_duplicates_ : int or None
        Points repeating the exact (lon, lat) of an earlier point; None for a dask input
        (not counted: it would take a shuffle of every partition).

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
                 local_search="auto", max_iter=300, tol=1e-4, random_state=None, algorithm="auto",
                 lat=None, lon=None, dropna=False, max_radius_m=None, size_min=None,
                 size_max=None, size_by="count", fixed_centers=None, verbose=0,
                 progress=False):
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
        self.size_min = size_min
        self.size_max = size_max
        self.size_by = size_by
        self.fixed_centers = fixed_centers
        self.verbose = verbose
        self.progress = progress

    def _init_centres(self, init, n_clusters):
        centres = np.array(as_real_array(init, "init", "(lon, lat) numbers"), dtype=np.float64)
        if centres.shape != (n_clusters, 2):
            raise InputError(
                f"init array has shape {centres.shape}; expected (n_clusters, 2) = "
                f"({n_clusters}, 2) rows of (lon, lat)."
            )
        check_finite_rows(centres, "init")
        if (np.abs(centres[:, 0]) > 180).any() or (np.abs(centres[:, 1]) > 90).any():
            raise InputError("init centres must be (lon, lat) within [-180, 180] x [-90, 90].")
        return centres

    def _validated(self):
        """Every parameter checked (``PARAMETERS`` table and the shapes of ``init`` and
        ``bbox``, the CRS parsed) before any data are read; returns them as a dict, with
        ``init`` an array of (lon, lat) centres or a method name and ``bbox`` a
        ``LonLatBox`` or None."""
        params = check_params(self.get_params())
        if params["bbox"] is not None and not (isinstance(params["init"], str)
                                               and params["init"] == "bbox"):
            seeding = (f"init={params['init']!r}" if isinstance(params["init"], str)
                       else "explicit initial centres (init=array)")
            raise InputError(f"bbox={describe_value(params['bbox'])} is only used with "
                             f"init='bbox', and {seeding} does not read it; pass "
                             "init='bbox' to seed in the box, or leave bbox out.")
        if not isinstance(params["init"], str):
            params["init"] = self._init_centres(params["init"], params["n_clusters"])
        if params["bbox"] is not None:
            params["bbox"] = LonLatBox.from_value(params["bbox"])
        parse_crs(params["crs"])
        constraints_for(params, params["n_clusters"], None, params["size_by"] == "weight",
                        params["init"])  # shapes and signs; feasibility once the data are read
        return params

    def fit(self, data, y=None, sample_weight=None):
        """Cluster the points of ``data``.

        Parameters
        ----------
        data : GeoDataFrame, GeoSeries, DataFrame, path, or array-like (n, 2) of (lon, lat)
        y : ignored
        sample_weight : str, Series or array-like (n,), optional
            A weight column name, or one non-negative weight per row (an array by
            position, a Series aligned on the data's index).

        Returns
        -------
        self : GeoKMeans
        """
        params = self._validated()  # before reading anything
        check_param("sample_weight", sample_weight)
        if params["size_by"] == "weight" and sample_weight is None:
            constraints_for(params, params["n_clusters"], None, False, params["init"])
        points = sources.read(data, lat=params["lat"], lon=params["lon"],
                              weight=sample_weight, dropna=params["dropna"], params=params)
        return self._fit_points(points, params)

    def _fit_read(self, points, params=None):
        """Fit on an already-read ``io.PointData``; sets the fitted attributes."""
        params = self._validated() if params is None else params
        return self._fit_points(sources.MemoryPoints(points), params)

    def _fit_points(self, points, params):
        """Fit on ``points`` (``sources.read``): the same code for memory and Dask."""
        n_clusters = params["n_clusters"]
        if points.n_points < n_clusters:
            raise InputError(
                f"n_samples={points.n_points} should be >= n_clusters={n_clusters}: there "
                "are fewer points than clusters.")
        extent = points.extent()
        self._check_gps(points, params, extent)
        projection = projection_for_extent(params["crs"], *extent)
        # weights / 2**e with the largest in [1, 2): exact (the clustering is the same),
        # and no sum of weights times squared metres can overflow; totals are scaled back
        scale = points.weight_scale()
        source = points.project(projection, scale)
        sphere = projection.sphere_radius_m
        algorithm = resolve_algorithm(params["algorithm"], n_clusters)
        abs_tol = tolerance(source, params["tol"])
        rng = make_rng(params["random_state"])
        n_runs, seedings = self._seedings(params, source, projection, extent, rng)
        limits, run = self._constraints(params, source, points.weighted, scale, abs_tol,
                                        sphere, algorithm)
        release_freed()  # the checks' and the projection threads' temporaries
        centres, n_iter, _, prices = self._best_run(params, source, seedings, n_runs, abs_tol,
                                                    sphere, algorithm, run)
        release_freed()  # the runs' states and the kernels' temporaries
        self.size_prices_ = None if limits is None else unscaled_prices(prices, limits, scale)
        # by count with unequal weights a row's score is weight x d² + price: its cluster
        # depends on its weight, so no cells of the plane (territories) match the fit
        self._cells_match_ = limits is None or limits.by_weight or bool(
            np.ptp(source.rows()[1]) == 0)
        if params["max_radius_m"] is None:
            stats = final_stats(source, centres, projection)
        else:
            def rerun(start):
                return lloyd(source, start, params["max_iter"], abs_tol, sphere_radius=sphere,
                             algorithm=algorithm, state="best")

            centres, n_iter, stats = split_to_radius(source, centres, n_iter, projection,
                                                     params["max_radius_m"], rerun,
                                                     points.n_points, params["max_iter"])
        centre_lon, centre_lat, counts, weights, weighted, maximum, inertia, _ = stats
        table = cluster_table_from_sums(counts, weights, weighted, maximum)
        table["weight"] = table["weight"] * scale
        # clusters numbered by size (explicit initial centres keep their order)
        order = np.arange(len(centres))
        if isinstance(params["init"], str) or len(centres) != n_clusters:
            order = stable_order(table["weight" if points.weighted else "n_points"],
                                 centre_lon, centre_lat)
        table = table.iloc[order].reset_index(drop=True).assign(cluster=np.arange(len(order)))
        if self.size_prices_ is not None:
            self.size_prices_ = np.asarray(self.size_prices_)[order]
        if limits is not None:
            self._check_sizes(table, limits, scale)
        self._set_fitted(projection, centres[order], centre_lon[order], centre_lat[order],
                         table, _unscaled_inertia(inertia, scale), n_iter, points.n_dropped)
        self.labels_, self.distances_m_ = points.labels_and_distances(
            source, projection, centres, centre_lon, centre_lat,
            renumber=np.argsort(order).astype(np.int32))
        release_freed()
        return self

    def _best_run(self, params, source, seedings, n_runs, abs_tol, sphere, algorithm, run):
        """``best_of`` the ``n_runs`` seedings, with progress bars (log lines when verbose)
        closed however the runs end."""
        bars = RunProgress(params["progress"], n_runs, params["max_iter"], source.distributed,
                           KMeans._log_iteration if self.verbose else None)
        try:
            best = best_of(source, seedings, n_runs, params["max_iter"], abs_tol,
                           sphere_radius=sphere, algorithm=algorithm, callbacks=bars.callbacks,
                           run=run)
        except BaseException:
            bars.close(finished=False)
            raise
        bars.close()
        return best

    def _check_gps(self, points, params, extent):
        """The GPS checks of a fit, once (not per restart): warn about points at (0, 0)
        and about a seeding box that holds none of the points; count the duplicates."""
        self.n_null_island_ = points.n_null_island
        warn_null_island(self.n_null_island_, points.n_points, stacklevel=4)
        self.n_duplicates_ = points.count_duplicates()
        box, seeding = params["bbox"], params["init"]
        if (isinstance(seeding, str) and seeding == "bbox" and box is not None
                and points.count_in_box(box) == 0):
            warn_empty_box(box, points.n_points, extent, stacklevel=4)

    @staticmethod
    def _constraints(params, source, weighted, scale, abs_tol, sphere, algorithm):
        """``(limits or None, run)``: size limits (checked against the read data, in the
        weights' scaled units) and fixed centres, as a run function of ``best_of``."""
        if params["size_min"] is None and params["size_max"] is None and (
                params["fixed_centers"] is None):
            return None, None
        if source.distributed:  # refused before reading by distributed._check_params
            raise InputError("size limits and fixed centres need the points in memory.")
        weights = np.asarray(source.rows()[1], dtype=np.float64) * scale
        limits, fixed = constraints_for(params, params["n_clusters"], weights, weighted,
                                        params["init"])
        if limits is not None and limits.by_weight:
            limits = limits.scaled(scale)
        run = constrained_run(limits, fixed, params["max_iter"], abs_tol, sphere, algorithm)
        return limits, run

    @staticmethod
    def _check_sizes(table, limits, scale):
        """Add the limits to the centroid table (in the caller's units) and warn about
        clusters outside them (by weight: rounding split points)."""
        unscaled = limits.scaled(1 / scale) if limits.by_weight else limits
        table["size_min"] = unscaled.lower
        given = np.asarray(unscaled.given_upper, dtype=np.float64)
        table["size_max"] = np.where(given < np.inf, given, np.nan)  # NaN: no maximum
        sizes = table["weight" if limits.by_weight else "n_points"].to_numpy(dtype=np.float64)
        warn_outside_sizes(sizes, unscaled)

    def _seedings(self, params, source, projection, extent, rng):
        """``(n_runs, seedings)``: how many seedings ``n_init`` asks for, and an iterator
        drawing each (k, d) set of projected seeds when it is needed."""
        n_clusters, init = params["n_clusters"], params["init"]
        n_runs = resolve_n_init(params["n_init"], init)
        local_steps = resolve_local_search(params["local_search"], init, n_clusters)
        if not isinstance(init, str):
            if n_runs != 1:  # as KMeans does
                warnings.warn(f"Explicit initial centres given: n_init={params['n_init']} "
                              "ignored, 1 run done.", RuntimeWarning, stacklevel=4)
            n_runs = 1

            def draw():
                return projection.forward(init[:, 0], init[:, 1])
        elif init == "bbox":
            west, width, lat_min, lat_max = extent
            box = params["bbox"] or LonLatBox(west, lat_min, float(wrap_longitude(west + width)),
                                              lat_max)

            def draw():
                return projection.forward(*sample_bbox(box, n_clusters, rng))
        else:
            def draw():
                return init
        return n_runs, (seed_centres(source, draw(), n_clusters, rng, local_steps=local_steps,
                                     sphere_radius=projection.sphere_radius_m)
                        for _ in range(n_runs))

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

    def predict(self, data):
        """Nearest centroid (in the fitted projection) of each point of ``data``.

        Every row needs coordinates (``dropna`` applies to fitting only).
        """
        check_fitted(self, "cluster_centers_")
        if sources.is_lazy(data):
            raise DataTypeError("predict takes points in memory: compute() the dask collection "
                                "first (a fitted dask input's labels are in labels_).")
        points = read_points(data, lat=self.lat, lon=self.lon, keep_frame=False,
                             purpose="predict")
        return nearest_centre(self.projection_.forward(points.lon, points.lat),
                              self.cluster_centers_m_)

    def fit_predict(self, data, y=None, sample_weight=None):
        """Fit, then return ``labels_``."""
        return self.fit(data, sample_weight=sample_weight).labels_
