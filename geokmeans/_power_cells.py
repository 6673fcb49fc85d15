"""Power (Laguerre) cells in a plane: where one score ``|x - c_j|² + p_j`` is the least.

Cell ``j`` of centres ``c`` with prices ``p`` is ``{x : |x - c_j|² + p_j <= |x - c_l|² + p_l
for every l}``, the intersection of the half-planes ``2 x·(c_l - c_j) <= |c_l|² - |c_j|² +
p_l - p_j`` (Aurenhammer, "Power diagrams", SIAM J. Comput. 16, 1987): a convex polygon,
possibly empty; with equal prices, the Voronoi cell. A convex region is cut by each
half-plane in turn (Sutherland-Hodgman against one line), many polygons at once, each
cell's lines nearest first, stopping at the first line beyond the polygon: every later one
is farther. Inputs are assumed checked (finite, matching shapes).
"""

import numpy as np
import shapely
from shapely.geometry.polygon import orient

__all__ = ["lowest_affine_pieces", "power_cells"]

#: Pieces of zero area (a line through a corner) are dropped below this fraction of the
#: clipped region's area.
_MIN_AREA_FRACTION = 1e-15
#: Cells are computed in chunks of about this many (cell, line) pairs.
_CHUNK_PAIRS = 1 << 18


def _clip_batch(vertices, count, normal, offset):
    """Many convex polygons cut by one line each: ``vertices`` (n, v, 2) of which the
    first ``count`` (n,) are used (counter-clockwise), each cut to ``y·normal <= offset``
    (normal (n, 2), offset (n,)): each vertex inside is kept, then the crossing on the
    edge leaving it if the edge crosses. Returns the new vertices (n, v + 1, 2) and
    counts."""
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


def _power_chunk(centres, prices, ring, rows):
    """Vertices (b, v, 2) and counts (b,) of the power cells of centres ``rows`` within
    the counter-clockwise ``ring`` (m, 2), clipped together: at step ``r`` every cell not
    yet finished is cut by its ``r``-th nearest line, until each cell's next line lies
    beyond all its vertices. Computed around each ``c_j`` (``y = x - c_j``), where the
    line against centre ``l`` is ``y·(c_l - c_j) <= (|c_l - c_j|² + p_l - p_j) / 2``: no
    large numbers cancel."""
    normals = centres[None, :, :] - centres[rows, None, :]
    offsets = 0.5 * ((normals**2).sum(axis=2) + prices[None, :] - prices[rows, None])
    others = np.arange(len(centres))[None, :]
    same = (normals == 0.0).all(axis=2) & (offsets == 0.0)  # c_l = c_j, same price
    offsets = np.where(same, np.where(others < rows[:, None], -1.0, 1.0), offsets)
    length = np.hypot(normals[:, :, 0], normals[:, :, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(length > 0.0, offsets / length, np.inf)
    order = np.argsort(distance, axis=1, kind="stable")
    b = len(rows)
    vertices = np.zeros((b, 2 * len(ring), 2))
    vertices[:, :len(ring)] = ring - centres[rows, None, :]
    count = np.full(b, len(ring))
    count[((length == 0.0) & (offsets < 0.0)).any(axis=1)] = 0  # a cheaper twin centre
    pending = np.flatnonzero(count >= 3)
    for step in range(order.shape[1]):
        line = order[pending, step]
        used = np.arange(vertices.shape[1])[None, :] < count[pending, None]
        reach = np.sqrt(np.where(used, (vertices[pending] ** 2).sum(axis=2), 0.0).max(axis=1))
        go = distance[pending, line] < reach
        pending, line = pending[go], line[go]
        if pending.size == 0:
            break
        width = int(count[pending].max()) + 1
        if width > vertices.shape[1]:
            vertices = np.concatenate([vertices, np.zeros_like(vertices)], axis=1)
        vertices[pending, :width], count[pending] = _clip_batch(
            vertices[pending, :width - 1], count[pending], normals[pending, line],
            offsets[pending, line])
        pending = pending[count[pending] >= 3]
    count[count < 3] = 0
    return vertices + centres[rows, None, :], count


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
        ``|x - c_j|² + p_j`` (ties to the lower index, as ``numpy.argmin``); an empty
        Polygon where no point has. Cells meet along their edges and cover ``region``.
        Memory is O(k) per cell, cells taken in chunks.

    Examples
    --------
    >>> cells = power_cells(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([0.0, 0.0]),
    ...                     shapely.box(-1.0, -1.0, 3.0, 1.0))
    >>> [cell.bounds for cell in cells]
    [(-1.0, -1.0, 1.0, 1.0), (1.0, -1.0, 3.0, 1.0)]
    """
    centres = np.asarray(centres, dtype=np.float64)
    prices = np.asarray(prices, dtype=np.float64)
    ring = shapely.get_coordinates(orient(region, 1.0).exterior)[:-1]
    k = len(centres)
    cells = np.array([shapely.Polygon()] * k, dtype=object)
    chunk = max(1, _CHUNK_PAIRS // max(k, 1))
    for start in range(0, k, chunk):
        rows = np.arange(start, min(start + chunk, k))
        vertices, count = _power_chunk(centres, prices, ring, rows)
        kept = np.flatnonzero(count)
        if kept.size:
            used = np.arange(vertices.shape[1])[None, :] < count[kept, None]
            cells[rows[kept]] = shapely.polygons(shapely.linearrings(
                vertices[kept][used], indices=np.repeat(np.arange(kept.size), count[kept])))
    return cells
