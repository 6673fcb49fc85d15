"""No module of the package over 500 lines, no function (methods and nested functions
included) over 60: a longer one is split by responsibility."""

import ast
from pathlib import Path

import geokmeans

PACKAGE = Path(geokmeans.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def _label(path):
    return f"{PACKAGE.name}/{path.relative_to(PACKAGE).as_posix()}"


def long_functions(text, label, limit=MAX_FUNCTION_LINES):
    """``label::name (lines)`` for each function or method of ``text`` longer than ``limit``
    lines, counted from its ``def`` (decorators excluded) to its last line."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append(f"{label}::{node.name} ({lines} lines)")
    return found


def test_no_module_over_500_lines():
    long = [f"{_label(p)} ({n} lines)" for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert not long, "modules over 500 lines:\n" + "\n".join(long)


def test_no_function_over_60_lines():
    long = [entry for path in _modules()
            for entry in long_functions(path.read_text(), _label(path))]
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def test_the_checker_counts_methods_and_nested_functions():
    # a control: a method and a nested function over the limit are both found, a short one not
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    text = (f"class A:\n    def method(self):\n{body}\n\n"
            f"def outer():\n    def inner():\n{body}\n    return inner\n\n"
            "def short():\n    return 1\n")
    found = long_functions(text, "m.py")
    assert sorted(found) == ["m.py::inner (61 lines)", "m.py::method (61 lines)",
                             "m.py::outer (63 lines)"]
