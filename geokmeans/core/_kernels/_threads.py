"""How many threads the kernels called from the current thread may use."""

from contextlib import contextmanager

import numba

__all__ = ["single_threaded"]


@contextmanager
def single_threaded():
    """Run the kernels called inside on the calling thread only.

    For tasks of a Dask worker: Dask already runs one task per core, and kernels that
    spread each task over every core as well would put several threads on each core,
    where a parallel loop waits for its slowest, descheduled, thread. numba's thread
    count is per calling thread, so other threads of the process are unaffected; the
    results do not depend on it (see the package docstring)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
