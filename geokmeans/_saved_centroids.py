"""Saved centroids read back: a centroids file (GeoJSON, GeoPackage, GeoParquet, CSV), a
table or a ``ClusterResult`` as ``SavedCentroids``: their ids, points and the projection(s)
recorded with them (see ``stable_ids`` for what a centroids table records)."""

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

from . import io
from .errors import DataTypeError, GeoKMeansError, InputError, first_line
from .projection import combine_extents, partial_extent, projection_for_extent

__all__ = ["MAX_ID", "SavedCentroids", "centroids_of", "group_key", "read_centroids"]

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
