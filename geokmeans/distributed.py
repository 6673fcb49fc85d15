"""The Dask source: the engine's functions mapped over partitions kept on the workers.

``sources.read`` hands dask inputs (a ``dask_geopandas`` GeoDataFrame, a dask
DataFrame with lat/lon columns, a dask array of (lon, lat)) to ``DaskPoints``. Each
partition is read once with the in-memory reader (same checks, same messages, rows
numbered across the whole input) and kept on the workers; its extent and weights are
summarised from there, the projection is chosen from the combined extent, and each
partition is projected where it lives. The fit itself is the model's, through
``DaskSource`` (``_dask_source``): every map of the driver (``core._driver``), the
seeding plans (``core._plans``: k-means|| for k-means++), split-to-radius and the final
statistics is one task per group of partitions (one group per worker thread), and
per-partition states (Hamerly's bounds, labels, distances) stay on the workers. Labels
and distances of the input rows are lazy Series computed partition by partition. With a
``distributed.Client`` active the work runs on its cluster; otherwise on dask's local
scheduler.
"""

import ctypes
import re
import sys
import warnings

import numpy as np
import pandas as pd

from ._dask_source import DaskSource
from ._gps import count_null_island, in_box
from ._partitioned import (  # noqa: F401 - the public names of reading in pieces
    _require_dask,
    input_paths,
    is_dask_collection,
    is_partitioned_path,
    read_partitioned,
    source_paths,
)
from ._validation import ALL_ZERO_WEIGHTS, power_of_two_scale
from .core import assign
from .core._kernels._threads import single_threaded
from .core._source import Chunk, unit_weights
from .errors import (
    DataTypeError,
    GeoKMeansError,
    GeoKMeansWarning,
    InputError,
    first_line,
)
from .io import check_columns, coordinate_columns, read_points
from .projection import combine_extents, partial_extent
from .stats import cluster_hulls, geodesic_distances_m, hull_vertex_rows

__all__ = [
    "DaskPoints",
    "DaskSource",
    "as_dask_frame",
    "hulls_of",
    "input_paths",
    "is_dask_collection",
    "is_partitioned_path",
    "read_partitioned",
    "sample_points",
    "source_paths",
]

def as_dask_frame(data):
    """A dask DataFrame (or dask_geopandas GeoDataFrame) for any dask input."""
    return _as_frame(data)


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
            raise InputError("a dask array of points must have shape (n, 2) of (lon, lat); got "
                             f"{data.shape}.")
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
                             n_missing_total=n_missing_total, purpose="part")
    return points.lon, points.lat, points.weights, points.n_dropped


def _release_freed_memory():
    """Hand the memory a partition's read freed back to the operating system.

    pyarrow's allocator (mimalloc or jemalloc) and glibc's malloc keep freed pages for
    reuse; a Dask worker's memory manager counts them as the worker's own (unmanaged
    memory) and, near its limit, spills the persisted partitions to disk to make room,
    after which every iteration reads them back. Reading decodes a Parquet table and
    builds a pandas frame per partition, the largest transient allocations of a fit."""
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)  # glibc; other C libraries lack it
        except (AttributeError, OSError):  # pragma: no cover - e.g. musl
            pass


def _read_partition(frame, lat, lon, weight, dropna):
    """``(n_rows, part or None, n_missing)``: the partition read with row numbers from 0
    (``part`` is ``(lon, lat, weights, n_dropped)``), or None when reading failed, with
    its count of rows with missing coordinates for the message of the re-read."""
    _release_freed_memory()  # the frames of the partitions read before
    try:
        return len(frame), _read(frame, 0, lat, lon, weight, dropna), 0
    except GeoKMeansError:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", GeoKMeansWarning)
                n_missing = _read(frame, 0, lat, lon, weight, True)[3]
        except GeoKMeansError:
            n_missing = 0
        return len(frame), None, n_missing


def _summary(read):
    """``(n_rows, failed, n_missing, extent, n_dropped, max weight, points at (0, 0))``
    of a read."""
    n_rows, part, n_missing = read
    if part is None:
        return n_rows, True, n_missing, None, 0, 0.0, 0
    lon, lat, weights, n_dropped = part
    top = 1.0 if weights is None else (float(weights.max()) if weights.size else 0.0)
    return (n_rows, False, 0, partial_extent(lon, lat), n_dropped, top,
            count_null_island(lon, lat))


def _count_in_box(read, west, south, east, north):
    lon, lat = read[1][0], read[1][1]
    return int(np.count_nonzero(in_box(lon, lat, west, south, east, north)))


def _project(read, projection, scale, index, first_row):
    """The partition's ``Chunk``: projected rows and weights / scale (lon/lat are not
    kept: statistics get them back from the projection, to save workers' memory)."""
    lon, lat, weights, _ = read[1]
    X = projection.forward(lon, lat) if lon.size else np.empty((0, projection.n_dims))
    weights = unit_weights(lon.size) if weights is None else weights / scale
    chunk = Chunk(np.ascontiguousarray(X), weights, index=index, first_row=first_row)
    del X, lon, lat
    _release_freed_memory()  # the projection's temporaries
    return chunk


def _labelled_partition(frame, projection, centres, centre_lon, centre_lat, lat, lon, dropna,
                        renumber=None):
    """Labels (-1 where coordinates are missing) and geodesic distances (NaN there) of an
    input partition, as a DataFrame of columns ``cluster`` and ``distance_m``; cluster
    ``j`` of ``centres`` is numbered ``renumber[j]`` (when given)."""
    labels = np.full(len(frame), -1, dtype=np.int32)
    distances = np.full(len(frame), np.nan)
    if len(frame):
        with single_threaded():
            _label_rows(frame, projection, centres, centre_lon, centre_lat, lat, lon, dropna,
                        renumber, labels, distances)
    return pd.DataFrame({"cluster": labels, "distance_m": distances}, index=frame.index)


def _label_rows(frame, projection, centres, centre_lon, centre_lat, lat, lon, dropna, renumber,
                labels, distances):
    """Fill ``labels`` and ``distances`` (one per row of ``frame``) in place."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoKMeansWarning)
        points = read_points(frame, lat=lat, lon=lon, dropna=dropna, keep_frame=False,
                             purpose="part")
    own = assign(projection.forward(points.lon, points.lat), centres)[0]
    labels[points.valid] = own if renumber is None else renumber[own]  # OUT
    distances[points.valid] = geodesic_distances_m(points.lon, points.lat,  # OUT
                                                   centre_lon[own], centre_lat[own])


class DaskPoints:
    """A dask input read once into partitions kept on the workers (see the module
    docstring); the points interface of ``sources``."""

    def __init__(self, data, *, lat=None, lon=None, weight=None, dropna=False, params=None,
                 before_read=None):
        _require_dask()
        import dask

        _check_params(params, weight)
        self.frame = _as_frame(data)
        # what the column names and dtypes settle is refused before any partition is read
        check_columns(self.frame._meta, lat=lat, lon=lon, weight=weight)
        if before_read is not None:
            before_read(self.frame._meta)
        self.lat, self.lon, self.dropna = lat, lon, dropna
        partitions = _columns_read(self.frame, lat, lon, weight).to_delayed()
        reads, summaries = _read_all(partitions, lat, lon, weight, dropna)
        failed = [i for i, s in enumerate(summaries) if s[1]]
        if failed:  # the first bad partition, read again with its row offset, raises
            first = failed[0]
            offset = int(sum(s[0] for s in summaries[:first]))
            dask.compute(dask.delayed(_read)(partitions[first], offset, lat, lon, weight,
                                             dropna, sum(s[2] for s in summaries)))
            raise InputError(f"partition {first} could not be read.")  # pragma: no cover
        extents = [s[3] for s in summaries]
        if all(e is None for e in extents):
            raise InputError("every row has missing coordinates: nothing to cluster.")
        self._reads = reads
        self._extent = combine_extents(extents)
        counts = self._sizes = [0 if e is None else int(e[6]) for e in extents]
        self._first_rows = np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
        self.n_points = int(sum(counts))
        self.n_dropped = int(sum(s[4] for s in summaries))
        self._max_weight = max(s[5] for s in summaries)
        if weight is not None and not self._max_weight > 0:  # each part may be all zero
            raise InputError(f"weight column {weight!r}: {ALL_ZERO_WEIGHTS}")
        self.n_null_island = int(sum(s[6] for s in summaries))
        self._weight = weight
        self.weighted = weight is not None
        if self.n_dropped:
            warnings.warn(f"skipped {self.n_dropped} rows with missing coordinates.",
                          GeoKMeansWarning, stacklevel=4)

    def extent(self):
        return self._extent

    def count_duplicates(self):
        """None: duplicates across partitions are not counted (a shuffle of them all)."""
        return None

    def count_in_box(self, box):
        """How many points lie in ``box`` (a ``model.LonLatBox``): one task per read
        partition (before ``project`` releases them)."""
        import dask

        corners = (box.west_lon_deg, box.south_lat_deg, box.east_lon_deg, box.north_lat_deg)
        return int(sum(dask.compute(*[dask.delayed(_count_in_box)(r, *corners)
                                      for r in self._reads])))

    def weight_scale(self):
        return power_of_two_scale(self._max_weight)

    def project(self, projection, scale):
        """A ``DaskSource`` of the projected partitions (persisted; the reads they came
        from are released)."""
        import dask

        chunks = dask.persist(*[dask.delayed(_project)(r, projection, scale, i, first)
                                for i, (r, first) in enumerate(zip(self._reads,
                                                                   self._first_rows,
                                                                   strict=True))])
        self._reads = None
        source = DaskSource(list(chunks), projection.n_dims, self._sizes)
        if self._weight is not None:
            from .core._chunks import weight_total

            if not np.isfinite(sum(source.map(weight_total)) * scale):
                raise InputError(f"weight column {self._weight!r} sums to more than float64 "
                                 "can hold (about 1.8e308); divide the weights by a constant "
                                 "(the clustering does not change).")
        return source

    def labels_and_distances(self, source, projection, centres, centre_lon, centre_lat,
                             renumber=None):
        """Lazy dask Series of labels and distances aligned with the input's partitions
        (cluster ``j`` of ``centres`` numbered ``renumber[j]`` when given)."""
        meta = pd.DataFrame({"cluster": pd.Series(dtype=np.int32),
                             "distance_m": pd.Series(dtype=np.float64)})
        both = self.frame.map_partitions(_labelled_partition, projection, centres, centre_lon,
                                         centre_lat, self.lat, self.lon, self.dropna, renumber,
                                         meta=meta)
        return both["cluster"], both["distance_m"]


def _columns_read(frame, lat, lon, weight):
    """``frame`` reduced to the columns a fit reads (lon, lat or the geometry, and the
    weight column), so that a Parquet input decodes only those: the other columns
    (an AIS record has six or more) are read later, for the labelled output only. The
    whole frame when its column names alone do not settle what ``read_points`` reads
    (it then raises, naming the row, or finds what the names did not tell)."""
    meta = frame._meta
    try:
        columns = coordinate_columns(meta, lat=lat, lon=lon)
    except GeoKMeansError:
        return frame
    if columns is None:  # the points of a GeoDataFrame's geometry
        columns = (meta._geometry_column_name,)
    elif columns[0] == columns[1] or "geometry" in meta.columns:
        return frame  # refused by read_points, with its message
    if weight is not None and weight not in meta.columns:
        return frame
    names = list(dict.fromkeys(columns + (() if weight is None else (weight,))))
    return frame[names]


def _read_all(partitions, lat, lon, weight, dropna):
    """Every partition read (persisted) and its ``_summary``; a file that cannot be
    parsed is a bad input (raised by ``persist`` on a local scheduler, by ``compute`` on
    a cluster)."""
    import dask

    try:
        reads = dask.persist(*[dask.delayed(_read_partition)(p, lat, lon, weight, dropna)
                               for p in partitions])
        return reads, list(dask.compute(*[dask.delayed(_summary)(r) for r in reads]))
    except GeoKMeansError:
        raise
    except _reader_errors() as exc:
        mismatch = _dtype_mismatch(str(exc))
        if mismatch is not None:
            raise mismatch from None
        message = first_line(exc)
        raise InputError(f"could not read the input's partitions: {message}") from None


_MISMATCH_ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(\S+)\s*\|\s*(\S+)\s*\|$")
_CONVERSION = re.compile(r"^- (.+)\n\s+\w+\((['\"])(.*)\2\)$", re.MULTILINE)


def _dtype_mismatch(message):
    """The error for dask's "Mismatched dtypes found in pd.read_csv" (a column whose type
    dask guessed from the first rows changes in a later part), naming the first column:
    text in a numeric column is a ``DataTypeError``, as in memory; another type an
    ``InputError`` saying how to read it. None for any other message."""
    if not message.startswith("Mismatched dtypes found"):
        return None
    rows = [m.groups() for m in map(_MISMATCH_ROW.match, message.splitlines())
            if m is not None and m.group(1) != "Column"]
    if not rows:
        return None
    column, found, expected = rows[0]
    failures = {name: text for name, _, text in _CONVERSION.findall(message)}
    if column in failures or found in ("object", "str", "string"):
        detail = f" ({failures[column]})" if column in failures else ""
        return DataTypeError(f"column {column!r} must be numeric: a part of the input after the "
                             f"first holds text{detail}.")
    return InputError(f"column {column!r} changes type between the input's parts: {expected} "
                      f"in the rows dask sampled, {found} in a later part; read the files "
                      f"with dtype={{{column!r}: 'float64'}}.")


def _check_params(params, weight):
    """Refuse, before any partition is read, what a dask input cannot honour."""
    if weight is not None and not isinstance(weight, str):
        raise InputError("for dask inputs give weights as a column name (sample_weight='pop').")
    if params is None:
        return
    if any(params.get(name) is not None for name in ("size_min", "size_max", "fixed_centers")):
        raise InputError("size_min, size_max and fixed_centers are not available for dask "
                         "inputs yet (the size-limited assignment needs every point in one "
                         "process); compute() the frame first, or fit without them.")


# -- results of dask inputs -----------------------------------------------------------------


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
