"""Size-limited assignment: the transportation problem between rows and clusters, solved
exactly by successive shortest paths over the k clusters.

The problem: given centres, put every row's *amount* (1 by count, its weight by weight)
into clusters so that each cluster's total lies in ``[lower_j, upper_j]`` and the cost
``sum amount * factor * d²`` is least (``factor`` is the row's weight by count, 1 by
weight, so the cost is the weighted inertia either way). By weight a row may be split
between clusters (the linear relaxation; the caller rounds the few split rows).

It is a min-cost flow: rows → clusters (cost per unit ``factor * d²``), clusters → a
sink T (flow ``F_j`` in ``[lower_j, upper_j]``, cost 0). The state is a set of
*pieces* (a row, an amount, a cluster) with node potentials ``p`` (k clusters + T)
such that every piece sits in a cluster of least reduced cost ``factor * d² - p_j``:
moving a piece from cluster j to o costs ``delta = factor * (d²_o - d²_j)`` per unit and
has reduced cost ``delta + p_j - p_l >= 0``. The only arcs between clusters that
matter are, for each pair (j, o), the piece of least ``delta``; sorted lists of the
``m`` least (per pair, with a floor under everything left out of the list; built by
``pair_lists`` from a grid index of each cluster's pieces) give it
without a pass over the rows, and a pass refills them when a list runs out. Each
augmentation is a Dijkstra over the k + 1 nodes from the nodes with excess to the
nearest with deficit (Ahuja, Magnanti & Orlin, *Network Flows*, 1993, ch. 9: successive
shortest paths keep reduced costs non-negative, so the final flow is optimal). A
cluster's price ``p_T - p_j`` is positive only when it is full and negative only when
it is at its minimum: the certificate of optimality, checked by the tests.
"""

import numpy as np
from numba import njit, prange

from ._common import _all_sqdist
from .pair_lists import move_bound

__all__ = [
    "BUILD",
    "DONE",
    "GROW",
    "LIMIT",
    "REINDEX",
    "REFILL",
    "STUCK",
    "assign_with_prices",
    "augment",
    "cluster_boxes",
    "copy_move_lists",
    "lazy_pairs",
    "refresh_arcs",
]

# statuses of ``augment``
DONE, REFILL, GROW, STUCK, LIMIT, BUILD, REINDEX = 0, 1, 2, 3, 4, 5, 6


@njit(parallel=True, cache=True)
def assign_with_prices(X, factor, centers_t, potentials, starts, labels):
    """Each row's cluster of least ``factor * d² - potentials[j]`` (ties: lowest j)."""
    k = centers_t.shape[1]
    for c in prange(starts.shape[0] - 1):
        buf = np.empty(k)
        for i in range(starts[c], starts[c + 1]):
            _all_sqdist(X, i, centers_t, buf)
            best = np.inf
            best_j = 0
            for j in range(k):
                value = factor[i] * buf[j] - potentials[j]
                if value < best:
                    best = value
                    best_j = j
            labels[i] = best_j  # OUT


@njit(cache=True)
def cluster_boxes(X, piece_row, piece_cluster, piece_amount, n_pieces, box):
    """Each cluster's bounding box ``box`` (k, 2, d) of its pieces of positive amount
    (lows > highs when it has none)."""
    box[:, 0, :] = np.inf  # OUT
    box[:, 1, :] = -np.inf  # OUT
    for q in range(n_pieces):
        if piece_amount[q] > 0.0:
            j, i = piece_cluster[q], piece_row[q]
            for f in range(X.shape[1]):
                box[j, 0, f] = min(box[j, 0, f], X[i, f])  # OUT
                box[j, 1, f] = max(box[j, 1, f], X[i, f])  # OUT


@njit(cache=True)
def _refresh_arc(j, o, vals, ids, heads, counts, floor, piece_cluster, piece_amount, eps,
                 arc_val, arc_piece):
    """Store in ``arc_val``/``arc_piece`` (k, k) the least valid piece of cluster j
    towards o: its delta and number; piece -1 when cluster j has none, -2 when the list
    ran out while pieces may be left out of it (a refill is needed)."""
    h = heads[j, o]
    while h < counts[j, o]:
        q = ids[j, o, h]
        if piece_cluster[q] == j and piece_amount[q] > eps:
            break
        h += 1
    heads[j, o] = h  # OUT
    arc_val[j, o] = np.inf  # OUT
    if h < counts[j, o]:
        if vals[j, o, h] <= floor[j, o]:
            arc_val[j, o] = vals[j, o, h]  # OUT
            arc_piece[j, o] = ids[j, o, h]  # OUT
        else:
            arc_piece[j, o] = -2  # OUT
    else:
        arc_piece[j, o] = -1 if floor[j, o] == np.inf else -2  # OUT


@njit(cache=True)
def refresh_arcs(pairs, vals, ids, heads, counts, floor, piece_cluster, piece_amount, eps,
                 arc_val, arc_piece):
    """``_refresh_arc`` for each pair of ``pairs`` (P, 2) (lists just built)."""
    for r in range(pairs.shape[0]):
        _refresh_arc(pairs[r, 0], pairs[r, 1], vals, ids, heads, counts, floor, piece_cluster,
                     piece_amount, eps, arc_val, arc_piece)


@njit(cache=True)
def _lazy_pair(j, o, centers_t, box, factor_range, arc_val, arc_piece):
    """A lower bound on the least move from cluster j to o (list not built): the move
    costs ``f * (|c_o|² - |c_j|² - 2 x.(c_o - c_j))``, linear in the row x, so its least
    value over cluster j's bounding box ``box[j]`` ((2, d): lows, highs; empty when lows
    > highs) bounds it from below, as does the range of ``f`` (``factor_range``).
    Marked -3: a shortest path through the pair builds its list first."""
    arc_val[j, o] = move_bound(box[j], j, o, centers_t, factor_range[0],  # OUT
                               factor_range[1])
    arc_piece[j, o] = -1 if box[j, 0, 0] > box[j, 1, 0] else -3  # OUT: -1, no piece


@njit(cache=True)
def lazy_pairs(built, centers_t, box, factor_range, arc_val, arc_piece):
    """``_lazy_pair`` for every pair not ``built`` ((k, k) mask)."""
    k = built.shape[0]
    for j in range(k):
        for o in range(k):
            if o != j and not built[j, o]:
                _lazy_pair(j, o, centers_t, box, factor_range, arc_val, arc_piece)


@njit(cache=True)
def _add_piece(j, q, row, X, factor, centers_t, vals, ids, heads, counts, floor, buf, built):
    """Insert piece q (of ``row``), now in cluster j, into the built lists (j, o)."""
    k = centers_t.shape[1]
    m = vals.shape[2]
    _all_sqdist(X, row, centers_t, buf)
    for o in range(k):
        if o == j or not built[j, o]:
            continue
        delta = factor[row] * (buf[o] - buf[j])
        h = heads[j, o]
        count = counts[j, o]
        if count == m and h > 0 and delta < vals[j, o, m - 1]:
            # full, with a consumed head: drop the head to make room (only then)
            for t in range(h, count):
                vals[j, o, t - h] = vals[j, o, t]  # OUT
                ids[j, o, t - h] = ids[j, o, t]  # OUT
            count -= h
            counts[j, o] = count  # OUT
            heads[j, o] = 0  # OUT
            h = 0
        if count == m:
            if delta >= vals[j, o, m - 1]:
                floor[j, o] = min(floor[j, o], delta)  # OUT
                continue
            floor[j, o] = min(floor[j, o], vals[j, o, m - 1])  # OUT
            pos = m - 1
        else:
            pos = count
            counts[j, o] = count + 1  # OUT
        while pos > h and vals[j, o, pos - 1] > delta:
            vals[j, o, pos] = vals[j, o, pos - 1]  # OUT
            ids[j, o, pos] = ids[j, o, pos - 1]  # OUT
            pos -= 1
        vals[j, o, pos] = delta  # OUT
        ids[j, o, pos] = q  # OUT


@njit(cache=True)
def _dijkstra(k, potentials, excess, flow, lower, upper, eps, arc_val, arc_piece, dist, pred,
              pred_piece):
    """Shortest reduced-cost distances from every node with excess; returns the nearest
    node with deficit, -1 if none is reachable, or -2 when a list must be refilled."""
    T = k
    done = np.zeros(k + 1, dtype=np.bool_)
    for v in range(k + 1):
        dist[v] = 0.0 if excess[v] > eps else np.inf  # OUT
        pred[v] = -1  # OUT
    for _ in range(k + 1):
        u = -1
        for v in range(k + 1):
            if not done[v] and dist[v] < np.inf and (u < 0 or dist[v] < dist[u]):
                u = v
        if u < 0:
            return -1
        done[u] = True
        if excess[u] < -eps:
            return u
        if u < T:
            for v in range(k):
                if done[v]:
                    continue
                q = arc_piece[u, v]
                if q == -2:
                    return -2
                if q == -1:
                    continue
                cand = dist[u] + max(arc_val[u, v] + potentials[u] - potentials[v], 0.0)
                if cand < dist[v]:
                    dist[v] = cand  # OUT
                    pred[v] = u  # OUT
                    pred_piece[v] = q  # OUT
            if not done[T] and flow[u] < upper[u] - eps:
                cand = dist[u] + max(potentials[u] - potentials[T], 0.0)
                if cand < dist[T]:
                    dist[T] = cand  # OUT
                    pred[T] = u  # OUT
        else:
            for v in range(k):
                if not done[v] and flow[v] > lower[v] + eps:
                    cand = dist[u] + max(potentials[T] - potentials[v], 0.0)
                    if cand < dist[v]:
                        dist[v] = cand  # OUT
                        pred[v] = T  # OUT
    return -1


@njit(cache=True)
def _bottleneck(target, pred, pred_piece, piece_amount, flow, lower, upper, excess, k):
    """The amount an augmentation along the path to ``target`` carries, and its source."""
    theta = -excess[target]
    v = target
    while pred[v] >= 0:
        u = pred[v]
        if u < k and v < k:
            theta = min(theta, piece_amount[pred_piece[v]])
        elif v == k:
            theta = min(theta, upper[u] - flow[u])
        else:
            theta = min(theta, flow[v] - lower[v])
        v = u
    return min(theta, excess[v]), v


@njit(cache=True)
def _row_pieces(row, q, v, piece_cluster, piece_amount, piece_next):
    """The piece of ``row`` (other than q) holding weight in cluster v, and an empty
    piece of the row to reuse; -1 for none."""
    joined, spare = -1, -1
    p = row
    while p >= 0:
        if p != q:
            if piece_amount[p] <= 0.0:
                if spare < 0:
                    spare = p
            elif piece_cluster[p] == v:
                joined = p
        p = piece_next[p]
    return joined, spare


@njit(cache=True)
def _blocked(target, pred, pred_piece, need, n_pieces, piece_row, n_log, log, k):
    """Why the path to ``target`` cannot be carried out yet (``BUILD``: a pair on it
    is not built, marked in ``need``; ``GROW``; ``REINDEX``), or -1 when it can."""
    lazy = False
    v = target
    while pred[v] >= 0:
        u = pred[v]
        if u < k and v < k and pred_piece[v] == -3:
            need[u, v] = True  # OUT
            lazy = True
        v = u
    if lazy:
        return BUILD
    if n_pieces[0] + k + 1 > piece_row.shape[0]:
        return GROW
    if n_log.max() + 1 > log.shape[1]:
        return REINDEX
    return -1


@njit(cache=True)
def _shift(q, v, theta, amount_eps, piece_row, piece_cluster, piece_amount, piece_next,
           n_pieces):
    """Move ``theta`` of piece q into cluster v: the whole piece when it holds no more
    and the row has no piece in v yet, else into the row's piece in v, a spare piece of
    the row, or a new one. Returns ``(moved, joined, whole)``: the piece now holding
    the amount in v, the row's piece it joined (-1 if none), whether q was emptied."""
    row = piece_row[q]
    joined, spare = _row_pieces(row, q, v, piece_cluster, piece_amount, piece_next)
    whole = piece_amount[q] - theta <= amount_eps
    if whole and joined < 0:
        piece_cluster[q] = v  # OUT
        return q, joined, whole
    if whole:
        theta_q = piece_amount[q]
        piece_amount[q] = 0.0  # OUT: left empty (reused later)
    else:
        theta_q = theta
        piece_amount[q] -= theta  # OUT
    if joined >= 0:
        moved = joined
    elif spare >= 0:
        moved = spare
    else:
        moved = n_pieces[0]
        piece_row[moved] = row  # OUT
        piece_next[moved] = piece_next[row]  # OUT
        piece_next[row] = moved  # OUT
        piece_amount[moved] = 0.0  # OUT
        n_pieces[0] += 1  # OUT
    piece_cluster[moved] = v  # OUT
    piece_amount[moved] += theta_q  # OUT
    return moved, joined, whole


@njit(cache=True)
def _arrive(u, v, q, moved, joined, whole, X, factor, centers_t, piece_row, piece_cluster,
            piece_amount, amount_eps, vals, ids, heads, counts, floor, arc_val, arc_piece,
            built, box, factor_range, moved_flag, log, n_log, buf):
    """After a piece's move from u to v: the arcs whose least piece was q (when q left
    u), v's log, box and lists (a piece new to v), and every arc out of v."""
    k = centers_t.shape[1]
    if whole:
        for o in range(k):  # arcs whose least piece was q
            if built[u, o] and arc_piece[u, o] == q:
                _refresh_arc(u, o, vals, ids, heads, counts, floor, piece_cluster,
                             piece_amount, amount_eps, arc_val, arc_piece)
    if moved != joined:  # a piece new to cluster v
        row = piece_row[moved]
        moved_flag[moved] = True  # OUT
        log[v, n_log[v]] = moved  # OUT
        n_log[v] += 1  # OUT
        for f in range(X.shape[1]):  # the bounding box keeps every member
            box[v, 0, f] = min(box[v, 0, f], X[row, f])  # OUT
            box[v, 1, f] = max(box[v, 1, f], X[row, f])  # OUT
        _add_piece(v, moved, row, X, factor, centers_t, vals, ids, heads, counts, floor, buf,
                   built)
    for o in range(k):
        if o == v:
            continue
        if built[v, o]:
            _refresh_arc(v, o, vals, ids, heads, counts, floor, piece_cluster, piece_amount,
                         amount_eps, arc_val, arc_piece)
        else:
            _lazy_pair(v, o, centers_t, box, factor_range, arc_val, arc_piece)


@njit(cache=True)
def augment(X, factor, centers_t, piece_row, piece_cluster, piece_amount, piece_next,
            n_pieces, sizes, flow, lower, upper, potentials, excess, eps, amount_eps, vals, ids,
            heads, counts, floor, arc_val, arc_piece, built, box, factor_range, need,
            moved_flag, log, n_log, max_steps):
    """Successive shortest paths until no node has excess (``DONE``), a list must be
    refilled (``REFILL``), the piece arrays are full (``GROW``), no path exists
    (``STUCK``: infeasible limits) or ``max_steps`` augmentations are done (``LIMIT``).
    Updates everything in place; ``n_pieces`` is a (1,) array; ``arc_val``/``arc_piece``
    hold each pair's least piece (``refresh_arcs``), or for pairs not ``built`` ((k, k)) a
    lower bound (``lazy_pairs``): a shortest path through such a pair marks it in
    ``need`` ((k, k)) and returns ``BUILD`` (the path is exact, so shortest, once every
    pair on it is built). Moved pieces are flagged in ``moved_flag`` and logged in their
    new cluster's ``log`` (k, L) (``n_log`` (k,) long; ``REINDEX`` when one is full), so
    that lists built later find them; a row has at most one piece per cluster
    (``_shift``). Returns ``(status, steps)``."""
    k = centers_t.shape[1]
    T = k
    dist = np.empty(k + 1)
    pred = np.empty(k + 1, dtype=np.int64)
    pred_piece = np.empty(k + 1, dtype=np.int64)
    buf = np.empty(k)
    steps = 0
    while steps < max_steps:
        target = _dijkstra(k, potentials, excess, flow, lower, upper, eps, arc_val, arc_piece,
                           dist, pred, pred_piece)
        if target == -2:
            return REFILL, steps
        if target == -1:  # no deficit reachable: done, unless excess is left
            return (STUCK if (excess > eps).any() else DONE), steps
        status = _blocked(target, pred, pred_piece, need, n_pieces, piece_row, n_log, log, k)
        if status >= 0:
            return status, steps
        theta, source = _bottleneck(target, pred, pred_piece, piece_amount, flow, lower, upper,
                                    excess, k)
        v = target
        while pred[v] >= 0:
            u = pred[v]
            if u < T and v < T:
                q = pred_piece[v]
                moved, joined, whole = _shift(q, v, theta, amount_eps, piece_row,
                                              piece_cluster, piece_amount, piece_next,
                                              n_pieces)
                sizes[u] -= theta  # OUT
                sizes[v] += theta  # OUT
                _arrive(u, v, q, moved, joined, whole, X, factor, centers_t, piece_row,
                        piece_cluster, piece_amount, amount_eps, vals, ids, heads, counts,
                        floor, arc_val, arc_piece, built, box, factor_range, moved_flag, log,
                        n_log, buf)
            elif v == T:
                flow[u] += theta  # OUT
            else:
                flow[v] -= theta  # OUT
            v = u
        excess[source] -= theta  # OUT
        excess[target] += theta  # OUT
        for v in range(k + 1):
            potentials[v] += min(dist[v], dist[target])  # OUT
        steps += 1
    return LIMIT, steps


@njit(cache=True)
def copy_move_lists(old_vals, old_ids, old_heads, old_counts, keep, vals, ids, counts):
    """Copy the live part (from the head) of the lists of the pairs ``keep`` ((k, k)
    mask) into longer ``vals``/``ids``/``counts``."""
    k = old_vals.shape[0]
    for j in range(k):
        for o in range(k):
            if not keep[j, o]:
                continue
            h, c = old_heads[j, o], old_counts[j, o]
            for t in range(h, c):
                vals[j, o, t - h] = old_vals[j, o, t]  # OUT
                ids[j, o, t - h] = old_ids[j, o, t]  # OUT
            counts[j, o] = c - h  # OUT
