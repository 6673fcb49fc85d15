"""The iteration driver, written once for every source (see ``_source``).

E-step partials from the source → M-step → shift → stopping rules → empty-cluster
relocation → best of ``n_init``. Private: arguments are assumed validated.
"""

import logging

import numpy as np

from . import _chunks, _kernels
from ._source import Chunk

__all__ = [
    "assign",
    "best_of",
    "final_labels",
    "lloyd",
    "log_restart",
    "m_step",
    "project_to_sphere",
    "relocate_empty_clusters",
    "tolerance",
]

logger = logging.getLogger("geokmeans")

_STEPS = {"hamerly": _chunks.iterate_hamerly, "lloyd": _chunks.iterate_lloyd}


def log_restart(done, total, inertia):
    """Report a finished seeding run at DEBUG level with ``progress=(done, total)``
    attached, so a front end (the command-line tool) can draw a progress bar."""
    if total > 1:
        logger.debug("run %d of %d done, inertia %.6g", done, total, inertia,
                     extra={"progress": (done, total)})


def tolerance(source, tol):
    """``tol`` times the mean of the columns' variances, with two passes (mean, then
    squared deviations), so that the threshold is accurate far from the origin. A ``tol``
    of 0 is 0 without a pass over the rows (the variances are finite: checked at fit)."""
    if tol == 0:
        return 0.0
    sums = source.map(_chunks.column_sums)
    n = sum(s[0] for s in sums)
    mean = sum(s[1] for s in sums if s[0]) / n
    deviations = sum(source.map(_chunks.squared_deviations, mean))
    return float(np.mean(deviations / n)) * tol


def project_to_sphere(centres, radius):
    """Scale each non-zero row of ``centres`` in place to length ``radius``."""
    norms = np.sqrt((centres**2).sum(axis=1))
    nonzero = norms > 0
    centres[nonzero] *= (radius / norms[nonzero])[:, None]  # OUT


def m_step(centres, sums, cluster_weights, sphere_radius):
    """New centres from the sums; clusters with no weight keep their centre.

    With ``sphere_radius`` the mean is scaled back onto that sphere: the exact minimiser
    of the summed squared chord distance over centres on the sphere (spherical k-means),
    so the inertia still never increases.
    """
    filled = cluster_weights > 0
    new = centres.copy()
    new[filled] = sums[filled] / cluster_weights[filled, None]
    if sphere_radius is not None:
        project_to_sphere(new, sphere_radius)
    return new


def relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights, members=None,
                            fixed=None):
    """Give each empty cluster the positive-weight row farthest from its centre.

    Rows are taken in decreasing distance (ties: lower row first; rows within rounding
    noise of their centre are never taken, see ``_chunks.off_centre``), skipping any that is
    the last positive-weight member of its cluster (``members`` (k,) counts them; by
    default from ``labels`` and ``weights``): counting rows, not subtracting weights,
    so rounding can never leave a cluster with a residue of weight and no member. The
    outcome is deterministic. ``sums`` (k, d) and ``cluster_weights`` (k,) are updated in
    place; clusters left empty (fewer usable rows than empty clusters) keep weight 0, and
    so do the ``fixed`` ones (mask): their centre never moves. Returns the number of rows
    moved.
    """
    empty = np.flatnonzero((cluster_weights <= 0) & (True if fixed is None else ~fixed))
    if empty.size == 0:
        return 0
    if members is None:
        members = np.bincount(labels[weights > 0], minlength=len(cluster_weights))
    members = np.array(members, dtype=np.int64)
    movable = np.flatnonzero((weights > 0) & (dist2 > 0) & _chunks.off_centre(X, dist2))
    order = movable[np.argsort(-dist2[movable], kind="stable")]
    moved = 0
    for i in order:
        if moved == empty.size:
            break
        source, target = labels[i], empty[moved]
        if members[source] <= 1:
            continue
        members[source] -= 1
        if members[source] == 0:  # pragma: no cover - kept by the test above
            sums[source] = 0.0
        sums[source] -= weights[i] * X[i]  # OUT
        cluster_weights[source] -= weights[i]  # OUT
        sums[target] = weights[i] * X[i]
        cluster_weights[target] = weights[i]
        members[target] = 1
        moved += 1
    return moved


def _relocate(source, state, centres, sums, cluster_weights, fixed):
    """``relocate_empty_clusters`` over the whole source, from each chunk's 2k farthest
    rows (each row taken fills an empty cluster or is skipped because it is the last
    positive-weight row of its cluster, at most once per cluster, so 2k rows suffice),
    merged in decreasing distance, ties by chunk then row: the global row order."""
    k, d = centres.shape
    far = source.map(_chunks.far_rows, centres, 2 * k, state=state)
    keys = sorted((-dist, index, row, j)
                  for index, part in enumerate(far)
                  for j, (dist, row) in enumerate(zip(part[3], part[4], strict=True)))
    if not keys:
        return 0
    X = np.array([far[t[1]][0][t[3]] for t in keys]).reshape(-1, d)
    w = np.array([far[t[1]][1][t[3]] for t in keys])
    labels = np.array([far[t[1]][2][t[3]] for t in keys], dtype=np.int32)
    dist2 = np.array([-t[0] for t in keys])
    members = sum(source.map(_chunks.positive_members, k, state=state))
    return relocate_empty_clusters(X, w, labels, dist2, sums, cluster_weights, members, fixed)


def _reduce(partials, k, d):
    sums, weights = np.zeros((k, d)), np.zeros(k)
    inertia, changed = 0.0, 0
    for s, w, i, c in partials:
        sums += s
        weights += w
        inertia += i
        changed += c
    return sums, weights, inertia, changed


def lloyd(source, centres, max_iter, abs_tol, *, sphere_radius=None, algorithm="hamerly",
          callback=None, state="run", fixed=None):
    """Lloyd's iterations over ``source`` from ``centres`` (k, d); returns the final
    centres and the number of iterations.

    Stops when no label changes (strict convergence), when the summed squared centre
    shift is ``<= abs_tol``, or after ``max_iter`` iterations. Without strict
    convergence the labels are computed once more against the final centres, so the
    labels kept in the source's ``state`` always agree with the centres returned.
    ``algorithm="hamerly"`` skips rows whose bounds prove their centre unchanged: the
    labels, sums and stopping decisions are those of ``"lloyd"`` (barring exact ties).
    ``callback(iteration, inertia)`` follows each iteration. Centres of the ``fixed``
    mask (k,) never move (nor get relocated rows when empty).
    """
    step = _STEPS[algorithm]
    k, d = centres.shape
    centres = np.array(centres, dtype=np.float64, order="C")
    source.forget(state)
    shift = None
    strict = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        partials = source.update(state, step, centres, shift, _neighbours(centres, algorithm),
                                 callback is not None)
        sums, weights, inertia, changed = _reduce(partials, k, d)
        if callback is not None:
            callback(iteration, inertia)
        empty = (weights <= 0) if fixed is None else (weights <= 0) & ~fixed
        moved = _relocate(source, state, centres, sums, weights, fixed) if empty.any() else 0
        new = m_step(centres, sums, weights, sphere_radius)
        if fixed is not None:
            new[fixed] = centres[fixed]
        moves = ((new - centres) ** 2).sum(axis=1)
        shift = np.sqrt(moves) * (1.0 + 1e-9)  # a bound on each centre's move
        centres = new
        if iteration > 1 and changed == 0 and not moved:  # relocated rows change labels
            strict = True
            break
        if float(moves.sum()) <= abs_tol:
            break
    if not strict:
        source.update(state, step, centres, shift, _neighbours(centres, algorithm), False)
    return centres, iteration


def _neighbours(centres, algorithm):
    return _kernels.centre_neighbours(centres) if algorithm == "hamerly" else None


def inertia(source, centres, state="run"):
    """Weighted squared distance of every row to the centre ``state`` names."""
    return float(sum(source.map(_chunks.inertia_of_state, centres, state=state)))


def _labels_copy(chunk, state):
    return (state[0].copy(),), None  # a copy: the run's state is updated in place later


def _labels_only(chunk, state):
    return (state[0],), None  # the last run: its state is never updated again


def best_of(source, seedings, n_runs, max_iter, abs_tol, *, sphere_radius=None,
            algorithm="hamerly", callbacks=None, run=None):
    """Lloyd from each seeding (an iterable of (k, d) arrays, drawn when needed); the
    run of least inertia wins (the first on a tie). Returns ``(centres, n_iter,
    inertia, extra)``; the winner's labels are kept in the source's state ``"best"``.

    ``run(source, seeds, callback)``, when given, replaces Lloyd's iterations (size
    limits): it returns ``(centres, n_iter, extra)`` with its labels in the state
    ``"run"``; ``extra`` is the winner's (None for Lloyd)."""
    best = None
    for index, seeds in enumerate(seedings):
        seeds = np.array(seeds, dtype=np.float64, order="C")
        if sphere_radius is not None:
            project_to_sphere(seeds, sphere_radius)
        callback = None if callbacks is None else callbacks(index)
        if run is None:
            centres, n_iter = lloyd(source, seeds, max_iter, abs_tol,
                                    sphere_radius=sphere_radius, algorithm=algorithm,
                                    callback=callback)
            extra = None
        else:
            centres, n_iter, extra = run(source, seeds, callback)
        total = inertia(source, centres)
        if best is None or total < best[2]:
            best = (centres, n_iter, total, extra)
            keep = _labels_copy if index + 1 < n_runs else _labels_only
            source.update("best", keep, state="run")
        log_restart(index + 1, n_runs, total)
    source.forget("run")
    return best


def assign(X, centres):
    """Nearest centre of each row of ``X``: labels (n,) int32 and squared distances (n,);
    ties go to the lowest index."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    return _chunks.assign_rows(Chunk(X, None), np.asarray(centres, dtype=np.float64))


def final_labels(source, state="best"):
    """The labels kept under ``state``, concatenated in chunk order."""
    return np.concatenate(source.map(_chunks.labels_of_state, state=state))
