"""Put files on the phone under /data/local/tmp/ghostedge, skip unchanged ones, and remove them after."""
from __future__ import annotations

import logging
import posixpath
import re
import shlex
from pathlib import Path
from types import TracebackType
from typing import Dict, List, Optional, Sequence, Type

from ghostedge.android_runner.adb import Adb
from ghostedge.android_runner.remote import kill_started, list_folder
from ghostedge.errors import DeviceError, GhostEdgeError, UsageError
from ghostedge.fileio import sha256_file

log = logging.getLogger(__name__)

DEFAULT_REMOTE_DIR = "/data/local/tmp/ghostedge"
_NOEXEC = ("/sdcard", "/storage", "/mnt/sdcard", "/mnt/media_rw")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "file"


class Deployment:
    """Files ghostedge put on the phone. Use as a context manager: on exit (also after an
    exception or Ctrl-C) what runs from its folder is killed and everything in ghostedge's folder
    is removed (only what it pushed, in a folder of the caller's), unless ``keep``.

    ``push`` skips the transfer when the device already has a file with the same SHA-256.
    ``sweep`` removes what earlier sessions left in ghostedge's folder (``removed`` says what).
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
        self.removed: Dict[str, Optional[int]] = {}   # earlier sessions' leftovers: name -> bytes
        self.killed: List[int] = []                    # their processes still running
        self._created_dir = False
        self._attempted = False
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
        self._attempted = True   # an interrupted mkdir may still have made the folder on the phone
        out = self.adb.shell_script(f"if [ -d {q} ]; then echo EXISTS; else mkdir -p {q} && echo MADE; fi",
                                    timeout=30).stdout
        if "EXISTS" not in out and "MADE" not in out:
            raise DeviceError(f"Cannot create {self.remote_dir} on '{self.adb.serial}'", out.strip() or
                              "mkdir printed nothing", "Check free space on the phone and the folder's permissions")
        self._created_dir = "MADE" in out
        self._ready = True

    @property
    def owns_folder(self) -> bool:
        """ghostedge's own folder (by its location), or one this deployment created."""
        return self._created_dir or self.remote_dir == DEFAULT_REMOTE_DIR

    def sweep(self, keep_names: Sequence[str] = ()) -> Dict[str, Optional[int]]:
        """Kill what still runs from ghostedge's folder (a vanished session's benchmark_model) and
        remove every entry but ``keep_names`` (files about to be pushed: an identical one is kept
        and not sent again). Only in a folder ghostedge owns; returns {name: bytes} removed."""
        self.prepare()
        if not self.owns_folder or self._created_dir:
            return {}
        self.killed = kill_started(self.adb, self.remote_dir)
        stale = {n: size for n, size in list_folder(self.adb, self.remote_dir).items() if n not in keep_names}
        if stale:
            paths = [posixpath.join(self.remote_dir, n) for n in sorted(stale)]
            self.adb.shell(["rm", "-rf", *paths], timeout=60, check=False)
            self.removed.update(stale)
            log.warning("removed what earlier sessions left in %s on %s: %s", self.remote_dir,
                        self.adb.serial, describe_removed(stale))
        return stale

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
        """Kill what still runs from the folder (benchmark_model after a host-side timeout or
        Ctrl-C), then remove ghostedge's folder whole (in a folder of the caller's: what this
        deployment put there, and the folder if it is then empty)."""
        if not self._ready:
            if self._attempted and not self.keep and self.remote_dir == DEFAULT_REMOTE_DIR:
                self.adb.shell(["rm", "-rf", self.remote_dir], timeout=60, check=False)
            self._attempted = False
            return
        kill_started(self.adb, self.remote_dir)
        if self.keep:
            return
        if self.owns_folder:
            self.adb.shell(["rm", "-rf", self.remote_dir], timeout=60, check=False)
        else:
            paths = list(self.pushed) + self.extra
            if paths:
                self.adb.shell(["rm", "-f", *paths], timeout=60, check=False)
            self.adb.shell(["rmdir", self.remote_dir], timeout=30, check=False)
        self.pushed.clear()
        self.extra.clear()
        self._ready = self._attempted = False


def describe_removed(entries: Dict[str, Optional[int]]) -> str:
    """``a.tflite (20.1 MB), benchmark_model (8.3 MB)``."""
    def size(n: Optional[int]) -> str:
        return "size unknown" if n is None else f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"
    return ", ".join(f"{name} ({size(n)})" for name, n in sorted(entries.items()))
