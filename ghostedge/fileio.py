"""Small file helpers shared by every part: atomic writes, hashing, output-path checks."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from ghostedge.errors import DiskFullError, GhostEdgeError, OutputExistsError, UsageError

PathLike = Union[str, "os.PathLike[str]"]


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(dest: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only if the block succeeds.

    On any exception the temporary file is removed, so nothing half-written is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix + ".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(dest: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically (temp file + rename)."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def atomic_write_text(dest: PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``dest`` atomically."""
    return atomic_write_bytes(dest, text.encode("utf-8"))


def atomic_write_json(dest: PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return atomic_write_text(dest, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def check_output_path(path: PathLike, force: bool = False) -> Path:
    """Refuse an existing output (unless ``force``) or an unwritable folder, before any work starts."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(
            f"Output {path} already exists", "ghostedge does not overwrite files by default",
            "Pass --force to overwrite it, or choose another --output folder")
    if path.exists() and path.is_dir():
        raise OutputExistsError(f"Output {path} is a folder", "a file is to be written there",
                                "Choose another output path")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GhostEdgeError(f"Cannot create output folder {parent}", str(exc),
                             "Choose a writable --output folder") from exc
    if not os.access(parent, os.W_OK):
        raise GhostEdgeError(f"Output folder {parent} is not writable", "permission denied",
                             "Choose a writable --output folder")
    return path


def is_all_zero(path: PathLike, chunk: int = 1 << 20) -> bool:
    """Whether a non-empty file holds only zero bytes (a preallocated or failed download)."""
    seen = False
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            seen = True
            if block.count(0) != len(block):
                return False
    return seen


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def free_bytes(path: PathLike) -> Optional[int]:
    """Free space for an unprivileged user on the file system holding ``path`` (or its nearest
    existing parent); None when unknown."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        st = os.statvfs(p)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def check_free_space(path: PathLike, needed: int, what: str) -> None:
    """Refuse to start ``what`` when the file system of ``path`` has less than ``needed`` bytes free."""
    free = free_bytes(path)
    if free is not None and free < needed:
        raise DiskFullError(f"Not enough disk space for {what} in {path}",
                            f"about {_mb(needed)} is needed, {_mb(free)} is free",
                            "Free some space or choose another --output folder")


def os_error(exc: OSError, what: str, where: PathLike) -> GhostEdgeError:
    """An OSError met while writing under ``where``, as a one-line user error: a full disk, a name
    too long, a read-only or forbidden folder say which path and what to do; anything else keeps
    its system message."""
    path = exc.filename or where
    free = free_bytes(where)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        left = f" ({_mb(free)} free now)" if free is not None else ""
        return DiskFullError(what, f"the disk holding {where} is full{left}",
                             "Free some space or choose another --output folder")
    if exc.errno == errno.ENAMETOOLONG:
        return UsageError(what, f"the path {str(path)[:80]}... is longer than the file system allows",
                          "Choose a shorter name or --output folder")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return GhostEdgeError(what, f"{path} is not writable ({exc.strerror})", "Choose a writable folder")
    return GhostEdgeError(what, f"{exc.strerror or exc} ({path})", "Check the folder and the disk")
