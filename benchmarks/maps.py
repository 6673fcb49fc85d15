"""Map benchmark: HTML size and time to build, save and load in headless Chromium.

    python benchmarks/maps.py [--sizes 10000 100000 1000000] [--explore-timeout 300]

Compares ``ClusterResult.explore()`` with a plain ``GeoDataFrame.explore()`` of the same
points coloured by cluster (run in a subprocess with a time limit, as it may not finish).
Our pages are opened with no network at all (they carry Leaflet); folium's link Leaflet
from a CDN, answered from the package's copy (their other CDN files are refused). The
"requests" column counts what a page asked for beyond its file. Needs what
``tests/setup.sh`` installs (chromium). Prints a markdown table.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

# run as a script: the repository first on the path, for the imports below (E402)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import geokmeans as gk  # noqa: E402
from benchmarks._common import clustered_lonlat, machine, markdown_table  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PageReport, open_map  # noqa: E402

EXPLORE_SCRIPT = """
import sys, time, geopandas as gpd
frame = gpd.read_parquet(sys.argv[1])
start = time.perf_counter()
m = frame.explore(column="cluster", categorical=True, tiles=None, legend=True)
m.save(sys.argv[2])
print(time.perf_counter() - start)
"""


LOAD_TIMEOUT_S = 120


def load_seconds(browser, path, offline):
    """Seconds until the page's load event (and Leaflet present), or a "> N" string; the
    page's errors; the requests it made beyond its file."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    report = PageReport()
    start = time.perf_counter()
    page = None
    try:
        page = open_map(browser, path, report, timeout_ms=LOAD_TIMEOUT_S * 1000,
                        offline=offline)
        page.wait_for_function("() => typeof L !== 'undefined'", timeout=LOAD_TIMEOUT_S * 1000)
        return f"{time.perf_counter() - start:.2f}", len(report.errors), len(report.blocked)
    except PlaywrightTimeout:
        return f"> {LOAD_TIMEOUT_S} (not loaded)", len(report.errors), len(report.blocked)
    finally:
        if page is not None:
            page.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--explore-timeout", type=float, default=300.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for n in args.sizes:
            lonlat = clustered_lonlat(n)
            frame = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1]})
            result = gk.cluster(frame, 20, random_state=0)
            ours = Path(tmp) / f"ours_{n}.html"
            start = time.perf_counter()
            result.explore(tiles=None).save(ours)
            build = time.perf_counter() - start
            load, errors, requests = load_seconds(browser, ours, offline=True)
            rows.append([f"{n:,}", "geokmeans explore", f"{os.path.getsize(ours) / 1e6:.2f}",
                         f"{build:.2f}", load, errors, requests])

            plain = Path(tmp) / f"plain_{n}.html"
            parquet = Path(tmp) / f"points_{n}.parquet"
            result.points[["cluster", "geometry"]].to_parquet(parquet)
            try:
                done = subprocess.run([sys.executable, "-c", EXPLORE_SCRIPT, str(parquet),
                                       str(plain)], capture_output=True, text=True,
                                      timeout=args.explore_timeout, check=True)
                build = float(done.stdout.strip())
                load, errors, requests = load_seconds(browser, plain, offline=False)
                rows.append([f"{n:,}", "GeoDataFrame.explore",
                             f"{os.path.getsize(plain) / 1e6:.2f}", f"{build:.2f}", load, errors,
                             requests])
            except subprocess.TimeoutExpired:
                rows.append([f"{n:,}", "GeoDataFrame.explore",
                             "–", f"> {args.explore_timeout:.0f} (stopped)", "–", "–", "–"])
        browser.close()
    print(f"Machine: {machine()}\n")
    print(markdown_table(["points", "map", "HTML MB", "build+save s", "load s", "page errors",
                          "requests"], rows))


if __name__ == "__main__":
    main()
