"""``cluster()`` and ``ClusterResult``: labelled points, centroids and their exports."""

import copy
import dataclasses
import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np

from . import _groups, _output, _result_display, io, sources
from ._output import plan_outputs
from ._protected import source_entries
from ._validation import check_choice, check_param, check_params
from .errors import DataTypeError, GroupedResultError, InputError
from .model import GeoKMeans
from .run_metadata import run_metadata
from .stable_ids import centroids_of, match_ids, match_ids_by_group
from .stats import cluster_hulls
from .territories import check_boundary, result_territories

__all__ = ["ClusterResult", "cluster"]

_WHICH = {"points": ("points",), "centroids": ("centroids",), "hulls": ("hulls",),
          "both": ("points", "centroids"), "all": ("points", "centroids", "hulls")}


@dataclass
class ClusterResult:
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
        result = self._with_ids(self._matched_ids(centroids_of(reference)))
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

    def _with_ids(self, ids):
        """A copy numbering this result's cluster ``j`` (model order) ``ids[j]``."""
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")  # the model's new cluster j is the old order[j]
        new_ids = ids[order]
        position = np.argsort(order).astype(np.int32)  # new position of each old cluster
        dense = bool(np.array_equal(new_ids, np.arange(len(ids))))
        model = (_permuted_model(self.model, order, position) if self.models is None
                 else self._fitted.permuted(order, position))
        centroids = self.centroids.iloc[order].reset_index(drop=True)
        centroids["cluster"] = new_ids
        label = self.label_column
        labels = model.labels_  # the model's positions: the ids when dense
        if not dense:
            as_ids = new_ids.astype(np.int32)
            labels = (labels.map_partitions(_renumbered, as_ids, meta=labels._meta)
                      if self.is_dask else _renumbered(labels, as_ids))
        if self.is_dask:
            points = self.points.assign(**{label: labels})
        elif isinstance(self._rows, io.PointTable):  # its geometry still unbuilt
            points = copy.copy(self._rows)
            points.table, points._frame = self._rows.table.copy(), None
            points[label] = labels
        else:
            points = self.points.copy()
            points[label] = labels
        result = dataclasses.replace(self, points=points, centroids=centroids, model=model,
                                     cluster_ids=None if dense else new_ids)
        if "hulls" in self.__dict__:  # computed already: the same polygons, renumbered
            hulls = self.__dict__["hulls"].iloc[order].reset_index(drop=True)
            hulls["cluster"] = new_ids
            result.__dict__["hulls"] = hulls
        return result

    def _positional(self):
        """This result with ids ``0 .. k - 1`` in its points (the model's positions) when
        ``cluster_ids`` are not those (the centroid table keeps the ids); for the
        computations that index clusters by their labels (dask hulls, map samples)."""
        if self.cluster_ids is None or not self.is_dask:
            return self
        label = self.label_column
        ids = self.cluster_ids
        points = self.points.assign(**{label: self.points[label].map_partitions(
            _id_positions, ids, meta=self.points[label]._meta)})
        return dataclasses.replace(self, points=points, cluster_ids=None)

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
            return gpd.GeoDataFrame(table, geometry=list(sources.lazy_hulls(self._positional())),
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

    # -- writing -------------------------------------------------------------------------

    def to_geojson(self, path, *, which="points"):
        """Write an RFC 7946 GeoJSON FeatureCollection (lon/lat WGS84, 1e-7° precision).

        Parameters
        ----------
        path : str or path
        which : {"points", "centroids", "hulls", "both", "all"}, default "points"
            The table(s) written: "both" is points and centroids, "all" adds the hulls.
            Each feature names its table in the foreign member ``"geokmeans:layer"``
            (outside ``properties``, which hold only the table's columns, so a column of
            yours named ``kind`` or ``layer`` is kept as it is); run facts are in the
            collection's ``"geokmeans"`` member. Polygons are wound counter-clockwise
            (holes clockwise); missing geometries are ``null``; there is no ``crs``.

        The write is atomic (a temporary file renamed when complete) and never replaces
        the input file. For a result of a dask input the points are computed and written
        one partition at a time into that one file (the same file as in memory).
        """
        self._write(path, self._kinds(which, "GeoJSON", path), "GeoJSON")

    def to_file(self, path, *, which="points", csv_raw=False, partitioned=None):
        """Write by extension (any case): .geojson/.json, .gpkg, .parquet/.geoparquet, .csv.

        Parameters
        ----------
        path : str or path
        which : {"points", "centroids", "hulls", "both", "all"}, default "points"
            GeoJSON and GeoPackage hold several tables (a GeoPackage one layer each:
            ``points``, ``centroids``, ``hulls``). GeoParquet and CSV hold one, so
            "both" and "all" are refused there: write one file per table.
        csv_raw : bool, default False
            CSV only. ``False``: text cells a spreadsheet would run as a formula (they
            start with ``=``, ``+``, ``-``, ``@``, tab or carriage return and are not
            numbers) are written with a leading ``'``. ``True``: written as they are.
        partitioned : bool, optional
            Results of a dask input, ``which="points"`` only: ``True`` writes a
            partitioned GeoParquet dataset, a new directory holding one file per
            partition (``path`` without extension or ending in .parquet). By default a
            path without extension is such a dataset and any other path one file.

        Notes
        -----
        GeoJSON and CSV are in lon/lat (EPSG:4326), GeoParquet in EPSG:4326, and a
        GeoPackage holds every layer in the points' CRS (the input's; EPSG:4326 for
        tables of lat/lon). CSV writes point coordinates under the input's own
        coordinate column names (``lon``/``lat`` for geometry inputs), hulls as a ``wkt``
        column, and binary cells as base64 text (GeoJSON too; GeoParquet and GeoPackage
        keep them binary). Writes are atomic and never replace the input file.

        A result of a dask input writes the same files: its points are computed one
        partition at a time and streamed into the one (temporary) file, renamed when
        complete (GeoParquet: a row group or more per partition; GeoPackage: rows
        appended to the layer), so they are never all in memory.

        Examples
        --------
        >>> import geokmeans as gk, tempfile, pathlib
        >>> result = gk.cluster("data/dc_places.csv", 3, random_state=0)
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> result.to_file(folder / "centroids.csv", which="centroids")
        >>> result.to_file(folder / "clusters.gpkg", which="all")
        >>> import shutil; shutil.rmtree(folder)
        """
        fmt = self._format(path, which, partitioned)
        self._write(path, self._kinds(which, fmt, path), fmt, csv_raw=csv_raw)

    def to_parquet(self, path, *, which="points", partitioned=None):
        """Write one table as GeoParquet (see ``to_file``).

        For a result of a dask input, the points (``which="points"``) are written one
        partition at a time: as one file, row groups appended with pyarrow's
        ``ParquetWriter`` (the same schema and GeoParquet metadata as in memory), or, when
        ``path`` has no extension or ``partitioned=True``, as a partitioned dataset: a new
        directory holding ``part.N.parquet`` per partition, written by the workers and
        appearing only once complete.
        """
        fmt = self._format(path, which, partitioned, "GeoParquet")
        self._write(path, self._kinds(which, fmt, path), fmt)

    def _format(self, path, which, partitioned, fmt=None):
        """The format to write ``path`` in: ``fmt`` or that of its extension, or a
        partitioned GeoParquet dataset (``io.PARQUET_DATASET``) for the points of a dask
        result given ``partitioned=True`` or a path without extension."""
        check_param("partitioned", partitioned)
        bare = isinstance(path, (str, os.PathLike)) and Path(path).suffix == ""
        if partitioned is None:
            partitioned = self.is_dask and which == "points" and bare and fmt != "GeoJSON"
        if not partitioned:
            return fmt or io.output_format(path)
        if not self.is_dask or which != "points":
            raise InputError(f"'{path}': partitioned=True writes the points of a result of a "
                             "dask input, one file per partition; this table is written as "
                             "one file (leave partitioned out).")
        if not bare and io.output_format(path) != "GeoParquet":
            raise InputError(f"'{path}': a partitioned dataset is GeoParquet; give a path "
                             "without extension or ending in .parquet.")
        return io.PARQUET_DATASET

    def write(self, points=None, centroids=None, hulls=None, map=None, *, territories=None,
              boundary=None, csv_raw=False, map_options=None, outputs=None):
        """Write several outputs all-or-nothing: each is complete, or none appears.

        Parameters
        ----------
        points, centroids, hulls : str or path, optional
            A file for that table, in the format of its extension (see ``to_file``).
        map : str or path, optional
            An HTML map (``explore(**map_options)``).
        territories : str or path, optional
            A file for ``territories(boundary)`` (computed before anything is written).
        boundary : optional
            The territories' region (see ``territories``); only with ``territories``.
        csv_raw : bool, default False
            See ``to_file``.
        map_options : dict, optional
            Passed to ``explore``.
        outputs : io.OutputSet, optional
            Join this set instead of a set of its own: the files are written to their
            temporaries here and appear when the caller's set commits (so that more
            outputs, e.g. a report on stdout, succeed or fail with them).

        Every path is checked before anything is written (extension, folder, the same
        file given twice, the input file); each output is written to a temporary file
        beside it and the temporaries are renamed only when all are written. On an
        error or an interruption they are removed and existing files are left as they
        were. The points of a result of a dask input are written in any of these formats,
        one partition at a time (see ``to_file``); a ``points`` path without extension
        is a new partitioned GeoParquet dataset directory.
        """
        plan = plan_outputs({"points": points, "centroids": centroids, "hulls": hulls,
                             "territories": territories, "map": map}, source=self.source,
                             dask=self.is_dask, boundary=boundary)
        extra = {"territories": self.territories(boundary)} if territories is not None else {}
        if outputs is None:
            with io.OutputSet(protected=source_entries(self.source)) as own:
                return self._write_plan(plan, own, csv_raw, map_options, extra)
        return self._write_plan(plan, outputs, csv_raw, map_options, extra)

    def _write_plan(self, plan, outputs, csv_raw, map_options, extra):
        for kind, path, fmt in plan:
            if kind == "map":
                page = self.explore(**(map_options or {})).get_root().render()
                io.write_text(path, page, source_entries(self.source), outputs=outputs,
                              label="map")
            else:
                self._write(path, (kind,), fmt, outputs=outputs, label=kind, csv_raw=csv_raw,
                            extra=extra)

    def _kinds(self, which, fmt, path):
        """The tables ``which`` names; several are refused for one-table formats."""
        kinds = _WHICH[check_choice("which", which, tuple(_WHICH))]
        if fmt in io.SINGLE_TABLE_FORMATS and len(kinds) > 1:
            p = Path(path)
            examples = " and ".join(
                f"to_file('{p.with_name(f'{p.stem}_{k}{p.suffix}')}', which='{k}')"
                for k in kinds)
            raise InputError(f"'{path}': {fmt} holds one table, and which={which!r} asks for "
                             f"{len(kinds)} ({', '.join(kinds)}); write one file each, e.g. "
                             f"{examples}, or use .gpkg or .geojson for several.")
        return kinds

    def _table(self, kind):
        """A table to write; the points as held (a ``PointTable`` is written from its
        lon/lat arrays where the format allows, without building its geometry)."""
        if kind == "points":
            return self._rows
        return self.hulls if kind == "hulls" else getattr(self, kind)

    def _output_crs(self):
        """The CRS every layer of a GeoPackage is written in: the points' (the input's)."""
        crs = getattr(self._rows, "crs", None)
        return crs if crs is not None else "EPSG:4326"

    def _write(self, path, kinds, fmt, *, outputs=None, label=None, csv_raw=False, extra=None):
        """Write the tables ``kinds`` (those in ``extra`` from there) to ``path`` in
        ``fmt``; the points of a dask result are computed partition by partition by the
        writers (``_dask_writers``)."""
        protected, extra = source_entries(self.source), extra or {}
        tables = {kind: extra[kind] if kind in extra else self._table(kind) for kind in kinds}
        where = dict(outputs=outputs, label=label, coordinate_columns=self.coordinate_columns)
        if fmt == "GeoJSON":
            _output.write_geojson(path, tables, self.metadata, protected, **where)
        elif fmt == "GeoPackage":
            _output.write_gpkg(path, tables, self.metadata, protected,
                               crs=self._output_crs(), **where)
        elif fmt in ("GeoParquet", io.PARQUET_DATASET):
            if kinds[0] != "points":  # the coordinate columns are the points' only
                where["coordinate_columns"] = None
            _output.write_parquet(path, tables[kinds[0]], self.metadata, protected,
                                  partitioned=fmt == io.PARQUET_DATASET, **where)
        else:
            _output.write_csv(path, tables[kinds[0]], protected, raw=csv_raw, **where)

    def explore(self, **map_options):
        """A folium map of the clustering; see ``geokmeans.maps.explore`` for options.

        The map's ``save`` is atomic and refuses to write over this result's input.
        """
        from .maps import explore

        target = self._positional()
        deferred = isinstance(target._rows, io.PointTable)
        return explore(_DeferredPoints(target) if deferred else target, **map_options)


def _renumbered(labels, new):
    """``labels`` (array or Series; -1 kept) with cluster ``j`` numbered ``new[j]``."""
    values = np.asarray(labels)
    out = np.where(values >= 0, np.asarray(new)[np.maximum(values, 0)], -1).astype(values.dtype)
    if hasattr(labels, "index"):
        return labels.__class__(out, index=labels.index, name=labels.name)
    return out


def _id_positions(labels, ids):
    """A Series of cluster ids (-1 kept) as positions in the ascending ``ids``."""
    values = labels.to_numpy()
    out = np.where(values >= 0, np.searchsorted(ids, np.maximum(values, 0)), -1)
    return labels.__class__(out.astype(values.dtype), index=labels.index, name=labels.name)


def _permuted_model(model, order, position):
    """A shallow copy of a fitted ``GeoKMeans`` whose cluster ``j`` is ``model``'s
    cluster ``order[j]`` (``position`` = the inverse permutation): every array indexed
    by cluster, and the labels, follow."""
    new = copy.copy(model)
    new.cluster_centers_ = model.cluster_centers_[order]
    new.cluster_centers_m_ = model.cluster_centers_m_[order]
    centroids = model.centroids_.iloc[order].reset_index(drop=True)
    centroids["cluster"] = np.arange(len(order))
    new.centroids_ = centroids
    if getattr(model, "size_prices_", None) is not None:
        new.size_prices_ = np.asarray(model.size_prices_)[order]
    labels = model.labels_
    if hasattr(labels, "map_partitions"):
        new.labels_ = labels.map_partitions(_renumbered, position, meta=labels._meta)
    else:
        new.labels_ = _renumbered(labels, position)
    return new


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


def _check_names(columns, label_column, distance_column, *, geometry_name=None,
                 csv_coordinates=False, coordinate_columns=None):
    """Refuse added columns whose names the input already uses, before any work.

    ``columns`` are the input's column and index names. ``csv_coordinates``: the points
    will be written to CSV (whose coordinate columns must not clash either).
    """
    if label_column == distance_column:
        raise InputError(f"label_column and distance_column are both {label_column!r}; give "
                         "them different names.")
    names = {str(c) for c in columns if c is not None}
    if geometry_name is not None:
        names.add(str(geometry_name))
    added = (("label_column", "--label-column", "cluster labels", label_column),
             ("distance_column", "--distance-column", "distances", distance_column))
    for option, flag, what, name in added:
        if name is not None and name in names:
            free = next(f"{name}_{i}" for i in range(1, len(names) + 2)
                        if f"{name}_{i}" not in names)
            raise InputError(f"the input already has a column {name!r}; the {what} need a "
                             f"column of their own: pass {option}='{free}' (or another new "
                             f"name; {flag} on the command line).")
    if csv_coordinates:
        io.check_csv_columns([*names, label_column, distance_column or label_column],
                             coordinate_columns)


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
    label_column : str, default "cluster"
        Name of the labels column added to ``result.points``.
    distance_column : str, default "distance_m"
        Name of the added column of geodesic distances (m) to the centroid. A column of
        the input (or an index level) with either name is an error before any work,
        never overwritten.
    write : dict, optional
        Outputs ``{"points": path, ...}`` of kinds points, centroids, hulls, territories and
        map (any subset, formats by extension; ``boundary=``: the territories' region, see
        ``ClusterResult.territories``): checked before any work, written all-or-nothing.
    csv_raw : bool, default False
        CSV outputs of ``write``: write formula-like text as it is (see ``to_file``).
    outputs : io.OutputSet, optional
        Write the ``write`` outputs as part of this set (they appear when it commits).
    relabel_like : ClusterResult, path or GeoDataFrame, optional
        Number the clusters as the closest ones of this earlier run (see
        ``ClusterResult.relabel``); a file is read, and checked, before any work, and is
        never one of the outputs.
    by : str, optional
        Cluster each group of rows sharing a value of this column separately (with
        ``n_clusters`` one k for every group, or a ``{group: k}`` mapping naming every
        group), each exactly as ``cluster`` of that group's rows alone would (its own
        projection, size limits and ``max_radius_m`` per group; every group gets the
        same ``random_state``, a Generator being drawn once for an integer seed), and
        combine them: ids run on across groups in the sorted order of their values, the
        group column is added to ``centroids``, ``hulls`` and ``territories()``, and
        ``result.models`` maps each group to its model. A group with fewer points than
        its k is an error naming it; rows with a missing group value are an error
        unless ``dropna=True`` (then labelled -1). Not with dask inputs or explicit
        initial centres. With ``relabel_like``, clusters are matched within each group
        (the reference needs the group column). See ``geokmeans._groups``.
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
    if sample_weight is not None and weight is not None:
        raise InputError("give the weights once: sample_weight or weight, not both.")
    weights = sample_weight if sample_weight is not None else weight
    names = {"label_column": label_column, "distance_column": distance_column}
    grouping, k = None, n_clusters
    if by is not None:  # checked before anything else: the k mapping, what is refused
        check_params(names)
        grouping = (by, n_clusters)
        k = _groups.check_grouping(by, n_clusters, options, names, lazy=sources.is_lazy(data))
    elif isinstance(n_clusters, Mapping):
        raise DataTypeError("n_clusters is a mapping {group: k}, which needs by= (the group "
                            "column); without by, give one integer.")
    else:
        _refuse_grouped(relabel_like, "relabel_like")
    model, params = _checked_model(k, lat, lon, options, weights, names,
                                   {"csv_raw": csv_raw, "write": write, "outputs": outputs,
                                    "boundary": boundary, "relabel_like": relabel_like})
    lazy, boundary = sources.is_lazy(data), check_boundary(boundary)
    source = _input_source(data, lazy)
    plan = plan_outputs(write or {}, source=source, dask=lazy, boundary=boundary)
    reference = None if relabel_like is None else _reference(relabel_like, plan)
    if reference is not None and by is not None:  # its groups, before any work
        reference.group_values(by, f"relabel_like of a run grouped by {by!r} matches "
                                   "clusters within each group: the reference needs that "
                                   "column (the centroids of a grouped run have it)")
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
        result = result._with_ids(result._matched_ids(reference))
    if plan:
        result.write(**{kind: path for kind, path, _ in plan}, csv_raw=csv_raw,
                     outputs=outputs, boundary=boundary)
    return result


def _reference(relabel_like, plan):
    """The ``relabel_like`` centroids, read and checked; a file is never an output."""
    if isinstance(relabel_like, (str, os.PathLike)):
        for kind, path, _ in plan:
            if io.same_file(path, relabel_like):
                raise InputError(f"the {kind} output '{path}' is the relabel_like file; "
                                 "choose another path.")
    return centroids_of(relabel_like)


def _weights_text(weights):
    """The weights of a fit in words (None: unweighted)."""
    if weights is None:
        return None
    if isinstance(weights, str):
        return f"column {weights!r}"
    return "a Series" if hasattr(weights, "index") else "an array"


def _checked_model(n_clusters, lat, lon, options, weights, names, output_options):
    """The ``GeoKMeans`` of a ``cluster`` call and its checked parameters: every option
    checked (an unknown one is a ``DataTypeError``) before any data are read."""
    unknown = sorted(set(options) - set(GeoKMeans._get_param_names()))
    if unknown:
        raise DataTypeError(
            f"cluster() got an unknown option {unknown[0]!r}; options are "
            f"{', '.join(sorted(set(GeoKMeans._get_param_names()) - {'n_clusters'}))}."
        )
    check_params({**names, **output_options})
    _check_names((), names["label_column"], names["distance_column"])
    model = GeoKMeans(n_clusters, lat=lat, lon=lon, **options)
    params = model._validated()
    check_param("weight", weights)
    return model, params


def _input_source(data, lazy):
    """The input's files, protected from the outputs: a path (absolute, so it stays
    protected if the working directory changes), the files a dask graph reads
    (``dask.dataframe.read_csv``, ``read_parquet`` ...), or None."""
    if lazy:
        return tuple(Path(os.path.abspath(p)) for p in sources.input_files(data)) or None
    return Path(os.path.abspath(data)) if isinstance(data, (str, os.PathLike)) else None


def _fit_lazy(data, model, params, weights, source, csv_points, lat, lon, names, grouping):
    """``cluster`` on a dask input: the points stay lazy, with labels and distances."""
    points = sources.read(data, lat=lat, lon=lon, weight=weights, dropna=params["dropna"],
                          params=params)
    lonlat_columns = io.coordinate_columns(points.frame._meta, lat=lat, lon=lon)
    _check_names(points.frame.columns, names["label_column"], names["distance_column"],
                 csv_coordinates=csv_points, coordinate_columns=lonlat_columns)
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
    frame = points.rows  # a table's geometry is built only if asked for (io.PointTable)
    _check_names([*frame.columns, *frame.index.names], names["label_column"],
                 names["distance_column"], geometry_name=frame.geometry.name,
                 csv_coordinates=csv_points, coordinate_columns=points.lonlat_columns)
    if grouping is None:
        model._fit_read(points, params)
    else:
        model = _groups.fit_groups(points, frame, model, params, *grouping)
    frame[names["label_column"]] = model.labels_
    frame[names["distance_column"]] = model.distances_m_
    return ClusterResult(frame, model.centroids_.copy(), model, source, names["label_column"],
                         names["distance_column"], points.lonlat_columns,
                         models=getattr(model, "models", None),
                         by=None if grouping is None else grouping[0])
