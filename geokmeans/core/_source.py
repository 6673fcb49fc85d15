"""Point sources: where the engine's rows live, and how work is mapped over them.

The driver (``_driver``), the seeding plans (``_plans``) and everything built on them
(split-to-radius, final statistics) never touch rows directly. They hand a *source* a
function of one chunk of rows and get back the list of its results, one per chunk, in
chunk order; the reductions over that list are theirs, written once. A source in this
process (``ArraySource``) holds one chunk and calls the function directly, so the
numba kernels run over all rows at once, in parallel; the Dask source
(``geokmeans.distributed``) holds one chunk per partition on the workers and maps
the same functions as tasks.

A source implements::

    n_chunks, n_features, distributed (bool)
    map(fn, *args, state=None)          -> [fn(chunk[, state_i], *args) for each chunk]
    update(name, fn, *args, state=None) -> [result_i]; fn returns (new_state, result) and
                                           the new states are kept under ``name``
    forget(name)                        drop the states kept under ``name``
    chunk_rows(i, fn, *args)            -> fn(chunk_i, *args) for one chunk only

A state is what a chunk function keeps between calls (Hamerly bounds, nearest
candidates of k-means||, ...). Functions given to ``update`` may modify the state they
receive in place (no copy: states are the largest memory cost of a distributed fit), so
an update consumes its input state: a state kept under another name must not share
arrays with one that will be updated (``_driver.best_of`` copies the labels it keeps).
"""

import numpy as np

__all__ = ["ArraySource", "Chunk"]


class Chunk:
    """Rows of one chunk: ``X`` (n, d) float64 C-contiguous and ``weights`` (n,).

    ``lon``/``lat`` (n,) degrees are kept beside the projected rows by geographic
    sources (for geodesic statistics); the core never reads them.
    """

    __slots__ = ("X", "weights", "lon", "lat", "index", "first_row")

    def __init__(self, X, weights, lon=None, lat=None, index=0, first_row=0):
        self.X = X
        self.weights = weights
        self.lon = lon
        self.lat = lat
        self.index = index  # the chunk's number in its source (seeds per chunk)
        self.first_row = first_row  # the position of its first row among all the rows

    def __len__(self):
        return self.X.shape[0]


class ArraySource:
    """All rows in this process, as one chunk (the kernels chunk them further)."""

    distributed = False

    def __init__(self, X, weights, lon=None, lat=None):
        self.chunks = [Chunk(X, weights, lon, lat)]
        self.n_features = X.shape[1]
        self.n_chunks = 1
        self._states = {}

    def map(self, fn, *args, state=None):
        if state is None:
            return [fn(chunk, *args) for chunk in self.chunks]
        states = self._states[state]
        return [fn(chunk, s, *args) for chunk, s in zip(self.chunks, states, strict=True)]

    def update(self, name, fn, *args, state=None):
        previous = self._states.get(state if state is not None else name,
                                    [None] * self.n_chunks)
        pairs = [fn(chunk, s, *args) for chunk, s in zip(self.chunks, previous, strict=True)]
        self._states[name] = [p[0] for p in pairs]
        return [p[1] for p in pairs]

    def states(self, name):
        """The states kept under ``name``, one per chunk (rows in this process only)."""
        return self._states[name]

    def forget(self, name):
        self._states.pop(name, None)

    def chunk_rows(self, index, fn, *args):
        return fn(self.chunks[index], *args)

    def rows(self):
        """The one chunk's ``(X, weights)``: the whole data, for plans that need it."""
        chunk = self.chunks[0]
        return chunk.X, chunk.weights


def unit_weights(n):
    """Weights of 1 for ``n`` rows, without memory per row (read-only view)."""
    return np.broadcast_to(np.float64(1.0), (n,))


def are_unit_weights(weights):
    """Whether ``weights`` are such a view of one 1.0 (``unit_weights``, or the default
    weights of ``_validation.check_sample_weight``): sums over them are counts."""
    return (weights.ndim == 1 and weights.size > 0 and weights.strides == (0,)
            and bool(weights[0] == 1.0))
