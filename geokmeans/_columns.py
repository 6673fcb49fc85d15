"""Find a table's latitude, longitude and weight columns and read them as checked float64.

Names are exact when given and detected in any case otherwise; a name matching more than
one column is refused, never guessed. Errors name the row as the user numbers it
(``row 3 (index 'abc')``).
"""

import numbers

import geopandas as gpd
import numpy as np
import pandas as pd

from ._validation import as_real_array, check_sample_weight
from .errors import DataTypeError, InputError

__all__ = ["LAT_NAMES", "LON_NAMES", "lonlat_from_columns", "read_weights", "row_name"]

LAT_NAMES = ("lat", "latitude", "y")
LON_NAMES = ("lon", "lng", "long", "longitude", "x")


def row_name(frame, position, row_offset=0):
    """``"row 3"``, and ``"row 3 (index 'abc')"`` when the frame's index labels are not
    its row numbers (a RangeIndex from ``row_offset``), so either can be looked up."""
    name = f"row {position + row_offset}"
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.step == 1 and index.start == row_offset:
        return name
    label = index[position]
    label = tuple(map(_plain, label)) if isinstance(label, tuple) else _plain(label)
    return f"{name} (index {label!r})"


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value



def lonlat_from_columns(frame, lat, lon, has_geometry, row_offset=0):
    """lon, lat (n_rows,) float64 read from the latitude and longitude columns (``lat`` and
    ``lon`` name them, else they are detected) and the ``(lon, lat)`` column names.

    ``has_geometry``: the frame is a GeoDataFrame whose geometry was not used (no CRS),
    for the message when no columns are found.
    """
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
    return lon_values, lat_values, (lon_col, lat_col)


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
            raise DataTypeError(f"{label} must be numeric: {row_name(frame, row, row_offset)} is "
                                f"{original.iloc[row]!r}.")
    if kind == "f" and isinstance(original.dtype, np.dtype):  # numbers already
        return original.to_numpy(dtype=np.float64)
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
            f"{label} must be numeric: {row_name(frame, row, row_offset)} is {value!r}.{hint}"
        )
    return values


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


def _check_geometry_name(frame):
    """A table whose points are built from columns must not have another ``geometry``."""
    own = frame._geometry_column_name if isinstance(frame, gpd.GeoDataFrame) else None
    if "geometry" in frame.columns and own != "geometry":
        raise InputError(
            "the input has a column 'geometry' that is not its geometry; the points built from "
            "its lat/lon columns need that name. Rename the column (e.g. "
            "df.rename(columns={'geometry': 'geometry_text'}))."
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


def read_weights(frame, weight, valid, row_offset=0, all_zero=False):
    """The weights of the kept rows (``valid``), checked, from ``weight``: None, a
    column name, or one weight per row (a Series aligned by label); ``all_zero``: every
    weight may be 0 (a partition of a larger input)."""
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
        check_sample_weight(values[valid], int(valid.sum()), all_zero=all_zero)
    except InputError as exc:
        # re-check on all rows to name the row in the user's numbering
        bad = valid & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} must be finite and >= 0: {row_name(frame, row, row_offset)} is "
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
