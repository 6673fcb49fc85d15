"""A table whose points are its lon/lat columns: the geometry is built only when asked for.

A million shapely points take about a second and 200 MB to build; the writers of
GeoParquet and CSV need none of them (GeoParquet's native point encoding is the two
coordinate arrays, CSV has the columns already). ``PointTable`` keeps the rows as a
plain DataFrame beside the lon/lat arrays and builds the GeoDataFrame (EPSG:4326, Point
geometry named ``geometry``) once, the first time ``geodataframe()`` is called; it is
then the same GeoDataFrame ``points_from_xy`` would have given.
"""

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["GEOMETRY_NAME", "LonLatPoints", "PointTable", "as_geodataframe"]

GEOMETRY_NAME = "geometry"
_CRS = "EPSG:4326"


class PointTable:
    """Rows (a DataFrame without geometry) and the lon/lat (n_rows,) float64 of each row
    (NaN where the row has no coordinates): a GeoDataFrame whose geometry is deferred.

    ``table`` is owned by this object (added columns go there). Only what the writers,
    the result and the map read is offered; anything else goes through
    ``geodataframe()``.
    """

    crs = _CRS

    def __init__(self, table, lon, lat):
        self.table = table
        self.lon = np.asarray(lon, dtype=np.float64)
        self.lat = np.asarray(lat, dtype=np.float64)
        self._geometry_position = len(table.columns)  # columns added later come after it
        self._frame = None

    def __len__(self):
        return len(self.table)

    @property
    def columns(self):
        """The columns of ``geodataframe()``: the table's, ``geometry`` after those it had
        when made (columns added since come after it)."""
        columns, at = self.table.columns, self._geometry_position
        return columns[:at].append(pd.Index([GEOMETRY_NAME])).append(columns[at:])

    @property
    def index(self):
        return self.table.index

    @property
    def geometry(self):
        """The points as a ``LonLatPoints`` (``.name``, ``.iloc[rows]``, ``.geom_type``)."""
        return LonLatPoints(self.lon, self.lat, self.table.index)

    def __getitem__(self, column):
        if column == GEOMETRY_NAME:
            return self.geodataframe()[GEOMETRY_NAME]
        return self.table[column]

    def __setitem__(self, column, values):
        if self._frame is not None:
            self._frame[column] = values
        self.table[column] = values

    def drop(self, columns):
        """The table without ``columns`` (the geometry is not in it: a DataFrame)."""
        columns = [columns] if isinstance(columns, str) else list(columns)
        return self.table.drop(columns=[c for c in columns if c != GEOMETRY_NAME])

    def to_crs(self, crs):
        return self.geodataframe().to_crs(crs)

    def geodataframe(self):
        """The GeoDataFrame of these rows with their Point geometry, built once."""
        if self._frame is None:
            table, at = self.table, self._geometry_position
            frame = gpd.GeoDataFrame(table.iloc[:, :at],
                                     geometry=gpd.points_from_xy(self.lon, self.lat), crs=_CRS)
            for position in range(at, table.shape[1]):
                frame[table.columns[position]] = table.iloc[:, position].array
            self._frame = frame
        return self._frame


class LonLatPoints:
    """Points of some rows as lon/lat arrays: what ``io.geometry_points`` reads without
    building shapely points, and ``iloc`` to take rows of them."""

    name = GEOMETRY_NAME
    crs = _CRS

    def __init__(self, lon, lat, index=None):
        self.lon, self.lat, self.index = lon, lat, index

    def __len__(self):
        return len(self.lon)

    @property
    def iloc(self):
        return _Rows(self)

    @property
    def geom_type(self):
        return pd.Series(np.full(len(self.lon), "Point", dtype=object))

    def to_geoseries(self):
        return gpd.GeoSeries(gpd.points_from_xy(self.lon, self.lat), crs=_CRS)


class _Rows:
    def __init__(self, points):
        self._points = points

    def __getitem__(self, rows):
        p = self._points
        if _every_row(rows, len(p.lon)):  # a map takes every labelled row: no copy
            return p
        index = None if p.index is None else p.index[rows]
        return LonLatPoints(p.lon[rows], p.lat[rows], index)


def _every_row(rows, n, step=65_536):
    """Whether the integer positions ``rows`` are ``0, 1, ..., n - 1`` (checked in pieces,
    without an array of ``n`` temporaries)."""
    if not (isinstance(rows, np.ndarray) and rows.dtype.kind in "iu" and rows.shape == (n,)):
        return False
    for start in range(0, n, step):
        piece = rows[start:start + step]
        if not np.array_equal(piece, np.arange(start, start + len(piece))):
            return False
    return True


def as_geodataframe(frame):
    """``frame`` as a GeoDataFrame: a ``PointTable``'s, built once; anything else as it is."""
    return frame.geodataframe() if isinstance(frame, PointTable) else frame
