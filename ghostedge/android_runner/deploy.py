"""Put files on the phone under /data/local/tmp/ghostedge, skip unchanged ones, and remove them after."""
from __future__ import annotations

import logging
import posixpath
import re
import shlex
from pathlib import Path
from types import TracebackType
from typing import Dict, List, Optional, Type

from ghostedge.fileio import sha256_file
from ghostedge.android_runner.adb import Adb
from ghostedge.errors import DeviceError, GhostEdgeError, UsageError

log = logging.getLogger(__name__)

DEFAULT_REMOTE_DIR = "/data/local/tmp/ghostedge"
_NOEXEC = ("/sdcard", "/storage", "/mnt/sdcard", "/mnt/media_rw")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "file"


class Deployment:
    """Files ghostedge put on the phone. Use as a context manager: on exit (also after an
    exception or Ctrl-C) everything it pushed is removed, unless ``keep``.

    ``push`` skips the transfer when the device already has a file with the same SHA-256.
    """

    def __init__(self, adb: Adb, remote_dir: str = DEFAULT_REMOTE_DIR, keep: bool = False) -> None:
        remote_dir = posixpath.normpath(remote_dir)
        if not remote_dir.startswith("/"):
            raise UsageError(f"Remote folder '{remote_dir}' is not absolute", "adb needs a device path",
                             f"Use a folder under /data/local/tmp, e.g. {DEFAULT_REMOTE_DIR}")
        if remote_dir.startswith(_NOEXEC):
            raise UsageError(f"Remote folder '{remote_dir}' cannot hold the benchmark binary",
                             "/sdcard and external storage are mounted noexec",
                             f"Use a folder under /data/local/tmp, e.g. {DEFAULT_REMOTE_DIR}")
        self.adb = adb
        self.remote_dir = remote_dir
        self.keep = keep
        self.pushed: Dict[str, str] = {}  # remote path -> local path
        self.extra: List[str] = []
        self.transferred: List[str] = []
        self.skipped: List[str] = []
        self._created_dir = False
        self._ready = False

    def __enter__(self) -> "Deployment":
        self.prepare()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        try:
            self.cleanup()
        except GhostEdgeError as cleanup_exc:
            if exc is None:
                raise
            log.warning("could not clean up %s on %s: %s", self.remote_dir, self.adb.serial, cleanup_exc)

    def prepare(self) -> None:
        """Create the remote folder (remembering whether it existed)."""
        if self._ready:
            return
        q = shlex.quote(self.remote_dir)
        out = self.adb.shell_script(f"if [ -d {q} ]; then echo EXISTS; else mkdir -p {q} && echo MADE; fi",
                                    timeout=30).stdout
        if "EXISTS" not in out and "MADE" not in out:
            raise DeviceError(f"Cannot create {self.remote_dir} on '{self.adb.serial}'", out.strip() or
                              "mkdir printed nothing", "Check free space on the phone and the folder's permissions")
        self._created_dir = "MADE" in out
        self._ready = True

    def remote_path(self, local: Path) -> str:
        """The device path a local file is pushed to (its name, made unique within this deployment)."""
        name = _safe_name(local.name)
        remote = posixpath.join(self.remote_dir, name)
        owner = self.pushed.get(remote)
        if owner is not None and owner != str(local.resolve()):
            stem, dot, ext = name.partition(".")
            remote = posixpath.join(self.remote_dir, f"{stem}-{sha256_file(local)[:8]}{dot}{ext}")
        return remote

    def track(self, remote: str) -> str:
        """Remember a device path ghostedge created (e.g. an output file) so cleanup removes it."""
        if remote not in self.extra:
            self.extra.append(remote)
        return remote

    def remote_sha256(self, remote: str) -> Optional[str]:
        """SHA-256 of a device file (``sha256sum`` on the phone), or None if absent/unavailable."""
        result = self.adb.shell_script(f"sha256sum {shlex.quote(remote)} 2>/dev/null", timeout=60, check=False)
        match = re.match(r"^([0-9a-f]{64})\s", result.stdout.strip())
        return match.group(1) if match else None

    def push(self, local: Path, executable: bool = False) -> str:
        """Copy ``local`` to the phone unless an identical file is there; ``chmod 755`` executables."""
        self.prepare()
        local = Path(local)
        if not local.is_file():
            raise GhostEdgeError(f"Cannot push {local}", "no such file", "Check the path")
        remote = self.remote_path(local)
        self.pushed[remote] = str(local.resolve())
        if self.remote_sha256(remote) == sha256_file(local):
            log.info("%s unchanged on %s: push skipped", remote, self.adb.serial)
            self.skipped.append(remote)
        else:
            self.adb.push(local, remote, timeout=max(60.0, local.stat().st_size / 2e6))
            self.transferred.append(remote)
        if executable:  # pushes from Windows (or of a non-executable file) lose the exec bit
            self.adb.shell(["chmod", "755", remote], timeout=30)
        return remote

    def cleanup(self) -> None:
        """Remove everything this deployment put on the phone (and the folder if it is then empty)."""
        if self.keep or not self._ready:
            return
        paths = list(self.pushed) + self.extra
        if paths:
            self.adb.shell(["rm", "-f", *paths], timeout=60, check=False)
        if self._created_dir or self.remote_dir == DEFAULT_REMOTE_DIR:
            self.adb.shell(["rmdir", self.remote_dir], timeout=30, check=False)
        self.pushed.clear()
        self.extra.clear()
        self._ready = False
