"""Text-only folium elements and the fixed scripts of the map's layers.

Text from the data never reaches a template engine. branca's ``MacroElement.render`` wraps
each rendered macro in ``Element(text)``, which compiles ``text`` *again* as a Jinja2
template: any ``{{ ... }}`` in a data value would then run. These elements add their
rendered text as a ``Text`` child instead, which renders to itself; data travel as JSON
(``maps.script_safe_json``) and the scripts set them in the page with ``textContent``.

Importing this module imports folium: ``maps`` imports it on first use.
"""

try:
    import folium
except ImportError:  # pragma: no cover - folium is a dependency
    raise ImportError("maps need folium: pip install folium") from None
from branca.element import Element, MacroElement, Template

__all__ = ["CENTROIDS_JS", "HULLS_JS", "POINTS_JS", "POLYGONS_JS", "TEXT_BOX_JS", "DataLayer",
           "LayerControl",
           "Legend", "Text", "TextOnly"]


class Text(Element):
    """Text placed in the page as it is (never compiled as a template)."""

    def __init__(self, text):
        super().__init__()
        self._text = text

    def render(self, **kwargs):
        return self._text


class TextOnly(MacroElement):
    """``MacroElement.render`` without the second template compilation."""

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


class DataLayer(folium.map.Layer, TextOnly):
    """A layer drawn by a fixed script ``js`` from ``data_json`` (``data`` in the script),
    JSON that is safe inside a ``<script>`` (``maps.script_safe_json``)."""

    _template = Template(
        "{% macro script(this, kwargs) %}\n"
        "var {{ this.get_name() }} = (function (data) {\n{{ this.js }}\n})"
        "({{ this.data_json }});\n"
        "{% endmacro %}"
    )

    def __init__(self, data_json, js, name, show=True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ClusterLayer"
        self.js = js
        self.data_json = data_json


class Legend(TextOnly):
    """A fixed legend box; ``html_text`` is markup built with every text escaped."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.html_text }}{% endmacro %}")

    def __init__(self, html_text):
        super().__init__()
        self._name = "Legend"
        self.html_text = html_text


class LayerControl(folium.LayerControl, TextOnly):
    """folium's layer control, its layer names never compiled as a template."""


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

POINTS_JS = TEXT_BOX_JS + """
var renderer = L.canvas({padding: 0.5});
var group = L.featureGroup();
function tip(i) {
    var lines = [];
    for (var c = 0; c < data.tip_columns.length; c++) {
        lines.push(data.tip_columns[c] + ": " + data.tips[c][i]);
    }
    return textBox(lines);
}
for (var i = 0; i < data.lat.length; i++) {
    var colour = data.colors[data.cluster[i]];
    var marker = L.circleMarker([data.lat[i], data.lon[i]], {
        renderer: renderer, radius: data.radius, weight: 1, opacity: 0.9,
        color: colour, fillColor: colour, fillOpacity: 0.6
    });
    if (data.tip_columns.length) {
        marker.bindTooltip((function (k) { return function () { return tip(k); }; })(i));
    }
    group.addLayer(marker);
}
return group;"""

CENTROIDS_JS = """
var group = L.featureGroup();
function table(rows) {
    var t = document.createElement("table");
    for (var r = 0; r < rows.length; r++) {
        var tr = document.createElement("tr");
        var th = document.createElement("th");
        th.style.textAlign = "left";
        th.style.paddingRight = "8px";
        th.textContent = rows[r][0];
        var td = document.createElement("td");
        td.textContent = rows[r][1];
        tr.appendChild(th);
        tr.appendChild(td);
        t.appendChild(tr);
    }
    return t;
}
for (var i = 0; i < data.lat.length; i++) {
    var marker = L.circleMarker([data.lat[i], data.lon[i]], {
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
