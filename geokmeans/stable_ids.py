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
"""

import json
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import _output, io
from ._partitioned import is_dask_collection
from ._validation import check_params
from .core import nearest_centre
from .errors import DataTypeError, GeoKMeansError, InputError, first_line
from .projection import combine_extents, partial_extent, projection_for_extent
from .stats import GEOD, geodesic_distances_m

__all__ = ["SavedCentroids", "assign", "assign_points", "centroids_of", "match_ids",
           "read_centroids", "write_points"]

#: Largest cluster id: labels are written as 32-bit integers.
MAX_ID = 2**31 - 1

_WHAT = ("a ClusterResult, a centroids file (GeoJSON, GeoPackage, GeoParquet or CSV written "
         "by geokmeans) or a GeoDataFrame of centroids with a 'cluster' column")


@dataclass(frozen=True)
class SavedCentroids:
    """Centroids read back: ``ids`` (k,) int64 (distinct, >= 0), ``lon``/``lat`` (k,)
    degrees, the recorded projection name ``crs_used`` (None when not recorded; then
    ``crs_used_wkt`` is None too) and ``name``, the source in messages."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    crs_used: str | None
    crs_used_wkt: str | None
    name: str

    def projection(self, lon=None, lat=None):
        """The fit's projection: the recorded one (checked against the extent of the
        centroids and of the points ``lon``/``lat`` when given, as a named CRS is), or
        the ``"auto"`` choice for the centroids' extent when none is recorded."""
        recorded = self.crs_used_wkt or self.crs_used
        if recorded is None or recorded.lower() == "auto":
            return projection_for_extent("auto", *combine_extents(
                [partial_extent(self.lon, self.lat)]))
        parts = [partial_extent(self.lon, self.lat)]
        if lon is not None and len(lon):
            parts.append(partial_extent(np.asarray(lon), np.asarray(lat)))
        try:
            return projection_for_extent(recorded, *combine_extents(parts))
        except GeoKMeansError as exc:
            raise InputError(f"{self.name}: its recorded projection {self.crs_used!r} cannot "
                             f"be used ({exc})") from None


def read_centroids(centroids, *, crs_used=None, crs_used_wkt=None, role="centroids"):
    """``SavedCentroids`` of a centroids file (path) or table (GeoDataFrame, or DataFrame
    with lat/lon columns; ``crs_used``/``crs_used_wkt``: its recorded projection).

    Refused with ``DataTypeError`` (another kind of value) or ``InputError`` naming
    ``role``, the file and the problem: a missing or unreadable file, no ``cluster``
    column, no rows, ids that are not distinct whole numbers in [0, 2**31 - 1], missing
    coordinates.
    """
    if isinstance(centroids, (str, os.PathLike)):
        path = Path(centroids).expanduser()
        name = f"{role} '{centroids}'"
        frame, facts = _read_file(path, name)
        crs_used, crs_used_wkt = facts.get("crs_used"), facts.get("crs_used_wkt")
    elif isinstance(centroids, pd.DataFrame):
        frame, name = centroids, f"the {role} table"
    else:
        raise DataTypeError(f"{role} should be {_WHAT}; got {type(centroids).__name__}.")
    if not isinstance(crs_used, (str, type(None))):
        crs_used = None
    ids = _ids(frame, name)
    try:
        points = io.read_points(frame.drop(columns="cluster"), keep_frame=False)
    except GeoKMeansError as exc:
        raise InputError(f"{name}: {exc}") from None
    return SavedCentroids(ids, points.lon, points.lat, crs_used,
                          crs_used_wkt if isinstance(crs_used_wkt, str) else None, name)


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
    from scipy.optimize import linear_sum_assignment

    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    k, m = lon.size, reference.ids.size
    rows = np.repeat(np.arange(k), m)
    cols = np.tile(np.arange(m), k)
    cost = np.asarray(GEOD.inv(lon[rows], lat[rows], reference.lon[cols],
                               reference.lat[cols])[2], dtype=np.float64).reshape(k, m)
    matched, to = linear_sum_assignment(cost)
    ids = np.full(k, -1, dtype=np.int64)
    ids[matched] = reference.ids[to]
    new = np.flatnonzero(ids < 0)
    ids[new] = int(reference.ids.max()) + 1 + np.arange(new.size)
    if ids.max() > MAX_ID:
        raise InputError(f"{reference.name}: new cluster ids would exceed {MAX_ID}.")
    return ids


def assign(points, centroids, *, lat=None, lon=None, dropna=False, label_column="cluster",
           distance_column="distance_m"):
    """Label points with saved centroids: each point gets the id of its nearest centroid
    in the fit's projection (the one recorded with the centroids; see the module notes),
    as ``GeoKMeans.predict`` would, keeping the saved ids.

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
        Rows without coordinates: an error naming the row, or (``True``) labelled -1
        with a warning.
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
    SavedCentroids, the projection used)``."""
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
    projection = saved.projection(read.lon, read.lat)
    nearest = nearest_centre(projection.forward(read.lon, read.lat),
                             projection.forward(saved.lon, saved.lat))
    labels = np.full(len(read.valid), -1, dtype=np.int32)
    labels[read.valid] = saved.ids[nearest]
    distances = np.full(len(read.valid), np.nan)
    distances[read.valid] = geodesic_distances_m(read.lon, read.lat, saved.lon[nearest],
                                                 saved.lat[nearest])
    frame[label_column] = labels
    frame[distance_column] = distances
    return frame, read.lonlat_columns, saved, projection


def centroids_of(centroids):
    """``SavedCentroids`` of a path, a table, or anything with ``centroids`` and
    ``model.crs_`` (a ``ClusterResult``)."""
    if isinstance(centroids, SavedCentroids):
        return centroids
    model = getattr(centroids, "model", None)
    table = getattr(centroids, "centroids", None)
    if model is not None and isinstance(table, pd.DataFrame):
        projection = getattr(model, "projection_", None)
        wkt = None
        if projection is not None and projection.crs is not None and not projection.crs.to_epsg():
            wkt = projection.crs.to_wkt()
        return read_centroids(table, crs_used=getattr(model, "crs_", None), crs_used_wkt=wkt,
                              role="reference")
    return read_centroids(centroids)


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
