"""Harness of the hostile-input suite (``tests/test_hostile_*.py``).

Each case of a table is one bad input, through the library or the command line, and
asserts three things: the exception type (library) or exit code (CLI), a message that
names the culprit (every ``needle`` appears in it), and that the case's folder is left as
it was: no file behind (outputs, temporary files), no file changed (an input overwritten
keeps its name, so the contents are compared too).
"""

import contextlib
import hashlib
import io
import os
from pathlib import Path

import pytest

__all__ = ["CliCase", "LibCase", "check_cli_case", "check_lib_case", "files_under", "run_cli",
           "snapshot"]


class LibCase:
    """A library call ``call(folder)`` that must raise ``error`` naming ``needles``."""

    def __init__(self, id, call, error, *needles):
        self.id, self.call, self.error, self.needles = id, call, error, needles

    def param(self):
        return pytest.param(self, id=self.id)


class CliCase:
    """``geokmeans ARGS`` (``args(folder)`` gives them) must exit ``code`` naming ``needles``."""

    def __init__(self, id, args, code, *needles):
        self.id, self.args, self.code, self.needles = id, args, code, needles

    def param(self):
        return pytest.param(self, id=self.id)


def files_under(folder):
    """Every path below ``folder`` (files and directories), relative, sorted."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def snapshot(folder):
    """``{relative path: what it is}`` below ``folder``: a symbolic link's target, a
    directory, a regular file's SHA-256 (links never followed)."""
    folder = Path(folder)
    state = {}
    for path in folder.rglob("*"):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            state[name] = "-> " + os.readlink(path)
        elif path.is_dir():
            state[name] = "dir"
        elif path.is_file():
            state[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[name] = "special"
    return state


def run_cli(argv):
    """Run the command line in this process; returns (exit code, stdout, stderr)."""
    from geokmeans.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _assert_names(message, needles):
    for needle in needles:
        assert needle in message, f"{needle!r} not named in: {message}"


def check_lib_case(case, folder):
    """Run a ``LibCase`` in ``folder`` (holding its inputs) and check the three promises."""
    before = snapshot(folder)
    with pytest.raises(case.error) as info:
        case.call(folder)
    _assert_names(str(info.value), case.needles)
    assert snapshot(folder) == before, "a file was left behind or changed"


def check_cli_case(case, folder):
    """Run a ``CliCase`` in ``folder`` and check code, one-line message, nothing left."""
    before = snapshot(folder)
    code, out, err = run_cli(case.args(folder))
    assert code == case.code, f"exit {code}, expected {case.code}; stderr: {err}"
    errors = [line for line in err.splitlines() if line.startswith("geokmeans: error:")]
    assert len(errors) == 1, f"expected one 'geokmeans: error:' line, got: {err!r}"
    assert not any(line.startswith(("Traceback", "usage:")) for line in err.splitlines())
    _assert_names(errors[0], case.needles)
    assert snapshot(folder) == before, "a file was left behind or changed"
