"""The engine's source on Dask: projected partitions kept on the workers, in groups.

Each partition of the input becomes a ``Chunk`` on the worker that read it. The
partitions a worker holds are then gathered into groups, one per thread of that worker
(a list of the same ``Chunk`` objects, not a copy), and every map of the driver is one
task per group that calls the chunk function on each of its partitions in turn. To the
driver the source still has one chunk per partition, in the input's order, with the
results it had with one task per partition; only the number of tasks changes. A fit of
20M points in 40 partitions ran about 30 iterations of two maps each: at some 10 ms of
scheduling per task on a busy 2-core machine, a task per partition cost more than the
arithmetic. Without a ``distributed`` client (dask's local schedulers), consecutive
partitions are grouped, one group per core.
"""

import operator
import os
import uuid

import numpy as np

from .core._kernels._threads import single_threaded
from .core._source import Chunk

__all__ = ["DaskSource"]


def _register_sizeof():
    """Tell dask what a ``Chunk`` weighs (its arrays), so that a worker's memory manager
    counts the partitions it keeps (by default an object weighs a few dozen bytes,
    and a worker near its limit spills the wrong data)."""
    from dask.sizeof import sizeof

    @sizeof.register(Chunk)
    def _chunk_size(chunk):
        arrays = (chunk.X, chunk.weights, chunk.lon, chunk.lat)
        return 64 + sum(sizeof(a) for a in arrays if a is not None)


try:
    _register_sizeof()
except ImportError:  # pragma: no cover - dask is optional; reading refuses without it
    pass


#: Rows of a group at most (unless a partition alone has more): a group moved between
#: workers (when its own worker is paused near its memory limit, Dask runs the task
#: elsewhere) then weighs at most ~60 MiB of coordinates and ~30 MiB of Hamerly state.
GROUP_ROWS = 4_000_000


class DaskSource:
    """Projected partitions persisted on the workers, as an engine source
    (``core._source``): each map is one task per group of partitions (see the module
    docstring). ``chunks``: the persisted per-partition ``Chunk`` objects; ``sizes``:
    their numbers of rows."""

    distributed = True

    def __init__(self, chunks, n_features, sizes):
        self.n_chunks = len(chunks)
        self.n_features = n_features
        # [(partition numbers, persisted list of their Chunks)]
        self._groups = _grouped(chunks, sizes)
        self._states = {}

    def map(self, fn, *args, state=None):
        import dask

        states = self._states[state] if state is not None else [None] * len(self._groups)
        tasks = [_task(_each, fn, group, s, args)
                 for (_, group), s in zip(self._groups, states, strict=True)]
        return self._in_order(dask.compute(*tasks))

    def update(self, name, fn, *args, state=None):
        import dask

        previous = self._states.get(state if state is not None else name,
                                    [None] * len(self._groups))
        # the state is modified in place (no copy: its memory is the workers' largest
        # cost); the update consumes it, and a lost worker's states are recomputed
        # from their lineage, from fresh inputs. The states and the results are kept
        # as keys of their own and the task's (states, results) pair is released: a
        # worker holding both would count the states twice, think itself fuller than
        # it is, and spill them to disk
        tasks = [_task(_each_update, fn, group, s, args)
                 for (_, group), s in zip(self._groups, previous, strict=True)]
        parts = dask.persist(*[dask.delayed(operator.getitem)(t, i, dask_key_name=_key("part"))
                               for i in (0, 1) for t in tasks])
        results = dask.compute(*parts[len(tasks):])
        self._states[name] = list(parts[:len(tasks)])
        return self._in_order(results)

    def forget(self, name):
        self._states.pop(name, None)

    def chunk_rows(self, index, fn, *args):
        import dask

        for numbers, group in self._groups:
            if index in numbers:
                return dask.compute(_task(_one, fn, group, numbers.index(index), args))[0]
        raise IndexError(f"no chunk {index} in a source of {self.n_chunks}")

    def _in_order(self, per_group):
        """The per-partition results of every group, in the partitions' order."""
        results = [None] * self.n_chunks
        for (numbers, _), values in zip(self._groups, per_group, strict=True):
            for number, value in zip(numbers, values, strict=True):
                results[number] = value
        return results


# -- tasks (run on the workers) ---------------------------------------------------------------


def _task(fn, *args):
    """The delayed call ``fn(*args)`` on one thread (``_kernels._threads``), named after
    the chunk function it maps (the name a dashboard shows)."""
    import dask

    return dask.delayed(_one_thread)(fn, *args,
                                     dask_key_name=_key(getattr(args[0], "__name__", "chunk")))


def _key(name):
    """A key of its own for each task (the states it updates change in place)."""
    return f"{name}-{uuid.uuid4().hex}"


def _one_thread(fn, *args):
    with single_threaded():
        return fn(*args)


def _each(fn, chunks, states, args):
    """``fn`` of every chunk of a group (with its state, when ``states`` is given)."""
    if states is None:
        return [fn(chunk, *args) for chunk in chunks]
    return [fn(chunk, state, *args) for chunk, state in zip(chunks, states, strict=True)]


def _each_update(fn, chunks, states, args):
    """``(new states, results)`` of an update of every chunk of a group."""
    states = [None] * len(chunks) if states is None else states
    pairs = [fn(chunk, state, *args) for chunk, state in zip(chunks, states, strict=True)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _one(fn, chunks, position, args):
    return fn(chunks[position], *args)


def _gather(*chunks):
    return list(chunks)


# -- grouping ---------------------------------------------------------------------------------


def _grouped(chunks, sizes):
    """``[(partition numbers, persisted list of their Chunks)]``: per worker, its
    partitions (in their order) split into groups of about equal rows, at least one per
    thread and at most ``GROUP_ROWS`` rows each, gathered on that worker; consecutive
    partitions, at least one group per core, without a ``distributed`` client."""
    import dask

    groups = []
    for worker, numbers, n_threads in _balanced(_placement(chunks), sizes):
        for part in _split(numbers, sizes, n_threads):
            members = [chunks[i] for i in part]
            if worker is None:
                gathered = dask.delayed(_gather)(*members)
            else:
                with dask.annotate(workers=[worker], allow_other_workers=True):
                    gathered = dask.delayed(_gather)(*members)
            groups.append((part, gathered))
    persisted = dask.persist(*[g[1] for g in groups])
    return [(numbers, group) for (numbers, _), group in zip(groups, persisted, strict=True)]


def _balanced(placement, sizes):
    """``placement`` (``_placement``) with partitions moved from the workers holding more
    rows than their share (rows in proportion to threads) to those holding fewer, until
    no move brings the two furthest from their shares nearer (each worker's partitions
    in their order). The scheduler reads partitions where it sees fit: 22 of 40 on one
    worker of two is common, and that worker then holds 10% more rows than its share,
    enough to push it over Dask's spill threshold while the other has room. A moved
    partition is sent once, when its group is gathered."""
    if len(placement) < 2:
        return [p for p in placement if p[1]]
    numbers = [list(p[1]) for p in placement]
    threads = np.array([p[2] for p in placement], dtype=np.float64)
    rows = np.array([sum(sizes[i] for i in part) for part in numbers], dtype=np.float64)
    share = rows.sum() * threads / threads.sum()
    for _ in range(len(sizes)):
        over, under = int(np.argmax(rows - share)), int(np.argmin(rows - share))
        excess, deficit = rows[over] - share[over], share[under] - rows[under]
        # moving s rows lowers excess + deficit by 2 min(s, excess, deficit, e + d - s)
        gain = [min(sizes[i], excess, deficit, excess + deficit - sizes[i])
                for i in numbers[over]]
        if not gain or max(gain) <= 0:
            break
        best = numbers[over][int(np.argmax(gain))]
        numbers[over].remove(best)
        numbers[under] = sorted(numbers[under] + [best])
        rows[over] -= sizes[best]
        rows[under] += sizes[best]
    return [(worker, part, n) for (worker, _, n), part in zip(placement, numbers, strict=True)
            if part]


def _split(numbers, sizes, n_threads):
    """``numbers`` (partition numbers) cut into runs of about equal rows (``sizes`` of
    every partition): ``max(n_threads, rows / GROUP_ROWS)`` runs, none empty."""
    counts = np.array([sizes[i] for i in numbers], dtype=np.float64)
    total = counts.sum()
    n_groups = int(max(1, n_threads, np.ceil(total / GROUP_ROWS)))
    # a partition joins the group of n_groups equal row ranges its middle row falls in
    middle = np.cumsum(counts) - counts / 2
    which = np.clip((n_groups * middle // max(total, 1.0)).astype(np.int64), 0, n_groups - 1)
    return [[numbers[i] for i in np.flatnonzero(which == g)] for g in np.unique(which)]


def _placement(chunks):
    """``[(worker address or None, partition numbers, threads)]``: where each persisted
    partition is, from the active ``distributed`` client, once they are computed."""
    client = _client()
    if client is None:
        return [(None, list(range(len(chunks))), min(len(chunks), os.cpu_count() or 1))]
    from distributed import futures_of, wait

    futures = [futures_of(c) for c in chunks]
    if not all(futures):  # computed by another scheduler than the client's
        return [(None, list(range(len(chunks))), min(len(chunks), os.cpu_count() or 1))]
    futures = [f[0] for f in futures]
    wait(futures)
    holders = client.who_has(futures)
    threads = {address: info["nthreads"]
               for address, info in client.scheduler_info()["workers"].items()}
    by_worker = {address: [] for address in threads}  # workers without partitions too
    for number, future in enumerate(futures):
        where = holders.get(future.key) or (None,)
        by_worker.setdefault(where[0], []).append(number)
    return [(worker, numbers, threads.get(worker, 1)) for worker, numbers in by_worker.items()
            if numbers or worker is not None]


def _client():
    """The ``distributed`` client the work runs on, or None (dask's local schedulers)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    try:
        return default_client()
    except ValueError:  # no client
        return None
