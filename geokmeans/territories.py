"""Territories: non-overlapping polygons, one per cluster, that cover a region.

Territory ``j`` is the set of places whose score ``|x - c_j|² + p_j`` is the least, ``x``
and the centres ``c_j`` in the model's projected coordinates (metres; Earth-centred 3-D in
sphere mode) and ``p_j`` the model's ``size_prices_`` (m², squared metres like the squared
distances; all zero without size limits): the power (Laguerre) cells of the centres, plain
Voronoi cells when the prices are equal. Every point of the fit lies in its cluster's
territory, as the fit assigns each point to the least score; with size limits by weight,
except the few rows the relaxation split between clusters and the rounding placed (see
``core._rounding``). With size limits by count and unequal weights a point's score is
``w·|x - c_j|² + p_j``: its cluster depends on its weight, no cells match, and
territories are refused.

- Projected modes (UTM, a named CRS): exact convex cells in the plane (``_power_cells``),
  their edges densified to ``1/DENSIFY_PARTS`` of the region's extent and mapped back to
  lon/lat (straight projected edges are curves in lon/lat: the vertices lie on them).
- Sphere mode: cells on the sphere, where the boundaries are small circles, found on a
  quadtree over lon/lat (``_sphere_cells``); boundaries lie within about
  ``_sphere_cells.boundary_error_m(step)`` of the exact ones (``sphere_step_deg`` chooses
  the step from the number of clusters and the region's size).

The region is ``boundary`` when given, else the data's convex hull (in the projected
plane; in sphere mode in the azimuthal equidistant plane centred on the data) buffered by
``MARGIN_FRACTION`` of the hull's larger side, at least ``MIN_MARGIN_M``; in sphere mode,
data reaching more than ``GLOBE_BEYOND_DEG`` from their centre get the whole globe.
Polygons are in EPSG:4326, cut at the 180° meridian (MultiPolygons), around a pole closed
along latitude ±90, exterior counter-clockwise.
"""

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError
from shapely.geometry.polygon import orient

from ._hull_geometry import around_pole, cut_at_antimeridian, made_valid, orient_ccw
from ._power_cells import power_cells
from ._sphere_cells import boundary_error_m, sphere_power_cells
from .errors import CRSError, DataTypeError, InputError
from .projection import EARTH_RADIUS_M

__all__ = ["DENSIFY_PARTS", "GLOBE_BEYOND_DEG", "MARGIN_FRACTION", "MIN_MARGIN_M",
           "SPHERE_LEAVES", "SPHERE_MAX_LEAVES", "boundary_error_m", "check_boundary",
           "convex_cells_to_lonlat", "data_region", "plane_to_lonlat", "prices_of",
           "result_territories", "sphere_step_deg", "territories", "territory_cells"]

#: The default region: the data's hull buffered by this fraction of its larger side ...
MARGIN_FRACTION = 0.05
#: ... and by at least this many metres.
MIN_MARGIN_M = 100.0
#: Sphere mode: data reaching farther than this from their centre get the whole globe.
GLOBE_BEYOND_DEG = 80.0
#: Planar polygons are densified to edges of at most 1/DENSIFY_PARTS of the region's extent
#: before their vertices are mapped to lon/lat.
DENSIFY_PARTS = 1000
#: Sphere mode: the quadtree's step makes the cells' boundaries cross about this many leaves
#: (estimated from the region's size; near a pole boundaries cross more) ...
SPHERE_LEAVES = 12_000
#: ... and the leaves are left larger where there would be more than this many.
SPHERE_MAX_LEAVES = 40_000
_GLOBE = shapely.box(-180.0, -90.0, 180.0, 90.0)
_LONLAT = CRS.from_epsg(4326)
_EXPECTED = ("a shapely Polygon or MultiPolygon in lon/lat (EPSG:4326), or a GeoDataFrame or "
             "GeoSeries of polygons in any CRS")


# -- the boundary ---------------------------------------------------------------------------


def check_boundary(boundary):
    """The clip region ``boundary`` names, as one lon/lat geometry (EPSG:4326), or None.

    ``boundary`` is a shapely Polygon or MultiPolygon in lon/lat (EPSG:4326), or a
    GeoDataFrame or GeoSeries of polygons in any CRS (their union, put in EPSG:4326; a
    projected one is densified first and cut at the 180° meridian). Anything else, an
    empty or invalid geometry, a frame without a CRS or coordinates outside lon/lat are
    refused (``DataTypeError``, ``InputError``, ``CRSError``) naming what was given and
    what is expected.

    >>> check_boundary(shapely.box(-77.2, 38.8, -76.9, 39.0)).bounds
    (-77.2, 38.8, -76.9, 39.0)
    """
    if boundary is None:
        return None
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return _lonlat_boundary(_frame_boundary(boundary), "the boundary's union")
    if isinstance(boundary, shapely.Geometry):
        return _lonlat_boundary(boundary, "boundary")
    text = repr(boundary)
    text = text if len(text) <= 60 else text[:57] + "..."
    raise DataTypeError(f"boundary={text} ({type(boundary).__name__}) is not a region; "
                        f"expected {_EXPECTED}.")


def _lonlat_boundary(geom, name):
    """``geom`` checked as a lon/lat region: non-empty, polygonal, finite, valid, in range."""
    if geom.is_empty:
        raise InputError(f"{name} is an empty {geom.geom_type}; expected a polygon around "
                         "the data.")
    if shapely.get_type_id(geom) not in (3, 6):
        raise DataTypeError(f"{name} is a {geom.geom_type}; expected {_EXPECTED}.")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InputError(f"{name} has non-finite coordinates; expected lon/lat numbers.")
    if not shapely.is_valid(geom):
        raise InputError(f"{name} is not a valid polygon ({shapely.is_valid_reason(geom)}); "
                         "repair it first, e.g. with shapely.make_valid.")
    west, south, east, north = geom.bounds
    if west < -180.0 or east > 180.0 or south < -90.0 or north > 90.0:
        raise InputError(
            f"{name} spans x {west:.6g} to {east:.6g}, y {south:.6g} to {north:.6g}, outside "
            "lon [-180, 180] and lat [-90, 90]: a shapely geometry is taken as lon/lat "
            "(EPSG:4326); give a GeoDataFrame or GeoSeries with its CRS for other "
            "coordinates.")
    return shapely.force_2d(geom)


def _frame_boundary(frame):
    """The union of a GeoDataFrame's or GeoSeries's polygons, in EPSG:4326."""
    geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geoms.crs is None:
        raise CRSError(f"the boundary {type(frame).__name__} has no CRS; set it (e.g. "
                       "frame.set_crs('EPSG:4326')) so that it can be put in lon/lat.")
    present = ~(geoms.isna() | geoms.is_empty)
    if not present.any():
        raise InputError(f"the boundary {type(frame).__name__} has no geometry ({len(geoms)} "
                         "rows, all empty or missing); expected polygons around the data.")
    parts, rows = geoms[present].to_numpy(), geoms[present].index.tolist()
    wrong = np.flatnonzero(~np.isin(shapely.get_type_id(parts), (3, 6)))
    if wrong.size:
        raise DataTypeError(f"boundary row {rows[wrong[0]]!r} is a "
                            f"{parts[wrong[0]].geom_type}; expected Polygon or MultiPolygon "
                            "geometries.")
    invalid = np.flatnonzero(~shapely.is_valid(parts))
    if invalid.size:
        raise InputError(f"boundary row {rows[invalid[0]]!r} is not a valid polygon "
                         f"({shapely.is_valid_reason(parts[invalid[0]])}); repair it first, "
                         "e.g. with shapely.make_valid.")
    if geoms.crs.equals(_LONLAT):
        return shapely.union_all(parts)
    try:
        inverse = Transformer.from_crs(geoms.crs, _LONLAT, always_xy=True).transform
    except PyprojCRSError as exc:
        raise CRSError(f"the boundary's CRS {geoms.crs.name!r} cannot be put in EPSG:4326 "
                       f"({exc}).") from None
    if geoms.crs.is_geographic:
        moved = shapely.transform(parts, lambda xy: np.column_stack(inverse(xy[:, 0], xy[:, 1])))
        return shapely.clip_by_rect(shapely.union_all(moved), -180.0, -90.0, 180.0, 90.0)
    return shapely.union_all([plane_to_lonlat(p, inverse) for p in parts])


# -- planar polygons to lon/lat ----------------------------------------------------------------


def _wrap180(delta):
    return (np.asarray(delta) + 180.0) % 360.0 - 180.0


def _ring_to_lonlat(xy, inverse):
    """The lon/lat polygon of a closed counter-clockwise ring ``xy`` (m, 2) of a plane
    whose ``inverse`` gives lon/lat: longitudes made continuous, then cut at the 180°
    meridian; a ring around a pole closed along latitude ±90."""
    lon, lat = inverse(xy[:-1, 0], xy[:-1, 1])
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise CRSError("a polygon reaches where its projection has no lon/lat; use "
                       "crs='sphere' or a CRS covering the region.")
    steps = _wrap180(np.diff(np.append(lon, lon[0])))
    x = lon[0] + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    winding = int(np.round(steps.sum() / 360.0))
    coords = np.column_stack([x, lat])
    if winding:
        return around_pole(coords, winding)
    polygon = shapely.Polygon(coords)
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    return cut_at_antimeridian(_polygonal(polygon), True)


def plane_to_lonlat(geom, inverse, max_segment=None):
    """A planar Polygon or MultiPolygon (holes included) as a lon/lat geometry: edges
    densified to ``max_segment`` (default: 1/``DENSIFY_PARTS`` of its larger side), each
    ring mapped with ``inverse`` ((x, y) arrays to (lon, lat) arrays) and cut at the 180°
    meridian."""
    if geom.is_empty:
        return shapely.Polygon()
    if max_segment is None:
        west, south, east, north = geom.bounds
        max_segment = max(east - west, north - south) / DENSIFY_PARTS
    pieces = []
    for part in shapely.get_parts(shapely.segmentize(geom, max_segment)):
        part = orient(part, 1.0)
        outer = _ring_to_lonlat(shapely.get_coordinates(part.exterior), inverse)
        holes = [_ring_to_lonlat(shapely.get_coordinates(ring)[::-1], inverse)
                 for ring in part.interiors]
        pieces.append(shapely.difference(outer, shapely.union_all(holes)) if holes else outer)
    return _polygonal(shapely.union_all(pieces))


def convex_cells_to_lonlat(cells, inverse, max_segment):
    """``plane_to_lonlat`` of many polygons without holes (k,), in one pass: densified
    and mapped together; those whose longitudes jump (across the 180° meridian) or wind
    around a pole go through ``plane_to_lonlat`` one by one."""
    out = np.array([shapely.Polygon()] * len(cells), dtype=object)
    present = np.flatnonzero(~shapely.is_empty(cells))
    if present.size == 0:
        return out
    dense = shapely.segmentize(cells[present], max_segment)
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(dense), return_index=True)
    last = np.append(ring[1:] != ring[:-1], True)  # each ring's closing point
    lon, lat = inverse(coords[~last, 0], coords[~last, 1])
    lon, lat, ring = np.asarray(lon), np.asarray(lat), ring[~last]
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise CRSError("a territory reaches where its projection has no lon/lat; use "
                       "crs='sphere' or a smaller boundary.")
    jumps = np.zeros(present.size, dtype=bool)
    same = ring[1:] == ring[:-1]
    np.logical_or.at(jumps, ring[1:][same], np.abs(np.diff(lon)[same]) > 180.0)
    simple = ~jumps
    keep = simple[ring]
    polygons = shapely.polygons(shapely.linearrings(
        np.column_stack([lon[keep], lat[keep]]),
        indices=np.cumsum(simple)[ring[keep]] - 1))
    out[present[simple]] = polygons
    for i in np.flatnonzero(jumps):
        out[present[i]] = plane_to_lonlat(cells[present[i]], inverse, max_segment)
    return out


def _polygonal(geom):
    """The polygons of ``geom`` (a Polygon, a MultiPolygon, or an empty Polygon)."""
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


# -- the default region: the data's hull with a margin -----------------------------------------


def _inverse_of(projection):
    """A projection's inverse as a function of x and y arrays."""
    return lambda x, y: projection.inverse(np.column_stack([x, y]))


def _margin_m(hull):
    west, south, east, north = hull.bounds
    return max(MARGIN_FRACTION * max(east - west, north - south), MIN_MARGIN_M)


def _azimuthal(lon, lat):
    """Forward and inverse azimuthal equidistant maps (metres, on the sphere of radius
    ``EARTH_RADIUS_M``) centred on the points' mean direction, and the points' largest
    angle (degrees) from it; None for points without a mean direction."""
    lam, phi = np.radians(lon), np.radians(lat)
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    mean = xyz.mean(axis=0)
    if np.linalg.norm(mean) < 1e-9:
        return None
    centre = mean / np.linalg.norm(mean)
    c_lam = np.arctan2(centre[1], centre[0])
    east = np.array([-np.sin(c_lam), np.cos(c_lam), 0.0])
    north = np.cross(centre, east)
    spread = float(np.degrees(np.arccos(np.clip(xyz @ centre, -1.0, 1.0))).max())

    def forward(unit):
        x, y, z = unit @ east, unit @ north, unit @ centre
        across = np.hypot(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(across > 0, EARTH_RADIUS_M * np.arctan2(across, z) / across, 0.0)
        return np.column_stack([scale * x, scale * y])

    def inverse(x, y):
        rho = np.hypot(x, y)
        theta = rho / EARTH_RADIUS_M
        with np.errstate(divide="ignore", invalid="ignore"):
            along = np.where(rho > 0, np.sin(theta) / rho, 0.0)
        unit = (np.cos(theta)[:, None] * centre + (along * x)[:, None] * east
                + (along * y)[:, None] * north)
        lon = np.degrees(np.arctan2(unit[:, 1], unit[:, 0]))
        return lon, np.degrees(np.arcsin(np.clip(unit[:, 2], -1.0, 1.0)))

    return forward(xyz), inverse, spread


def data_region(projection, lon, lat):
    """The default region: the convex hull of the points ``lon``/``lat`` (degrees) in
    the projected plane (in sphere mode, in the azimuthal equidistant plane centred on
    them) buffered by ``MARGIN_FRACTION`` of its larger side, at least ``MIN_MARGIN_M``,
    as a lon/lat geometry; the whole globe in sphere mode when a point lies more than
    ``GLOBE_BEYOND_DEG`` from the points' centre."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if projection.mode != "sphere":
        X = projection.forward(lon, lat)
        hull = shapely.convex_hull(shapely.multipoints(X))
        return plane_to_lonlat(hull.buffer(_margin_m(hull)), _inverse_of(projection))
    plane = _azimuthal(lon, lat)
    if plane is None or plane[2] > GLOBE_BEYOND_DEG:
        return _GLOBE
    X, inverse, _ = plane
    hull = shapely.convex_hull(shapely.multipoints(X))
    region = hull.buffer(_margin_m(hull))
    west, south, east, north = region.bounds
    if max(-west, -south, east, north) > np.radians(GLOBE_BEYOND_DEG + 10.0) * EARTH_RADIUS_M:
        return _GLOBE
    return plane_to_lonlat(region, inverse)


# -- the cells -------------------------------------------------------------------------------


def prices_of(model):
    """The model's prices (k,) in m²: ``size_prices_``, or zeros when it has none."""
    if not getattr(model, "_cells_match_", True):
        raise InputError(
            "territories cannot be drawn for this fit: with size limits by count and "
            "unequal weights a point's cluster depends on its weight (least weight x "
            "squared distance + price), so no cells of the plane match the labels; fit "
            "without weights, or with size_by='weight'.")
    k = len(model.cluster_centers_m_)
    prices = getattr(model, "size_prices_", None)
    if prices is None:
        return np.zeros(k)
    try:
        prices = np.asarray(prices, dtype=np.float64)
    except (TypeError, ValueError):
        prices = np.full(1, np.nan)
    if prices.shape != (k,) or not np.isfinite(prices).all():
        raise InputError(f"the model's size_prices_ should be {k} finite numbers (m², one "
                         f"per cluster); got shape {prices.shape}.")
    return prices


def _planar_cells(projection, centres, prices, region):
    """Cells (k,) in lon/lat of a projected mode, covering the lon/lat ``region``."""
    west, south, east, north = region.bounds
    step = max(east - west, north - south) / DENSIFY_PARTS
    lonlat = shapely.get_coordinates(shapely.segmentize(region, max(step, 1e-7)))
    try:
        X = projection.forward(lonlat[:, 0], lonlat[:, 1])
    except CRSError:
        raise CRSError(f"the region (lon {west:.6g} to {east:.6g}, lat {south:.6g} to "
                       f"{north:.6g}) reaches where {projection.name} is undefined; use "
                       "crs='sphere' or a smaller boundary.") from None
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.01 * (high - low).max() + 1.0
    box = shapely.box(*(low - pad), *(high + pad))
    segment = float((high - low).max() + 2 * pad) / DENSIFY_PARTS
    return convex_cells_to_lonlat(power_cells(centres, prices, box), _inverse_of(projection),
                                  segment)


def sphere_step_deg(n_clusters, bounds):
    """The quadtree's step (degrees) for ``n_clusters`` cells over a lon/lat box
    ``bounds``: their boundaries, about ``1.86 sqrt(k · area)`` degrees long (hexagons),
    cross about ``SPHERE_LEAVES`` leaves."""
    west, south, east, north = bounds
    length = 1.86 * np.sqrt(max(n_clusters, 1) * max(east - west, 1e-6)
                            * max(north - south, 1e-6))
    return float(np.clip(length / SPHERE_LEAVES, 1e-6, 1.0))


def _unwrapped(region):
    """``region`` with the parts west of its largest gap of longitudes moved east by
    360°, so that it spans the narrowest arc of longitudes (possibly beyond 180°)."""
    parts = shapely.get_parts(region)
    bounds = shapely.bounds(parts)
    order = np.argsort(bounds[:, 0])
    reach, gap, after = bounds[order[0], 2], -1.0, None
    for i in order[1:]:
        if bounds[i, 0] - reach > gap:
            gap, after = bounds[i, 0] - reach, bounds[i, 0]
        reach = max(reach, bounds[i, 2])
    if after is None or gap <= bounds[order[0], 0] + 360.0 - reach:
        return region
    moved = [shapely.transform(p, lambda xy: xy + (360.0, 0.0)) if b[2] <= after else p
             for p, b in zip(parts, bounds, strict=True)]
    return shapely.union_all(moved)


def _sphere_cells(centres, prices, region):
    """Cells (k,) in lon/lat of the sphere mode, covering the lon/lat ``region``, and the
    side of the quadtree's leaves (degrees)."""
    region = _unwrapped(region)
    step = sphere_step_deg(len(centres), region.bounds)
    cells, leaf_deg = sphere_power_cells(centres, prices, region, step, SPHERE_MAX_LEAVES)
    return np.array([cut_at_antimeridian(cell, True) if not cell.is_empty else cell
                     for cell in cells], dtype=object), leaf_deg


def territory_cells(model, lon, lat, boundary=None):
    """The territory of each of ``model``'s clusters as lon/lat geometry (k,).

    Parameters
    ----------
    model : fitted GeoKMeans
        Its ``projection_``, ``cluster_centers_m_`` and, when it has them,
        ``size_prices_`` (m², one per cluster; see the module's notes).
    lon, lat : (n,) float arrays
        The data (degrees): their hull with a margin is the region when ``boundary`` is
        None; a ``boundary`` must meet that region.
    boundary : see ``check_boundary``, optional

    Returns
    -------
    cells : (k,) object array
        Polygons or MultiPolygons (an empty Polygon for a cluster winning nowhere in the
        region) that do not overlap and together cover the region.
    leaf_deg : float or None
        Sphere mode: the side of the quadtree's leaves (degrees; the boundaries lie
        within about ``boundary_error_m(leaf_deg)`` of the exact ones). None in
        projected modes, where cells are exact before their edges are densified.
    """
    clip = check_boundary(boundary)
    region = data_region(model.projection_, lon, lat)
    if clip is not None:
        if not shapely.intersects(clip, region):
            w, s, e, n = clip.bounds
            dw, ds, de, dn = region.bounds
            raise InputError(
                f"the boundary (lon {w:.6g} to {e:.6g}, lat {s:.6g} to {n:.6g}) does not "
                f"meet the data (lon {dw:.6g} to {de:.6g}, lat {ds:.6g} to {dn:.6g}, with "
                "a margin); expected a region around the clustered points (a shapely "
                "geometry is taken as lon/lat, EPSG:4326).")
        region = clip
    centres = np.asarray(model.cluster_centers_m_, dtype=np.float64)
    prices = prices_of(model)
    if model.projection_.mode == "sphere":
        cells, leaf_deg = _sphere_cells(centres, prices, region)
    else:
        cells, leaf_deg = _planar_cells(model.projection_, centres, prices, region), None
    return orient_ccw(made_valid(_clipped(cells, region))), leaf_deg


def _clipped(cells, region):
    """``cells ∩ region``, polygons only; cells inside ``region`` are kept as they are."""
    shapely.prepare(region)
    inside = shapely.contains_properly(region, cells)
    out = np.array(cells, dtype=object)
    cut = np.flatnonzero(~inside)
    for i, piece in zip(cut, shapely.intersection(cells[cut], region), strict=True):
        out[i] = _polygonal(piece)
    return out


def territories(model, lon, lat, boundary=None):
    """``territory_cells`` as a GeoDataFrame (EPSG:4326): ``cluster`` (0 .. k - 1, the
    ids of the labels) and the geometry, one row per cluster. In sphere mode its
    ``attrs`` hold ``leaf_deg`` and ``boundary_error_m`` (see ``territory_cells``)."""
    cells, leaf_deg = territory_cells(model, lon, lat, boundary)
    table = gpd.GeoDataFrame({"cluster": np.arange(len(cells))}, geometry=list(cells),
                             crs="EPSG:4326")
    if leaf_deg is not None:
        table.attrs.update(leaf_deg=leaf_deg, boundary_error_m=boundary_error_m(leaf_deg))
    return table


def result_territories(result, boundary=None):
    """The territories of a ``ClusterResult``: its points are the data (for a result of
    a dask input, the vertices of its clusters' hulls, computed on the cluster)."""
    if result.is_dask:
        geoms = result.hulls.geometry.to_numpy()
        lonlat = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)])
        return territories(result.model, lonlat[:, 0], lonlat[:, 1], boundary)
    valid = result.model.labels_ >= 0
    points = result.points.geometry[valid]
    if points.crs is not None and not points.crs.equals(_LONLAT):
        points = points.to_crs(_LONLAT)
    return territories(result.model, points.x.to_numpy(), points.y.to_numpy(), boundary)
