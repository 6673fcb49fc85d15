"""Headless Chromium for map tests, with folium's CDN files served from local npm copies.

The machines that run the tests cannot reach CDNs; ``tests/setup.sh`` installs Debian's
chromium and the npm packages folium's pages load (into ``.browser-assets/``, never
committed). Requests for those CDN URLs are answered from the local copies; tiles and
anything else from the network are refused, so a test never depends on the network.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("GEOKMEANS_BROWSER_ASSETS", ROOT / ".browser-assets")) / "node_modules"
CHROMIUM = os.environ.get("GEOKMEANS_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-quic", "--disable-component-update",
                 "--disable-sync"]

_RULES = [
    (re.compile(r"https://cdn\.jsdelivr\.net/npm/((?:@[^/]+/)?[^@/]+)@[^/]+/(.+)$"),
     lambda m: ASSETS / m.group(1) / m.group(2)),
    (re.compile(r"https://code\.jquery\.com/jquery-[\d.]+\.min\.js$"),
     lambda m: ASSETS / "jquery" / "dist" / "jquery.min.js"),
    (re.compile(r"https://cdnjs\.cloudflare\.com/ajax/libs/Leaflet\.awesome-markers/[^/]+/"
                r"leaflet\.awesome-markers\.(js|css)$"),
     lambda m: ASSETS / "drmonty-leaflet-awesome-markers" / m.group(1)
     / f"leaflet.awesome-markers.{m.group(1)}"),
]


def local_file(url):
    """The local copy serving ``url``, or None."""
    for pattern, target in _RULES:
        match = pattern.match(url)
        if match:
            path = target(match)
            return path if path.is_file() else None
    return None


def require_browser():
    """Skip outside CI when chromium or the assets are missing; fail in CI."""
    problems = []
    if not Path(CHROMIUM).exists():
        problems.append(f"chromium not found at {CHROMIUM}")
    if not (ASSETS / "leaflet" / "dist" / "leaflet.js").is_file():
        problems.append(f"npm assets not found in {ASSETS}")
    try:
        import playwright.sync_api  # noqa: F401 - only: is it installed?
    except ImportError:
        problems.append("playwright is not installed")
    if problems:
        message = "; ".join(problems) + " (run: bash tests/setup.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class PageReport:
    def __init__(self):
        self.errors = []
        self.console_errors = []
        self.unserved = []


def open_map(browser, html_path, report, timeout_ms=30_000):
    """Open a saved map page, serving CDN files locally; returns the page."""
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.on("pageerror", lambda exc: report.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(msg.text))

    def handle(route):
        url = route.request.url
        path = local_file(url)
        if path is not None:
            kind = "text/css" if path.suffix == ".css" else "application/javascript"
            return route.fulfill(path=str(path), content_type=kind)
        if url.endswith(".css"):
            return route.fulfill(body="", content_type="text/css")  # optional styles only
        if route.request.resource_type == "script":
            report.unserved.append(url)
        return route.abort()

    page.route(re.compile(r"^https?://"), handle)
    page.goto(Path(html_path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
    return page


def map_variable(html_text):
    return re.search(r"var (map_[0-9a-f]+) = L\.map", html_text).group(1)
