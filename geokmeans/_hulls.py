"""Spherical convex hulls of clusters as valid lon/lat geometry (the logic behind
``stats.cluster_hulls``; inputs are assumed checked).

The hull of a cluster is its spherical convex hull: the smallest region bounded by
great-circle arcs that holds every point. It is found as a planar hull in a gnomonic
projection centred on the cluster (which maps great circles to straight lines, so the
planar hull there is the spherical one), for points within less than 90° of the centre.
The lon/lat polygon then follows the arcs: each is sampled at least every
``HULL_STEP_DEG``, and where an arc bows out of the straight lon/lat segment between two
samples, the point where the arc's tangents there meet is added, so the lon/lat polygon
contains the whole spherical hull (it is larger by at most the bow of one sample step).
Longitudes run continuously around the cluster; a hull holding a pole runs along latitude
±90 over the full 360°; a hull across the 180° meridian is cut there. Polygons are
valid with their exterior counter-clockwise (RFC 7946).
"""

import warnings

import numpy as np
import pandas as pd
import shapely

from .errors import GeoKMeansWarning

__all__ = ["HEMISPHERE_MARGIN_DEG", "HULL_STEP_DEG", "hull_geometries", "hull_vertices"]

#: Great-circle edges of a hull are sampled at least every this many degrees of arc.
HULL_STEP_DEG = 1.0

#: A cluster has a hull when some centre lies within 90° minus this of all its points (it
#: fits in a hemisphere); otherwise its hull is the whole globe.
HEMISPHERE_MARGIN_DEG = 1e-3

_SIN_MARGIN = np.sin(np.radians(HEMISPHERE_MARGIN_DEG))
#: Unit vectors this close to the Earth's axis are the pole.
_POLE_EPS = 1e-12
#: Hull vertices this close (radians) to the arc between their neighbours are not kept.
_FLAT_RAD = 1e-13
#: Arcs turning less than this (radians) in lon/lat between two samples are straight.
_MIN_TURN = 1e-10
#: Longitude windows in which a geometry is cut at the 180° meridian, with their shifts.
_WINDOWS = [(shapely.box(-180.0 + 360.0 * j, -90.0, 180.0 + 360.0 * j, 90.0), -360.0 * j)
            for j in (-1, 0, 1)]

_POINT, _LINE, _POLYGON = 0, 1, 3  # shapely type ids of the planar hulls


# -- vertices: planar hulls in gnomonic projections ----------------------------------------


def _in_range(lon):
    """Longitudes within [-180, 180] as they are (exactly), others wrapped."""
    lon = np.asarray(lon, dtype=np.float64)
    outside = (lon < -180.0) | (lon > 180.0)
    return np.where(outside, (lon + 180.0) % 360.0 - 180.0, lon) if outside.any() else lon


def _unit_components(lon, lat):
    """Components x, y, z (each (n,)) of the Earth-centred unit vectors of lon/lat in
    degrees; the poles exactly (0, 0, ±1)."""
    lam, phi = np.radians(lon), np.radians(lat)
    cos_phi = np.cos(phi)
    cos_phi[np.abs(lat) == 90.0] = 0.0
    return cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)


def _unit_vectors(lon, lat):
    """Earth-centred unit vectors (n, 3) of lon/lat in degrees."""
    return np.column_stack(_unit_components(np.atleast_1d(lon), np.atleast_1d(lat)))


def _gnomonic_axes(centres):
    """East and north unit vectors (k, 3) of the tangent planes at ``centres`` (k, 3)."""
    lam = np.arctan2(centres[:, 1], centres[:, 0])
    phi = np.arctan2(centres[:, 2], np.hypot(centres[:, 0], centres[:, 1]))
    east = np.column_stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)])
    north = np.column_stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)])
    return east, north


def _hemisphere_centre(xyz):
    """A gnomonic centre for points ``xyz`` (n, 3) reaching 90° or more from their centroid:
    ``(centre, None)``, or ``(None, rows)`` when they fit in no hemisphere, ``rows`` being
    a few of them that already fit in none.

    The points fit when some centre ``p`` in the unit cube has ``p . x > sin(margin)``
    for all of them (``margin`` being ``HEMISPHERE_MARGIN_DEG``): tried with their
    normalised mean, else by linear programming (maximising the least ``p . x``) over a
    small working set of points, to which the worst of the others are added until ``p``
    holds for all. A subset fits whenever its set does, and a set holding ``rows`` fits
    in none, so partitions decide as their union does.
    """
    mean = xyz.mean(axis=0)
    if np.linalg.norm(mean) > 0:
        centre = mean / np.linalg.norm(mean)
        if (xyz @ centre).min() > _SIN_MARGIN:
            return centre, None
    from scipy.optimize import linprog

    active = np.unique(np.concatenate([np.argmin(xyz, axis=0), np.argmax(xyz, axis=0)]))
    for _ in range(100):
        solution = linprog([0.0, 0.0, 0.0, -1.0],
                           A_ub=np.column_stack([-xyz[active], np.ones(active.size)]),
                           b_ub=np.zeros(active.size),
                           bounds=[(-1.0, 1.0)] * 3 + [(None, 1.0)], method="highs")
        centre, least = solution.x[:3], solution.x[3]
        if least <= _SIN_MARGIN:
            break
        dots = xyz @ centre
        if dots.min() > _SIN_MARGIN:
            return centre / np.linalg.norm(centre), None
        worst = np.argpartition(dots, min(16, dots.size - 1))[:16]
        active = np.union1d(active, worst[dots[worst] <= _SIN_MARGIN])
    return None, active


class HullVertices:
    """The hull vertices of every cluster, found in gnomonic projections.

    Rows are sorted by cluster (``order`` maps sorted positions to input rows).
    ``kind[j]`` is -1 (empty), 0 (one point), 1 (points on one great circle), 3 (a
    polygon) or 4 (no hemisphere holds the cluster: the hull is the globe).
    ``ring`` (m,) holds sorted positions of the vertices, cluster after cluster (a
    polygon's counter-clockwise from its westernmost vertex, a line's two ends);
    ``ring_cluster`` (m,) their clusters. ``on_hull`` are all sorted positions on a
    vertex (duplicates included), and the rows showing that a "globe" cluster fits in no
    hemisphere.
    """

    def __init__(self, lon, lat, labels, centre_lon, centre_lat):
        n_clusters = len(centre_lon)
        labels = np.asarray(labels, dtype=np.int64)
        sortable = labels.astype(np.int16) if n_clusters < 2**15 else labels  # radix sort
        self.order = np.argsort(sortable, kind="stable")
        self.counts = np.bincount(labels, minlength=n_clusters)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)])
        self.labels = labels[self.order]
        self.lon = np.ascontiguousarray(_in_range(np.asarray(lon, dtype=np.float64)[self.order]))
        self.lat = np.ascontiguousarray(np.asarray(lat, dtype=np.float64)[self.order])
        self._components = _unit_components(self.lon, self.lat)
        self.kind = np.where(self.counts > 0, _POLYGON, -1)
        centres, certificates = self._centres(
            _unit_vectors(np.asarray(centre_lon, dtype=np.float64),
                          np.asarray(centre_lat, dtype=np.float64)).reshape(-1, 3))
        self.kind[list(certificates)] = 4
        self._planar_hulls(centres, certificates)

    def xyz(self, rows):
        """Unit vectors (m, 3) of the points at sorted ``rows`` (indices or a slice)."""
        return np.column_stack([c[rows] for c in self._components])

    def _per_point(self, values):
        """A dot product (n,) of each point with its cluster's vector in ``values`` (k, 3)."""
        x, y, z = self._components
        total = x * np.repeat(values[:, 0], self.counts)
        total += y * np.repeat(values[:, 1], self.counts)
        if values[:, 2].any():
            total += z * np.repeat(values[:, 2], self.counts)
        return total

    def _centres(self, centres):
        """Projection centres (k, 3): each cluster's centroid when every point is within
        less than 90° of it, else one found from the points; and {cluster: rows} of those
        in no hemisphere."""
        present = np.flatnonzero(self.counts)
        dots = self._per_point(centres)
        closest = np.minimum.reduceat(dots, self.starts[present]) if present.size else dots
        certificates = {}
        for j in present[closest <= _SIN_MARGIN]:
            lo, hi = self.starts[j], self.starts[j + 1]
            centre, rows = _hemisphere_centre(self.xyz(slice(lo, hi)))
            if centre is None:
                certificates[int(j)] = lo + rows
            else:
                centres[j] = centre
        return centres, certificates

    def _planar_hulls(self, centres, certificates):
        clusters = np.flatnonzero(self.kind == _POLYGON)
        if clusters.size == 0:
            empty = np.empty(0, dtype=np.int64)
            self.on_hull = np.concatenate([empty, *certificates.values()])
            self.ring, self.ring_cluster = empty, empty
            return
        east, north = _gnomonic_axes(centres)
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = self._per_point(centres)
            u = self._per_point(east) / depth
            v = self._per_point(north) / depth
        in_hull = np.repeat(self.kind == _POLYGON, self.counts)
        if in_hull.all():
            positions = np.arange(in_hull.size)
        else:
            positions = np.flatnonzero(in_hull)
            u, v = u[positions], v[positions]
        # one line string per cluster (cheaper than points); a lone point is doubled
        sizes = self.counts[clusters]
        rank = np.repeat(np.arange(clusters.size), sizes)
        take = np.arange(positions.size)
        lone = np.flatnonzero(sizes == 1)
        if lone.size:
            first = np.concatenate([[0], np.cumsum(sizes)])[lone]
            take = np.sort(np.concatenate([take, first]))
            rank = rank[take]
        hulls = shapely.convex_hull(
            shapely.linestrings(np.column_stack([u[take], v[take]]), indices=rank))
        self.kind[clusters] = shapely.get_type_id(hulls)
        self._match(hulls, clusters, positions, u, v, certificates)

    def _match(self, hulls, clusters, positions, u, v, certificates):
        """Vertex rows of the planar hulls (exact coordinate matches), ordered."""
        hull_uv, which = shapely.get_coordinates(hulls, return_index=True)
        if hull_uv.size:
            hull_uv, which = _ring_vertices(hull_uv, which, shapely.get_type_id(hulls))
        candidates = np.flatnonzero(pd.Series(u).isin(hull_uv[:, 0]).to_numpy())
        table = pd.DataFrame({"cluster": self.labels[positions[candidates]],
                              "u": u[candidates], "v": v[candidates],
                              "lon": self.lon[positions[candidates]],
                              "lat": self.lat[positions[candidates]],
                              "position": positions[candidates]})
        vertices = pd.DataFrame({"cluster": clusters[which], "u": hull_uv[:, 0],
                                 "v": hull_uv[:, 1]})
        keys = ["cluster", "u", "v"]
        on_hull = table.merge(vertices.drop_duplicates(keys), on=keys)
        first = on_hull.sort_values(keys + ["lon", "lat"], kind="stable").drop_duplicates(keys)
        ring = vertices.merge(first, on=keys, how="left")
        assert not ring.position.isna().any(), "a hull vertex matches no point"
        extra = [rows for rows in certificates.values()]
        self.on_hull = np.concatenate([on_hull.position.to_numpy(np.int64)] + extra)
        positions, clusters = (ring.position.to_numpy(np.int64),
                               ring.cluster.to_numpy(np.int64))
        kept = _without_flat_vertices(self.xyz(positions), clusters)
        positions, clusters = positions[kept], clusters[kept]
        lines = np.bincount(clusters, minlength=len(self.kind)) == 2
        self.kind[lines] = _LINE
        self.ring, self.ring_cluster = _canonical_rings(positions, clusters, self.lon, self.lat)


def _without_flat_vertices(xyz, clusters):
    """Which ring vertices to keep: not those within ``_FLAT_RAD`` of the great-circle arc
    between their neighbours (points on one great circle, up to round-off, which one
    projection may take for vertices and another not). Dropped a few at a time, never
    two neighbours at once; a ring may end as a line (two vertices)."""
    kept = np.ones(len(clusters), dtype=bool)
    for _ in range(64):
        alive = np.flatnonzero(kept)
        if alive.size == 0:
            break
        group = clusters[alive]
        starts = np.flatnonzero(np.diff(np.append(-1, group)) != 0)
        sizes = np.diff(np.append(starts, alive.size))
        index = np.arange(alive.size)
        first = np.repeat(starts, sizes)
        last = first + np.repeat(sizes, sizes) - 1
        prev = np.where(index == first, last, index - 1)
        nxt = np.where(index == last, first, index + 1)
        a, b, c = xyz[alive[prev]], xyz[alive], xyz[alive[nxt]]
        chord = np.cross(a, c)
        width = np.linalg.norm(chord, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.abs(np.einsum("ij,ij->i", b, chord)) / width
        between = ((np.einsum("ij,ij->i", np.cross(a, b), chord) > 0)
                   & (np.einsum("ij,ij->i", np.cross(b, c), chord) > 0))
        flat = between & (off < _FLAT_RAD) & (np.repeat(sizes, sizes) > 2)
        if not flat.any():
            break
        score = np.where(flat, off, np.inf)
        lowest = (flat & ((score < score[prev]) | ((score == score[prev]) & (index < prev)))
                  & ((score < score[nxt]) | ((score == score[nxt]) & (index < nxt))))
        kept[alive[lowest]] = False
    return kept


def _ring_vertices(coords, which, types):
    """Drop each polygon ring's closing coordinate and wind it counter-clockwise."""
    closing = np.zeros(len(which), dtype=bool)
    last = np.flatnonzero(np.diff(np.append(which, -1)) != 0)
    closing[last] = types[which[last]] == _POLYGON
    coords, which = coords[~closing], which[~closing]
    starts = np.flatnonzero(np.diff(np.append(-1, which)) != 0)
    nxt = np.arange(len(which)) + 1
    ends = np.append(starts[1:], len(which))
    nxt[ends - 1] = starts
    twice_area = np.add.reduceat(coords[:, 0] * coords[nxt, 1] - coords[nxt, 0] * coords[:, 1],
                                 starts)
    clockwise = np.repeat(twice_area < 0, ends - starts)
    if clockwise.any():  # reverse those groups in place
        index = np.arange(len(which))
        group_start = np.repeat(starts, ends - starts)
        group_end = np.repeat(ends, ends - starts)
        reversed_index = group_start + group_end - 1 - index
        index = np.where(clockwise, reversed_index, index)
        coords = coords[index]
    return coords, which


def _canonical_rings(positions, clusters, lon, lat):
    """Rotate each ring to start at its vertex of least (lon, lat) off the poles, so the
    geometry depends on the vertices alone (not on the order or the projection)."""
    if positions.size == 0:
        return positions, clusters
    starts = np.flatnonzero(np.diff(np.append(-1, clusters)) != 0)
    sizes = np.diff(np.append(starts, len(clusters)))
    off_pole = np.where(np.abs(lat[positions]) > 90.0 - 1e-9, np.inf, lon[positions])
    best = np.lexsort((lat[positions], off_pole, clusters))[starts]  # first of each group
    shift = np.repeat(best - starts, sizes)
    index = np.arange(len(clusters))
    group_start = np.repeat(starts, sizes)
    rotated = group_start + (index - group_start + shift) % np.repeat(sizes, sizes)
    return positions[rotated], clusters[rotated]


# -- lon/lat geometry from rings of vertices -------------------------------------------------


def _cross(a, b):
    return np.cross(a, b)


def _normalised(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _edge_pieces(a, b):
    """Split fractions of the arcs a -> b (e, 3): where each crosses the equator and
    where it passes its highest (or lowest) latitude, as (e, 4) sorted fractions
    [0, ..., 1] padded with NaN; and the arcs' angles and unit normals."""
    normal = _cross(a, b)
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
            inside = ((np.einsum("ij,ij->i", _cross(a, extreme), normal) > 0)
                      & (np.einsum("ij,ij->i", _cross(extreme, b), normal) > 0)
                      & (top_norm > _POLE_EPS))
            fraction = _angle_between(a, extreme) / angle
            cuts[:, 2] = np.where(inside, fraction, cuts[:, 2])
    cuts[(cuts <= 1e-12) | (cuts >= 1 - 1e-12)] = np.nan
    cuts[:, 0], cuts[:, 3] = 0.0, 1.0
    return np.sort(cuts, axis=1), angle, normal


def _angle_between(a, b):
    return np.arctan2(np.linalg.norm(_cross(a, b), axis=1), np.einsum("ij,ij->i", a, b))


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
    toward = _cross(normal[edge], start)
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
    pole_a = np.abs(vertex_lat[edge]) > 90.0 - 1e-9
    pole_b = np.abs(vertex_lat[end]) > 90.0 - 1e-9
    apart = np.abs(_wrap180(lon_a - lon_b))
    meridian = pole_a | pole_b | (apart == 0.0) | (apart == 180.0)
    off_a = np.where(pole_a, np.inf, np.abs(_wrap180(lon - lon_a)))
    off_b = np.where(pole_b, np.inf, np.abs(_wrap180(lon - lon_b)))
    snapped = np.where(off_a <= off_b, lon_a, lon_b)
    lon = np.where(meridian, snapped, lon)
    return np.where(vertex >= 0, vertex_lon[np.maximum(vertex, 0)], lon)


def _tangent_directions(points, normal):
    """Directions (n, 2) in (lon, lat) of the great circles ``normal`` at ``points``."""
    tangent = _cross(normal, points)
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
        rho = np.hypot(points[:, 0], points[:, 1])
        lat = np.where(vertex >= 0, vertex_lat[np.maximum(vertex, 0)],
                       np.degrees(np.arctan2(points[:, 2], rho)))
        pole = (rho < _POLE_EPS) | (np.abs(lat) == 90.0)
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
        self._lon, self._lat, self._pole = lon, lat, pole
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


def _cut_at_antimeridian(geom, polygonal):
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


def _around_pole(coords, winding):
    """The polygon of a ring around a pole (longitudes running over 360°): its path cut
    where it crosses the 180° meridian, closed along latitude ±90."""
    if winding < 0:  # make longitudes increase
        coords = coords[::-1]
    x = coords[:, 0] - 360.0 * np.floor((coords[:, 0] + 180.0) / 360.0)  # exact shifts
    drops = np.diff(x)
    start = int(np.argmin(drops)) + 1 if drops.size and drops.min() < 0 else 0
    x, y = np.roll(x, -start), np.roll(coords[:, 1], -start)
    x_end, y_end = x[0] + 360.0, y[0]  # the path returns to its start, 360° further
    y_cut = y[-1] + (180.0 - x[-1]) * (y_end - y[-1]) / (x_end - x[-1]) \
        if x_end != x[-1] else y[-1]
    pole = 90.0 * np.sign(winding)
    path = np.concatenate([[[-180.0, y_cut]], np.column_stack([x, y]), [[180.0, y_cut]],
                           [[180.0, pole], [-180.0, pole]]])
    keep = np.append(True, (np.diff(path, axis=0) != 0).any(axis=1))
    return shapely.Polygon(path[keep])


def _orient_ccw(geoms):
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


def _made_valid(geom):
    """``geom`` if valid, else its valid polygonal form (a safety net; not expected)."""
    if geom is None or geom.is_valid:
        return geom
    try:
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    except TypeError:  # shapely < 2.1
        fixed = geom.buffer(0)
    return fixed


_GLOBE = shapely.Polygon([(-180.0, -90.0), (180.0, -90.0), (180.0, 90.0), (-180.0, 90.0)])


def hull_geometries(found):
    """Lon/lat geometry (k,) of each cluster's hull from its vertices."""
    hulls = np.full(len(found.kind), None, dtype=object)
    ring, ring_cluster = found.ring, found.ring_cluster
    kinds = found.kind[ring_cluster] if ring.size else np.empty(0, dtype=np.int64)
    points = kinds == _POINT
    hulls[ring_cluster[points]] = shapely.points(found.lon[ring[points]], found.lat[ring[points]])
    shaped = ~points
    if shaped.any():
        cluster_of_ring, ring_index = np.unique(ring_cluster[shaped], return_inverse=True)
        closed = found.kind[cluster_of_ring] == _POLYGON
        vertices = ring[shaped]
        rings = _Rings(found.lon[vertices], found.lat[vertices], found.xyz(vertices),
                       ring_index, closed)
        for r, cluster in enumerate(cluster_of_ring):
            coords = rings.coords[rings.coord_ring == r]
            if not closed[r]:
                hulls[cluster] = _cut_at_antimeridian(shapely.LineString(coords), False)
            elif rings.winding[r]:
                hulls[cluster] = _around_pole(coords, rings.winding[r])
            else:
                hulls[cluster] = _cut_at_antimeridian(shapely.Polygon(coords), True)
    globe = np.flatnonzero(found.kind == 4)
    for cluster in globe:
        hulls[cluster] = _GLOBE
    if globe.size:
        warnings.warn(
            f"clusters {globe.tolist()} do not fit in a hemisphere (no point lies within "
            f"{90 - HEMISPHERE_MARGIN_DEG:g}° of all their points): their convex hull is "
            "the whole globe.", GeoKMeansWarning, stacklevel=3)
    return _orient_ccw(np.array([_made_valid(g) for g in hulls], dtype=object))


def hull_vertices(lon, lat, labels, centre_lon, centre_lat):
    """The ``HullVertices`` of each cluster (see ``stats.cluster_hulls``)."""
    return HullVertices(lon, lat, labels, centre_lon, centre_lat)
