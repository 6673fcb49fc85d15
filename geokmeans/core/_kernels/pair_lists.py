"""Move lists of the size-limited assignment (``balance``): for a pair of clusters (j, o),
the ``m`` pieces of cluster j that cost least to move to o, found without a pass over
every piece of j.

Moving a piece of row x from cluster j to o costs ``delta = f * (|x - c_o|² - |x - c_j|²)
= f * (|c_o|² - |c_j|² - 2 x.(c_o - c_j))`` per unit: linear in x. Each cluster's pieces
are indexed by the cells of a grid over the cluster's bounding box (``grid_keys``,
``cell_boxes``: ``G`` cells a side, about 64 in all), each cell with the box of its
pieces and the range of their ``f``; the least ``delta`` over a cell's box bounds its
pieces from below. ``build_pairs`` scans the cells from the lowest bound up and stops
when the next cell's bound exceeds the ``m``-th least delta found: every piece left out
costs more than the list's last, so the list is exactly the one a full pass would give
(ties included: a cell whose bound equals that delta is still scanned). Pieces that
moved into j after the index was built (its ``log``) are always scanned.
"""

import numpy as np
from numba import njit

__all__ = ["build_pairs", "cell_boxes", "counting_order", "grid_keys", "grid_side",
           "move_bound"]

#: cells of a cluster's grid, about (``grid_side`` rounds it to a power of d)
GRID_CELLS = 64


def grid_side(d):
    """Cells a side of a cluster's grid in d dimensions (1, a single cell, above 6)."""
    return max(1, round(GRID_CELLS ** (1.0 / d))) if d <= 6 else 1


@njit(cache=True)
def grid_keys(X, piece_row, piece_cluster, n_pieces, box, side, keys):
    """Each piece's key ``cluster * side**d + cell``: its cell in the grid of ``side``
    cells a side over its cluster's box ``box`` (k, 2, d) (clipped: a piece of amount 0
    may lie outside)."""
    d = X.shape[1]
    cells = side ** d
    for q in range(n_pieces):
        j, i = piece_cluster[q], piece_row[q]
        cell = 0
        stride = 1
        for f in range(d):
            lo, hi = box[j, 0, f], box[j, 1, f]
            t = 0
            if hi > lo:
                t = int((X[i, f] - lo) / (hi - lo) * side)
                t = min(max(t, 0), side - 1)
            cell += t * stride
            stride *= side
        keys[q] = j * cells + cell  # OUT


@njit(cache=True)
def counting_order(keys, n_keys, order, bounds):
    """The pieces sorted by key, stably (a counting sort: keys are in ``[0, n_keys)``):
    ``order`` (n,) and each key's first position ``bounds`` (n_keys + 1,)."""
    bounds[:] = 0  # OUT
    for q in range(keys.shape[0]):
        bounds[keys[q] + 1] += 1  # OUT
    for c in range(n_keys):
        bounds[c + 1] += bounds[c]  # OUT
    fill = bounds[:-1].copy()
    for q in range(keys.shape[0]):
        order[fill[keys[q]]] = q  # OUT
        fill[keys[q]] += 1


@njit(cache=True)
def cell_boxes(X, factor, piece_row, piece_amount, order, bounds, moved, cellbox, cellfac):
    """Each cell's box ``cellbox`` (cells, 2, d) of its pieces of positive amount (the
    pieces ``order[bounds[c]:bounds[c + 1]]``; lows > highs when it has none) and the
    range ``cellfac`` (cells, 2) of their ``factor``."""
    d = X.shape[1]
    for c in range(bounds.shape[0] - 1):
        for f in range(d):
            cellbox[c, 0, f] = np.inf  # OUT
            cellbox[c, 1, f] = -np.inf  # OUT
        cellfac[c, 0] = np.inf  # OUT
        cellfac[c, 1] = -np.inf  # OUT
        for t in range(bounds[c], bounds[c + 1]):
            q = order[t]
            if moved[q] or piece_amount[q] <= 0.0:
                continue
            i = piece_row[q]
            for f in range(d):
                cellbox[c, 0, f] = min(cellbox[c, 0, f], X[i, f])  # OUT
                cellbox[c, 1, f] = max(cellbox[c, 1, f], X[i, f])  # OUT
            cellfac[c, 0] = min(cellfac[c, 0], factor[i])  # OUT
            cellfac[c, 1] = max(cellfac[c, 1], factor[i])  # OUT


@njit(cache=True)
def move_bound(box, j, o, centers_t, f_low, f_high):
    """A lower bound on ``delta`` (j to o) of the pieces of rows inside ``box`` ((2, d):
    lows, highs) whose ``f`` lies in ``[f_low, f_high]``: the move's cost is linear in
    the row, so its least value over the box bounds it; inf when the box is empty
    (lows > highs)."""
    d = centers_t.shape[0]
    if box[0, 0] > box[1, 0]:
        return np.inf
    low = 0.0
    scale = 0.0
    for f in range(d):
        co, cj = centers_t[f, o], centers_t[f, j]
        b = co - cj
        x = box[1, f] if b > 0 else box[0, f]
        low += co * co - cj * cj - 2.0 * x * b
        scale += co * co + cj * cj + 2.0 * abs(b) * max(abs(box[0, f]), abs(box[1, f]))
    low -= 1e-9 * scale  # the rounding of the exact differences of squares
    return f_low * low if low >= 0 else f_high * low


@njit(cache=True)
def _select(delta, keep, n_keep, m, vals, ids, counts, floor, j, o):
    """The ``m`` least ``(delta, piece)`` of ``keep[:n_keep]`` (pieces in increasing
    order), sorted, into list (j, o); ``floor`` (j, o): the least delta left out."""
    if n_keep <= m:
        chosen = np.argsort(delta[:n_keep], kind="mergesort")
        for t in range(n_keep):
            vals[j, o, t] = delta[chosen[t]]  # OUT
            ids[j, o, t] = keep[chosen[t]]  # OUT
        counts[j, o] = n_keep  # OUT
        floor[j, o] = np.inf  # OUT
        return
    cut = np.partition(delta[:n_keep].copy(), m - 1)[m - 1]
    picked = np.empty(m, dtype=np.int64)
    n_picked = 0
    for t in range(n_keep):  # pieces are in increasing order: ties keep the lower
        if delta[t] < cut:
            picked[n_picked] = t
            n_picked += 1
    for t in range(n_keep):
        if n_picked == m:
            break
        if delta[t] == cut:
            picked[n_picked] = t
            n_picked += 1
    chosen = picked[np.argsort(delta[picked], kind="mergesort")]
    for t in range(m):
        vals[j, o, t] = delta[chosen[t]]  # OUT
        ids[j, o, t] = keep[chosen[t]]  # OUT
    counts[j, o] = m  # OUT
    floor[j, o] = cut  # OUT


@njit(cache=True)
def _delta(X, factor, centers_t, i, j, o):
    to_o = 0.0
    to_j = 0.0
    for f in range(X.shape[1]):
        a = X[i, f] - centers_t[f, o]
        b = X[i, f] - centers_t[f, j]
        to_o += a * a
        to_j += b * b
    return factor[i] * (to_o - to_j)


@njit(cache=True)
def _logged(j, piece_cluster, piece_amount, log, n_log):
    """The pieces moved into cluster j since the index was built that are still there
    (each once)."""
    found = np.empty(n_log[j], dtype=np.int64)
    n = 0
    for t in range(n_log[j]):
        q = log[j, t]
        if piece_cluster[q] == j and piece_amount[q] > 0.0:
            found[n] = q
            n += 1
    return np.unique(found[:n])


@njit(cache=True)
def _kth(values, n, m):
    """The m-th least of ``values[:n]`` (n >= m)."""
    return np.partition(values[:n].copy(), m - 1)[m - 1]


@njit(cache=True)
def _pair(X, factor, centers_t, piece_row, piece_cluster, piece_amount, order, bounds, moved,
          cellbox, cellfac, cells, logged, j, o, vals, ids, counts, floor):
    """Build list (j, o) from the cells of cluster j, lowest bound first."""
    m = vals.shape[2]
    first = j * cells
    bound = np.empty(cells)
    for c in range(cells):
        bound[c] = move_bound(cellbox[first + c], j, o, centers_t, cellfac[first + c, 0],
                              cellfac[first + c, 1])
    ranked = np.argsort(bound, kind="mergesort")
    size = logged.shape[0]
    for c in range(cells):
        size += bounds[first + c + 1] - bounds[first + c]
    cand = np.empty(size, dtype=np.int64)
    cand_delta = np.empty(size)
    n = 0
    for t in range(logged.shape[0]):
        cand[n] = logged[t]
        cand_delta[n] = _delta(X, factor, centers_t, piece_row[logged[t]], j, o)
        n += 1
    cut = _kth(cand_delta, n, m) if n >= m else np.inf
    left = np.inf  # the least bound of the cells not scanned
    for r in range(cells):
        c = ranked[r]
        if bound[c] == np.inf:
            break
        if n >= m and bound[c] > cut:
            left = bound[c]
            break
        for t in range(bounds[first + c], bounds[first + c + 1]):
            q = order[t]
            if moved[q] or piece_amount[q] <= 0.0:
                continue
            cand[n] = q
            cand_delta[n] = _delta(X, factor, centers_t, piece_row[q], j, o)
            n += 1
        if n >= m:
            cut = _kth(cand_delta, n, m)
    by_piece = np.argsort(cand[:n])  # increasing piece order: ties keep the lower piece
    keep = cand[:n][by_piece]
    delta = cand_delta[:n][by_piece]
    _select(delta, keep, n, m, vals, ids, counts, floor, j, o)
    floor[j, o] = min(floor[j, o], left)  # OUT: the cells left out cost at least this


@njit(cache=True)
def build_pairs(X, factor, centers_t, piece_row, piece_cluster, piece_amount, order, bounds,
                moved, cellbox, cellfac, cells, log, n_log, pairs, vals, ids, counts, floor):
    """For each pair (j, o) of ``pairs`` (P, 2, sorted by j): the ``m`` pieces of cluster
    j of least ``delta`` towards o (ties: lower piece), sorted, into ``vals``/``ids``
    (k, k, m) and ``counts`` (k, k), and into ``floor`` (k, k) a lower bound on ``delta``
    of the pieces left out (inf when none is). Cluster j's pieces: those of its ``cells``
    cells of the index (``order``/``bounds``, skipping pieces ``moved`` since) and those
    of its ``log`` of moves in."""
    last = -1
    logged = np.empty(0, dtype=np.int64)
    for r in range(pairs.shape[0]):
        j, o = pairs[r, 0], pairs[r, 1]
        if j != last:
            logged = _logged(j, piece_cluster, piece_amount, log, n_log)
            last = j
        _pair(X, factor, centers_t, piece_row, piece_cluster, piece_amount, order, bounds,
              moved, cellbox, cellfac, cells, logged, j, o, vals, ids, counts, floor)
