"""Tables made writable: the non-geometry columns with str names, a named index as
columns, cells each format can hold (or an error naming the column when a format cannot
hold a value exactly), exact JSON values, spreadsheet formulas made inert."""

import base64
import datetime
import decimal
import json
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError

__all__ = ["WKT_DIGITS", "check_gpkg_values", "defuse_formulas", "json_default", "json_records",
           "lonlat", "portable", "user_table", "with_geometry"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PLAIN_KINDS = {"string", "empty", "integer", "floating", "mixed-integer-float", "boolean",
                "decimal", "datetime64", "datetime", "date", "time", "timedelta",
                "timedelta64", "complex"}
_INT64_MAX = 2**63 - 1
WKT_DIGITS = 17  # significant digits: every float64 reads back as itself
_JSON_TEXT = json.encoder.encode_basestring_ascii  # a str as a JSON string, quotes included


def lonlat(frame):
    """``frame`` in lon/lat (EPSG:4326); as it is when it has no CRS or that one."""
    if frame.crs is None or frame.crs.equals("EPSG:4326"):
        return frame
    return frame.to_crs(4326)


def user_table(frame):
    """The non-geometry columns of ``frame`` as a DataFrame with str column names.

    Named index levels become leading columns (a level whose name is already a column is
    left out: the column wins). Column names that collide once made str are an error.
    """
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    named = [n for n in table.index.names if n is not None and n not in table.columns]
    table = table.reset_index(level=named) if named else table
    table = table.reset_index(drop=True)
    names = [str(c) for c in table.columns]
    seen = {}
    for original, name in zip(table.columns, names, strict=True):
        if name in seen:
            raise InputError(f"columns {seen[name]!r} and {original!r} would both be written as "
                             f"{name!r}; rename one of them.")
        seen[name] = original
    table.columns = names
    return table


def _cell(value, target):
    """One object cell made writable: binary, geometries, sets and nested values."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
        return value if target in ("gpkg", "parquet") else base64.b64encode(value).decode("ascii")
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkt(value, rounding_precision=WKT_DIGITS)
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=repr)
    if target in ("text", "gpkg") and isinstance(value, (dict, list, tuple, np.ndarray)):
        return json.dumps(_json_safe(value), default=json_default, allow_nan=False)
    if target == "gpkg" and isinstance(value, (decimal.Decimal, datetime.time)):
        return str(value) if isinstance(value, decimal.Decimal) else value.isoformat()
    return value


def _json_safe(value):
    """A nested value made JSON: non-finite floats ``None``, numpy values as Python's,
    keys as str where JSON needs them, dates ISO 8601; floats keep every digit."""
    if isinstance(value, dict):
        return {k if isinstance(k, (str, int, float, bool)) or k is None else str(k):
                _json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_json_safe(v) for v in items]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def json_default(value):
    """JSON for what ``json.dumps`` cannot encode: arrays, numpy scalars, dates, the rest
    as text."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _geometry_text(column, crs):
    """WKT (every digit) of a geometry column, in ``crs`` when both have a CRS."""
    series = gpd.GeoSeries(column)
    if crs is not None and series.crs is not None and not series.crs.equals(crs):
        series = series.to_crs(crs)
    text = shapely.to_wkt(series.to_numpy(), rounding_precision=WKT_DIGITS)
    return pd.Series(text, index=column.index, dtype=object)


def portable(table, target, crs=None):
    """``table`` with the cells ``target`` ("json", "text", "gpkg", "parquet") cannot hold
    converted: binary as base64 text (JSON, text), geometry columns (besides the
    table's own geometry) and geometry cells as WKT with every digit, in ``crs`` where
    the column has a CRS (GeoParquet keeps geometry columns as they are), nested values
    as JSON text (text, GeoPackage), periods, intervals and durations as text; for
    GeoPackage also times of day and decimals as text, times with a zone in UTC and
    unsigned 64-bit integers as signed ones (``check_gpkg_values`` refuses those that do
    not fit)."""
    table = table.copy(deep=False)  # columns are replaced, never changed in place
    for name in table.columns:
        column = table[name]
        dtype = column.dtype
        if isinstance(dtype, gpd.array.GeometryDtype):
            if target != "parquet":
                table[name] = _geometry_text(column, crs)
            continue
        if isinstance(dtype, pd.CategoricalDtype) and target != "parquet":
            column = table[name] = pd.Series(np.asarray(column, dtype=object), dtype=object)
            dtype = column.dtype
        if isinstance(dtype, pd.DatetimeTZDtype) and target == "gpkg":
            table[name] = column.dt.tz_convert("UTC")  # the GeoPackage DATETIME form
        elif isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype)) and target != "parquet":
            table[name] = pd.Series([str(v) if pd.notna(v) else None for v in column],
                                    dtype=object)
        elif pd.api.types.is_timedelta64_dtype(dtype) and target == "gpkg":
            table[name] = pd.Series([v.isoformat() if pd.notna(v) else None for v in column],
                                    dtype=object)
        elif target == "gpkg" and dtype.kind == "u" and dtype.itemsize == 8:
            table[name] = _as_signed(column)
        elif pd.api.types.is_object_dtype(dtype):
            kind = pd.api.types.infer_dtype(column, skipna=True)
            if kind not in _PLAIN_KINDS or (target == "gpkg" and kind in ("decimal", "time")):
                table[name] = pd.Series([_cell(v, target) for v in column], dtype=object)
    return table


def _as_signed(column):
    """An unsigned 64-bit column as a signed one when every value fits (else as it is,
    for ``check_gpkg_values`` to name)."""
    values = column.dropna()
    if len(values) and int(values.max()) > _INT64_MAX:
        return column
    nullable = isinstance(column.dtype, pd.api.extensions.ExtensionDtype)
    return column.astype("Int64" if nullable else np.int64)


def _gpkg_refusal(name, position, value, why, layer):
    """The refusal of a value at ``position`` (a row number of the whole table)."""
    return InputError(
        f"column {name!r} of the {layer} cannot be written to a GeoPackage exactly: row "
        f"{position} holds {value!r}, {why}. Write .parquet (which holds it), or convert "
        f"the column first (e.g. .astype(str)).")


def check_gpkg_values(table, layer, row_offset=0):
    """Refuse (``InputError`` naming the column, the row and the remedy) a value that a
    GeoPackage cannot hold exactly: integers beyond the signed 64-bit range, times
    finer than a millisecond, text holding a NUL character (cut there by SQLite).
    ``row_offset`` is added to row numbers (``table`` is a chunk of a larger table)."""
    for name in table.columns:
        _check_gpkg_column(table[name], name, layer, row_offset)


def _check_gpkg_column(column, name, layer, row_offset):
    """``check_gpkg_values`` for one column."""
    def refuse(position, value, why):
        return _gpkg_refusal(name, position + row_offset, value, why, layer)

    too_large = "beyond the 64-bit signed integers it stores"
    too_fine = "finer than the millisecond it stores (round with .dt.floor('ms') to drop the rest)"
    nul = "a NUL character, where SQLite cuts the text"
    dtype = column.dtype
    if dtype.kind == "u" and dtype.itemsize == 8:  # left unsigned: a value is too large
        position = int(np.flatnonzero(column.fillna(0).to_numpy() > _INT64_MAX)[0])
        raise refuse(position, int(column.iloc[position]), too_large)
    if dtype.kind == "M":
        fine = (column - column.dt.floor("ms")).fillna(pd.Timedelta(0)) != pd.Timedelta(0)
        if fine.any():
            position = int(np.flatnonzero(fine.to_numpy())[0])
            raise refuse(position, str(column.iloc[position]), too_fine)
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        cut = column.str.contains("\x00", regex=False).fillna(False).to_numpy(bool)
        if cut.any():
            position = int(np.flatnonzero(cut)[0])
            raise refuse(position, column.iloc[position], nul)
    if not pd.api.types.is_object_dtype(dtype):
        return
    for position, value in enumerate(column.tolist()):
        if isinstance(value, str) and "\x00" in value:
            raise refuse(position, value, nul)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
                and not -_INT64_MAX - 1 <= int(value) <= _INT64_MAX:
            raise refuse(position, int(value), too_large)
        if isinstance(value, (datetime.datetime, pd.Timestamp)) \
                and pd.Timestamp(value) != pd.Timestamp(value).floor("ms"):
            raise refuse(position, str(value), too_fine)


def _json_number(value):
    """A float as JSON: the shortest text that reads back as the same float64 (Python's
    ``repr``, as the ``json`` module writes), ``null`` for NaN and infinity."""
    return repr(value) if math.isfinite(value) else "null"


def _json_cell(value):
    """One cell as JSON text: numbers exactly, dates and durations ISO 8601 (every
    digit), nested values as JSON, anything else as its text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _json_number(float(value))
    if isinstance(value, str):
        return _JSON_TEXT(value)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return "null"
    if isinstance(value, (datetime.date, datetime.time, pd.Timedelta)):
        return _JSON_TEXT(value.isoformat())
    if isinstance(value, (dict, list, tuple, set, frozenset, np.ndarray)):
        return json.dumps(_json_safe(value), default=json_default, allow_nan=False,
                          separators=(",", ":"))
    return _JSON_TEXT(str(value))


def _json_column(column):
    """The JSON text of each cell of ``column`` (a list)."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = column.to_numpy(np.float64)
        texts = list(map(repr, values.tolist()))  # float.__repr__: shortest, exact
        for row in np.flatnonzero(~np.isfinite(values)):
            texts[row] = "null"
        return texts
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return list(map(str, column.tolist()))
    if isinstance(dtype, np.dtype) and dtype.kind == "M":  # naive: ISO 8601 in its own unit
        values = column.to_numpy()
        texts = np.char.add(np.char.add('"', np.datetime_as_string(values)), '"').tolist()
        for row in np.flatnonzero(np.isnat(values)):
            texts[row] = "null"
        return texts
    values = column.tolist()
    try:  # text without missing values: the common case, at C speed
        return list(map(_JSON_TEXT, values))
    except TypeError:
        return [_json_cell(v) for v in values]


def json_records(table):
    """The JSON object text (str) of each row of ``table`` (str column names): every
    float written so that it reads back as the same float64 (shortest ``repr``), every
    integer exactly, NaN and missing values ``null``, dates ISO 8601 with every digit.
    ``pandas.DataFrame.to_json`` keeps at most 15 significant digits (``0.1 + 0.2``
    would become ``0.3``) and milliseconds.

    Examples
    --------
    >>> import pandas as pd
    >>> json_records(pd.DataFrame({"v": [0.1 + 0.2, float("nan")], "n": [2**63 - 1, 0]}))
    ['{"v":0.30000000000000004,"n":9223372036854775807}', '{"v":null,"n":0}']
    """
    if len(table.columns) == 0:
        return ["{}"] * len(table)
    keys = [_JSON_TEXT(str(name)).replace("%", "%%") + ":%s" for name in table.columns]
    template = "{" + ",".join(keys) + "}"
    return [template % row for row in zip(*(_json_column(table[n]) for n in table.columns),
                                           strict=True)]


def with_geometry(table, frame):
    """A GeoDataFrame of ``table`` with ``frame``'s geometry (name and CRS) appended."""
    name = frame.geometry.name
    if name in table.columns:
        raise InputError(f"the table has a column {name!r} besides its geometry column of that "
                         "name; rename it.")
    out = table.copy()
    out[name] = frame.geometry.to_numpy()
    return gpd.GeoDataFrame(out, geometry=name, crs=frame.crs)


def defuse_formulas(table):
    """``table`` with text a spreadsheet would run as a formula made inert.

    A text cell (or column name) starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return gets a leading ``'``, unless it is a plain number such as ``-12.5``; numeric
    columns are untouched (OWASP's advice against CSV injection).

    Examples
    --------
    >>> import pandas as pd
    >>> safe = defuse_formulas(pd.DataFrame({"a": ["=1+2", "-3", "x"], "n": [-1, 2, 3]}))
    >>> safe["a"].tolist(), safe["n"].tolist()
    (["'=1+2", '-3', 'x'], [-1, 2, 3])
    """
    table = table.copy(deep=False)  # columns are replaced, never changed in place
    for name in table.columns:
        column = table[name]
        if not (column.dtype == object or pd.api.types.is_string_dtype(column.dtype)):
            continue
        try:
            risky = (column.str.startswith(_FORMULA_START).fillna(False).astype(bool)
                     & ~column.str.fullmatch(_NUMBER).fillna(False).astype(bool))
        except AttributeError:  # an object column without any text
            continue
        if risky.any():
            table[name] = column.where(~risky, "'" + column.astype(object).where(risky, ""))
    table.columns = [_defuse_text(str(c)) for c in table.columns]
    return table


def _defuse_text(text):
    if text.startswith(_FORMULA_START) and not re.fullmatch(_NUMBER, text):
        return "'" + text
    return text
