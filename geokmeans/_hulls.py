"""Vertices of the spherical convex hulls of clusters (behind ``stats.cluster_hulls``;
inputs are assumed checked).

The spherical convex hull of a cluster, the smallest region bounded by great-circle arcs
holding its points, is the planar hull in a gnomonic projection centred on the cluster:
that projection maps great circles to straight lines, for points within less than 90° of
its centre. ``_hull_geometry`` turns the vertices into lon/lat geometry.
"""

import numpy as np
import pandas as pd
import shapely

__all__ = ["HEMISPHERE_MARGIN_DEG", "HullVertices", "at_pole", "unit_vectors"]

#: A cluster has a hull when some centre lies within 90° minus this of all its points (it
#: fits in a hemisphere); otherwise its hull is the whole globe.
HEMISPHERE_MARGIN_DEG = 1e-3

_SIN_MARGIN = np.sin(np.radians(HEMISPHERE_MARGIN_DEG))
#: Hull vertices this close (radians) to the arc between their neighbours are not kept.
_FLAT_RAD = 1e-13
#: Kinds of hull (``HullVertices.kind``): shapely's type ids of the planar hulls, and more.
EMPTY, POINT, LINE, POLYGON, GLOBE = -1, 0, 1, 3, 4


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


def at_pole(lat):
    """True for latitudes within 1e-9° of a pole (where longitude means nothing)."""
    return np.abs(lat) > 90.0 - 1e-9


def unit_vectors(lon, lat):
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
    ``kind[j]`` is ``EMPTY``, ``POINT`` (one distinct point), ``LINE`` (points on one
    great circle), ``POLYGON`` or ``GLOBE`` (no hemisphere holds the cluster).
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
        self.kind = np.where(self.counts > 0, POLYGON, EMPTY)
        centres, certificates = self._centres(
            unit_vectors(np.asarray(centre_lon, dtype=np.float64),
                          np.asarray(centre_lat, dtype=np.float64)).reshape(-1, 3))
        self.kind[list(certificates)] = GLOBE
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
        clusters = np.flatnonzero(self.kind == POLYGON)
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
        in_hull = np.repeat(self.kind == POLYGON, self.counts)
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
        self.kind[lines] = LINE
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
    closing[last] = types[which[last]] == POLYGON
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
    off_pole = np.where(at_pole(lat[positions]), np.inf, lon[positions])
    best = np.lexsort((lat[positions], off_pole, clusters))[starts]  # first of each group
    shift = np.repeat(best - starts, sizes)
    index = np.arange(len(clusters))
    group_start = np.repeat(starts, sizes)
    rotated = group_start + (index - group_start + shift) % np.repeat(sizes, sizes)
    return positions[rotated], clusters[rotated]
