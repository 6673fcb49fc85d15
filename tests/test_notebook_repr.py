"""How a ClusterResult shows itself: ``repr()`` and the notebook's ``_repr_html_``."""

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geokmeans as gk
from geokmeans._result_display import MAX_ROWS

DATA = Path(__file__).resolve().parents[1] / "data"
HOSTILE = "<script>alert('x')</script>&amp;\"{{ 7*7 }}"


class Cells(HTMLParser):
    """The tags and the text of each table cell of an HTML fragment."""

    def __init__(self, markup):
        super().__init__()
        self.tags, self.rows, self._cell = [], [], None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def facts_of(markup):
    """The summary table of the display as {name: value}."""
    return {row[0]: row[1] for row in Cells(markup).rows if len(row) == 2}


@pytest.fixture(scope="module")
def places_result():
    return gk.cluster(DATA / "dc_places.csv", 6, weight="population", random_state=0)


def test_summary_and_table(places_result):
    markup = places_result._repr_html_()
    facts = facts_of(markup)
    model = places_result.model
    assert facts["points"] == "200"
    assert facts["clusters"] == "6"
    assert facts["CRS used"] == "EPSG:32618"
    assert facts["inertia"] == f"{model.inertia_:.6g} m²"
    assert facts["iterations"] == str(model.n_iter_)
    assert float(facts["seconds"]) == pytest.approx(places_result.seconds, abs=0.01)
    assert facts["init"] == "k-means++" and facts["seed"] == "0" and facts["n_init"] == "auto"
    assert facts["weights"] == "column 'population'"
    assert "size limits" not in facts
    rows = [row for row in Cells(markup).rows if len(row) > 2]
    assert rows[0] == ["cluster", "points", "weight", "mean distance", "max distance", "lon",
                       "lat"]
    table = places_result.centroids
    for row, (_, c) in zip(rows[1:], table.iterrows(), strict=True):
        assert row[0] == str(c.cluster)
        assert row[1] == f"{c.n_points:,}"
        assert row[2] == f"{c.weight:,.0f}"  # populations: whole numbers, separators
        for text, metres in ((row[3], c.mean_distance_m), (row[4], c.max_distance_m)):
            assert text == (f"{metres / 1000:.2f} km" if metres >= 1000 else f"{metres:.0f} m")
        assert float(row[5]) == pytest.approx(c.geometry.x, abs=1e-5)
        assert float(row[6]) == pytest.approx(c.geometry.y, abs=1e-5)


def test_repr_is_one_paragraph(places_result):
    text = repr(places_result)
    assert "\n" not in text and len(text) < 600
    model = places_result.model
    for part in ("200 points in 6 clusters", "CRS EPSG:32618", f"{model.n_iter_} iterations",
                 f"inertia {model.inertia_:.6g} m²", "init k-means++", "seed 0",
                 "weights column 'population'", "labels in column 'cluster'"):
        assert part in text
    top = places_result.centroids.sort_values("weight").iloc[-1]
    assert f"Largest: cluster {top.cluster} ({top.n_points} points, weight " in text


def test_repr_names_the_input_and_counts_in_the_singular(places_result):
    assert f"input {str(DATA / 'dc_places.csv')!r}" in repr(places_result)
    assert facts_of(places_result._repr_html_())["input"] == str(DATA / "dc_places.csv")
    one = gk.cluster(np.array([[-77.0, 38.9]]), 1, random_state=0)
    text = repr(one)
    assert "1 point in 1 cluster," in text and "1 iteration," in text
    assert "(1 point, mean distance" in text and "input" not in text  # an array: no file
    grouped = gk.cluster(pd.DataFrame({"lon": [-77.0, -77.1], "lat": [38.9, 38.8],
                                       "g": ["a", "a"]}), 1, by="g", random_state=0)
    assert "2 points in 1 cluster (1 group by 'g', each clustered separately)" in repr(grouped)


def test_size_limits_and_more_clusters_than_shown():
    cities = pd.read_csv(DATA / "world_cities.csv").iloc[::20]  # 1,701 cities
    result = gk.cluster(cities, 30, size_min=20, size_max=1000, random_state=0)
    markup = result._repr_html_()
    facts = facts_of(markup)
    assert facts["size limits"] == "20..1,000 points"
    assert facts["CRS used"] == "sphere"
    rows = [row for row in Cells(markup).rows if len(row) > 2]
    assert len(rows) == 1 + MAX_ROWS
    assert rows[0][-1] == "size limits" and rows[1][-1] == "20..1,000"
    assert [int(r[0]) for r in rows[1:]] == list(range(MAX_ROWS))
    assert f"{30 - MAX_ROWS} more clusters" in markup
    assert "size limits 20..1,000 points" in repr(result)


def test_hostile_text_is_escaped(tmp_path):
    folder = tmp_path / "<img src=x onerror=alert(1)>"
    folder.mkdir()
    path = folder / "<script>p.csv"
    pd.read_csv(DATA / "dc_places.csv").to_csv(path, index=False)
    result = gk.cluster(path, 3, label_column=HOSTILE, random_state=0)
    markup = result._repr_html_()
    parsed = Cells(markup)
    assert set(parsed.tags) <= {"div", "style", "strong", "table", "thead", "tbody", "tr",
                                "th", "td", "p", "code"}
    assert "<script" not in markup and "<img" not in markup
    facts = facts_of(markup)
    assert facts["label column"] == HOSTILE  # shown as text, exactly
    assert facts["input"] == str(path)
    assert HOSTILE in repr(result) or repr(HOSTILE) in repr(result)


def test_million_points_stays_small():
    rng = np.random.default_rng(0)
    centres = np.column_stack([rng.uniform(-100, -80, 100), rng.uniform(30, 45, 100)])
    lonlat = centres[rng.integers(0, 100, 1_000_000)] + rng.normal(0, 0.3, (1_000_000, 2))
    result = gk.cluster(lonlat, 100, init=centres, max_iter=2)
    deferred = type(result._rows)
    markup = result._repr_html_()
    assert len(markup.encode()) < 20_000
    assert len(repr(result)) < 600
    assert deferred.__name__ == "PointTable"
    assert type(result._rows) is deferred  # the points' geometry not built to display
    facts = facts_of(markup)
    assert facts["points"] == "1,000,000"
    assert facts["init"] == "100 given centres"
    rows = [row for row in Cells(markup).rows if len(row) > 2]
    assert len(rows) == 1 + MAX_ROWS and "80 more clusters" in markup
    sizes = [int(r[1].replace(",", "")) for r in rows[1:]]
    assert sizes == result.centroids.n_points.head(MAX_ROWS).tolist()
    assert any("," in r[1] for r in rows[1:])  # thousands separators


def test_relabelled_ids_shown(places_result):
    fewer = gk.cluster(DATA / "dc_places.csv", 4, weight="population", random_state=1)
    relabelled = fewer.relabel(places_result)
    rows = [row for row in Cells(relabelled._repr_html_()).rows if len(row) > 2]
    assert [int(r[0]) for r in rows[1:]] == relabelled.cluster_ids.tolist()


def test_dask_result_displays_without_computing():
    dd = pytest.importorskip("dask.dataframe")
    import dask

    frame = pd.read_csv(DATA / "dc_places.csv")
    with dask.config.set(scheduler="synchronous"):
        result = gk.cluster(dd.from_pandas(frame, npartitions=4), 5, random_state=0,
                            weight="population")

    def refuse(*args, **kwargs):
        raise AssertionError("the display computed the dask graph")

    with dask.config.set(scheduler=refuse):
        markup = result._repr_html_()
        text = repr(result)
    facts = facts_of(markup)
    assert facts["points"] == "200, lazy in 4 dask partitions"
    assert facts["clusters"] == "5"
    assert "200, lazy in 4 dask partitions points in 5 clusters" not in text
    assert re.search(r"200 points \(lazy in 4 dask partitions\) in 5 clusters", text)
    # as the HTML says: the duplicates of a dask input are not counted
    assert facts["duplicate coordinates"] == "not counted (dask input)"
    assert "duplicates not counted (dask input)" in text
