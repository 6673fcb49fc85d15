"""Read every input form into lon/lat arrays; write outputs all-or-nothing.

Finding and reading the coordinate and weight columns of a table is ``_columns``'s job;
the writers and the ``OutputSet`` transaction live in ``_writers`` and ``_atomic``. All
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

# writing: all-or-nothing outputs (``_atomic``) and the format writers (``_writers``)
from ._atomic import (
    InputGlob,
    OutputSet,
    atomic_path,
    remove_stale_temporaries,
    same_file,
)
from ._columns import (
    LAT_NAMES,
    LON_NAMES,
    _find_column,
    _no_coordinates,
    _numeric_column,
    lonlat_from_columns,
    read_weights,
    row_name,
)
from ._point_table import LonLatPoints, PointTable, as_geodataframe
from ._polygons import geometry_lonlat
from ._validation import as_real_array
from ._writers import (
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
from .errors import DataTypeError, GeoKMeansWarning, InputError, first_line

__all__ = [
    "LAT_NAMES",
    "LON_NAMES",
    "OUTPUT_FORMATS",
    "SINGLE_TABLE_FORMATS",
    "InputGlob",
    "OutputSet",
    "PointData",
    "PointTable",
    "PARQUET_DATASET",
    "as_geodataframe",
    "as_points_frame",
    "atomic_path",
    "check_columns",
    "check_csv_columns",
    "coordinate_columns",
    "defuse_formulas",
    "geometry_points",
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


_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
#: Compressions a CSV may come in, by the suffix after its own (``points.csv.gz``).
CSV_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".gml", ".kml"}


@dataclass
class PointData:
    """Points read from any input: ``lon``/``lat`` (n,) degrees and ``weights`` (n,).

    ``frame`` is a GeoDataFrame of all input rows (original columns and geometry, polygons
    included; for plain tables a lon/lat Point geometry in EPSG:4326 is added). ``rows``
    holds the same rows as read: that GeoDataFrame, or for a plain table a ``PointTable``
    whose geometry is built only when ``frame`` is first asked for. ``valid`` (n_rows,)
    marks the rows that were kept (coordinates present); ``lon``, ``lat`` and
    ``weights`` hold the kept rows only. ``lonlat_columns`` names the ``(lon, lat)``
    columns the coordinates were read from, or is None when they came from a geometry.
    """

    lon: np.ndarray
    lat: np.ndarray
    weights: np.ndarray | None
    rows: "gpd.GeoDataFrame | PointTable | None"
    valid: np.ndarray
    lonlat_columns: tuple | None = None

    @property
    def frame(self):
        """The rows as a GeoDataFrame (a ``PointTable``'s geometry built once)."""
        return None if self.rows is None else as_geodataframe(self.rows)

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
    suffix, compression = _suffixes(path)
    try:
        if suffix in _CSV_SUFFIXES:
            return _read_csv(path, "\t" if suffix == ".tsv" else ",", compression)
        if compression is None and suffix in _PARQUET_SUFFIXES:
            try:
                return gpd.read_parquet(path)
            except ValueError as exc:
                if "geo" not in str(exc).lower():
                    raise
                return pd.read_parquet(path)
        if compression is None and suffix in _VECTOR_SUFFIXES:
            return gpd.read_file(path, engine="pyogrio")
    except InputError:
        raise
    except Exception as exc:  # any reader failure is a bad file for the user
        message = first_line(exc)
        raise InputError(f"could not read '{path}': {message}") from None
    known = sorted(_CSV_SUFFIXES | _PARQUET_SUFFIXES | _VECTOR_SUFFIXES)
    compressed = "".join(path.suffixes[-2:]).lower() if compression else suffix
    also = (f" ({', '.join(CSV_COMPRESSIONS)} only after {', '.join(sorted(_CSV_SUFFIXES))})"
            if compression else f", or a CSV compressed as {', '.join(CSV_COMPRESSIONS)}")
    raise InputError(f"input '{path}' has an unknown extension {compressed!r}; use one of "
                     f"{', '.join(known)}{also}.")


def _suffixes(path):
    """``(format suffix, compression or None)`` of an input path: ``.csv.gz`` is a CSV
    compressed with gzip (suffixes in any case)."""
    suffix = path.suffix.lower()
    compression = CSV_COMPRESSIONS.get(suffix)
    if compression is None:
        return suffix, None
    return Path(path.stem).suffix.lower(), compression


def _read_csv(path, sep, compression):
    """A CSV file (compressed with ``compression``: gzip, bz2 or zstd) as pandas reads
    it: only empty fields are missing ("NA" is Namibia's country code, text here), types
    as pandas infers them; a header naming a column twice is refused first.

    pandas decompresses gzip and bz2 itself (faster than through pyarrow, measured);
    zstd is read through pyarrow's codec, so that it needs no other package.
    """
    if compression != "zstd":
        _check_csv_header(path, sep, compression)
        return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=[""],
                           compression=compression)
    import pyarrow as pa

    with pa.input_stream(str(path), compression="zstd") as stream:
        _check_csv_header(stream, sep)
    with pa.input_stream(str(path), compression="zstd") as stream:
        return pd.read_csv(stream, sep=sep, keep_default_na=False, na_values=[""])


def _check_csv_header(path, sep, compression=None):
    """Refuse a header that names a column twice: pandas would rename the second one
    (``lat`` becomes ``lat.1``), silently changing the user's data. ``path`` may be a
    binary file object."""
    try:
        header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                             keep_default_na=False, compression=compression)
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


def _check_ranges(frame, lon, lat, valid, row_offset=0):
    bad_lat = valid & ((lat < -90) | (lat > 90))
    if bad_lat.any():
        row = int(np.flatnonzero(bad_lat)[0])
        hint = ""
        if (np.abs(lon[valid]) <= 90).all():
            hint = " The latitude and longitude columns look swapped."
        raise InputError(
            f"latitude must be within [-90, 90]: {row_name(frame, row, row_offset)} has "
            f"lat={lat[row]}.{hint}"
        )
    bad_lon = valid & ((lon < -180) | (lon > 180))
    if bad_lon.any():
        row = int(np.flatnonzero(bad_lon)[0])
        raise InputError(
            f"longitude must be within [-180, 180]: {row_name(frame, row, row_offset)} has "
            f"lon={lon[row]}."
        )


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
        raise InputError("an array of points must have shape (n, 2) of (lon, lat); got "
                         f"{array.shape}.")
    return pd.DataFrame({"lon": array[:, 0], "lat": array[:, 1]})


def _input_table(data):
    """The rows of any input (``_as_frame``), refused when there are none; a GeoDataFrame
    without an active geometry column as the table it is."""
    frame = _as_frame(data)
    if len(frame) == 0:
        raise InputError("input has no rows: at least one point is required.")
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name not in frame.columns:
        frame = pd.DataFrame(frame)  # no active geometry: a table
    return frame


def read_points(data, *, lat=None, lon=None, weight=None, dropna=False, row_offset=0,
                keep_frame=True, n_missing_total=None, purpose="fit"):
    """Read points from any supported input into a ``PointData``.

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries, DataFrame, path or array-like of shape (n, 2)
        Points. GeoDataFrames/GeoSeries of points or polygons (Polygon, MultiPolygon;
        both may be mixed) in any CRS are converted to lon/lat, a polygon by its
        representative point (``_polygons``: its centroid in an equal-area projection
        centred on it, or a point inside it when the centroid is not); tables need
        latitude and longitude columns (detected by name: lat/latitude/y and
        lon/lng/long/longitude/x, any case, or named by ``lat``/``lon``); arrays hold
        (lon, lat) rows. Paths: .csv, .geojson/.json, .gpkg, .shp, .parquet.
    lat, lon : str, optional
        Column names, overriding detection (and the geometry of a GeoDataFrame).
    weight : str, Series or array-like of shape (n,), optional
        Weight column name or one non-negative weight per row: an array by position, a
        pandas Series aligned on the data's index by label (as pandas aligns; labels it
        lacks raise ``InputError``). Booleans and complex numbers are refused, as are
        weights whose sum overflows float64.
    dropna : bool, default False
        ``False``: a missing coordinate (or a missing or empty geometry) is an error
        naming the row. ``True``: such rows are skipped (kept in ``frame`` but not
        clustered) with a ``GeoKMeansWarning`` saying how many.
    row_offset : int, default 0
        Added to row numbers in messages (for a partition of a larger table).
    n_missing_total : int, optional
        Rows with missing coordinates in the whole of a larger table, for the message
        (default: those of ``data``).
    keep_frame : bool, default True
        ``False`` skips building ``frame`` (left None) when only the coordinates are
        needed, e.g. for a partition of a dask input.
    purpose : {"fit", "predict", "part"}, default "fit"
        For messages: a missing coordinate in data to predict has no ``dropna`` remedy.
        ``"part"``: ``data`` is one partition of a larger input (read for a fit), which may
        hold no point with coordinates, or only zero weights; whether the whole input
        holds any point, and a positive weight, is the caller's check.

    Errors name the row by position and, when the index labels differ from the
    positions, by index label too: ``row 3 (index 'abc')``. Coordinates must be real
    numbers (booleans and complex numbers are refused); column names that match more
    than one column (``lat`` twice, or ``lat`` and ``LAT``) are refused rather than
    guessed, while among different names the first of the lists above is used. Points
    with a z coordinate are used by their lon/lat. ``frame`` keeps the input's own
    geometry (polygons stay polygons); ``lon``/``lat`` are the points clustered. Lines
    and collections are refused, as are polygons with a non-finite vertex, invalid ones
    and ones around the whole Earth (see ``_polygons``).
    """
    frame = _input_table(data)
    owned = isinstance(data, (str, os.PathLike))  # read here: nobody else holds it
    lon_values, lat_values, result_frame, columns = _coordinates(frame, lat, lon, row_offset,
                                                                 keep_frame, owned)
    valid = _kept_rows(frame, lon_values, lat_values, dropna, row_offset, n_missing_total,
                       purpose, from_geometry=columns is None)
    _check_ranges(frame, lon_values, lat_values, valid, row_offset)
    weights = read_weights(frame, weight, valid, row_offset, all_zero=purpose == "part")
    kept = slice(None) if valid.all() else valid  # every row kept: no copy
    return PointData(lon_values[kept], lat_values[kept], weights, result_frame, valid,
                     columns)


def _coordinates(frame, lat, lon, row_offset, keep_frame, owned=False):
    """lon, lat (n_rows,) of every row, the ``PointData.rows`` (None unless
    ``keep_frame``; a ``PointTable`` for a plain table, holding ``frame`` itself when
    ``owned``: read from a file here, else a copy) and the ``(lon, lat)`` columns read
    (None for a geometry's points)."""
    has_geometry = (isinstance(frame, gpd.GeoDataFrame) and lat is None and lon is None
                    and frame._geometry_column_name in frame.columns)
    if has_geometry and frame.crs is not None:
        lon_values, lat_values = geometry_lonlat(frame, row_offset)
        return lon_values, lat_values, frame.copy() if keep_frame else None, None
    lon_values, lat_values, columns = lonlat_from_columns(frame, lat, lon, has_geometry,
                                                          row_offset)
    rows = None
    if keep_frame:  # the caller's frame and arrays are copied: the points are built later
        rows = PointTable(frame, lon_values, lat_values) if owned else PointTable(
            pd.DataFrame(frame).copy(), lon_values.copy(), lat_values.copy())
    return lon_values, lat_values, rows, columns


def _kept_rows(frame, lon, lat, dropna, row_offset, n_missing_total, purpose,
               from_geometry=False):
    """The rows with both coordinates (n_rows,) bool. NaN is missing: an error naming the
    first such row, or with ``dropna`` a warning (at the caller of ``read_points``'s
    caller) saying how many are skipped; an infinite coordinate is out of range later."""
    valid = ~(np.isnan(lon) | np.isnan(lat))
    if valid.all():
        return valid
    row = int(np.flatnonzero(~valid)[0])
    n_bad = int((~valid).sum())
    if not dropna:
        n_bad = n_bad if n_missing_total is None else n_missing_total
        remedy = ("predict needs coordinates for every row" if purpose == "predict"
                  else "pass dropna=True to skip them")
        raise InputError(
            f"missing coordinates: {row_name(frame, row, row_offset)} has "
            f"{_missing_text(frame, row, lon, lat, from_geometry)} ({n_bad} such "
            f"row{'s' if n_bad != 1 else ''}); {remedy}."
        )
    if n_bad == len(valid) and purpose != "part":
        raise InputError("every row has missing coordinates: nothing to cluster.")
    warnings.warn(
        f"skipped {n_bad} row{'s' if n_bad != 1 else ''} with missing coordinates "
        f"(first: {row_name(frame, row, row_offset)}).",
        GeoKMeansWarning,
        stacklevel=4,  # _kept_rows < read_points < its caller < the user's call
    )
    return valid


def _missing_text(frame, row, lon, lat, from_geometry):
    """What a row without coordinates has: ``lon=nan, lat=nan``, no geometry, or an empty
    one."""
    geom = frame.geometry.iloc[row] if from_geometry else None
    if from_geometry and geom is None:
        return "no geometry (None)"
    if from_geometry and geom.is_empty:
        return f"an empty {geom.geom_type}"
    return f"lon={lon[row]}, lat={lat[row]}"


def geometry_points(geometry):
    """lon, lat (n,) of the points a GeoSeries of points and polygons is clustered by
    (a polygon's representative point, see ``read_points``); a GeoSeries without CRS is
    taken as lon/lat. NaN for missing and empty geometries."""
    if isinstance(geometry, LonLatPoints):  # the points of a PointTable: no shapely points
        return geometry.lon, geometry.lat
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geometry).reset_index(drop=True))
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return geometry_lonlat(frame)


def check_columns(frame, *, lat=None, lon=None, weight=None):
    """Raise what ``read_points`` raises about ``frame``'s columns: a coordinate or weight
    column missing, ambiguous, repeated or of a type that cannot hold numbers, a stray
    ``geometry`` column, a GeoDataFrame without CRS. Only names and dtypes are looked
    at, so ``frame`` may be an empty frame of the right columns (a dask frame's
    ``_meta``): the values (text in a numeric column, a missing coordinate) are checked
    when the rows are read."""
    lon_values = _coordinates(frame, lat, lon, 0, keep_frame=False)[0]
    read_weights(frame, weight, np.ones(len(lon_values), dtype=bool))


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
    """``frame`` as ``read_points`` gives it in ``PointData.rows``: a GeoDataFrame with
    its own geometry when ``coordinate_columns`` is None, else a ``PointTable`` of its
    rows and the lon/lat of those ``(lon, lat)`` columns (its Point geometry built when
    asked for: ``as_geodataframe``).
    ``row_offset``: the row number of its first row, for messages."""
    if coordinate_columns is None:
        if not isinstance(frame, gpd.GeoDataFrame) \
                or frame._geometry_column_name not in frame.columns:
            raise InputError("the points have neither a geometry nor lon/lat columns.")
        return frame
    lon_col, lat_col = coordinate_columns
    lon = _numeric_column(frame, lon_col, row_offset)
    lat = _numeric_column(frame, lat_col, row_offset)
    return PointTable(pd.DataFrame(frame), lon, lat)
