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
