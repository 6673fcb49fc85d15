"""``cluster()`` and ``ClusterResult``: labelled points, centroids and their exports."""

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from . import io
from ._validation import check_param
from .errors import DataTypeError, GeoKMeansWarning, InputError
from .model import GeoKMeans
from .stats import cluster_hulls

__all__ = ["ClusterResult", "cluster"]

_WHICH = ("points", "centroids", "hulls", "both", "all")


@dataclass
class ClusterResult:
    """The outcome of ``geokmeans.cluster``.

    Attributes
    ----------
    points : GeoDataFrame
        The input rows (columns and geometry kept) plus ``cluster`` (-1 for skipped
        rows) and ``distance_m``, the geodesic distance to the cluster's centroid.
    centroids : GeoDataFrame (EPSG:4326)
        ``cluster, n_points, weight, mean_distance_m, max_distance_m``, Point geometry.
    model : GeoKMeans
        The fitted estimator (``crs_``, ``inertia_``, ``predict`` ...).
    source : path or None
        The input file, never overwritten by the writers.
    """

    points: gpd.GeoDataFrame
    centroids: gpd.GeoDataFrame
    model: GeoKMeans
    source: Path | None = field(default=None, repr=False)

    @functools.cached_property
    def hulls(self):
        """Convex hull of each cluster (lon/lat polygons, cut at the 180° meridian).

        For a result of a dask input they are computed on the cluster; each partition
        sends only the points on its clusters' hulls.
        """
        table = self.centroids.drop(columns="geometry")
        if self.is_dask:
            from .distributed import hulls_of

            return gpd.GeoDataFrame(table, geometry=list(hulls_of(self)), crs="EPSG:4326")
        valid = self.model.labels_ >= 0
        lonlat = self.points.geometry[valid]
        if self.points.crs is not None and not self.points.crs.equals("EPSG:4326"):
            lonlat = lonlat.to_crs(4326)
        geoms = cluster_hulls(lonlat.x.to_numpy(), lonlat.y.to_numpy(),
                              self.model.labels_[valid], self.model.cluster_centers_[:, 0],
                              self.model.cluster_centers_[:, 1])
        return gpd.GeoDataFrame(table, geometry=list(geoms), crs="EPSG:4326")

    @property
    def metadata(self):
        """Facts about the run stored with every export."""
        from . import __version__

        return {
            "crs_used": self.model.crs_,
            "n_clusters": int(len(self.centroids)),
            "n_points": int(self.centroids.n_points.sum()),
            "inertia_m2": self.model.inertia_,
            "n_iter": int(self.model.n_iter_),
            "geokmeans_version": __version__,
        }

    def _layers(self, which):
        if which not in _WHICH:
            raise InputError(f"which={which!r} is not valid; choose one of {', '.join(map(repr, _WHICH))}.")
        layers = {"points": self.points, "centroids": self.centroids}
        if which in ("hulls", "all"):
            layers["hulls"] = self.hulls
        if which in ("points", "centroids", "hulls"):
            return {which: layers[which]}
        return layers

    def to_geojson(self, path, *, which="both"):
        """Write an RFC 7946 GeoJSON FeatureCollection (lon/lat WGS84, 1e-7° precision).

        ``which``: "points", "centroids", "hulls", "both" (points and centroids) or "all".
        Each feature's ``kind`` property says which layer it belongs to; run facts are in
        the ``geokmeans`` member. The write is atomic and never replaces the input file.
        """
        io.write_geojson(path, self._layers(which), self.metadata, protected=[self.source])

    def to_file(self, path, *, which="both"):
        """Write by extension: .geojson/.json, .gpkg (a layer each), .parquet, .csv.

        GeoParquet holds the chosen layers in one table with a ``kind`` column; CSV holds
        one layer (``which`` "points" or "centroids"; "both" writes the points) with
        lon/lat columns.
        """
        suffix = Path(path).suffix.lower()
        protected = [self.source]
        if self.is_dask and suffix != ".parquet":
            raise InputError("results of dask inputs are written as partitioned Parquet "
                             "(a path ending in .parquet).")
        if suffix in (".geojson", ".json"):
            return self.to_geojson(path, which=which)
        if suffix == ".gpkg":
            return io.write_gpkg(path, self._layers(which), self.metadata, protected)
        if suffix in (".parquet", ".geoparquet"):
            return io.write_parquet(path, self._layers(which), self.metadata, protected)
        if suffix == ".csv":
            layer = "points" if which in ("both", "all") else which
            return io.write_csv(path, self._layers(layer)[layer], protected)
        raise InputError(
            f"output '{path}' has an unknown extension {suffix!r}; use .geojson, .gpkg, "
            ".parquet or .csv."
        )

    def explore(self, **map_options):
        """A folium map of the clustering; see ``geokmeans.maps.explore`` for options."""
        from .maps import explore

        return explore(self, **map_options)

    def to_parquet(self, path, *, which="both"):
        """Write GeoParquet (see ``to_file``).

        For a result of a dask input, ``which="points"`` writes the labelled points as a
        partitioned (Geo)Parquet directory, one file per partition, computed on the
        cluster; the directory appears only once complete.
        """
        if self.is_dask:
            if which != "points":
                raise InputError("for dask results write the points (which='points'); the "
                                 "centroids are in memory: result.centroids.to_parquet(...).")
            from .distributed import write_partitioned

            return write_partitioned(self.points, path)
        io.write_parquet(path, self._layers(which), self.metadata, protected=[self.source])

    @property
    def is_dask(self):
        """True when ``points`` is a lazy dask collection (the input was one)."""
        return not isinstance(self.points, gpd.GeoDataFrame)


def cluster(data, n_clusters, *, sample_weight=None, weight=None, lat=None, lon=None,
            **options):
    """Cluster lon/lat points in one call.

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, DataFrame, path or (n, 2) array of (lon, lat)
    n_clusters : int
    sample_weight, weight : str or array-like, optional
        Weight column name or per-row weights (``weight`` is an alias).
    lat, lon : str, optional
        Coordinate column names.
    **options
        Any other ``GeoKMeans`` parameter (``init``, ``bbox``, ``crs``, ``random_state``,
        ``dropna`` ...); an unknown name raises ``DataTypeError``.

    Every parameter is checked before the data are read. An input column named
    ``cluster`` or ``distance_m`` is replaced in ``points`` (with a
    ``GeoKMeansWarning``).

    Returns
    -------
    ClusterResult

    Examples
    --------
    >>> import geokmeans as gk
    >>> result = gk.cluster("data/dc_places.csv", 5, weight="population", random_state=0)
    >>> result.model.crs_
    'EPSG:32618'
    >>> list(result.centroids.columns)
    ['cluster', 'n_points', 'weight', 'mean_distance_m', 'max_distance_m', 'geometry']
    """
    if sample_weight is not None and weight is not None:
        raise InputError("give the weights once: sample_weight or weight, not both.")
    weights = sample_weight if sample_weight is not None else weight
    unknown = sorted(set(options) - set(GeoKMeans._get_param_names()))
    if unknown:
        raise DataTypeError(
            f"cluster() got an unknown option {unknown[0]!r}; options are "
            f"{', '.join(sorted(set(GeoKMeans._get_param_names()) - {'n_clusters'}))}."
        )
    model = GeoKMeans(n_clusters, lat=lat, lon=lon, **options)
    params = model._validated()  # every parameter, before reading the data
    check_param("weight", weights)
    from .distributed import is_dask_collection

    if is_dask_collection(data):
        from .distributed import as_dask_frame

        model.fit(data, sample_weight=weights)
        frame = as_dask_frame(data).assign(cluster=model.labels_)
        return ClusterResult(frame, model.centroids_.copy(), model, None)
    points = io.read_points(data, lat=lat, lon=lon, weight=weights, dropna=params["dropna"])
    model._fit_read(points, params)
    frame = points.frame
    replaced = [c for c in ("cluster", "distance_m") if c in frame.columns]
    if replaced:
        warnings.warn(f"the input's {' and '.join(map(repr, replaced))} column"
                      f"{'s are' if len(replaced) > 1 else ' is'} replaced by this "
                      "clustering's in the result's points.", GeoKMeansWarning, stacklevel=2)
        frame = frame.drop(columns=replaced)
    frame["cluster"] = model.labels_
    frame["distance_m"] = model.distances_m_
    source = Path(data) if isinstance(data, (str, Path)) else None
    return ClusterResult(frame, model.centroids_.copy(), model, source)
