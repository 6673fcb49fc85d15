"""Greedy k-means++ and LocalSearch++ over rows held in this process.

Private: arguments are assumed validated (float64 C-contiguous ``X`` (n, d), weights
(n,) >= 0 with a positive sum, ``1 <= n_clusters <= n``, ``rng`` a numpy Generator).
"""

import math

import numpy as np

from . import _kernels

__all__ = ["init_kmeanspp", "local_search"]


def spatial_order(X):
    """A permutation putting rows in Morton (Z) order of their first three coordinates.

    Only a performance aid for k-means++'s block pruning: any order gives the same
    potentials. Small inputs keep their order.
    """
    n_samples, n_features = X.shape
    if n_samples <= 4 * _kernels.BLOCK_ROWS:
        return np.arange(n_samples, dtype=np.int32)
    if n_samples >= 2**31:
        return np.arange(n_samples)  # too many rows for int32 keys: keep the order
    dims = min(n_features, 3)
    bits = 32 // dims if dims < 3 else 10
    lo, hi = _kernels.column_bounds(X)[:, :dims]
    span = hi - lo
    scale = np.where(span > 0, ((1 << bits) - 1) / np.where(span > 0, span, 1.0), 0.0)
    return _kernels.radix_argsort(_kernels.morton_keys(X, lo, scale, dims))


class _Blocks:
    """Rows in spatial order, cut into blocks with bounding boxes and running stats."""

    def __init__(self, X, weights):
        order = spatial_order(X)
        n_samples = X.shape[0]
        self.X = np.empty_like(X)
        _kernels.gather_rows(X, order, self.X)
        # equal weights are the same in any order: share them rather than copy
        self.weights = weights if weights.min() == weights.max() else weights[order]
        del order
        self.starts, self.box_lo, self.box_hi = _kernels.block_layout(self.X)
        n_blocks = self.starts.shape[0] - 1
        self.closest = np.full(n_samples, np.inf)
        self.block_max = np.full(n_blocks, np.inf)
        self.block_pot = np.zeros(n_blocks)

    def add_centre(self, centre):
        return _kernels.kpp_add_centre(self.X, self.weights, centre, self.starts, self.box_lo,
                                       self.box_hi, self.closest, self.block_max, self.block_pot)

    def potentials(self, candidates):
        return _kernels.kpp_candidate_potentials(self.X, self.weights, candidates, self.starts,
                                                 self.box_lo, self.box_hi, self.closest,
                                                 self.block_max, self.block_pot)

    def sample(self, targets):
        return _kernels.kpp_sample(targets, self.weights, self.closest, self.starts,
                                   self.block_pot)


def init_kmeanspp(X, weights, n_clusters, rng, local_search_steps=0):
    """Greedy k-means++ (Arthur & Vassilvitskii, 2007) with ``2 + floor(ln k)`` trials,
    then ``local_search_steps`` steps of LocalSearch++ (see ``local_search``).

    Each step draws the candidates with probability ∝ ``weight * D(x)^2`` and keeps the
    one that lowers the weighted potential most (the greedy variant of Arthur &
    Vassilvitskii's section 5, as in scikit-learn). Rows are grouped into spatial
    blocks so that a candidate only visits the blocks it can change (see
    ``_kernels.kpp_candidate_potentials``); the draws follow the same distribution as
    the plain algorithm.
    """
    n_samples, n_features = X.shape
    n_trials = 2 + int(math.log(n_clusters))
    centers = np.empty((n_clusters, n_features))
    first = rng.choice(n_samples, p=weights / weights.sum())
    centers[0] = X[first]
    blocks = _Blocks(X, weights)
    potential = blocks.add_centre(centers[0:1])
    for c in range(1, n_clusters):
        rows = blocks.sample(rng.uniform(size=n_trials) * potential)
        candidates = np.ascontiguousarray(blocks.X[rows])
        best = int(np.argmin(blocks.potentials(candidates)))
        centers[c] = candidates[best]
        potential = blocks.add_centre(candidates[best : best + 1])
    return _local_search(blocks, centers, local_search_steps, rng)


def local_search(X, weights, centers, n_steps, rng):
    """Improve ``centers`` (k, d) by ``n_steps`` steps of LocalSearch++.

    Lattanzi & Sohler (2019), "A better k-means++ algorithm via local search" (ICML):
    each step draws a row with probability ∝ ``weight * D(x)^2`` and puts it in place of
    the centre whose replacement lowers the weighted potential most, if any does. Choo,
    Grunau, Portmann & Rozhoň (2020) show that ``eps * k`` steps after k-means++ give a
    constant-factor approximation in expectation. Returns a new array; one uniform draw
    per step whatever happens, so the stream of ``rng`` does not depend on the data.
    """
    return _local_search(_Blocks(X, weights), centers.copy(), n_steps, rng)


class _SwapState:
    """For LocalSearch++ over ``blocks``: every row's nearest centre (``label``), squared
    distances to its nearest and second-nearest centres (``closest``, ``second``), and
    ``base[j]``, the weighted cost of removing centre j alone. Needs k >= 2; takes over
    the blocks' k-means++ state and ``centers`` (k, d), which ``swap`` modifies."""

    def __init__(self, blocks, centers):
        self.blocks = blocks
        self.centers = centers
        n_samples, n_clusters = blocks.X.shape[0], centers.shape[0]
        self.n_groups = _kernels.n_block_groups(blocks.starts.shape[0] - 1)
        self.second = np.empty(n_samples)
        self.label = np.empty(n_samples, dtype=np.int32)
        part_base = np.empty((self.n_groups, n_clusters))
        # blocks.closest is recomputed (to the same values after k-means++), and
        # blocks.block_max now holds each block's largest second distance
        _kernels.ls_nearest_two(blocks.X, blocks.weights, centers, blocks.starts, self.n_groups,
                                blocks.box_lo, blocks.box_hi, blocks.closest, self.second,
                                self.label, blocks.block_max, blocks.block_pot, part_base)
        self.base = part_base.sum(axis=0)

    def potential(self):
        return self.blocks.block_pot.sum()

    def deltas(self, candidate):
        """Change of the potential (k,) if ``candidate`` (1, d) replaced each centre."""
        b = self.blocks
        return _kernels.ls_swap_deltas(b.X, b.weights, candidate, b.starts, self.n_groups,
                                       b.box_lo, b.box_hi, b.closest, self.second, self.label,
                                       b.block_max, self.base)

    def swap(self, j, candidate):
        """Put ``candidate`` (1, d) in place of centre j and update the rows it affects."""
        b = self.blocks
        old = self.centers[j : j + 1].copy()
        self.centers[j] = candidate[0]
        _kernels.ls_swap(b.X, b.weights, self.centers, j, old, b.starts, self.n_groups, b.box_lo,
                         b.box_hi, b.closest, self.second, self.label, b.block_max, b.block_pot,
                         self.base)


def _local_search(blocks, centers, n_steps, rng):
    if n_steps <= 0 or centers.shape[0] < 2:
        return centers
    state = _SwapState(blocks, centers)
    for _ in range(n_steps):
        target = rng.uniform(size=1) * state.potential()
        if not target[0] > 0.0:
            continue  # every row sits on a centre: nothing to improve
        row = blocks.sample(target)[0]
        candidate = blocks.X[row : row + 1].copy()
        deltas = state.deltas(candidate)
        j = int(np.argmin(deltas))
        if deltas[j] < 0.0:
            state.swap(j, candidate)
    return centers
