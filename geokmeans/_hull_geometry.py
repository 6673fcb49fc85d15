"""Lon/lat geometry of spherical convex hulls from their vertices (behind
``stats.cluster_hulls``).

Edges are great-circle arcs: each is sampled at least every ``HULL_STEP_DEG``, split where
it crosses the equator or passes its highest (lowest) latitude, and where an arc bows out
of the straight lon/lat segment between two samples, the point where the arc's tangents
there meet is added, so the lon/lat polygon contains the whole spherical hull (larger by
at most the bow of one step). Longitudes run continuously along each ring; a ring around
a pole is closed along latitude ±90 over the full 360°, others are cut at the 180°
meridian. Polygons are valid with their exterior counter-clockwise (RFC 7946).
"""

import warnings

import numpy as np
import shapely

from ._hulls import GLOBE, HEMISPHERE_MARGIN_DEG, POINT, POLYGON, at_pole
from .errors import GeoKMeansWarning

__all__ = ["HULL_STEP_DEG", "around_pole", "cut_at_antimeridian", "hull_geometries", "made_valid",
           "orient_ccw"]

#: Great-circle edges of a hull are sampled at least every this many degrees of arc.
HULL_STEP_DEG = 1.0

#: Unit vectors this close to the Earth's axis are the pole.
_POLE_EPS = np.sin(np.radians(1e-9))  # as ``at_pole``
#: Arcs turning less than this (radians) in lon/lat between two samples are straight.
_MIN_TURN = 1e-10
#: Longitude windows in which a geometry is cut at the 180° meridian, with their shifts.
_WINDOWS = [(shapely.box(-180.0 + 360.0 * j, -90.0, 180.0 + 360.0 * j, 90.0), -360.0 * j)
            for j in (-1, 0, 1)]
_GLOBE = shapely.Polygon([(-180.0, -90.0), (180.0, -90.0), (180.0, 90.0), (-180.0, 90.0)])


def _normalised(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _edge_pieces(a, b):
    """Split fractions of the arcs a -> b (e, 3): where each crosses the equator and
    where it passes its highest (or lowest) latitude, as (e, 4) sorted fractions
    [0, ..., 1] padded with NaN; and the arcs' angles and unit normals."""
    normal = np.cross(a, b)
    sin_angle = np.linalg.norm(normal, axis=1)
    angle = np.arctan2(sin_angle, np.einsum("ij,ij->i", a, b))
    normal = normal / sin_angle[:, None]
    cuts = np.full((len(a), 4), np.nan)
    cuts[:, 0], cuts[:, 3] = 0.0, 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = a[:, 2] * b[:, 2] < 0
        equator = np.sign(a[:, 2:3]) * (a[:, 2:3] * b - b[:, 2:3] * a)
        cuts[:, 1] = np.where(crossing, _angle_between(a, _normalised(equator)) / angle, np.nan)
        top = np.column_stack([-normal[:, 2] * normal[:, 0], -normal[:, 2] * normal[:, 1],
                               1.0 - normal[:, 2] ** 2])
        top_norm = np.linalg.norm(top, axis=1)
        top = top / top_norm[:, None]
        for extreme in (top, -top):
            inside = ((np.einsum("ij,ij->i", np.cross(a, extreme), normal) > 0)
                      & (np.einsum("ij,ij->i", np.cross(extreme, b), normal) > 0)
                      & (top_norm > _POLE_EPS))
            fraction = _angle_between(a, extreme) / angle
            cuts[:, 2] = np.where(inside, fraction, cuts[:, 2])
    cuts[(cuts <= 1e-12) | (cuts >= 1 - 1e-12)] = np.nan
    cuts[:, 0], cuts[:, 3] = 0.0, 1.0
    return np.sort(cuts, axis=1), angle, normal


def _angle_between(a, b):
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.einsum("ij,ij->i", a, b))


def _sample_rings(xyz, closed_edges):
    """Points along the rings' arcs.

    ``xyz`` (m, 3) are the vertices; ``closed_edges`` (e,) the index of each edge's end
    vertex (an edge starts at its own index; edges exist for the rows where it is >= 0).
    Returns per sample: its xyz, the vertex it is (or -1), the edge it lies on (by its
    start vertex) and that edge's unit normal.
    """
    edges = np.flatnonzero(closed_edges >= 0)
    a, b = xyz[edges], xyz[closed_edges[edges]]
    cuts, angle, normal = _edge_pieces(a, b)
    low, high = cuts[:, :-1], cuts[:, 1:]
    piece = ~np.isnan(high) & ~np.isnan(low)
    step = np.radians(HULL_STEP_DEG)
    n_sub = np.where(piece, np.maximum(1, np.ceil(np.nan_to_num(high - low) * angle[:, None]
                                                  / step)), 0).astype(np.int64)
    per_piece = n_sub.ravel()
    piece_edge = np.repeat(np.arange(len(edges)), 3)
    sample_piece = np.repeat(np.arange(per_piece.size), per_piece)
    within = np.arange(sample_piece.size) - np.repeat(np.cumsum(per_piece) - per_piece,
                                                      per_piece)
    fraction = (low.ravel()[sample_piece]
                + (high - low).ravel()[sample_piece] * within / per_piece[sample_piece])
    edge = piece_edge[sample_piece]
    turn = fraction * angle[edge]
    start = a[edge]
    toward = np.cross(normal[edge], start)
    points = np.cos(turn)[:, None] * start + np.sin(turn)[:, None] * toward
    is_vertex = fraction == 0.0
    points[is_vertex] = start[is_vertex]
    return points, np.where(is_vertex, edges[edge], -1), edges[edge], normal[edge]


def _on_meridians(points, vertex, edge, nxt, vertex_lon, vertex_lat):
    """Longitude of each sample: a vertex's own; on an edge along a meridian (its ends
    at the same longitude, opposite ones, or one at a pole) exactly that of the nearer
    end off the poles; else computed."""
    lon = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    end = np.where(nxt[edge] >= 0, nxt[edge], edge)
    lon_a, lon_b = vertex_lon[edge], vertex_lon[end]
    pole_a, pole_b = at_pole(vertex_lat[edge]), at_pole(vertex_lat[end])
    apart = np.abs(_wrap180(lon_a - lon_b))
    meridian = pole_a | pole_b | (apart == 0.0) | (apart == 180.0)
    off_a = np.where(pole_a, np.inf, np.abs(_wrap180(lon - lon_a)))
    off_b = np.where(pole_b, np.inf, np.abs(_wrap180(lon - lon_b)))
    snapped = np.where(off_a <= off_b, lon_a, lon_b)
    lon = np.where(meridian, snapped, lon)
    return np.where(vertex >= 0, vertex_lon[np.maximum(vertex, 0)], lon)


def _tangent_directions(points, normal):
    """Directions (n, 2) in (lon, lat) of the great circles ``normal`` at ``points``."""
    tangent = np.cross(normal, points)
    rho2 = points[:, 0] ** 2 + points[:, 1] ** 2
    return np.column_stack([(points[:, 0] * tangent[:, 1] - points[:, 1] * tangent[:, 0]),
                            tangent[:, 2] * np.sqrt(rho2)])


def _wrap180(delta):
    return (delta + 180.0) % 360.0 - 180.0


def _segment_cumsum(values, starts):
    """Cumulative sums restarting at each index in ``starts`` (which includes 0)."""
    total = np.cumsum(values)
    before = np.concatenate([[0.0], total])[starts]
    sizes = np.diff(np.append(starts, len(values)))
    return total - np.repeat(before, sizes)


class _Rings:
    """Lon/lat coordinates of rings of vertices following great-circle arcs.

    ``vertex_lon``/``vertex_lat``/``vertex_xyz`` (m,) describe the vertices ring after
    ring (``vertex_ring`` (m,) non-decreasing), each ring starting off the poles;
    ``closed`` (r,) says which rings are polygons (the others are open lines). After
    construction, ``coords`` (p, 2) and ``coord_ring`` (p,) hold each ring's lon/lat
    path, longitudes continuous from the first vertex's, and ``winding`` (r,) is +1 for a
    ring around the north pole, -1 around the south pole, else 0.
    """

    def __init__(self, vertex_lon, vertex_lat, vertex_xyz, vertex_ring, closed):
        m = len(vertex_ring)
        ring_start = np.flatnonzero(np.diff(np.append(-1, vertex_ring)) != 0)
        ring_size = np.diff(np.append(ring_start, m))
        nxt = np.arange(m) + 1
        last = ring_start + ring_size - 1
        nxt[last] = np.where(closed, ring_start, -1)
        points, vertex, edge, normal = _sample_rings(vertex_xyz, nxt)
        # open rings end with their last vertex
        tails = last[~closed]
        order = np.argsort(np.concatenate([edge, tails]), kind="stable")
        points = np.concatenate([points, vertex_xyz[tails]])[order]
        vertex = np.concatenate([vertex, tails])[order]
        normal = np.concatenate([normal, np.full((tails.size, 3), np.nan)])[order]
        edge = np.concatenate([edge, tails])[order]
        ring = vertex_ring[edge]
        lon = _on_meridians(points, vertex, edge, nxt, vertex_lon, vertex_lat)
        self._lonlat(points, vertex, ring, lon, vertex_lat, closed)
        self._assemble(points, normal, ring, closed)

    def _lonlat(self, points, vertex, ring, lon, vertex_lat, closed):
        """Latitudes, continuous longitudes ``x`` along each ring (a pole point enters at
        ``x_in`` and leaves at ``x``) and each closed ring's winding around the poles."""
        rho = np.hypot(points[:, 0], points[:, 1])
        lat = np.where(vertex >= 0, vertex_lat[np.maximum(vertex, 0)],
                       np.degrees(np.arctan2(points[:, 2], rho)))
        pole = (rho < _POLE_EPS) | at_pole(lat)
        n = len(ring)
        starts = np.flatnonzero(np.diff(np.append(-1, ring)) != 0)
        sizes = np.diff(np.append(starts, n))
        index = np.arange(n)
        first, last = np.repeat(starts, sizes), np.repeat(starts + sizes - 1, sizes)
        prev = np.where(index == first, last, index - 1)
        nxt = np.where(index == last, first, index + 1)
        is_closed = np.repeat(closed, sizes)
        # a pole is crossed from the meridian before to the one after, keeping a
        # ring's inside on its left (west going north, east going south); a line
        # goes to the other meridian as it is, within [-180, 180]
        before, after = lon[prev], lon[nxt]
        pole_step = np.where(lat > 0, -((before - after) % 360.0), (after - before) % 360.0)
        pole_step = np.where(is_closed, pole_step, after - before)
        ends = ~is_closed & ((index == first) | (index == last))
        pole_step = np.where(pole & ~ends, pole_step, 0.0)
        lon_in = np.where(pole, np.where(index == first, after, before), lon)
        lon_out = lon_in + pole_step
        step = _wrap180(lon_in - lon_out[prev]) + pole_step
        step[starts] = lon_in[starts]
        x = _segment_cumsum(step, starts)  # x after each point (x_out)
        x = np.where(pole, x, lon + 360.0 * np.round((x - lon) / 360.0))
        x_in = np.where(pole, x[prev], x)  # a pole: from the meridian before, exactly
        x = x_in + pole_step
        self.winding = np.zeros(len(closed), dtype=np.int64)
        closing = _wrap180(lon_in[starts] - lon_out[starts + sizes - 1])
        total = x[starts + sizes - 1] + closing - x[starts]
        self.winding[closed] = np.round(total / 360.0).astype(np.int64)[closed]
        self._lat, self._pole = lat, pole
        self._x, self._x_in, self._prev, self._nxt = x, x_in, prev, nxt
        self._is_closed = is_closed

    def _assemble(self, points, normal, ring, closed):
        """The coordinates: each point (a pole as two, along latitude ±90), and after it,
        where the arc to the next bows out of the polygon, the tangents' meeting point."""
        x, y, pole, nxt = self._x, self._lat, self._pole, self._nxt
        n = len(x)
        slots = np.full((n, 3, 2), np.nan)
        slots[:, 0, 0] = np.where(pole, self._x_in, x)
        slots[:, 0, 1] = np.where(pole, np.sign(y) * 90.0, y)
        slots[pole, 1, 0] = x[pole]
        slots[pole, 1, 1] = np.sign(y[pole]) * 90.0
        arc = self._is_closed & ~pole & ~pole[nxt]
        rows = np.flatnonzero(arc)
        if rows.size:
            slots[rows, 2] = _bow_points(points[rows], points[nxt[rows]], normal[rows],
                                         np.column_stack([x[rows], y[rows]]),
                                         np.column_stack([self._next_x(rows), y[nxt[rows]]]))
        keep = ~np.isnan(slots[:, :, 0])
        self.coords = slots[keep]
        self.coord_ring = np.repeat(ring, keep.sum(axis=1))

    def _next_x(self, rows):
        """Continuous x of the point after each of ``rows`` (the closing one shifted)."""
        x_next = self._x[self._nxt[rows]]
        return x_next + 360.0 * np.round((self._x[rows] - x_next) / 360.0)


def _bow_points(p_xyz, q_xyz, normal, p, q):
    """For arcs p -> q (along great circles ``normal``) drawn in lon/lat from ``p`` to ``q``
    (n, 2): where an arc turns left (into the polygon, so the straight segment cuts into
    the hull), the meeting point of its tangents at both ends, which lies outside the arc;
    NaN where the segment already lies outside it. Arcs are split so that none crosses
    the equator or passes an extreme latitude: each is convex in lon/lat and monotone in
    both, so the meeting point lies in the box of p and q."""
    dp = _tangent_directions(p_xyz, normal)
    dq = _tangent_directions(q_xyz, normal)
    turn = dp[:, 0] * dq[:, 1] - dp[:, 1] * dq[:, 0]
    scale = np.linalg.norm(dp, axis=1) * np.linalg.norm(dq, axis=1)
    bows = turn > _MIN_TURN * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        chord = q - p
        along = (chord[:, 0] * dq[:, 1] - chord[:, 1] * dq[:, 0]) / turn
        meet = p + along[:, None] * dp
    meet = np.clip(meet, np.minimum(p, q), np.maximum(p, q))
    return np.where(bows[:, None], meet, np.nan)


# -- polygons, lines and points in [-180, 180] -------------------------------------------------


def cut_at_antimeridian(geom, polygonal):
    """Pieces of ``geom`` (longitudes within 360° of each other) moved into [-180, 180]."""
    xmin, _, xmax, _ = geom.bounds
    if xmin >= -180.0 and xmax <= 180.0:
        return geom
    parts = []
    for window, shift in _WINDOWS:
        piece = shapely.intersection(geom, window)
        if piece.is_empty:
            continue
        for part in getattr(piece, "geoms", [piece]):
            dimension = 2 if polygonal else 1
            if shapely.get_dimensions(part) == dimension:
                parts.append(shapely.transform(
                    part, lambda xy, s=shift: np.column_stack([np.clip(xy[:, 0] + s, -180, 180),
                                                               xy[:, 1]])))
    if len(parts) == 1:
        return parts[0]
    return shapely.MultiPolygon(parts) if polygonal else shapely.MultiLineString(parts)


def around_pole(coords, winding):
    """The polygon of a ring around a pole (longitudes running over 360°): its path cut
    where it crosses the 180° meridian, closed along latitude ±90."""
    if winding < 0:  # make longitudes increase
        coords = coords[::-1]
    x = coords[:, 0] - 360.0 * np.floor((coords[:, 0] + 180.0) / 360.0)  # exact shifts
    drops = np.diff(x)
    start = int(np.argmin(drops)) + 1 if drops.size and drops.min() < 0 else 0
    x, y = np.roll(x, -start), np.roll(coords[:, 1], -start)
    x_end, y_end = x[0] + 360.0, y[0]  # the path returns to its start, 360° further
    y_cut = y[-1] + (180.0 - x[-1]) * (y_end - y[-1]) / (x_end - x[-1])
    pole = 90.0 * np.sign(winding)
    path = np.concatenate([[[-180.0, y_cut]], np.column_stack([x, y]), [[180.0, y_cut]],
                           [[180.0, pole], [-180.0, pole]]])
    keep = np.append(True, (np.diff(path, axis=0) != 0).any(axis=1))
    return shapely.Polygon(path[keep])


def orient_ccw(geoms):
    """Polygons with exterior rings counter-clockwise and holes clockwise (RFC 7946)."""
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        return shapely.orient_polygons(geoms, exterior_cw=False)
    from shapely.geometry.polygon import orient

    def one(geom):
        if geom is None:
            return None
        if geom.geom_type == "Polygon":
            return orient(geom, 1.0)
        if geom.geom_type == "MultiPolygon":
            return shapely.MultiPolygon([orient(p, 1.0) for p in geom.geoms])
        return geom

    return np.array([one(g) for g in geoms], dtype=object)


def made_valid(geoms):
    """Geometries (k,) made valid where they are not (a safety net; not expected)."""
    for i in np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)):
        try:
            geoms[i] = shapely.make_valid(geoms[i], method="structure", keep_collapsed=False)
        except TypeError:  # shapely < 2.1
            geoms[i] = geoms[i].buffer(0)
    return geoms


def hull_geometries(found):
    """Lon/lat geometry (k,) of each cluster's hull from its vertices."""
    hulls = np.full(len(found.kind), None, dtype=object)
    ring, ring_cluster = found.ring, found.ring_cluster
    kinds = found.kind[ring_cluster] if ring.size else np.empty(0, dtype=np.int64)
    points = kinds == POINT
    hulls[ring_cluster[points]] = shapely.points(found.lon[ring[points]], found.lat[ring[points]])
    shaped = ~points
    if shaped.any():
        cluster_of_ring, ring_index = np.unique(ring_cluster[shaped], return_inverse=True)
        closed = found.kind[cluster_of_ring] == POLYGON
        vertices = ring[shaped]
        rings = _Rings(found.lon[vertices], found.lat[vertices], found.xyz(vertices),
                       ring_index, closed)
        bounds = np.searchsorted(rings.coord_ring, np.arange(len(cluster_of_ring) + 1))
        for r, cluster in enumerate(cluster_of_ring):
            coords = rings.coords[bounds[r]:bounds[r + 1]]
            if not closed[r]:
                hulls[cluster] = cut_at_antimeridian(shapely.LineString(coords), False)
            elif rings.winding[r]:
                hulls[cluster] = around_pole(coords, rings.winding[r])
            else:
                hulls[cluster] = cut_at_antimeridian(shapely.Polygon(coords), True)
    globe = np.flatnonzero(found.kind == GLOBE)
    for cluster in globe:
        hulls[cluster] = _GLOBE
    if globe.size:
        warnings.warn(
            f"clusters {globe.tolist()} do not fit in a hemisphere (no point lies within "
            f"{90 - HEMISPHERE_MARGIN_DEG:g}° of all their points): their convex hull is "
            "the whole globe.", GeoKMeansWarning, stacklevel=3)
    return orient_ccw(made_valid(hulls))
