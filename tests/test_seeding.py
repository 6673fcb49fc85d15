"""Seeding methods: where the seeds fall and with which probabilities."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from geokmeans.core import _kernels
from geokmeans.core._seeding import data_bbox, init_bbox, init_kmeanspp, init_random


def test_bbox_seeds_uniform_in_data_box(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 2)) * [1.0, 100.0]
    weights = np.ones(500)
    centres = init_bbox(X, weights, 4000, np.random.default_rng(seed))
    lo, hi = X.min(0), X.max(0)
    assert (centres >= lo).all() and (centres <= hi).all()
    # uniform: each quarter of each axis holds about a quarter of the seeds
    for f in range(2):
        counts = np.histogram(centres[:, f], bins=4, range=(lo[f], hi[f]))[0]
        assert (np.abs(counts - 1000) < 150).all(), counts


def test_bbox_ignores_zero_weight_points():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0]])
    box = data_bbox(X, np.array([1.0, 1.0, 0.0]))
    assert_array_equal(box, [[0.0, 0.0], [1.0, 1.0]])


def test_random_picks_distinct_rows_proportional_to_weight(seed):
    X = np.arange(4.0)[:, None]
    weights = np.array([1.0, 0.0, 1.0, 2.0])
    rng = np.random.default_rng(seed)
    firsts = []
    for _ in range(4000):
        centres = init_random(X, weights, 2, rng)
        assert centres[0, 0] != centres[1, 0]
        assert 1.0 not in centres[:, 0]
        firsts.append(centres[0, 0])
    freq = np.bincount(np.array(firsts, dtype=int), minlength=4) / 4000
    assert freq[3] == pytest.approx(0.5, abs=0.04)
    assert freq[0] == pytest.approx(0.25, abs=0.04)


def test_random_with_fewer_positive_weights_than_k():
    X = np.arange(5.0)[:, None]
    weights = np.array([0.0, 3.0, 0.0, 0.0, 0.0])
    centres = init_random(X, weights, 3, np.random.default_rng(0))
    assert 1.0 in centres[:, 0]
    assert len(np.unique(centres)) == 3


def test_kmeanspp_first_seed_follows_weights(seed):
    X = np.array([[0.0], [10.0]])
    weights = np.array([1.0, 3.0])
    rng = np.random.default_rng(seed)
    starts = _kernels.chunk_starts(2)
    firsts = [init_kmeanspp(X, weights, 1, rng, starts)[0, 0] for _ in range(4000)]
    assert np.mean(np.array(firsts) == 10.0) == pytest.approx(0.75, abs=0.03)


def test_kmeanspp_spreads_over_separated_groups(seed):
    rng = np.random.default_rng(seed)
    groups = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], dtype=float)
    X = np.repeat(groups, 250, axis=0) + rng.normal(scale=0.5, size=(1000, 2))
    centres = init_kmeanspp(X, np.ones(1000), 4, rng, _kernels.chunk_starts(1000))
    nearest_group = ((centres[:, None] - groups[None]) ** 2).sum(-1).argmin(1)
    assert sorted(nearest_group) == [0, 1, 2, 3]


def test_kmeanspp_never_picks_zero_weight_points(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 2))
    weights = np.where(np.arange(300) % 3 == 0, 1.0, 0.0)
    centres = init_kmeanspp(X, weights, 10, rng, _kernels.chunk_starts(300))
    allowed = X[weights > 0]
    for c in centres:
        assert (np.abs(allowed - c).sum(1) == 0).any()


def test_candidate_potential_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 3))
    w = rng.uniform(0, 2, 3000)
    closest = rng.uniform(0, 5, 3000)
    cands = X[:4].copy()
    got = _kernels.candidate_potentials(X, w, cands, closest, _kernels.chunk_starts(3000))
    d2 = ((X[:, None] - cands[None]) ** 2).sum(-1)
    ref = (w[:, None] * np.minimum(d2, closest[:, None])).sum(0)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
