"""Memory a run has freed, handed back to the system between its stages.

glibc's allocator keeps what a process frees inside its heaps for later allocations, one
heap per thread that allocated (the projection's threads, the kernels' threads): after a
stage's temporaries are freed the resident size stays where the stage's peak left it, and
the next stage's own temporaries come on top wherever the free space is fragmented.
``malloc_trim(0)`` returns every free page of every heap (measured on the 1M-point
command: 16 MiB less at the run's peak, about 1 ms a call). Arrow's allocator keeps
its own free pages too; ``release_unused`` hands them back.
"""

import sys

__all__ = ["release_freed"]

_TRIM = []  # the C function, looked up once (an empty list: not yet; [None]: none here)


def _malloc_trim():
    if not _TRIM:
        trim = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                trim = ctypes.CDLL(None).malloc_trim  # glibc's; musl has none
                trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):
                trim = None
        _TRIM.append(trim)
    return _TRIM[0]


def release_freed():
    """Hand the free pages of the C heaps (glibc) and of Arrow's memory pool (when pyarrow
    is loaded) back to the system; does nothing where neither applies. True when the
    glibc heaps were trimmed."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
