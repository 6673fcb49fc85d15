"""Running a serial kernel over ranges of chunks on several threads, and adding the
chunks' partial results in chunk order.

The kernels are compiled serial (``@njit(nogil=True)``) over a range of chunks
``chunk_lo..chunk_hi-1``; ``run_ranges`` splits the chunks into one contiguous range per
thread (as numba's ``prange`` schedules its iterations) and runs the ranges at once, the
calling thread taking the first. Compiling a ``prange`` loop costs 2-5 times the
compilation of the same loop serial (numba compiles a parallel gufunc, then links and
optimises the loop body again in every function that calls it); a first run thus
compiles each kernel once, serial, whatever the size of its input. The result does not
depend on the number of threads: each chunk writes its own slot of the partial results,
and ``ordered_sum`` adds them in chunk order.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba.np.ufunc import parallel as _numba_parallel

__all__ = ["n_threads", "ordered_sum", "run_ranges"]

_lock = threading.Lock()
# the process's pool (created on first use, again after a fork: a child inherits the
# executor but none of its threads) and the pid that created it
_state = {"pool": None, "pid": None, "workers": 0}


def n_threads():
    """The number of threads numba would use: ``numba.set_num_threads`` when numba's
    thread pool is running (setting it starts the pool), else ``NUMBA_NUM_THREADS``,
    without starting numba's pool for nothing."""
    if getattr(_numba_parallel, "_is_initialized", True):
        return numba.get_num_threads()
    return numba.config.NUMBA_NUM_THREADS


def _executor(n_workers):
    with _lock:
        if (_state["pool"] is None or _state["pid"] != os.getpid()
                or _state["workers"] < n_workers):
            _state.update(pool=ThreadPoolExecutor(n_workers, thread_name_prefix="geokmeans"),
                          pid=os.getpid(), workers=n_workers)
        return _state["pool"]


def run_ranges(kernel, n_items, *args):
    """``kernel(lo, hi, *args)`` for contiguous ranges ``lo..hi-1`` that cover
    ``0..n_items-1``, one range per thread, at once (the kernel releases the GIL); returns
    when every range is done. With one thread, or one item, a single call in this thread."""
    count = min(n_threads(), n_items)
    if count <= 1:
        kernel(0, n_items, *args)
        return
    bounds = [n_items * t // count for t in range(count + 1)]
    pool = _executor(count - 1)
    futures = [pool.submit(kernel, bounds[t], bounds[t + 1], *args) for t in range(1, count)]
    try:
        kernel(bounds[0], bounds[1], *args)
    finally:
        for future in futures:
            future.result()


def ordered_sum(partials, start=None):
    """Sum of ``partials`` over its first axis, added one after another in index order
    to ``start`` (default 0.0): the bits of a serial loop ``total += partials[c]``.
    numpy's ``sum`` adds in pairs, which rounds differently; ``add.accumulate`` adds in
    order. Returns a float for a 1-d ``partials``, else an array."""
    partials = np.asarray(partials, dtype=np.float64)
    first = np.zeros((1,) + partials.shape[1:]) if start is None else np.asarray(start)[None]
    total = np.add.accumulate(np.concatenate([first, partials]), axis=0)[-1]
    return float(total) if partials.ndim == 1 else total
