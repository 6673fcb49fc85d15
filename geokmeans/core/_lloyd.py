"""Lloyd's expectation-maximisation iterations on (n, d) float64 arrays.

Private: inputs are assumed validated (see ``KMeans.fit``).
"""

import numpy as np

from . import _kernels

__all__ = [
    "assign",
    "hamerly",
    "lloyd",
    "m_step",
    "project_to_sphere",
    "relocate_empty_clusters",
]


def relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights):
    """Give each empty cluster the positive-weight point farthest from its centre.

    Points are taken in decreasing distance (ties: lower row first), skipping any whose
    own cluster would become empty, so the outcome is deterministic. ``sums`` (k, d) and
    ``cluster_weights`` (k,) are updated in place; clusters left empty (fewer usable
    points than empty clusters) keep weight 0.
    """
    empty = np.flatnonzero(cluster_weights <= 0)
    if empty.size == 0:
        return
    movable = np.flatnonzero((weights > 0) & (dist2 > 0))
    order = movable[np.argsort(-dist2[movable], kind="stable")]
    slots = iter(empty)
    target = next(slots, None)
    for i in order:
        if target is None:
            break
        source = labels[i]
        if cluster_weights[source] - weights[i] <= 0:
            continue
        sums[source] -= weights[i] * X[i]  # OUT
        cluster_weights[source] -= weights[i]  # OUT
        sums[target] = weights[i] * X[i]
        cluster_weights[target] = weights[i]
        target = next(slots, None)


def assign(X, centers):
    """Nearest centre of each row: ``labels`` (n,) int32 and squared distances (n,).

    Ties go to the lowest index; inputs are assumed validated (finite).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    labels = np.empty(X.shape[0], dtype=np.int32)
    dist2 = np.empty(X.shape[0])
    _kernels.assign_labels(X, np.ascontiguousarray(np.asarray(centers, dtype=np.float64).T),
                           _kernels.chunk_starts(X.shape[0]), labels, dist2)
    return labels, dist2


def project_to_sphere(centers, radius):
    """Scale each non-zero row of ``centers`` in place to length ``radius``."""
    norms = np.sqrt((centers**2).sum(axis=1))
    nonzero = norms > 0
    centers[nonzero] *= (radius / norms[nonzero])[:, None]  # OUT


def lloyd(X, weights, centers_init, max_iter, tol, starts, callback=None, sphere_radius=None):
    """Run Lloyd iterations from ``centers_init`` (k, d).

    With ``sphere_radius`` the centres are constrained to the sphere of that radius
    around the origin: the M-step's mean is scaled back onto it, which is the exact
    minimiser of the summed squared chord distance over centres on the sphere
    (spherical k-means), so the inertia still never increases.

    Stops when labels no longer change (strict convergence), when the summed squared
    centre shift is ``<= tol`` (an absolute value, already scaled to the data), or after
    ``max_iter`` iterations. Without strict convergence the labels are recomputed
    against the final centres, so labels and centres always agree.

    ``callback(iteration, inertia)`` is called after each iteration if given; the
    inertia is that of the labels against the centres used in that iteration.

    Returns ``labels`` (n,) int32, ``inertia`` (float), ``centers`` (k, d), ``n_iter``.
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    n_chunks = starts.shape[0] - 1
    centers = np.array(centers_init, dtype=np.float64, order="C")
    labels = np.full(n_samples, -1, dtype=np.int32)
    labels_old = labels.copy()
    dist2 = np.empty(n_samples)
    part_sums = np.empty((n_chunks, n_clusters, n_features))
    part_weights = np.empty((n_chunks, n_clusters))
    part_inertia = np.empty(n_chunks)
    sums = np.empty((n_clusters, n_features))
    cluster_weights = np.empty(n_clusters)
    strict = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        _kernels.lloyd_step(
            X, weights, np.ascontiguousarray(centers.T), starts, labels, dist2, part_sums,
            part_weights, part_inertia,
        )
        inertia = _kernels.reduce_partials(
            part_sums, part_weights, part_inertia, sums, cluster_weights
        )
        if callback is not None:
            callback(iteration, inertia)
        relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights)
        new_centers = m_step(centers, sums, cluster_weights, sphere_radius)
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if np.array_equal(labels, labels_old):
            strict = True
            break
        if shift <= tol:
            break
        labels_old[:] = labels
    if not strict:
        _kernels.assign_labels(X, np.ascontiguousarray(centers.T), starts, labels, dist2)
    inertia = _kernels.weighted_inertia(X, weights, centers, labels, starts)
    return labels, float(inertia), centers, iteration


def m_step(centers, sums, cluster_weights, sphere_radius):
    """New centres from the sums; clusters with no weight keep their centre."""
    filled = cluster_weights > 0
    new_centers = centers.copy()
    new_centers[filled] = sums[filled] / cluster_weights[filled, None]
    if sphere_radius is not None:
        project_to_sphere(new_centers, sphere_radius)
    return new_centers


def _hamerly_step(X, centers, starts, labels, upper, lower, n_changed):
    neighbours, neighbour_dist, half_gap = _kernels.centre_neighbours(centers)
    _kernels.hamerly_assign(X, centers, np.ascontiguousarray(centers.T), half_gap, neighbours,
                            neighbour_dist, starts, labels, upper, lower, n_changed)


def hamerly(X, weights, centers_init, max_iter, tol, starts, callback=None, sphere_radius=None):
    """Lloyd's iterations accelerated with Hamerly's bounds; same contract as ``lloyd``.

    Each iteration visits only rows whose bounds cannot prove their centre unchanged;
    labels, and hence the sums, the centres (bit for bit: the M-step adds the same
    numbers in the same order), the stopping decision and the final inertia are those of
    ``lloyd`` from the same centres, barring exact distance ties.
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    n_chunks = starts.shape[0] - 1
    centers = np.array(centers_init, dtype=np.float64, order="C")
    labels = np.full(n_samples, -1, dtype=np.int32)
    upper = np.full(n_samples, np.inf)
    lower = np.zeros(n_samples)
    n_changed = np.empty(n_chunks, dtype=np.int64)
    part_sums = np.empty((n_chunks, n_clusters, n_features))
    part_weights = np.empty((n_chunks, n_clusters))
    no_inertia = np.zeros(n_chunks)
    sums = np.empty((n_clusters, n_features))
    cluster_weights = np.empty(n_clusters)
    dist2 = None
    strict = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        _hamerly_step(X, centers, starts, labels, upper, lower, n_changed)
        _kernels.cluster_partials(X, weights, labels, starts, part_sums, part_weights)
        _kernels.reduce_partials(part_sums, part_weights, no_inertia, sums, cluster_weights)
        empty = (cluster_weights <= 0).any()
        if callback is not None or empty:
            if dist2 is None:
                dist2 = np.empty(n_samples)
            _kernels.distances_to_own_centre(X, centers, labels, starts, dist2)
        if callback is not None:
            callback(iteration, float(_kernels.weighted_inertia(X, weights, centers, labels, starts)))
        if empty:
            relocate_empty_clusters(X, weights, labels, dist2, sums, cluster_weights)
        new_centers = m_step(centers, sums, cluster_weights, sphere_radius)
        moved = new_centers - centers
        shift = float((moved**2).sum())
        per_centre = np.sqrt((moved**2).sum(axis=1)) * (1.0 + 1e-9)
        _kernels.hamerly_move_bounds(labels, per_centre, starts, upper, lower)
        centers = new_centers
        if iteration > 1 and int(n_changed.sum()) == 0:
            strict = True
            break
        if shift <= tol:
            break
    if not strict:
        _hamerly_step(X, centers, starts, labels, upper, lower, n_changed)
    inertia = _kernels.weighted_inertia(X, weights, centers, labels, starts)
    return labels, float(inertia), centers, iteration
