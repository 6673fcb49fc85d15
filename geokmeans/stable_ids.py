"""Cluster IDs that persist across runs: a result's clusters matched to a reference's, and
new points labelled with saved centroids (read back by ``_saved_centroids``).

A centroids table is what ``ClusterResult.centroids`` holds and what the writers write
(``--centroids``, ``to_file(..., which="centroids")``): one point per cluster and its id
in the column ``cluster``. The projection of the fit that made it is recorded with the
file (``crs_used`` in the GeoJSON member ``"geokmeans"``, the GeoPackage layer metadata
or the Parquet schema metadata; ``crs_used_wkt`` too for a CRS without an EPSG code).
A CSV, or a table given as a frame, records none: the projection is then chosen from the
centroids by the same ``"auto"`` rule as a fit (a UTM zone when they fit one, else the
sphere).

Centroids of a grouped run (``cluster(..., by=column)``; the file's run facts name
``by``, a grouped ``ClusterResult`` says so itself) carry the group column: new points
are then matched within their own group only, each group in its own fit's projection
(recorded per group in the run facts' ``groups``; else the ``"auto"`` rule on that
group's centroids). ``relabel`` of a grouped result matches clusters within the same
group value only.
"""

import warnings

import numpy as np

from . import _output, io
from ._columns import row_name
from ._partitioned import is_dask_collection
from ._saved_centroids import MAX_ID, SavedCentroids, centroids_of, group_key, read_centroids
from ._validation import check_params
from .core import nearest_centre
from .errors import DataTypeError, GeoKMeansWarning, InputError
from .stats import GEOD, geodesic_distances_m

__all__ = ["SavedCentroids", "assign", "assign_points", "centroids_of", "match_ids",
           "match_ids_by_group", "read_centroids", "write_points"]


def match_ids(lon, lat, reference):
    """The id of each cluster (k,) int64 whose centroids are ``lon``/``lat`` (k,), from
    the ``reference`` (``SavedCentroids``): an optimal assignment (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``) minimising the summed geodesic distance
    (WGS84) between matched centroids. With more clusters than the reference, the
    unmatched ones get new ids above the largest reference id, in their order here;
    with fewer, every cluster gets a reference id and the unmatched reference ids are
    not used.

    >>> ref = SavedCentroids(np.array([4, 9]), np.array([0.0, 10.0]), np.array([0.0, 0.0]),
    ...                      None, None, "ref")
    >>> match_ids(np.array([10.1, 5.0, 0.1]), np.array([0.0, 40.0, 0.0]), ref).tolist()
    [9, 10, 4]
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    ids = _assignment(lon, lat, reference, np.arange(reference.ids.size))
    return _new_ids(ids, reference)


def _assignment(lon, lat, reference, rows):
    """The reference id (among its ``rows``) of each centroid ``lon``/``lat`` (k,) by the
    optimal assignment on geodesic distance; -1 for those left unmatched."""
    from scipy.optimize import linear_sum_assignment

    k, m = lon.size, rows.size
    ids = np.full(k, -1, dtype=np.int64)
    if k == 0 or m == 0:
        return ids
    pairs = np.repeat(np.arange(k), m)
    cols = np.tile(rows, k)
    cost = np.asarray(GEOD.inv(lon[pairs], lat[pairs], reference.lon[cols],
                               reference.lat[cols])[2], dtype=np.float64).reshape(k, m)
    matched, to = linear_sum_assignment(cost)
    ids[matched] = reference.ids[rows[to]]
    return ids


def _new_ids(ids, reference):
    """``ids`` with those left unmatched (-1) numbered above the reference's largest id,
    in their order."""
    new = np.flatnonzero(ids < 0)
    ids[new] = int(reference.ids.max()) + 1 + np.arange(new.size)
    if ids.max() > MAX_ID:
        raise InputError(f"{reference.name}: new cluster ids would exceed {MAX_ID}.")
    return ids


def _shown(key):
    return repr(key[1]) if key is not None else "missing"


def match_ids_by_group(lon, lat, groups, reference, by):
    """``match_ids`` of a grouped result: the centroids ``lon``/``lat`` (k,) of group
    values ``groups`` (k,) are matched to the reference's clusters of the same value of
    column ``by`` only (an optimal assignment per group); clusters left unmatched (and
    those of a group the reference lacks) get new ids above the reference's largest, in
    their order here, so ids stay unique across the result. The reference must have the
    column ``by``."""
    theirs = [group_key(v) for v in reference.group_values(
        by, f"matching the clusters of a result grouped by {by!r} needs each reference "
            "cluster's group")]
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    mine = [group_key(v) for v in groups]
    ids = np.full(lon.size, -1, dtype=np.int64)
    for key in dict.fromkeys(mine):
        rows = np.flatnonzero([g == key for g in mine])
        ref_rows = np.flatnonzero([g == key for g in theirs])
        ids[rows] = _assignment(lon[rows], lat[rows], reference, ref_rows)
    return _new_ids(ids, reference)


def assign(points, centroids, *, lat=None, lon=None, dropna=False, label_column="cluster",
           distance_column="distance_m"):
    """Label points with saved centroids: each point gets the id of its nearest centroid
    in the fit's projection (the one recorded with the centroids; see the module notes),
    as ``GeoKMeans.predict`` would, keeping the saved ids.

    Centroids of a grouped run (``cluster(..., by=column)``: a grouped result, or a file
    whose run facts name ``by``) are matched within each point's own group: the points
    need that column, every group value they hold must have centroids, and each group
    uses its own fit's projection (the one recorded for it; else the ``"auto"`` rule on
    its centroids).

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries, DataFrame, path or (n, 2) array of (lon, lat)
        Any input ``geokmeans.cluster`` reads.
    centroids : path, GeoDataFrame or ClusterResult
        Centroids with a ``cluster`` column, as ``--centroids`` / ``to_file(...,
        which="centroids")`` write them, or a result (its centroids and projection).
    lat, lon : str, optional
        The points' coordinate columns (detected when omitted).
    dropna : bool, default False
        Rows without coordinates (or, for grouped centroids, without a group value): an
        error naming the row, or (``True``) labelled -1 with a warning.
    label_column, distance_column : str
        The added columns: the cluster id and the geodesic distance (m) to its
        centroid. The input having a column of either name is an error.

    Returns
    -------
    GeoDataFrame
        The input rows (columns, index and geometry kept) plus the two columns.

    Examples
    --------
    >>> import geokmeans as gk
    >>> result = gk.cluster("data/dc_places.csv", 4, random_state=0)
    >>> labelled = gk.assign("data/dc_places.csv", result)
    >>> bool((labelled.cluster == result.points.cluster).all())
    True
    """
    return assign_points(points, centroids, lat=lat, lon=lon, dropna=dropna,
                         label_column=label_column, distance_column=distance_column)[0]


def assign_points(points, centroids, *, lat=None, lon=None, dropna=False,
                  label_column="cluster", distance_column="distance_m"):
    """``assign``, returning ``(frame, the points' (lon, lat) columns or None, the
    SavedCentroids, the name of the projection used)`` (``"per group"`` when the groups
    of grouped centroids used different ones)."""
    check_params({"lat": lat, "lon": lon, "dropna": dropna, "label_column": label_column,
                  "distance_column": distance_column})
    if is_dask_collection(points):
        raise DataTypeError("assign takes points in memory: compute() the dask collection "
                            "first.")
    saved = centroids_of(centroids)
    if label_column == distance_column:
        raise InputError(f"label_column and distance_column are both {label_column!r}; give "
                         "them different names.")
    read = io.read_points(points, lat=lat, lon=lon, dropna=dropna)
    frame = read.frame
    for option, column in (("label_column", label_column), ("distance_column", distance_column)):
        if column in {str(c) for c in [*frame.columns, *frame.index.names] if c is not None}:
            flag = "--" + option.replace("_", "-")
            raise InputError(f"the points already have a column {column!r}; pass "
                             f"{option}='{column}_1' (or another new name; {flag} on the "
                             "command line).")
    nearest = np.full(len(read.lon), -1, dtype=np.int64)  # a row of the centroids table
    names = set()
    for rows, centres in _matched_groups(read, saved, dropna):
        projection = saved.projection(read.lon[rows], read.lat[rows],
                                      None if saved.by is None else centres)
        names.add(projection.name)
        nearest[rows] = centres[nearest_centre(
            projection.forward(read.lon[rows], read.lat[rows]),
            projection.forward(saved.lon[centres], saved.lat[centres]))]
    labels = np.full(len(read.valid), -1, dtype=np.int32)
    distances = np.full(len(read.valid), np.nan)
    kept = np.flatnonzero(read.valid)
    done = nearest >= 0  # rows without a group value (dropna) stay -1
    labels[kept[done]] = saved.ids[nearest[done]]
    distances[kept[done]] = geodesic_distances_m(read.lon[done], read.lat[done],
                                                 saved.lon[nearest[done]],
                                                 saved.lat[nearest[done]])
    frame[label_column] = labels
    frame[distance_column] = distances
    name = names.pop() if len(names) == 1 else "per group" if names else (
        saved.projection().name)
    return frame, read.lonlat_columns, saved, name


def _matched_groups(read, saved, dropna):
    """``[(rows, centres), ...]``: the points (positions in ``read.lon``) matched to which
    centroids (rows of ``saved``): all to all, or for grouped centroids each group's
    points to that group's centroids. Refused: points without the group column, a group
    value with no centroids, a missing group value (unless ``dropna``)."""
    everything = np.arange(len(read.lon))
    if saved.by is None:
        return [(everything, np.arange(saved.ids.size))]
    by, frame = saved.by, read.frame
    if by not in frame.columns:
        columns = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise InputError(f"{saved.name}: these centroids come from a run grouped by {by!r} "
                         f"(each group clustered separately): each point is matched within its own "
                         f"group, so the points need a column {by!r}; they have none "
                         f"(columns: {columns}).")
    mine = [group_key(v) for v in frame[by].to_numpy(dtype=object)[read.valid]]
    theirs = [group_key(v) for v in saved.group_values(by, "it names no group")]
    kept = np.flatnonzero(read.valid)
    missing = [i for i, key in enumerate(mine) if key is None]
    if missing:
        first = row_name(frame, int(kept[missing[0]]))
        if not dropna:
            raise InputError(f"{len(missing):,} point{'s have' if len(missing) > 1 else ' has'}"
                             f" no value in the group column {by!r} (first: {first}); pass "
                             "dropna=True to leave them unlabelled (-1), or fill them.")
        warnings.warn(f"{len(missing):,} point{'s' if len(missing) > 1 else ''} without a "
                      f"value in the group column {by!r} left unlabelled (-1; first: "
                      f"{first}).", GeoKMeansWarning, stacklevel=4)
    centres = {}
    for row, key in enumerate(theirs):
        centres.setdefault(key, []).append(row)
    lacking = {}
    for i, key in enumerate(mine):
        if key is not None and key not in centres:
            lacking.setdefault(key, i)
    if lacking:
        shown = "; ".join(f"{by}={_shown(key)} (first: {row_name(frame, int(kept[i]))})"
                          for key, i in list(lacking.items())[:5])
        more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        plural = "s" if len(lacking) > 1 else ""
        raise InputError(f"{saved.name}: no centroids of group{plural} {shown}{more}: each "
                         f"point is matched within its own group (column {by!r}); leave such "
                         "points out.")
    groups = {}
    for i, key in enumerate(mine):
        if key is not None:
            groups.setdefault(key, []).append(i)
    return [(np.asarray(rows), np.asarray(centres[key])) for key, rows in groups.items()]


def write_points(path, frame, *, protected=(), metadata=None, coordinate_columns=None,
                 csv_raw=False, outputs=None, label="points"):
    """Write a labelled points table in the format of ``path``'s extension (atomic, never
    over a ``protected`` file; as part of ``outputs`` when given)."""
    fmt = io.output_format(path)
    where = dict(outputs=outputs, label=label, coordinate_columns=coordinate_columns)
    if fmt == "GeoJSON":
        _output.write_geojson(path, {"points": frame}, metadata, protected, **where)
    elif fmt == "GeoPackage":
        crs = frame.crs if frame.crs is not None else "EPSG:4326"
        _output.write_gpkg(path, {"points": frame}, metadata, protected, crs=crs, **where)
    elif fmt == "GeoParquet":
        _output.write_parquet(path, {"points": frame}, metadata, protected, **where)
    else:
        _output.write_csv(path, frame, protected, raw=csv_raw, **where)
