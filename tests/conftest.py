"""Shared fixtures: seeds, small clustered datasets."""

import numpy as np
import pytest

SEEDS = [0, 1, 2]


@pytest.fixture(params=SEEDS)
def seed(request):
    """Each test using it must pass for every seed in the range, not one lucky seed."""
    return request.param


def make_blobs(n_samples, n_centers, n_features=2, spread=1.0, box=50.0, seed=0):
    """Gaussian blobs (plain numpy), returns X (n, d) and the true labels."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-box, box, size=(n_centers, n_features))
    labels = rng.integers(0, n_centers, size=n_samples)
    X = centers[labels] + rng.normal(scale=spread, size=(n_samples, n_features))
    return X, labels


@pytest.fixture
def blobs(seed):
    return make_blobs(600, 5, seed=seed)
