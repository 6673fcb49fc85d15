"""Map HTML: layers, legend, popups, escaping, bounds, sampling (no browser)."""

import json
import re
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry

import geokmeans as gk
from geokmeans import InputError
from geokmeans._formatting import format_distance, format_size
from geokmeans.maps import _sample_rows, cluster_colors

from .colour_difference import SHARMA_PAIRS, ciede2000, hex_to_lab, min_pairwise_ciede2000

DATA = Path(__file__).resolve().parents[1] / "data"
XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(2)</script>"
FIT_BOUNDS = re.compile(r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]")


@pytest.fixture(scope="module")
def dc_result():
    frame = pd.read_csv(DATA / "dc_places.csv")
    frame.loc[0, "name"] = XSS
    frame.loc[1, "name"] = BREAKOUT
    return gk.cluster(frame, 5, weight="population", random_state=0)


def render(m):
    return m.get_root().render()


def legend_data(html):
    """The JSON data of the legends in a page (title, colours, lines, note)."""
    return [json.loads(blob) for blob in re.findall(r"\n\}\)\(map_[0-9a-f]+, (\{.*\})\);\n",
                                                     html)]


def layer_data(html):
    """The JSON data of each geokmeans layer in a page, by layer kind."""
    found = {}
    for blob in re.findall(r"\n\}\)\((\{.*\})\);\n", html):
        data = json.loads(blob)
        kind = "points" if "tips" in data else "centroids" if "popups" in data else "hulls"
        found[kind] = data
    return found


def test_layers_legend_and_popups(dc_result):
    html = render(dc_result.explore(tooltip=["name"], hulls=True, tiles=None))
    assert "L.canvas" in html
    assert html.count("L.circleMarker") >= 1
    legend, = legend_data(html)
    assert legend["title"] == "Cluster: points" and legend["note"] == ""
    assert legend["lines"] == [f"{j}: {n:,}" for j, n in enumerate(dc_result.centroids.n_points)]
    assert legend["colors"] == cluster_colors(5)
    assert "geokmeans-legend" in html
    popups = layer_data(html)["centroids"]["popups"]
    assert len(popups) == 5
    for row, popup in zip(dc_result.centroids.itertuples(), popups, strict=True):
        cells = dict(popup)
        assert cells["cluster"] == str(row.cluster) and cells["points"] == f"{row.n_points:,}"
        assert cells["mean distance"] == f"{row.mean_distance_m / 1000:.2f} km"
        assert cells["max distance"].endswith(" km")
        assert cells["weight"] == f"{round(row.weight):,}" and "e+" not in cells["weight"]
    assert '"convex hulls"' in html or "convex hulls" in html
    assert "L.control.layers" in html
    # every point is in the data array
    lat = re.search(r'"lat":\[([^\]]*)\]', html).group(1).split(",")
    assert len(lat) == 200
    assert "Showing" not in html  # not sampled


def test_payload_is_never_markup(dc_result):
    html = render(dc_result.explore(tooltip=["name"], tiles=None))
    assert XSS not in html  # the raw payload never appears as markup
    assert BREAKOUT not in html and "alert(2)</script>" not in html
    # it is inside a JSON string with <, > escaped, and only ever set with textContent
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    assert "textContent" in html


def test_script_safe_json_round_trips():
    import json

    from geokmeans.maps import script_safe_json

    value = {"a": [XSS, BREAKOUT, "x & y", "line\u2028sep"]}
    text = script_safe_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_tiles_none_and_default(dc_result):
    assert "tile.openstreetmap.org" not in render(dc_result.explore(tiles=None))
    assert "tile.openstreetmap.org" in render(dc_result.explore())


def test_draws_on_existing_map(dc_result):
    base = folium.Map(location=[0, 0], zoom_start=2, tiles=None)
    out = dc_result.explore(m=base, layer_control=False)
    assert out is base
    assert "L.canvas" in render(base)


def test_bounds_fit_data(dc_result):
    html = render(dc_result.explore(tiles=None))
    bounds = FIT_BOUNDS.search(html)
    south, west, north, east = map(float, bounds.groups())
    assert 38.69 < south < 38.75 and 39.05 < north < 39.11
    assert -77.31 < west < -77.2 and -76.85 < east < -76.79


def test_bounds_across_antimeridian_are_narrow():
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([np.where(rng.random(300) < 0.5, rng.uniform(178, 180, 300),
                                       rng.uniform(-180, -178, 300)),
                              rng.uniform(-18, -16, 300)])
    html = render(gk.cluster(lonlat, 3, random_state=0).explore(tiles=None, hulls=True))
    bounds = FIT_BOUNDS.search(html)
    _, west, _, east = map(float, bounds.groups())
    assert 0 < east - west < 5  # not a world-wide view
    lons = [float(v) for v in re.search(r'"lon":\[([^\]]*)\]', html).group(1).split(",")]
    assert max(lons) - min(lons) < 5


def test_large_result_is_sampled_with_note():
    rng = np.random.default_rng(1)
    n = 60_000
    lonlat = np.column_stack([rng.uniform(-74.3, -73.7, n), rng.uniform(40.5, 40.9, n)])
    result = gk.cluster(lonlat, 6, random_state=0)
    html = render(result.explore(tiles=None, max_points=5_000))
    lat = re.search(r'"lat":\[([^\]]*)\]', html).group(1).split(",")
    assert 4_000 <= len(lat) <= 5_000
    assert "Showing 5,000 of 60,000 points" in html or re.search(r"Showing [\d,]+ of 60,000", html)


def test_sample_keeps_every_cluster():
    labels = np.concatenate([np.zeros(100_000, int), np.ones(30, int), np.full(500, 2)])
    rows = _sample_rows(labels, 3, 1_000, np.random.default_rng(0))
    counts = np.bincount(labels[rows], minlength=3)
    assert counts[1] == 30 and counts[2] >= 50 and counts.sum() <= 1_000
    assert len(np.unique(rows)) == len(rows)


def test_palette_distinct_for_many_clusters():
    colours = cluster_colors(256)
    assert len(set(colours)) == 256
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours)
    assert cluster_colors(300)[256:] == colours[:44]  # beyond the palette it starts again
    assert cluster_colors(0) == [] and cluster_colors(1) == colours[:1]


def test_colours_follow_the_cluster_ids_not_the_rows(dc_result):
    # ids kept by relabel keep their colour: each layer colours cluster id j palette[j]
    from geokmeans.maps import colors_of_ids

    palette = cluster_colors(256)
    reference = dc_result.centroids[["cluster", "geometry"]].copy()
    reference["cluster"] = [7, 300, 2, 41, 19]  # the reference's own ids, any order
    again = gk.cluster(pd.read_csv(DATA / "dc_places.csv"), 5, weight="population",
                       random_state=1).relabel(reference)
    ids = again.centroids.cluster.tolist()
    assert sorted(ids) == [2, 7, 19, 41, 300]
    expected = [palette[j % 256] for j in ids]
    assert colors_of_ids(ids) == expected
    html = render(again.explore(hulls=True, tiles=None))
    legend, = legend_data(html)
    assert legend["colors"] == expected
    assert legend["lines"] == [f"{j}: {n:,}" for j, n in zip(ids, again.centroids.n_points,
                                                             strict=True)]
    layers = layer_data(html)
    assert layers["centroids"]["colors"] == expected
    points = layers["points"]
    drawn = [points["colors"][c] for c in points["cluster"]]
    assert drawn == [palette[j % 256] for j in again.points[again.label_column]]
    hulls = [f["properties"]["color"] for f in layers["hulls"]["hulls"]["features"]]
    assert hulls == [palette[j % 256] for j, g in zip(ids, again.hulls.geometry, strict=True)
                     if g.geom_type in ("Polygon", "MultiPolygon")]
    # the same cluster (same id) has the same colour on both runs' maps
    first, = legend_data(render(dc_result.explore(tiles=None)))
    for j, colour in zip(dc_result.centroids.cluster, first["colors"], strict=True):
        if j in ids:
            assert colour == expected[ids.index(j)]


def test_ciede2000_matches_the_published_test_data():
    # Sharma, Wu & Dalal (2005), Table 1: all 34 pairs to the 4 decimals published
    pairs = np.array(SHARMA_PAIRS)
    computed = ciede2000(pairs[:, :3], pairs[:, 3:6])
    assert np.abs(computed - pairs[:, 6]).max() < 5e-5
    assert np.allclose(ciede2000(pairs[:, 3:6], pairs[:, :3]), computed)  # symmetric


def test_srgb_to_lab_reference_colours():
    # CIELAB of sRGB primaries and white under D65 (as tabulated by colour references)
    lab = hex_to_lab(["#FFFFFF", "#000000", "#FF0000", "#00FF00", "#0000FF", "#808080"])
    expected = [[100, 0, 0], [0, 0, 0], [53.24, 80.09, 67.20], [87.73, -86.18, 83.18],
                [32.30, 79.19, -107.86], [53.59, 0, 0]]
    assert np.allclose(lab, expected, atol=0.05)


# Smallest CIEDE2000 difference between two of the first k colours of the palette the maps
# used before (Kelly's 20, then golden-angle hues), computed with the functions above.
PREVIOUS_MIN_DELTA_E = {10: 17.023, 30: 6.421, 100: 0.975}


@pytest.mark.parametrize("k", [10, 30, 100])
def test_palette_colours_are_further_apart_than_before(k):
    assert min_pairwise_ciede2000(cluster_colors(k)) > PREVIOUS_MIN_DELTA_E[k]


def test_previous_palette_figures_are_reproduced():
    # the figures above, from the palette as it was: the comparison is against real values
    import colorsys

    kelly = ["#F3C300", "#875692", "#F38400", "#A1CAF1", "#BE0032", "#C2B280", "#848482",
             "#008856", "#E68FAC", "#0067A5", "#F99379", "#604E97", "#F6A600", "#B3446C",
             "#DCD300", "#882D17", "#8DB600", "#654522", "#E25822", "#2B3D26"]
    for i in range(20, 100):
        r, g, b = colorsys.hls_to_rgb((i * 0.618033988749895) % 1.0, (0.35, 0.5, 0.65)[i % 3],
                                      0.75)
        kelly.append(f"#{int(r * 255):02X}{int(g * 255):02X}{int(b * 255):02X}")
    for k, figure in PREVIOUS_MIN_DELTA_E.items():
        assert min_pairwise_ciede2000(kelly[:k]) == pytest.approx(figure, abs=1e-3)


def test_unknown_tooltip_column(dc_result):
    with pytest.raises(InputError, match=r"tooltip columns \['nope'\] not found"):
        dc_result.explore(tooltip=["nope"])


def test_save_is_atomic(dc_result, tmp_path, monkeypatch):
    path = tmp_path / "map.html"
    m = dc_result.explore(tiles=None)
    m.save(path)
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    gk.explore(dc_result, tiles=None).save(str(tmp_path / "map2.html"))
    assert (tmp_path / "map2.html").exists()


def test_hull_pieces_are_not_torn_across_the_map():
    # Cluster A has points on both sides of the widest gap in the data's longitudes
    # (105°E..130°E), which is where the map's view is cut: its hull must still be one
    # piece beside its centroid, not stretched around the world.
    rng = np.random.default_rng(3)
    a = np.column_stack([np.concatenate([rng.uniform(100, 105, 50), rng.uniform(130, 135, 50)]),
                         rng.uniform(58, 62, 100)])
    ring_lon = np.concatenate([np.arange(-180, 96, 2.0), np.arange(140, 180, 2.0)])
    b = np.column_stack([ring_lon, np.full(ring_lon.size, -40.0)])
    result = gk.cluster(np.concatenate([a, b]), 2, init=[[117.5, 60.0], [0.0, -40.0]])
    assert (result.points.cluster.iloc[:100] == 0).all()
    html = render(result.explore(tiles=None, hulls=True))
    widths = []
    for feature in layer_data(html)["hulls"]["hulls"]["features"]:
        coords = np.array(shapely.get_coordinates(shapely.geometry.shape(feature["geometry"])))
        widths.append(coords[:, 0].max() - coords[:, 0].min())
    assert widths, "no hull polygon in the page"
    assert widths[0] < 40, widths  # cluster A's hull (the first layer): about 35° wide


def test_hulls_around_a_pole_and_the_globe_are_drawn_whole_around_their_centroid():
    # a ring around the south pole (its hull spans every longitude), and the whole
    # globe for points in no hemisphere: each drawn once, 360° wide, centred on its centroid
    ring = np.column_stack([np.arange(-180.0, 180.0, 10.0), np.full(36, -60.0)])
    result = gk.cluster(ring, 1, random_state=0)
    html = render(result.explore(tiles=None, hulls=True))
    feature, = layer_data(html)["hulls"]["hulls"]["features"]
    shape = shapely.geometry.shape(feature["geometry"])
    assert shape.geom_type == "Polygon" and shape.is_valid
    assert shape.bounds[2] - shape.bounds[0] == pytest.approx(360.0)
    assert shape.area == pytest.approx(result.hulls.geometry[0].area)
    around = np.column_stack([np.linspace(-170, 170, 30), np.zeros(30)])
    with pytest.warns(gk.GeoKMeansWarning):
        html = render(gk.cluster(around, 1, random_state=0).explore(tiles=None, hulls=True))
    feature, = layer_data(html)["hulls"]["hulls"]["features"]
    shape = shapely.geometry.shape(feature["geometry"])
    assert shape.geom_type == "Polygon" and shape.area == pytest.approx(360.0 * 180.0)


# -- text from the data never reaches a template engine ------------------------------------

def template_payloads(marker):
    """Jinja2 syntax of every kind, two of them running a command that creates ``marker``."""
    return [
        "{{ 7*7 }}", "{% if true %}yes{% endif %}", "{# hidden #}", "{{ broken", "Smith {#1",
        "{% raw %}", "{{band}}", "{%- endraw %}", "}}{{",
        f"{{{{ lipsum.__globals__['os'].system('touch {marker}') }}}}",
        f"{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}",
    ]


@pytest.fixture
def template_result(tmp_path):
    marker = tmp_path / "ran"
    payloads = template_payloads(marker)
    frame = pd.read_csv(DATA / "dc_places.csv").head(len(payloads) * 3).copy()
    frame["name"] = (payloads * 3)[:len(frame)]
    frame[payloads[0]] = payloads[-1]  # template syntax in a column name
    frame[payloads[3]] = payloads[2]
    return gk.cluster(frame, 3, random_state=0), payloads, marker


def shown_texts(html_text):
    data = layer_data(html_text)["points"]
    return data["tip_columns"], data["tips"]


def test_template_syntax_in_data_is_shown_literally_on_save(template_result, tmp_path):
    result, payloads, marker = template_result
    columns = ["name", payloads[0], payloads[3]]
    m = result.explore(tooltip=columns, tiles=None, hulls=True)
    path = tmp_path / "map.html"
    m.save(path)
    assert not marker.exists()
    tip_columns, tips = shown_texts(path.read_text())
    assert tip_columns == columns
    assert tips[0] == result.points["name"].tolist()
    assert tips[1] == [payloads[-1]] * len(result.points)
    assert tips[2] == [payloads[2]] * len(result.points)
    assert not marker.exists()


def test_template_syntax_in_data_through_repr_html(template_result):
    import html as html_module

    result, payloads, marker = template_result
    m = result.explore(tooltip=["name", payloads[0]], tiles=None)
    page = m._repr_html_()  # what a notebook shows: the page inside an iframe's srcdoc
    assert not marker.exists()
    srcdoc = html_module.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    tip_columns, tips = shown_texts(srcdoc)
    assert tip_columns == ["name", payloads[0]]
    assert tips[0] == result.points["name"].tolist()


def test_template_syntax_through_the_cli_map(tmp_path):
    from .hostile import run_cli

    marker = tmp_path / "ran"
    payloads = template_payloads(marker)
    frame = pd.read_csv(DATA / "dc_places.csv").head(len(payloads) * 2).copy()
    frame["name"] = (payloads * 2)[:len(frame)]
    frame[payloads[-1]] = payloads[-2]
    source = tmp_path / "places.csv"
    frame.to_csv(source, index=False)
    code, _, err = run_cli(["cluster", source, "-k", 2, "--seed", 0, "--map",
                            tmp_path / "map.html", "-q"])
    assert code == 0, err
    assert (tmp_path / "map.html").read_text().startswith("<!DOCTYPE html>")
    assert not marker.exists()


def test_text_only_elements_are_never_compiled_again(tmp_path):
    from geokmeans._map_elements import DataLayer, MapScript

    m = folium.Map(tiles=None)
    m.add_child(MapScript('"{{ 6*7 }} {% if x %}"', "var a = '{{ 5*7 }}';", css="b{}{#",
                          css_name="x"))
    DataLayer('"{{ 4*7 }}"', "return L.layerGroup(); // {% raw %}", "{{ 3*7 }}").add_to(m)
    page = render(m)
    for text in ('"{{ 6*7 }} {% if x %}"', "var a = '{{ 5*7 }}';", "b{}{#", '"{{ 4*7 }}"',
                 "// {% raw %}"):
        assert text in page  # compiled, none of them would be there as written
    # control: branca's own MacroElement compiles its output a second time
    from branca.element import MacroElement, Template

    plain = MacroElement()
    plain._template = Template("{% macro html(this, kwargs) %}{{ this.text }}{% endmacro %}")
    plain.text = "{{ 6*7 }}"
    m.get_root().add_child(plain)
    assert "42" in render(m)


@pytest.mark.parametrize("options, culprit", [
    ({"max_points": None}, "max_points"), ({"max_points": 0}, "max_points"),
    ({"max_points": 2.5}, "max_points"), ({"radius": float("nan")}, "radius"),
    ({"radius": -1}, "radius"), ({"radius": "3"}, "radius"), ({"hulls": "yes"}, "hulls"),
    ({"legend": None}, "legend"), ({"tooltip": 5}, "tooltip"), ({"tooltip": ["nope"]}, "nope"),
    ({"m": "map"}, "m should be"), ({"tiles": "bogus"}, "tiles='bogus'"),
    ({"tiles": 5}, "tiles=5"), ({"random_state": "x"}, "random_state"),
])
def test_explore_options_are_checked(dc_result, options, culprit):
    with pytest.raises(InputError) as info:
        dc_result.explore(**options)
    assert culprit in str(info.value)


def test_save_into_open_files(dc_result):
    import io

    m = dc_result.explore(tiles=None)
    binary, text = io.BytesIO(), io.StringIO()
    m.save(binary)
    m.save(text)
    for page in (binary.getvalue().decode("utf-8"), text.getvalue()):
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
        assert len(layer_data(page)["points"]["lat"]) == len(dc_result.points)


def test_maps_know_the_inputs_drawn_on_them(tmp_path):
    # explore().save("in.csv") overwrote the input; a map of yours drawn on with m= records
    # every input drawn on it, for save_map (its own save is folium's, unchecked)
    from geokmeans.maps import save_map

    frame = pd.read_csv(DATA / "dc_places.csv").head(30)
    for name in ("a.csv", "b.csv"):
        frame.to_csv(tmp_path / name, index=False)
    first, second = (gk.cluster(tmp_path / name, 2, random_state=0) for name in ("a.csv", "b.csv"))
    before = (tmp_path / "a.csv").read_bytes()
    with pytest.raises(InputError, match=r"refusing to overwrite the input file '.*a\.csv'"):
        first.explore(tiles=None).save(tmp_path / "a.csv")
    mine = folium.Map(tiles=None)
    first.explore(m=mine)
    second.explore(m=mine)
    for name in ("a.csv", "b.csv"):
        with pytest.raises(InputError, match=f"refusing to overwrite the input file .*{name}"):
            save_map(mine, tmp_path / name)
    save_map(mine, tmp_path / "both.html")
    assert (tmp_path / "a.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "both.html"]


# -- self-contained pages ---------------------------------------------------------------------

LINKS = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=", re.IGNORECASE)


def test_page_carries_leaflet_and_links_nothing(dc_result):
    from geokmeans._map_assets import asset_versions

    page = render(dc_result.explore(tiles=None, hulls=True))
    assert not LINKS.search(page)  # no script, stylesheet or image fetched from anywhere
    for library in ("jquery", "bootstrap", "fontawesome", "awesome-markers", "cdn.", "netdna"):
        assert library not in page.lower()
    leaflet_js = (Path(gk.__file__).parent / "_assets" / "leaflet" / "leaflet.js").read_text()
    assert leaflet_js.rsplit("\n//# sourceMappingURL", 1)[0] in page
    assert f'version="{asset_versions()["leaflet"]}"' in page
    assert "data:image/png;base64," in page  # the layer control's button, inline
    # Leaflet comes before the first use of L, once
    assert page.count("<!-- Leaflet ") == 1
    assert page.index("<!-- Leaflet ") < page.index("L.map(")
    # a base map is the only thing fetched with tiles
    with_tiles = render(dc_result.explore())
    assert not LINKS.search(with_tiles) and "tile.openstreetmap.org" in with_tiles


def test_leaflet_text_never_reaches_a_template_engine(dc_result, monkeypatch):
    # the inline assets are put in the page as they are: template syntax in them would be
    # shown literally (if they went through Jinja2, "{{ 6*7 }}" would become "42")
    monkeypatch.setattr("geokmeans._map_elements.leaflet_head",
                        lambda markers: "<script>var x = '{{ 6*7 }}'; /* {% if a %} {# */</script>")
    page = render(dc_result.explore(tiles=None))
    assert "<script>var x = '{{ 6*7 }}'; /* {% if a %} {# */</script>" in page


def test_an_asset_that_would_end_its_element_is_refused():
    from geokmeans._map_assets import _inline

    for kind, text in [("script", "a = '</script><b>'"), ("script", "a = '</SCRIPT >'"),
                       ("script", "<!-- x"), ("style", "b {} </style><script>")]:
        with pytest.raises(ValueError, match=f"would end its <{kind}> element"):
            _inline(kind, text, "x")
    assert _inline("style", "b { color: red }", "x") == "<style>\nb { color: red }\n</style>"


def test_folium_elements_of_yours_bring_folium_s_files(dc_result):
    # a popup of folium's own needs jQuery: added to a map of ours, the page links folium's
    # usual files again (Leaflet stays inline, before them); removed, they go away
    m = dc_result.explore(tiles=None)
    marker = folium.Marker([38.9, -77.0], popup="hello").add_to(m)
    page = render(m)
    assert "https://code.jquery.com/jquery" in page and "bootstrap" in page
    assert "cdn.jsdelivr.net/npm/leaflet@" not in page  # Leaflet itself stays inline
    assert page.index("<!-- Leaflet ") < page.index("https://code.jquery.com/jquery")
    assert "L.Icon.Default.mergeOptions(" in page  # the default marker's images, inline
    del m._children[marker.get_name()]
    page = render(m)
    assert not LINKS.search(page) and "L.Icon.Default.mergeOptions(" not in page
    # links of your own are kept, and folium's shared lists are left alone
    before = list(folium.Map.default_js)
    m.add_js_link("mine", "https://example.org/mine.js")
    assert folium.Map.default_js == before
    page = render(m)
    assert page.count("https://example.org/mine.js") == 1 and "jquery" not in page
    marker.add_to(m)
    page = render(m)
    assert page.count("https://example.org/mine.js") == 1 and "jquery" in page


def test_a_map_of_yours_keeps_its_own_files(dc_result):
    # documented: drawing on a plain folium.Map (m=) leaves its files as folium has them
    mine = folium.Map(tiles=None)
    dc_result.explore(m=mine)
    page = render(mine)
    assert "<!-- Leaflet " not in page  # not loaded twice
    assert "https://cdn.jsdelivr.net/npm/leaflet@" in page
    assert len(layer_data(page)["points"]["lat"]) == 200 and legend_data(page)
    # drawing a second result on a map explore made keeps it self-contained
    ours = dc_result.explore(tiles=None)
    dc_result.explore(m=ours, layer_control=False)
    page = render(ours)
    assert not LINKS.search(page) and len(legend_data(page)) == 2


# -- popups and legend written as the CLI writes them -----------------------------------------

def test_popups_read_like_the_cli_table(dc_result, tmp_path):
    from .hostile import run_cli

    code, out, err = run_cli(["cluster", DATA / "dc_places.csv", "-k", 5, "--weight",
                              "population", "--seed", 0])
    assert code == 0, err
    table = {}
    for line in out.splitlines():
        match = re.fullmatch(r"\s*(\d+)\s+([\d,]+)\s+([\d,.]+)\s+([\d.]+ k?m)\s+([\d.]+ k?m)"
                             r"\s+[-\d.]+\s+[-\d.]+", line)
        if match:
            table[match.group(1)] = list(match.groups()[1:])
    assert len(table) == 5
    popups = layer_data(render(dc_result.explore(tiles=None)))["centroids"]["popups"]
    for popup in popups:
        cells = dict(popup)
        assert [cells["points"], cells["weight"], cells["mean distance"],
                cells["max distance"]] == table[cells["cluster"]]


def test_unweighted_popups_show_no_weight():
    # as the notebook display: a weight only when the fit was weighted
    plain = gk.cluster(DATA / "dc_places.csv", 4, random_state=0)
    popups = layer_data(render(plain.explore(tiles=None)))["centroids"]["popups"]
    assert [name for name, _ in popups[0]] == ["cluster", "points", "mean distance",
                                               "max distance"]
    weighted = gk.cluster(DATA / "dc_places.csv", 4, weight="population", random_state=0)
    popups = layer_data(render(weighted.explore(tiles=None)))["centroids"]["popups"]
    assert [name for name, _ in popups[0]] == ["cluster", "points", "weight", "mean distance",
                                               "max distance"]


@pytest.mark.parametrize("value, text", [
    (1447530.0, "1,447,530"), (1447530.4, "1,447,530"), (12.5, "12.5"), (0.123456, "0.1235"),
    (3.0, "3"), (float("nan"), "-"), (1e-7, "1.0e-07"), (float("inf"), "inf"),
])
def test_sizes_are_written_for_people(value, text):
    assert format_size(value) == text


@pytest.mark.parametrize("metres, text", [
    (0.0, "0 m"), (999.4, "999 m"), (1000.0, "1.00 km"), (12_345.0, "12.35 km"),
    (float("nan"), "-"), (2_500_000.0, "2500.00 km"),
])
def test_distances_are_written_for_people(metres, text):
    assert format_distance(metres) == text


def test_legend_with_size_limits_by_weight():
    frame = pd.read_csv(DATA / "dc_places.csv")
    frame["w"] = 1.5
    result = gk.cluster(frame, 4, weight="w", size_by="weight", size_min=60.0, size_max=90.0,
                        random_state=0)
    legend, = legend_data(render(result.explore(tiles=None)))
    assert legend["title"] == "Cluster: points, weight (limits)"
    for line, row in zip(legend["lines"], result.centroids.itertuples(), strict=True):
        assert line == f"{row.cluster}: {row.n_points}, {format_size(row.weight)} (60..90)"


# -- small clusters above their centroid ----------------------------------------------------

def small_cluster_result():
    rng = np.random.default_rng(4)
    lonlat = np.concatenate([rng.normal([-77.0, 38.9], 0.02, (300, 2)),
                             rng.normal([-76.5, 38.9], 0.02, (300, 2)),
                             [[-76.75, 39.4]], [[-76.75, 38.4], [-76.7501, 38.4001]]])
    return gk.cluster(lonlat, 4, init=[[-77.0, 38.9], [-76.5, 38.9], [-76.75, 39.4],
                                       [-76.75, 38.4]])


def test_points_of_the_smallest_clusters_are_drawn_above_the_centroids():
    result = small_cluster_result()
    assert result.centroids.n_points.tolist() == [300, 300, 1, 2]
    html = render(result.explore(tiles=None))
    points = layer_data(html)["points"]
    assert points["front"] == [False, False, True, True]
    # the front pane is above the centroids' pane, both above the points' canvas (400)
    panes = dict(re.findall(r'\[(CENTROID_PANE|FRONT_PANE), (\d+)\]', html))
    assert 400 < int(panes["CENTROID_PANE"]) < int(panes["FRONT_PANE"]) < 600


def test_front_clusters_are_bounded():
    from geokmeans.maps import _front_clusters, _View

    sizes = np.array([1, 10, 11, 3, 2_000])
    labels = np.repeat(np.arange(5), sizes)
    view = _View(None, None, None, labels, np.arange(labels.size), None, None, None, 0)
    assert _front_clusters(sizes, view).tolist() == [True, True, False, True, False]
    many = np.full(1_000, 8)  # 8,000 points of small clusters: the smallest 5,000 only
    labels = np.repeat(np.arange(1_000), many)
    view = _View(None, None, None, labels, np.arange(labels.size), None, None, None, 0)
    assert _front_clusters(many, view).sum() == 625


def test_palette_is_colorcets_glasbey():
    colorcet = pytest.importorskip("colorcet")
    from geokmeans._palette import GLASBEY
    from geokmeans.maps import PALETTE

    assert list(GLASBEY) == [c.upper() for c in colorcet.palette[PALETTE]]
    assert len(GLASBEY) == 256
