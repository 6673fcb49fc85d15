"""Inputs no output may touch: files (in any spelling, links included), directories
(nothing inside them) and glob patterns (no file they would match)."""

import contextlib
import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["InputGlob", "protected_entries", "refusal", "same_file", "source_entries"]


def same_file(a, b):
    """True when paths ``a`` and ``b`` name the same file.

    Compares resolved paths (``.``, ``..`` and symbolic links), and for existing files
    their device and inode, so hard links count as the same file.
    """
    a, b = Path(a), Path(b)
    with contextlib.suppress(OSError, ValueError):
        if os.path.samefile(a, b):
            return True
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return os.path.abspath(a) == os.path.abspath(b)


@dataclass(frozen=True)
class InputGlob:
    """The files a glob pattern matches (a partitioned input): no output may be written
    where the pattern would read it as input on a later run (``glob.glob`` rules: ``*``,
    ``?`` and ``[...]`` within one path component, names starting with ``.`` only by a
    pattern component that does)."""

    pattern: str

    def __post_init__(self):  # absolute now: the working directory may change later
        object.__setattr__(self, "_absolute", os.path.abspath(self.pattern))

    def matches(self, path):
        """Whether ``path`` (as written, or resolved) is one the pattern matches."""
        pattern = Path(self._absolute).parts
        for spelling in {Path(os.path.abspath(path)), _resolved(path)}:
            parts = spelling.parts
            if len(parts) != len(pattern):
                continue
            if all(fnmatch.fnmatchcase(part, rule)
                   and (not part.startswith(".") or rule.startswith("."))
                   for part, rule in zip(parts, pattern, strict=True)):
                return True
        return False


def _resolved(path):
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def refusal(path, described, target, protected):
    """The message refusing output ``path`` (``target`` resolved, ``described`` as named
    in messages) when it would write over the input ``protected``: that file, a path
    inside that directory, a path that ``InputGlob`` matches; None when it would not."""
    if isinstance(protected, InputGlob):
        if protected.matches(path):
            return (f"refusing to write {described}: it matches the input "
                    f"pattern '{protected.pattern}', so a later run would read it as input; "
                    "choose another output path.")
        return None
    if os.path.isdir(protected):
        folder = _resolved(protected)
        if target == folder or folder in target.parents:
            return (f"refusing to write {described} inside the input directory "
                    f"'{protected}'; choose another output path.")
        return None
    if same_file(target, protected):
        return (f"refusing to overwrite the input file '{path}'; choose another output "
                "path.")
    return None


def source_entries(source):
    """A result's ``source`` (a path, a tuple of paths, or None) as a list."""
    if source is None:
        return []
    return list(source) if isinstance(source, (tuple, list)) else [source]


def protected_entries(protected):
    """``protected`` as a list: paths (files or directories) and ``InputGlob``s."""
    return [p if isinstance(p, InputGlob) else Path(p) for p in protected if p is not None]
