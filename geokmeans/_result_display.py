"""How a ``ClusterResult`` shows itself: one paragraph for ``repr()``, a summary and the
per-cluster table for notebooks (``_repr_html_``).

Both read only what a result holds already (the centroid table, the model's attributes
and parameters): nothing is computed over the points, so a result of a million points,
or a lazy dask one, displays at once and in the same few kilobytes. Every text that comes
from the caller or the data (column names, paths, CRS names) is escaped
(``html.escape``) before it enters the HTML.
"""

import math
from html import escape

import numpy as np

from ._formatting import format_distance, format_limits, format_size

__all__ = ["MAX_ROWS", "html", "summary", "text"]

#: Rows of the per-cluster table shown (the largest clusters: they are numbered first).
MAX_ROWS = 20


def _count(value):
    return f"{int(value):,}"


def _counted(value, noun):
    """``"1 point"``, ``"1,234 points"``."""
    return f"{_count(value)} {noun}{'' if int(value) == 1 else 's'}"


def _init_text(model):
    init = model.init
    if isinstance(init, str):
        return init
    return f"{len(np.asarray(init, dtype=object))} given centres"


def _seed_text(model):
    seed = model.random_state
    if seed is None:
        return "none"
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return str(int(seed))
    return type(seed).__name__


def _limits_text(model, centroids):
    """The size limits as ``"38..42 points"`` (one range when all clusters share it),
    or None without limits."""
    if "size_min" not in centroids.columns:
        return None
    unit = "weight" if model.size_by == "weight" else "points"
    ranges = {format_limits(lo, hi) for lo, hi in zip(centroids.size_min, centroids.size_max,
                                                      strict=True)}
    shown = ranges.pop() if len(ranges) == 1 else "per cluster"
    return f"{shown} {unit}"


def _groups_text(result):
    """``"3 groups by 'region', each clustered separately"`` (a grouped result)."""
    n = len(result.models)
    return f"{n:,} group{'s' if n != 1 else ''} by {result.by!r}, each clustered separately"


def _gps_rows(model):
    """Exact duplicate coordinates (counted at the fit; not for dask inputs) and points
    at (0, 0) when there are any."""
    rows = []
    if hasattr(model, "n_duplicates_"):
        duplicates = model.n_duplicates_
        rows.append(("duplicate coordinates",
                     "not counted (dask input)" if duplicates is None else "none"
                     if not duplicates else
                     f"{_count(duplicates)} points at the exact lon/lat of another point"))
    null_island = getattr(model, "n_null_island_", 0)
    if null_island:
        rows.append(("at (0, 0)", f"{_count(null_island)} points (failed GPS fixes?)"))
    return rows


def summary(result):
    """``[(name, value text), ...]``: the run's facts and the parameters that shaped it."""
    model = result._fitted  # a grouped result: its groups' fits combined
    centroids = result.centroids
    n_points = int(centroids.n_points.sum())
    points = _count(n_points)
    if model.n_dropped_:
        points += f" ({_count(model.n_dropped_)} rows skipped: no coordinates)"
    if result.is_dask:
        points += f", lazy in {result.points.npartitions:,} dask partitions"
    k = str(len(centroids))
    if model.n_clusters_ != model.n_clusters:
        k += f" (from n_clusters={model.n_clusters}, split to a {model.max_radius_m:g} m radius)"
    rows = [("points", points), *_gps_rows(model), ("clusters", k)]
    if result.models is not None:
        rows.append(("groups", _groups_text(result)))
    crs = str(model.crs_)
    if result.models is not None and len({m.crs_ for m in result.models.values()}) > 1:
        crs = f"per group ({', '.join(sorted({m.crs_ for m in result.models.values()}))})"
    rows += [("CRS used", crs),
            ("inertia", f"{model.inertia_:.6g} m²"), ("iterations", str(model.n_iter_))]
    if result.seconds is not None:
        rows.append(("seconds", f"{result.seconds:.2f}"))
    rows += [("init", _init_text(model)), ("seed", _seed_text(model)),
             ("n_init", str(model.n_init))]
    rows.append(("weights", "none" if result.weights is None else str(result.weights)))
    if model.max_radius_m is not None:
        rows.append(("max radius", format_distance(model.max_radius_m)))
    limits = _limits_text(model, centroids)
    if limits is not None:
        rows.append(("size limits", limits))
    if model.fixed_centers is not None:
        rows.append(("fixed centres", _count(np.count_nonzero(model.fixed_centers))))
    rows.append(("label column", str(result.label_column)))
    if result.source is not None and not isinstance(result.source, tuple):
        rows.append(("input", str(result.source)))
    return rows


def _cluster_rows(centroids, weighted, by=None):
    """The first ``MAX_ROWS`` clusters as ``(header, [[cell text, ...], ...])``; ``by``:
    the group column of a grouped result, shown after the cluster."""
    weighted = weighted or not np.array_equal(centroids.weight.to_numpy(dtype=np.float64),
                                              centroids.n_points.to_numpy(dtype=np.float64))
    limited = "size_min" in centroids.columns
    header = (["cluster"] + ([str(by)] if by is not None else []) + ["points"]
              + (["weight"] if weighted else []) + ["mean distance", "max distance", "lon", "lat"]
              + (["size limits"] if limited else []))
    rows = []
    shown = centroids.head(MAX_ROWS)
    groups = [] if by is None else shown[by].tolist()
    for i, row in enumerate(shown.itertuples()):
        cells = [str(int(row.cluster))] + ([str(groups[i])] if by is not None else []) + [
            _count(row.n_points)]
        if weighted:
            cells.append(format_size(row.weight))
        cells += [format_distance(row.mean_distance_m), format_distance(row.max_distance_m),
                  _degrees(row.geometry.x), _degrees(row.geometry.y)]
        if limited:
            cells.append(format_limits(row.size_min, row.size_max))
        rows.append(cells)
    return header, rows


def _degrees(value):
    return "-" if value is None or math.isnan(value) else f"{value:.5f}"


def text(result):
    """One paragraph: the summary's facts and the largest cluster."""
    facts = dict(summary(result))
    model = result._fitted
    n_points, k = int(result.centroids.n_points.sum()), len(result.centroids)
    points = _counted(n_points, "point")
    notes = ([_counted(model.n_dropped_, "row") + " skipped"] if model.n_dropped_ else []) + (
        [f"lazy in {result.points.npartitions:,} dask partitions"] if result.is_dask else [])
    if notes:
        points += f" ({'; '.join(notes)})"
    gps = []
    if hasattr(model, "n_duplicates_"):
        duplicates = model.n_duplicates_
        gps.append("duplicates not counted (dask input)" if duplicates is None else
                   f"{_count(duplicates)} at the exact lon/lat of another point" if duplicates
                   else "no duplicate coordinates")
    if getattr(model, "n_null_island_", 0):
        gps.append(f"{_count(model.n_null_island_)} at (0, 0)")
    clusters = facts["clusters"].replace(str(k), _counted(k, "cluster"), 1)
    parts = [f"{points} in {clusters}"
             + (f" ({facts['groups']})" if "groups" in facts else ""), *gps,
             f"CRS {facts['CRS used']}", f"inertia {facts['inertia']}",
             _counted(model.n_iter_, "iteration")]
    if "seconds" in facts:
        parts.append(f"{facts['seconds']} s")
    options = [f"init {facts['init']}", f"seed {facts['seed']}", f"n_init {facts['n_init']}",
               f"weights {facts['weights']}"]
    options += [f"{name} {facts[name]}" for name in ("max radius", "size limits",
                                                     "fixed centres") if name in facts]
    centroids = result.centroids
    largest = ""
    if len(centroids):
        size = centroids.weight if result.weights is not None else centroids.n_points
        top = centroids.iloc[int(np.argmax(size.to_numpy()))]
        group = f", {result.by} {top[result.by]}" if result.by is not None else ""
        largest = (f" Largest: cluster {int(top.cluster)} ({_counted(top.n_points, 'point')}"
                   f"{group}"
                   + (f", weight {format_size(top.weight)}" if result.weights is not None
                      else "")
                   + f", mean distance {format_distance(top.mean_distance_m)}).")
    source = f", input {facts['input']!r}" if "input" in facts else ""
    return (f"ClusterResult: {', '.join(parts)}; {', '.join(options)}; labels in column "
            f"{facts['label column']!r}{source}.{largest}")


_STYLE = ("<style>.gk-result table{border-collapse:collapse;margin:0.3em 0}"
          ".gk-result td,.gk-result th{padding:1px 8px;text-align:right}"
          ".gk-result .gk-facts td:first-child{text-align:left;font-weight:bold}"
          ".gk-result .gk-facts td{text-align:left}</style>")


def html(result):
    """The notebook display: the summary and the first ``MAX_ROWS`` clusters, every
    text escaped."""
    facts = "".join(f"<tr><td>{escape(name)}</td><td>{escape(value)}</td></tr>"
                    for name, value in summary(result))
    header, rows = _cluster_rows(result.centroids, result.weights is not None, result.by)
    head = "".join(f"<th>{escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"
                   for cells in rows)
    k = len(result.centroids)
    more = (f"<p>{k - MAX_ROWS:,} more clusters (the first {MAX_ROWS} shown; all in "
            "<code>result.centroids</code>)</p>") if k > MAX_ROWS else ""
    return (f"<div class=\"gk-result\">{_STYLE}<strong>ClusterResult</strong>"
            f"<table class=\"gk-facts\">{facts}</table>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>")
