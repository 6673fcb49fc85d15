"""Seeding plans, written once for every source (see ``_source``).

``"random"``: k distinct rows with probability ∝ weight, from per-chunk random keys.
``"k-means++"``: greedy weighted k-means++ (``_seeding.init_kmeanspp``) over the
candidates: every row when the rows are in this process, else the weighted candidates
of k-means|| (Bahmani et al., 2012), then LocalSearch++ over the same candidates.
``"bbox"``: uniform in a box, the data's (positive-weight rows) by default.
Private: arguments are assumed validated.
"""

import numpy as np

from . import _chunks
from ._driver import project_to_sphere
from ._seeding import init_kmeanspp

__all__ = ["data_box", "kmeans_parallel", "local_search_rows", "random_rows", "seed_centres"]

KMEANS_PARALLEL_ROUNDS = 5  # Bahmani et al. find 5 rounds of 2k draws enough


def data_box(source):
    """The (2, d) box ``[mins, maxs]`` of the rows with positive weight."""
    boxes = [b for b in source.map(_chunks.positive_box) if b is not None]
    return np.stack([np.min([b[0] for b in boxes], axis=0),
                     np.max([b[1] for b in boxes], axis=0)])


def random_rows(source, n_clusters, rng):
    """``n_clusters`` distinct rows drawn without replacement with probability ∝ weight
    (then zero-weight rows, uniformly, when too few weights are positive): the rows of
    the smallest keys over all chunks (``_chunks.smallest_keys``)."""
    seed = int(rng.integers(0, 2**63))
    drawn = source.map(_chunks.smallest_keys, n_clusters, seed)
    keys = np.concatenate([d[0] for d in drawn])
    rows = np.concatenate([d[1] for d in drawn])
    return rows[np.lexsort((keys[:, 1], keys[:, 0]))[:n_clusters]].copy()


#: New candidates listed per earlier one for ``nearest_update`` (rows reaching past
#: the list search all the new ones).
NEAR_LISTED = 32


def near_lists(points, others, listed=NEAR_LISTED, block_entries=2**22):
    """For each of ``points`` (m, d): the indices (m, L) int32 of its ``listed`` nearest
    ``others`` in increasing distance, their squared distances (m, L), and the squared
    distance to the next one (m,) (inf when none), in blocks of points (at most
    ``block_entries`` distances at a time)."""
    m, n_other = len(points), len(others)
    listed = min(listed, n_other)
    near = np.empty((m, listed), dtype=np.int32)
    near_d2 = np.empty((m, listed))
    beyond = np.full(m, np.inf)
    step = max(1, block_entries // max(1, n_other))
    for start in range(0, m, step):
        d2 = ((points[start:start + step, None, :] - others[None]) ** 2).sum(axis=2)
        # stable: equal distances keep the lower index first
        order = np.argsort(d2, axis=1, kind="stable")
        near[start:start + step] = order[:, :listed]
        near_d2[start:start + step] = np.take_along_axis(d2, order[:, :listed], axis=1)
        if listed < n_other:
            beyond[start:start + step] = np.take_along_axis(d2, order[:, listed:listed + 1],
                                                            axis=1)[:, 0]
    return near, near_d2, beyond


def kmeans_parallel(source, n_clusters, rng):
    """Weighted k-means|| candidates ``(rows (m, d), weights (m,))``: a first row drawn
    ∝ weight, then rounds drawing each row independently with probability
    ``min(1, 2k * w * D² / cost)``; each candidate weighs what its nearest rows weigh."""
    totals = np.array(source.map(_chunks.weight_total))
    part, offset = _chosen_chunk(totals, rng.uniform() * np.cumsum(totals)[-1])
    candidates = source.chunk_rows(part, _chunks.pick_row, offset)[None, :]
    costs = source.update("closest", _chunks.closest_candidate, candidates, 0,
                          *near_lists(candidates[:0], candidates))
    for _ in range(KMEANS_PARALLEL_ROUNDS):
        cost = sum(costs)
        if cost <= 0:
            break
        seed = int(rng.integers(0, 2**63))
        drawn = source.map(_chunks.oversample, 2 * n_clusters / cost, seed, state="closest")
        new = np.concatenate([np.empty((0, candidates.shape[1]))] + list(drawn))
        if len(new) == 0:
            continue
        costs = source.update("closest", _chunks.closest_candidate, new, len(candidates),
                              *near_lists(candidates, new))
        candidates = np.concatenate([candidates, new])
    weights = sum(source.map(_chunks.candidate_weights, len(candidates), state="closest"))
    source.forget("closest")
    if (weights > 0).sum() < n_clusters:  # tiny inputs: every row is a candidate
        rows = source.map(_chunks.all_rows)
        candidates = np.concatenate([r[0] for r in rows])
        weights = np.concatenate([r[1] for r in rows])
    return np.ascontiguousarray(candidates), weights


def _kmeanspp(source, n_clusters, rng, local_steps):
    if source.distributed:
        candidates, weights = kmeans_parallel(source, n_clusters, rng)
    else:
        candidates, weights = source.rows()
    return init_kmeanspp(candidates, weights, n_clusters, rng, local_steps)


def seed_centres(source, init, n_clusters, rng, *, local_steps=0, bbox=None,
                 sphere_radius=None):
    """Initial centres (k, d) by the plan ``init``: an array (copied), ``"bbox"``,
    ``"random"`` or ``"k-means++"``; ``local_steps`` of LocalSearch++ follow (inside
    k-means++ on its candidates; after the others over all rows, ``local_search_rows``).
    With ``sphere_radius`` the centres are put on that sphere first."""
    if isinstance(init, str) and init == "k-means++":
        centres = _kmeanspp(source, n_clusters, rng, local_steps)
        local_steps = 0
    elif not isinstance(init, str):
        centres = np.array(init, dtype=np.float64)
    elif init == "bbox":
        box = data_box(source) if bbox is None else bbox
        centres = rng.uniform(box[0], box[1], size=(n_clusters, source.n_features))
    else:
        centres = random_rows(source, n_clusters, rng)
    if sphere_radius is not None:
        project_to_sphere(centres, float(sphere_radius))
    if local_steps:
        centres = local_search_rows(source, centres, local_steps, rng)
    return centres


def _chosen_chunk(potentials, target):
    """``(chunk, offset)``: the chunk where the running sum of ``potentials`` passes
    ``target`` (the last with a positive potential when rounding runs past the end)."""
    cumulative = np.cumsum(potentials)
    part = int(np.searchsorted(cumulative, target, side="right"))
    if part >= len(potentials):
        part = int(np.flatnonzero(potentials > 0)[-1])
    return part, target - (cumulative[part - 1] if part else 0.0)


def local_search_rows(source, centres, n_steps, rng):
    """``n_steps`` of LocalSearch++ (``_seeding.local_search``) over every row of
    ``source``, a new (k, d) array.

    Each step takes one uniform number (whatever happens, as in ``_seeding``), draws the
    row where the running sum of weight times D², over the rows in their order, passes
    that fraction of the potential (the chunk by the chunks' potentials, then the row
    within it), prices it against every centre from per-chunk partial sums plus the
    removal costs, and swaps it in when the potential falls. The draw follows the rows'
    order, not how they are cut into chunks: a Dask source and the same rows in memory
    make the same swaps (up to the rounding of the partial sums).
    """
    centres = np.array(centres, dtype=np.float64)
    k = centres.shape[0]
    if n_steps <= 0 or k < 2:
        return centres
    started = source.update("swap", _chunks.swap_start, centres)
    potentials = np.array([s[0] for s in started])
    base = np.sum([s[1] for s in started], axis=0)
    for _ in range(n_steps):
        target = rng.uniform(size=1)[0] * potentials.sum()
        if not target > 0.0:
            continue  # every row sits on a centre: nothing to improve
        part, offset = _chosen_chunk(potentials, target)
        candidate = source.map(_chunks.swap_pick, part, offset, state="swap")[part]
        deltas = base + np.sum(source.map(_chunks.swap_deltas, candidate, k, state="swap"),
                               axis=0)
        j = int(np.argmin(deltas))
        if deltas[j] < 0.0:
            old = centres[j : j + 1].copy()
            centres[j] = candidate[0]
            changed = source.update("swap", _chunks.swap_apply, centres, j, old)
            potentials = np.array([c[0] for c in changed])
            base = base + np.sum([c[1] for c in changed], axis=0)
    source.forget("swap")
    return centres
