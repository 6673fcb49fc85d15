"""Read every input form into lon/lat arrays; write outputs all-or-nothing.

The writers and the ``OutputSet`` transaction live in ``_writers`` and ``_atomic``; they
are used through this module.
"""

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validation import check_sample_weight
from .errors import DataTypeError, GeoKMeansWarning, InputError

__all__ = [
    "LAT_NAMES",
    "LON_NAMES",
    "OUTPUT_FORMATS",
    "SINGLE_TABLE_FORMATS",
    "OutputSet",
    "PointData",
    "atomic_path",
    "check_csv_columns",
    "defuse_formulas",
    "output_format",
    "read_points",
    "read_table",
    "remove_stale_temporaries",
    "same_file",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_parquet",
    "write_text",
]

LAT_NAMES = ("lat", "latitude", "y")
LON_NAMES = ("lon", "lng", "long", "longitude", "x")

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".kml"}


@dataclass
class PointData:
    """Points read from any input: ``lon``/``lat`` (n,) degrees and ``weights`` (n,).

    ``frame`` is a GeoDataFrame of all input rows (original columns and geometry; for
    plain tables a lon/lat Point geometry in EPSG:4326 is added). ``valid`` (n_rows,)
    marks the rows that were kept (coordinates present); ``lon``, ``lat`` and
    ``weights`` hold the kept rows only. ``lonlat_columns`` names the ``(lon, lat)``
    columns the coordinates were read from, or is None when they came from a geometry.
    """

    lon: np.ndarray
    lat: np.ndarray
    weights: np.ndarray | None
    frame: gpd.GeoDataFrame
    valid: np.ndarray
    lonlat_columns: tuple | None = None

    @property
    def n_dropped(self):
        return int((~self.valid).sum())


def read_table(path):
    """Read a CSV, GeoJSON, GeoPackage, Shapefile, FlatGeobuf or (Geo)Parquet file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file '{path}' does not exist.")
    if path.is_dir() and path.suffix.lower() not in _PARQUET_SUFFIXES:
        raise InputError(f"input '{path}' is a directory; expected a file.")
    suffix = path.suffix.lower()
    try:
        if suffix in _CSV_SUFFIXES:
            # only empty fields are missing: "NA" is Namibia's country code
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",",
                               keep_default_na=False, na_values=[""])
        if suffix in _PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path)
            except ValueError as exc:
                if "geo" not in str(exc).lower():
                    raise
                return pd.read_parquet(path)
        if suffix in _VECTOR_SUFFIXES:
            return gpd.read_file(path, engine="pyogrio")
    except InputError:
        raise
    except Exception as exc:  # any reader failure is a bad file for the user
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not read '{path}': {message}") from None
    known = sorted(_CSV_SUFFIXES | _PARQUET_SUFFIXES | _VECTOR_SUFFIXES)
    raise InputError(f"input '{path}' has an unknown extension {suffix!r}; use one of {', '.join(known)}.")


def _find_column(frame, explicit, candidates, what):
    columns = list(frame.columns)
    if explicit is not None:
        if explicit not in columns:
            raise InputError(f"{what} column {explicit!r} not found; columns are {columns}.")
        return explicit
    by_lower = {str(c).lower(): c for c in columns}
    for name in candidates:
        if name in by_lower:
            return by_lower[name]
    return None


def _numeric_column(frame, column, row_offset=0):
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    original = frame[column]
    bad = np.isnan(values) & original.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataTypeError(
            f"column {column!r} must be numeric: row {row + row_offset} is {original.iloc[row]!r}."
        )
    return values


def _check_ranges(lon, lat, valid, row_offset=0):
    bad_lat = valid & ((lat < -90) | (lat > 90))
    if bad_lat.any():
        row = int(np.flatnonzero(bad_lat)[0])
        hint = ""
        if (np.abs(lon[valid]) <= 90).all():
            hint = " The latitude and longitude columns look swapped."
        raise InputError(
            f"latitude must be within [-90, 90]: row {row + row_offset} has lat={lat[row]}.{hint}"
        )
    bad_lon = valid & ((lon < -180) | (lon > 180))
    if bad_lon.any():
        row = int(np.flatnonzero(bad_lon)[0])
        raise InputError(
            f"longitude must be within [-180, 180]: row {row + row_offset} has lon={lon[row]}."
        )


def _from_geometry(frame, row_offset=0):
    """lon/lat of a GeoDataFrame's point geometry (missing or empty points are NaN)."""
    geoms = frame.geometry
    missing = geoms.isna().to_numpy() | geoms.is_empty.to_numpy()
    types = geoms.geom_type.to_numpy()
    not_points = ~missing & (types != "Point")
    if not_points.any():
        row = int(np.flatnonzero(not_points)[0])
        raise InputError(
            f"geometry must be points: row {row + row_offset} is a {types[row]}. Use "
            "gdf.geometry.representative_point() (or .centroid) to get one point per row."
        )
    lonlat = geoms.to_crs(4326) if not frame.crs.equals("EPSG:4326") else geoms
    coords = shapely.get_coordinates(lonlat.to_numpy(), include_z=False)
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    lon[~missing] = coords[:, 0]
    lat[~missing] = coords[:, 1]
    return lon, lat


def _as_frame(data):
    if isinstance(data, (str, os.PathLike)):
        return read_table(data)
    if isinstance(data, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=data)
    if isinstance(data, pd.DataFrame):
        return data
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataTypeError(
            "data must be a GeoDataFrame, GeoSeries, DataFrame, file path or an (n, 2) "
            f"numeric array of (lon, lat); got {type(data).__name__}."
        ) from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputError(f"an array of points must have shape (n, 2) of (lon, lat); got {array.shape}.")
    return pd.DataFrame({"lon": array[:, 0], "lat": array[:, 1]})


def _weights(frame, weight, valid, row_offset=0):
    if weight is None:
        return None
    if isinstance(weight, str):
        if weight not in frame.columns:
            raise InputError(f"weight column {weight!r} not found; columns are {list(frame.columns)}.")
        values = _numeric_column(frame, weight, row_offset)
        name = f"weight column {weight!r}"
    else:
        values = np.asarray(weight, dtype=np.float64)
        name = "sample_weight"
        if values.shape != (len(frame),):
            raise InputError(f"{name} has shape {values.shape}; expected ({len(frame)},).")
    try:
        check_sample_weight(values[valid], int(valid.sum()))
    except InputError as exc:
        # re-check on all rows to name the row in the user's numbering
        bad = valid & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} must be finite and >= 0: row {row + row_offset} is {values[row]}."
            ) from None
        raise InputError(f"{name}: {exc}") from None
    return values[valid]


def read_points(data, *, lat=None, lon=None, weight=None, dropna=False, row_offset=0,
                keep_frame=True, n_missing_total=None):
    """Read points from any supported input into a ``PointData``.

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, DataFrame, path or array-like of shape (n, 2)
        Points. GeoDataFrames/GeoSeries of points in any CRS are converted to lon/lat;
        tables need latitude and longitude columns (detected by name: lat/latitude/y
        and lon/lng/long/longitude/x, any case, or named by ``lat``/``lon``); arrays
        hold (lon, lat) rows. Paths: .csv, .geojson/.json, .gpkg, .shp, .parquet.
    lat, lon : str, optional
        Column names, overriding detection (and the geometry of a GeoDataFrame).
    weight : str or array-like of shape (n,), optional
        Weight column name or one non-negative weight per row.
    dropna : bool, default False
        ``False``: a missing coordinate is an error naming the row. ``True``: such rows
        are skipped (kept in ``frame`` but not clustered) with a ``GeoKMeansWarning``
        saying how many.
    row_offset : int, default 0
        Added to row numbers in messages (for a partition of a larger table).
    n_missing_total : int, optional
        Rows with missing coordinates in the whole of a larger table, for the message
        (default: those of ``data``).
    keep_frame : bool, default True
        ``False`` skips building ``frame`` (left None) when only the coordinates are
        needed, e.g. for a partition of a dask input.
    """
    frame = _as_frame(data)
    if len(frame) == 0:
        raise InputError("input has no rows: at least one point is required.")
    lat_col = _find_column(frame, lat, LAT_NAMES, "latitude")
    lon_col = _find_column(frame, lon, LON_NAMES, "longitude")
    use_geometry = (
        isinstance(frame, gpd.GeoDataFrame)
        and frame._geometry_column_name in frame.columns
        and lat is None and lon is None
        and (frame.crs is not None or lat_col is None or lon_col is None)
    )
    if use_geometry:
        if frame.crs is None:
            raise InputError(
                "GeoDataFrame has no CRS and no lat/lon columns; set its CRS with "
                "gdf.set_crs(...) (e.g. 'EPSG:4326' for lon/lat degrees)."
            )
        lon_values, lat_values = _from_geometry(frame, row_offset)
        result_frame = frame.copy() if keep_frame else None
    else:
        if lat_col is None or lon_col is None:
            raise InputError(
                "no latitude/longitude columns found (looked for "
                f"{'/'.join(LAT_NAMES)} and {'/'.join(LON_NAMES)}, any case); name them "
                f"with lat=... and lon=...; columns are {list(frame.columns)}."
            )
        _check_geometry_name(frame)
        lat_values = _numeric_column(frame, lat_col, row_offset)
        lon_values = _numeric_column(frame, lon_col, row_offset)
        result_frame = gpd.GeoDataFrame(
            pd.DataFrame(frame).copy(),
            geometry=gpd.points_from_xy(lon_values, lat_values),
            crs="EPSG:4326",
        ) if keep_frame else None
    valid = np.isfinite(lon_values) & np.isfinite(lat_values)
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        n_bad = int((~valid).sum())
        if not dropna:
            n_bad = n_bad if n_missing_total is None else n_missing_total
            raise InputError(
                f"missing coordinates: row {row + row_offset} has lon={lon_values[row]}, "
                f"lat={lat_values[row]} ({n_bad} such row{'s' if n_bad != 1 else ''}); "
                "pass dropna=True to skip them."
            )
        if n_bad == len(valid):
            raise InputError("every row has missing coordinates: nothing to cluster.")
        warnings.warn(
            f"skipped {n_bad} row{'s' if n_bad != 1 else ''} with missing coordinates "
            f"(first: row {row + row_offset}).",
            GeoKMeansWarning,
            stacklevel=3,
        )
    _check_ranges(lon_values, lat_values, valid, row_offset)
    weights = _weights(frame, weight, valid, row_offset)
    return PointData(lon_values[valid], lat_values[valid], weights, result_frame, valid,
                     None if use_geometry else (lon_col, lat_col))


def _check_geometry_name(frame):
    """A table whose points are built from columns must not have another ``geometry``."""
    own = frame._geometry_column_name if isinstance(frame, gpd.GeoDataFrame) else None
    if "geometry" in frame.columns and own != "geometry":
        raise InputError(
            "the input has a column 'geometry' that is not its geometry; the points built from "
            "its lat/lon columns need that name. Rename the column (e.g. "
            "df.rename(columns={'geometry': 'geometry_text'}))."
        )


# -- writing: all-or-nothing outputs (``_atomic``) and the format writers (``_writers``) --

from ._atomic import OutputSet, atomic_path, remove_stale_temporaries, same_file  # noqa: E402
from ._writers import (  # noqa: E402
    OUTPUT_FORMATS,
    SINGLE_TABLE_FORMATS,
    check_csv_columns,
    defuse_formulas,
    output_format,
    write_csv,
    write_geojson,
    write_gpkg,
    write_parquet,
    write_text,
)
