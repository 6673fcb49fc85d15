"""Maps in a real browser: headless Chromium with no network (only file: URLs are served)."""

import os
from pathlib import Path

import folium
import numpy as np
import pandas as pd
import pytest

import geokmeans as gk
from geokmeans._map_assets import asset_versions
from geokmeans.maps import save_map

from .browser import CHROMIUM, CHROMIUM_ARGS, PageReport, map_variable, open_map, require_browser

DATA = Path(__file__).resolve().parents[1] / "data"
PAYLOADS = [
    '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
    '</script><script>window.__xss=(window.__xss||0)+1</script>',
    '"><svg onload="window.__xss=(window.__xss||0)+1">',
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def load(browser, m, tmp_path, name="map.html", offline=True, viewport=(1000, 700)):
    """Save ``m`` and open it; with ``offline`` nothing but its file is served, and the
    page must have asked for nothing else."""
    path = tmp_path / name
    save_map(m, path)  # what a map's own save does, and for a plain folium.Map too
    report = PageReport()
    page = open_map(browser, path, report, offline=offline, viewport=viewport)
    html = path.read_text()
    map_name = map_variable(html)
    page.wait_for_function("() => typeof L !== 'undefined'")
    if offline:
        assert report.blocked == []
    return page, report, map_name, path


COUNT_LAYERS = """(name) => {
  const map = window[name];
  let points = 0, centroids = 0, other = 0;
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker) {
      if (l.options.radius === 8) centroids++; else points++;
    } else other++;
  });
  return {points, centroids, other, leaflet: L.version};
}"""

OPEN_EVERYTHING = """(name) => {
  const map = window[name];
  let opened = 0;
  map.eachLayer(l => {
    if (l.getTooltip && l.getTooltip()) { l.openTooltip(); opened++; l.closeTooltip(); }
    if (l.getPopup && l.getPopup()) { l.openPopup(); opened++; }
  });
  return opened;
}"""


def test_small_map_loads_with_layers(browser, tmp_path):
    result = gk.cluster(DATA / "dc_places.csv", 5, weight="population", random_state=0)
    page, report, map_name, _ = load(browser, result.explore(tiles=None, hulls=True,
                                                             tooltip=["name"]), tmp_path)
    counts = page.evaluate(COUNT_LAYERS, map_name)
    assert counts["leaflet"] == asset_versions()["leaflet"]
    assert counts["points"] == 200
    assert counts["centroids"] == 5
    assert page.locator(".geokmeans-legend").is_visible()
    assert page.locator(".geokmeans-legend").inner_text().split("\n") == [
        "Cluster: points", *(f"{j}: {n}" for j, n in enumerate(result.centroids.n_points))]
    assert page.locator(".leaflet-control-layers").count() == 1
    assert report.errors == [] and report.unserved == []
    # a screenshot is not blank: many distinct colours on the canvas
    shot = Path(os.environ.get("GEOKMEANS_SCREENSHOT", tmp_path / "shot.png"))
    page.screenshot(path=str(shot))
    from PIL import Image

    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20
    page.close()


def test_payloads_in_data_do_not_execute(browser, tmp_path):
    frame = pd.read_csv(DATA / "dc_places.csv")
    for i, payload in enumerate(PAYLOADS):
        frame.loc[i, "name"] = payload
    frame[PAYLOADS[0]] = PAYLOADS[2]  # a hostile column name too
    result = gk.cluster(frame, 4, random_state=0)
    m = result.explore(tiles=None, hulls=True, tooltip=["name", PAYLOADS[0]])
    page, report, map_name, _ = load(browser, m, tmp_path)
    opened = page.evaluate(OPEN_EVERYTHING, map_name)
    assert opened >= 200 + 4
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__xss") is None
    # the payload is shown as text in the tooltip
    page.evaluate("""(name) => { const map = window[name]; let done = false;
        map.eachLayer(l => { if (!done && l.getTooltip && l.options.radius === 3) {
            l.openTooltip(); done = true; } }); }""", map_name)
    assert report.errors == []
    # control: the same payload set through innerHTML does run here, so the check above
    # would have caught an execution
    page.evaluate("(p) => { const d = document.createElement('div'); d.innerHTML = p; "
                  "document.body.appendChild(d); }", PAYLOADS[0])
    page.wait_for_function("() => window.__xss === 1", timeout=5000)
    page.close()


def test_million_point_map(browser, tmp_path):
    rng = np.random.default_rng(0)
    n = 1_000_000
    centres = rng.uniform([-125, 25], [-67, 49], size=(30, 2))
    which = rng.integers(0, 30, n)
    lonlat = centres[which] + rng.normal(scale=0.5, size=(n, 2))
    lonlat[:, 1] = np.clip(lonlat[:, 1], -89, 89)
    frame = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1],
                          "id": np.arange(n).astype(str)})
    result = gk.cluster(frame, 20, random_state=0)
    m = result.explore(tiles=None, tooltip=["id"])
    page, report, map_name, path = load(browser, m, tmp_path, "million.html")
    assert os.path.getsize(path) <= 15 * 1024 * 1024
    counts = page.evaluate(COUNT_LAYERS, map_name)
    assert 19_000 <= counts["points"] <= 20_000
    assert counts["centroids"] == 20
    assert "Showing" in page.locator(".geokmeans-legend").inner_text()
    assert report.errors == [] and report.unserved == []
    page.close()


def test_template_syntax_is_shown_literally_in_tooltips_and_popups(browser, tmp_path):
    frame = pd.read_csv(DATA / "dc_places.csv").head(30).copy()
    frame["name"] = "{{ 7*7 }} {% raw %} {# x #}"
    frame["{{ 6*7 }}"] = "{{band}}"
    result = gk.cluster(frame, 3, random_state=0)
    m = result.explore(tiles=None, tooltip=["name", "{{ 6*7 }}"])
    page, report, map_name, _ = load(browser, m, tmp_path)
    text = page.evaluate("""(name) => { const map = window[name]; let text = null;
        map.eachLayer(l => { if (text === null && l.getTooltip && l.options.radius === 3) {
            l.openTooltip(); text = l.getTooltip().getElement().textContent; } });
        return text; }""", map_name)
    assert text == "name: {{ 7*7 }} {% raw %} {# x #}{{ 6*7 }}: {{band}}"
    popup = page.evaluate("""(name) => { const map = window[name]; let text = null;
        map.eachLayer(l => { if (text === null && l.getPopup && l.getPopup()) {
            l.openPopup(); text = l.getPopup().getElement().textContent; } });
        return text; }""", map_name)
    assert popup.startswith("cluster") and "points" in popup and "mean distance" in popup
    assert report.errors == []
    page.close()


def test_offline_page_draws_everything_with_no_network(browser, tmp_path):
    # nothing but the page's own file is served: Leaflet, the points, the centroids, the
    # hulls, the legend and the layer control's button all come from the page itself
    result = gk.cluster(DATA / "dc_places.csv", 5, random_state=0)
    page, report, map_name, _ = load(browser, result.explore(tiles=None, hulls=True), tmp_path)
    counts = page.evaluate(COUNT_LAYERS, map_name)
    assert counts["points"] == 200 and counts["centroids"] == 5 and counts["other"] >= 5
    drawn = page.evaluate("""() => {  // canvas pixels the points painted
        const canvas = document.querySelector('.leaflet-overlay-pane canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width,
                                                          canvas.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return painted; }""")
    assert drawn > 200 * 10
    button = page.evaluate("""() => getComputedStyle(
        document.querySelector('.leaflet-control-layers-toggle')).backgroundImage""")
    assert button.startswith('url("data:image/png;base64,')
    assert report.errors == [] and report.console_errors == [] and report.blocked == []
    page.close()


def test_the_same_page_with_folium_s_cdn_links_is_blank_offline(browser, tmp_path):
    # control: a plain folium map with our layers links Leaflet from a CDN; offline it
    # never gets Leaflet, which the test above would have caught
    result = gk.cluster(DATA / "dc_places.csv", 3, random_state=0)
    mine = folium.Map(tiles=None)
    result.explore(m=mine)
    path = tmp_path / "mine.html"
    save_map(mine, path)
    report = PageReport()
    page = open_map(browser, path, report)
    page.wait_for_timeout(300)
    assert page.evaluate("() => typeof L") == "undefined"
    assert any("leaflet" in url for url in report.unserved) and report.errors
    page.close()


def test_a_map_of_yours_is_drawn_on(browser, tmp_path):
    # m=: a plain folium.Map keeps its CDN files (Leaflet answered here from the package's
    # copy); the layers, the legend and the small clusters' pane work on it
    result = gk.cluster(DATA / "dc_places.csv", 4, random_state=0)
    mine = folium.Map(location=[38.9, -77.0], zoom_start=9, tiles=None)
    result.explore(m=mine)
    page, report, map_name, _ = load(browser, mine, tmp_path, offline=False)
    counts = page.evaluate(COUNT_LAYERS, map_name)
    assert counts["points"] == 200 and counts["centroids"] == 4
    assert page.locator(".geokmeans-legend").is_visible()
    assert report.errors == []
    page.close()


LEGEND_BOX = """() => { const b = document.querySelector('.geokmeans-legend')
    .getBoundingClientRect(); return [b.width, b.height]; }"""


def test_legend_at_k100_covers_at_most_a_quarter_and_collapses(browser, tmp_path):
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([rng.uniform(-10, 10, 30_000), rng.uniform(40, 55, 30_000)])
    result = gk.cluster(lonlat, 100, random_state=0, n_init=1)
    page, report, _, _ = load(browser, result.explore(tiles=None), tmp_path,
                              viewport=(1200, 800))
    width, height = page.evaluate(LEGEND_BOX)
    assert width * height <= 0.25 * 1200 * 800, (width, height)
    assert width <= 600 and height <= 0.45 * 800 + 1
    legend = page.locator(".geokmeans-legend")
    text = legend.inner_text()
    assert "0: " in text and "99: " in text and "Showing" in text
    # every entry is on screen without scrolling: the columns hold them all
    hidden = page.evaluate("""() => { const box = document.querySelector('.geokmeans-legend')
        .getBoundingClientRect(); let out = 0;
        for (const item of document.querySelectorAll('.geokmeans-legend-item')) {
            const r = item.getBoundingClientRect();
            if (r.right > box.right + 0.5 || r.bottom > box.bottom + 0.5) out++; }
        return out; }""")
    assert hidden == 0
    toggle = page.locator(".geokmeans-legend-toggle")
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    width_closed, height_closed = page.evaluate(LEGEND_BOX)
    assert height_closed < 40 and width_closed * height_closed < 0.01 * 1200 * 800
    assert not page.locator(".geokmeans-legend-item").first.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert page.evaluate(LEGEND_BOX) == [width, height]
    # a smaller window: still within its bounds (scrolling if it must)
    page.set_viewport_size({"width": 600, "height": 400})
    page.wait_for_timeout(300)
    width, height = page.evaluate(LEGEND_BOX)
    assert width <= 300 + 1 and height <= 0.45 * 400 + 1
    assert report.errors == []
    page.close()


def test_a_one_point_cluster_is_drawn_above_its_centroid(browser, tmp_path):
    from .test_maps import small_cluster_result

    result = small_cluster_result()
    page, report, map_name, _ = load(browser, result.explore(tiles=None), tmp_path)
    page.wait_for_selector(".geokmeans-point")  # the front layer is drawn
    page.wait_for_function("(name) => !window[name]._animatingZoom", arg=map_name)
    # what is drawn at the single point (its centroid's place) is the point
    found = page.evaluate("""(name) => { const map = window[name]; let centroid = null;
        map.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.radius === 8
                                  && Math.abs(l.getLatLng().lat - 39.4) < 1e-6) centroid = l; });
        const p = map.latLngToContainerPoint(centroid.getLatLng());
        const box = map.getContainer().getBoundingClientRect();
        const top = document.elementFromPoint(box.left + p.x, box.top + p.y);
        return top.getAttribute('class'); }""", map_name)
    assert "geokmeans-point" in found
    # control: the centroid of a large cluster is on top of its points there
    found = page.evaluate("""(name) => { const map = window[name]; let centroid = null;
        map.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.radius === 8
                                  && Math.abs(l.getLatLng().lng + 77.0) < 0.05) centroid = l; });
        const p = map.latLngToContainerPoint(centroid.getLatLng());
        const box = map.getContainer().getBoundingClientRect();
        return document.elementFromPoint(box.left + p.x, box.top + p.y).getAttribute('class');
        }""", map_name)
    assert "geokmeans-centroid" in found
    # its popup still opens on a click, and points elsewhere keep their tooltips
    page.mouse.click(*page.evaluate("""(name) => { const map = window[name]; let c = null;
        map.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.radius === 8
                                  && Math.abs(l.getLatLng().lng + 77.0) < 0.05) c = l; });
        const p = map.latLngToContainerPoint(c.getLatLng());
        const box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y]; }""", map_name))
    assert "mean distance" in page.locator(".leaflet-popup-content").inner_text()
    assert report.errors == []
    page.close()


def test_a_folium_marker_added_to_a_map_of_ours_has_its_icon_offline(browser, tmp_path):
    # Leaflet looks for its default marker's images beside the page: they are inline
    result = gk.cluster(DATA / "dc_places.csv", 3, random_state=0)
    m = result.explore(tiles=None)
    folium.Marker([38.9, -77.0]).add_to(m)
    path = tmp_path / "marker.html"
    m.save(path)
    report = PageReport()
    page = open_map(browser, path, report)
    page.wait_for_function("() => typeof L !== 'undefined'")
    icon = page.locator("img.leaflet-marker-icon")
    assert icon.get_attribute("src").startswith("data:image/png;base64,")
    assert page.evaluate("() => document.querySelector('img.leaflet-marker-icon')"
                         ".naturalWidth") == 25
    assert page.evaluate("() => document.querySelector('img.leaflet-marker-shadow')"
                         ".naturalWidth") == 41
    # only folium's own CDN files were asked for (the marker's element may need them)
    assert report.blocked and all("jquery" in url or "bootstrap" in url or "awesome" in url
                                  or "fontawesome" in url for url in report.blocked)
    assert report.errors == []
    page.close()
