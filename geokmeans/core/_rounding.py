"""Rounding the rows that a size-by-weight relaxation split between clusters.

The linear relaxation of the assignment with limits on summed weights (solved exactly in
``_balance``) may split a few rows between clusters. ``round_split_rows`` puts each of
them wholly in one cluster so that every cluster's sum stays within its limits widened
by *less than the weight of the heaviest split row*:

1. The split rows and the clusters they touch form a bipartite graph. Its cycles are
   cancelled: weight is pushed around a cycle (each row hands some of its weight to the
   next cluster; every cluster's sum is unchanged) in the direction that does not raise
   the cost, until a part of a row reaches zero. An optimal relaxation has equal reduced
   costs on the parts of a row, so this keeps it optimal; the graph becomes a forest.
2. Each tree is rounded from a root cluster down. Walking a cluster's rows, it either
   takes a row whole (its sum gains the rest of the row) or hands it to one of the row's
   other clusters (its sum loses its part). Whatever the running change ``s``, one of the
   two keeps ``|s|`` below the heaviest row seen there (a loss when ``s >= 0``, a gain
   when ``s < 0``), and a cluster below starts from the change one row made: so every
   cluster ends within that bound of its relaxed sum, which lay within the limits
   (the rounding of a forest of Lenstra, Shmoys & Tardos, Math. Programming 46, 1990,
   made two-sided). Among the choices that keep the bound, the one nearer the limits,
   then the cheaper, is taken.
3. A local search then moves single rows (split ones, then any row next to a cluster
   still outside its limits) when that brings clusters nearer their limits without
   taking another cluster out of them or past the bound.
"""

import numpy as np

__all__ = ["round_split_rows"]

#: Passes of the local search over the split rows.
SETTLE_PASSES = 20
#: Moves of the repair of a cluster still outside its limits.
REPAIR_MOVES = 64


def _d2(X, centres, row, cluster):
    diff = X[row] - centres[cluster]
    return float(diff @ diff)


def _violation(total, lower, upper):
    return max(total - upper, 0.0) + max(lower - total, 0.0)


class _Split:
    """The parts of the split rows: ``parts[row] = {cluster: amount}``."""

    def __init__(self, X, centres, weight, rows, clusters, amounts):
        self.X, self.centres, self.weight = X, centres, weight
        self.whole = {}  # rows the cycle cancelling made whole: their cluster
        counts = np.bincount(rows[amounts > 0], minlength=len(weight))
        self.parts = {}
        for row, cluster, amount in zip(rows, clusters, amounts, strict=True):
            if amount > 0 and counts[row] > 1:
                part = self.parts.setdefault(int(row), {})
                part[int(cluster)] = part.get(int(cluster), 0.0) + float(amount)
        for row in [row for row, part in self.parts.items() if len(part) == 1]:
            self.whole[row] = next(iter(self.parts.pop(row)))  # two pieces, one cluster

    def d2(self, row, cluster):
        return _d2(self.X, self.centres, row, cluster)

    def edges(self):
        return [(row, cluster) for row, part in self.parts.items() for cluster in part]

    def cancel_cycles(self):
        """Push weight around cycles of rows and clusters until none is left."""
        while True:
            cycle = self._find_cycle()
            if cycle is None:
                return
            self._push(cycle)

    def _find_cycle(self):
        """A cycle ``[c0, r0, c1, r1, ...]`` (row ``r_t`` has parts in ``c_t`` and
        ``c_{t+1}``), or None: union-find over the edges, a path in the forest so far
        closes the first edge that joins a component to itself."""
        parent = {}

        def root(node):
            while parent.setdefault(node, node) != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        adjacency = {}
        for row, cluster in self.edges():
            a, b = ("r", row), ("c", cluster)
            if root(a) == root(b):
                path = _forest_path(adjacency, b, a)  # c ... r, then the edge r - c
                return [node[1] for node in path]
            parent[root(a)] = root(b)
            adjacency.setdefault(a, []).append(b)
            adjacency.setdefault(b, []).append(a)
        return None

    def _push(self, cycle):
        clusters, rows = cycle[0::2], cycle[1::2]
        m = len(rows)
        # direction +1: row r_t hands weight from c_t to c_{t+1}
        unit = sum(self.d2(rows[t], clusters[(t + 1) % m]) - self.d2(rows[t], clusters[t])
                   for t in range(m))
        step = 1 if unit <= 0 else -1
        losing = [(rows[t], clusters[t] if step > 0 else clusters[(t + 1) % m])
                  for t in range(m)]
        gaining = [(rows[t], clusters[(t + 1) % m] if step > 0 else clusters[t])
                   for t in range(m)]
        amounts = [self.parts[row][cluster] for row, cluster in losing]
        emptied = int(np.argmin(amounts))
        delta = amounts[emptied]
        for t, ((row, out), (_, into)) in enumerate(zip(losing, gaining, strict=True)):
            part = self.parts[row]
            part[into] += delta
            if t == emptied:
                del part[out]
            else:
                part[out] -= delta
            if len(part) == 1:
                self.whole[row] = next(iter(part))
                del self.parts[row]


def _forest_path(adjacency, start, goal):
    """The path from ``start`` to ``goal`` in a forest given as adjacency lists."""
    previous, stack = {start: None}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            break
        for other in adjacency.get(node, ()):
            if other not in previous:
                previous[other] = node
                stack.append(other)
    path, node = [], goal
    while node is not None:
        path.append(node)
        node = previous[node]
    return path[::-1]


class _Rounder:
    """Top-down rounding of the forest of split rows (step 2 of the module's notes)."""

    def __init__(self, split, sums, lower, upper):
        self.split, self.sums, self.lower, self.upper = split, sums, lower, upper
        self.by_cluster = {}
        for row, part in split.parts.items():
            for cluster in part:
                self.by_cluster.setdefault(cluster, []).append(row)
        self.placed = {}

    def run(self):
        """``{row: cluster}`` for every split row; ``sums`` (the relaxed sums) become
        the rounded ones."""
        seen_rows = set()
        for root in sorted(self.by_cluster):
            if all(row in seen_rows for row in self.by_cluster[root]):
                continue
            stack = [(root, None, 0.0)]  # cluster, the row it came from, its bound
            while stack:
                cluster, from_row, bound = stack.pop()
                for row in self.by_cluster[cluster]:
                    if row == from_row or row in seen_rows:
                        continue
                    seen_rows.add(row)
                    bound = max(bound, self.split.weight[row])
                    stack.extend(self._place(cluster, row, bound))
        return self.placed

    def _score(self, cluster, change, row):
        total = self.sums[cluster] + change
        return (_violation(total, self.lower[cluster], self.upper[cluster]),
                self.split.d2(row, cluster))

    def _place(self, cluster, row, bound):
        """Put ``row`` in ``cluster`` or in one of its other clusters; returns those
        other clusters as (cluster, row, bound) to walk next."""
        part, weight = self.split.parts[row], self.split.weight[row]
        change = self._change(cluster)
        own = part[cluster]
        others = [c for c in part if c != cluster]
        options = []
        if abs(change + weight - own) < bound:
            options.append((self._score(cluster, weight - own, row), cluster))
        if abs(change - own) < bound or not options:
            # handing it on is always within the bound when change >= 0
            into = min(others, key=lambda c: self._score(c, weight - part[c], row))
            options.append((self._score(cluster, -own, row), into))
        (_, chosen) = min(options, key=lambda option: option[0])
        self.placed[row] = chosen
        for c, amount in part.items():
            self.sums[c] += (weight if c == chosen else 0.0) - amount
        return [(c, row, weight) for c in others]

    def _change(self, cluster):
        """The change of ``cluster``'s sum so far (rounded minus relaxed)."""
        change = 0.0
        for row in self.by_cluster[cluster]:
            if row in self.placed:
                part = self.split.parts[row]
                change += (self.split.weight[row] if self.placed[row] == cluster else 0.0)
                change -= part[cluster]
        return change


def round_split_rows(X, centres, weight, rows, clusters, amounts, labels, lower, upper):
    """Put every row split by the relaxation (pieces ``rows``/``clusters``/``amounts``
    of weight) wholly in one cluster, writing ``labels`` (n,) in place; returns the rows
    that were split and the rows the repair moved (see the module's notes)."""
    k = centres.shape[0]
    split = _Split(X, centres, weight, rows, clusters, amounts)
    relaxed = np.bincount(clusters, weights=amounts, minlength=k)
    split_rows = np.array(sorted(split.parts), dtype=np.int64)
    split.cancel_cycles()
    for row, cluster in split.whole.items():  # made whole by the cancelling
        labels[row] = cluster  # OUT
    placed = _Rounder(split, relaxed.copy(), lower, upper).run() if split.parts else {}
    for row, cluster in placed.items():
        labels[row] = cluster  # OUT
    heaviest = float(weight[split_rows].max()) if split_rows.size else 0.0
    sums = np.bincount(labels, weights=weight, minlength=k)
    search = _LocalSearch(X, centres, weight, labels, sums, lower, upper, heaviest)
    search.settle(split_rows)
    moved = search.repair()
    return split_rows, moved


class _LocalSearch:
    """Single-row moves that bring clusters nearer their limits (step 3)."""

    def __init__(self, X, centres, weight, labels, sums, lower, upper, heaviest):
        self.X, self.centres, self.weight, self.labels = X, centres, weight, labels
        self.sums, self.lower, self.upper = sums, lower, upper
        self.bound = heaviest

    def _out(self, cluster, total):
        return _violation(total, self.lower[cluster], self.upper[cluster])

    def _move(self, row, there):
        here, w = self.labels[row], self.weight[row]
        self.sums[here] -= w
        self.sums[there] += w
        self.labels[row] = there  # OUT

    def _gain(self, row, there):
        """How much nearer the limits ``row`` moving to ``there`` brings the two
        clusters (negative: farther), or None when a cluster would pass the bound or
        a cluster inside its limits would leave them."""
        here, w = self.labels[row], self.weight[row]
        before_h, before_t = self._out(here, self.sums[here]), self._out(there, self.sums[there])
        after_h = self._out(here, self.sums[here] - w)
        after_t = self._out(there, self.sums[there] + w)
        for before, after in ((before_h, after_h), (before_t, after_t)):
            if after > before and (before == 0 or after >= self.bound):
                return None
        return before_h + before_t - after_h - after_t

    def settle(self, split_rows):
        """Move split rows between clusters while that brings sums nearer the limits
        or, keeping both clusters inside them, lowers the cost."""
        k = self.centres.shape[0]
        for _ in range(SETTLE_PASSES):
            moved = False
            for row in split_rows:
                for there in range(k):
                    here = self.labels[row]
                    if there == here:
                        continue
                    gain = self._gain(row, there)
                    if gain is None or gain < 0:
                        continue
                    if gain > 1e-12 * self.weight[row] or (
                            self._keeps_inside(row, there)
                            and _d2(self.X, self.centres, row, there)
                            < _d2(self.X, self.centres, row, here)):
                        self._move(row, there)
                        moved = True
            if not moved:
                return

    def _keeps_inside(self, row, there):
        here, w = self.labels[row], self.weight[row]
        return (self._out(here, self.sums[here] - w) == 0
                and self._out(there, self.sums[there] + w) == 0)

    def repair(self):
        """For each cluster still outside its limits, move in (or out) the row that
        brings it nearest them at the least added cost, without taking any other
        cluster out of its limits; returns the rows moved."""
        moved = []
        for _ in range(REPAIR_MOVES):
            k = self.centres.shape[0]
            outside = [j for j in range(k) if self._out(j, self.sums[j]) > 0]
            if not outside:
                break
            moves = [move for move in map(self._best_move, outside) if move is not None]
            best = min(moves, key=lambda move: (-move[0], move[1]), default=None)
            if best is None:
                break
            _, _, row, there = best
            self._move(row, there)
            moved.append(row)
        return np.array(sorted(set(moved)), dtype=np.int64)

    def _best_move(self, j):
        """(gain, added cost, row, cluster) of the best single move into or out of
        cluster ``j``, or None: another cluster's sum never moves away from its limits."""
        lower, upper, sums, w, labels = self.lower, self.upper, self.sums, self.weight, self.labels
        if sums[j] < lower[j]:  # a row of a cluster with room to lose it comes in
            rows = np.flatnonzero((labels != j) & (w > 0) & (w <= sums[labels] - lower[labels])
                                  & (sums[j] + w <= upper[j]))
            giver, w_r = labels[rows], w[rows]
            gain = (np.minimum(w_r, lower[j] - sums[j])
                    + np.clip(sums[giver] - upper[giver], 0, w_r))
            targets = np.full(rows.size, j)
            d2_t = ((self.X[rows] - self.centres[j]) ** 2).sum(axis=1)
        else:  # over: a row of j goes to the nearest cluster with room for it
            rows = np.flatnonzero((labels == j) & (w > 0))
            w_r = w[rows]
            d2 = ((self.X[rows, None, :] - self.centres[None, :, :]) ** 2).sum(axis=2)
            fits = sums[None, :] + w_r[:, None] <= upper[None, :]
            fits[:, j] = False
            d2 = np.where(fits, d2, np.inf)
            targets = d2.argmin(axis=1)
            d2_t = d2[np.arange(rows.size), targets]
            after = np.maximum(sums[j] - w_r - upper[j], 0) + np.maximum(lower[j] - sums[j] + w_r,
                                                                          0)
            gain = (sums[j] - upper[j]) - after + np.clip(lower[targets] - sums[targets], 0, w_r)
            keep = np.isfinite(d2_t) & (after < sums[j] - upper[j])
            rows, targets, gain, d2_t, w_r = (rows[keep], targets[keep], gain[keep], d2_t[keep],
                                              w_r[keep])
        useful = gain > 1e-12 * w_r
        if not useful.any():
            return None
        rows, targets, gain = rows[useful], targets[useful], gain[useful]
        d2_own = ((self.X[rows] - self.centres[labels[rows]]) ** 2).sum(axis=1)
        cost = w_r[useful] * (d2_t[useful] - d2_own)
        best = np.lexsort((cost, -gain))[0]  # the largest gain, then the least cost
        return float(gain[best]), float(cost[best]), int(rows[best]), int(targets[best])
