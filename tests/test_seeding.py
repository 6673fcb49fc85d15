"""Seeding methods: where the seeds fall and with which probabilities."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from geokmeans.core import _kernels
from geokmeans.core._plans import data_box, random_rows, seed_centres
from geokmeans.core._seeding import init_kmeanspp
from geokmeans.core._source import ArraySource


def init_bbox(X, weights, n_clusters, rng, bbox=None):
    return seed_centres(ArraySource(X, weights), "bbox", n_clusters, rng, bbox=bbox)


def init_random(X, weights, n_clusters, rng):
    return random_rows(ArraySource(X, weights), n_clusters, rng)


def data_bbox(X, weights):
    return data_box(ArraySource(X, weights))



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
    firsts = [init_kmeanspp(X, weights, 1, rng)[0, 0] for _ in range(4000)]
    assert np.mean(np.array(firsts) == 10.0) == pytest.approx(0.75, abs=0.03)


def test_kmeanspp_spreads_over_separated_groups(seed):
    rng = np.random.default_rng(seed)
    groups = np.array([[0, 0], [100, 0], [0, 100], [100, 100]], dtype=float)
    X = np.repeat(groups, 250, axis=0) + rng.normal(scale=0.5, size=(1000, 2))
    centres = init_kmeanspp(X, np.ones(1000), 4, rng)
    nearest_group = ((centres[:, None] - groups[None]) ** 2).sum(-1).argmin(1)
    assert sorted(nearest_group) == [0, 1, 2, 3]


def test_kmeanspp_never_picks_zero_weight_points(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 2))
    weights = np.where(np.arange(300) % 3 == 0, 1.0, 0.0)
    centres = init_kmeanspp(X, weights, 10, rng)
    allowed = X[weights > 0]
    for c in centres:
        assert (np.abs(allowed - c).sum(1) == 0).any()


def test_block_potentials_match_numpy(seed):
    # pruned candidate potentials and updates equal a brute-force numpy computation
    from geokmeans.core._seeding import _Blocks

    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 1.0, size=(4000, 2)) for c in rng.uniform(-100, 100, (8, 2))])
    w = rng.uniform(0, 2, len(X))
    blocks = _Blocks(X, w)
    Xs, ws = blocks.X, blocks.weights
    assert sorted(map(tuple, Xs)) == sorted(map(tuple, X))  # a permutation of the rows
    closest = np.full(len(X), np.inf)
    for centre in X[rng.choice(len(X), 6, replace=False)]:
        potential = blocks.add_centre(centre[None])
        closest = np.minimum(closest, ((Xs - centre) ** 2).sum(1))
        np.testing.assert_array_equal(blocks.closest, closest)
        assert potential == pytest.approx((ws * closest).sum(), rel=1e-12)
        cands = X[rng.choice(len(X), 5, replace=False)]
        d2 = ((Xs[:, None] - cands[None]) ** 2).sum(-1)
        ref = (ws[:, None] * np.minimum(d2, closest[:, None])).sum(0)
        np.testing.assert_allclose(blocks.potentials(cands), ref, rtol=1e-12)


def test_block_sampling_follows_weighted_distances(seed):
    from geokmeans.core._seeding import _Blocks

    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 10, size=(3000, 2))
    w = rng.integers(0, 3, 3000).astype(float)
    blocks = _Blocks(X, w)
    blocks.add_centre(np.array([[5.0, 5.0]]))
    p = blocks.weights * blocks.closest
    targets = rng.uniform(size=200_000) * p.sum()
    rows = blocks.sample(targets)
    assert (blocks.weights[rows] > 0).all()
    # compare with numpy's inverse-CDF sampling on the same targets
    expected = np.searchsorted(np.cumsum(p), targets, side="right")
    agree = np.mean(rows == np.minimum(expected, len(p) - 1))
    assert agree > 0.999


def test_radix_argsort_is_a_stable_sort(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**32, size=50_000, dtype=np.uint64).astype(np.uint32)
    keys[::7] = keys[3]  # many equal keys
    np.testing.assert_array_equal(_kernels.radix_argsort(keys), np.argsort(keys, kind="stable"))


def test_spatial_order_groups_nearby_rows():
    from geokmeans.core._seeding import spatial_order

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1000, size=(20_000, 2))
    order = spatial_order(X)
    assert sorted(order) == list(range(20_000))
    step = np.linalg.norm(np.diff(X[order], axis=0), axis=1).mean()
    random_step = np.linalg.norm(np.diff(X, axis=0), axis=1).mean()
    assert step < random_step / 10


def _splitmix64_uniform(seed, position):
    """The reference: SplitMix64's (position + 1)-th output in Python integers."""
    mask = 2**64 - 1
    z = (seed + (position + 1) * 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return ((z ^ (z >> 31)) >> 11) * 2.0**-53


@pytest.mark.parametrize("seed", [0, 12345, 2**63 - 1])
def test_row_uniforms_are_splitmix64_of_the_position(seed):
    from geokmeans.core._chunks import row_uniforms

    got = row_uniforms(1_000_000, 5, seed)
    assert got.tolist() == [_splitmix64_uniform(seed, p) for p in range(1_000_000, 1_000_005)]
    whole = row_uniforms(0, 20_000, seed)
    pieces = np.concatenate([row_uniforms(a, b - a, seed)
                             for a, b in [(0, 1), (1, 7000), (7000, 7000), (7000, 20_000)]])
    assert_array_equal(pieces, whole)  # any split into chunks: the same numbers
    assert 0.0 <= whole.min() and whole.max() < 1.0
    # uniform: each tenth of [0, 1) holds a tenth of 20,000 draws (5 sigma: ±212)
    counts = np.bincount((whole * 10).astype(int), minlength=10)
    assert np.abs(counts - 2000).max() < 212


def test_random_rows_do_not_depend_on_the_chunks():
    from geokmeans.core._source import Chunk

    rng = np.random.default_rng(5)
    X, w = rng.normal(size=(5000, 2)), rng.uniform(0.1, 3.0, 5000)

    class Chunks:
        def __init__(self, bounds):
            self.chunks = [Chunk(X[a:b], w[a:b], index=i, first_row=a)
                           for i, (a, b) in enumerate(bounds)]

        def map(self, fn, *args):
            return [fn(c, *args) for c in self.chunks]

    one = random_rows(ArraySource(X, w), 7, np.random.default_rng(3))
    split = random_rows(Chunks([(0, 3), (3, 3), (3, 2600), (2600, 5000)]), 7,
                        np.random.default_rng(3))
    assert_array_equal(one, split)


@pytest.mark.parametrize("zero_weights", [0, 30, 195])
def test_smallest_keys_are_those_of_a_full_sort(zero_weights):
    # only rows that can be among the k smallest are sorted: the same rows as sorting all,
    # also when the k-th key is +inf (zero weights) and many keys tie there
    from geokmeans.core._chunks import row_uniforms, smallest_keys
    from geokmeans.core._source import Chunk

    rng = np.random.default_rng(zero_weights)
    X = rng.normal(size=(200, 2))
    w = rng.uniform(0.1, 2.0, 200)
    w[rng.choice(200, zero_weights, replace=False)] = 0.0
    for k in (1, 7, 199, 200, 250):
        keys, rows = smallest_keys(Chunk(X, w, first_row=11), k, 99)
        u = row_uniforms(11, 200, 99)
        with np.errstate(divide="ignore"):
            primary = np.where(w > 0, -np.log1p(-u) / np.where(w > 0, w, 1.0), np.inf)
        order = np.lexsort((u, primary))[:k]
        assert_array_equal(rows, X[order])
        assert_array_equal(keys, np.column_stack([primary[order], u[order]]))
