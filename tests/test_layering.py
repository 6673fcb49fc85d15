"""The numeric core imports nothing geographic; numba lives in the kernels package."""

import ast
import re
from pathlib import Path

import geokmeans

PACKAGE = Path(geokmeans.__file__).parent
FORBIDDEN_IN_CORE = {"pandas", "geopandas", "pyproj", "shapely", "folium", "dask", "pyogrio"}


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_core_imports_no_geographic_library():
    files = sorted((PACKAGE / "core").rglob("*.py"))
    assert files
    for path in files:
        bad = FORBIDDEN_IN_CORE & set(imported_modules(path))
        assert not bad, f"{path.name} imports {bad}"


def test_numba_only_in_kernels():
    kernels = PACKAGE / "core" / "_kernels"
    users = {p for p in PACKAGE.rglob("*.py") if "numba" in set(imported_modules(p))}
    assert users, "no module imports numba"
    outside = sorted(str(p.relative_to(PACKAGE)) for p in users if kernels not in p.parents)
    assert not outside, f"numba imported outside core/_kernels/: {outside}"


# -- the layer order of the architecture, for every module -----------------------------------
# A module may import (at the top or lazily, inside a function) only modules of an earlier
# group. Every module of the package must appear here, so a new module is placed on purpose.
LAYERS = [
    ("_version", "errors"),
    ("_validation", "_formatting", "_map_assets",
     "_params", "_progress",  # _formatting: numbers for people; _params: the estimator
     "_memory"),  # API; _progress: tqdm bars when asked; _memory: freed pages given back
    ("core._kernels._common", "core._kernels._threads"),
    ("core._kernels.pair_lists",),  # move lists of the size-limited assignment
    ("core._kernels.hamerly", "core._kernels.kmeanspp", "core._kernels.lloyd",
     "core._kernels.local_search", "core._kernels.balance", "core._kernels.silhouette"),
    ("core._kernels",),
    ("core._rounding",),  # rounding the rows a size-by-weight relaxation splits
    ("core._source", "core._chunks", "core._seeding", "core._balance", "core._silhouette"),
    ("core._driver",),  # the iteration, once, over any source
    ("core._plans", "core._constrained"),  # seeding plans; size limits and fixed centres
    ("core._estimator",),
    ("core",),
    ("projection", "_hulls", "_protected", "_tables", "_columns",
     "_point_table",  # _point_table: a table whose Point geometry is built when asked for
     "_gps",  # points at (0, 0), duplicates, a seeding box beside the data
     "_palette"),  # the clusters' colours (Glasbey's palette) as data
    ("_hull_geometry", "_atomic", "_crs_lonlat",  # _crs_lonlat: any CRS to lon/lat, checked
     "_geoparquet"),  # GeoParquet's Arrow tables (WKB, or GeoArrow points)
    ("stats", "_writers", "_polygons"),  # geodesy and hulls; writing tables; polygons' points
    ("_power_cells",),  # power (Laguerre) cells in a plane
    ("_sphere_cells",),  # power cells on the sphere (a quadtree over lon/lat)
    ("territories",),  # one polygon per cluster, clipped to a region, in lon/lat
    ("io",),
    ("_partitioned",  # inputs in pieces (Dask reading)
     "_dask_source",  # the engine's source on Dask: partitions grouped per worker thread
     "_saved_centroids"),  # centroids files, tables or results read back for stable ids
    ("_dask_writers",),
    ("distributed",),  # the Dask source
    ("sources",),  # inputs as engine sources (memory, or Dask through distributed)
    ("_radius",),  # final statistics and split-to-radius over any source
    ("model",),
    ("_map_elements", "_map_polygons",  # folium elements and scripts; the input's polygons
     "_map_view"),  # what a map shows and where: the sample, the view across the 180° meridian
    ("maps", "_output"),  # _output: result tables in this process or partition by partition
    ("stable_ids", "_result_display",
     "_groups", "run_metadata",  # ids across runs, assign; a result's display; group-by
     # fits; a run's parameters as JSON
     "_renumbering", "_result_writing"),  # a result's ids renumbered; its tables written
    ("_cluster_checks",),  # a cluster() call checked before any data are read
    ("result",),
    ("selection",),
    ("_cli_parser",),
    ("_cli_checks", "_cli_inputs", "_cli_report"),  # the command line's options checked;
    # its other input files read; what it prints on stdout
    ("accessor", "cli"),
    ("__init__", "__main__"),
]


def _module_name(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _package_imports(path, modules):
    """The package modules ``path`` imports, lazily or not (``from .x import y`` counts
    ``x.y`` when that is a module, else ``x``)."""
    return _imports_of_text(path.read_text(), list(path.relative_to(PACKAGE).with_suffix("").parts),
                            modules)


def _imports_of_text(text, parts, modules):
    package = parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("geokmeans"):
            target = node.module.split(".")[1:]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("geokmeans."):
                    found.add(alias.name.split(".", 1)[1])
            continue
        else:
            continue
        for alias in node.names:
            name = ".".join(target + [alias.name])
            found.add(name if name in modules else ".".join(target) or "__init__")
    return found & set(modules)


def _graph():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _package_imports(path, paths) - {name} for name, path in paths.items()}


def test_every_module_has_a_layer():
    placed = [m for group in LAYERS for m in group]
    assert len(placed) == len(set(placed))
    missing = sorted(set(_graph()) - set(placed))
    assert not missing, f"modules without a layer in LAYERS: {missing}"


def test_imports_go_down_the_layers():
    rank = {m: i for i, group in enumerate(LAYERS) for m in group}
    upward = sorted(f"{m} imports {d}" for m, deps in _graph().items() for d in deps
                    if d in rank and rank[d] >= rank[m])
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_import_cycle():
    graph = _graph()
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                raise AssertionError(" -> ".join(trail + [node, dep]))
            if dep not in state:
                visit(dep, trail + [node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_model_result_and_maps_never_import_dask():
    graph = _graph()
    for module in ("model", "result", "maps", "selection"):
        assert not graph[module] & {"distributed", "_dask_writers"}, module
        assert "dask" not in set(imported_modules(PACKAGE / f"{module}.py")), module


def test_the_checker_sees_lazy_imports():
    # a control: the parser finds imports inside functions, of each form
    path = PACKAGE / "projection.py"
    modules = set(_graph())
    found = _package_imports(path, modules)
    assert "errors" in found
    text = "def late():\n    from .result import ClusterResult\n    from . import maps\n"
    assert {"result", "maps"} <= _imports_of_text(text, ["projection"], modules)


def test_dask_is_written_by_its_own_module():
    # only _dask_writers writes dask frames; the other writers hand lazy tables to it
    for name in ("_writers.py", "_tables.py", "_atomic.py", "io.py", "result.py"):
        assert "dask" not in set(imported_modules(PACKAGE / name)), name


def _layout_names(readme):
    """The module names (``x.py``, ``core/x.py``, ``core/_kernels/``) in the first column of
    the README's "Layout" table."""
    section = re.split(r"^## Layout\n", readme, maxsplit=1, flags=re.MULTILINE)[1]
    section = section.split("\n## ", 1)[0]
    cells = re.findall(r"^\| (.*?) \|", section, flags=re.MULTILINE)
    return set(re.findall(r"`([^`]+)`", " ".join(cells)))


def _unlisted(modules, names):
    return sorted(m for m in modules if m not in names
                  and not any(n.endswith("/") and m.startswith(n) for n in names))


def test_readme_layout_lists_every_module():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    modules = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")]
    missing = _unlisted(modules, _layout_names(readme))
    assert not missing, f"modules without a row in the README's Layout table: {missing}"


def test_the_layout_check_sees_a_missing_module():
    # a control: a table without a module's row, and a folder row covering its modules
    readme = ("## Layout\n\n| module | its job |\n|---|---|\n| `io.py`, `core/_k/` | x |\n"
              "\n## Next\n| `maps.py` | not the layout |\n")
    names = _layout_names(readme)
    assert names == {"io.py", "core/_k/"}
    assert _unlisted(["io.py", "core/_k/a.py", "maps.py"], names) == ["maps.py"]
