"""``examples/analyst.ipynb``: kept without outputs, in step with its builder script, and
run top to bottom in a Jupyter kernel (``nbclient``) on the bundled data."""

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "analyst.ipynb"


def _builder():
    """``scripts/build_analyst_notebook.py``, loaded from its file (a script, not a module
    of the package)."""
    path = ROOT / "scripts" / "build_analyst_notebook.py"
    spec = importlib.util.spec_from_file_location("build_analyst_notebook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert not [cell.source for cell in notebook.cells if cell.source.startswith("\\")]


def test_no_cell_starts_with_a_stray_backslash():
    # a builder string opened with an escaped backslash gives a cell whose first line is "\"
    for notebook in (nbformat.read(NOTEBOOK, as_version=4), _builder().build()):
        for cell in notebook.cells:
            assert not cell.source.startswith("\\"), cell.source[:40]


def test_notebook_is_what_its_builder_writes():
    stored = nbformat.read(NOTEBOOK, as_version=4)
    built = _builder().build()
    assert [(c.cell_type, c.source) for c in stored.cells] == \
        [(c.cell_type, c.source) for c in built.cells]


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path):
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1  # the paths, replaced as papermill would
    parameters[0].source = (f"from pathlib import Path\nDATA = Path({str(ROOT / 'data')!r})\n"
                            f"OUT = Path({str(tmp_path / 'out')!r})")
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    plain = {n: "".join(out.get("data", {}).get("text/plain", "") for out in cell.outputs)
             for n, cell in enumerate(code)}
    streams = "".join(out.get("text", "") for cell in code for out in cell.outputs
                      if out.output_type == "stream")
    assert "Warning" not in streams  # no warning on the way (a bar's fallback, a fit)
    assert "k sweep: 100%" in streams  # progress=True drew its bar to the end
    # the result's summary, in text and as HTML
    summary = next(cell for cell in code if cell.source.endswith("\nresult"))
    assert summary.outputs[0]["data"]["text/plain"].startswith(
        "ClusterResult: 692 points in 7 clusters")
    assert "<table" in summary.outputs[0]["data"]["text/html"]
    # relabel_like kept the 7 numbers of the first run and gave the new cluster number 7
    relabelled = next(text for text in plain.values() if "without relabel_like" in text)
    rows = [line.split() for line in relabelled.splitlines()[1:]]
    assert [int(row[1]) for row in rows] == list(range(8))
    assert [row[-1] == "NaN" for row in rows] == [False] * 7 + [True]
    # the map page carries its own scripts: no script or style from a network
    page = (tmp_path / "out" / "europe_clusters.html").read_text(encoding="utf-8")
    assert "L.map(" in page or "L.map" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", page)
    # the export holds both layers and the run's parameters, grouped by country
    collection = json.loads((tmp_path / "out" / "europe_clusters.geojson").read_text())
    layers = {feature["geokmeans:layer"] for feature in collection["features"]}
    assert layers == {"points", "centroids"}
    assert collection["geokmeans"]["parameters"]["by"] == "country"
    countries = {f["properties"]["country"] for f in collection["features"]
                 if f["geokmeans:layer"] == "centroids"}
    assert countries == {"DE", "ES", "FR", "IT"}
