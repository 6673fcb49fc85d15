"""The same fit gives identical bytes with 1 and 2 numba threads."""

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import hashlib, numpy as np
from geokmeans import KMeans
rng = np.random.default_rng(5)
X = np.concatenate([rng.normal(c, 1.0, size=(40_000, 2)) for c in rng.uniform(-50, 50, (6, 2))])
w = rng.uniform(0.5, 2.0, len(X))
h = hashlib.sha256()
for init in ["k-means++", "bbox", "random"]:
    km = KMeans(6, init=init, random_state=3).fit(X, sample_weight=w)
    h.update(km.labels_.tobytes()); h.update(km.cluster_centers_.tobytes())
    h.update(np.float64(km.inertia_).tobytes())
    h.update(km.transform(X[:1000]).tobytes())
# LocalSearch++ swaps touch blocks all over the interleaved groups: more clusters and steps
for init in ["k-means++", "random"]:
    km = KMeans(25, init=init, local_search=60, max_iter=3, random_state=4).fit(X, sample_weight=w)
    h.update(km.cluster_centers_.tobytes())
print(h.hexdigest())
"""


def run_with_threads(n_threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(n_threads))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


@pytest.mark.slow
def test_identical_bytes_on_one_and_two_threads():
    one = run_with_threads(1)
    two = run_with_threads(2)
    assert len(one) == 64
    assert one == two
