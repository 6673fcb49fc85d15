"""Final per-cluster statistics and split-to-radius, written once for every source."""

import numpy as np

from ._validation import check_radius_clusters
from .core import _chunks
from .core._driver import m_step
from .errors import InputError
from .stats import cluster_partials, combine_cluster_partials

__all__ = ["final_stats", "split_to_radius"]


def final_stats(source, centres, projection, with_farthest=False):
    """``(centre_lon, centre_lat, counts, weights, weighted distances, maximum distance,
    inertia, farthest rows)`` of the labels in the source's state ``"best"``; each
    row's geodesic distance stays in the state ``"distances"`` (in this process only:
    Dask results compute them lazily from the input)."""
    centre_lon, centre_lat = projection.inverse(centres)
    partials = source.update("distances", cluster_partials, centres, centre_lon, centre_lat,
                             with_farthest, projection, not source.distributed, state="best")
    return (centre_lon, centre_lat) + combine_cluster_partials(partials)


def split_to_radius(source, centres, n_iter, projection, max_radius_m, lloyd, n_points,
                    max_iter):
    """Split clusters until every member is within ``max_radius_m`` (geodesic) of its
    centroid. Each round splits every too-wide cluster in two (2-means of its members
    from the centroid and the farthest member, to a fixed point), then reruns
    ``lloyd(centres) -> (centres, n_iter)`` on all rows from the enlarged set. k grows
    every round and cannot exceed the number of distinct points, so this ends; a
    cluster whose members share one location cannot be split and is refused.
    Returns ``(centres, n_iter, final_stats)``."""
    for n_rounds in range(n_points + 1):
        stats = final_stats(source, centres, projection, with_farthest=True)
        maximum = stats[5]
        wide = np.flatnonzero(maximum > max_radius_m)
        if wide.size == 0:
            return centres, n_iter, stats
        check_radius_clusters(len(centres) + wide.size, max_radius_m, n_rounds + 1)
        _check_splittable(source, centres, wide, stats, max_radius_m)
        halves = _two_means(source, centres, wide, stats[7], projection.sphere_radius_m,
                            max_iter)
        kept = np.delete(centres, wide, axis=0)
        centres = np.unique(np.concatenate([kept, halves]), axis=0)
        centres, n_iter = lloyd(np.ascontiguousarray(centres))
    return centres, n_iter, stats  # pragma: no cover - one point per cluster ends it earlier


def _two_means(source, centres, wide, farthest, sphere_radius, max_iter):
    """Two centres for each cluster in ``wide``: Lloyd on its members from its centroid
    and its farthest member, to a fixed point (an empty half stays where it is)."""
    halves = np.empty((2 * len(wide), centres.shape[1]))
    halves[0::2] = centres[wide]
    halves[1::2] = farthest[wide]
    for _ in range(max_iter):
        partials = source.map(_chunks.split_sums, centres, wide, halves, state="best")
        sums = sum(p[0] for p in partials)
        weights = sum(p[1] for p in partials)
        new = m_step(halves, sums, weights, sphere_radius)
        if np.array_equal(new, halves):
            break
        halves = new
    return halves


def _check_splittable(source, centres, wide, stats, max_radius_m):
    """Refuse a too-wide cluster whose members all share one location."""
    parts = source.map(_chunks.member_locations, len(centres), wide, state="best")
    firsts = np.array([p[0] for p in parts])  # (chunks, m, d), NaN where no member
    spread = np.any([p[1] for p in parts], axis=0)
    for m, j in enumerate(wide):
        seen = firsts[:, m][~np.isnan(firsts[:, m]).any(axis=1)]
        if not spread[m] and (seen == seen[0]).all():
            raise InputError(
                f"max_radius_m={max_radius_m:g} cannot be met: cluster {j} holds "
                f"{int(stats[2][j])} point(s) at one location, {stats[5][j]:.3g} m from "
                "its centroid after the projection's round trip; use a larger radius.")
