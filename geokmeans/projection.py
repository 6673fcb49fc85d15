"""Longitude/latitude to metres and back: a UTM zone, Earth-centred 3-D, or a named CRS."""

import functools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from .errors import CRSError, GeoKMeansWarning

__all__ = [
    "EARTH_RADIUS_M",
    "UTM_MAX_OFFSET_DEG",
    "Projection",
    "AREA_OF_USE_MARGIN_DEG",
    "auto_projection",
    "check_area_of_use",
    "choose_projection",
    "combine_extents",
    "partial_extent",
    "projection_for_extent",
    "parse_crs",
    "longitude_extent",
    "utm_zone_crs",
    "wrap_longitude",
]

#: Mean Earth radius (IUGG, R1 = (2a + b) / 3 of WGS84) used by the "sphere" mode.
EARTH_RADIUS_M = 6_371_008.8

#: "auto" keeps UTM while every point lies within this many degrees of longitude of the
#: zone's central meridian (the zone's own 3° plus 1°: scale error below 0.25%).
UTM_MAX_OFFSET_DEG = 4.0

#: A named CRS warns when data lie more than this many degrees outside its area of use.
AREA_OF_USE_MARGIN_DEG = 3.0

#: Latitude range of the UTM system.
UTM_LAT_RANGE = (-80.0, 84.0)

_WGS84 = CRS.from_epsg(4326)


def wrap_longitude(lon):
    """Longitudes wrapped into [-180, 180)."""
    return (np.asarray(lon, dtype=np.float64) + 180.0) % 360.0 - 180.0


def longitude_extent(lon, *more):
    """Smallest arc of longitudes holding every value: ``(west, east, width_deg)``.

    ``west > east`` when the arc crosses the 180° meridian (e.g. Fiji and Samoa:
    ``(177.0, -172.0, 11.0)``). Computed from the largest gap between sorted longitudes
    (the sort is skipped when the values span less than 180°: the gap round the 180°
    meridian is then the largest). ``more``: other arrays of longitudes, taken with
    ``lon`` as one (without joining them unless they must be sorted).
    """
    arrays = [np.asarray(values, dtype=np.float64) for values in (lon, *more)]
    filled = [values for values in arrays if values.size]
    # numpy's min/max of the arrays' own: a NaN anywhere gives NaN (the sorting path)
    low = float(np.min([values.min() for values in filled])) if filled else np.nan
    high = float(np.max([values.max() for values in filled])) if filled else np.nan
    values = None
    if -180.0 <= low and high + 180.0 < 360.0:  # NaN fails both
        # already wrapped, and wrapping rounds monotonically there: the extremes of the
        # wrapped values are the wrapped extremes (no copy of the values)
        first, last = float(wrap_longitude(low)), float(wrap_longitude(high))
    else:
        values = _wrapped_copy(arrays)
        first, last = float(values.min()), float(values.max())
    if first == last:
        return first, first, 0.0
    around = first + 360.0 - last  # from the last value round to the first
    if around > 180.0:  # every gap between values is shorter: no need to sort
        return first, last, float(360.0 - around)
    if values is None:
        values = _wrapped_copy(arrays)
    # sorted in place, repeats kept: a repeat adds a gap of 0, never the largest one (one
    # temporary of n instead of np.unique's several)
    values.sort()
    gaps = np.diff(values)
    inner = int(np.argmax(gaps))
    if around > gaps[inner]:
        return first, last, float(360.0 - around)
    return float(values[inner + 1]), float(values[inner]), float(360.0 - gaps[inner])


def _wrapped_copy(arrays):
    """The arrays' longitudes joined in one new array, wrapped into [-180, 180)."""
    values = np.concatenate(arrays) if len(arrays) > 1 else arrays[0].copy()
    values += 180.0
    np.remainder(values, 360.0, out=values)
    values -= 180.0
    return values


def utm_zone_crs(lon, lat):
    """The UTM CRS (EPSG:326zz north / 327zz south) for a point; zones by 6° of longitude.

    >>> utm_zone_crs(-73.97, 40.78).to_epsg()  # Manhattan
    32618
    """
    zone = int(np.floor((wrap_longitude(lon) + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@functools.lru_cache(maxsize=32)
def _inverse_transformer(crs):
    return Transformer.from_crs(crs, _WGS84, always_xy=True)


#: Points per thread when projecting to a CRS, at least: pyproj releases the GIL while it
#: transforms, so a million points take 0.10 s on two cores instead of 0.16 s on one.
PROJECT_PIECE = 250_000


@functools.lru_cache(maxsize=32)
def _forward_transformers(crs, n):
    """``n`` lon/lat -> ``crs`` transformers, one for each thread of ``_project``."""
    return tuple(Transformer.from_crs(_WGS84, crs, always_xy=True) for _ in range(n))


def _project(crs, lon, lat, factor):
    """(n, 2) ``crs`` coordinates times ``factor`` of lon/lat (n,), in pieces of at least
    ``PROJECT_PIECE`` points on up to 4 threads (each point's result does not depend on
    the pieces)."""
    n = lon.shape[0]
    n_threads = max(1, min(os.cpu_count() or 1, 4, n // PROJECT_PIECE))
    transformers = _forward_transformers(crs, n_threads)
    bounds = np.linspace(0, n, n_threads + 1).astype(np.int64)
    # transformed in place, in buffers of this thread: arrays the workers allocated would
    # stay resident in their threads' malloc arenas once freed
    xy = np.stack([lon, lat])
    out = np.empty((n, 2))

    def piece(i):
        rows = slice(bounds[i], bounds[i + 1])
        transformers[i].transform(xy[0, rows], xy[1, rows], inplace=True)
        np.multiply(xy[0, rows], factor, out=out[rows, 0])
        np.multiply(xy[1, rows], factor, out=out[rows, 1])

    if n_threads == 1:
        piece(0)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(piece, range(n_threads)))  # re-raises a piece's error
    return out


@dataclass(frozen=True)
class Projection:
    """How lon/lat become metres: ``mode`` is "utm", "crs" or "sphere".

    ``crs`` is the projected ``pyproj.CRS`` for "utm" and "crs", ``None`` for "sphere".
    ``forward`` gives (n, 2) metres for a projected CRS and (n, 3) Earth-centred metres
    on a sphere of radius ``EARTH_RADIUS_M`` for "sphere", where chord distance grows
    with great-circle distance, so the nearest centre by chord is the nearest along the
    surface. ``inverse`` maps coordinates (including centres) back to lon/lat.
    """

    mode: str
    crs: CRS | None = None

    def __post_init__(self):
        if self.mode not in ("utm", "crs", "sphere"):
            raise CRSError(f"mode={self.mode!r} is not valid; choose 'utm', 'crs' or 'sphere'.")
        if (self.mode == "sphere") != (self.crs is None):
            raise CRSError("mode='sphere' takes no crs; 'utm' and 'crs' need a projected crs.")

    @property
    def name(self):
        """``"sphere"`` or the CRS as ``"EPSG:n"`` (or its name when it has no EPSG code)."""
        if self.crs is None:
            return "sphere"
        code = self.crs.to_epsg()
        return f"EPSG:{code}" if code else self.crs.name

    @property
    def n_dims(self):
        return 3 if self.mode == "sphere" else 2

    @property
    def sphere_radius_m(self):
        """Radius centres are constrained to (``None`` for planar modes)."""
        return EARTH_RADIUS_M if self.mode == "sphere" else None

    @property
    def _metres_per_unit(self):
        return self.crs.axis_info[0].unit_conversion_factor

    def forward(self, lon, lat):
        """Project lon/lat (degrees, (n,)) to an (n, 2 or 3) float64 array in metres."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if self.mode == "sphere":
            lam, phi = np.radians(lon), np.radians(lat)
            cos_phi = np.cos(phi)
            return EARTH_RADIUS_M * np.column_stack(
                [cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)]
            )
        out = _project(self.crs, lon.reshape(-1), lat.reshape(-1), self._metres_per_unit)
        if not np.isfinite(out).all():
            row = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
            raise CRSError(
                f"point {row} (lon={lon[row]}, lat={lat[row]}) cannot be projected to "
                f"{self.name}: it lies outside the CRS's area of use. Use crs='sphere' or "
                "a CRS covering the data."
            )
        return out

    def inverse(self, X):
        """Map (n, 2 or 3) metres back to ``(lon, lat)`` in degrees, lon in [-180, 180)."""
        X = np.asarray(X, dtype=np.float64)
        if self.mode == "sphere":
            lon = np.degrees(np.arctan2(X[:, 1], X[:, 0]))
            lat = np.degrees(np.arctan2(X[:, 2], np.hypot(X[:, 0], X[:, 1])))
            return wrap_longitude(lon), lat
        scaled = X / self._metres_per_unit
        lon, lat = _inverse_transformer(self.crs).transform(scaled[:, 0], scaled[:, 1])
        return wrap_longitude(lon), np.asarray(lat, dtype=np.float64)


def _named_projection(crs):
    if isinstance(crs, (bool, np.bool_, float)) or crs is None:
        raise CRSError(f"crs={crs!r} is not a CRS; use 'auto', 'sphere', or a projected CRS "
                       "such as 'EPSG:32618'.")
    try:
        parsed = CRS.from_user_input(crs)
    except (PyprojCRSError, TypeError, ValueError) as exc:
        raise CRSError(
            f"crs={crs!r} is not a CRS pyproj understands ({exc}); use 'auto', 'sphere', "
            "or a projected CRS such as 'EPSG:32618'."
        ) from None
    if parsed.is_geographic:
        raise CRSError(
            f"crs={crs!r} is geographic (degrees): k-means needs distances in metres. "
            "Use 'auto', 'sphere', or a projected CRS such as a UTM zone."
        )
    if not parsed.is_projected:
        raise CRSError(f"crs={crs!r} is not a projected CRS; use 'auto', 'sphere' or a "
                       "projected CRS.")
    return Projection("crs", parsed)


def parse_crs(crs):
    """The ``Projection`` a ``crs`` parameter names, or None for ``"auto"`` (decided
    from the data). Raises ``CRSError`` for anything that is not a projected CRS, so a
    bad ``crs`` is reported before any data are read."""
    if isinstance(crs, Projection):
        return crs
    if isinstance(crs, str) and crs.lower() == "sphere":
        return Projection("sphere")
    if isinstance(crs, str) and crs.lower() == "auto":
        return None
    return _named_projection(crs)


def _arc_within(west, width, area_west, area_width):
    """True when the arc of longitudes [west, west + width] lies in the area's arc."""
    if area_width >= 360.0:
        return True
    return (west - area_west) % 360.0 + width <= area_width


def check_area_of_use(projection, west, width, lat_min, lat_max,
                      margin_deg=AREA_OF_USE_MARGIN_DEG):
    """Warn (``GeoKMeansWarning``) when data extend more than ``margin_deg`` beyond the
    area of use pyproj gives for a named CRS (e.g. UTM zone 18N for Australian data):
    such a projection distorts distances there. The data's extent is the arc of
    longitudes from ``west`` (``width`` degrees; antimeridian-aware) and the latitude
    range. CRSs without an area of use, "utm" and "sphere" modes are not checked.
    Returns True when the data fit.
    """
    if projection.mode != "crs":
        return True
    area = projection.crs.area_of_use
    if area is None:
        return True
    area_width = (area.east - area.west) % 360.0
    if area_width == 0.0 and area.east != area.west:
        area_width = 360.0
    inside = (_arc_within(west, width, area.west - margin_deg, area_width + 2 * margin_deg)
              and lat_min >= area.south - margin_deg and lat_max <= area.north + margin_deg)
    if not inside:
        east = float(wrap_longitude(west + width))
        warnings.warn(
            f"crs={projection.name} ({projection.crs.name}) is meant for lon {area.west:g} to "
            f"{area.east:g}, lat {area.south:g} to {area.north:g} (its area of use), but the "
            f"data span lon {west:.6g} to {east:.6g}, lat {lat_min:.6g} to {lat_max:.6g}: "
            "distances there are distorted. Use crs='auto' or a CRS meant for the data.",
            GeoKMeansWarning,
            stacklevel=4,
        )
    return inside


def choose_projection(lon, lat, crs="auto"):
    """Pick the projection for these points.

    ``crs="auto"``: the UTM zone of the middle of the data when every point lies within
    ``UTM_MAX_OFFSET_DEG`` of that zone's central meridian (antimeridian-aware) and
    within UTM's latitudes (-80..84); otherwise ``"sphere"``. ``crs="sphere"``:
    Earth-centred 3-D coordinates. Anything else is parsed by pyproj and must be a
    projected CRS; a geographic CRS raises ``CRSError``, and data reaching more than
    ``AREA_OF_USE_MARGIN_DEG`` beyond the CRS's area of use give a ``GeoKMeansWarning``.

    >>> choose_projection([-74.0, -73.9], [40.7, 40.8]).name
    'EPSG:32618'
    >>> choose_projection([178.0, 179.5, -179.8], [-17.0, -16.5, -16.8]).name  # Fiji
    'EPSG:32760'
    >>> choose_projection([-122.4, -74.0], [37.8, 40.7]).name  # too wide for one zone
    'sphere'
    """
    parsed = parse_crs(crs)
    if parsed is not None and (parsed.mode != "crs" or isinstance(crs, Projection) or lon is None):
        return parsed
    lat = np.asarray(lat, dtype=np.float64)
    west, east, width = longitude_extent(lon)
    if parsed is not None:  # a CRS the user named: does it cover the data?
        check_area_of_use(parsed, west, width, float(lat.min()), float(lat.max()))
        return parsed
    return auto_projection(west, width, float(lat.min()), float(lat.max()))


def auto_projection(west, width, lat_min, lat_max):
    """The ``"auto"`` choice from the data's extent: the arc of longitudes starting at
    ``west`` (degrees) and ``width`` degrees wide, and the latitude range.

    Every point lies within ``UTM_MAX_OFFSET_DEG`` of the zone's central meridian exactly
    when both ends of the arc do, so the extent alone decides (used for data in
    partitions, whose extents are combined without gathering the points).
    """
    if lat_min < UTM_LAT_RANGE[0] or lat_max > UTM_LAT_RANGE[1]:
        return Projection("sphere")
    middle = float(wrap_longitude(west + width / 2.0))
    zone_crs = utm_zone_crs(middle, (lat_min + lat_max) / 2.0)
    central_meridian = -183.0 + 6.0 * (zone_crs.to_epsg() % 100)
    ends = wrap_longitude(np.array([west, west + width]) - central_meridian)
    if np.abs(ends).max() > UTM_MAX_OFFSET_DEG or width > 2 * UTM_MAX_OFFSET_DEG:
        return Projection("sphere")
    return Projection("utm", zone_crs)


def partial_extent(lon, lat):
    """Summary of some points' extent, combinable with others' (``combine_extents``):
    longitude min/max in [-180, 180) and in [0, 360), latitude min/max and the number of
    points; None for no points."""
    if len(lon) == 0:
        return None
    lon360 = np.where(lon < 0, lon + 360.0, lon)
    return (float(lon.min()), float(lon.max()), float(lon360.min()), float(lon360.max()),
            float(lat.min()), float(lat.max()), int(len(lon)))


def combine_extents(parts):
    """``(west, width, lat_min, lat_max)`` of the points summarised by ``parts`` (from
    ``partial_extent``; None entries skipped): the narrower of the arcs of longitude
    seen from -180° and from 0°, so data across the 180° meridian get a narrow arc.
    Written for points in pieces (Dask partitions) and used for points in memory too,
    so both choose the same projection and the same default seeding box."""
    parts = [p for p in parts if p is not None]
    lon_min, lon_max, l360_min, l360_max, lat_min, lat_max, _ = zip(*parts, strict=True)
    plain = (min(lon_min), max(lon_max) - min(lon_min))
    shifted = (min(l360_min), max(l360_max) - min(l360_min))
    west, width = plain if plain[1] <= shifted[1] else shifted
    return float(wrap_longitude(west)), float(width), min(lat_min), max(lat_max)


def projection_for_extent(crs, west, width, lat_min, lat_max):
    """The projection ``crs`` names for data of this extent (see ``choose_projection``):
    ``"auto"`` decides from the extent; a named CRS is checked against its area of use."""
    projection = parse_crs(crs)
    if projection is None:
        return auto_projection(west, width, lat_min, lat_max)
    if projection.mode == "crs" and not isinstance(crs, Projection):
        check_area_of_use(projection, west, width, lat_min, lat_max)
    return projection
