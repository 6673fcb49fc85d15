"""Silhouette coefficients (Rousseeuw, 1987) of one or many labellings of the same rows.

The silhouette of row i is ``(b - a) / max(a, b)``: ``a`` is its mean Euclidean
distance to the other members of its cluster, ``b`` the least mean distance to the
members of another cluster; 0 for a cluster of one member and where ``a = b = 0``
(duplicate points), as ``sklearn.metrics.silhouette_samples`` defines it.

Every pairwise distance is computed exactly, from coordinate differences, in the units
of the rows (metres for geokmeans). Labellings of the same rows share those distances:
they are scored in passes over the pairs of rows (``_kernels.silhouette``), a pass
scoring several labellings at once through the cells of their common refinement. A
pass costs O(n²·d), plus per row the number of cells times the number of labellings;
``_passes`` groups the labellings so that the modelled total never exceeds one pass
per labelling (nested or aligned labellings, such as k-means fits of nearby k on
clustered data, share a pass; unrelated ones get their own).
"""

import numpy as np

from . import _kernels

__all__ = ["silhouette_samples", "silhouette_sweep"]

# The cost of a pass, per row, in units of one pairwise distance (measured on 2-D rows,
# one thread: a distance 0.8 ns, a cell's sum started and finished about 25 ns, a cell's
# sum added into one labelling's cluster and that cluster read back about 4 ns).
CELL_COST = 30.0
SCATTER_COST = 5.0


def silhouette_samples(X, labels):
    """Silhouette (n,) of each row of ``X`` (n, d) float64 under ``labels`` (n,) ints.

    Validation is assumed: finite rows, at least two distinct labels (with one, every
    row with a cluster-mate gets NaN).
    """
    return silhouette_sweep(X, np.asarray(labels)[None, :])[0]


def silhouette_sweep(X, label_sets):
    """Silhouettes (m, n) of the rows of ``X`` (n, d) under each row of ``label_sets``
    (m, n) ints (any values; each labelling's clusters are its distinct values).

    Validation is assumed as in ``silhouette_samples``.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    codes = [np.unique(labels, return_inverse=True)[1].ravel().astype(np.int64)
             for labels in np.asarray(label_sets)]
    out = np.empty((len(codes), X.shape[0]), dtype=np.float64)
    for batch in _passes(codes, X.shape[0]):
        out[batch] = _one_pass(X, [codes[t] for t in batch])
    return out


def _pass_cost(n_rows, n_cells, n_sets):
    """The modelled cost per row of a pass (units: one pairwise distance)."""
    return n_rows + n_cells * (CELL_COST + SCATTER_COST * n_sets)


def _passes(codes, n_rows):
    """Labellings grouped into passes, in order: a labelling joins the current pass
    when the pass's modelled cost grows less than a pass of its own would cost."""
    passes, cells, n_cells = [], None, 0
    for t, code in enumerate(codes):
        n_clusters = int(code.max()) + 1 if code.size else 0
        alone = _pass_cost(n_rows, n_clusters, 1)
        if cells is not None:
            joined, inverse = np.unique(cells * n_clusters + code, return_inverse=True)
            together = _pass_cost(n_rows, joined.size, len(passes[-1]) + 1)
            if together <= _pass_cost(n_rows, n_cells, len(passes[-1])) + alone:
                passes[-1].append(t)
                cells, n_cells = inverse.ravel().astype(np.int64), joined.size
                continue
        passes.append([t])
        cells, n_cells = code, n_clusters
    return passes


def _one_pass(X, codes):
    """``silhouette_sweep`` of the labellings ``codes`` (each (n,) numbered from 0), in
    one pass over the pairs of rows."""
    n = X.shape[0]
    codes = np.column_stack(codes)
    sizes = [np.bincount(codes[:, t]) for t in range(codes.shape[1])]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sizes])]).astype(np.int64)
    cell_labels, row_cell = np.unique(codes, axis=0, return_inverse=True)
    row_cell = row_cell.ravel().astype(np.int64)
    order = np.argsort(row_cell, kind="stable")
    cell_starts = np.concatenate([[0], np.cumsum(np.bincount(row_cell))]).astype(np.int64)
    scores = np.empty((codes.shape[1], n))
    _kernels.silhouette_cells(np.ascontiguousarray(X[order].T), cell_starts,
                              np.ascontiguousarray(row_cell[order]),
                              np.ascontiguousarray(cell_labels, dtype=np.int64), offsets,
                              np.concatenate(sizes).astype(np.int64),
                              _kernels.chunk_starts(n), scores)
    out = np.empty_like(scores)
    out[:, order] = scores
    return out
