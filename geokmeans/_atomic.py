"""All-or-nothing outputs: temporary files beside their targets, renamed once all are written.

``OutputSet`` reserves a temporary path beside each output; writers write there; only when
every writer has succeeded are the temporaries renamed onto their targets. On any failure
(an exception, ``KeyboardInterrupt``, a signal the caller turns into an exception) every
temporary file is removed, with the sidecars SQLite/GDAL may leave (``-journal``, ``-wal``,
``-shm``), and no target is touched.

Temporary names carry the host and the process id,
``.NAME.geokmeans-HOST-PID-TOKEN.tmp.EXT``, so that a later run on the same host can
remove those left by a process that was killed (``SIGKILL``, power loss) without touching
those of a live process or of another host sharing the folder. ``HOST`` is the host name
made file-safe (at most 24 characters of ``[A-Za-z0-9_]``) followed by ``_`` and 10 hex
digits of its SHA-256, so that host names differing only in punctuation or beyond 24
characters give different tokens. A temporary directory (a partitioned output) is created
with a marker file beside it (the same name plus ``-dir``): cleanup removes a directory
only when its marker is there, and only names of exactly this form (never a symbolic
link, never through one).
"""

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from ._protected import InputGlob, protected_entries, refusal, same_file
from .errors import DataTypeError, InputError

__all__ = ["InputGlob", "OutputSet", "atomic_path", "remove_stale_temporaries", "same_file"]

_SIDECARS = ("-journal", "-wal", "-shm")  # left by SQLite (GeoPackage) beside a file
_DIR_MARKER = "-dir"  # beside a temporary directory: it is ours, cleanup may remove it
_STEM_BYTES = 100  # of the target's name kept in a temporary name (at most)
_SUFFIX_BYTES = 16
_NAME_MAX = 255  # where os.pathconf cannot tell
_NO_GLOB = re.compile(r"[*?\[]")  # kept out of temporary names: dask and fsspec glob paths
_PATH_MAX = 4096
_TEMP_NAME = re.compile(
    r"\.(?P<stem>.+)\.geokmeans-(?P<host>[A-Za-z0-9_]{1,24}_[0-9a-f]{10})"
    r"-(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}\.(?P<kind>tmp|bak)(?:\.[^./]{1,15})?"
    r"(?P<sidecar>-journal|-wal|-shm|-dir)?",
    re.DOTALL,
)


def _host():
    """This host's token in temporary names: the name made file-safe and shortened, then
    ``_`` and 10 hex digits of the SHA-256 of the whole name (distinct names, distinct
    tokens)."""
    name = socket.gethostname()
    readable = re.sub(r"[^A-Za-z0-9]", "_", name)[:24] or "host"
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{readable}_{digest}"


def _is_alive(pid):
    """Whether process ``pid`` may be running on this host (unknown counts as alive)."""
    if pid <= 0 or pid == os.getpid() or os.name == "nt":  # on Windows os.kill terminates
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # a live process of another user; a pid beyond range
        return True
    return True


def _remove(path):
    """Remove a file, symlink or directory tree at ``path`` (missing is fine)."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _stale_entries(folder, host):
    """``(directories, files)``: entries of ``folder`` named as this project names its
    temporaries, of ``host``, of a process that is gone. Symbolic links are never
    listed; directories only when their marker file is there."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return [], []
    names = {entry.name: entry for entry in entries}
    directories, files = [], []
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None or match["host"] != host or _is_alive(int(match["pid"])):
            continue
        try:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                marker = names.get(entry.name + _DIR_MARKER)
                if match["kind"] == "tmp" and match["sidecar"] is None and marker is not None \
                        and marker.is_file(follow_symlinks=False):
                    directories.append(entry)
            elif entry.is_file(follow_symlinks=False):
                files.append(entry)
        except OSError:
            continue
    # a marker stays while its directory is there (removed with it, or left for later)
    files = [f for f in files if not (f.name.endswith(_DIR_MARKER)
                                      and f.name[:-len(_DIR_MARKER)] in names)]
    return directories, files


def remove_stale_temporaries(folder):
    """Remove the temporary outputs in ``folder`` left by dead processes of this host.

    Only entries whose whole name has the form this project gives its temporaries,
    ``.NAME.geokmeans-HOST-PID-TOKEN.tmp[.EXT]`` (or ``.bak``, with SQLite's
    ``-journal``/``-wal``/``-shm``), with this host's token and the id of a process that
    no longer exists, are removed: regular files, and directories only when their
    ``-dir`` marker file is beside them (the partitioned outputs this project creates).
    Symbolic links are never removed nor followed. Those of other hosts and of live
    processes are left alone. Returns the removed paths.
    """
    removed = []
    directories, files = _stale_entries(folder, _host())
    for entry in directories:
        try:
            shutil.rmtree(entry.path)  # never follows the symbolic links inside
            os.unlink(entry.path + _DIR_MARKER)
        except OSError:  # another process cleaning too, or no permission: not ours to fight
            continue
        removed.append(Path(entry.path))
    for entry in files:
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


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


def _limits(folder):
    """``(NAME_MAX, PATH_MAX)`` in bytes of the file system holding ``folder``."""
    limits = []
    for name, default in (("PC_NAME_MAX", _NAME_MAX), ("PC_PATH_MAX", _PATH_MAX)):
        try:
            value = os.pathconf(folder, name)
        except (OSError, ValueError, AttributeError):  # not POSIX, or unknown there
            value = None
        limits.append(value if value is not None and value > 0 else default)
    return tuple(limits)


def _temp_name(target, kind, name_max=_NAME_MAX, token=None):
    """``.NAME.geokmeans-HOST-PID-TOKEN.KIND.EXT`` for ``target`` (kind ``tmp``/``bak``),
    with ``NAME`` shortened so that the name and its longest sidecar fit ``name_max``
    bytes and ``*``, ``?``, ``[`` made ``_`` (libraries given the path would take it for
    a glob); None when even a one-byte ``NAME`` does not fit."""
    suffix = os.fsencode(target.suffix)[:_SUFFIX_BYTES].decode("utf-8", "ignore")
    if suffix == ".":
        suffix = ""
    token = secrets.token_hex(4) if token is None else token
    tail = f".geokmeans-{_host()}-{os.getpid()}-{token}.{kind}{suffix}"
    longest_sidecar = max(len(s) for s in (*_SIDECARS, _DIR_MARKER))
    budget = min(_STEM_BYTES, name_max - len(os.fsencode(tail)) - 1 - longest_sidecar)
    if budget < 1:
        return None
    stem = os.fsencode(target.name)[:budget].decode("utf-8", "ignore") or "out"
    return _NO_GLOB.sub("_", f".{stem}{tail}")


def _check_length(path, label, target):
    """Refuse a name (or a path) longer than the file system of its folder allows, and a
    folder whose limits leave no room for the temporary name beside it."""
    name_max, path_max = _limits(target.parent)
    size = len(os.fsencode(target.name))
    if size > name_max:
        raise InputError(f"cannot write {_describe(path, label)}: its name is {size} bytes "
                         f"long and the file system of '{target.parent}' allows at most "
                         f"{name_max}; choose a shorter name.")
    temporary = _temp_name(target, "tmp", name_max, token="0" * 8)
    if temporary is None:
        raise InputError(f"cannot write {_describe(path, label)}: the file system of "
                         f"'{target.parent}' allows names of at most {name_max} bytes, too "
                         "few for the temporary file written first.")
    longest = max(len(os.fsencode(str(target))),
                  len(os.fsencode(str(target.parent / temporary))) + len("-journal"))
    if longest >= path_max:
        raise InputError(f"cannot write {_describe(path, label)}: its full path is too long "
                         f"(the file system allows {path_max - 1} bytes); choose a shorter "
                         "path.")


def _probe(path, target, shown):
    """Refuse a folder where no new file can be created although ``os.access`` says it is
    writable (``/proc``, ``/sys``, some network and FUSE file systems, root on a read-only
    bind): a temporary of this project's form is created there and removed at once."""
    probe = target.parent / _temp_name(target, "tmp", _limits(target.parent)[0])
    taken = False
    try:  # removed whatever happens, a signal turned into an exception included
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # a name taken by chance: the folder accepts files
        taken = True
    except OSError as exc:
        raise InputError(f"cannot write '{path}': no new file can be created in directory "
                         f"'{shown}' ({exc.strerror or exc}).") from None
    finally:
        if not taken:
            with contextlib.suppress(OSError):
                os.unlink(probe)


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
    protected : iterable of path or InputGlob, optional
        Inputs never to be written: a file (compared with ``same_file``, so links
        count), a directory (no output inside it, at any depth) or an ``InputGlob``
        (no output its pattern matches).

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
        self._protected = protected_entries(protected)
        self._outputs = []
        self._cleaned = set()
        self._finished = False

    def check(self, path, *, label=None, directory=False, protected=()):
        """Check that ``path`` can be written (without reserving it); returns its target.

        Refuses, with an ``InputError`` naming the path: a protected input (a file, a
        path inside a protected directory, a path a protected ``InputGlob`` matches), a
        path already reserved in this set, a directory (or, for ``directory=True``, any
        existing path), a special file (device, FIFO), a missing or non-directory parent,
        a parent that is not writable, a name (or the temporary name beside it) longer
        than the folder's file system allows.
        """
        path = _as_path(path, label)
        try:
            target = path.resolve()
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot write {_describe(path, label)}: {exc}.") from None
        for other in [*self._protected, *protected_entries(protected)]:
            message = refusal(path, _describe(path, label), target, other)
            if message is not None:
                raise InputError(message)
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
        _check_length(path, label, target)
        _probe(path, target, shown)
        return target

    def reserve(self, path, *, label=None, directory=False, protected=()):
        """A temporary path for output ``path``, renamed onto it by ``commit``.

        The temporary does not exist yet: the writer creates it (a file, or a directory
        when ``directory=True``, whose marker file is created here). Before the first
        reservation in a folder, temporaries left there by dead processes of this host
        are removed.
        """
        if self._finished:
            raise RuntimeError("this OutputSet was already committed or aborted.")
        target = self.check(path, label=label, directory=directory, protected=protected)
        if target.parent not in self._cleaned:
            remove_stale_temporaries(target.parent)
            self._cleaned.add(target.parent)
        name_max = _limits(target.parent)[0]
        while True:
            tmp = target.parent / _temp_name(target, "tmp", name_max)
            if not any(os.path.lexists(f"{tmp}{s}") for s in ("", *_SIDECARS, _DIR_MARKER)):
                break
        output = _Output(_as_path(path, label), target, tmp, label, directory)
        self._outputs.append(output)
        if directory:  # created before the directory: cleanup removes only marked ones
            os.close(os.open(f"{tmp}{_DIR_MARKER}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
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
            for leftover in (out.backup, Path(f"{out.tmp}{_DIR_MARKER}") if out.directory
                             else None):
                if leftover is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(leftover)
        for parent in {out.target.parent for out in self._outputs}:
            _fsync(parent, directory=True)

    def abort(self):
        """Remove every temporary (and its sidecars); leave every target as it was."""
        self._finished = True
        for out in self._outputs:
            for path in [out.tmp, *(Path(f"{out.tmp}{s}") for s in _SIDECARS), out.backup,
                         Path(f"{out.tmp}{_DIR_MARKER}") if out.directory else None]:
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
        backup = out.target.parent / _temp_name(out.target, "bak",
                                                 _limits(out.target.parent)[0])
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
    and ``path`` is left as it was. Refuses to write over an input listed in
    ``protected`` (see ``OutputSet``), into a missing or read-only folder, or onto a
    directory.
    """
    with OutputSet(protected) as outputs:
        yield outputs.reserve(path, directory=directory)
