"""All-or-nothing outputs: temporary files beside their targets, renamed once all are written.

``OutputSet`` reserves a temporary path beside each output; writers write there; only when
every writer has succeeded are the temporaries renamed onto their targets. On any failure
(an exception, ``KeyboardInterrupt``, a signal the caller turns into an exception) every
temporary file is removed, with the sidecars SQLite/GDAL may leave (``-journal``, ``-wal``,
``-shm``), and no target is touched.

Temporary names carry the host name and the process id,
``.NAME.geokmeans-HOST-PID-TOKEN.tmp.EXT``, so that a later run on the same host can
remove those left by a process that was killed (``SIGKILL``, power loss) without touching
those of a live process or of another host sharing the folder.
"""

import contextlib
import os
import re
import secrets
import shutil
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import DataTypeError, InputError

__all__ = ["OutputSet", "atomic_path", "remove_stale_temporaries", "same_file"]

_SIDECARS = ("-journal", "-wal", "-shm")
_STEM_BYTES = 100  # of the target's name kept in a temporary name (NAME_MAX is 255 bytes)
_SUFFIX_CHARS = 16
_TEMP_NAME = re.compile(
    r"^\..*\.geokmeans-(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)-[0-9a-f]{8}\.(?:tmp|bak)"
)


def _host():
    """This host's name with every character other than [A-Za-z0-9] replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def _is_alive(pid):
    """Whether process ``pid`` may be running on this host (unknown counts as alive)."""
    if pid <= 0 or pid == os.getpid() or os.name == "nt":  # on Windows os.kill terminates
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: a live process of another user
        return True
    return True


def _remove(path):
    """Remove a file, symlink or directory tree at ``path`` (missing is fine)."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def remove_stale_temporaries(folder):
    """Remove the temporary outputs in ``folder`` left by dead processes of this host.

    Only names of the form ``.NAME.geokmeans-HOST-PID-TOKEN.tmp...`` (or ``.bak...``) with
    this host's name and the id of a process that no longer exists are removed; those of
    other hosts and of live processes are left alone. Returns the removed paths.
    """
    host = _host()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or match["host"] != host or _is_alive(int(match["pid"])):
            continue
        try:
            _remove(entry.path)
        except OSError:  # another process cleaning too, or no permission: not ours to fight
            continue
        removed.append(Path(entry.path))
    return removed


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


def _umask():
    """The process's umask, read without changing it where the system allows."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: the classic read-and-restore
    os.umask(mask)
    return mask


def _fsync(path, directory=False):
    """Flush ``path`` to disk (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _as_path(path, label):
    try:
        text = os.fspath(path)
    except TypeError:
        what = f"{label} output" if label else "output"
        raise DataTypeError(f"{what} path must be a str or os.PathLike; got "
                            f"{type(path).__name__}.") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text:
        raise InputError(f"{label + ' output' if label else 'output'} path is empty.")
    return Path(text)


def _temp_name(target, kind):
    """``.NAME.geokmeans-HOST-PID-TOKEN.KIND.EXT`` for ``target`` (kind ``tmp``/``bak``)."""
    stem = os.fsencode(target.name)[:_STEM_BYTES].decode("utf-8", "ignore") or "out"
    suffix = target.suffix[:_SUFFIX_CHARS]
    token = secrets.token_hex(4)
    return f".{stem}.geokmeans-{_host()}-{os.getpid()}-{token}.{kind}{suffix}"


@dataclass
class _Output:
    path: Path        # as given
    target: Path      # resolved
    tmp: Path
    label: str | None
    directory: bool
    backup: Path | None = None


def _describe(path, label):
    return f"'{path}'" + (f" ({label})" if label else "")


class OutputSet:
    """Outputs written all-or-nothing: nothing appears until every one is written.

    Use as a context manager: ``reserve`` returns a temporary path beside each output for
    its writer; when the block ends without error, every temporary is renamed onto its
    target (replacing a file keeps that file's permission bits, and its owner and group
    where the process may set them; a new file gets ``0o666 & ~umask``, a new directory
    ``0o777 & ~umask``); on any error or interruption
    all temporaries are removed and no target is touched.

    Parameters
    ----------
    protected : iterable of path, optional
        Files never to be written (e.g. the input), compared with ``same_file``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with OutputSet() as outputs:
    ...     outputs.reserve(folder / "a.txt").write_text("a")
    ...     outputs.reserve(folder / "b.txt").write_text("b")
    1
    1
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt', 'b.txt']
    >>> import shutil; shutil.rmtree(folder)
    """

    def __init__(self, protected=()):
        self._protected = [Path(p) for p in protected if p is not None]
        self._outputs = []
        self._cleaned = set()
        self._finished = False

    def check(self, path, *, label=None, directory=False, protected=()):
        """Check that ``path`` can be written (without reserving it); returns its target.

        Refuses, with an ``InputError`` naming the path: a protected file (the input), a
        path already reserved in this set, a directory (or, for ``directory=True``, any
        existing path), a special file (device, FIFO), a missing or non-directory parent,
        a parent that is not writable.
        """
        path = _as_path(path, label)
        try:
            target = path.resolve()
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot write {_describe(path, label)}: {exc}.") from None
        for other in [*self._protected, *(Path(p) for p in protected if p is not None)]:
            if same_file(target, other):
                raise InputError(f"refusing to overwrite the input file '{path}'; choose "
                                 "another output path.")
        for out in self._outputs:
            if same_file(target, out.target):
                raise InputError(f"{_describe(path, label)} and {_describe(out.path, out.label)} "
                                 "are the same file; give each output its own path.")
        if directory and os.path.lexists(target):
            raise InputError(f"output '{path}' exists; choose a new directory for partitioned "
                             "output.")
        if os.path.lexists(target):
            mode = os.stat(target).st_mode if target.exists() else 0
            if stat.S_ISDIR(mode):
                raise InputError(f"cannot write {_describe(path, label)}: it is a directory.")
            if mode and not stat.S_ISREG(mode):
                raise InputError(f"cannot write {_describe(path, label)}: it is not a regular "
                                 "file.")
        parent = target.parent
        shown = target.parent if os.path.islink(path) else path.parent  # where a link points
        if not parent.exists():
            raise InputError(f"cannot write '{path}': directory '{shown}' does not exist.")
        if not parent.is_dir():
            raise InputError(f"cannot write '{path}': '{shown}' is not a directory.")
        if not os.access(parent, os.W_OK):
            raise InputError(f"cannot write '{path}': directory '{shown}' is not writable.")
        return target

    def reserve(self, path, *, label=None, directory=False, protected=()):
        """A temporary path for output ``path``, renamed onto it by ``commit``.

        The temporary does not exist yet: the writer creates it (a file, or a directory
        when ``directory=True``). Before the first reservation in a folder, temporaries
        left there by dead processes of this host are removed.
        """
        if self._finished:
            raise RuntimeError("this OutputSet was already committed or aborted.")
        target = self.check(path, label=label, directory=directory, protected=protected)
        if target.parent not in self._cleaned:
            remove_stale_temporaries(target.parent)
            self._cleaned.add(target.parent)
        while True:
            tmp = target.parent / _temp_name(target, "tmp")
            if not os.path.lexists(tmp):
                break
        self._outputs.append(_Output(_as_path(path, label), target, tmp, label, directory))
        return tmp

    def commit(self):
        """Rename every temporary onto its target; on failure restore and remove all.

        A target replaced before a later rename fails is put back from a hard link made
        beforehand (where the file system allows hard links).
        """
        if self._finished:
            raise RuntimeError("this OutputSet was already committed or aborted.")
        done = []
        try:
            for out in self._outputs:
                if not os.path.lexists(out.tmp):
                    raise RuntimeError(f"output {_describe(out.path, out.label)} was not "
                                       "written.")
                self._set_mode(out)
                if not out.directory:
                    _fsync(out.tmp)
            for out in self._outputs:
                self._backup(out)
            for out in self._outputs:
                os.replace(out.tmp, out.target)
                done.append(out)
        except BaseException:
            for out in reversed(done):
                with contextlib.suppress(OSError):
                    if out.backup is not None:
                        os.replace(out.backup, out.target)
                    else:
                        _remove(out.target)
            self.abort()
            raise
        self._finished = True
        for out in self._outputs:
            if out.backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(out.backup)
        for parent in {out.target.parent for out in self._outputs}:
            _fsync(parent, directory=True)

    def abort(self):
        """Remove every temporary (and its sidecars); leave every target as it was."""
        self._finished = True
        for out in self._outputs:
            for path in [out.tmp, *(Path(f"{out.tmp}{s}") for s in _SIDECARS), out.backup]:
                if path is not None:
                    with contextlib.suppress(OSError):
                        _remove(path)

    @staticmethod
    def _set_mode(out):
        """The replaced file's mode (and owner, where allowed), or ``0o666 & ~umask``."""
        if os.path.exists(out.target):
            old = os.stat(out.target)
            mode = stat.S_IMODE(old.st_mode)
            if hasattr(os, "chown"):
                with contextlib.suppress(OSError):  # only root may give files away
                    os.chown(out.tmp, old.st_uid, old.st_gid)
        else:
            mode = (0o777 if out.directory else 0o666) & ~_umask()
        os.chmod(out.tmp, mode)

    @staticmethod
    def _backup(out):
        if out.directory or not os.path.isfile(out.target):
            return
        backup = out.target.parent / _temp_name(out.target, "bak")
        try:
            os.link(out.target, backup)
        except OSError:  # no hard links here: that target cannot be put back
            return
        out.backup = backup

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


@contextlib.contextmanager
def atomic_path(path, protected=(), *, directory=False):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    A one-output ``OutputSet``: on any error (or interruption) the temporary is removed
    and ``path`` is left as it was. Refuses to write over a file listed in ``protected``
    (e.g. the input), into a missing or read-only folder, or onto a directory.
    """
    with OutputSet(protected) as outputs:
        yield outputs.reserve(path, directory=directory)
