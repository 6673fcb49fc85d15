"""Headless Chromium for map tests, with no network.

``tests/setup.sh`` installs Debian's chromium. A page is opened from its file with every
other request refused and recorded (``PageReport.blocked``): the maps geokmeans makes carry
Leaflet inline and need nothing else. For pages that link Leaflet from a CDN (a plain
``folium.Map`` passed as ``m=``, or ``GeoDataFrame.explore`` in the benchmark),
``offline=False`` answers Leaflet's CDN URLs with the copy shipped in the package
(``geokmeans/_assets``); every other request is still refused.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEAFLET = ROOT / "geokmeans" / "_assets" / "leaflet"
CHROMIUM = os.environ.get("GEOKMEANS_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-quic", "--disable-component-update",
                 "--disable-sync"]

_LEAFLET_CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/leaflet@1\.9\.\d+/dist/"
                          r"(leaflet\.(?:js|css))$")


def local_file(url):
    """The packaged copy serving a CDN ``url`` of Leaflet, or None."""
    match = _LEAFLET_CDN.match(url)
    return LEAFLET / match.group(1) if match else None


def require_browser():
    """Skip outside CI when chromium or playwright is missing; fail in CI."""
    problems = []
    if not Path(CHROMIUM).exists():
        problems.append(f"chromium not found at {CHROMIUM}")
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
    """What happened while a page was open: its errors, and the requests refused."""

    def __init__(self):
        self.errors = []  # uncaught exceptions in the page
        self.console_errors = []
        self.blocked = []  # every request refused (all but file: URLs and served copies)
        self.unserved = []  # the scripts among them


def open_map(browser, html_path, report, timeout_ms=30_000, offline=True,
             viewport=(1000, 700)):
    """Open a saved map page from its file; returns the page.

    ``offline=True``: nothing but ``file:`` URLs is served. ``offline=False``: Leaflet's
    CDN URLs are answered from the package's copy as well. Refused requests are recorded
    in ``report``.
    """
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.on("pageerror", lambda exc: report.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(msg.text))

    def handle(route):
        url = route.request.url
        if url.startswith("file:"):
            return route.continue_()
        path = None if offline else local_file(url)
        if path is not None:
            kind = "text/css" if path.suffix == ".css" else "application/javascript"
            return route.fulfill(path=str(path), content_type=kind)
        report.blocked.append(url)
        if route.request.resource_type == "script":
            report.unserved.append(url)
        return route.abort()

    page.route("**/*", handle)
    page.goto(Path(html_path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
    return page


def map_variable(html_text):
    return re.search(r"var (map_[0-9a-f]+) = L\.map", html_text).group(1)
