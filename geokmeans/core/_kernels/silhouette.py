"""Silhouette coefficients of several labellings of the same rows in one pass over the
pairs of rows.

The rows come sorted into *cells*: the groups of rows that share their cluster in every
labelling (the common refinement of the labellings). A row's summed distance to a cell
is computed once, from the exact coordinate differences (no ``|x|² - 2x·y + |y|²``
shortcut, which loses the metres of nearby points far from the origin); a cluster's sum
in each labelling is then the sum of its cells' sums. Each distance is thus computed
once for all the labellings of a pass, whatever their number.
"""

import numpy as np
from numba import njit, prange

__all__ = ["silhouette_cells"]

#: Rows of a cell whose squared distances are gathered at once (a buffer that stays in L1).
CELL_BLOCK = 256


@njit(inline="always")
def _summed_distance(coords_t, i, lo, hi, buf):
    """Sum of the Euclidean distances from row ``i`` to rows ``lo..hi-1`` of ``coords_t``
    (d, n). d = 2 and 3 in one loop each; other d in blocks of ``CELL_BLOCK`` rows.

    The loops index slices from 0: with an index of unknown sign (``lo + j``) numba
    adds negative-index handling that keeps the loop from vectorising (2.5x slower).
    """
    d = coords_t.shape[0]
    total = 0.0
    if d == 2:
        x, y = coords_t[0, lo:hi], coords_t[1, lo:hi]
        xi, yi = coords_t[0, i], coords_t[1, i]
        for j in range(x.shape[0]):
            dx = xi - x[j]
            dy = yi - y[j]
            total += np.sqrt(dx * dx + dy * dy)
        return total
    if d == 3:
        x, y, z = coords_t[0, lo:hi], coords_t[1, lo:hi], coords_t[2, lo:hi]
        xi, yi, zi = coords_t[0, i], coords_t[1, i], coords_t[2, i]
        for j in range(x.shape[0]):
            dx = xi - x[j]
            dy = yi - y[j]
            dz = zi - z[j]
            total += np.sqrt(dx * dx + dy * dy + dz * dz)
        return total
    for block in range(lo, hi, CELL_BLOCK):
        end = min(block + CELL_BLOCK, hi)
        m = end - block
        for j in range(m):
            buf[j] = 0.0
        for f in range(d):
            v = coords_t[f, i]
            column = coords_t[f, block:end]
            for j in range(m):
                diff = v - column[j]
                buf[j] += diff * diff
        for j in range(m):
            total += np.sqrt(buf[j])
    return total


@njit(inline="always")
def _coefficient(cluster_sums, sizes, lo, hi, own):
    """Silhouette of a row from its summed distances to clusters ``lo..hi-1`` (``own``
    is its cluster): ``(b - a) / max(a, b)`` with ``a`` the mean distance to the other
    members of its cluster and ``b`` the least mean distance to another non-empty
    cluster; 0 for a cluster of one member and for ``a = b = 0``; NaN without another
    cluster."""
    if sizes[own] <= 1:
        return 0.0
    a = cluster_sums[own] / (sizes[own] - 1)
    b = np.inf
    for c in range(lo, hi):
        if c != own and sizes[c] > 0:
            mean = cluster_sums[c] / sizes[c]
            if mean < b:
                b = mean
    if b == np.inf:
        return np.nan
    top = max(a, b)
    if top == 0.0:
        return 0.0
    return (b - a) / top


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def silhouette_cells(coords_t, cell_starts, row_cell, cell_labels, offsets, sizes, starts, out):
    """Silhouette of every row in every labelling.

    ``coords_t`` (d, n) holds the rows sorted by cell; cell ``c`` is rows
    ``cell_starts[c]..cell_starts[c + 1] - 1`` and ``row_cell`` (n,) names each row's
    cell. ``cell_labels`` (n_cells, n_sets) is the cluster of each cell in each
    labelling, numbered from ``offsets[t]`` for labelling ``t`` (``offsets`` is
    (n_sets + 1,), so labelling t's clusters are ``offsets[t]..offsets[t + 1] - 1``);
    ``sizes`` (offsets[-1],) counts each cluster's rows. Rows are split in chunks at
    ``starts``; each row is computed alone, so the result does not depend on the
    threads. Writes ``out`` (n_sets, n).
    """
    n_cells = cell_starts.shape[0] - 1
    n_sets = offsets.shape[0] - 1
    for c in prange(starts.shape[0] - 1):
        buf = np.empty(CELL_BLOCK)
        cell_sums = np.empty(n_cells)
        cluster_sums = np.empty(offsets[n_sets])
        for i in range(starts[c], starts[c + 1]):
            for cell in range(n_cells):
                cell_sums[cell] = _summed_distance(coords_t, i, cell_starts[cell],
                                                   cell_starts[cell + 1], buf)
            cluster_sums[:] = 0.0
            for cell in range(n_cells):
                for t in range(n_sets):
                    cluster_sums[offsets[t] + cell_labels[cell, t]] += cell_sums[cell]
            own_cell = row_cell[i]
            for t in range(n_sets):
                out[t, i] = _coefficient(cluster_sums, sizes, offsets[t], offsets[t + 1],  # OUT
                                         offsets[t] + cell_labels[own_cell, t])
