"""Cluster IDs that persist across runs: saved centroids read back, a result's clusters
matched to a reference's, and new points labelled with saved centroids.

A centroids table is what ``ClusterResult.centroids`` holds and what the writers write
(``--centroids``, ``to_file(..., which="centroids")``): one point per cluster and its id
in the column ``cluster``. The projection of the fit that made it is recorded with the
file (``crs_used`` in the GeoJSON member ``"geokmeans"``, the GeoPackage layer metadata
or the Parquet schema metadata; ``crs_used_wkt`` too for a CRS without an EPSG code).
A CSV, or a table given as a frame, records none: the projection is then chosen from the
centroids by the same ``"auto"`` rule as a fit (a UTM zone when they fit one, else the
sphere).

Centroids of a grouped run (``cluster(..., by=column)``; the file's run facts name
``by``, a grouped ``ClusterResult`` says so itself) carry the group column: new points
are then matched within their own group only, each group in its own fit's projection
(recorded per group in the run facts' ``groups``; else the ``"auto"`` rule on that
group's centroids). ``relabel`` of a grouped result matches clusters within the same
group value only.
"""

import json
import numbers
import os
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _output, io
from ._columns import row_name
from ._partitioned import is_dask_collection
from ._validation import check_params
from .core import nearest_centre
from .errors import DataTypeError, GeoKMeansError, GeoKMeansWarning, InputError, first_line
from .projection import combine_extents, partial_extent, projection_for_extent
from .stats import GEOD, geodesic_distances_m

__all__ = ["SavedCentroids", "assign", "assign_points", "centroids_of", "match_ids",
           "match_ids_by_group", "read_centroids", "write_points"]

#: Largest cluster id: labels are written as 32-bit integers.
MAX_ID = 2**31 - 1

_WHAT = ("a ClusterResult, a centroids file (GeoJSON, GeoPackage, GeoParquet or CSV written "
         "by geokmeans) or a GeoDataFrame of centroids with a 'cluster' column")


@dataclass(frozen=True)
class SavedCentroids:
    """Centroids read back: ``ids`` (k,) int64 (distinct, >= 0), ``lon``/``lat`` (k,)
    degrees, the recorded projection name ``crs_used`` (None when not recorded; then
    ``crs_used_wkt`` is None too) and ``name``, the source in messages.

    Of a grouped run: ``by``, its group column, and ``group_crs``, per centroid the
    ``(crs_used, crs_used_wkt)`` recorded for its group (None where not recorded).
    ``frame`` is the table read (its other columns: the group column, ...)."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    crs_used: str | None
    crs_used_wkt: str | None
    name: str
    by: str | None = None
    group_crs: tuple | None = field(default=None, repr=False)
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def projection(self, lon=None, lat=None, rows=None):
        """The fit's projection: the recorded one (checked against the extent of the
        centroids and of the points ``lon``/``lat`` when given, as a named CRS is), or
        the ``"auto"`` choice for the centroids' extent when none is recorded.
        ``rows``: the centroids of one group (its own recorded projection, its extent)."""
        recorded, shown = self.crs_used_wkt or self.crs_used, self.crs_used
        centre_lon, centre_lat = self.lon, self.lat
        if rows is not None:
            centre_lon, centre_lat = self.lon[rows], self.lat[rows]
            named = None if self.group_crs is None else self.group_crs[int(rows[0])]
            recorded, shown = (None, None) if named is None else (named[1] or named[0],
                                                                  named[0])
        if recorded is None or recorded.lower() == "auto":
            return projection_for_extent("auto", *combine_extents(
                [partial_extent(centre_lon, centre_lat)]))
        parts = [partial_extent(centre_lon, centre_lat)]
        if lon is not None and len(lon):
            parts.append(partial_extent(np.asarray(lon), np.asarray(lat)))
        try:
            return projection_for_extent(recorded, *combine_extents(parts))
        except GeoKMeansError as exc:
            raise InputError(f"{self.name}: its recorded projection {shown!r} cannot "
                             f"be used ({exc})") from None

    def group_values(self, by, what):
        """Each centroid's value (k,) object of the column ``by``; refused naming
        ``what`` needs it when the table has no such column."""
        if self.frame is None or by not in self.frame.columns:
            columns = [] if self.frame is None else [
                str(c) for c in self.frame.columns if c != "geometry"]
            raise InputError(f"{self.name} has no column {by!r} (columns: "
                             f"{', '.join(columns) or 'none'}); {what}.")
        return self.frame[by].to_numpy(dtype=object)


def read_centroids(centroids, *, crs_used=None, crs_used_wkt=None, role="centroids", by=None,
                   group_crs=None):
    """``SavedCentroids`` of a centroids file (path) or table (GeoDataFrame, or DataFrame
    with lat/lon columns; ``crs_used``/``crs_used_wkt``: its recorded projection; ``by``
    and ``group_crs``: a grouped run's group column and per-centroid projections).

    Refused with ``DataTypeError`` (another kind of value) or ``InputError`` naming
    ``role``, the file and the problem: a missing or unreadable file, no ``cluster``
    column, no rows, ids that are not distinct whole numbers in [0, 2**31 - 1], missing
    coordinates, geometries that are not points (hulls, territories), a grouped run's
    file without its group column.
    """
    if isinstance(centroids, (str, os.PathLike)):
        path = Path(centroids).expanduser()
        name = f"{role} '{centroids}'"
        frame, facts = _read_file(path, name)
        crs_used, crs_used_wkt = facts.get("crs_used"), facts.get("crs_used_wkt")
        by = _recorded_by(facts)
    elif isinstance(centroids, pd.DataFrame):
        frame, name, facts = centroids, f"the {role} table", {}
    else:
        raise DataTypeError(f"{role} should be {_WHAT}; got {type(centroids).__name__}.")
    if not isinstance(crs_used, (str, type(None))):
        crs_used = None
    ids = _ids(frame, name)
    _check_points(frame, name)
    with warnings.catch_warnings():  # rows without coordinates: refused below, by name
        warnings.simplefilter("ignore")
        try:
            points = io.read_points(frame.drop(columns="cluster"), dropna=True,
                                    keep_frame=False)
        except GeoKMeansError as exc:
            raise InputError(f"{name}: {exc}") from None
    if not points.valid.all():
        row = int(np.flatnonzero(~points.valid)[0])
        raise InputError(f"{name}: the centroid of cluster {int(ids[row])} (row {row}) has no "
                         "coordinates; every centroid needs a point (is this the centroids "
                         "table geokmeans wrote?).")
    if by is not None:
        if by not in frame.columns:
            raise InputError(f"{name} comes from a run grouped by {by!r} but has no column "
                             f"{by!r}; give the centroids table that run wrote.")
        if group_crs is None:
            group_crs = _recorded_group_crs(facts, ids)
    return SavedCentroids(ids, points.lon, points.lat, crs_used,
                          crs_used_wkt if isinstance(crs_used_wkt, str) else None, name,
                          by, group_crs, frame)


def _recorded_by(facts):
    """The group column a file's run facts name (None: not a grouped run)."""
    by = facts.get("by")
    if by is None and isinstance(facts.get("parameters"), dict):
        by = facts["parameters"].get("by")
    return by if isinstance(by, str) and by else None


def _recorded_group_crs(facts, ids):
    """Per centroid ``(crs_used, crs_used_wkt)`` of its group as the run facts' ``groups``
    record it (the group's ids: ``clusters``, or ``first_cluster`` and
    ``n_clusters_found``), None where not recorded."""
    groups = facts.get("groups")
    if not isinstance(groups, list):
        return None
    shared_wkt = facts.get("crs_used_wkt") if isinstance(facts.get("crs_used_wkt"), str) \
        else None
    by_id = {}
    for entry in groups:
        if not isinstance(entry, dict) or not isinstance(entry.get("crs_used"), str):
            continue
        members = entry.get("clusters")
        if not isinstance(members, list):
            first, found = entry.get("first_cluster"), entry.get("n_clusters_found")
            if not (isinstance(first, int) and isinstance(found, int)):
                continue
            members = range(first, first + found)
        for j in members:
            if isinstance(j, int):
                by_id[j] = (entry["crs_used"], shared_wkt
                            if entry["crs_used"] == facts.get("crs_used") else None)
    return tuple(by_id.get(int(j)) for j in ids)


def _check_points(frame, name):
    """Refuse a table whose geometries are not points (hulls, territories): a centroid is
    a point."""
    geometry = getattr(frame, "geometry", None) if isinstance(frame, gpd.GeoDataFrame) else None
    if geometry is None:
        return
    kinds = geometry.geom_type.to_numpy(dtype=object)
    bad = np.flatnonzero([isinstance(kind, str) and kind != "Point" for kind in kinds])
    if bad.size:
        row = int(bad[0])
        raise InputError(f"{name}: row {row} holds a {kinds[row]}, not a point; centroids are "
                         "points (give the centroids table, not the hulls or territories).")


def _read_file(path, name):
    """The centroids frame of a file and its recorded run facts (a dict)."""
    if not path.exists():
        raise InputError(f"{name} does not exist.")
    if path.is_dir():
        raise InputError(f"{name} is a directory; expected a centroids file.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".gpkg":
            return _gpkg_centroids(path)
        frame = io.read_table(path)
        if suffix in (".geojson", ".json"):
            return _geojson_centroids(path, frame)
        if suffix in (".parquet", ".geoparquet", ".pq"):
            import pyarrow.parquet as pq

            member = (pq.read_schema(path).metadata or {}).get(b"geokmeans")
            facts = json.loads(member) if member else {}
            return frame, facts if isinstance(facts, dict) else {}
        return frame, {}
    except GeoKMeansError as exc:
        raise InputError(f"{name}: {exc}") from None
    except Exception as exc:  # any reader failure is a bad file for the user
        raise InputError(f"{name}: could not read it ({first_line(exc)})") from None


def _geojson_centroids(path, frame):
    """A GeoJSON file's centroid rows (the features of table ``centroids`` when it holds
    several) and its ``"geokmeans"`` member."""
    with open(path, encoding="utf-8") as handle:
        collection = json.load(handle)
    if not isinstance(collection, dict):
        return frame, {}
    features = collection.get("features") or []
    layers = [f.get("geokmeans:layer") if isinstance(f, dict) else None for f in features]
    if any(layer is not None for layer in layers) and len(layers) == len(frame):
        keep = np.array([layer == "centroids" for layer in layers])
        if keep.any():
            frame = frame[keep].reset_index(drop=True)
    facts = collection.get("geokmeans")
    return frame, facts if isinstance(facts, dict) else {}


def _gpkg_centroids(path):
    """A GeoPackage's layer ``centroids`` (else its first layer) and its metadata."""
    import pyogrio

    layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    layer = "centroids" if "centroids" in layers else layers[0]
    frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    meta = pyogrio.read_info(path, layer=layer).get("layer_metadata") or {}
    return frame, dict(meta)


def _ids(frame, name):
    """The ``cluster`` column as distinct int64 ids in [0, MAX_ID]."""
    if "cluster" not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns if c != "geometry") or "none"
        raise InputError(f"{name} has no 'cluster' column (columns: {columns}); expected "
                         "centroids as geokmeans writes them (--centroids, or "
                         "to_file(..., which='centroids')).")
    if len(frame) == 0:
        raise InputError(f"{name} holds no centroids: at least one is required.")
    values = frame["cluster"].to_numpy(dtype=object)
    for row, value in enumerate(values):
        whole = isinstance(value, numbers.Integral) and not isinstance(value, bool) or (
            isinstance(value, numbers.Real) and not isinstance(value, bool)
            and np.isfinite(value) and float(value).is_integer())
        if not whole or not 0 <= value <= MAX_ID:
            raise InputError(f"{name}: 'cluster' holds {value!r} in row {row}; cluster ids "
                             f"should be whole numbers in [0, {MAX_ID}].")
    ids = np.array([int(v) for v in values], dtype=np.int64)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise InputError(f"{name}: cluster id {int(unique[counts > 1][0])} appears "
                         f"{int(counts[counts > 1][0])} times; a centroids table holds one "
                         "row per cluster (is this a points file?).")
    return ids


def match_ids(lon, lat, reference):
    """The id of each cluster (k,) int64 whose centroids are ``lon``/``lat`` (k,), from
    the ``reference`` (``SavedCentroids``): an optimal assignment (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``) minimising the summed geodesic distance
    (WGS84) between matched centroids. With more clusters than the reference, the
    unmatched ones get new ids above the largest reference id, in their order here;
    with fewer, every cluster gets a reference id and the unmatched reference ids are
    not used.

    >>> ref = SavedCentroids(np.array([4, 9]), np.array([0.0, 10.0]), np.array([0.0, 0.0]),
    ...                      None, None, "ref")
    >>> match_ids(np.array([10.1, 5.0, 0.1]), np.array([0.0, 40.0, 0.0]), ref).tolist()
    [9, 10, 4]
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    ids = _assignment(lon, lat, reference, np.arange(reference.ids.size))
    return _new_ids(ids, reference)


def _assignment(lon, lat, reference, rows):
    """The reference id (among its ``rows``) of each centroid ``lon``/``lat`` (k,) by the
    optimal assignment on geodesic distance; -1 for those left unmatched."""
    from scipy.optimize import linear_sum_assignment

    k, m = lon.size, rows.size
    ids = np.full(k, -1, dtype=np.int64)
    if k == 0 or m == 0:
        return ids
    pairs = np.repeat(np.arange(k), m)
    cols = np.tile(rows, k)
    cost = np.asarray(GEOD.inv(lon[pairs], lat[pairs], reference.lon[cols],
                               reference.lat[cols])[2], dtype=np.float64).reshape(k, m)
    matched, to = linear_sum_assignment(cost)
    ids[matched] = reference.ids[rows[to]]
    return ids


def _new_ids(ids, reference):
    """``ids`` with those left unmatched (-1) numbered above the reference's largest id,
    in their order."""
    new = np.flatnonzero(ids < 0)
    ids[new] = int(reference.ids.max()) + 1 + np.arange(new.size)
    if ids.max() > MAX_ID:
        raise InputError(f"{reference.name}: new cluster ids would exceed {MAX_ID}.")
    return ids


def group_key(value):
    """A group value as compared across tables and files: numbers as numbers (``3`` and
    ``3.0`` alike, whatever their dtype), text as text, times as ISO 8601 text; None for
    a missing value (None, NaN, NaT)."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # not a scalar
        pass
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, numbers.Real):
        return ("number", float(value))
    if isinstance(value, (datetime, date)):
        return ("time", value.isoformat())
    return ("text", str(value))


def _shown(key):
    return repr(key[1]) if key is not None else "missing"


def match_ids_by_group(lon, lat, groups, reference, by):
    """``match_ids`` of a grouped result: the centroids ``lon``/``lat`` (k,) of group
    values ``groups`` (k,) are matched to the reference's clusters of the same value of
    column ``by`` only (an optimal assignment per group); clusters left unmatched (and
    those of a group the reference lacks) get new ids above the reference's largest, in
    their order here, so ids stay unique across the result. The reference must have the
    column ``by``."""
    theirs = [group_key(v) for v in reference.group_values(
        by, f"matching the clusters of a result grouped by {by!r} needs each reference "
            "cluster's group")]
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    mine = [group_key(v) for v in groups]
    ids = np.full(lon.size, -1, dtype=np.int64)
    for key in dict.fromkeys(mine):
        rows = np.flatnonzero([g == key for g in mine])
        ref_rows = np.flatnonzero([g == key for g in theirs])
        ids[rows] = _assignment(lon[rows], lat[rows], reference, ref_rows)
    return _new_ids(ids, reference)


def assign(points, centroids, *, lat=None, lon=None, dropna=False, label_column="cluster",
           distance_column="distance_m"):
    """Label points with saved centroids: each point gets the id of its nearest centroid
    in the fit's projection (the one recorded with the centroids; see the module notes),
    as ``GeoKMeans.predict`` would, keeping the saved ids.

    Centroids of a grouped run (``cluster(..., by=column)``: a grouped result, or a file
    whose run facts name ``by``) are matched within each point's own group: the points
    need that column, every group value they hold must have centroids, and each group
    uses its own fit's projection (the one recorded for it; else the ``"auto"`` rule on
    its centroids).

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries, DataFrame, path or (n, 2) array of (lon, lat)
        Any input ``geokmeans.cluster`` reads.
    centroids : path, GeoDataFrame or ClusterResult
        Centroids with a ``cluster`` column, as ``--centroids`` / ``to_file(...,
        which="centroids")`` write them, or a result (its centroids and projection).
    lat, lon : str, optional
        The points' coordinate columns (detected when omitted).
    dropna : bool, default False
        Rows without coordinates (or, for grouped centroids, without a group value): an
        error naming the row, or (``True``) labelled -1 with a warning.
    label_column, distance_column : str
        The added columns: the cluster id and the geodesic distance (m) to its
        centroid. The input having a column of either name is an error.

    Returns
    -------
    GeoDataFrame
        The input rows (columns, index and geometry kept) plus the two columns.

    Examples
    --------
    >>> import geokmeans as gk
    >>> result = gk.cluster("data/dc_places.csv", 4, random_state=0)
    >>> labelled = gk.assign("data/dc_places.csv", result)
    >>> bool((labelled.cluster == result.points.cluster).all())
    True
    """
    return assign_points(points, centroids, lat=lat, lon=lon, dropna=dropna,
                         label_column=label_column, distance_column=distance_column)[0]


def assign_points(points, centroids, *, lat=None, lon=None, dropna=False,
                  label_column="cluster", distance_column="distance_m"):
    """``assign``, returning ``(frame, the points' (lon, lat) columns or None, the
    SavedCentroids, the name of the projection used)`` (``"per group"`` when the groups
    of grouped centroids used different ones)."""
    check_params({"lat": lat, "lon": lon, "dropna": dropna, "label_column": label_column,
                  "distance_column": distance_column})
    if is_dask_collection(points):
        raise DataTypeError("assign takes points in memory: compute() the dask collection "
                            "first.")
    saved = centroids_of(centroids)
    if label_column == distance_column:
        raise InputError(f"label_column and distance_column are both {label_column!r}; give "
                         "them different names.")
    read = io.read_points(points, lat=lat, lon=lon, dropna=dropna)
    frame = read.frame
    for option, column in (("label_column", label_column), ("distance_column", distance_column)):
        if column in {str(c) for c in [*frame.columns, *frame.index.names] if c is not None}:
            flag = "--" + option.replace("_", "-")
            raise InputError(f"the points already have a column {column!r}; pass "
                             f"{option}='{column}_1' (or another new name; {flag} on the "
                             "command line).")
    nearest = np.full(len(read.lon), -1, dtype=np.int64)  # a row of the centroids table
    names = set()
    for rows, centres in _matched_groups(read, saved, dropna):
        projection = saved.projection(read.lon[rows], read.lat[rows],
                                      None if saved.by is None else centres)
        names.add(projection.name)
        nearest[rows] = centres[nearest_centre(
            projection.forward(read.lon[rows], read.lat[rows]),
            projection.forward(saved.lon[centres], saved.lat[centres]))]
    labels = np.full(len(read.valid), -1, dtype=np.int32)
    distances = np.full(len(read.valid), np.nan)
    kept = np.flatnonzero(read.valid)
    done = nearest >= 0  # rows without a group value (dropna) stay -1
    labels[kept[done]] = saved.ids[nearest[done]]
    distances[kept[done]] = geodesic_distances_m(read.lon[done], read.lat[done],
                                                 saved.lon[nearest[done]],
                                                 saved.lat[nearest[done]])
    frame[label_column] = labels
    frame[distance_column] = distances
    name = names.pop() if len(names) == 1 else "per group" if names else (
        saved.projection().name)
    return frame, read.lonlat_columns, saved, name


def _matched_groups(read, saved, dropna):
    """``[(rows, centres), ...]``: the points (positions in ``read.lon``) matched to which
    centroids (rows of ``saved``): all to all, or for grouped centroids each group's
    points to that group's centroids. Refused: points without the group column, a group
    value with no centroids, a missing group value (unless ``dropna``)."""
    everything = np.arange(len(read.lon))
    if saved.by is None:
        return [(everything, np.arange(saved.ids.size))]
    by, frame = saved.by, read.frame
    if by not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise InputError(f"{saved.name}: these centroids come from a run grouped by {by!r} "
                         f"(each group clustered separately): each point is matched within its own "
                         f"group, so the points need a column {by!r}; they have none "
                         f"(columns: {columns}).")
    mine = [group_key(v) for v in frame[by].to_numpy(dtype=object)[read.valid]]
    theirs = [group_key(v) for v in saved.group_values(by, "it names no group")]
    kept = np.flatnonzero(read.valid)
    missing = [i for i, key in enumerate(mine) if key is None]
    if missing:
        first = row_name(frame, int(kept[missing[0]]))
        if not dropna:
            raise InputError(f"{len(missing):,} point{'s have' if len(missing) > 1 else ' has'}"
                             f" no value in the group column {by!r} (first: {first}); pass "
                             "dropna=True to leave them unlabelled (-1), or fill them.")
        warnings.warn(f"{len(missing):,} point{'s' if len(missing) > 1 else ''} without a "
                      f"value in the group column {by!r} left unlabelled (-1; first: "
                      f"{first}).", GeoKMeansWarning, stacklevel=4)
    centres = {}
    for row, key in enumerate(theirs):
        centres.setdefault(key, []).append(row)
    lacking = {}
    for i, key in enumerate(mine):
        if key is not None and key not in centres:
            lacking.setdefault(key, i)
    if lacking:
        shown = "; ".join(f"{by}={_shown(key)} (first: {row_name(frame, int(kept[i]))})"
                          for key, i in list(lacking.items())[:5])
        more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        plural = "s" if len(lacking) > 1 else ""
        raise InputError(f"{saved.name}: no centroids of group{plural} {shown}{more}: each "
                         f"point is matched within its own group (column {by!r}); leave such "
                         "points out.")
    groups = {}
    for i, key in enumerate(mine):
        if key is not None:
            groups.setdefault(key, []).append(i)
    return [(np.asarray(rows), np.asarray(centres[key])) for key, rows in groups.items()]


def centroids_of(centroids):
    """``SavedCentroids`` of a path, a table, or a ``ClusterResult`` (its centroids and
    projection; of a grouped result, its group column and each group's projection)."""
    if isinstance(centroids, SavedCentroids):
        return centroids
    models = getattr(centroids, "models", None)
    table = getattr(centroids, "centroids", None)
    if isinstance(models, dict) and isinstance(table, pd.DataFrame):  # grouped result
        by = centroids.by
        crs = {group_key(value): _crs_pair(model) for value, model in models.items()}
        group_crs = tuple(crs.get(group_key(v)) for v in table[by].to_numpy(dtype=object))
        return read_centroids(table, role="reference", by=by, group_crs=group_crs)
    model = getattr(centroids, "model", None)
    if model is not None and isinstance(table, pd.DataFrame):
        name, wkt = _crs_pair(model)
        return read_centroids(table, crs_used=name, crs_used_wkt=wkt, role="reference")
    return read_centroids(centroids)


def _crs_pair(model):
    """``(crs_used, crs_used_wkt)`` of a fitted model (the WKT for a CRS without an EPSG
    code, else None)."""
    projection = getattr(model, "projection_", None)
    wkt = None
    if projection is not None and projection.crs is not None and not projection.crs.to_epsg():
        wkt = projection.crs.to_wkt()
    return getattr(model, "crs_", None), wkt


def write_points(path, frame, *, protected=(), metadata=None, coordinate_columns=None,
                 csv_raw=False, outputs=None, label="points"):
    """Write a labelled points table in the format of ``path``'s extension (atomic, never
    over a ``protected`` file; as part of ``outputs`` when given)."""
    fmt = io.output_format(path)
    where = dict(outputs=outputs, label=label, coordinate_columns=coordinate_columns)
    if fmt == "GeoJSON":
        _output.write_geojson(path, {"points": frame}, metadata, protected, **where)
    elif fmt == "GeoPackage":
        crs = frame.crs if frame.crs is not None else "EPSG:4326"
        _output.write_gpkg(path, {"points": frame}, metadata, protected, crs=crs, **where)
    elif fmt == "GeoParquet":
        _output.write_parquet(path, {"points": frame}, metadata, protected, **where)
    else:
        _output.write_csv(path, frame, protected, raw=csv_raw, **where)
