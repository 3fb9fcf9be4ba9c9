"""Small file helpers shared by every part: atomic writes, hashing, output-path checks."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Union

from ghostedge.errors import GhostEdgeError, OutputExistsError

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


def file_size_mb(path: PathLike) -> float:
    """File size in MB (10^6 bytes), as storage sizes are quoted in the PaddleClas tables."""
    return os.path.getsize(path) / 1e6
