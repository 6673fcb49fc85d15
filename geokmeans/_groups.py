"""Group-by: one fit per group of rows (``cluster(data, k, by="column")``), combined.

Each group (the rows sharing a value of the ``by`` column) is clustered on its own, by
exactly the fit ``cluster()`` makes of that group's rows alone, with the same options:
its own projection (``crs="auto"`` chooses per group), its own weights' scale, size limits
and ``max_radius_m`` per group. The fits are then put together into one result:

- Groups are taken in the sorted order of their values (a categorical column: the order
  of its categories). Cluster ids run on across groups in that order: the first group's
  clusters are ``0 .. k0 - 1`` (numbered within the group as a single fit numbers them,
  by descending total weight), the next group's start at ``k0``, and so on; so ids are
  unique across the result and deterministic.
- Seeds: every group gets the same ``random_state``. An integer (or None) is passed as it
  is, so a group's fit is that of ``cluster(group_rows, k, random_state=seed)`` and does
  not depend on the other groups; a ``Generator``/``RandomState`` is drawn once for an
  integer seed that every group then uses.
- Rows without a group value (None, NaN, NaT) are an error unless ``dropna=True``; then
  they are skipped (label -1, distance NaN) with a warning, as rows without coordinates
  are.

This module checks the grouping options, splits the read points, fits the groups and
combines their labels and tables (``GroupedFit``); ``result.ClusterResult`` holds the
outcome and calls back here for what differs (territories, run facts).
"""

import contextlib
import copy
import numbers
import warnings
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from ._columns import row_name
from ._progress import bar
from ._validation import check_param, describe_value
from .core._constrained import constraints_for
from .core._estimator import make_rng
from .errors import DataTypeError, GeoKMeansError, GeoKMeansWarning, InputError
from .io import PointData
from .model import GeoKMeans
from .territories import territories as _territories

__all__ = ["GroupedFit", "check_grouping", "fit_groups", "group_name", "grouped_facts",
           "grouped_territories"]

#: Column names of the centroid and hull tables (and the lon/lat a CSV of them gets): a
#: group column of one of these names would collide there.
TABLE_COLUMNS = ("cluster", "n_points", "weight", "mean_distance_m", "max_distance_m",
                 "size_min", "size_max", "geometry", "lon", "lat")

_SHOWN = 5  # groups listed in a message


def group_name(by, value):
    """How messages name a group: ``region='north'``."""
    return f"{by}={_plain(value)!r}"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _listed(values, shown=_SHOWN):
    values = [_plain(v) for v in values]
    text = ", ".join(repr(v) for v in values[:shown])
    return text + (f" and {len(values) - shown} more" if len(values) > shown else "")


# -- before any data are read --------------------------------------------------------------


def check_grouping(by, n_clusters, options, names, *, lazy):
    """Check the options of a grouped ``cluster`` call before any data are read; returns
    an integer ``n_clusters`` to validate the other parameters with (the mapping's are
    checked here).

    Refused: ``by`` not a non-empty string; ``by`` naming the label or distance column
    or a column of the centroid tables; ``n_clusters`` neither an integer >= 1 nor a
    non-empty mapping of group to such integers; explicit initial centres
    (``init=array``, ``fixed_centers``) and dask inputs.
    """
    try:
        check_param("by", by)
    except DataTypeError as exc:  # the table's message, and how to group by several
        raise DataTypeError(f"{exc} To group by several columns, combine them into one "
                            "first, e.g. df['group'] = df['a'].astype(str) + '/' + "
                            "df['b'].astype(str).") from None
    for option in ("label_column", "distance_column"):
        if names[option] == by:
            raise InputError(f"by={by!r} is also the {option}: the column added to the points "
                             f"would replace the groups; pass {option}= another name.")
    if by in TABLE_COLUMNS:
        raise InputError(f"by={by!r} names a column of the centroid and hull tables "
                         f"({', '.join(TABLE_COLUMNS[:-2])}; lon/lat in CSV), which also get "
                         f"the group column; rename it first, e.g. "
                         f"data.rename(columns={{{by!r}: '{by}_group'}}).")
    if lazy:
        raise InputError(f"by={by!r} needs the points in memory: a dask input is not grouped; "
                         "compute() it first, or cluster each group's partitions separately.")
    init = options.get("init")
    if hasattr(init, "__array__") or isinstance(init, (list, tuple)):
        raise InputError(f"by={by!r} cannot be combined with explicit initial centres "
                         "(init=array): one set of centres cannot start every group; use "
                         "init='k-means++', 'bbox' or 'random', or cluster each group with "
                         "its own centres.")
    if options.get("fixed_centers") is not None:
        raise InputError(f"by={by!r} cannot be combined with fixed_centers (they need "
                         "explicit initial centres, init=array); cluster each group with its "
                         "own centres instead.")
    if isinstance(n_clusters, Mapping):
        if not n_clusters:
            raise InputError("n_clusters={} is an empty mapping; give a k for every group, or "
                             "one integer for all.")
        for group, k in n_clusters.items():
            _check_k(k, f"n_clusters[{_plain(group)!r}]")
        return min(int(k) for k in n_clusters.values())
    return n_clusters  # checked with the other parameters


def _check_k(k, name):
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise DataTypeError(f"{name}={describe_value(k)} should be an integer >= 1.")
    if k < 1:
        raise InputError(f"{name}={k} should be an integer >= 1.")


# -- the groups of the rows ----------------------------------------------------------------


def _kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, numbers.Real):
        return "number"
    return type(value).__name__


def group_codes(frame, by, dropna, coordinate_columns=None):
    """``(codes, values)``: the group of each row (n_rows,) int64 as a position in
    ``values`` (the groups' values, sorted), -1 for rows without a group value (an error
    unless ``dropna``)."""
    own_geometry = getattr(frame, "table", None) is not None  # a table's: not the input's
    columns = [str(c) for c in frame.columns if not (own_geometry and c == "geometry")]
    if by not in frame.columns:
        similar = [c for c in columns if c.lower() == str(by).lower()]
        hint = f" (did you mean {similar[0]!r}?)" if similar else ""
        raise InputError(f"by={by!r}: the input has no column {by!r}{hint}; its columns are "
                         f"{', '.join(repr(c) for c in columns)}.")
    if by == getattr(frame.geometry, "name", None):
        raise InputError(f"by={by!r} is the geometry column; group by a column of labels "
                         "(text, numbers, dates).")
    if coordinate_columns is not None and by in coordinate_columns:
        raise InputError(f"by={by!r} is a coordinate column; group by a column of labels "
                         "(text, numbers, dates).")
    column = frame[by]
    if isinstance(column, pd.DataFrame):
        raise InputError(f"by={by!r}: the input has several columns named {by!r}.")
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:
        raise DataTypeError(_unhashable(column, by, frame)) from None
    uniques = pd.Index(uniques)
    if uniques.dtype == object:
        kinds = {}
        for value in uniques:
            kinds.setdefault(_kind(value), value)
        if len(kinds) > 1:
            shown = ", ".join(f"{kind} ({_plain(v)!r})" for kind, v in kinds.items())
            raise DataTypeError(f"by={by!r}: the column mixes kinds of values: {shown}; make "
                                f"it one kind, e.g. data[{by!r}].astype(str).")
    _check_missing(codes, frame, by, dropna)
    order = uniques.argsort()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1).astype(np.int64)
    return codes, uniques[order]


def _unhashable(column, by, frame):
    for position, value in enumerate(column.tolist()):
        try:
            hash(value)
        except TypeError:
            return (f"by={by!r}: group values must be labels (text, numbers, dates); "
                    f"{row_name(frame, position)} holds a {type(value).__name__} "
                    f"({describe_value(value)}).")
    return f"by={by!r}: the column's values cannot be grouped (not hashable)."


def _check_missing(codes, frame, by, dropna):
    missing = codes < 0
    if not missing.any():
        return
    n_missing = int(missing.sum())
    first = row_name(frame, int(np.flatnonzero(missing)[0]))
    rows = f"{n_missing:,} row{'s' if n_missing != 1 else ''}"
    if n_missing == len(codes):
        raise InputError(f"by={by!r}: every row has a missing group value: nothing to cluster.")
    if not dropna:
        raise InputError(f"by={by!r}: {rows} ha{'ve' if n_missing != 1 else 's'} a missing "
                         f"group value (first: {first}); pass dropna=True to skip them "
                         "(labelled -1), or fill them.")
    warnings.warn(f"skipped {rows} with a missing value in the group column {by!r} (first: "
                  f"{first}).", GeoKMeansWarning, stacklevel=5)


def _ks(n_clusters, values, by):
    """The k of each group (in ``values``' order)."""
    if not isinstance(n_clusters, Mapping):
        return [int(n_clusters)] * len(values)
    given = dict(n_clusters)
    found = [v for v in values if v in given]
    lacking = [v for v in values if v not in given]
    if lacking:
        raise InputError(f"n_clusters gives no k for group{'s' if len(lacking) > 1 else ''} "
                         f"{_listed(lacking)} of column {by!r}; give every group a k (the "
                         f"{len(values):,} groups: {_listed(values)}).")
    known = set(found)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise InputError(f"n_clusters names group{'s' if len(unknown) > 1 else ''} "
                         f"{_listed(unknown)} not in column {by!r} (its groups: "
                         f"{_listed(values)}).")
    return [int(given[v]) for v in values]


# -- fitting -------------------------------------------------------------------------------


class GroupedFit:
    """The fits of every group, combined: what a grouped ``ClusterResult`` reads where a
    single result reads its model.

    Attributes ending in ``_`` are those of ``GeoKMeans`` over all groups: ``labels_``
    (ids unique across groups, -1 for skipped rows), ``distances_m_``,
    ``cluster_centers_`` (lon/lat), ``centroids_`` (with the group column after
    ``cluster``), ``inertia_`` (the sum of the groups', each in its own projection's
    m²), ``n_iter_`` (the most of any group), ``n_dropped_`` (rows not clustered: no
    coordinates or no group), ``n_clusters_`` (all clusters), ``crs_`` (the groups'
    projection, or ``"per group"`` when they differ). ``n_clusters`` is the k asked for
    in all; other parameters are the call's (``init``, ``random_state``, ...).
    ``models`` maps each group value to its fitted ``GeoKMeans``; ``groups`` lists
    ``(value, k asked, first id, rows)``, rows the positions of the group's rows;
    ``positions`` gives, per group, the rows of ``centroids_`` (the combined clusters)
    of the group model's clusters ``0 .. n - 1``: ``first id + arange(n)`` after the
    fit, another order once a relabelled result renumbers them.
    """

    def __init__(self, template, by, n_clusters_given):
        self._template = template
        self.by = by
        self.n_clusters_given = n_clusters_given
        self.models = {}
        self.groups = []
        self.positions = []
        self.group_points = []  # (lon, lat) clustered of each group, for its territories

    def __getattr__(self, name):  # the call's parameters (init, size_by, max_radius_m ...)
        if name.startswith("_") or name.endswith("_"):
            raise AttributeError(name)
        return getattr(self._template, name)

    @property
    def n_clusters(self):
        return sum(k for _, k, _, _ in self.groups)

    def get_params(self, deep=True):
        """The call's parameters, ``n_clusters`` as given (an int or a mapping)."""
        return {**self._template.get_params(deep), "n_clusters": self.n_clusters_given}

    def crs_by_group(self):
        return {value: model.crs_ for value, model in self.models.items()}

    def permuted(self, order, position):
        """A shallow copy whose combined cluster ``j`` is this one's cluster ``order[j]``
        (``position``: the inverse permutation); the labels are positions as before."""
        new = copy.copy(self)
        new.cluster_centers_ = self.cluster_centers_[order]
        centroids = self.centroids_.iloc[order].reset_index(drop=True)
        centroids["cluster"] = np.arange(len(order))
        new.centroids_ = centroids
        new.labels_ = np.where(self.labels_ >= 0, position[np.maximum(self.labels_, 0)],
                               -1).astype(self.labels_.dtype)
        new.positions = [position[rows] for rows in self.positions]
        return new


def _seed(random_state):
    """Every group's ``random_state``: an int or None as given; a Generator or
    RandomState drawn once for an integer seed."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    return int(make_rng(random_state).integers(0, 2**32, dtype=np.uint64))


def fit_groups(points, frame, template, params, by, n_clusters):
    """Fit every group of the read ``points`` (``io.PointData``; ``frame`` its rows) as a
    separate ``cluster`` of its rows would, and combine them into a ``GroupedFit``."""
    codes, values = group_codes(frame, by, params["dropna"], points.lonlat_columns)
    values = values.tolist()
    ks = _ks(n_clusters, values, by)
    valid = points.valid
    kept_codes = codes[valid]  # the group of each row with coordinates (points.lon order)
    parts = []
    for g, (value, k) in enumerate(zip(values, ks, strict=True)):
        rows = np.flatnonzero(codes == g)
        chosen = kept_codes == g
        weights = None if points.weights is None else points.weights[chosen]
        part = PointData(points.lon[chosen], points.lat[chosen], weights, None, valid[rows],
                         points.lonlat_columns)
        parts.append((value, k, rows, part))
    _check_sizes(parts, by, params)
    seed = _seed(params["random_state"])
    fit = GroupedFit(template, by, n_clusters)
    offset = 0  # the first id of the next group
    # one bar over the groups (a callable: groups done, groups), none inside a group
    own = {"n_clusters": None, "random_state": seed, "progress": False}
    steps = bar(params["progress"], len(parts), "groups", unit="group")
    try:
        for value, k, rows, part in parts:
            own["n_clusters"] = k
            model = GeoKMeans(**{**template.get_params(), **own})
            with _about_group(group_name(by, value)):
                model._fit_read(part, {**params, **own})
            fit.models[value] = model
            fit.groups.append((value, k, offset, rows))
            fit.positions.append(offset + np.arange(model.n_clusters_))
            fit.group_points.append((part.lon, part.lat))
            offset += model.n_clusters_
            steps.update(1)
    finally:
        steps.close()
    _combine(fit, frame, len(valid))
    return fit


def _check_sizes(parts, by, params):
    """Refuse, before any fit, groups with fewer points than their k (all of them named)
    and size limits that a group cannot meet."""
    small = [(value, len(part.lon), k) for value, k, _, part in parts if len(part.lon) < k]
    if small:
        listed = "; ".join(f"{group_name(by, v)} has {n:,} point{'s' if n != 1 else ''} for "
                           f"k={k}" for v, n, k in small[:_SHOWN])
        more = f"; and {len(small) - _SHOWN} more" if len(small) > _SHOWN else ""
        raise InputError(f"{len(small):,} group{'s have' if len(small) > 1 else ' has'} fewer "
                         f"points than clusters: {listed}{more}. Give such groups a smaller k "
                         "(n_clusters={group: k, ...}) or leave them out.")
    if params["size_min"] is None and params["size_max"] is None:
        return
    for value, k, _, part in parts:
        weights = np.ones(len(part.lon)) if part.weights is None else part.weights
        with _about_group(group_name(by, value)):
            constraints_for({**params, "n_clusters": k}, k, weights, part.weights is not None,
                            params["init"])


@contextlib.contextmanager
def _about_group(name):
    """Errors and warnings raised inside name the group (``group region='north': ...``):
    warnings are caught and issued again with the group's name, errors of the library
    raised again as the same class with it."""
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    except GeoKMeansError as exc:
        if str(exc).startswith("group "):
            raise
        try:
            renamed = type(exc)(f"group {name}: {exc}")
        except TypeError:  # an error class taking other arguments: left as it is
            raise exc from None
        raise renamed.with_traceback(exc.__traceback__) from None
    finally:
        for warning in caught:
            warnings.warn(f"group {name}: {warning.message}", warning.category, stacklevel=4)


def _combine(fit, frame, n_rows):
    """The combined labels, distances, centres and centroid table of ``fit``'s groups."""
    labels = np.full(n_rows, -1, dtype=np.int32)
    distances = np.full(n_rows, np.nan)
    tables, centres, first_rows = [], [], []
    for (_, _, offset, rows), model in zip(fit.groups, fit.models.values(), strict=True):
        own = model.labels_
        labels[rows] = np.where(own >= 0, own + offset, -1)
        distances[rows] = model.distances_m_
        table = model.centroids_.copy()
        table["cluster"] = table["cluster"].to_numpy() + offset
        tables.append(table)
        centres.append(model.cluster_centers_)
        first_rows.append(np.full(model.n_clusters_, rows[0]))
    table = pd.concat(tables, ignore_index=True)
    group_values = frame[fit.by].iloc[np.concatenate(first_rows)].reset_index(drop=True)
    table.insert(1, fit.by, group_values)
    fit.centroids_ = gpd.GeoDataFrame(table, geometry="geometry", crs="EPSG:4326")
    fit.labels_, fit.distances_m_ = labels, distances
    fit.cluster_centers_ = np.concatenate(centres)
    models = list(fit.models.values())
    fit.inertia_ = float(sum(m.inertia_ for m in models))
    fit.n_iter_ = max(m.n_iter_ for m in models)
    fit.n_clusters_ = len(table)
    fit.n_dropped_ = int((labels < 0).sum())
    duplicates = [getattr(m, "n_duplicates_", None) for m in models]  # within each group
    fit.n_duplicates_ = None if None in duplicates else int(sum(duplicates))
    fit.n_null_island_ = int(sum(getattr(m, "n_null_island_", 0) for m in models))
    names = {m.crs_ for m in models}
    fit.crs_ = names.pop() if len(names) == 1 else "per group"
    fit.projection_ = models[0].projection_ if fit.crs_ != "per group" else None


# -- what a grouped result computes differently --------------------------------------------


def grouped_territories(fit, boundary=None):
    """Territories of each group (the group's own fit, clipped to ``boundary`` or to that
    group's hull with a margin), in the order of the centroid table, ``cluster`` its row
    (the caller turns rows into ids) and the group column as there; the territories of
    one group tile its region, those of different groups may overlap."""
    tables = []
    for (value, _, _, _), positions, model, (lon, lat) in zip(
            fit.groups, fit.positions, fit.models.values(), fit.group_points, strict=True):
        with _about_group(group_name(fit.by, value)):
            table = _territories(model, lon, lat, boundary)
        table["cluster"] = positions[table["cluster"].to_numpy()]
        tables.append(table)
    errors = [t.attrs["boundary_error_m"] for t in tables if "boundary_error_m" in t.attrs]
    table = pd.concat(tables, ignore_index=True).sort_values("cluster", kind="stable")
    table = gpd.GeoDataFrame(table.reset_index(drop=True), geometry="geometry",
                             crs="EPSG:4326")
    table.insert(1, fit.by, fit.centroids_[fit.by].iloc[table["cluster"].to_numpy()]
                 .reset_index(drop=True))
    if errors:
        table.attrs["boundary_error_m"] = max(errors)
    return table


def grouped_facts(fit, facts, cluster_ids=None):
    """The run facts of a grouped result: ``facts`` (those of a single result, over all
    groups) with ``by`` and, per group, its value, the k asked, the clusters found, its
    ids (``clusters``, ascending; ``first_cluster`` the least), the CRS used, inertia and
    iterations. ``crs_used`` only when every group used the same projection.
    ``cluster_ids``: the id of each row of the centroid table (None: the rows' numbers)."""
    facts = dict(facts)
    if fit.crs_ == "per group":
        facts.pop("crs_used", None)
        facts.pop("crs_used_wkt", None)
    facts["by"] = fit.by
    facts["groups"] = []
    for (value, k, _, _), positions, model in zip(fit.groups, fit.positions,
                                                  fit.models.values(), strict=True):
        ids = sorted(int(j) for j in (positions if cluster_ids is None
                                      else np.asarray(cluster_ids)[positions]))
        facts["groups"].append(
            {"group": _plain(value), "n_clusters": k, "n_clusters_found": int(model.n_clusters_),
             "first_cluster": ids[0] if ids else None, "clusters": ids,
             "crs_used": model.crs_, "inertia_m2": model.inertia_,
             "n_iter": int(model.n_iter_)})
    return facts
