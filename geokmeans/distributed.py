"""Dask back end: clustering dask collections, one map-reduce per Lloyd iteration.

``GeoKMeans.fit`` and ``geokmeans.cluster`` hand dask inputs (a ``dask_geopandas``
GeoDataFrame, a dask DataFrame with lat/lon columns, a dask array of (lon, lat)) to
``fit_dask``. Each partition is read with the in-memory reader (same checks, same
messages, rows numbered across the whole input), projected where it lives and kept in
the workers' memory. The projection is chosen from the partitions' extents; seeding is
k-means|| (Bahmani et al., "Scalable k-means++", VLDB 2012) with weights, reduced to k
centres by weighted k-means++ and LocalSearch++; each Lloyd iteration sums per-partition
partials (weights, coordinate sums, inertia, changed labels) computed with the in-memory
numba kernels (Hamerly's bounds, kept on the workers between iterations), and handles
empty clusters as in memory. ``max_radius_m`` splits clusters as in memory
(``_split_to_radius``); maps draw a per-cluster sample taken in the partitions
(``sample_points``) and hulls gather only each partition's hull vertices (``hulls_of``). With a ``distributed.Client`` active the work runs on its cluster;
otherwise on dask's local scheduler.
"""

import glob
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .core import _kernels, assign
from .core._estimator import log_restart, make_rng
from .core._lloyd import m_step, project_to_sphere, relocate_empty_clusters
from .core._seeding import init_kmeanspp
from .errors import (
    DataTypeError,
    GeoKMeansError,
    GeoKMeansWarning,
    InputError,
    OptionalDependencyError,
)
from .io import read_points
from .model import LonLatBox, sample_bbox
from ._validation import check_radius_clusters, power_of_two_scale
from .projection import auto_projection, check_area_of_use, choose_projection, wrap_longitude
from .stats import (
    cluster_hulls,
    cluster_table_from_sums,
    geodesic_distances_m,
    hull_vertex_rows,
)

__all__ = [
    "as_dask_frame",
    "fit_dask",
    "input_paths",
    "is_dask_collection",
    "is_partitioned_path",
    "read_partitioned",
    "label_partitions",
    "source_paths",
]

KMEANS_PARALLEL_ROUNDS = 5


def is_dask_collection(data):
    """True for dask arrays, dask DataFrames and dask_geopandas GeoDataFrames."""
    module = type(data).__module__ or ""
    return module.split(".")[0] in ("dask", "dask_geopandas", "dask_expr")


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ImportError:
        raise OptionalDependencyError(
            'clustering dask collections needs dask: pip install "geokmeans[dask]"'
        ) from None


def as_dask_frame(data):
    """A dask DataFrame (or dask_geopandas GeoDataFrame) for any dask input."""
    return _as_frame(data)


def _is_glob(path):
    """True for a path that does not exist and has glob characters (``*``, ``?``, ``[``):
    an existing file or directory is itself, whatever its characters."""
    text = str(path)
    return any(ch in text for ch in "*?[") and not os.path.lexists(text)


def is_partitioned_path(path):
    """True for a directory, or a glob (``*``, ``?``, ``[``) that is not an existing file:
    input read with dask."""
    return _is_glob(path) or Path(str(path)).is_dir()


_PARQUET = (".parquet", ".geoparquet", ".pq")
_CSV = (".csv", ".txt")


def _partition_files(path):
    """The files of a glob or a directory (hidden and ``_``-prefixed files, such as
    ``_SUCCESS`` or ``_metadata``, skipped), and whether they are Parquet (else CSV).

    An existing path is taken as it is, whatever its characters. Raises ``InputError``
    naming the first file that is neither, or that differs in kind from the first: a
    mix of Parquet and CSV is refused rather than read in part.
    """
    text = str(path)
    if _is_glob(text):
        matches = sorted(glob.glob(text))
        if not matches:
            raise InputError(f"no input files match '{path}'.")
        files = [m for m in matches if not Path(m).is_dir()]
        dirs = [m for m in matches if Path(m).is_dir()]
        if dirs and not files and len(dirs) == 1:
            return _partition_files(dirs[0])
    elif not Path(text).is_dir():
        files = [text]
    else:
        folder = Path(text)
        files = sorted(str(f) for f in folder.rglob("*") if f.is_file()
                       and not any(part.startswith((".", "_"))
                                   for part in f.relative_to(folder).parts))
        if not files:
            raise InputError(f"input directory '{path}' holds no data files.")
    kinds = []
    for name in files:
        suffix = Path(name).suffix.lower()
        if suffix not in _PARQUET + _CSV:
            raise InputError(f"partitioned input '{path}' holds '{name}', which is neither "
                             "Parquet nor CSV; partitioned inputs are CSV or Parquet files.")
        kinds.append(suffix in _PARQUET)
        if kinds[-1] != kinds[0]:
            raise InputError(f"partitioned input '{path}' mixes Parquet and CSV files "
                             f"('{files[0]}' and '{name}'); use files of one kind.")
    return files, kinds[0]


def input_paths(path):
    """What a (partitioned) input at ``path`` reads, as protected entries for the writers
    (``io.OutputSet(protected=...)``): a directory (no output inside it), or for a glob
    every file and directory it matches and the pattern itself (no output it would
    match, which a later run would read as input); an existing file is itself.

    Examples
    --------
    >>> input_paths("data/dc_places.csv")
    ('data/dc_places.csv',)
    """
    from ._protected import InputGlob

    text = str(path)
    if not _is_glob(text):
        return (text,)
    return (*sorted(glob.glob(text)), InputGlob(text))


def _local_path(text):
    """``text`` as a local path, or None for another file system (``s3://``...)."""
    if not isinstance(text, str) or not text:
        return None
    if "://" in text:
        return text[len("file://"):] if text.startswith("file://") else None
    return text


def _paths_in(value, found, depth=0):
    """Add to ``found`` the local file paths held in ``value``, a piece of a dask graph:
    fsspec ``OpenFile`` objects (CSV blocks), ``{"piece": (path, ...)}`` parts
    (Parquet), recursing through tasks, lists, tuples and dicts."""
    if depth > 6 or isinstance(value, (str, bytes, pd.DataFrame, pd.Series, np.ndarray)):
        return
    fs = getattr(value, "fs", None)
    if fs is not None and isinstance(getattr(value, "path", None), str):
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        if {"file", "local"} & set(protocols):
            found.append(value.path)
        return
    if isinstance(value, dict):
        piece = value.get("piece")
        if isinstance(piece, tuple) and piece and _local_path(piece[0]):
            found.append(_local_path(piece[0]))
        items = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        items = [*getattr(value, "args", ()), *getattr(value, "kwargs", {}).values()] \
            if hasattr(value, "args") else ()
    for item in items:
        _paths_in(item, found, depth + 1)


def source_paths(data):
    """The local files and directories a dask collection reads, as far as its graph says
    (``read_partitioned``, ``dask.dataframe.read_csv``/``read_parquet``,
    ``dask_geopandas.read_parquet``), as protected entries for the writers; ``()`` for
    collections made in memory or read from other file systems.
    """
    expr = getattr(data, "expr", None)
    found = []
    try:
        nodes = list(expr.walk()) if expr is not None else []
        for node in nodes:
            for name in getattr(type(node), "_parameters", ()):
                value = node.operand(name)
                if name in ("path", "filename", "urlpath"):
                    texts = value if isinstance(value, (list, tuple)) else [value]
                    for text in filter(None, map(_local_path, texts)):
                        found.extend([text] if os.path.lexists(text) else glob.glob(text))
                elif name not in ("_meta", "user_meta", "meta"):
                    _paths_in(value, found)
    except Exception:  # noqa: BLE001 - dask's internals moved: protect what was found
        pass
    return tuple(dict.fromkeys(found))


def _check_csv_headers(path, files):
    """Refuse CSV files whose header differs from the first file's: dask reads every
    file with the first one's column names, so a file with columns in another order
    (``lon,lat`` after ``lat,lon``) would be read wrongly, without an error."""
    first = list(pd.read_csv(files[0], nrows=0).columns)
    for name in files[1:]:
        header = list(pd.read_csv(name, nrows=0).columns)
        if header != first:
            raise InputError(f"partitioned input '{path}': '{name}' has columns {header}, "
                             f"'{files[0]}' has {first}; every CSV file needs the same header.")


def read_partitioned(path):
    """A dask frame for a glob of CSV/Parquet files or a directory of them.

    Files are checked before reading (one kind, CSV or Parquet); a file that cannot be
    opened raises ``InputError`` naming the input. An existing path is read as itself,
    whatever its characters (``data[1].csv`` is that file, not a glob matching
    ``data1.csv``). The frame's files are protected from the writers of its results
    (``source_paths``).
    """
    _require_dask()
    import dask.dataframe as dd

    files, parquet = _partition_files(path)
    # dask globs every path it is given: escaped, a file named 'data[1].csv' is itself
    escaped = [glob.escape(f) for f in files]
    try:
        if parquet:
            # a directory is read as one dataset (keeping hive partition columns)
            source = glob.escape(str(path)) if Path(str(path)).is_dir() else escaped
            try:
                import dask_geopandas

                return dask_geopandas.read_parquet(source)
            except (ImportError, ValueError, TypeError):
                return dd.read_parquet(source)
        _check_csv_headers(path, files)
        return dd.read_csv(escaped, keep_default_na=False, na_values=[""])
    except GeoKMeansError:
        raise
    except Exception as exc:  # any reader failure is a bad input for the user
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not read partitioned input '{path}': {message}") from None


def _reader_errors():
    """Exceptions that reading a partition's file raises for bad content (pandas'
    ParserError and EmptyDataError are ValueErrors; so is dask's meta mismatch)."""
    errors = [ValueError, OSError, UnicodeError]
    try:
        from pyarrow.lib import ArrowException

        errors.append(ArrowException)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _as_frame(data):
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(data, da.Array):
        if data.dtype.kind in "bc":
            kind = "booleans" if data.dtype.kind == "b" else "complex numbers"
            raise DataTypeError(f"data holds {kind}; it should hold real (lon, lat) numbers.")
        if data.ndim != 2 or data.shape[1] != 2:
            raise InputError(f"a dask array of points must have shape (n, 2) of (lon, lat); got {data.shape}.")
        return dd.from_dask_array(data.astype(np.float64), columns=["lon", "lat"])
    return data


# -- partition tasks (run on the workers) --------------------------------------------------


def _read(frame, offset, lat, lon, weight, dropna, n_missing_total=None):
    """A partition as (lon, lat, weights, n_dropped); weights None when unweighted."""
    if len(frame) == 0:
        empty = np.empty(0)
        return empty, empty, (None if weight is None else empty), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoKMeansWarning)  # counted and reported once
        points = read_points(frame, lat=lat, lon=lon, weight=weight, dropna=dropna,
                             row_offset=offset, keep_frame=False,
                             n_missing_total=n_missing_total)
    return points.lon, points.lat, points.weights, points.n_dropped


def _scan(frame, lat, lon, weight, dropna):
    """``(rows, extent, n_missing, max_weight)`` of a partition read with row numbers
    from 0, ``extent`` as from ``_extent``, or ``"error"`` when reading failed: the
    driver then reads the first such partition again with its true row offset and the
    input's count of rows with missing coordinates (``n_missing``), which raises the
    in-memory message. ``max_weight`` is the largest weight (1.0 when unweighted)."""
    n_rows = len(frame)
    try:
        part = _read(frame, 0, lat, lon, weight, dropna)
    except GeoKMeansError:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GeoKMeansWarning)
                n_missing = _read(frame, 0, lat, lon, weight, True)[3]
        except GeoKMeansError:
            n_missing = 0
        return n_rows, "error", n_missing, 0.0
    weights = part[2]
    top = 1.0 if weights is None else (float(weights.max()) if weights.size else 0.0)
    return n_rows, _extent(part), 0, top


def _extent(part):
    """(rows skipped, extent or None): lon min/max in [-180, 180) and in [0, 360), lat
    min/max and the number of rows kept."""
    lon, lat, _, n_dropped = part
    if lon.size == 0:
        return n_dropped, None
    lon360 = np.where(lon < 0, lon + 360.0, lon)
    return n_dropped, (lon.min(), lon.max(), lon360.min(), lon360.max(), lat.min(), lat.max(),
                       lon.size)


def _project(part, projection, weight_scale=1.0):
    """(X, weights / weight_scale) of a partition; weights stay None when unweighted
    (made per task)."""
    lon, lat, weights, _ = part
    X = projection.forward(lon, lat) if lon.size else np.empty((0, projection.n_dims))
    if weights is not None and weight_scale != 1.0:
        weights = weights / weight_scale
    return np.ascontiguousarray(X), weights


def _unpack(data):
    X, w = data
    return X, (np.ones(len(X)) if w is None else w)


def _weight_total(data):
    return float(_unpack(data)[1].sum())


def _moments(data):
    X = data[0]
    return len(X), X.sum(axis=0), (X**2).sum(axis=0)


def _pick(data, target):
    """The row where the running sum of weights passes ``target``."""
    X, w = _unpack(data)
    row = int(np.searchsorted(np.cumsum(w), target, side="right"))
    return X[min(row, len(X) - 1)]


def _closest(data, centres, first_index=0, previous=None):
    """(squared distance, index) of each row's nearest candidate so far: ``centres`` are
    the candidates numbered from ``first_index``; ``previous`` the state before them."""
    labels, dist2 = assign(data[0], centres)
    labels = labels.astype(np.int64) + first_index
    if previous is None:
        return dist2, labels
    nearer = dist2 < previous[0]
    return np.where(nearer, dist2, previous[0]), np.where(nearer, labels, previous[1])


def _cost(data, closest):
    return float(_unpack(data)[1] @ closest[0]) if len(closest[0]) else 0.0


def _oversample(data, closest, factor, seed):
    """Rows drawn independently with probability min(1, factor * w * D²)."""
    X, w = _unpack(data)
    rng = np.random.default_rng(seed)
    keep = rng.uniform(size=len(X)) < factor * w * closest[0]
    return X[keep]


def _smallest_keys(data, n_clusters, seed):
    """The partition's ``n_clusters`` rows with the smallest random keys, as (keys (m, 2),
    rows (m, d)): key ``-log(u) / w`` for positive weights (Efraimidis & Spirakis, 2006:
    the k smallest are a weighted sample without replacement, the same distribution as
    drawing one row after another with probability ∝ weight), then zero-weight rows in
    uniform random order."""
    X, w = _unpack(data)
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=len(X))
    with np.errstate(divide="ignore"):
        primary = np.where(w > 0, -np.log1p(-u) / np.where(w > 0, w, 1.0), np.inf)
    order = np.lexsort((u, primary))[:n_clusters]
    return np.column_stack([primary[order], u[order]]), X[order]


def _init_random(data, n_clusters, rng, compute, delayed):
    """``n_clusters`` distinct rows drawn with probability ∝ weight (``init="random"``)."""
    seeds = rng.integers(0, 2**63, size=len(data))
    drawn = compute(*[delayed(_smallest_keys)(p, n_clusters, int(s)) for p, s in zip(data, seeds)])
    keys = np.concatenate([d[0] for d in drawn])
    rows = np.concatenate([d[1] for d in drawn])
    return rows[np.lexsort((keys[:, 1], keys[:, 0]))[:n_clusters]].copy()


def _candidate_weights(data, closest, n_candidates):
    """Total weight of the rows nearest to each candidate."""
    return np.bincount(closest[1], weights=_unpack(data)[1], minlength=n_candidates)


def _cluster_sums(X, w, labels, n_clusters, starts):
    """Weighted coordinate sums (k, d) and weights (k,) of each cluster's rows, with the
    in-memory M-step kernels (chunked, reduced in order)."""
    n_chunks, d = starts.shape[0] - 1, X.shape[1]
    part_sums = np.empty((n_chunks, n_clusters, d))
    part_weights = np.empty((n_chunks, n_clusters))
    _kernels.cluster_partials(X, w, labels, starts, part_sums, part_weights)
    sums = np.empty((n_clusters, d))
    weights = np.empty(n_clusters)
    _kernels.reduce_partials(part_sums, part_weights, np.zeros(n_chunks), sums, weights)
    return sums, weights


def _iteration(data, state, centres, shift, with_inertia):
    """One bounded E-step (Hamerly, as in memory) and its partial sums on a partition.

    ``state`` holds the previous iteration's (labels, upper, lower) bounds (None at the
    start) and ``shift`` (k,) how far each centre moved since. Returns the new state and
    the partial: sums (k, d), weights (k,), inertia (NaN unless ``with_inertia``) and the
    number of changed labels.
    """
    X, w = _unpack(data)
    k, d = centres.shape
    n = len(X)
    if state is None:
        labels = np.full(n, -1, dtype=np.int32)
        upper = np.full(n, np.inf)
        lower = np.zeros(n)
    else:  # persisted state is never modified: retries and recomputations stay exact
        labels, upper, lower = (a.copy() for a in state)
    if n == 0:
        return (labels, upper, lower), (np.zeros((k, d)), np.zeros(k), 0.0, 0)
    starts = _kernels.chunk_starts(n)
    n_chunks = starts.shape[0] - 1
    if shift is not None:
        _kernels.hamerly_move_bounds(labels, shift, starts, upper, lower)
    neighbours, neighbour_dist, half_gap = _kernels.centre_neighbours(centres)
    n_changed = np.empty(n_chunks, dtype=np.int64)
    _kernels.hamerly_assign(X, centres, np.ascontiguousarray(centres.T), half_gap, neighbours,
                            neighbour_dist, starts, labels, upper, lower, n_changed)
    sums, weights = _cluster_sums(X, w, labels, k, starts)
    inertia = (_kernels.weighted_inertia(X, w, centres, labels, starts) if with_inertia
               else np.nan)
    return (labels, upper, lower), (sums, weights, float(inertia), int(n_changed.sum()))


def _far_rows(data, state, centres, n_rows):
    """The ``n_rows`` positive-weight rows farthest from their centre (ties: lower row),
    as (X, weights, labels, squared distances, row numbers) in row order."""
    X, w = _unpack(data)
    labels = state[0]
    dist2 = np.empty(len(X))
    if len(X):
        _kernels.distances_to_own_centre(X, centres, labels, _kernels.chunk_starts(len(X)),
                                         dist2)
    movable = np.flatnonzero((w > 0) & (dist2 > 0))
    if movable.size > n_rows:
        d = dist2[movable]
        cut = np.partition(d, d.size - n_rows)[d.size - n_rows]  # the n_rows-th largest
        above = movable[d > cut]
        movable = np.concatenate([above, movable[d == cut][: n_rows - above.size]])
    far = np.sort(movable)
    return X[far], w[far], labels[far], dist2[far], far


def _final_partial(part, data, centres, centre_lon, centre_lat):
    """Per-cluster counts, weights, weighted and maximum geodesic distances, inertia, and
    the projected coordinates of each cluster's farthest row (NaN where none)."""
    lon, lat, _, _ = part
    X, w = _unpack(data)
    k = len(centre_lon)
    farthest = np.full((k, centres.shape[1]), np.nan)
    if len(X) == 0:
        return np.zeros(k), np.zeros(k), np.zeros(k), np.full(k, -np.inf), 0.0, farthest
    labels, dist2 = assign(X, centres)
    distances = geodesic_distances_m(lon, lat, centre_lon[labels], centre_lat[labels])
    maximum = np.full(k, -np.inf)
    np.maximum.at(maximum, labels, distances)
    order = np.lexsort((distances, labels))  # by cluster, then distance: last is farthest
    last = np.searchsorted(labels[order], np.arange(k), side="right") - 1
    present = np.bincount(labels, minlength=k) > 0
    farthest[present] = X[order[last[present]]]
    return (np.bincount(labels, minlength=k).astype(float),
            np.bincount(labels, weights=w, minlength=k),
            np.bincount(labels, weights=w * distances, minlength=k), maximum,
            float(w @ dist2), farthest)


def _final_stats(parts, data, centres, projection, compute, delayed):
    """Combined ``_final_partial``s: (centre lon, lat, counts, weights, weighted and
    maximum distances, inertia, farthest rows (k, d))."""
    centre_lon, centre_lat = projection.inverse(centres)
    finals = compute(*[delayed(_final_partial)(p, d, centres, centre_lon, centre_lat)
                       for p, d in zip(parts, data)])
    counts, weights, weighted, inertia = (sum(f[i] for f in finals) for i in (0, 1, 2, 4))
    maxima = np.array([f[3] for f in finals])
    winner = np.argmax(maxima, axis=0)
    farthest = np.array([finals[p][5][j] for j, p in enumerate(winner)])
    return (centre_lon, centre_lat, counts, weights, weighted, maxima.max(axis=0), inertia,
            farthest)


def _split_partial(data, centres, wide, halves):
    """Sums for a 2-means of the members of each too-wide cluster: rows labelled
    ``wide[m]`` go to the nearer of ``halves[2m]`` and ``halves[2m + 1]``."""
    X, w = _unpack(data)
    if len(X) == 0:
        return np.zeros(halves.shape), np.zeros(len(halves))
    labels = assign(X, centres)[0]
    slot = np.full(len(centres), -1)
    slot[wide] = np.arange(len(wide))
    member = slot[labels] >= 0
    Xm, wm, m = np.ascontiguousarray(X[member]), w[member], slot[labels[member]]
    d0 = ((Xm - halves[2 * m]) ** 2).sum(axis=1)
    d1 = ((Xm - halves[2 * m + 1]) ** 2).sum(axis=1)
    half = (2 * m + (d1 < d0)).astype(labels.dtype)
    return _cluster_sums(Xm, wm, half, len(halves), _kernels.chunk_starts(len(Xm)))


def _split_wide(data, centres, wide, farthest, sphere_radius, max_iter, compute, delayed):
    """Two centres for each cluster in ``wide``: 2-means of its members, Lloyd from the
    centroid and the farthest member (more than the radius apart) to a fixed point."""
    halves = np.empty((2 * len(wide), centres.shape[1]))
    halves[0::2] = centres[wide]
    halves[1::2] = farthest[wide]
    for _ in range(max_iter):
        partials = compute(*[delayed(_split_partial)(d, centres, wide, halves) for d in data])
        sums = sum(p[0] for p in partials)
        weights = sum(p[1] for p in partials)
        new = m_step(halves, sums, weights, sphere_radius)  # an empty half stays put
        if np.array_equal(new, halves):
            break
        halves = new
    return halves


def _split_to_radius(parts, data, centres, n_iter, projection, max_radius_m, max_iter, lloyd,
                     compute, delayed, n_points):
    """Split clusters until every member is within ``max_radius_m`` (geodesic) of its
    centroid, as ``GeoKMeans._split_to_radius`` does in memory: each round splits every
    too-wide cluster in two, then reruns Lloyd on all points from the enlarged set of
    centres. k grows each round and cannot exceed the number of distinct points, so this
    ends. Returns (centres, n_iter, final stats)."""
    for n_rounds in range(n_points + 1):
        stats = _final_stats(parts(), data, centres, projection, compute, delayed)
        wide = np.flatnonzero(stats[5] > max_radius_m)
        if wide.size == 0:
            return centres, n_iter, stats
        check_radius_clusters(len(centres) + wide.size, max_radius_m, n_rounds + 1)
        halves = _split_wide(data, centres, wide, stats[7], projection.sphere_radius_m,
                             max_iter, compute, delayed)
        kept = np.delete(centres, wide, axis=0)
        centres = np.unique(np.concatenate([kept, halves]), axis=0)
        centres, n_iter = lloyd(np.ascontiguousarray(centres))
    return centres, n_iter, stats  # pragma: no cover - one point per cluster ends it earlier


def _label_partition(frame, projection, centres, lat, lon, dropna):
    """Labels (-1 where coordinates are missing) of an input partition, as a Series."""
    if len(frame) == 0:
        return pd.Series(np.empty(0, dtype=np.int32), index=frame.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoKMeansWarning)
        points = read_points(frame, lat=lat, lon=lon, dropna=dropna, keep_frame=False)
    labels = np.full(len(frame), -1, dtype=np.int32)
    labels[points.valid], _ = assign(projection.forward(points.lon, points.lat), centres)
    return pd.Series(labels, index=frame.index, name="cluster")


# -- the driver (runs on the client) -------------------------------------------------------


def _combine_extents(extents):
    dropped = [e[0] for e in extents]
    parts = [e[1] for e in extents if e[1] is not None]
    if not parts:
        raise InputError("input has no rows with coordinates: at least one point is required.")
    lon_min, lon_max, l360_min, l360_max, lat_min, lat_max, n = zip(*parts)
    plain = (min(lon_min), max(lon_max) - min(lon_min))
    shifted = (min(l360_min), max(l360_max) - min(l360_min))
    west, width = plain if plain[1] <= shifted[1] else shifted
    return (float(wrap_longitude(west)), width, min(lat_min), max(lat_max), int(sum(n)),
            int(sum(dropped)))


def _kmeans_parallel(data, totals, n_clusters, local_steps, rng, compute, persist, delayed):
    """k-means|| seeding with weights, then weighted k-means++ on the candidates."""
    target = rng.uniform() * totals.sum()
    part = int(np.searchsorted(np.cumsum(totals), target, side="right"))
    part = min(part, len(totals) - 1)
    offset = target - (np.cumsum(totals)[part - 1] if part else 0.0)
    candidates = compute(delayed(_pick)(data[part], offset))[0][None, :]
    closest = persist(*[delayed(_closest)(p, candidates) for p in data])
    oversampling = 2 * n_clusters
    for _ in range(KMEANS_PARALLEL_ROUNDS):
        cost = sum(compute(*[delayed(_cost)(p, c) for p, c in zip(data, closest)]))
        if cost <= 0:
            break
        seeds = rng.integers(0, 2**63, size=len(data))
        drawn = compute(*[delayed(_oversample)(p, c, oversampling / cost, int(s))
                          for p, c, s in zip(data, closest, seeds)])
        new = np.concatenate([np.empty((0, candidates.shape[1]))] + list(drawn))
        if len(new) == 0:
            continue
        closest = persist(*[delayed(_closest)(p, new, len(candidates), c)
                            for p, c in zip(data, closest)])
        candidates = np.concatenate([candidates, new])
    weights = sum(compute(*[delayed(_candidate_weights)(p, c, len(candidates))
                            for p, c in zip(data, closest)]))
    if (weights > 0).sum() < n_clusters:  # tiny inputs: every row is a candidate
        rows = [_unpack(r) for r in compute(*data)]
        candidates = np.concatenate([r[0] for r in rows])
        weights = np.concatenate([r[1] for r in rows])
    return init_kmeanspp(np.ascontiguousarray(candidates), weights, n_clusters, rng, local_steps)


def _reduce(partials, n_clusters, n_features):
    sums = np.zeros((n_clusters, n_features))
    weights = np.zeros(n_clusters)
    inertia, changed = 0.0, 0
    for s, w, i, c in partials:
        sums += s
        weights += w
        inertia += i
        changed += c
    return sums, weights, inertia, changed


def _relocate(far_parts, sums, weights, n_features):
    """Relocate empty clusters exactly as in memory, from the partitions' farthest rows
    (merged in decreasing distance, ties by partition then row: the global row order)."""
    far = [(-d, index, r, x, ww, lab, d)
           for index, (fx, fw, fl, fd, rows) in enumerate(far_parts)
           for x, ww, lab, d, r in zip(fx, fw, fl, fd, rows)]
    if not far:
        return
    far.sort(key=lambda t: (t[0], t[1], t[2]))
    X = np.array([t[3] for t in far]).reshape(-1, n_features)
    w = np.array([t[4] for t in far])
    labels = np.array([t[5] for t in far], dtype=np.int32)
    dist2 = np.array([t[6] for t in far])
    relocate_empty_clusters(X, w, labels, dist2, sums, weights)


def _lloyd(data, centres, max_iter, tol, sphere_radius, compute, persist, delayed, callback):
    """Lloyd's iterations as in ``core._lloyd.hamerly`` (hence ``lloyd``), one map-reduce
    each; the per-row bounds stay in the workers' memory between iterations."""
    import operator

    n_clusters, n_features = centres.shape
    states = [None] * len(data)
    shift = None
    iteration = 0
    for iteration in range(1, max_iter + 1):
        tasks = persist(*[delayed(_iteration)(p, s, centres, shift, callback is not None)
                          for p, s in zip(data, states)])
        partials = compute(*[delayed(operator.getitem)(t, 1) for t in tasks])
        states = [delayed(operator.getitem)(t, 0) for t in tasks]
        sums, weights, inertia, changed = _reduce(partials, n_clusters, n_features)
        if callback is not None:
            callback(iteration, inertia)
        if (weights <= 0).any():
            far = compute(*[delayed(_far_rows)(p, s, centres, n_clusters)
                            for p, s in zip(data, states)])
            _relocate(far, sums, weights, n_features)
        new = m_step(centres, sums, weights, sphere_radius)
        moved = new - centres
        total_shift = float((moved**2).sum())
        shift = np.sqrt((moved**2).sum(axis=1)) * (1.0 + 1e-9)
        centres = new
        if iteration > 1 and changed == 0:
            break
        if total_shift <= tol:
            break
    return centres, iteration


def _projection(params, extent):
    west, width, lat_min, lat_max = extent[:4]
    crs = params["crs"]
    if isinstance(crs, str) and crs.lower() == "auto":
        return auto_projection(west, width, lat_min, lat_max)
    projection = choose_projection(None, None, crs)
    check_area_of_use(projection, west, width, lat_min, lat_max)
    return projection


def _local_steps(params):
    """LocalSearch++ steps for a dask fit, refused (before any data are read) where
    they are not available."""
    from .core._estimator import resolve_local_search

    init = params["init"]
    local_steps = resolve_local_search(params["local_search"], init, params["n_clusters"])
    if local_steps and not (isinstance(init, str) and init == "k-means++"):
        raise InputError(f"local_search={local_steps} is available for dask inputs only with "
                         "init='k-means++' (it refines the k-means|| seeds); use "
                         "local_search='auto' or 0.")
    return local_steps


def _seeds(params, data, extent, totals, projection, rng, compute, persist, delayed):
    """``(n_runs, seedings)``: the number of seedings (``n_init`` as in memory) and an
    iterator drawing each (k, d) set of projected seeds when it is needed."""
    from .core._estimator import resolve_n_init

    n_clusters, init = params["n_clusters"], params["init"]
    local_steps = _local_steps(params)
    n_runs = resolve_n_init(params["n_init"], init)
    if not isinstance(init, str):
        if n_runs != 1:  # as KMeans does in memory
            warnings.warn(f"Explicit initial centres given: n_init={n_runs} ignored, 1 run done.",
                          RuntimeWarning, stacklevel=4)
        return 1, iter([projection.forward(init[:, 0], init[:, 1])])
    if init == "random":
        return n_runs, (_init_random(data, n_clusters, rng, compute, delayed)
                        for _ in range(n_runs))
    if init == "bbox":
        west, width, lat_min, lat_max = extent[:4]
        box = params["bbox"] or LonLatBox(west, lat_min, float(wrap_longitude(west + width)),
                                          lat_max)
        return n_runs, (projection.forward(*sample_bbox(box, n_clusters, rng))
                        for _ in range(n_runs))
    return n_runs, (_kmeans_parallel(data, totals, n_clusters, local_steps, rng, compute, persist,
                                     delayed) for _ in range(n_runs))


def _inertia(data, centres):
    X, w = _unpack(data)
    return float((w * assign(X, centres)[1]).sum()) if len(X) else 0.0


def fit_dask(model, data, sample_weight=None, params=None):
    """Fit ``model`` (a GeoKMeans) on a dask collection; see the module docstring.

    ``params`` are the model's checked parameters (``GeoKMeans._validated``; checked
    here, before any partition is read, when not given). Sets the same attributes as an
    in-memory fit, except ``labels_`` and ``distances_m_``: ``labels_`` is a lazy dask
    Series aligned with the input's partitions (-1 for skipped rows) and
    ``distances_m_`` is not computed. Weights are scaled as in memory (by a power of
    two, exactly), so weights near the float64 limit give finite results.
    """
    _require_dask()
    import dask

    from .core._estimator import KMeans, _unscaled_inertia

    params = model._validated() if params is None else params
    _local_steps(params)
    if sample_weight is not None and not isinstance(sample_weight, str):
        raise InputError("for dask inputs give weights as a column name (sample_weight='pop').")
    frame = _as_frame(data)
    delayed = dask.delayed
    compute = dask.compute
    persist = dask.persist
    partitions = frame.to_delayed()
    # one pass gives the row counts (for row numbers across the whole input) and extents
    try:
        scans = compute(*[delayed(_scan)(p, model.lat, model.lon, sample_weight, model.dropna)
                          for p in partitions])
    except GeoKMeansError:
        raise
    except _reader_errors() as exc:  # a file of the input cannot be parsed
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not read the input's partitions: {message}") from None
    offsets = np.concatenate([[0], np.cumsum([scan[0] for scan in scans])[:-1]]).astype(int)

    def read_all():  # lazily: partitions are read again where needed, never all kept
        return [delayed(_read)(p, int(o), model.lat, model.lon, sample_weight, model.dropna)
                for p, o in zip(partitions, offsets)]

    failed = [i for i, scan in enumerate(scans) if isinstance(scan[1], str)]
    if failed:  # the first bad partition, read again with its row offset, raises
        first = failed[0]
        compute(delayed(_read)(partitions[first], int(offsets[first]), model.lat, model.lon,
                               sample_weight, model.dropna, sum(scan[2] for scan in scans)))
        raise InputError(f"partition {first} could not be read.")  # pragma: no cover
    extent = _combine_extents([scan[1] for scan in scans])
    n_points, n_dropped = extent[4], extent[5]
    n_clusters = params["n_clusters"]
    if n_points < n_clusters:
        raise InputError(f"n_samples={n_points} should be >= n_clusters={n_clusters}: there are "
                         "fewer points than clusters.")
    if n_dropped:
        warnings.warn(f"skipped {n_dropped} rows with missing coordinates.", GeoKMeansWarning,
                      stacklevel=3)
    max_radius_m = params["max_radius_m"]
    projection = _projection(params, extent)
    scale = power_of_two_scale(max(scan[3] for scan in scans))
    data = persist(*[delayed(_project)(p, projection, scale) for p in read_all()])
    rng = make_rng(params["random_state"])
    totals = np.array(compute(*[delayed(_weight_total)(p) for p in data]))
    if sample_weight is not None and not np.isfinite(totals.sum() * scale):
        raise InputError(f"weight column {sample_weight!r} sums to more than float64 can hold "
                         "(about 1.8e308); divide the weights by a constant (the clustering "
                         "does not change).")
    n_runs, seedings = _seeds(params, data, extent, totals, projection, rng, compute, persist,
                              delayed)
    max_iter, tol = params["max_iter"], params["tol"]
    variance = _mean_variance(data, compute, delayed)
    best = None
    for run, centres in enumerate(seedings):
        if projection.sphere_radius_m is not None:
            project_to_sphere(centres, projection.sphere_radius_m)
        callback = KMeans._log_iteration(run) if model.verbose else None
        centres, n_iter = _lloyd(data, np.ascontiguousarray(centres), max_iter, variance * tol,
                                 projection.sphere_radius_m, compute, persist, delayed, callback)
        if n_runs == 1:
            best = (centres, n_iter)
            break
        inertia = sum(compute(*[delayed(_inertia)(d, centres) for d in data]))
        if best is None or inertia < best[2]:
            best = (centres, n_iter, inertia)
        log_restart(run + 1, n_runs, inertia)
    centres, n_iter = best[:2]
    if max_radius_m is None:
        stats = _final_stats(read_all(), data, centres, projection, compute, delayed)
    else:
        def lloyd(start):
            return _lloyd(data, start, max_iter, variance * tol, projection.sphere_radius_m,
                          compute, persist, delayed, None)

        centres, n_iter, stats = _split_to_radius(read_all, data, centres, n_iter, projection,
                                                  max_radius_m, max_iter, lloyd, compute,
                                                  delayed, n_points)
    centre_lon, centre_lat, counts, weights, weighted, maximum, inertia, _ = stats
    table = cluster_table_from_sums(counts, weights, weighted, maximum)
    table["weight"] = table["weight"] * scale
    model._set_fitted(projection, centres, centre_lon, centre_lat, table,
                      _unscaled_inertia(inertia, scale), n_iter, n_dropped)
    model.labels_ = label_partitions(frame, projection, centres, model.lat, model.lon,
                                     model.dropna)
    model.distances_m_ = None
    return model


def _mean_variance(data, compute, delayed):
    """mean(var(X, axis=0)) from per-partition counts, sums and sums of squares."""
    moments = compute(*[delayed(_moments)(p) for p in data])
    n = sum(m[0] for m in moments)
    s = sum(m[1] for m in moments if m[0])
    sq = sum(m[2] for m in moments if m[0])
    mean = s / n
    return float(np.mean(sq / n - mean**2))


def _hull_partition(frame, centre_lon, centre_lat, lat, lon, label_column="cluster"):
    """The hull-vertex rows of a labelled partition: a DataFrame of lon, lat, cluster."""
    labels = frame[label_column].to_numpy()
    keep = labels >= 0
    if not keep.any():
        return pd.DataFrame({"lon": np.empty(0), "lat": np.empty(0),
                             "cluster": np.empty(0, dtype=labels.dtype)})
    points = read_points(frame[keep], lat=lat, lon=lon, keep_frame=False)
    labels = labels[keep]
    rows = hull_vertex_rows(points.lon, points.lat, labels, centre_lon, centre_lat)
    return pd.DataFrame({"lon": points.lon[rows], "lat": points.lat[rows],
                         "cluster": labels[rows]})


def hulls_of(result):
    """Convex hulls (k,) of a dask result's clusters, equal to ``cluster_hulls`` of all
    its points: each partition sends only its hull-vertex rows, whose hulls are the same."""
    import dask

    model = result.model
    centre_lon, centre_lat = model.cluster_centers_[:, 0], model.cluster_centers_[:, 1]
    frames = dask.compute(*[dask.delayed(_hull_partition)(p, centre_lon, centre_lat, model.lat,
                                                          model.lon, result.label_column)
                            for p in result.points.to_delayed()])
    vertices = pd.concat(frames, ignore_index=True)
    return cluster_hulls(vertices.lon.to_numpy(), vertices.lat.to_numpy(),
                         vertices.cluster.to_numpy(), centre_lon, centre_lat)


def _sample_partition(frame, rate, seed, label_column="cluster", partition_info=None):
    """Rows of a labelled partition kept with probability ``rate[cluster]``."""
    labels = frame[label_column].to_numpy()
    number = 0 if partition_info is None else partition_info["number"]
    draws = np.random.default_rng([seed, number]).uniform(size=len(labels))
    kept = (labels >= 0) & (draws < rate[np.maximum(labels, 0)])
    return frame[kept]


def sample_points(result, quota, random_state=0):
    """An in-memory per-cluster sample of a dask result's labelled points.

    Each partition keeps a row of cluster j with probability ``quota[j] / size[j]`` (a
    little more, so that the map's own sampling trims to the quota), with a seed made
    from ``random_state`` and the partition number. Returns a GeoDataFrame in
    EPSG:4326 with the input's columns and the labels (``result.label_column``); rows
    without coordinates never
    appear.
    """
    import geopandas as gpd

    sizes = result.centroids.n_points.to_numpy().astype(float)
    rate = np.minimum(1.0, 1.1 * np.asarray(quota, float) / np.maximum(sizes, 1.0))
    seed = int(np.random.default_rng(random_state).integers(2**63))
    frame = result.points
    sample = frame.map_partitions(_sample_partition, rate, seed, result.label_column,
                                  meta=frame._meta).compute()
    if isinstance(sample, gpd.GeoDataFrame):
        return sample if sample.crs is None or sample.crs.equals("EPSG:4326") \
            else sample.to_crs(4326)
    model = result.model
    points = read_points(sample, lat=model.lat, lon=model.lon, dropna=True)
    return points.frame


def label_partitions(frame, projection, centres, lat, lon, dropna):
    """A lazy dask Series of labels aligned with ``frame``'s partitions."""
    return frame.map_partitions(_label_partition, projection, centres, lat, lon, dropna,
                                meta=pd.Series(dtype=np.int32, name="cluster"))
