"""Power cells on the sphere, as lon/lat polygons (behind ``territories``; inputs assumed
checked).

On the sphere of radius R the score of centre ``c_j`` (Earth-centred metres) with price
``p_j`` at the point ``R u`` (``u`` a unit vector) is ``|R u - c_j|² + p_j``, which is
``R² (h_j - g_j·u)`` plus a constant with ``g_j = 2 c_j / R`` and ``h_j = (|c_j|² + p_j) /
R²``. The boundary between two cells lies on the plane ``(g_j - g_l)·u = h_j - h_l``: a
small circle (a great circle when ``h_j = h_l``). Cells need not be convex, connected or
free of holes.

They are found on a quadtree over longitude and latitude (degrees): a rectangle keeps the
centres that can win somewhere in it. The difference of two scores changes by at most
``|g_j - g_l|`` per radian of (lon, lat) (the partial derivatives of ``u`` are orthogonal,
of lengths cos(lat) and 1), so centre ``l`` is dropped from a rectangle whose centre point
it loses to ``j`` by more than ``|g_j - g_l|`` times the rectangle's half-diagonal: a
rectangle left with one centre lies wholly in its cell (exactly). Rectangles with several
are split in four down to ``step_deg``; there, a leaf with two centres is cut along the
straight line through the points where the exact score difference, interpolated linearly
along each side from its corners, changes sign (the same points for the two leaves
sharing a side, so boundaries are continuous); a leaf with three or more centres (near a
meeting point of cells), or whose corners alternate, is cut by the scores linearised at
its centre (an error of the same order). The boundaries are then within about
``step²/8`` radians (divided by the sine of the small circle's angular radius) of the
exact ones: about 2.4 m for great circles at ``step_deg = 0.1`` (``boundary_error_m``); a
cell narrower than a leaf may be lost. Pieces are merged per cell by GEOS's coverage union
(rectangles carry a vertex wherever a neighbour has a corner on their side), the few
linearised leaves by a general union.
"""

import numpy as np
import shapely

from ._power_cells import lowest_affine_pieces
from .projection import EARTH_RADIUS_M

__all__ = ["ROOT_MAX_DEG", "boundary_error_m", "sphere_power_cells"]

#: Side of the quadtree's first rectangles, at most (degrees).
ROOT_MAX_DEG = 4.0
_RAD = np.pi / 180.0


def boundary_error_m(step_deg):
    """About how far (m) a cell boundary that is a great circle may lie from its exact
    place with leaves of ``step_deg``: the sagitta ``R step² / 8`` of one leaf's side."""
    return EARTH_RADIUS_M * (step_deg * _RAD) ** 2 / 8.0


def _unit(lon_deg, lat_deg):
    lam, phi = lon_deg * _RAD, lat_deg * _RAD
    cos_phi = np.cos(phi)
    return np.column_stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


class _Scores:
    """Scores ``h_j - g_j·u`` of the centres, and exact differences of two of them."""

    def __init__(self, centres_m, prices_m2):
        self.centres = centres_m / EARTH_RADIUS_M
        self.prices = prices_m2 / EARTH_RADIUS_M**2
        self.g = 2.0 * self.centres
        self.h = (self.centres**2).sum(axis=1) + self.prices

    def values(self, labels, u):
        """Scores (n,) of ``labels`` (n,) at unit vectors ``u`` (n, 3)."""
        return self.h[labels] - np.einsum("ij,ij->i", self.g[labels], u)

    def difference(self, a, b, u):
        """Score of ``a`` minus score of ``b`` (each (n,)) at ``u`` (n, 3), written so that
        nearby centres lose no digits: ``(c_a - c_b)·(c_a + c_b - 2u) + p_a - p_b``."""
        ca, cb = self.centres[a], self.centres[b]
        return (np.einsum("ij,ij->i", ca - cb, ca + cb - 2.0 * u)
                + self.prices[a] - self.prices[b])

    def slope_bound(self, a, b):
        """Largest change of ``difference(a, b)`` per radian of (lon, lat)."""
        return np.linalg.norm(self.g[a] - self.g[b], axis=1)


class _Grid:
    """The quadtree's rectangles: at ``level``, rectangle ``(ix, iy)`` spans
    ``west + ix * dx .. west + (ix + 1) * dx`` (``dx = root_dx / 2**level``), the same for
    latitudes; corners are computed the same way everywhere, so shared corners are equal."""

    def __init__(self, bounds, step_deg):
        west, south, east, north = bounds
        width, height = max(east - west, step_deg), max(north - south, step_deg)
        self.levels = max(0, int(np.ceil(np.log2(min(ROOT_MAX_DEG, max(width, height))
                                                 / step_deg))))
        root = step_deg * 2.0**self.levels
        self.nx, self.ny = int(np.ceil(width / root)), int(np.ceil(height / root))
        self.west, self.south = west, south
        self.root_dx, self.root_dy = width / self.nx, height / self.ny

    def edges(self, ix, iy, level):
        """West, south, east, north (each (n,), degrees) of rectangles at ``level``, from
        leaf indices times the leaf's side (so a corner has one value at every level)."""
        scale = 2 ** (self.levels - level)
        dx, dy = self.root_dx / 2.0**self.levels, self.root_dy / 2.0**self.levels
        return (self.west + (ix * scale) * dx, self.south + (iy * scale) * dy,
                self.west + ((ix + 1) * scale) * dx, self.south + ((iy + 1) * scale) * dy)

    def leaf_deg(self):
        """The larger side of the leaves (degrees)."""
        return max(self.root_dx, self.root_dy) / 2.0**self.levels

    def half_diagonal_rad(self, level):
        return 0.5 * np.hypot(self.root_dx, self.root_dy) / 2.0**level * _RAD


def _keep_candidates(scores, rect, label, u, reach):
    """Which (rect, label) pairs may win somewhere in their rectangle: against the label
    with the least score at the rectangle's centre point ``u`` (rows per rectangle)."""
    value = scores.values(label, u[rect])
    order = np.lexsort((value, rect))
    first = order[np.flatnonzero(np.diff(np.append(-1, rect[order])) != 0)]
    best = np.empty(u.shape[0], dtype=np.int64)
    best[rect[first]] = label[first]
    return _within_reach(scores, label, best[rect], u[rect], reach)


def _within_reach(scores, label, best, u, reach):
    """True where ``label`` loses to ``best`` at ``u`` by at most what their difference
    can change within ``reach`` radians (with room for rounding)."""
    margin = scores.difference(label, best, u)
    allowed = scores.slope_bound(label, best) * reach
    return margin <= allowed * (1.0 + 1e-9) + 1e-15


def _first_pairs(scores, grid, ix, iy):
    """The (rect, label) pairs of the first level, from every centre at every rectangle
    (as tables, one row per rectangle; the scores' rounding, far below the scores'
    spread over a first-level rectangle, is allowed for)."""
    west, south, east, north = grid.edges(ix, iy, 0)
    u = _unit(0.5 * (west + east), 0.5 * (south + north))
    value = scores.h[None, :] - u @ scores.g.T
    best = np.argmin(value, axis=1)
    margin = value - value[np.arange(ix.size), best][:, None]
    g_best = scores.g[best]
    spread = np.sqrt(np.maximum((scores.g**2).sum(axis=1)[None, :] - 2.0 * g_best @ scores.g.T
                                + (g_best**2).sum(axis=1)[:, None], 0.0))
    keep = margin <= spread * grid.half_diagonal_rad(0) * (1.0 + 1e-9) + 1e-12
    rect, label = np.nonzero(keep)
    return rect, label


def _in_region(region, grid, ix, iy, level, partial):
    """Which rectangles meet ``region`` and which of those it does not cover (only those
    flagged ``partial`` are tested: the others lie in it, as their parent did)."""
    meets, still = np.ones(ix.size, dtype=bool), np.zeros(ix.size, dtype=bool)
    tested = np.flatnonzero(partial)
    if tested.size:
        boxes = shapely.box(*(e[tested] for e in grid.edges(ix, iy, level)))
        meets[tested] = shapely.intersects(region, boxes)
        still[tested] = ~shapely.covers(region, boxes)
    return meets, still & meets


def _quadtree(scores, grid, region, max_leaves):
    """Rectangles of one centre ``[(level, ix, iy, label)]`` and leaves of several
    ``(ix, iy, pair_rect, pair_label)`` at the last level: ``grid.levels``, or an earlier
    one (then made ``grid.levels``) when the next would hold more than ``max_leaves``
    (halving the side about doubles the rectangles a boundary crosses)."""
    ix, iy = np.meshgrid(np.arange(grid.nx), np.arange(grid.ny), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    rect, label = _first_pairs(scores, grid, ix, iy)
    partial = np.ones(ix.size, dtype=bool)
    uniform = []
    for level in range(grid.levels + 1):
        meets, partial = _in_region(region, grid, ix, iy, level, partial)
        if level > 0:
            west, south, east, north = grid.edges(ix, iy, level)
            u = _unit(0.5 * (west + east), 0.5 * (south + north))
            keep = _keep_candidates(scores, rect, label, u, grid.half_diagonal_rad(level))
            rect, label = rect[keep], label[keep]
        keep = meets[rect]
        rect, label = rect[keep], label[keep]
        count = np.bincount(rect, minlength=ix.size)
        single = np.flatnonzero(count == 1)
        uniform.append((level, ix[single], iy[single], label[np.searchsorted(rect, single)]))
        if level == grid.levels or 2 * np.count_nonzero(count > 1) > max_leaves:
            grid.levels = level
            break
        ix, iy, rect, label, partial = _children(ix, iy, rect, label, count > 1, partial)
    leaves = np.flatnonzero(count > 1)
    renumber = np.full(ix.size, -1)
    renumber[leaves] = np.arange(leaves.size)
    multi = (count > 1)[rect]
    return uniform, (ix[leaves], iy[leaves], renumber[rect[multi]], label[multi])


def _children(ix, iy, rect, label, mixed, partial):
    """The four children of each ``mixed`` rectangle, each with its parent's labels and
    ``partial`` flag."""
    parents = np.flatnonzero(mixed)
    rank = np.full(ix.size, -1)
    rank[parents] = np.arange(parents.size)
    kept = mixed[rect]
    rect, label = rank[rect[kept]], label[kept]
    quadrant = np.arange(4)
    child_ix = (2 * ix[parents][:, None] + quadrant % 2).ravel()
    child_iy = (2 * iy[parents][:, None] + quadrant // 2).ravel()
    child_rect = (4 * rect[:, None] + quadrant).ravel()
    child_label = np.repeat(label, 4)
    order = np.argsort(child_rect, kind="stable")
    child_partial = np.repeat(partial[parents], 4)
    return child_ix, child_iy, child_rect[order], child_label[order], child_partial


# -- the leaves with several centres ------------------------------------------------------

#: Each side of a leaf (in ring order: south, east, north, west) from its south or west
#: end, as the neighbouring leaf computes it.
_START, _END = np.array([0, 1, 3, 0]), np.array([1, 2, 2, 3])


def _corner_labels(scores, corners, rect, label):
    """The winning label (n, 4) at each corner of each leaf, among the leaf's labels
    (ties to the lower label)."""
    winners = np.empty(corners.shape[:2], dtype=np.int64)
    for c in range(4):
        u = _unit(corners[:, c, 0], corners[:, c, 1])
        order = np.lexsort((label, scores.values(label, u[rect]), rect))
        first = order[np.flatnonzero(np.diff(np.append(-1, rect[order])) != 0)]
        winners[rect[first], c] = label[first]
    return winners


def _crossings(scores, corners, winners):
    """Where each side whose ends have different winners ``a < b`` changes hands: the
    root of the exact ``score_a - score_b``, interpolated linearly between the ends."""
    crosses = winners[:, _START] != winners[:, _END]
    rows, sides = np.nonzero(crosses)
    a = np.minimum(winners[rows, _START[sides]], winners[rows, _END[sides]])
    b = np.maximum(winners[rows, _START[sides]], winners[rows, _END[sides]])
    start, end = corners[rows, _START[sides]], corners[rows, _END[sides]]
    at_start = scores.difference(a, b, _unit(start[:, 0], start[:, 1]))
    at_end = scores.difference(a, b, _unit(end[:, 0], end[:, 1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip(np.nan_to_num(at_start / (at_start - at_end), nan=0.5), 0.0, 1.0)
    points = np.full(corners.shape, np.nan)
    points[rows, sides] = start + t[:, None] * (end - start)
    return points, crosses


def _polygons(labels, slots, used):
    """Polygons (and their labels) of the rings ``slots[i][used[i]]`` with a positive area."""
    sizes = used.sum(axis=1)
    rings = np.flatnonzero(sizes >= 3)
    if rings.size == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    coords = slots[rings][used[rings]]
    geoms = shapely.polygons(shapely.linearrings(coords, indices=np.repeat(
        np.arange(rings.size), sizes[rings])))
    positive = shapely.area(geoms) > 0.0
    return geoms[positive], labels[rings][positive]


def _split_leaves(winners, slots, used, crosses):
    """Pieces of the leaves with at most two sides changing hands: ``[(labels, slots,
    used)]``; a leaf with two is cut along the chord between the crossings."""
    count = crosses.sum(axis=1)
    whole = np.flatnonzero(count == 0)
    pieces = [(winners[whole, 0], slots[whole], used[whole])]
    two = np.flatnonzero(count == 2)
    rows, sides = np.nonzero(crosses[two])
    first, second = 2 * sides[0::2] + 1, 2 * sides[1::2] + 1  # slots of the crossings
    index = np.arange(8)
    between = (index >= first[:, None]) & (index <= second[:, None])
    outside = (index <= first[:, None]) | (index >= second[:, None])
    pieces.append((winners[two, (first + 1) // 2], slots[two], used[two] & between))
    pieces.append((winners[two, ((second + 1) // 2) % 4], slots[two], used[two] & outside))
    return pieces


def _linearised_pieces(scores, edges, rect, label, leaves):
    """Pieces (geometries, labels) of ``leaves`` cut by their centres' scores linearised
    at their centre points: the least of affine functions of lon/lat (degrees). Leaves
    are taken in groups of the same number of centres."""
    count = np.bincount(rect, minlength=len(edges[0]))
    start = np.concatenate([[0], np.cumsum(count)])
    geoms, labels = [], []
    for m in np.unique(count[leaves]):
        group = leaves[count[leaves] == m]
        west, south, east, north = (e[group] for e in edges)
        lon, lat = 0.5 * (west + east), 0.5 * (south + north)
        lam, phi = lon * _RAD, lat * _RAD
        u = _unit(lon, lat)
        d_lon = np.column_stack([-np.cos(phi) * np.sin(lam), np.cos(phi) * np.cos(lam),
                                 np.zeros_like(lam)])
        d_lat = np.column_stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam),
                                 np.cos(phi)])
        table = label[start[group][:, None] + np.arange(m)]  # (n, m)
        first = np.repeat(table[:, :1], m, axis=1).ravel()
        values = scores.difference(table.ravel(), first, np.repeat(u, m, axis=0))
        g = scores.g[table]  # (n, m, 3)
        slopes = -_RAD * np.stack([np.einsum("nmi,ni->nm", g, d_lon),
                                   np.einsum("nmi,ni->nm", g, d_lat)], axis=2)
        # in absolute degrees, so that vertices on a side have its exact coordinate
        intercepts = values.reshape(-1, m) - np.einsum("nmi,ni->nm", slopes,
                                                         np.column_stack([lon, lat]))
        squares = np.stack([np.column_stack([west, south]), np.column_stack([east, south]),
                            np.column_stack([east, north]), np.column_stack([west, north])],
                           axis=1)
        leaf, which, pieces = lowest_affine_pieces(slopes, intercepts, squares)
        if leaf.size:
            sizes = np.array([len(vertices) for vertices in pieces])
            geoms.append(shapely.polygons(shapely.linearrings(
                np.concatenate(pieces), indices=np.repeat(np.arange(leaf.size), sizes))))
            labels.append(table[leaf, which])
    if not geoms:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    return np.concatenate(geoms), np.concatenate(labels)


def _leaf_polygons(scores, grid, leaves):
    """Polygons and labels of the pieces of the leaves with several centres: ``(regular,
    others)``, the regular pieces sharing their sides vertex for vertex (a coverage), the
    others (leaves with three centres or more, or whose corners alternate) not."""
    ix, iy, rect, label = leaves
    edges = grid.edges(ix, iy, grid.levels)
    corners = np.stack([np.column_stack([edges[0], edges[1]]),
                        np.column_stack([edges[2], edges[1]]),
                        np.column_stack([edges[2], edges[3]]),
                        np.column_stack([edges[0], edges[3]])], axis=1)
    winners = _corner_labels(scores, corners, rect, label)
    crossing, crosses = _crossings(scores, corners, winners)
    count = np.bincount(rect, minlength=ix.size)
    other = (count > 2) | (crosses.sum(axis=1) > 2)
    crosses[other] = False  # with no corner used either: no regular piece
    slots = np.stack([corners, crossing], axis=2).reshape(-1, 8, 2)
    used = np.stack([~other[:, None].repeat(4, axis=1), crosses], axis=2).reshape(-1, 8)
    built = [_polygons(*piece) for piece in _split_leaves(winners, slots, used, crosses)]
    regular = (np.concatenate([g for g, _ in built]), np.concatenate([lab for _, lab in built]))
    return regular, _linearised_pieces(scores, edges, rect, label, np.flatnonzero(other))


# -- the cells ------------------------------------------------------------------------------


def _sorted_unique(values):
    values = np.sort(values)
    return values[np.append(True, values[1:] != values[:-1])]


def _rectangles(grid, uniform, leaf_ix, leaf_iy):
    """The one-centre rectangles (of every level) as polygons, with a vertex wherever a
    corner of another rectangle or leaf lies on their sides, so that neighbouring pieces
    share their edges vertex for vertex. Corners are counted in leaves along each axis.
    """
    x0, y0, size = [np.concatenate(a) for a in zip(*[
        (ix * 2 ** (grid.levels - level), iy * 2 ** (grid.levels - level),
         np.full(ix.size, 2 ** (grid.levels - level))) for level, ix, iy, _ in uniform],
        strict=True)]
    x1, y1 = x0 + size, y0 + size
    corner_x = np.concatenate([x0, x1, x1, x0, leaf_ix, leaf_ix + 1, leaf_ix + 1, leaf_ix])
    corner_y = np.concatenate([y0, y0, y1, y1, leaf_iy, leaf_iy, leaf_iy + 1, leaf_iy + 1])
    span = int(max(corner_x.max(), corner_y.max())) + 1
    rows = _sorted_unique(corner_y * span + corner_x)  # by latitude, then longitude
    columns = _sorted_unique(corner_x * span + corner_y)
    # each side from its corner: south (eastward), east (northward), north, west
    sides = [(rows, y0 * span + x0, y0 * span + x1, False),
             (columns, x1 * span + y0, x1 * span + y1, False),
             (rows, y1 * span + x0, y1 * span + x1, True),
             (columns, x0 * span + y0, x0 * span + y1, True)]
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    n = x0.size
    blocks_x, blocks_y = [], []
    for (keys, low, high, backwards), (cx, cy) in zip(sides, corners, strict=True):
        lo = np.searchsorted(keys, low, side="right")
        hi = np.searchsorted(keys, high, side="left")
        count = hi - lo
        within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        picked = keys[np.where(np.repeat(backwards, count.sum()),
                               np.repeat(hi - 1, count) - within, np.repeat(lo, count) + within)]
        along, across = picked % span, picked // span
        px, py = (along, across) if keys is rows else (across, along)
        owner = np.concatenate([np.arange(n), np.repeat(np.arange(n), count)])
        order = np.argsort(owner, kind="stable")
        blocks_x.append((owner[order], np.concatenate([cx, px])[order]))
        blocks_y.append(np.concatenate([cy, py])[order])
    owner = np.concatenate([b[0] for b in blocks_x])
    order = np.argsort(owner, kind="stable")  # rectangle by rectangle, sides in turn
    gx = np.concatenate([b[1] for b in blocks_x])[order]
    gy = np.concatenate(blocks_y)[order]
    west, south, _, _ = grid.edges(gx, gy, grid.levels)
    return shapely.polygons(shapely.linearrings(np.column_stack([west, south]),
                                                indices=owner[order]))


def sphere_power_cells(centres_m, prices_m2, region, step_deg, max_leaves=None):
    """Power cells on the sphere of radius ``EARTH_RADIUS_M`` as lon/lat polygons.

    Parameters
    ----------
    centres_m : (k, 3) float array
        Earth-centred centres in metres (``Projection("sphere")``'s coordinates).
    prices_m2 : (k,) float array
        Prices added to the squared chord distances (m²).
    region : shapely geometry (lon/lat degrees, within [-180, 180] x [-90, 90])
        The part of the Earth wanted: the result covers it (its pieces are whole
        quadtree rectangles; clip them to ``region``).
    step_deg : float
        Side of the quadtree's leaves (degrees), at most; see the module's notes on
        accuracy.
    max_leaves : int, optional
        Stop splitting, with larger leaves, before a level would hold more leaves than
        this (which bounds the time and the vertices).

    Returns
    -------
    cells : (k,) object array of lon/lat geometries
        Cell ``j`` (Polygon or MultiPolygon, an empty Polygon where ``j`` wins nowhere
        near ``region``); cells do not overlap and together cover ``region``.
    leaf_deg : float
        The leaves' larger side (degrees), for ``boundary_error_m``.

    Examples
    --------
    >>> from geokmeans.projection import Projection
    >>> centres = Projection("sphere").forward([0.0, 90.0], [0.0, 0.0])
    >>> cells, leaf_deg = sphere_power_cells(centres, np.zeros(2), shapely.box(-10, -5, 100, 5),
    ...                                      0.5)
    >>> [tuple(round(b, 6) for b in cell.bounds) for cell in cells], leaf_deg <= 0.5
    ([(-10.0, -5.0, 45.0, 5.0), (45.0, -5.0, 100.0, 5.0)], True)
    """
    scores = _Scores(np.asarray(centres_m, dtype=np.float64),
                     np.asarray(prices_m2, dtype=np.float64))
    grid = _Grid(region.bounds, step_deg)
    shapely.prepare(region)
    uniform, leaves = _quadtree(scores, grid, region, max_leaves or np.inf)
    geoms = [_rectangles(grid, uniform, leaves[0], leaves[1])]
    labels = [np.concatenate([label for _, _, _, label in uniform])]
    others = (np.empty(0, dtype=object), np.empty(0, dtype=np.int64))
    if leaves[0].size:
        regular, others = _leaf_polygons(scores, grid, leaves)
        geoms.append(regular[0])
        labels.append(regular[1])
    k = len(scores.h)
    covered, extra = _by_label(np.concatenate(geoms), np.concatenate(labels), k), \
        _by_label(*others, k)
    cells = np.empty(k, dtype=object)
    for j in range(k):
        cells[j] = _union(covered[j])
        if extra[j].size:
            cells[j] = shapely.union_all(np.append(extra[j], cells[j]))
    return cells, grid.leaf_deg()


def _by_label(geoms, labels, k):
    """``geoms`` grouped by their ``labels`` (k arrays)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    return [geoms[order[bounds[j]:bounds[j + 1]]] for j in range(k)]


def _union(pieces):
    """The union of pieces that share their edges vertex for vertex (a coverage); by the
    general overlay should GEOS find them noded otherwise (a safety net)."""
    if pieces.size == 0:
        return shapely.Polygon()
    try:
        return shapely.coverage_union_all(pieces)
    except shapely.errors.GEOSException:
        return shapely.union_all(pieces)
