"""Text-only folium elements, the self-contained map, and the fixed scripts of its layers.

Text from the data never reaches a template engine. branca's ``MacroElement.render`` wraps
each rendered macro in ``Element(text)``, which compiles ``text`` *again* as a Jinja2
template: any ``{{ ... }}`` in a data value would then run. Our elements build their text in
Python (no template at all) and add it as a ``Text`` child, which renders to itself; data
travel as JSON (``maps.script_safe_json``) and the scripts set them in the page with
``textContent``. Leaflet's files, shipped in the package (``_map_assets``), are put into the
page the same way.

Importing this module imports folium: ``maps`` imports it on first use.
"""

try:
    import folium
except ImportError:  # pragma: no cover - folium is a dependency
    raise ImportError("maps need folium: pip install folium") from None
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.map import FitBounds
from folium.raster_layers import TileLayer

from ._map_assets import leaflet_head

__all__ = ["CENTROIDS_JS", "HULLS_JS", "LEGEND_CSS", "LEGEND_JS", "POINTS_JS", "POLYGONS_JS",
           "DataLayer", "LayerControl", "MapScript", "SelfContainedMap", "Text", "TextOnly",
           "uses_only_leaflet"]


class Text(Element):
    """Text placed in the page as it is (never compiled as a template)."""

    def __init__(self, text):
        super().__init__()
        self._text = text

    def render(self, **kwargs):
        return self._text


class TextOnly(MacroElement):
    """An element whose page text is built in Python, never by a template: ``parts()``
    gives ``(section, name, text)`` for the page's ``header``, ``html`` or ``script``
    (a part of the same name is placed once)."""

    def parts(self):  # pragma: no cover - each subclass says what it adds
        return []

    def render(self, **kwargs):
        figure = self.get_root()
        for section, name, text in self.parts():
            getattr(figure, section).add_child(Text(text), name=name)
        for child in self._children.values():
            child.render(**kwargs)


class DataLayer(folium.map.Layer, TextOnly):
    """A layer drawn by a fixed script ``js`` from ``data_json`` (``data`` in the script),
    JSON that is safe inside a ``<script>`` (``maps.script_safe_json``)."""

    def __init__(self, data_json, js, name, show=True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ClusterLayer"
        self.js = js
        self.data_json = data_json

    def parts(self):
        return [("script", self.get_name(), f"var {self.get_name()} = (function (data) {{\n"
                 f"{self.js}\n}})({self.data_json});\n")]


class MapScript(TextOnly):
    """A fixed script ``js`` run once with ``map`` (its parent map) and ``data`` (script-safe
    JSON), and an optional fixed stylesheet ``css`` placed once per page as ``css_name``."""

    def __init__(self, data_json, js, css=None, css_name=None):
        super().__init__()
        self._name = "MapScript"
        self.js = js
        self.css = css
        self.css_name = css_name
        self.data_json = data_json

    def parts(self):
        parts = [("script", self.get_name(), f"(function (map, data) {{\n{self.js}\n}})"
                  f"({self._parent.get_name()}, {self.data_json});\n")]
        if self.css:
            parts.append(("header", self.css_name, f"<style>\n{self.css}\n</style>"))
        return parts


class RenderedOnce(MacroElement):
    """``MacroElement.render`` without the second template compilation (for folium's own
    templates, which hold no text from the data)."""

    def render(self, **kwargs):
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html),
                             ("script", figure.script)):
            macro = macros.get(part)
            if macro is not None:
                target.add_child(Text(macro(self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class LayerControl(folium.LayerControl, RenderedOnce):
    """folium's layer control, its layer names never compiled as a template."""


# what a map needs nothing but Leaflet for: our elements and the folium ones we add
_LEAFLET_ONLY = (DataLayer, MapScript, LayerControl, Text)
_FOLIUM_LEAFLET_ONLY = (TileLayer, FitBounds, ElementAddToElement)


def uses_only_leaflet(element):
    """Whether every element under ``element`` is one that needs Leaflet alone."""
    for child in element._children.values():
        if not (isinstance(child, _LEAFLET_ONLY) or type(child) in _FOLIUM_LEAFLET_ONLY):
            return False
        if not uses_only_leaflet(child):
            return False
    return True


class SelfContainedMap(folium.Map):
    """A folium Map whose page carries Leaflet inline (from the package) and loads nothing
    from the network for it.

    folium's Map links Leaflet, jQuery, Bootstrap, Font Awesome and awesome-markers from
    CDNs. This one inlines Leaflet and links nothing while the map holds only elements that
    need Leaflet alone (ours, tile layers, fitted bounds); once other folium elements are
    added (markers, popups, plugins: some need jQuery or Bootstrap), it links folium's
    other files from their CDNs as folium does, Leaflet still inline.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # this map's own lists: ``add_js_link`` must not change folium's, shared by all maps
        self.default_js, self.default_css = [], []

    def render(self, **kwargs):
        figure = self.get_root()
        header = figure.header
        only_leaflet = uses_only_leaflet(self)
        header.add_child(Text(leaflet_head(markers=not only_leaflet)),
                         name="geokmeans_leaflet")  # before any link
        folium_js, folium_css = folium.Map.default_js, folium.Map.default_css
        folium_names = {name for name, _ in [*folium_js, *folium_css]}
        own_js = [p for p in self.default_js if p[0] not in folium_names]  # add_js_link
        own_css = [p for p in self.default_css if p[0] not in folium_names]
        if only_leaflet:
            self.default_js, self.default_css = own_js, own_css
        else:
            self.default_js = [p for p in folium_js if p[0] != "leaflet"] + own_js
            self.default_css = [p for p in folium_css if p[0] != "leaflet_css"] + own_css
        linked = {name for name, _ in [*self.default_js, *self.default_css]}
        for name in folium_names - linked:  # links of an earlier render
            header._children.pop(name, None)
        super().render(**kwargs)


# Scripts of the layers (constants: no data in them). ``data`` is the layer's JSON.
TEXT_BOX_JS = """
function textBox(lines) {
    var box = document.createElement("div");
    for (var i = 0; i < lines.length; i++) {
        var line = document.createElement("div");
        line.textContent = lines[i];
        box.appendChild(line);
    }
    return box;
}"""

# Two panes above the vector layers (overlayPane, 400) and below markers (600): the
# centroid markers, and above them the points of the smallest clusters, which the markers
# would hide. The panes take no mouse events themselves, only their markers do, so the
# points' canvas underneath keeps its tooltips.
PANES_JS = """
var CENTROID_PANE = "geokmeansCentroids", FRONT_PANE = "geokmeansFront";
function makePanes(map) {
    var panes = [[CENTROID_PANE, 450], [FRONT_PANE, 460]];
    for (var p = 0; p < panes.length; p++) {
        if (!map.getPane(panes[p][0])) {
            var pane = map.createPane(panes[p][0]);
            pane.style.zIndex = panes[p][1];
            pane.style.pointerEvents = "none";
        }
    }
}"""

POINTS_JS = TEXT_BOX_JS + PANES_JS + """
var renderer = L.canvas({padding: 0.5});
var frontRenderer = null;  // an SVG renderer in FRONT_PANE, made when first needed
var group = L.featureGroup();
group.beforeAdd = makePanes;
function tip(i) {
    var lines = [];
    for (var c = 0; c < data.tip_columns.length; c++) {
        lines.push(data.tip_columns[c] + ": " + data.tips[c][i]);
    }
    return textBox(lines);
}
for (var i = 0; i < data.lat.length; i++) {
    var colour = data.colors[data.cluster[i]];
    var front = data.front[data.cluster[i]];
    if (front && frontRenderer === null) {
        frontRenderer = L.svg({pane: FRONT_PANE});
    }
    var marker = L.circleMarker([data.lat[i], data.lon[i]], {
        renderer: front ? frontRenderer : renderer, pane: front ? FRONT_PANE : "overlayPane",
        className: "geokmeans-point", radius: data.radius, weight: 1, opacity: 0.9,
        color: colour, fillColor: colour, fillOpacity: 0.6
    });
    if (data.tip_columns.length) {
        marker.bindTooltip((function (k) { return function () { return tip(k); }; })(i));
    }
    group.addLayer(marker);
}
return group;"""

CENTROIDS_JS = PANES_JS + """
var group = L.featureGroup();
group.beforeAdd = makePanes;
var renderer = L.svg({pane: CENTROID_PANE});
function table(rows) {
    var t = document.createElement("table");
    for (var r = 0; r < rows.length; r++) {
        var tr = document.createElement("tr");
        var th = document.createElement("th");
        th.style.textAlign = "left";
        th.style.paddingRight = "8px";
        th.textContent = rows[r][0];
        var td = document.createElement("td");
        td.style.textAlign = "right";
        td.textContent = rows[r][1];
        tr.appendChild(th);
        tr.appendChild(td);
        t.appendChild(tr);
    }
    return t;
}
for (var i = 0; i < data.lat.length; i++) {
    var marker = L.circleMarker([data.lat[i], data.lon[i]], {
        renderer: renderer, pane: CENTROID_PANE, className: "geokmeans-centroid",
        radius: 8, color: "#000000", weight: 2, fill: true,
        fillColor: data.colors[i], fillOpacity: 1.0
    });
    marker.bindPopup((function (k) { return function () { return table(data.popups[k]); }; })(i),
                     {maxWidth: 300});
    marker.bindTooltip((function (k) {
        return function () { var s = document.createElement("span");
                             s.textContent = data.tooltips[k]; return s; };
    })(i));
    group.addLayer(marker);
}
return group;"""

HULLS_JS = """
return L.geoJSON(data.hulls, {
    style: function (feature) {
        return {color: feature.properties.color, weight: 2, fillOpacity: 0.1};
    }
});"""

POLYGONS_JS = """
return L.geoJSON(data.polygons, {
    style: function (feature) {
        var colour = feature.properties.color;
        return {color: colour, weight: 1, opacity: 0.9, fillColor: colour, fillOpacity: 0.3};
    }
});"""

LEGEND_CSS = """
.geokmeans-legend { background: rgba(255, 255, 255, 0.92); border: 1px solid #999;
  border-radius: 4px; font: 12px/16px sans-serif; color: #222; overflow: auto;
  box-sizing: border-box; }
.geokmeans-legend-toggle { display: block; width: 100%; margin: 0; padding: 4px 8px;
  border: 0; background: none; font: bold 12px/16px sans-serif; color: #222;
  text-align: left; cursor: pointer; white-space: nowrap; }
.geokmeans-legend-toggle::after { content: " \\25BE"; }
.geokmeans-collapsed .geokmeans-legend-toggle::after { content: " \\25B8"; }
.geokmeans-collapsed .geokmeans-legend-body { display: none; }
.geokmeans-legend-body { padding: 0 8px 6px; }
.geokmeans-legend-grid { display: grid; grid-auto-flow: column; column-gap: 12px; }
.geokmeans-legend-item { white-space: nowrap; height: 16px; }
.geokmeans-legend-swatch { display: inline-block; width: 10px; height: 10px;
  margin-right: 5px; border: 1px solid #333; vertical-align: -1px; }
.geokmeans-legend-note { width: 0; min-width: 100%; margin-top: 4px; font-style: italic;
  white-space: normal; }
"""

# The legend: a Leaflet control (bottom right) whose title is a button that collapses
# and opens it. Open, it is at most MAX_WIDTH of the map's width and MAX_HEIGHT of its
# height; its entries go in as many columns as that height needs (scrolling beyond).
LEGEND_JS = """
var MAX_WIDTH = 0.5, MAX_HEIGHT = 0.45, ROW = 16, RESERVED = 34;
var control = L.control({position: "bottomright"});
control.onAdd = function () {
    var box = L.DomUtil.create("div", "geokmeans-legend");
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    var toggle = L.DomUtil.create("button", "geokmeans-legend-toggle", box);
    toggle.type = "button";
    toggle.textContent = data.title;
    toggle.setAttribute("aria-expanded", "true");
    toggle.title = "Show or hide the legend";
    var body = L.DomUtil.create("div", "geokmeans-legend-body", box);
    var grid = L.DomUtil.create("div", "geokmeans-legend-grid", body);
    for (var j = 0; j < data.lines.length; j++) {
        var item = L.DomUtil.create("div", "geokmeans-legend-item", grid);
        var swatch = L.DomUtil.create("span", "geokmeans-legend-swatch", item);
        swatch.style.backgroundColor = data.colors[j];
        item.appendChild(document.createTextNode(data.lines[j]));
    }
    if (data.note) {
        var note = L.DomUtil.create("div", "geokmeans-legend-note", body);
        note.textContent = data.note;
    }
    L.DomEvent.on(toggle, "click", function () {
        var open = box.classList.toggle("geokmeans-collapsed") === false;
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    function fit() {
        var size = map.getSize();
        box.style.maxWidth = Math.floor(size.x * MAX_WIDTH) + "px";
        box.style.maxHeight = Math.floor(size.y * MAX_HEIGHT) + "px";
        var free = size.y * MAX_HEIGHT - RESERVED - (data.note ? 3 * ROW : 0);
        var rows = Math.max(1, Math.floor(free / ROW));
        var columns = Math.ceil(data.lines.length / rows);
        rows = Math.max(1, Math.ceil(data.lines.length / columns));
        grid.style.gridTemplateRows = "repeat(" + rows + ", " + ROW + "px)";
    }
    fit();
    map.on("resize", fit);
    return box;
};
control.addTo(map);"""
