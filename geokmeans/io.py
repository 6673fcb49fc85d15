"""Read every input form into lon/lat arrays; write outputs all-or-nothing.

The writers and the ``OutputSet`` transaction live in ``_writers`` and ``_atomic``; they
are used through this module.
"""

import numbers
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._validation import as_real_array, check_sample_weight
from .errors import DataTypeError, GeoKMeansWarning, InputError

__all__ = [
    "LAT_NAMES",
    "LON_NAMES",
    "OUTPUT_FORMATS",
    "SINGLE_TABLE_FORMATS",
    "InputGlob",
    "OutputSet",
    "PointData",
    "PARQUET_DATASET",
    "as_points_frame",
    "atomic_path",
    "check_csv_columns",
    "coordinate_columns",
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
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"input file '{path}' does not exist.")
    if path.is_dir() and path.suffix.lower() not in _PARQUET_SUFFIXES:
        raise InputError(f"input '{path}' is a directory; expected a file (read a directory "
                         "of partitions with geokmeans.distributed.read_partitioned).")
    suffix = path.suffix.lower()
    try:
        if suffix in _CSV_SUFFIXES:
            sep = "\t" if suffix == ".tsv" else ","
            _check_csv_header(path, sep)
            # only empty fields are missing: "NA" is Namibia's country code
            return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=[""])
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


def _check_csv_header(path, sep):
    """Refuse a header that names a column twice: pandas would rename the second one
    (``lat`` becomes ``lat.1``), silently changing the user's data."""
    try:
        header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                             keep_default_na=False)
    except pd.errors.EmptyDataError:
        return  # no header at all: reported by the reader
    names = [str(v) for v in header.iloc[0].tolist()] if len(header) else []
    seen = {}
    for position, name in enumerate(names):
        if name in seen:
            raise InputError(
                f"'{path}' names the column {name!r} twice in its header (columns "
                f"{seen[name] + 1} and {position + 1}); give each column its own name."
            )
        seen[name] = position


def _row(frame, position, row_offset=0):
    """``"row 3"``, and ``"row 3 (index 'abc')"`` when the frame's index labels are not
    its row numbers (a RangeIndex from ``row_offset``), so either can be looked up."""
    name = f"row {position + row_offset}"
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.step == 1 and index.start == row_offset:
        return name
    label = index[position]
    plain = (lambda v: v.item() if isinstance(v, np.generic) else v)
    label = tuple(map(plain, label)) if isinstance(label, tuple) else plain(label)
    return f"{name} (index {label!r})"


def _find_column(frame, explicit, candidates, what):
    """The column holding ``what``: ``explicit`` (an exact name) or the first of
    ``candidates`` matching a column name in any case; None when none does. Names
    that match more than one column raise ``InputError`` naming them."""
    columns = list(frame.columns)
    if explicit is not None:
        count = columns.count(explicit)
        if count == 0:
            hint = ""
            if isinstance(explicit, str):
                near = [c for c in columns if str(c).lower() == explicit.lower()]
                if near:
                    hint = f" (column {near[0]!r} differs only in case; names are exact)"
            raise InputError(f"{what} column {explicit!r} not found{hint}; columns are {columns}.")
        if count > 1:
            raise InputError(f"{what} column {explicit!r} appears {count} times; the columns "
                             "must have distinct names.")
        return explicit
    for name in candidates:
        matches = [c for c in columns if str(c).lower() == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            option = "lat" if what == "latitude" else "lon"
            listed = ", ".join(repr(c) for c in matches)
            raise InputError(
                f"{len(matches)} columns could be the {what}: {listed} (names match "
                f"{name!r} in any case); rename them or choose one with {option}=..."
                if len(set(matches)) > 1 else
                f"{what} column {matches[0]!r} appears {len(matches)} times; the columns must "
                "have distinct names."
            )
    return None


_DECIMAL_COMMA = r"^\s*[-+]?\d+,\d+\s*$"


def _numeric_column(frame, column, row_offset=0, what=None):
    """A column as float64 (missing values NaN); raises ``DataTypeError`` naming the
    column and row for text, booleans or complex numbers."""
    original = frame[column]
    label = what or f"column {column!r}"
    kind = original.dtype.kind
    if kind in "bc":
        plural = "booleans" if kind == "b" else "complex numbers"
        raise DataTypeError(f"{label} holds {plural}; it should hold real numbers.")
    if kind == "O":
        odd = original.map(lambda v: isinstance(v, (bool, np.bool_, complex,
                                                    np.complexfloating))).to_numpy(bool)
        if odd.any():
            row = int(np.flatnonzero(odd)[0])
            raise DataTypeError(f"{label} must be numeric: {_row(frame, row, row_offset)} is "
                                f"{original.iloc[row]!r}.")
    values = pd.to_numeric(original, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & original.notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = original.iloc[row]
        hint = ""
        if isinstance(value, str) and pd.Series([value]).str.match(_DECIMAL_COMMA).iloc[0]:
            hint = (" (a number written with a comma? use a decimal point, or read the CSV "
                    "with pandas.read_csv(..., decimal=',') or thousands=',' and pass the "
                    "frame)")
        raise DataTypeError(
            f"{label} must be numeric: {_row(frame, row, row_offset)} is {value!r}.{hint}"
        )
    return values


def _check_ranges(frame, lon, lat, valid, row_offset=0):
    bad_lat = valid & ((lat < -90) | (lat > 90))
    if bad_lat.any():
        row = int(np.flatnonzero(bad_lat)[0])
        hint = ""
        if (np.abs(lon[valid]) <= 90).all():
            hint = " The latitude and longitude columns look swapped."
        raise InputError(
            f"latitude must be within [-90, 90]: {_row(frame, row, row_offset)} has "
            f"lat={lat[row]}.{hint}"
        )
    bad_lon = valid & ((lon < -180) | (lon > 180))
    if bad_lon.any():
        row = int(np.flatnonzero(bad_lon)[0])
        raise InputError(
            f"longitude must be within [-180, 180]: {_row(frame, row, row_offset)} has "
            f"lon={lon[row]}."
        )


def _from_geometry(frame, row_offset=0):
    """lon/lat of a GeoDataFrame's point geometry (missing or empty points are NaN).

    Points with a z coordinate are used by their lon/lat (the height is ignored).
    """
    geoms = frame.geometry
    missing = geoms.isna().to_numpy() | geoms.is_empty.to_numpy()
    types = geoms.geom_type.to_numpy()
    not_points = ~missing & (types != "Point")
    if not_points.any():
        row = int(np.flatnonzero(not_points)[0])
        raise InputError(
            f"geometry must be points: {_row(frame, row, row_offset)} is a {types[row]}. Use "
            "gdf.geometry.representative_point() (or .centroid) to get one point per row."
        )
    coords = shapely.get_coordinates(geoms.to_numpy()[~missing], include_z=False)
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    if frame.crs.equals("EPSG:4326"):
        lon[~missing], lat[~missing] = coords[:, 0], coords[:, 1]
    else:
        lon[~missing], lat[~missing] = _checked_lonlat(coords, frame, np.flatnonzero(~missing),
                                                       row_offset)
    return lon, lat


def _checked_lonlat(xy, frame, rows, row_offset):
    """lon/lat of (m, 2) coordinates ``xy`` in ``frame.crs``, refusing any that do not
    come back to themselves: outside a projection's domain, PROJ wraps them silently
    (EPSG:3857 x = 3e7 m becomes lon -90.5) or gives infinity."""
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(frame.crs, "EPSG:4326", always_xy=True)
    lon, lat = (np.asarray(a, dtype=np.float64) for a in to_lonlat.transform(xy[:, 0], xy[:, 1]))
    back_x, back_y = to_lonlat.transform(lon, lat, direction="INVERSE")
    given = np.isfinite(xy).all(axis=1)
    same = (np.isclose(back_x, xy[:, 0], rtol=1e-7, atol=1e-3)
            & np.isclose(back_y, xy[:, 1], rtol=1e-7, atol=1e-3))
    bad = np.flatnonzero(given & ~(same & np.isfinite(lon) & np.isfinite(lat)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{_row(frame, int(rows[i]), row_offset)} at ({xy[i, 0]:.10g}, {xy[i, 1]:.10g}) "
            f"is outside the valid area of its CRS {frame.crs.to_string()!r}: it does not "
            f"convert to lon/lat and back ({bad.size} such row{'s' if bad.size != 1 else ''})."
        )
    return lon, lat


def _as_frame(data):
    if isinstance(data, (str, os.PathLike)):
        return read_table(data)
    if isinstance(data, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=data)
    if isinstance(data, pd.DataFrame):
        return data
    if data is None or isinstance(data, (numbers.Number, bytes, dict, set)) or not (
            hasattr(data, "__array__") or isinstance(data, (list, tuple))):
        raise DataTypeError(
            "data must be a GeoDataFrame, GeoSeries, DataFrame, file path or an (n, 2) "
            f"numeric array of (lon, lat); got {type(data).__name__}."
        )
    try:
        array = as_real_array(data, "data", "(lon, lat) numbers")
    except DataTypeError as exc:
        raise DataTypeError(
            f"{exc} data must be a GeoDataFrame, GeoSeries, DataFrame, file path or an (n, 2) "
            "numeric array of (lon, lat)."
        ) from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputError(f"an array of points must have shape (n, 2) of (lon, lat); got {array.shape}.")
    return pd.DataFrame({"lon": array[:, 0], "lat": array[:, 1]})


def _geometry_columns(frame):
    """Names of the columns holding shapely geometries (GeoSeries columns)."""
    return [c for c in frame.columns
            if isinstance(getattr(frame[c], "dtype", None), gpd.array.GeometryDtype)]


def _no_coordinates(frame, has_geometry):
    """Raise the ``InputError`` saying why no coordinates were found."""
    if has_geometry:  # a GeoDataFrame without CRS or lat/lon columns
        raise InputError(
            "GeoDataFrame has no CRS and no lat/lon columns; set its CRS with "
            "gdf.set_crs(...) (e.g. 'EPSG:4326' for lon/lat degrees)."
        )
    geometries = _geometry_columns(frame)
    if geometries:
        raise InputError(
            f"no active geometry and no latitude/longitude columns; column "
            f"{geometries[0]!r} holds geometries: use "
            f"gpd.GeoDataFrame(data, geometry={geometries[0]!r}) or "
            f"gdf.set_geometry({geometries[0]!r})."
        )
    separator = next((sep for sep in (";", "\t", "|") if any(sep in str(c) for c in frame.columns)),
                     None)
    hint = (f" (the file looks separated by {separator!r}, not commas: read it with "
            f"pandas.read_csv(..., sep={separator!r}) and pass the frame)" if separator else "")
    raise InputError(
        "no latitude/longitude columns found (looked for "
        f"{'/'.join(LAT_NAMES)} and {'/'.join(LON_NAMES)}, any case); name them "
        f"with lat=... and lon=...; columns are {list(frame.columns)}.{hint}"
    )


def _aligned_weights(frame, weight):
    """A weight Series aligned on ``frame``'s index, as pandas aligns: by label."""
    if weight.index.equals(frame.index):
        return weight.to_numpy()
    if not frame.index.is_unique:
        raise InputError("weight is a Series but the data's index has duplicate labels, so "
                         "it cannot be aligned; pass an array (weights by position).")
    if not weight.index.is_unique:
        raise InputError("weight Series has duplicate index labels; it cannot be aligned "
                         "on the data's index.")
    missing = frame.index.difference(weight.index)
    if len(missing):
        shown = ", ".join(repr(v) for v in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InputError(
            f"weight Series has no weight for {len(missing)} of the data's index labels "
            f"({shown}); a Series is aligned on the data's index by label (pass an array "
            "for weights by position)."
        )
    return weight.reindex(frame.index).to_numpy()


def _weights(frame, weight, valid, row_offset=0):
    if weight is None:
        return None
    if isinstance(weight, (str, numbers.Integral)) and not isinstance(weight, (bool, np.bool_)):
        columns = list(frame.columns)
        if columns.count(weight) == 0:
            raise InputError(f"weight column {weight!r} not found; columns are {columns}.")
        if columns.count(weight) > 1:
            raise InputError(f"weight column {weight!r} appears {columns.count(weight)} times; "
                             "the columns must have distinct names.")
        values = _numeric_column(frame, weight, row_offset, f"weight column {weight!r}")
        name = f"weight column {weight!r}"
    else:
        if isinstance(weight, pd.Series):
            weight = _aligned_weights(frame, weight)
        values = as_real_array(weight, "sample_weight", "numbers")
        name = "sample_weight"
        if values.shape != (len(frame),):
            raise InputError(f"{name} has shape {values.shape}; expected ({len(frame)},), one "
                             "weight per row.")
    try:
        check_sample_weight(values[valid], int(valid.sum()))
    except InputError as exc:
        # re-check on all rows to name the row in the user's numbering
        bad = valid & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} must be finite and >= 0: {_row(frame, row, row_offset)} is "
                f"{values[row]}."
            ) from None
        raise InputError(f"{name}: {exc}") from None
    kept = values[valid]
    with np.errstate(over="ignore"):
        total = float(kept.sum())
    if not np.isfinite(total):
        raise InputError(
            f"{name} sums to more than float64 can hold (about 1.8e308; the largest weight is "
            f"{kept.max():.3g}); divide the weights by a constant (the clustering does not "
            "change)."
        )
    return kept


def read_points(data, *, lat=None, lon=None, weight=None, dropna=False, row_offset=0,
                keep_frame=True, n_missing_total=None, purpose="fit"):
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
    weight : str, Series or array-like of shape (n,), optional
        Weight column name or one non-negative weight per row: an array by position, a
        pandas Series aligned on the data's index by label (as pandas aligns; labels it
        lacks raise ``InputError``). Booleans and complex numbers are refused, as are
        weights whose sum overflows float64.
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
    purpose : {"fit", "predict"}, default "fit"
        For messages: a missing coordinate in data to predict has no ``dropna`` remedy.

    Errors name the row by position and, when the index labels differ from the
    positions, by index label too: ``row 3 (index 'abc')``. Coordinates must be real
    numbers (booleans and complex numbers are refused); column names that match more
    than one column (``lat`` twice, or ``lat`` and ``LAT``) are refused rather than
    guessed, while among different names the first of the lists above is used. Points
    with a z coordinate are used by their lon/lat.
    """
    frame = _as_frame(data)
    if len(frame) == 0:
        raise InputError("input has no rows: at least one point is required.")
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name not in frame.columns:
        frame = pd.DataFrame(frame)  # no active geometry: a table
    has_geometry = (isinstance(frame, gpd.GeoDataFrame) and lat is None and lon is None
                    and frame._geometry_column_name in frame.columns)
    from_geometry = has_geometry and frame.crs is not None
    if from_geometry:
        lon_values, lat_values = _from_geometry(frame, row_offset)
        result_frame = frame.copy() if keep_frame else None
    else:
        lat_col = _find_column(frame, lat, LAT_NAMES, "latitude")
        lon_col = _find_column(frame, lon, LON_NAMES, "longitude")
        if lat_col is None or lon_col is None:
            _no_coordinates(frame, has_geometry)
        if lat_col == lon_col:
            raise InputError(f"lat={lat_col!r} and lon={lon_col!r} name the same column; "
                             "latitude and longitude need a column each.")
        _check_geometry_name(frame)
        lat_values = _numeric_column(frame, lat_col, row_offset)
        lon_values = _numeric_column(frame, lon_col, row_offset)
        result_frame = _with_points(frame, lon_values, lat_values) if keep_frame else None
    # NaN is missing (skipped with dropna); an infinite coordinate is out of range
    valid = ~(np.isnan(lon_values) | np.isnan(lat_values))
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        n_bad = int((~valid).sum())
        if not dropna:
            n_bad = n_bad if n_missing_total is None else n_missing_total
            remedy = ("predict needs coordinates for every row" if purpose == "predict"
                      else "pass dropna=True to skip them")
            raise InputError(
                f"missing coordinates: {_row(frame, row, row_offset)} has "
                f"lon={lon_values[row]}, lat={lat_values[row]} ({n_bad} such "
                f"row{'s' if n_bad != 1 else ''}); {remedy}."
            )
        if n_bad == len(valid):
            raise InputError("every row has missing coordinates: nothing to cluster.")
        warnings.warn(
            f"skipped {n_bad} row{'s' if n_bad != 1 else ''} with missing coordinates "
            f"(first: {_row(frame, row, row_offset)}).",
            GeoKMeansWarning,
            stacklevel=3,
        )
    _check_ranges(frame, lon_values, lat_values, valid, row_offset)
    weights = _weights(frame, weight, valid, row_offset)
    return PointData(lon_values[valid], lat_values[valid], weights, result_frame, valid,
                     None if from_geometry else (lon_col, lat_col))


def _with_points(frame, lon, lat):
    """A table's rows as a GeoDataFrame with lon/lat Point geometry (EPSG:4326)."""
    return gpd.GeoDataFrame(pd.DataFrame(frame).copy(), geometry=gpd.points_from_xy(lon, lat),
                            crs="EPSG:4326")


def coordinate_columns(frame, *, lat=None, lon=None):
    """The ``(lon, lat)`` columns ``read_points`` takes the coordinates of ``frame`` from,
    or None when they come from its geometry. Only column names are looked at, so
    ``frame`` may be an empty frame of the right columns (a dask frame's ``_meta``)."""
    if isinstance(frame, gpd.GeoDataFrame) and lat is None and lon is None \
            and frame._geometry_column_name in frame.columns and frame.crs is not None:
        return None
    lat_col = _find_column(frame, lat, LAT_NAMES, "latitude")
    lon_col = _find_column(frame, lon, LON_NAMES, "longitude")
    if lat_col is None or lon_col is None:
        _no_coordinates(frame, isinstance(frame, gpd.GeoDataFrame))
    return lon_col, lat_col


def as_points_frame(frame, coordinate_columns, row_offset=0):
    """``frame`` as ``read_points`` gives it in ``PointData.frame``: a GeoDataFrame with
    its own geometry when ``coordinate_columns`` is None, else with lon/lat Point
    geometry from those ``(lon, lat)`` columns.
    ``row_offset``: the row number of its first row, for messages."""
    if coordinate_columns is None:
        if not isinstance(frame, gpd.GeoDataFrame) \
                or frame._geometry_column_name not in frame.columns:
            raise InputError("the points have neither a geometry nor lon/lat columns.")
        return frame
    lon_col, lat_col = coordinate_columns
    lon = _numeric_column(frame, lon_col, row_offset)
    lat = _numeric_column(frame, lat_col, row_offset)
    return _with_points(frame, lon, lat)


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

from ._atomic import (  # noqa: E402
    InputGlob,
    OutputSet,
    atomic_path,
    remove_stale_temporaries,
    same_file,
)
from ._writers import (  # noqa: E402
    OUTPUT_FORMATS,
    PARQUET_DATASET,
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
