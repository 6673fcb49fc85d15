"""Tables made writable: the non-geometry columns with str names, a named index as
columns, cells each format can hold, spreadsheet formulas made inert."""

import base64
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError

__all__ = ["defuse_formulas", "json_default", "lonlat", "portable", "user_table",
           "with_geometry"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PLAIN_KINDS = {"string", "empty", "integer", "floating", "mixed-integer-float", "boolean",
                "decimal", "datetime64", "datetime", "date", "time", "timedelta",
                "timedelta64", "complex"}


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
    for original, name in zip(table.columns, names):
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
        return value.wkt
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=repr)
    if target in ("text", "gpkg") and isinstance(value, (dict, list, tuple, np.ndarray)):
        return json.dumps(value, default=json_default)
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


def portable(table, target):
    """``table`` with the cells ``target`` ("json", "text", "gpkg", "parquet") cannot hold
    converted: binary as base64 text (JSON, text), geometry cells as WKT, nested values
    as JSON text (text, GeoPackage), periods and durations as text and times with a zone
    in UTC (GeoPackage)."""
    table = table.copy()
    for name in table.columns:
        column = table[name]
        dtype = column.dtype
        if isinstance(dtype, gpd.array.GeometryDtype):
            if target != "parquet":
                table[name] = pd.Series(column.to_wkt().to_numpy(), dtype=object)
            continue
        if isinstance(dtype, pd.CategoricalDtype) and target != "parquet":
            column = table[name] = pd.Series(np.asarray(column, dtype=object), dtype=object)
            dtype = column.dtype
        if isinstance(dtype, pd.DatetimeTZDtype) and target == "gpkg":
            table[name] = column.dt.tz_convert("UTC")  # the GeoPackage DATETIME form
        elif isinstance(dtype, pd.PeriodDtype) and target != "parquet":
            table[name] = column.astype(str).where(column.notna(), None)
        elif pd.api.types.is_timedelta64_dtype(dtype) and target == "gpkg":
            table[name] = pd.Series([v.isoformat() if pd.notna(v) else None for v in column],
                                    dtype=object)
        elif dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in _PLAIN_KINDS:
            table[name] = pd.Series([_cell(v, target) for v in column], dtype=object)
    return table


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
    table = table.copy()
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
