"""Checks for what GPS data get wrong: points at (0, 0), repeated points, a seeding box
beside the data.

Receivers that fail to get a fix often report exactly (0, 0), "Null Island" in the Gulf
of Guinea; a cluster forms there and pulls a centroid thousands of kilometres away. Exact
duplicates (a device reporting the same fix again, a table joined twice) weigh a place
more than once. Each check counts; the model warns (``GeoKMeansWarning``, once per fit)
or shows the count in a result's summary.
"""

import warnings

import numpy as np
import pandas as pd

from ._formatting import format_size
from .errors import GeoKMeansWarning

__all__ = [
    "count_duplicates",
    "count_null_island",
    "in_box",
    "warn_empty_box",
    "warn_null_island",
]


def count_null_island(lon, lat):
    """How many points are exactly at lon 0, lat 0.

    >>> count_null_island(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1e-9, 0.0]))
    1
    """
    return int(np.count_nonzero((np.asarray(lon) == 0.0) & (np.asarray(lat) == 0.0)))


def count_duplicates(lon, lat):
    """How many points repeat the exact (lon, lat) of an earlier point (``n`` minus the
    number of distinct places; -0.0 is 0.0).

    >>> count_duplicates(np.array([1.0, 1.0, 1.0, 2.0]), np.array([5.0, 5.0, 5.0, 5.0]))
    2
    """
    lon = np.asarray(lon, dtype=np.float64) + 0.0  # -0.0 + 0.0 is 0.0
    lat = np.asarray(lat, dtype=np.float64) + 0.0
    if lon.size < 2:
        return 0
    # one 64-bit key per point from both bit patterns: equal places have equal keys.
    # Sorting the keys (a radix-friendly integer sort) finds the repeated ones; only the
    # rows with such a key are compared exactly (a key shared by different places is
    # counted there as two places). A hash table of a million distinct pairs costs
    # several times more.
    key = lon.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ lat.view(np.uint64)
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not repeated.size:
        return 0
    rows = np.isin(key, repeated)
    return int(pd.DataFrame({"lon": lon[rows], "lat": lat[rows]}).duplicated().sum())


def in_box(lon, lat, west, south, east, north):
    """Mask of the points inside the (west, south, east, north) box, edges included;
    ``west > east`` crosses the 180° meridian.

    >>> in_box(np.array([179.5, -179.5, 0.0]), np.zeros(3), 179.0, -1.0, -179.0, 1.0).tolist()
    [True, True, False]
    """
    lon, lat = np.asarray(lon), np.asarray(lat)
    inside_lat = (lat >= south) & (lat <= north)
    if west <= east:
        return inside_lat & (lon >= west) & (lon <= east)
    return inside_lat & ((lon >= west) | (lon <= east))


def warn_null_island(n_null, n_points, stacklevel=2):
    """One warning naming how many of ``n_points`` are at exactly (0, 0); none if 0."""
    if not n_null:
        return
    share = n_null / max(n_points, 1)
    warnings.warn(
        f"{format_size(n_null)} of {format_size(n_points)} points ({share:.1%}) are at "
        "exactly lon 0, lat 0 (\"Null Island\"), usually failed GPS fixes; they are "
        "clustered as a place in the Gulf of Guinea: remove them or make their "
        "coordinates missing (dropna=True skips missing ones).",
        GeoKMeansWarning, stacklevel=stacklevel + 1)


def warn_empty_box(box, n_points, extent, stacklevel=2):
    """Warn that ``init="bbox"`` seeds in ``box`` (a ``LonLatBox``) hold none of the
    ``n_points`` points, whose ``extent`` is ``(west, width, lat_min, lat_max)``."""
    west, width, lat_min, lat_max = extent
    east = (west + width + 180.0) % 360.0 - 180.0
    given = (box.west_lon_deg, box.south_lat_deg, box.east_lon_deg, box.north_lat_deg)
    warnings.warn(
        f"bbox=({', '.join(f'{v:g}' for v in given)}) holds none of the "
        f"{format_size(n_points)} points (they span lon {west:g}..{east:g}, lat "
        f"{lat_min:g}..{lat_max:g}): init='bbox' seeds every centre away from the data; "
        "check the box and its order (west, south, east, north).",
        GeoKMeansWarning, stacklevel=stacklevel + 1)
