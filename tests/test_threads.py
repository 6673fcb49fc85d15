"""Serial kernels run over ranges of chunks on threads (``core._kernels._threads``)."""

import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

from geokmeans.core._kernels import _threads


@pytest.fixture
def two_threads():
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    yield numba.get_num_threads()
    numba.set_num_threads(before)


@pytest.mark.parametrize("n_items", [1, 2, 3, 7, 256])
def test_ranges_cover_every_item_once(two_threads, n_items):
    seen = np.zeros(n_items, dtype=np.int64)
    calls = []

    def kernel(lo, hi, out):
        calls.append((lo, hi, threading.get_ident()))
        out[lo:hi] += 1

    _threads.run_ranges(kernel, n_items, seen)
    assert seen.tolist() == [1] * n_items
    ranges = sorted((lo, hi) for lo, hi, _ in calls)
    assert ranges[0][0] == 0 and ranges[-1][1] == n_items
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert len(calls) == min(two_threads, n_items)


def test_one_thread_is_one_call_in_this_thread():
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        calls = []
        _threads.run_ranges(lambda lo, hi: calls.append((lo, hi, threading.get_ident())), 40)
    finally:
        numba.set_num_threads(before)
    assert calls == [(0, 40, threading.get_ident())]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
def test_ranges_run_at_once(two_threads):
    """Both ranges are running before either ends (the kernels release the GIL)."""
    barrier = threading.Barrier(2, timeout=30)
    _threads.run_ranges(lambda lo, hi: barrier.wait(), 2)  # a deadlock would time out


def test_an_error_in_a_worker_reaches_the_caller(two_threads):
    def kernel(lo, hi):
        if lo > 0:
            raise ValueError(f"chunk range {lo}..{hi} failed")

    if two_threads < 2:
        pytest.skip("needs two threads")
    with pytest.raises(ValueError, match="chunk range"):
        _threads.run_ranges(kernel, 4)


def test_ordered_sum_adds_in_index_order():
    rng = np.random.default_rng(0)
    values = rng.normal(size=1000) * 10.0 ** rng.integers(-8, 8, 1000)
    serial = 0.0
    for v in values.tolist():
        serial += v
    assert _threads.ordered_sum(values) == serial  # bit for bit
    assert values.sum() != serial  # numpy's pairwise sum rounds differently: a real test
    table = values.reshape(250, 4)
    expected = np.zeros(4)
    for row in table:
        expected = expected + row
    assert np.array_equal(_threads.ordered_sum(table), expected)
    start = rng.normal(size=4)
    expected = start.copy()
    for row in table:
        expected = expected + row
    assert np.array_equal(_threads.ordered_sum(table, start=start), expected)
    assert _threads.ordered_sum(np.empty(0)) == 0.0


def test_ordered_sum_of_minus_zero_starts_from_plus_zero():
    # as a loop from ``total = 0.0``: 0.0 + -0.0 is 0.0
    assert np.signbit(_threads.ordered_sum(np.array([-0.0]))) == np.signbit(0.0 + -0.0)


FORK_SCRIPT = r"""
import os, sys, numpy as np
from geokmeans.core._kernels import _threads
def kernel(lo, hi, out):
    out[lo:hi] = 1
out = np.zeros(8)
_threads.run_ranges(kernel, 8, out)  # the parent's pool
pid = os.fork()
if pid == 0:
    child = np.zeros(8)
    _threads.run_ranges(kernel, 8, child)  # the inherited pool has no thread: a new one
    os._exit(0 if child.sum() == 8 else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_its_own_pool():
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", FORK_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "0"
