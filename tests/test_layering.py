"""The numeric core imports nothing geographic; numba lives in one kernels module."""

import ast
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
    files = sorted((PACKAGE / "core").glob("*.py"))
    assert files
    for path in files:
        bad = FORBIDDEN_IN_CORE & set(imported_modules(path))
        assert not bad, f"{path.name} imports {bad}"


def test_numba_only_in_kernels():
    users = sorted(p.name for p in PACKAGE.rglob("*.py") if "numba" in set(imported_modules(p)))
    assert users == ["_kernels.py"]


def relative_imports(node):
    """Modules of the package imported (``from .x import``) anywhere inside ``node``."""
    for child in ast.walk(node):
        if isinstance(child, ast.ImportFrom) and child.level > 0:
            yield child.module or ""


def test_dask_is_written_by_its_own_module():
    # only _dask_writers writes dask frames; the other writers hand lazy tables to it
    for name in ("_writers.py", "_tables.py", "_atomic.py", "io.py", "result.py"):
        assert "dask" not in set(imported_modules(PACKAGE / name)), name
    for name in ("_writers.py", "_dask_writers.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        assert "distributed" not in set(relative_imports(tree)), name
    tree = ast.parse((PACKAGE / "result.py").read_text())
    result = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ClusterResult")
    for method in result.body:
        if isinstance(method, ast.FunctionDef) and method.name != "hulls":  # hulls: the back end
            assert "distributed" not in set(relative_imports(method)), method.name
