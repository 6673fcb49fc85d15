"""Numba kernels: distances, assignment and partial sums over fixed chunks of rows.

This package sets up the threading environment before numba loads and re-exports every
kernel, so callers write ``_kernels.lloyd_step(...)``. One module per algorithm family:
``lloyd`` (full E-step and M-step partials), ``hamerly`` (bounded E-step), ``kmeanspp``
(seeding over spatial blocks), ``local_search`` (LocalSearch++ swaps) and
``silhouette`` (silhouettes of several labellings in one pass over pairs), over
``_common`` (row chunking, inlined distance primitives, shared reductions).

Every parallel pass runs over chunks whose bounds depend only on the number of rows,
never on the number of threads. Each chunk writes its own slot of the partial
results, which are then reduced in chunk order, so results are bit-identical
whatever ``NUMBA_NUM_THREADS`` is. Kernels never validate; arguments written to are
marked ``# OUT``.

Compiling a ``prange`` loop costs 2-5 times the compilation of the same loop serial
(numba builds a parallel gufunc and optimises its body again). The kernels a fit runs at
every size (``hamerly_step``, ``weighted_inertia``) therefore have a serial copy, under
its own name (numba's cache key ignores the parallel flag), that runs an input of a
single chunk: a first run on a small input (the README's main job) compiles those two
serial copies and the centres' neighbours (an insertion sort up to 64 centres; numba's
``argsort`` took 3-4 s to compile, numpy's takes the larger k). The reduction of the
partials is plain numpy, adding in the same order: nothing to compile.

Threads wait passively between parallel loops (``OMP_WAIT_POLICY=PASSIVE`` unless the
environment already says otherwise): OpenMP's default spin-waiting threads take the
cores from whatever else runs, and on a busy machine (a Dask worker beside others, a
test run, a shared server) every parallel loop then waits for descheduled spinners. On
the project's 2-core machine under load, a 50,000-point fit with many small parallel
loops ran 10-20 times slower with spinning threads; idle, passive waiting was as fast.

numba's on-disk cache (``cache=True``) is invalidated only when the kernel's own file
changes, not when an inlined helper it imports from another module does: after editing
``_common.py``, delete the ``*.nbi``/``*.nbc`` files in this package's ``__pycache__``.
"""

import os

# read by libgomp when numba's OpenMP threading layer first loads (the first parallel call);
# set here, before any submodule imports numba (hence the imports below it, E402)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._common import (  # noqa: E402
    MAX_CHUNKS,
    MIN_CHUNK_ROWS,
    chunk_starts,
    pairwise_distances,
    reduce_partials,
    weighted_inertia,
)
from .hamerly import (  # noqa: E402
    BOUND_DTYPE,
    SEARCH_RADIUS,
    centre_neighbours,
    cluster_partials,
    distances_to_own_centre,
    hamerly_step,
    state_pass,
)
from .kmeanspp import (  # noqa: E402
    BLOCK_ROWS,
    block_boxes,
    block_layout,
    column_bounds,
    gather_rows,
    kpp_add_centre,
    kpp_candidate_potentials,
    kpp_sample,
    morton_keys,
    radix_argsort,
)
from .lloyd import assign_labels, lloyd_step, nearest_update  # noqa: E402
from .local_search import ls_nearest_two, ls_swap, ls_swap_deltas, n_block_groups  # noqa: E402
from .silhouette import silhouette_cells  # noqa: E402

__all__ = [
    "MAX_CHUNKS",
    "MIN_CHUNK_ROWS",
    "chunk_starts",
    "assign_labels",
    "lloyd_step",
    "nearest_update",
    "reduce_partials",
    "pairwise_distances",
    "weighted_inertia",
    "hamerly_step",
    "state_pass",
    "cluster_partials",
    "distances_to_own_centre",
    "centre_neighbours",
    "SEARCH_RADIUS",
    "BOUND_DTYPE",
    "BLOCK_ROWS",
    "morton_keys",
    "radix_argsort",
    "gather_rows",
    "column_bounds",
    "block_boxes",
    "block_layout",
    "kpp_add_centre",
    "kpp_candidate_potentials",
    "kpp_sample",
    "n_block_groups",
    "ls_nearest_two",
    "ls_swap_deltas",
    "ls_swap",
    "silhouette_cells",
]
