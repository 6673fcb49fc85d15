"""The lon/lat of a geometry column: points as they are, polygons by one point each.

A Polygon or MultiPolygon is clustered by its *representative point*:

1. its centroid on the Earth: the centroid of its image in a Lambert azimuthal
   equal-area projection (on the sphere of radius ``projection.EARTH_RADIUS_M``) centred
   on that centroid itself, the point about which the polygon's equal-area image
   balances. It is found by re-centring the projection on the last centroid until it
   moves less than ``TOLERANCE_M`` (at most ``MAX_PASSES`` projections; a tract needs
   one, a continent a few, a polygon a third of the Earth wide about ten). Equal-area
   and centred on the polygon, the projection weighs every square metre alike, whatever
   the latitude; the polygon is never drawn in degrees, so one across the 180° meridian
   (a MultiPolygon cut there, as RFC 7946 asks) or around a pole gets its point where
   its area is;
2. if that centroid is not inside the polygon (a crescent, an archipelago, a ring
   around a lake), shapely's ``representative_point()`` of the polygon in its own
   coordinates instead, which always is.

Edges are straight in the polygon's own CRS (as GeoJSON, shapefiles and GEOS take them):
they are cut into pieces of at most ``MAX_SEGMENT_DEG`` (lon/lat CRSs) or
``MAX_SEGMENT_M`` (projected CRSs) before the projection, so that it follows them.

Refused with an ``InputError`` naming the row: a vertex that is not finite, an invalid
polygon (self-intersecting ...: ``make_valid`` is left to the user, who sees what it
does), lon/lat outside [-180, 180] x [-90, 90], a part spanning more than 180° of
longitude without reaching a pole (most often a polygon across the 180° meridian that
was not cut there), and a polygon holding the point opposite its own centre (a polygon
around the whole Earth, which no single point represents). Other geometries than points
and polygons (lines, collections) are refused too.
"""

import numpy as np
import shapely

from ._columns import row_name
from ._crs_lonlat import checked_lonlat, is_lonlat, lonlat_transformer
from .errors import InputError
from .projection import EARTH_RADIUS_M

__all__ = ["MAX_PASSES", "MAX_SEGMENT_DEG", "MAX_SEGMENT_M", "POLYGON_TYPES", "TOLERANCE_M",
           "geometry_lonlat", "representative_lonlat"]

#: The geometry types read as polygons.
POLYGON_TYPES = ("Polygon", "MultiPolygon")

#: Longest edge piece projected, in degrees (CRSs of longitude/latitude) ...
MAX_SEGMENT_DEG = 0.25
#: ... and in metres (projected CRSs).
MAX_SEGMENT_M = 10_000.0
#: The representative point is a fixed point of the re-centred projection to this many metres.
TOLERANCE_M = 0.001
#: Most projections per polygon.
MAX_PASSES = 25

_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6  # shapely type ids
_TYPE_NAMES = {1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
               7: "GeometryCollection"}
_HINTS = {
    "LineString": "gdf.geometry.interpolate(0.5, normalized=True) gives the midpoint of each "
                  "line",
    "MultiPoint": "gdf.explode() gives one row per point",
}


def geometry_lonlat(frame, row_offset=0):
    """lon, lat (n_rows,) of a GeoDataFrame's geometry (it has a CRS): a point's own
    coordinates, a polygon's representative point (see the module docstring); NaN for a
    missing (None) or empty geometry and for a point of NaN coordinates.

    Points with a z coordinate are used by their lon/lat (the height is ignored).
    ``row_offset`` is added to the row numbers of messages.
    """
    values = frame.geometry.to_numpy()
    types = shapely.get_type_id(values)
    missing = (types < 0) | shapely.is_empty(values)
    points = ~missing & (types == _POINT)
    polygons = ~missing & ((types == _POLYGON) | (types == _MULTIPOLYGON))
    other = np.flatnonzero(~missing & ~points & ~polygons)
    if other.size:
        _refuse_type(frame, int(other[0]), _TYPE_NAMES.get(int(types[other[0]]), "geometry"),
                     row_offset)

    def name_row(position):
        return row_name(frame, position, row_offset)

    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    crs = frame.crs
    if points.any():
        xy = shapely.get_coordinates(values[points], include_z=False)
        if is_lonlat(crs):
            lon[points], lat[points] = xy[:, 0], xy[:, 1]
        else:
            lon[points], lat[points] = checked_lonlat(xy, crs, np.flatnonzero(points), name_row)
    if polygons.any():
        lon[polygons], lat[polygons] = representative_lonlat(
            values[polygons], crs, np.flatnonzero(polygons), name_row)
    return lon, lat


def _refuse_type(frame, row, kind, row_offset):
    hint = _HINTS.get(kind, "gdf.geometry.representative_point() gives one point per row")
    raise InputError(
        f"geometry must be points or polygons: {row_name(frame, row, row_offset)} is a {kind}. "
        f"Give one point or polygon per row: {hint}."
    )


def representative_lonlat(geoms, crs, rows, name_row):
    """lon, lat (m,) of the representative points of ``geoms`` (m,), non-empty Polygons
    and MultiPolygons in ``crs`` (a pyproj CRS); see the module docstring.

    ``rows`` (m,) are the geometries' row positions and ``name_row(position)`` names one
    in messages.
    """
    geoms = shapely.force_2d(np.asarray(geoms, dtype=object))
    rows = np.asarray(rows)
    _check_shapes(geoms, rows, name_row)
    transformer = None if is_lonlat(crs) else lonlat_transformer(crs)
    lon, lat, owner = _vertices_lonlat(geoms, crs, transformer, rows, name_row)
    if crs.is_geographic:
        _check_ranges(lon, lat, rows[owner], name_row)
    dense = _densified(geoms, _max_segment(crs))
    if dense is not geoms:
        lon, lat, owner = _vertices_lonlat(dense, crs, transformer, rows, name_row)
    if crs.is_geographic:
        _check_spans(dense, lon, lat, rows, name_row)
    centres, degenerate = _balance(dense, _unit_vectors(lon, lat), owner)
    centre_lon, centre_lat = _lonlat_of(centres)
    _check_not_whole_earth(geoms, centre_lon, centre_lat, degenerate, transformer, rows,
                           name_row)
    return _inside_or_representative(geoms, centre_lon, centre_lat, transformer)


def _vertices_lonlat(geoms, crs, transformer, rows, name_row):
    """lon, lat and geometry position of every vertex of ``geoms`` (checked: a vertex
    outside the domain of its CRS is an error naming the row)."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    if transformer is None:
        return xy[:, 0].copy(), xy[:, 1].copy(), owner
    lon, lat = checked_lonlat(xy, crs, rows[owner], name_row, transformer)
    return lon, lat, owner


def _max_segment(crs):
    """The longest edge piece, in the CRS's units (``MAX_SEGMENT_DEG`` or ``MAX_SEGMENT_M``)."""
    # radians or metres per unit (a CRS without axes, if any: degrees or metres)
    per_unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else (
        np.radians(1.0) if crs.is_geographic else 1.0)
    if crs.is_geographic:
        return np.radians(MAX_SEGMENT_DEG) / per_unit
    return MAX_SEGMENT_M / per_unit


def _densified(geoms, max_segment):
    """``geoms`` with every edge cut into pieces of at most ``max_segment`` (only those
    whose bounding box is larger than that can have a longer edge)."""
    west, south, east, north = shapely.bounds(geoms).T
    large = np.hypot(east - west, north - south) > max_segment
    if not large.any():
        return geoms
    dense = geoms.copy()
    dense[large] = shapely.segmentize(geoms[large], max_segment)
    return dense


def _check_shapes(geoms, rows, name_row):
    """Refuse a polygon with a non-finite coordinate, or an invalid one."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
    if bad.size:
        i = int(owner[bad[0]])
        raise InputError(
            f"{name_row(int(rows[i]))} is a {geoms[i].geom_type} with a non-finite coordinate "
            f"({xy[bad[0], 0]:g}, {xy[bad[0], 1]:g}); fix the polygon or drop the row "
            "(dropna=True skips missing and empty geometries only)."
        )
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        i = int(invalid[0])
        raise InputError(
            f"{name_row(int(rows[i]))} is not a valid {geoms[i].geom_type}: "
            f"{shapely.is_valid_reason(geoms[i])} ({invalid.size} invalid polygon"
            f"{'s' if invalid.size != 1 else ''}). Repair them first, e.g. with "
            "gdf.geometry.make_valid(), and check what it made of them."
        )


def _check_ranges(lon, lat, rows, name_row):
    """Refuse a lon/lat vertex outside [-180, 180] x [-90, 90]."""
    bad = np.flatnonzero((np.abs(lon) > 180.0) | (np.abs(lat) > 90.0))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{name_row(int(rows[i]))} has a vertex at lon={lon[i]:.10g}, lat={lat[i]:.10g}, "
            "outside [-180, 180] x [-90, 90]. A polygon across the 180° meridian is cut there "
            "into a MultiPolygon (RFC 7946, section 3.1.9)."
        )


def _check_spans(dense, lon, lat, rows, name_row):
    """Refuse a lon/lat part spanning more than 180° of longitude without reaching a pole:
    most often a polygon across the 180° meridian drawn the long way round."""
    parts, part_owner = shapely.get_parts(dense, return_index=True)
    counts = shapely.get_num_coordinates(parts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    west = np.minimum.reduceat(lon, starts)
    east = np.maximum.reduceat(lon, starts)
    polar = (np.minimum.reduceat(lat, starts) <= -90.0) | (np.maximum.reduceat(lat, starts) >= 90.0)
    wide = np.flatnonzero((east - west > 180.0) & ~polar)
    if wide.size:
        p = int(wide[0])
        raise InputError(
            f"{name_row(int(rows[part_owner[p]]))} spans {east[p] - west[p]:.6g}° of longitude "
            f"({west[p]:.6g} to {east[p]:.6g}) without reaching a pole. A polygon across the "
            "180° meridian is cut there into a MultiPolygon (RFC 7946, section 3.1.9); one "
            "around a pole runs along latitude 90 or -90; a band around the Earth has no "
            "single point to stand for it."
        )


def _unit_vectors(lon, lat):
    """(3, m) points on the unit sphere of lon/lat degrees (x, y, z rows)."""
    lam, phi = np.radians(lon), np.radians(lat)
    cos_phi = np.cos(phi)
    return np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


def _lonlat_of(vectors):
    """lon, lat degrees of (m, 3) vectors (lon in (-180, 180])."""
    x, y, z = vectors.T
    return np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))


def _tangent_frames(centres):
    """cos/sin of the longitude and latitude of (m, 3) unit ``centres``, and their east and
    north unit vectors (m, 3)."""
    x, y, z = centres.T
    across = np.hypot(x, y)
    at_pole = across == 0.0
    cos_lon = np.where(at_pole, 1.0, x / np.where(at_pole, 1.0, across))
    sin_lon = np.where(at_pole, 0.0, y / np.where(at_pole, 1.0, across))
    cos_lat, sin_lat = across, z
    east = np.column_stack([-sin_lon, cos_lon, np.zeros_like(x)])
    north = np.column_stack([-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat])
    return (cos_lon, sin_lon, cos_lat, sin_lat), east, north


def _balance(dense, unit, owner):
    """The centres (m, 3) on the unit sphere about which each geometry's equal-area image
    balances, and a mask of those whose image has no area (folded onto itself).

    ``unit`` (3, n_vertices) are the vertices of ``dense`` on the unit sphere, ``owner``
    the geometry of each. Starts from the mean of the vertices; each pass re-projects the
    geometries that are not settled yet: those that moved more than ``TOLERANCE_M``,
    unless the next move, which shrinks with the square of the polygon's angular size
    (by a factor below 0.25 of it in practice), is estimated below that.
    """
    n = int(owner[-1]) + 1
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    centres = np.add.reduceat(unit, starts, axis=1).T
    flat = np.linalg.norm(centres, axis=1) < 1e-12  # vertices balanced around the centre
    centres[flat] = unit[:, starts[flat]].T
    centres /= np.linalg.norm(centres, axis=1)[:, None]
    degenerate = np.zeros(n, dtype=bool)
    tolerance = TOLERANCE_M / EARTH_RADIUS_M
    active = np.arange(n)
    for _ in range(MAX_PASSES):
        new, moved, size, folded = _laea_pass(dense, unit, owner, centres, active)
        degenerate[active] |= folded
        centres[active] = new
        go_on = (moved > tolerance) & (moved * size**2 > tolerance) & ~folded
        active = active[go_on]
        if not active.size:
            break
    return centres, degenerate


def _laea_pass(dense, unit, owner, centres, active):
    """Project the ``active`` geometries (sorted positions) in a Lambert azimuthal
    equal-area projection centred on their ``centres``: the centroids of the images on
    the unit sphere (a, 3), the angle (radians) from each centre to its new centroid,
    the largest angle from the centre to a vertex, and a mask of images without area."""
    if len(active) == len(centres):  # the first pass: every geometry
        (px, py, pz), slot = unit, owner
    else:
        chosen = np.zeros(len(centres), dtype=bool)
        chosen[active] = True
        in_pass = chosen[owner]
        (px, py, pz), slot = unit[:, in_pass], np.searchsorted(active, owner[in_pass])
    centre = centres[active]
    (cos_lon, sin_lon, cos_lat, sin_lat), east, north = _tangent_frames(centre)
    cos_lon, sin_lon, cos_lat, sin_lat = (a[slot] for a in (cos_lon, sin_lon, cos_lat, sin_lat))
    toward = px * cos_lon + py * sin_lon
    cos_angle = cos_lat * toward + pz * sin_lat  # of each vertex from its centre
    with np.errstate(divide="ignore"):
        scale = EARTH_RADIUS_M * np.sqrt(2.0 / np.maximum(1.0 + cos_angle, 0.0))
    xy = np.column_stack([scale * (py * cos_lon - px * sin_lon),
                          scale * (pz * cos_lat - sin_lat * toward)])
    images = shapely.set_coordinates(dense[active].copy(), xy)
    centroid = shapely.centroid(images)
    x, y = shapely.get_x(centroid), shapely.get_y(centroid)
    folded = ~(shapely.area(images) > 0) | ~np.isfinite(x) | ~np.isfinite(y)
    x, y = np.where(folded, 0.0, x), np.where(folded, 0.0, y)
    starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    size = np.arccos(np.clip(np.minimum.reduceat(cos_angle, starts), -1.0, 1.0))
    new, moved = _from_laea(x, y, centre, east, north)
    return new, moved, size, folded


def _from_laea(x, y, centre, east, north):
    """Unit vectors (a, 3) of the projected points ``(x, y)`` metres of projections centred
    on ``centre`` (with its ``east`` and ``north`` vectors), and their angles from it."""
    rho = np.hypot(x, y) / EARTH_RADIUS_M
    angle = 2.0 * np.arcsin(np.minimum(rho / 2.0, 1.0))
    safe = np.where(rho > 0, rho * EARTH_RADIUS_M, 1.0)
    direction = (x[:, None] * east + y[:, None] * north) / safe[:, None]
    points = np.cos(angle)[:, None] * centre + np.sin(angle)[:, None] * direction
    return points / np.linalg.norm(points, axis=1)[:, None], angle


def _in_own_crs(lon, lat, transformer):
    """``(x, y)`` in the geometries' CRS of lon/lat points (NaN where they do not convert)."""
    if transformer is None:
        return lon, lat
    x, y = transformer.transform(lon, lat, direction="INVERSE", errcheck=False)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    return np.where(bad, np.nan, x), np.where(bad, np.nan, y)


def _covers(geoms, lon, lat, transformer):
    """Whether each geometry covers the lon/lat point (its boundary included); a point on
    the 180° meridian is tried at -180 and 180."""
    x, y = _in_own_crs(lon, lat, transformer)
    inside = shapely.covers(geoms, shapely.points(x, y))
    seam = ~inside & (np.abs(lon) == 180.0)
    if seam.any():
        x, y = _in_own_crs(-lon[seam], lat[seam], transformer)
        inside[seam] = shapely.covers(geoms[seam], shapely.points(x, y))
    return inside


def _check_not_whole_earth(geoms, lon, lat, degenerate, transformer, rows, name_row):
    """Refuse a polygon holding the point opposite its centre (or folded onto itself):
    it wraps around the Earth, and no single point stands for it."""
    opposite_lon = np.where(lon > 0, lon - 180.0, lon + 180.0)
    wraps = degenerate | _covers(geoms, opposite_lon, -lat, transformer)
    if wraps.any():
        i = int(np.flatnonzero(wraps)[0])
        raise InputError(
            f"{name_row(int(rows[i]))} is a {geoms[i].geom_type} around (nearly) the whole "
            f"Earth: it holds the point opposite its own centre (lon {opposite_lon[i]:.6g}, "
            f"lat {-lat[i]:.6g}), and no single point stands for it. Split it into smaller "
            "polygons, or give its point yourself (a Point geometry)."
        )


def _inside_or_representative(geoms, lon, lat, transformer):
    """The centroid where the polygon covers it, else its ``representative_point()`` (in
    its own CRS, converted to lon/lat)."""
    lon, lat = lon.copy(), lat.copy()
    outside = ~_covers(geoms, lon, lat, transformer)
    if outside.any():
        inner = shapely.point_on_surface(geoms[outside])
        x, y = shapely.get_x(inner), shapely.get_y(inner)
        if transformer is not None:
            x, y = transformer.transform(x, y)
        lon[outside], lat[outside] = x, y
    return lon, lat
