"""Point inputs as engine sources: rows in this process, or partitions on Dask.

``read`` turns any input the model accepts into *points*: an object that knows the
input's size and extent, projects its rows into an engine source (``core._source``)
and gives labels and distances back in the input's row order. ``MemoryPoints`` wraps
what ``io.read_points`` reads; dask collections become ``distributed.DaskPoints``
(imported only when one is given). The model is written against this interface only,
so the fit is the same code for both.
"""

import numpy as np

from ._gps import count_duplicates, count_null_island, in_box
from ._partitioned import is_dask_collection
from ._validation import power_of_two_scale
from .core._driver import final_labels
from .core._source import ArraySource, unit_weights
from .io import read_points
from .projection import combine_extents, partial_extent

__all__ = ["MemoryPoints", "input_files", "is_lazy", "lazy_hulls", "lazy_sample", "read"]


def is_lazy(data):
    """True for dask arrays, dask DataFrames and dask_geopandas GeoDataFrames."""
    return is_dask_collection(data)


def read(data, *, lat=None, lon=None, weight=None, dropna=False, params=None,
         before_read=None):
    """Points of ``data`` (see ``io.read_points`` for the forms accepted in memory).

    ``params`` are the model's checked parameters: for a dask input the options it
    cannot honour are refused here, before any partition is read, and so is what its
    column names and dtypes settle (``io.check_columns``); ``before_read(meta)`` (dask
    inputs only) then checks more of the frame's empty ``_meta`` before the read.
    """
    if is_lazy(data):
        from .distributed import DaskPoints

        return DaskPoints(data, lat=lat, lon=lon, weight=weight, dropna=dropna, params=params,
                          before_read=before_read)
    return MemoryPoints(read_points(data, lat=lat, lon=lon, weight=weight, dropna=dropna,
                                    keep_frame=False))


def input_files(data):
    """The files and directories a dask collection's graph reads (protected from
    outputs); see ``_partitioned.source_paths``."""
    from ._partitioned import source_paths

    return source_paths(data)


def lazy_hulls(result):
    """Convex hulls of a dask result's clusters (``distributed.hulls_of``)."""
    from .distributed import hulls_of

    return hulls_of(result)


def lazy_sample(result, quota, random_state=0):
    """A per-cluster in-memory sample of a dask result (``distributed.sample_points``)."""
    from .distributed import sample_points

    return sample_points(result, quota, random_state)


class MemoryPoints:
    """Points read into this process (an ``io.PointData``)."""

    def __init__(self, points):
        self.points = points
        self.n_points = len(points.lon)
        self.n_dropped = points.n_dropped
        self.weighted = points.weights is not None
        self.n_null_island = count_null_island(points.lon, points.lat)

    def count_duplicates(self):
        """Points repeating the exact (lon, lat) of an earlier one (``_gps``)."""
        return count_duplicates(self.points.lon, self.points.lat)

    def count_in_box(self, box):
        """How many points lie in ``box`` (a ``model.LonLatBox``)."""
        return int(np.count_nonzero(in_box(self.points.lon, self.points.lat, box.west_lon_deg,
                                           box.south_lat_deg, box.east_lon_deg,
                                           box.north_lat_deg)))

    def extent(self):
        """``(west, width, lat_min, lat_max)`` (see ``projection.combine_extents``)."""
        return combine_extents([partial_extent(self.points.lon, self.points.lat)])

    def weight_scale(self):
        """The power of two dividing the weights (``_validation.power_of_two_scale``)."""
        weights = self.points.weights
        return 1.0 if weights is None else power_of_two_scale(weights)

    def project(self, projection, scale):
        """An ``ArraySource`` of the projected rows, weights divided by ``scale``."""
        p = self.points
        X = np.ascontiguousarray(projection.forward(p.lon, p.lat))
        weights = unit_weights(len(p.lon)) if p.weights is None else p.weights / scale
        return ArraySource(X, weights, p.lon, p.lat)

    def labels_and_distances(self, source, projection, centres, centre_lon, centre_lat,
                             renumber=None):
        """Labels (int32, -1 for skipped rows) and geodesic distances in metres (NaN
        there) of every input row, from the source's states ``"best"`` and
        ``"distances"`` (left by the final statistics); ``renumber[j]`` (optional) is the
        number given to cluster ``j`` of ``centres``."""
        valid = self.points.valid
        labels = np.full(len(valid), -1, dtype=np.int32)
        labels[valid] = final_labels(source) if renumber is None else renumber[
            final_labels(source)]
        distances = np.full(len(valid), np.nan)
        parts = source.states("distances")
        if valid.all():  # joined straight into the result, without a temporary
            np.concatenate(parts, out=distances)
        else:
            distances[valid] = np.concatenate(parts)
        return labels, distances
