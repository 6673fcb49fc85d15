"""Power (Laguerre) cells in a plane: where one score ``|x - c_j|² + p_j`` is the least.

Cell ``j`` of centres ``c`` with prices ``p`` is ``{x : |x - c_j|² + p_j <= |x - c_l|² + p_l
for every l}``, the intersection of the half-planes ``2 x·(c_l - c_j) <= |c_l|² - |c_j|² +
p_l - p_j`` (Aurenhammer, "Power diagrams", SIAM J. Comput. 16, 1987): a convex polygon,
possibly empty; with equal prices, the Voronoi cell. Each cell is a convex region clipped
by its half-planes one at a time (Sutherland-Hodgman against one line), nearest lines
first, stopping at the first line beyond the polygon: every later one is farther. Inputs
are assumed checked (finite, matching shapes).
"""

import numpy as np
import shapely
from shapely.geometry.polygon import orient

__all__ = ["clip_by_halfplanes", "lowest_affine_pieces", "power_cell_vertices", "power_cells"]

#: Pieces of zero area (a line through a corner) are dropped below this fraction of the
#: clipped region's area.
_MIN_AREA_FRACTION = 1e-15


def _clip_once(vertices, normal, offset):
    """The part of the convex polygon ``vertices`` (m, 2) where ``v·normal <= offset``."""
    side = vertices @ normal - offset
    inside = side <= 0.0
    if inside.all():
        return vertices
    if not inside.any():
        return vertices[:0]
    after = np.roll(vertices, -1, axis=0)
    side_after = np.roll(side, -1)
    crosses = inside != np.roll(inside, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crosses, side / (side - side_after), 0.0)
    crossing = vertices + t[:, None] * (after - vertices)
    # each vertex if inside, then the crossing on the edge leaving it if any
    slots = np.stack([vertices, crossing], axis=1).reshape(-1, 2)
    return slots[np.stack([inside, crosses], axis=1).ravel()]


def clip_by_halfplanes(vertices, normals, offsets):
    """The convex polygon ``vertices`` (m, 2, counter-clockwise, around the origin or not)
    cut to ``{y : y·normals[i] <= offsets[i] for every i}``.

    Lines are taken by their signed distance from the origin, nearest first; once a line
    lies farther from the origin than every vertex, it and all later ones leave the
    polygon whole, and the loop stops. A zero normal means the whole plane (offset >= 0)
    or nothing (offset < 0). Returns the vertices (q, 2), q = 0 when nothing is left.
    """
    length = np.hypot(normals[:, 0], normals[:, 1])
    if (offsets[length == 0.0] < 0.0).any():
        return vertices[:0]
    keep = length > 0.0
    normals, offsets, length = normals[keep], offsets[keep], length[keep]
    distance = offsets / length
    for i in np.argsort(distance, kind="stable"):
        if vertices.shape[0] < 3:
            return vertices[:0]
        reach = np.sqrt((vertices**2).sum(axis=1).max())
        if distance[i] >= reach:
            break
        vertices = _clip_once(vertices, normals[i], offsets[i])
    return vertices if vertices.shape[0] >= 3 else vertices[:0]


def power_cell_vertices(centres, prices, region, j):
    """Vertices (q, 2) of the power cell of centre ``j`` within the convex polygon
    ``region`` (m, 2, counter-clockwise), in the plane's coordinates.

    Computed around ``c_j`` (``y = x - c_j``), where the line against centre ``l`` is
    ``y·(c_l - c_j) <= (|c_l - c_j|² + p_l - p_j) / 2``: no large numbers cancel. A
    centre equal to ``c_j`` with a lower price empties the cell; with the same price the
    lower index keeps the cell (as ``numpy.argmin`` breaks ties).
    """
    normals = np.delete(centres, j, axis=0) - centres[j]
    others = np.delete(np.arange(len(centres)), j)
    offsets = 0.5 * ((normals**2).sum(axis=1) + prices[others] - prices[j])
    same = (normals == 0.0).all(axis=1) & (offsets == 0.0)
    offsets[same] = np.where(others[same] < j, -1.0, 1.0)
    cell = clip_by_halfplanes(region - centres[j], normals, offsets)
    return cell + centres[j]


def power_cells(centres, prices, region):
    """Power cells of ``centres`` (k, 2) with ``prices`` (k,) clipped to ``region``.

    Parameters
    ----------
    centres : (k, 2) float array
        Centres in a plane (e.g. projected metres).
    prices : (k,) float array
        Each centre's price, in the units of squared coordinates (m²); all zero for
        Voronoi cells.
    region : shapely Polygon
        A convex polygon holding the cells' part of the plane.

    Returns
    -------
    (k,) object array of shapely Polygons
        Cell ``j`` holds the points of ``region`` for which ``j`` has the least score
        ``|x - c_j|² + p_j``; an empty Polygon where no point has. Cells meet along
        their edges and cover ``region``.

    Examples
    --------
    >>> cells = power_cells(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([0.0, 0.0]),
    ...                     shapely.box(-1.0, -1.0, 3.0, 1.0))
    >>> [cell.bounds for cell in cells]
    [(-1.0, -1.0, 1.0, 1.0), (1.0, -1.0, 3.0, 1.0)]
    """
    ring = shapely.get_coordinates(orient(region, 1.0).exterior)[:-1]
    centres = np.asarray(centres, dtype=np.float64)
    prices = np.asarray(prices, dtype=np.float64)
    cells = np.empty(len(centres), dtype=object)
    for j in range(len(centres)):
        vertices = power_cell_vertices(centres, prices, ring, j)
        cells[j] = shapely.Polygon(vertices) if len(vertices) else shapely.Polygon()
    return cells


def _clip_batch(vertices, count, normal, offset):
    """``_clip_once`` for many convex polygons at once: ``vertices`` (n, v, 2) of which
    the first ``count`` (n,) are used, each cut to ``y·normal <= offset`` (normal (n, 2),
    offset (n,)). Returns the new vertices (n, v + 1, 2) and counts."""
    n, v = vertices.shape[:2]
    index = np.arange(v)
    valid = index < count[:, None]
    side = np.einsum("nvi,ni->nv", vertices, normal) - offset[:, None]
    inside = valid & (side <= 0.0)
    nxt = np.where(index + 1 < count[:, None], index + 1, 0)
    side_after = np.take_along_axis(side, nxt, axis=1)
    after = np.take_along_axis(vertices, nxt[:, :, None], axis=1)
    crosses = valid & (inside != np.take_along_axis(inside, nxt, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crosses, side / (side - side_after), 0.0)
    crossing = vertices + t[:, :, None] * (after - vertices)
    slots = np.stack([vertices, crossing], axis=2).reshape(n, 2 * v, 2)
    used = np.stack([inside, crosses], axis=2).reshape(n, 2 * v)
    order = np.argsort(~used, axis=1, kind="stable")[:, :v + 1]
    return np.take_along_axis(slots, order[:, :, None], axis=1), used.sum(axis=1)


def lowest_affine_pieces(slopes, values, squares):
    """Pieces of many convex polygons where each of their affine functions is the least.

    ``squares`` (n, 4, 2) are the polygons; polygon ``i`` has ``m`` functions ``values[i,
    a] + slopes[i, a]·y`` (``values`` (n, m), ``slopes`` (n, m, 2)). Piece ``(i, a)`` is
    where function ``a`` is the least (ties to the lower ``a``). Returns ``(polygon,
    function, vertices)`` per non-empty piece: arrays (p,), (p,) and a list of (q, 2)
    arrays.
    """
    n, m = values.shape
    found = []
    twice_area = np.abs(_twice_areas(squares, np.full(n, 4)))
    for a in range(m):
        vertices, count = squares, np.full(n, 4)
        for b in range(m):
            if b == a:
                continue
            normal = slopes[:, a] - slopes[:, b]
            offset = values[:, b] - values[:, a]
            tie = (normal == 0.0).all(axis=1) & (offset == 0.0)
            offset = np.where(tie, -1.0 if b < a else 1.0, offset)
            vertices, count = _clip_batch(vertices, count, normal, offset)
        area = np.abs(_twice_areas(vertices, count))
        for i in np.flatnonzero((count >= 3) & (area > _MIN_AREA_FRACTION * twice_area)):
            found.append((i, a, vertices[i, :count[i]]))
    return (np.array([f[0] for f in found], dtype=np.int64),
            np.array([f[1] for f in found], dtype=np.int64), [f[2] for f in found])


def _twice_areas(vertices, count):
    """Twice the signed areas (n,) of polygons ``vertices`` (n, v, 2), ``count`` used."""
    index = np.arange(vertices.shape[1])
    nxt = np.where(index + 1 < count[:, None], index + 1, 0)
    x, y = vertices[:, :, 0], vertices[:, :, 1]
    cross = x * np.take_along_axis(y, nxt, axis=1) - np.take_along_axis(x, nxt, axis=1) * y
    return np.where(index < count[:, None], cross, 0.0).sum(axis=1)
