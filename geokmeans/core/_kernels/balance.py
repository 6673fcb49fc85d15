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
``m`` least (per pair, with a floor under everything left out of the list) give it
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

__all__ = [
    "DONE",
    "GROW",
    "LIMIT",
    "REFILL",
    "STUCK",
    "assign_with_prices",
    "augment",
    "best_two_with_prices",
    "build_move_lists",
    "copy_move_lists",
    "refresh_arcs",
]

# statuses of ``augment``
DONE, REFILL, GROW, STUCK, LIMIT = 0, 1, 2, 3, 4


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


@njit(parallel=True, cache=True)
def build_move_lists(X, factor, centers_t, piece_row, piece_amount, order, bounds, rows, vals,
                     ids, counts, floor):
    """For each pair of clusters (j, o): the ``m`` pieces of cluster j of least
    ``delta`` towards o (ties: lower piece), sorted, into ``vals``/``ids`` (k, k, m) and
    ``counts`` (k, k); ``floor`` (k, k) is a lower bound on ``delta`` of the pieces
    left out (inf when none is), for the clusters j of ``rows`` only.
    ``order[bounds[j]:bounds[j + 1]]`` are the pieces of cluster j; pieces of zero
    amount are skipped. Linear in the pieces per pair (a selection, then a sort of the
    ``m`` kept)."""
    k = centers_t.shape[1]
    d = centers_t.shape[0]
    m = vals.shape[2]
    for r in prange(rows.shape[0]):
        j = rows[r]
        members = order[bounds[j]:bounds[j + 1]]
        keep = np.empty(members.shape[0], dtype=np.int64)
        n_keep = 0
        for t in range(members.shape[0]):
            if piece_amount[members[t]] > 0.0:
                keep[n_keep] = members[t]
                n_keep += 1
        own = np.empty(n_keep)
        for t in range(n_keep):
            i = piece_row[keep[t]]
            total = 0.0
            for f in range(d):
                diff = X[i, f] - centers_t[f, j]
                total += diff * diff
            own[t] = total
        delta = np.empty(n_keep)
        for o in range(k):
            if o == j:
                counts[j, o] = 0  # OUT
                floor[j, o] = np.inf  # OUT
                continue
            for t in range(n_keep):
                i = piece_row[keep[t]]
                total = 0.0
                for f in range(d):
                    diff = X[i, f] - centers_t[f, o]
                    total += diff * diff
                delta[t] = factor[i] * (total - own[t])
            _select(delta, keep, n_keep, m, vals, ids, counts, floor, j, o)


@njit(cache=True)
def _select(delta, keep, n_keep, m, vals, ids, counts, floor, j, o):
    """The ``m`` least ``(delta, piece)`` of ``keep[:n_keep]``, sorted, into list (j, o)."""
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
def refresh_arcs(vals, ids, heads, counts, floor, piece_cluster, piece_amount, eps, arc_val,
                 arc_piece):
    """``_refresh_arc`` for every pair (after the lists are built)."""
    k = vals.shape[0]
    for j in range(k):
        for o in range(k):
            if o == j:
                arc_val[j, o] = np.inf  # OUT
                arc_piece[j, o] = -1  # OUT
            else:
                _refresh_arc(j, o, vals, ids, heads, counts, floor, piece_cluster,
                             piece_amount, eps, arc_val, arc_piece)


@njit(cache=True)
def _add_piece(j, q, row, X, factor, centers_t, vals, ids, heads, counts, floor, buf):
    """Insert piece q (of ``row``), now in cluster j, into the lists (j, o)."""
    k = centers_t.shape[1]
    m = vals.shape[2]
    _all_sqdist(X, row, centers_t, buf)
    for o in range(k):
        if o == j:
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
                if q < 0:
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
def augment(X, factor, centers_t, piece_row, piece_cluster, piece_amount, n_pieces, sizes,
            flow, lower, upper, potentials, excess, eps, amount_eps, vals, ids, heads, counts,
            floor, arc_val, arc_piece, max_steps):
    """Successive shortest paths until no node has excess (``DONE``), a list must be
    refilled (``REFILL``), the piece arrays are full (``GROW``), no path exists
    (``STUCK``: infeasible limits) or ``max_steps`` augmentations are done (``LIMIT``).
    Updates everything in place; ``n_pieces`` is a (1,) array; ``arc_val``/``arc_piece``
    hold each pair's least piece (``refresh_arcs``). Returns ``(status, steps)``."""
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
        if target == -1:
            for v in range(k + 1):
                if excess[v] > eps:
                    return STUCK, steps
            return DONE, steps
        if n_pieces[0] + k + 1 > piece_row.shape[0]:
            return GROW, steps
        theta, source = _bottleneck(target, pred, pred_piece, piece_amount, flow, lower, upper,
                                    excess, k)
        v = target
        while pred[v] >= 0:
            u = pred[v]
            if u < T and v < T:
                q = pred_piece[v]
                row = piece_row[q]
                if piece_amount[q] - theta <= amount_eps:
                    piece_cluster[q] = v  # OUT
                    moved = q
                    for o in range(k):  # arcs whose least piece was q
                        if arc_piece[u, o] == q:
                            _refresh_arc(u, o, vals, ids, heads, counts, floor, piece_cluster,
                                         piece_amount, amount_eps, arc_val, arc_piece)
                else:
                    piece_amount[q] -= theta  # OUT
                    moved = n_pieces[0]
                    piece_row[moved] = row  # OUT
                    piece_cluster[moved] = v  # OUT
                    piece_amount[moved] = theta  # OUT
                    n_pieces[0] += 1  # OUT
                sizes[u] -= theta  # OUT
                sizes[v] += theta  # OUT
                _add_piece(v, moved, row, X, factor, centers_t, vals, ids, heads, counts,
                           floor, buf)
                for o in range(k):
                    if o != v:
                        _refresh_arc(v, o, vals, ids, heads, counts, floor, piece_cluster,
                                     piece_amount, amount_eps, arc_val, arc_piece)
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


@njit(parallel=True, cache=True)
def best_two_with_prices(X, factor, centers_t, potentials, starts, first, second, margin):
    """Each row's cluster of least ``factor * d² - potentials[j]`` (``first``), the
    runner-up (``second``, -1 when k = 1) and the difference of their values
    (``margin`` >= 0, inf when k = 1)."""
    k = centers_t.shape[1]
    for c in prange(starts.shape[0] - 1):
        buf = np.empty(k)
        for i in range(starts[c], starts[c + 1]):
            _all_sqdist(X, i, centers_t, buf)
            best = np.inf
            runner = np.inf
            best_j = 0
            runner_j = -1
            for j in range(k):
                value = factor[i] * buf[j] - potentials[j]
                if value < best:
                    runner = best
                    runner_j = best_j if j > 0 else -1
                    best = value
                    best_j = j
                elif value < runner:
                    runner = value
                    runner_j = j
            first[i] = best_j  # OUT
            second[i] = runner_j  # OUT
            margin[i] = runner - best  # OUT


@njit(cache=True)
def copy_move_lists(old_vals, old_ids, old_heads, old_counts, rows, vals, ids, counts):
    """Copy the live part (from the head) of the lists of the clusters ``rows`` into
    longer ``vals``/``ids``/``counts``."""
    k = old_vals.shape[0]
    for r in range(rows.shape[0]):
        j = rows[r]
        for o in range(k):
            h, c = old_heads[j, o], old_counts[j, o]
            for t in range(h, c):
                vals[j, o, t - h] = old_vals[j, o, t]  # OUT
                ids[j, o, t - h] = old_ids[j, o, t]  # OUT
            counts[j, o] = c - h  # OUT
