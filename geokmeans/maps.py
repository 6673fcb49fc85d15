"""Folium web maps of a clustering that stay fast from ten points to a million.

Scale strategy: up to ``max_points`` points (default 20,000) every point is drawn as a
circle on one canvas renderer (a compact JSON array, not one JavaScript object per point
in the page). Beyond it, a sample of each cluster is drawn, sized in proportion to the
cluster with at least ``min(size, 50)`` points each, and the legend says how many points
are shown of how many, with the true count of every cluster. A 1,000,000-point result
thus gives a page of about 1 MB.

Safety: every text taken from the data reaches the page as text only: point tooltips are
built with ``textContent`` and legend/popup text is HTML-escaped, so a value such as
``<img src=x onerror=alert(1)>`` is shown, never run.
"""

import colorsys
import html
import json

import numpy as np
import pandas as pd

from .io import atomic_path
from .projection import longitude_extent, wrap_longitude

__all__ = ["DEFAULT_MAX_POINTS", "cluster_colors", "cluster_quota", "explore", "save_map",
           "script_safe_json"]

DEFAULT_MAX_POINTS = 20_000
_MIN_PER_CLUSTER = 50

# Kelly's colours of maximum contrast (K. L. Kelly, "Twenty-two colors of maximum
# contrast", Color Engineering 3(6), 1965), without white and black.
_KELLY = [
    "#F3C300", "#875692", "#F38400", "#A1CAF1", "#BE0032", "#C2B280", "#848482", "#008856",
    "#E68FAC", "#0067A5", "#F99379", "#604E97", "#F6A600", "#B3446C", "#DCD300", "#882D17",
    "#8DB600", "#654522", "#E25822", "#2B3D26",
]


def cluster_colors(n_clusters):
    """``n_clusters`` distinct hex colours: Kelly's 20, then golden-angle hues."""
    colours = list(_KELLY[:n_clusters])
    for i in range(len(colours), n_clusters):
        hue = (i * 0.618033988749895) % 1.0
        lightness = (0.35, 0.5, 0.65)[i % 3]
        r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.75)
        colours.append(f"#{int(r * 255):02X}{int(g * 255):02X}{int(b * 255):02X}")
    return colours


def _folium():
    try:
        import folium
    except ImportError:  # pragma: no cover - folium is a dependency
        raise ImportError("maps need folium: pip install folium") from None
    return folium


def cluster_quota(sizes, max_points):
    """Points to draw per cluster (k,) for cluster sizes (k,): all when they fit in
    ``max_points``, else ``min(size, 50)`` each plus a share of the rest in proportion."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.sum() <= max_points:
        return sizes
    floor = np.minimum(sizes, _MIN_PER_CLUSTER)
    spare = max(max_points - floor.sum(), 0)
    extra = np.floor((sizes - floor) * spare / max((sizes - floor).sum(), 1)).astype(int)
    return np.minimum(floor + extra, sizes)


def _sample_rows(labels, n_clusters, max_points, rng):
    """Row indices to draw: all if they fit, else a per-cluster sample (sorted)."""
    n = labels.size
    if n <= max_points:
        return np.arange(n)
    sizes = np.bincount(labels, minlength=n_clusters)
    quota = cluster_quota(sizes, max_points)
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    chosen = [rng.choice(order[bounds[j]:bounds[j + 1]], quota[j], replace=False)
              for j in range(n_clusters) if quota[j]]
    return np.sort(np.concatenate(chosen))


def _unwrapper(lons):
    """A function mapping longitudes so data across the 180° meridian are contiguous."""
    west, east, width = longitude_extent(lons)
    if west <= east:
        return (lambda lon: np.asarray(lon, dtype=np.float64)), (west, west + width)
    return (lambda lon: np.where(np.asarray(lon) < west, np.asarray(lon) + 360.0, lon)), (
        west, west + width)


def _as_text(column):
    """Values as display strings; missing values as empty strings."""
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
            else str(v) for v in column.tolist()]


def _beside_centroid(lon, labels, centre_lon, unwrap):
    """Display longitudes: each point within 180° of its centroid's display longitude,
    so every cluster is drawn in one piece even where the view is cut."""
    shown_centres = unwrap(centre_lon)
    return shown_centres[labels] + wrap_longitude(lon - centre_lon[labels])


def _format_m(metres):
    if not np.isfinite(metres):
        return "–"
    return f"{metres / 1000:,.2f} km" if metres >= 1000 else f"{metres:,.0f} m"


def _popup_html(row):
    cells = [
        ("cluster", f"{int(row.cluster)}"),
        ("points", f"{int(row.n_points):,}"),
        ("weight", f"{row.weight:,.6g}"),
        ("mean distance", _format_m(row.mean_distance_m)),
        ("max distance", _format_m(row.max_distance_m)),
    ]
    body = "".join(f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(k)}</th>"
                   f"<td>{html.escape(v)}</td></tr>" for k, v in cells)
    return f"<table>{body}</table>"


def script_safe_json(value):
    """JSON that is safe inside an HTML ``<script>``: ``<``, ``>``, ``&`` and the JS line
    separators are written as ``\\uXXXX`` escapes, so no data value can close the script
    element (``</script>``) or open markup."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _points_layer_class():
    folium = _folium()
    from branca.element import Template

    class ClusterPoints(folium.map.Layer):
        """All (or sampled) points as circles on a canvas, coloured by cluster."""

        _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
    var data = {{ this.data_json }};
    var renderer = L.canvas({padding: 0.5});
    var group = L.featureGroup();
    function tip(i) {
        var box = document.createElement("div");
        for (var c = 0; c < data.tip_columns.length; c++) {
            var line = document.createElement("div");
            line.textContent = data.tip_columns[c] + ": " + data.tips[c][i];
            box.appendChild(line);
        }
        return box;
    }
    for (var i = 0; i < data.lat.length; i++) {
        var marker = L.circleMarker([data.lat[i], data.lon[i]], {
            renderer: renderer, radius: data.radius, weight: 1, opacity: 0.9,
            color: data.colors[data.cluster[i]], fillColor: data.colors[data.cluster[i]],
            fillOpacity: 0.6
        });
        if (data.tip_columns.length) {
            marker.bindTooltip((function (k) { return function () { return tip(k); }; })(i));
        }
        group.addLayer(marker);
    }
    return group;
})();
{% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
{% endmacro %}
""")

        def __init__(self, data, name="points", show=True):
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "ClusterPoints"
            self.data_json = script_safe_json(data)

    return ClusterPoints


def _legend(colours, sizes, note):
    _folium()  # branca comes with folium: same install hint
    from branca.element import MacroElement, Template

    rows = "".join(
        f"<div><span style='display:inline-block;width:12px;height:12px;margin-right:6px;"
        f"background:{c};border:1px solid #333'></span>cluster {j}: {n:,} points</div>"
        for j, (c, n) in enumerate(zip(colours, sizes))
    )
    note_html = f"<div style='margin-top:4px;font-style:italic'>{html.escape(note)}</div>" if note else ""
    body = (
        "<div class='geokmeans-legend' style='position:fixed;bottom:24px;right:12px;z-index:1000;"
        "background:rgba(255,255,255,0.92);padding:8px 10px;border:1px solid #999;"
        "border-radius:4px;font:12px sans-serif;max-height:40%;overflow-y:auto'>"
        f"<div style='font-weight:bold;margin-bottom:4px'>Clusters</div>{rows}{note_html}</div>"
    )
    legend = MacroElement()
    legend._template = Template("{% macro html(this, kwargs) %}" + body + "{% endmacro %}")
    return legend


def _new_map(tiles, bounds):
    folium = _folium()

    class ClusterMap(folium.Map):
        """A folium Map whose ``save`` writes atomically (temporary file + rename)."""

        def save(self, outfile, close_file=True, **kwargs):
            if hasattr(outfile, "write"):  # a file object: folium's own behaviour
                return super().save(outfile, close_file=close_file, **kwargs)
            save_map(self, outfile)

    (south, west), (north, east) = bounds
    return ClusterMap(location=[(south + north) / 2, (west + east) / 2], tiles=tiles,
                      prefer_canvas=True, control_scale=True)


def save_map(m, path):
    """Write a folium map's HTML to ``path`` atomically."""
    html_text = m.get_root().render()
    with atomic_path(path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")


def explore(result, *, m=None, tiles="OpenStreetMap", tooltip=None, hulls=False,
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
        Draw on this map instead of a new one.
    tiles : str, xyzservices provider or None, default "OpenStreetMap"
        Passed to ``folium.Map``; ``None`` draws no base map (offline use).
    tooltip : list of str, optional
        Columns of ``result.points`` shown when hovering a point (as plain text).
    hulls : bool, default False
        Add a layer with each cluster's convex hull.
    centroids : bool, default True
        Add centroid markers whose popups give the cluster's statistics.
    legend : bool, default True
        Add a legend: colour and size of each cluster, and a note when points are sampled.
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
        ``m`` if given, else a new map fitted to the data (``save`` is atomic).
    """
    folium = _folium()
    n_clusters = len(result.centroids)
    if result.is_dask:
        from .distributed import sample_points

        points = sample_points(result, cluster_quota(result.centroids.n_points, max_points),
                               random_state)
        labels = points[getattr(result, "label_column", "cluster")].to_numpy()
        n_points = int(result.centroids.n_points.sum())
    else:
        points = result.points
        labels = result.model.labels_
        n_points = None
    kept = np.flatnonzero(labels >= 0)
    n_points = kept.size if n_points is None else n_points
    colours = cluster_colors(n_clusters)
    lonlat = points.geometry if points.crs is None or points.crs.equals("EPSG:4326") \
        else points.geometry.to_crs(4326)
    lon = lonlat.x.to_numpy()[kept]
    lat = lonlat.y.to_numpy()[kept]
    kept_labels = labels[kept]
    rows = _sample_rows(kept_labels, n_clusters, max_points, np.random.default_rng(random_state))
    centre_lon = result.centroids.geometry.x.to_numpy()
    centre_lat = result.centroids.geometry.y.to_numpy()
    unwrap, (west, east) = _unwrapper(np.concatenate([lon, centre_lon]))
    bounds = [[float(min(lat.min(), centre_lat.min())), west],
              [float(max(lat.max(), centre_lat.max())), east]]

    tooltip = _tooltip_columns(points, tooltip)
    tips = [_as_text(points[c].iloc[kept[rows]]) for c in tooltip]
    data = {
        "lat": np.round(lat[rows], 6).tolist(),
        "lon": np.round(_beside_centroid(lon[rows], kept_labels[rows], centre_lon, unwrap),
                        6).tolist(),
        "cluster": kept_labels[rows].tolist(),
        "colors": colours,
        "radius": float(radius),
        "tip_columns": [str(c) for c in tooltip],
        "tips": tips,
    }
    fmap = m if m is not None else _new_map(tiles, bounds)
    _points_layer_class()(data, name="points").add_to(fmap)

    if hulls:
        _hull_layer(result.hulls, colours, centre_lon, unwrap).add_to(fmap)
    if centroids:
        _centroid_layer(result.centroids, colours, unwrap).add_to(fmap)

    if legend:
        note = ""
        if rows.size < n_points:
            note = f"Showing {rows.size:,} of {n_points:,} points (a sample of each cluster)."
        sizes = result.centroids.n_points.astype(int).tolist()
        fmap.get_root().add_child(_legend(colours, sizes, note))
    if layer_control:
        folium.LayerControl(collapsed=True).add_to(fmap)
    if m is None:
        fmap.fit_bounds(bounds)
    return fmap


def _tooltip_columns(points, tooltip):
    """The tooltip column names as a list; an error naming any that are missing."""
    tooltip = [tooltip] if isinstance(tooltip, str) else list(tooltip or [])
    missing = [c for c in tooltip if c not in points.columns]
    if missing:
        from .errors import InputError

        raise InputError(f"tooltip columns {missing} not found; columns are {list(points.columns)}.")
    return tooltip


def _hull_layer(hull_frame, colours, centre_lon, unwrap):
    """A layer of the clusters' convex hulls (polygons only), each beside its centroid."""
    folium = _folium()
    group = folium.FeatureGroup(name="convex hulls", show=True)
    for row, geom in zip(hull_frame.itertuples(), hull_frame.geometry):
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        c_lon = float(centre_lon[int(row.cluster)])
        shifted = _display_geometry(geom, c_lon, float(unwrap(c_lon)))
        colour = colours[int(row.cluster)]
        folium.GeoJson(
            shifted.__geo_interface__,
            style_function=lambda _f, c=colour: {"color": c, "weight": 2, "fillOpacity": 0.1},
        ).add_to(group)
    return group


def _centroid_layer(centroids, colours, unwrap):
    """A layer of centroid markers whose popups give each cluster's statistics."""
    folium = _folium()
    group = folium.FeatureGroup(name="centroids", show=True)
    for row, geom in zip(centroids.itertuples(), centroids.geometry):
        folium.CircleMarker(
            [float(geom.y), float(unwrap(geom.x))], radius=8, color="#000000", weight=2,
            fill=True, fill_color=colours[int(row.cluster)], fill_opacity=1.0,
            popup=folium.Popup(_popup_html(row), max_width=300),
            tooltip=f"cluster {int(row.cluster)}",
        ).add_to(group)
    return group


def _display_geometry(geom, centre_lon, display_centre_lon):
    """A hull placed beside its centroid on the map.

    Longitudes are made continuous around the centroid (rejoining pieces cut at the 180°
    meridian), then the whole geometry moves with the centroid's display longitude, so a
    polygon is never torn across the map.
    """
    import shapely

    def place(xy):
        lon = centre_lon + wrap_longitude(xy[:, 0] - centre_lon)
        return np.column_stack([lon + (display_centre_lon - centre_lon), xy[:, 1]])

    return shapely.transform(geom, place)
