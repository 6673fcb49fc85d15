"""Folium web maps of a clustering that stay fast from ten points to a million.

Scale strategy: up to ``max_points`` points (default 20,000) every point is drawn as a
circle on one canvas renderer (a compact JSON array, not one JavaScript object per point
in the page). Beyond it, a sample of each cluster is drawn, sized in proportion to the
cluster with at least ``min(size, 50)`` points each, and the legend says how many points
are shown of how many, with the true count of every cluster. A 1,000,000-point result
thus gives a page of about 1 MB.

Self-contained: a map made here carries Leaflet inline (its files ship in the package, see
``_map_assets``) and links no jQuery, Bootstrap or Font Awesome, which it does not use, so
with ``tiles=None`` its saved page needs no network at all. Colours are Glasbey's
maximally distinct palette (colorcet's, copied in ``_palette``); the legend collapses,
and open it covers at most half the map's width and 45% of its height; the points of
clusters of at most ``FRONT_MAX_POINTS`` points are drawn above the centroid markers,
which would hide them.

Safety: text from the data (values, column names) is data, never code or markup. It
never reaches a template engine: our layers carry it as JSON in a script that is not
compiled again as a Jinja2 template (branca compiles the output of folium's own elements a
second time, so ``{{ ... }}`` in a value would run there), the JSON escapes ``<``, ``>``
and ``&``, and the page sets tooltips and popups with ``textContent``. A value such as
``<img src=x onerror=alert(1)>`` or ``{{ 7*7 }}`` is shown literally, never run.
"""

import json

import numpy as np
import pandas as pd

from ._formatting import format_distance, format_limits, format_size
from ._map_view import (
    DEFAULT_MAX_POINTS,
    beside_centroid,
    cluster_quota,
    display_geometry,
    map_view,
    points_of,
)
from ._map_view import View as _View  # noqa: F401  (imported from here by the tests)
from ._map_view import sample_rows as _sample_rows  # noqa: F401  (the tests import it here)
from ._palette import GLASBEY
from ._protected import source_entries
from ._validation import check_params
from .core._estimator import make_rng
from .errors import DataTypeError, InputError
from .io import atomic_path
from .projection import wrap_longitude

__all__ = ["DEFAULT_MAX_POINTS", "FRONT_MAX_POINTS", "PALETTE", "cluster_colors",
           "cluster_quota", "colors_of_ids", "explore", "save_map", "script_safe_json"]

#: Clusters of at most this many points have their points drawn above the centroid
#: markers (at most ``_MAX_FRONT_DRAWN`` points in all, the smallest clusters first).
FRONT_MAX_POINTS = 10
_MAX_FRONT_DRAWN = 5_000
#: colorcet's name of the palette: Glasbey's maximally distinct colours (C. Glasbey,
#: G. van der Heijden, V. Toh, A. Gray, "Colour displays for categorical images", Color
#: Research & Application 32(4), 2007), of lightness at most 70 and chroma at least 20 so
#: that each stands out on a light base map: 256 colours.
PALETTE = "glasbey_bw_minc_20_maxl_70"


def cluster_colors(n_clusters):
    """Hex colours ``#RRGGBB`` of clusters ``0 .. n_clusters - 1``: Glasbey's palette
    (``PALETTE``, colorcet's, held in ``_palette``), each as distinct from the ones
    before it as can be; beyond its 256 colours it starts again.

    >>> cluster_colors(3)
    ['#D60000', '#8C3BFF', '#018700']
    """
    return colors_of_ids(range(n_clusters))


def colors_of_ids(ids):
    """The colour of each cluster id: ``palette[id % len(palette)]`` (``PALETTE``), so a
    cluster keeps its colour wherever it stands in the table, and ids kept across runs
    (``relabel``) keep their colours.

    >>> colors_of_ids([2, 0])
    ['#018700', '#D60000']
    """
    return [GLASBEY[int(j) % len(GLASBEY)] for j in ids]


def _as_text(column):
    """Values as display strings; missing values as empty strings."""
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
            else str(v) for v in column.tolist()]


def _popup_rows(row, group=None, weighted=True):
    """A centroid popup's (label, value) text rows, written as the CLI writes them;
    ``group``: ``(column, value text)`` of a grouped result's cluster; the weight only
    when the fit was ``weighted``."""
    return [
        ["cluster", f"{int(row.cluster)}"],
        *([list(group)] if group is not None else []),
        ["points", f"{int(row.n_points):,}"],
        *([["weight", format_size(row.weight)]] if weighted else []),
        ["mean distance", format_distance(row.mean_distance_m)],
        ["max distance", format_distance(row.max_distance_m)],
    ]


def _weighted(result):
    """Whether the popups show a weight: a weighted fit, or weights that are not the
    counts (as the notebook display decides)."""
    table = result.centroids
    return getattr(result, "weights", None) is not None or not np.array_equal(
        table.weight.to_numpy(dtype=np.float64), table.n_points.to_numpy(dtype=np.float64))


def script_safe_json(value):
    """JSON that is safe inside an HTML ``<script>``: ``<``, ``>``, ``&`` and the JS line
    separators are written as ``\\uXXXX`` escapes, so no data value can close the script
    element (``</script>``) or open markup."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _elements():
    """The text-only folium elements and the layers' scripts (``_map_elements``);
    folium is imported with them, on first use."""
    from . import _map_elements

    return _map_elements


def _data_layer(data, js, name):
    """A layer drawn by the fixed script ``js`` from ``data`` (as script-safe JSON)."""
    return _elements().DataLayer(script_safe_json(data), js, name)


def _legend(colours, title, lines, note):
    """The legend control: a title that collapses it, one entry per cluster (colour, text)
    and an optional note; all text set in the page as text."""
    elements = _elements()
    data = {"title": title, "colors": colours, "lines": lines, "note": note}
    return elements.MapScript(script_safe_json(data), elements.LEGEND_JS,
                              css=elements.LEGEND_CSS, css_name="geokmeans_legend_css")


_PROTECTED = "_geokmeans_protected"  # attribute of a map: the inputs drawn on it


def _protect(fmap, result):
    """Record on ``fmap`` the inputs of ``result`` (files, directories) drawn on it, for
    ``save_map`` to refuse writing over them."""
    entries = [*getattr(fmap, _PROTECTED, ()), *source_entries(result.source)]
    setattr(fmap, _PROTECTED, tuple(entries))


def _new_map(tiles, attr, bounds):
    class ClusterMap(_elements().SelfContainedMap):
        """A self-contained folium Map (Leaflet inline) whose ``save`` writes atomically
        (temporary file + rename) and never over the input of a result drawn on it."""

        def save(self, outfile, close_file=True, **kwargs):
            save_map(self, outfile)

    (south, west), (north, east) = bounds
    try:
        return ClusterMap(location=[(south + north) / 2, (west + east) / 2], tiles=tiles,
                          attr=attr, prefer_canvas=True, control_scale=True)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError(
            f"tiles={tiles!r} is not valid ({exc}); use a tile provider name such as "
            "'OpenStreetMap', an xyzservices provider, None, or a URL template with attr=..."
        ) from None


def save_map(m, path):
    """Write a folium map's HTML to ``path`` atomically (or into an open binary or text
    file object, as ``folium.Map.save`` does).

    Refuses (``InputError``) to write over the input of any result ``explore`` drew on
    ``m``: its file, a path inside its directory, any file of a partitioned input.
    """
    html_text = m.get_root().render()
    if hasattr(path, "write"):
        try:
            path.write(html_text.encode("utf-8"))
        except TypeError:  # a text file
            path.write(html_text)
        return
    with atomic_path(path, getattr(m, _PROTECTED, ())) as tmp:
        tmp.write_text(html_text, encoding="utf-8")


def explore(result, *, m=None, tiles="OpenStreetMap", attr=None, tooltip=None, hulls=False,
            centroids=True, legend=True, max_points=DEFAULT_MAX_POINTS, radius=3,
            random_state=0, layer_control=True):
    """Draw a ``ClusterResult`` on a folium map.

    Parameters
    ----------
    result : ClusterResult
        For a result of a dask input, a per-cluster sample of the points is computed on
        the cluster first (the quotas below, drawn in each partition), and only the
        sample reaches this process; hulls are computed there too (``result.hulls``).
    m : folium.Map, optional
        Draw on this map instead of a new one. The result's input is recorded on it, so that
        ``save_map(m, path)`` refuses to write over it (``m.save`` is folium's own, neither atomic
        nor checked). A map of yours keeps its own files: a plain ``folium.Map`` loads Leaflet and
        the rest from CDNs, so its page needs the network; a map returned by ``explore`` does not.
    tiles : str, xyzservices provider or None, default "OpenStreetMap"
        Passed to ``folium.Map``; with ``None`` (no base map) the saved page loads nothing
        from the network.
    attr : str, optional
        Attribution of custom ``tiles`` (a URL template needs one), as in ``folium.Map``.
    tooltip : list of str, optional
        Columns of ``result.points`` shown when hovering a point (as plain text).
    hulls : bool, default False
        Add a layer with each cluster's convex hull.
    centroids : bool, default True
        Add centroid markers whose popups give the cluster's statistics.
    legend : bool, default True
        Add a legend: colour and size of each cluster, and a note when points are sampled.
        Its title collapses and opens it.
    max_points : int, default 20,000
        Most points drawn; larger results are sampled per cluster (see module docs).
    radius : float, default 3
        Point radius in pixels.
    random_state : int, default 0
        Seed of the sample, so a map is reproducible.
    layer_control : bool, default True

    Returns
    -------
    folium.Map
        ``m`` if given, else a new map fitted to the data whose ``save`` is atomic and
        refuses to write over the result's input (as ``save_map``).
    """
    checked = _checked_options(m, hulls=hulls, centroids=centroids, legend=legend,
                               layer_control=layer_control, max_points=max_points,
                               radius=radius, tooltip=tooltip)
    points, view = _sampled(result, checked["max_points"], random_state)
    # colours by id (kept by relabel); the layers index them by row of the centroid table
    colours = colors_of_ids(result.centroids.cluster.to_numpy())
    data = _point_data(points, view, colours, checked["radius"], tooltip, result.centroids)
    fmap = m if m is not None else _new_map(tiles, attr, view.bounds)
    _protect(fmap, result)
    polygon_note = _add_polygons(fmap, points, view, colours)
    _data_layer(data, _elements().POINTS_JS, "points").add_to(fmap)
    _add_overlays(fmap, result, colours, view, hulls=hulls, centroids=centroids,
                  legend=legend, layer_control=layer_control, note=polygon_note)
    if m is None:
        fmap.fit_bounds(view.bounds)
    return fmap


def _sampled(result, max_points, random_state):
    """The points to draw from and the ``View`` of them, sampled with ``random_state``."""
    rng = make_rng(random_state)  # checked before any sample is drawn
    points, labels, n_points = points_of(result, max_points, random_state)
    return points, map_view(points, labels, n_points, result.centroids, max_points, rng)


def _checked_options(m, **options):
    """``explore``'s options, checked: ``m`` a folium Map or None, the others against the
    library's parameter table (folium is imported first: maps need it)."""
    folium = _elements().folium
    if m is not None and not isinstance(m, folium.Map):
        raise DataTypeError(f"m should be a folium.Map or None; got {type(m).__name__}.")
    return check_params(options)


def _point_data(points, view, colours, radius, tooltip, centroids):
    """The points layer's data: the sample, each point beside its centroid, with its
    cluster's colour and the ``tooltip`` columns' text; the clusters drawn in front of the
    centroid markers (``centroids``: their table)."""
    rows = view.rows
    tooltip = _tooltip_columns(points, tooltip)
    tips = [_as_text(points[c].iloc[view.point_rows]) for c in tooltip]
    return {
        "lat": np.round(view.lat[rows], 6).tolist(),
        "lon": np.round(beside_centroid(view.lon[rows], view.labels[rows], view.centre_lon,
                                        view.unwrap), 6).tolist(),
        "cluster": view.labels[rows].tolist(),
        "colors": colours,
        "radius": float(radius),
        "tip_columns": [str(c) for c in tooltip],
        "tips": tips,
        "front": _front_clusters(centroids.n_points.to_numpy(), view).tolist(),
    }


def _front_clusters(sizes, view):
    """(k,) bool: clusters whose points are drawn above the centroid markers, those of at
    most ``FRONT_MAX_POINTS`` points, the smallest first while at most ``_MAX_FRONT_DRAWN``
    of their points are drawn."""
    sizes = np.asarray(sizes, dtype=np.int64)
    drawn = np.bincount(view.labels[view.rows], minlength=sizes.size)
    order = np.argsort(sizes, kind="stable")
    small = sizes[order] <= FRONT_MAX_POINTS
    within = np.cumsum(drawn[order]) <= _MAX_FRONT_DRAWN
    front = np.zeros(sizes.size, dtype=bool)
    front[order[small & within]] = True
    return front


def _add_polygons(fmap, points, view, colours):
    """A layer of the input's polygons (of the rows drawn, each beside its point), under
    the points; returns a note for the legend when there are too many vertices to draw
    them (``_map_polygons``)."""
    from ._map_polygons import polygon_collection

    rows = view.rows
    shown_lon = beside_centroid(view.lon[rows], view.labels[rows], view.centre_lon, view.unwrap)
    (south, west), (north, east) = view.bounds
    middle = (west + east) / 2

    def place_polar(shape):  # over every longitude, 180° either side of the view's middle
        return display_geometry(shape, float(wrap_longitude(middle)), middle)

    shapes, note = polygon_collection(points.geometry.iloc[view.point_rows], view.labels[rows],
                                      view.lon[rows], shown_lon, colours,
                                      max(north - south, east - west, 1e-6), place_polar)
    if shapes is not None:
        _data_layer({"polygons": shapes}, _elements().POLYGONS_JS, "polygons").add_to(fmap)
    return note


def _legend_lines(result):
    """The legend's title and each cluster's entry: its number and points ("3: 1,234"),
    with size limits its size against them ("3: 42 (38..42)"; by weight "3: 42, weight
    1,250 (1,200..1,300)")."""
    table = result.centroids
    counts = table.n_points.astype(int).tolist()
    ids = table.cluster.astype(int).tolist()  # a relabelled result's ids need not be 0..k-1
    by = getattr(result, "by", None)
    if by is not None:  # a grouped result: "3 (north)", the group after the id
        ids = [f"{j} ({g})" for j, g in zip(ids, _as_text(table[by]), strict=True)]
    title = "Cluster" if by is None else f"Cluster ({by})"
    if "size_max" not in table.columns:
        return f"{title}: points", [f"{j}: {n:,}" for j, n in zip(ids, counts, strict=True)]
    if getattr(result._fitted, "size_by", "count") == "weight":
        return f"{title}: points, weight (limits)", [
            f"{j}: {n:,}, {format_size(weight)} ({format_limits(low, high)})"
            for j, n, weight, low, high in zip(
                ids, counts, table.weight, table.size_min, table.size_max, strict=True)]
    return f"{title}: points (limits)", [
        f"{j}: {n:,} ({format_limits(low, high)})"
        for j, n, low, high in zip(ids, counts, table.size_min, table.size_max, strict=True)]


def _add_overlays(fmap, result, colours, view, *, hulls, centroids, legend, layer_control,
                  note=""):
    """The hull and centroid layers, the legend (with ``note``) and the layer control that
    are asked for."""
    if hulls:
        _hull_layer(result.hulls, colours, view.centre_lon, view.unwrap).add_to(fmap)
    if centroids:
        _centroid_layer(result.centroids, colours, view.unwrap, getattr(result, "by", None),
                        _weighted(result)).add_to(fmap)
    if legend:
        if view.rows.size < view.n_points:
            note = (f"Showing {view.rows.size:,} of {view.n_points:,} points (a sample of "
                    f"each cluster). {note}").strip()
        title, lines = _legend_lines(result)
        fmap.add_child(_legend(colours, title, lines, note))
    if layer_control:
        _elements().LayerControl(collapsed=True).add_to(fmap)


def _tooltip_columns(points, tooltip):
    """The tooltip column names as a list; an error naming any that are missing."""
    if tooltip is None or isinstance(tooltip, str) or np.ndim(tooltip) == 0:
        tooltip = [] if tooltip is None else [tooltip]  # checked: None, a name or a list
    else:
        tooltip = list(tooltip)
    missing = [c for c in tooltip if c not in points.columns]
    if missing:
        raise InputError(f"tooltip columns {missing} not found; columns are "
                         f"{list(points.columns)}.")
    return tooltip


def _hull_layer(hull_frame, colours, centre_lon, unwrap):
    """A layer of the clusters' convex hulls (polygons only), each beside its centroid."""
    features = []
    for cluster, geom in enumerate(hull_frame.geometry):  # rows in the labels' order
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        c_lon = float(centre_lon[int(cluster)])
        shifted = display_geometry(geom, c_lon, float(unwrap(c_lon)))
        features.append({"type": "Feature", "geometry": shifted.__geo_interface__,
                         "properties": {"color": colours[int(cluster)]}})
    hulls = {"type": "FeatureCollection", "features": features}
    return _data_layer({"hulls": hulls}, _elements().HULLS_JS, "convex hulls")


def _centroid_layer(centroids, colours, unwrap, by=None, weighted=True):
    """A layer of centroid markers whose popups give each cluster's statistics (and its
    group, column ``by``, of a grouped result; its weight when ``weighted``)."""
    rows = list(centroids.itertuples())
    groups = [None] * len(rows) if by is None else [(str(by), g)
                                                    for g in _as_text(centroids[by])]
    data = {
        "lat": [float(geom.y) for geom in centroids.geometry],
        "lon": [float(unwrap(geom.x)) for geom in centroids.geometry],
        "colors": colours[:len(rows)],  # rows in the labels' order
        "popups": [_popup_rows(row, group, weighted)
                   for row, group in zip(rows, groups, strict=True)],
        "tooltips": [f"cluster {int(row.cluster)}" + (f" ({group[1]})" if group else "")
                     for row, group in zip(rows, groups, strict=True)],
    }
    return _data_layer(data, _elements().CENTROIDS_JS, "centroids")


