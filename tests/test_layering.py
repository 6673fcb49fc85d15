"""The numeric core imports nothing geographic; numba lives in the kernels package."""

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
