"""``cluster()`` and ``ClusterResult``: labelled points, centroids and their exports."""

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _groups, _result_display, io, sources
from ._cluster_checks import (
    check_names,
    checked_model,
    input_source,
    one_weight,
    reference_centroids,
)
from ._memory import release_freed
from ._output import plan_outputs
from ._renumbering import positional, with_ids
from ._result_writing import ResultWriting
from ._validation import check_params
from .errors import DataTypeError, GroupedResultError, InputError
from .model import GeoKMeans
from .run_metadata import run_metadata
from .stable_ids import centroids_of, match_ids, match_ids_by_group
from .stats import cluster_hulls
from .territories import check_boundary, result_territories

__all__ = ["ClusterResult", "cluster"]


@dataclass
class ClusterResult(ResultWriting):
    """The outcome of ``geokmeans.cluster``.

    Attributes
    ----------
    points : GeoDataFrame
        The input rows (columns, index and geometry kept) plus the labels in column
        ``label_column`` (-1 for skipped rows) and the geodesic distance in metres to the
        cluster's centroid in column ``distance_column``. For a dask input, a lazy dask
        (Geo)DataFrame of the input's partitions plus the labels; the writers compute it
        one partition at a time.
    centroids : GeoDataFrame (EPSG:4326)
        ``cluster, n_points, weight, mean_distance_m, max_distance_m``, Point geometry.
        This table is the project's own: its id column is always ``cluster``, whatever
        ``label_column`` is (join with ``points.merge(centroids, left_on=label_column,
        right_on="cluster")``).
    model : GeoKMeans
        The fitted estimator (``crs_``, ``inertia_``, ``predict`` ...). A grouped result
        (``cluster(..., by=...)``) has one per group, in ``models``: asking it for
        ``model`` raises ``GroupedResultError`` (an ``AttributeError``).
    source : path, tuple or None
        The input, never written over by the writers (nor by ``explore().save``): its
        file (a directory: nothing inside it), or for a dask input the files and
        directories its graph reads (see ``distributed.source_paths``).
    label_column, distance_column : str
        Names of the columns added to ``points``.
    coordinate_columns : (str, str) or None
        The input's ``(lon, lat)`` columns when the coordinates were read from columns
        (CSV output writes the coordinates under these names; the points of a dask
        table of them get their Point geometry from these columns when written); None
        when they came from a geometry.
    cluster_ids : ndarray (k,) or None
        After ``relabel`` against a reference with more clusters, the ids need not be
        ``0 .. k - 1``: ``cluster_ids[j]`` is the id of the model's cluster ``j`` (the
        ``j``-th row of ``centroids``; ids ascending), so the ids of the points are
        ``cluster_ids[model.labels_]``. None when the ids are ``0 .. k - 1``, the
        model's own numbers.
    seconds : float or None
        Wall-clock time of the fit (``cluster``), shown by the notebook display.
    weights : str or None
        The weights of the fit, in words: ``"column 'population'"``, ``"an array"``,
        ``"a Series"``; None when unweighted.
    models : dict or None
        A grouped result (``cluster(..., by="column")``): each group's value mapped to
        its fitted ``GeoKMeans`` (groups in sorted order); None otherwise.
    by : str or None
        The group column of a grouped result (also a column of ``centroids``, ``hulls``
        and ``territories()``, after ``cluster``); None otherwise.
    run_parameters : dict
        The options of the ``cluster()`` call beyond the model's parameters, as given
        (``weight``, ``label_column``, ``distance_column``, ``relabel_like``); recorded
        with the model's in ``metadata["parameters"]``. Code that adds options of its
        own (e.g. grouping) adds them here.

    Cluster numbers: a fit numbers its clusters by descending total weight (count when
    unweighted), ties by centroid longitude then latitude, so the numbers depend on the
    partition only. With explicit initial centres (``init=array``: depots, per-centre
    size limits, ``fixed_centers``) cluster ``j`` is initial centre ``j`` instead (unless
    ``max_radius_m`` split clusters: then the rule above numbers them all). To keep the
    ids of an earlier run, ``relabel`` against it.
    """

    points: gpd.GeoDataFrame
    centroids: gpd.GeoDataFrame
    model: GeoKMeans
    source: Path | tuple | None = field(default=None, repr=False)
    label_column: str = "cluster"
    distance_column: str = "distance_m"
    coordinate_columns: tuple | None = None
    cluster_ids: np.ndarray | None = field(default=None, repr=False)
    seconds: float | None = field(default=None, repr=False)
    weights: str | None = field(default=None, repr=False)
    models: dict | None = field(default=None, repr=False)
    by: str | None = None
    run_parameters: dict = field(default_factory=dict, repr=False)

    def __repr__(self):
        return _result_display.text(self)

    def _repr_html_(self):
        return _result_display.html(self)

    def relabel(self, reference):
        """This result with its clusters numbered as the closest clusters of ``reference``.

        Clusters are matched by an optimal assignment (``scipy.optimize.
        linear_sum_assignment``) minimising the summed geodesic distance (WGS84) between
        matched centroids; each matched cluster takes its reference cluster's id. With
        more clusters than the reference, the others get new ids above the largest
        reference id (largest clusters first); with fewer, some reference ids are not
        used, and ``cluster_ids`` says which ids the clusters have.

        A grouped result (``cluster(..., by=column)``) matches its clusters within each
        group value only (an optimal assignment per group); the clusters of a group the
        reference lacks, and those left unmatched, get new ids above the reference's
        largest, so ids stay unique across the result. The reference must carry the
        group column (the centroids of a grouped run do).

        Parameters
        ----------
        reference : ClusterResult, path or GeoDataFrame
            An earlier result, a centroids file it wrote (``--centroids``,
            ``to_file(..., which="centroids")``: GeoJSON, GeoPackage, GeoParquet or
            CSV), or a table of centroids with a ``cluster`` column of distinct ids.

        Returns
        -------
        ClusterResult
            A new result (this one is not changed): points, centroids, hulls, model and
            outputs all use the reference's ids.

        Examples
        --------
        >>> import geokmeans as gk
        >>> june = gk.cluster("data/dc_places.csv", 5, random_state=0)
        >>> july = gk.cluster("data/dc_places.csv", 5, random_state=1).relabel(june)
        >>> sorted(july.centroids.cluster.tolist())
        [0, 1, 2, 3, 4]
        """
        if self.models is None:
            _refuse_grouped(reference, "relabel")
        result = with_ids(self, self._matched_ids(centroids_of(reference)))
        result.run_parameters = {**self.run_parameters, "relabel_like": reference}
        return result

    def _matched_ids(self, saved):
        """The id of each cluster (row of ``centroids``) matched to ``saved``: over all
        clusters, or for a grouped result within each group (``match_ids_by_group``)."""
        centres = self._fitted.cluster_centers_
        if self.models is None:
            return match_ids(centres[:, 0], centres[:, 1], saved)
        return match_ids_by_group(centres[:, 0], centres[:, 1],
                                  self.centroids[self.by].to_numpy(dtype=object), saved,
                                  self.by)

    @functools.cached_property
    def hulls(self):
        """Spherical convex hull of each cluster as lon/lat geometry (EPSG:4326).

        Same columns as ``centroids``. Polygons follow the great-circle edges and contain
        every point of their cluster (of polygon inputs: the polygons' representative
        points); a hull across the 180° meridian is a MultiPolygon cut there, one around
        a pole runs along latitude ±90; one point gives a Point, points on one great
        circle a LineString, and a cluster in no hemisphere the whole globe with a
        ``GeoKMeansWarning`` (see ``stats.cluster_hulls``). For a result of a dask input
        they are computed on the cluster; each partition sends only the points on its
        clusters' hulls.
        """
        table = self.centroids.drop(columns="geometry")
        if self.is_dask:
            return gpd.GeoDataFrame(table, geometry=list(sources.lazy_hulls(positional(self))),
                                    crs="EPSG:4326")
        fitted = self._fitted
        valid = fitted.labels_ >= 0
        # polygons: their points; a table's lon/lat without building shapely points
        lon, lat = io.geometry_points(self._rows.geometry.iloc[valid])
        geoms = cluster_hulls(lon, lat, fitted.labels_[valid],
                              fitted.cluster_centers_[:, 0], fitted.cluster_centers_[:, 1])
        return gpd.GeoDataFrame(table, geometry=list(geoms), crs="EPSG:4326")

    def territories(self, boundary=None):
        """Territories: non-overlapping polygons, one per cluster (EPSG:4326; columns
        ``cluster`` and geometry): the power cells of the centres with the fit's prices
        (Voronoi cells without size limits), clipped to ``boundary`` (a shapely polygon in
        lon/lat, or a GeoDataFrame/GeoSeries in any CRS) or by default to the data's hull
        with a margin (for a dask result, the hull of its clusters' hulls). See
        ``geokmeans.territories`` for the region and the accuracy.

        A grouped result gives each group's territories, from that group's own fit and
        clipped to ``boundary`` or that group's hull with a margin (with the group column
        after ``cluster``): the territories of a group do not overlap, those of different
        groups may."""
        if self.models is not None:
            table = _groups.grouped_territories(self._fitted, boundary)
        else:
            table = result_territories(self, boundary)
        if self.cluster_ids is not None:
            table["cluster"] = self.cluster_ids[table["cluster"].to_numpy()]
        return table

    @property
    def metadata(self):
        """Facts about the run stored with every export, and every parameter that shaped
        it: ``crs_used`` (``crs_used_wkt`` too for a CRS without an EPSG code),
        ``n_clusters``, ``n_points``, ``inertia_m2``, ``n_iter``, ``geokmeans_version``,
        ``parameters`` (the ``cluster()`` keyword arguments of the run, JSON-ready:
        ``gk.cluster(data, **run_metadata.cluster_options(result.metadata))`` redoes it),
        ``reproducible`` and, when that is False, ``notes`` saying what is not recorded
        (see ``geokmeans.run_metadata``)."""
        from ._version import __version__

        fitted = self._fitted
        facts = {
            "crs_used": fitted.crs_,
            "n_clusters": int(len(self.centroids)),
            "n_points": int(self.centroids.n_points.sum()),
            "inertia_m2": fitted.inertia_,
            "n_iter": int(fitted.n_iter_),
            "geokmeans_version": __version__,
        }
        crs = getattr(getattr(fitted, "projection_", None), "crs", None)
        if crs is not None and not crs.to_epsg():  # a name alone cannot be read back
            facts["crs_used_wkt"] = crs.to_wkt()
        if self.models is not None:  # "by" and each group's k, ids, CRS, inertia
            facts = _groups.grouped_facts(fitted, facts, self.cluster_ids)
        return run_metadata(facts, self.model if self.models is None else fitted,
                            self.run_parameters)

    @property
    def is_dask(self):
        """True when ``points`` is a lazy dask collection (the input was one)."""
        return not isinstance(self._rows, (gpd.GeoDataFrame, io.PointTable))

    # writing (to_geojson, to_file, to_parquet, write): see _result_writing.ResultWriting

    def explore(self, **map_options):
        """A folium map of the clustering; see ``geokmeans.maps.explore`` for options.

        The map's ``save`` is atomic and refuses to write over this result's input.
        """
        from .maps import explore

        target = positional(self)
        deferred = isinstance(target._rows, io.PointTable)
        return explore(_DeferredPoints(target) if deferred else target, **map_options)


def _points_property():
    """``ClusterResult.points``: held as given (GeoDataFrame, dask frame or
    ``io.PointTable``), a ``PointTable``'s GeoDataFrame built the first time it is read."""

    def get(self):
        rows = self.__dict__["_rows"]
        if isinstance(rows, io.PointTable):
            rows = self.__dict__["_rows"] = rows.geodataframe()
        return rows

    def set_(self, value):
        self.__dict__["_rows"] = value

    return property(get, set_, doc="The input rows with the labels (see ``ClusterResult``).")


ClusterResult.points = _points_property()
ClusterResult._rows = property(lambda self: self.__dict__["_rows"])


def _model_property():
    """``ClusterResult.model``: the fitted model; refused (``GroupedResultError``) for a
    grouped result, whose models are in ``models``. ``_fitted`` is what the result's own
    code reads: the model, or a grouped result's ``_groups.GroupedFit``."""

    def get(self):
        models = self.__dict__.get("models")
        if models is not None:
            shown = ", ".join(repr(_groups._plain(v)) for v in list(models)[:3])
            raise GroupedResultError(
                f"this result clusters each group of {self.by!r} separately: it has one "
                f"model per group, in result.models (e.g. result.models[{shown.split(', ')[0]}]"
                f"; groups {shown}{', ...' if len(models) > 3 else ''}).")
        return self.__dict__["_model"]

    def set_(self, value):
        self.__dict__["_model"] = value

    return property(get, set_, doc="The fitted ``GeoKMeans`` (see ``ClusterResult``).")


ClusterResult.model = _model_property()
ClusterResult._fitted = property(lambda self: self.__dict__["_model"])


def _refuse_grouped(reference, what):
    """Refuse ``what`` of a result without groups against a grouped result: its clusters
    are matched within groups, which this result does not have."""
    if isinstance(reference, ClusterResult) and reference.models is not None:
        raise InputError(f"{what} against a grouped result (by={reference.by!r}) needs a "
                         f"result grouped by the same column: cluster with by={reference.by!r} "
                         "too, so that clusters are matched within their group.")


class _DeferredPoints:
    """A result as the map reads it: its points a ``PointTable`` (lon/lat arrays and
    columns; the map draws a sample and needs no shapely point of the rest)."""

    def __init__(self, result):
        self._result = result

    def __getattr__(self, name):
        return getattr(self._result, name)

    @property
    def points(self):
        return self._result._rows


def cluster(data, n_clusters, *, sample_weight=None, weight=None, lat=None, lon=None,
            label_column="cluster", distance_column="distance_m", write=None, csv_raw=False,
            outputs=None, boundary=None, relabel_like=None, by=None, **options):
    """Cluster lon/lat points in one call (and write the outputs, all or none).

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, DataFrame, path or (n, 2) array of (lon, lat)
    n_clusters : int, or dict of group value to int with ``by``
    sample_weight, weight : str or array-like, optional
        Weight column name or per-row weights (``weight`` is an alias).
    lat, lon : str, optional
        Coordinate column names.
    label_column, distance_column : str, default "cluster" and "distance_m"
        Columns added to ``result.points``: labels, geodesic distances (m) to the centroid
        (not copies of ``model.labels_``/``distances_m_``: a change in place to one may show
        in the other). An input column or index level so named is an error before any work.
    write : dict, optional
        Outputs ``{"points": path, ...}`` of kinds points, centroids, hulls, territories and map
        (any subset, formats by extension; ``boundary=``: the territories' region, see
        ``ClusterResult.territories``): checked before any work, written all-or-nothing.
    csv_raw : bool, default False
        CSV outputs of ``write``: write formula-like text as it is (see ``to_file``).
    outputs : io.OutputSet, optional
        Write the ``write`` outputs as part of this set (they appear when it commits).
    relabel_like : ClusterResult, path or GeoDataFrame, optional
        Number the clusters as the closest ones of this earlier run (``ClusterResult.relabel``);
        a file is read, and checked, before any work, and is never one of the outputs.
    by : str, optional
        Cluster each group of rows sharing a value of this column separately (``n_clusters`` one k
        for every group, or a ``{group: k}`` mapping naming every group), each exactly as
        ``cluster`` of its rows alone would (its own projection, size limits and ``max_radius_m``;
        every group gets the same ``random_state``, a Generator being drawn once for an integer
        seed), and combine them: ids run on across groups in the sorted order of their values, the
        group column is added to ``centroids``, ``hulls`` and ``territories()``, ``result.models``
        maps each group to its model. A group with fewer points than its k is an error naming it;
        so are rows with a missing group value unless ``dropna=True`` (then labelled -1). Not with
        dask inputs or explicit initial centres. With ``relabel_like``, clusters are matched within
        each group (the reference needs the group column). See ``geokmeans._groups``.
    **options
        Any other ``GeoKMeans`` parameter (``init``, ``crs``, ``random_state``, ...),
        checked, as every parameter is, before the data are read.

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
    names = {"label_column": label_column, "distance_column": distance_column}
    return _cluster(data, n_clusters, one_weight(sample_weight, weight), lat, lon, names, by,
                    {"csv_raw": csv_raw, "write": write, "outputs": outputs,
                     "boundary": boundary, "relabel_like": relabel_like}, options)


def _cluster(data, n_clusters, weights, lat, lon, names, by, run, options):
    """``cluster`` with its weights given once; ``run``: the call's options that are not the
    model's (``csv_raw``, ``write``, ``outputs``, ``boundary``, ``relabel_like``)."""
    relabel_like = run["relabel_like"]
    grouping, k = _grouping(data, n_clusters, by, relabel_like, options, names)
    model, params = checked_model(k, lat, lon, options, weights, names, run)
    lazy, boundary = sources.is_lazy(data), check_boundary(run["boundary"])
    source = input_source(data, lazy)
    plan = plan_outputs(run["write"] or {}, source=source, dask=lazy, boundary=boundary)
    reference = None if relabel_like is None else reference_centroids(relabel_like, plan, by)
    csv_points = any(kind == "points" and fmt == "CSV" for kind, _, fmt in plan)
    fit = _fit_lazy if lazy else _fit_in_memory
    start = time.perf_counter()
    result = fit(data, model, params, weights, source, csv_points, lat, lon, names, grouping)
    result.seconds = time.perf_counter() - start
    result.weights = _weights_text(weights)
    result.run_parameters = {"weight": weights, **names, **(
        {} if relabel_like is None else {"relabel_like": relabel_like}), **(
        {} if grouping is None else {"by": grouping[0]})}
    if reference is not None:
        result = with_ids(result, result._matched_ids(reference))
    if plan:
        result.write(**{kind: path for kind, path, _ in plan}, csv_raw=run["csv_raw"],
                     outputs=run["outputs"], boundary=boundary)
    return result


def _grouping(data, n_clusters, by, relabel_like, options, names):
    """``(by, n_clusters)`` of a grouped call (else None) and the k of its model, checked
    before anything else: the k mapping, and what grouping refuses."""
    if by is not None:
        check_params(names)
        k = _groups.check_grouping(by, n_clusters, options, names, lazy=sources.is_lazy(data))
        return (by, n_clusters), k
    if isinstance(n_clusters, Mapping):
        raise DataTypeError("n_clusters is a mapping {group: k}, which needs by= (the group "
                            "column); without by, give one integer.")
    _refuse_grouped(relabel_like, "relabel_like")
    return None, n_clusters


def _weights_text(weights):
    """The weights of a fit in words (None: unweighted)."""
    if weights is None:
        return None
    if isinstance(weights, str):
        return f"column {weights!r}"
    return "a Series" if hasattr(weights, "index") else "an array"


def _fit_lazy(data, model, params, weights, source, csv_points, lat, lon, names, grouping):
    """``cluster`` on a dask input: the points stay lazy, with labels and distances."""
    def check_added_names(meta):  # before any partition is read
        check_names(meta.columns, names["label_column"], names["distance_column"],
                    csv_coordinates=csv_points,
                    coordinate_columns=io.coordinate_columns(meta, lat=lat, lon=lon))

    points = sources.read(data, lat=lat, lon=lon, weight=weights, dropna=params["dropna"],
                          params=params, before_read=check_added_names)
    lonlat_columns = io.coordinate_columns(points.frame._meta, lat=lat, lon=lon)
    model._fit_points(points, params)
    frame = points.frame.assign(**{names["label_column"]: model.labels_,
                                   names["distance_column"]: model.distances_m_})
    return ClusterResult(frame, model.centroids_.copy(), model, source, names["label_column"],
                         names["distance_column"], lonlat_columns)


def _fit_in_memory(data, model, params, weights, source, csv_points, lat, lon, names,
                   grouping=None):
    """``cluster`` on an input read into this process; ``grouping``: ``(by, n_clusters)``
    of a grouped call (``_groups.fit_groups``)."""
    points = io.read_points(data, lat=lat, lon=lon, weight=weights, dropna=params["dropna"])
    release_freed()  # the reader's temporaries
    frame = points.rows  # a table's geometry is built only if asked for (io.PointTable)
    check_names([*frame.columns, *frame.index.names], names["label_column"],
                 names["distance_column"], geometry_name=frame.geometry.name,
                 csv_coordinates=csv_points, coordinate_columns=points.lonlat_columns)
    if grouping is None:
        model._fit_read(points, params)
    else:
        model = _groups.fit_groups(points, frame, model, params, *grouping)
    # the columns hold the model's arrays, not copies (a 1M-point result: 11 MiB less);
    # a change in place to either may show in the other
    for name, values in ((names["label_column"], model.labels_),
                         (names["distance_column"], model.distances_m_)):
        frame[name] = pd.Series(values, index=frame.index, copy=False)
    return ClusterResult(frame, model.centroids_.copy(), model, source, names["label_column"],
                         names["distance_column"], points.lonlat_columns,
                         models=getattr(model, "models", None),
                         by=None if grouping is None else grouping[0])
