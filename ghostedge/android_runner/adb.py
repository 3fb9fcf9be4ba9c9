"""A thin, typed wrapper over the real ``adb`` client: argv lists, ``-s SERIAL``, timeouts, typed errors.

Nothing here goes through a host shell. Commands run on the phone are joined from
``shlex.quote``-d arguments (``Adb.shell``); ``Adb.shell_script`` takes a command line that the
caller has composed from quoted parts, for the few places that need ``;`` or ``2>&1``.
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Mapping, Optional, Sequence, Union

from ghostedge.android_runner.errors import (
    NOT_FOUND_FIX, OFFLINE_FIX, UNAUTHORIZED_FIX, AdbInterrupted, AdbMissingError, AdbTimeoutError,
    DeviceNotFoundError, DeviceOfflineError, DeviceUnauthorizedError, DeviceVanishedError,
    VANISHED_FIX)
from ghostedge.errors import AdbError

log = logging.getLogger(__name__)

ADB_INSTALL_FIX = ("Install adb: `sudo apt-get install adb` (Debian/Ubuntu) or Android SDK "
                   "platform-tools from https://developer.android.com/tools/releases/platform-tools, "
                   "then put it on PATH or set GHOSTEDGE_ADB=/path/to/adb")

_UNAUTHORIZED = re.compile(r"unauthori[sz]ed|still authorizing|failed to authenticate", re.I)
_OFFLINE = re.compile(r"device offline|device is offline", re.I)
_NOT_FOUND = re.compile(r"device '[^']*' not found|no devices/emulators found|device not found", re.I)
_SERVER = re.compile(r"cannot connect to daemon|failed to start daemon|could not install \*?smartsocket|"
                     r"adb server version .* doesn't match", re.I)
_VANISHED = re.compile(r"error: closed|protocol fault|connection reset|broken pipe|"
                       r"failed to read|device disconnected|transport .*(?:lost|closed)", re.I)


def find_adb(adb_path: Optional[str] = None) -> str:
    """Path of the adb client: ``adb_path``, else ``$GHOSTEDGE_ADB``, else PATH, else the SDK folders."""
    candidates: List[str] = []
    if adb_path:
        candidates.append(adb_path)
    elif os.environ.get("GHOSTEDGE_ADB"):
        candidates.append(os.environ["GHOSTEDGE_ADB"])
    else:
        found = shutil.which("adb")
        if found:
            return found
        for var in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
            if os.environ.get(var):
                candidates.append(str(Path(os.environ[var]) / "platform-tools" / "adb"))
    for cand in candidates:
        resolved = shutil.which(cand) if os.sep not in cand else cand
        if resolved and os.path.isfile(resolved) and os.access(resolved, os.X_OK):
            return resolved
    where = f"'{candidates[0]}' is not an executable file" if candidates else "adb is not on PATH"
    raise AdbMissingError("Cannot run adb", where, ADB_INSTALL_FIX)


@dataclass
class AdbResult:
    """What one adb invocation returned."""

    stdout: str
    stderr: str
    returncode: int
    cmd: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def output(self) -> str:
        """stdout and stderr together (stdout first)."""
        return self.stdout + (("\n" if self.stdout and not self.stdout.endswith("\n") else "")
                              + self.stderr if self.stderr else "")


def classify_failure(cmd: Sequence[str], stdout: str, stderr: str, returncode: Optional[int],
                     serial: Optional[str]) -> AdbError:
    """Turn a failed adb call into the most specific error, with what to do."""
    text = f"{stderr}\n{stdout}"
    who = f"device '{serial}'" if serial else "the device"
    if _UNAUTHORIZED.search(text):
        return DeviceUnauthorizedError(cmd, stdout, stderr, returncode, serial,
                                       what=f"adb cannot use {who}",
                                       why="it is unauthorized (this computer's RSA key was not accepted)",
                                       fix=UNAUTHORIZED_FIX)
    if _OFFLINE.search(text):
        return DeviceOfflineError(cmd, stdout, stderr, returncode, serial,
                                  what=f"adb cannot use {who}", why="it is offline", fix=OFFLINE_FIX)
    if _NOT_FOUND.search(text):
        return DeviceNotFoundError(cmd, stdout, stderr, returncode, serial,
                                   what=f"{who} not found",
                                   why="the adb server does not list it (unplugged, or a wrong serial)",
                                   fix=NOT_FOUND_FIX)
    if _VANISHED.search(text):
        return DeviceVanishedError(cmd, stdout, stderr, returncode, serial,
                                   what=f"{who} stopped answering",
                                   why="the adb connection closed in the middle of a command",
                                   fix=VANISHED_FIX)
    if _SERVER.search(text):
        return AdbError(cmd, stdout, stderr, returncode, serial, what="The adb server is not usable",
                        fix="Run `adb kill-server` and retry; check that ANDROID_ADB_SERVER_PORT is free "
                            "and that only one adb version is installed")
    return AdbError(cmd, stdout, stderr, returncode, serial,
                    fix="Run the same adb command by hand to see the full message")


class Adb:
    """The adb client bound to one device serial (always passed as ``-s SERIAL``)."""

    def __init__(self, serial: str, adb_path: Optional[str] = None, default_timeout: float = 60.0,
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.serial = serial
        self.adb_path = find_adb(adb_path)
        self.default_timeout = default_timeout
        self.env = dict(env) if env is not None else None
        self._lock = threading.Lock()
        self._current: Optional[subprocess.Popen] = None
        self._stopping = False

    def __repr__(self) -> str:
        return f"Adb(serial={self.serial!r}, adb_path={self.adb_path!r})"

    def run(self, args: Sequence[str], timeout: Optional[float] = None,
            check: bool = True) -> AdbResult:
        """Run ``adb -s SERIAL ARGS...``; raise a typed error on failure when ``check``."""
        cmd = [self.adb_path, "-s", self.serial, *[str(a) for a in args]]
        if self._stopping:
            raise AdbInterrupted(self.serial)
        try:
            result = run_adb(cmd, self.default_timeout if timeout is None else timeout, check, self.serial,
                             self.env, track=self._track)
        except Exception:
            if self._stopping:   # killed by interrupt(): not a device failure
                raise AdbInterrupted(self.serial) from None
            raise
        if self._stopping:
            raise AdbInterrupted(self.serial)
        return result

    def _track(self, proc: Optional[subprocess.Popen]) -> None:
        with self._lock:
            self._current = proc
            if proc is not None and self._stopping:
                proc.kill()

    def interrupt(self) -> None:
        """Stop now (from another thread): kill the adb command running for this device and refuse
        new ones (``AdbInterrupted``) until ``resume()``. What runs on the phone is not stopped by
        this: that is the caller's cleanup (``android_runner.remote.kill_started``)."""
        with self._lock:
            self._stopping = True
            if self._current is not None and self._current.poll() is None:
                self._current.kill()

    def resume(self) -> None:
        """Accept commands again after ``interrupt()`` (for cleanup)."""
        with self._lock:
            self._stopping = False

    @property
    def interrupted(self) -> bool:
        return self._stopping

    def shell(self, argv: Sequence[str], timeout: Optional[float] = None,
              check: bool = True) -> AdbResult:
        """Run one command on the device; every argument is ``shlex.quote``-d into one remote string."""
        if isinstance(argv, (str, bytes)):
            raise TypeError("Adb.shell takes an argv list, not a string (use shell_script for scripts)")
        return self.shell_script(" ".join(shlex.quote(str(a)) for a in argv), timeout, check)

    def shell_script(self, script: str, timeout: Optional[float] = None,
                     check: bool = True) -> AdbResult:
        """Run a remote command line verbatim. Callers must build it from ``shlex.quote``-d parts."""
        return self.run(["shell", script], timeout=timeout, check=check)

    def push(self, local: Union[str, Path], remote: str, timeout: Optional[float] = None) -> AdbResult:
        """Copy a local file to ``remote`` (a full device path)."""
        local = Path(local)
        if not local.is_file():
            raise AdbError(["push", str(local), remote], serial=self.serial,
                           what=f"Cannot push {local}", why="no such local file",
                           fix="Check the path")
        return self.run(["push", str(local), remote], timeout=timeout)

    def pull(self, remote: str, local: Union[str, Path], timeout: Optional[float] = None) -> AdbResult:
        """Copy a device file to ``local``, atomically (nothing half-written on failure)."""
        from ghostedge.fileio import atomic_path

        with atomic_path(local) as tmp:
            return self.run(["pull", remote, str(tmp)], timeout=timeout)

    def get_state(self, timeout: Optional[float] = 10.0) -> str:
        """The device's state as adb reports it (``device``); raises when it is not usable."""
        return self.run(["get-state"], timeout=timeout).stdout.strip()


def run_adb(cmd: List[str], timeout: float, check: bool = True, serial: Optional[str] = None,
            env: Optional[Mapping[str, str]] = None,
            track: Optional[Callable[[Optional[subprocess.Popen]], None]] = None) -> AdbResult:
    """Run one adb command line (argv list, no shell) and map its failures to typed errors.
    ``track`` is told the child process while it runs (and None after), so that another thread
    can kill it; the child is always gone when this returns or raises (also on Ctrl-C)."""
    if not timeout or not timeout > 0:
        raise ValueError(f"adb timeout must be a positive number of seconds, not {timeout!r}")
    start = time.monotonic()
    log.debug("adb: %s", " ".join(shlex.quote(c) for c in cmd))
    try:
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, env=dict(env) if env is not None else None)
    except FileNotFoundError as exc:
        raise AdbMissingError(f"Cannot run {cmd[0]}", str(exc), ADB_INSTALL_FIX) from exc
    except PermissionError as exc:
        raise AdbMissingError(f"Cannot run {cmd[0]}", "it is not executable", ADB_INSTALL_FIX) from exc
    if track:
        track(child)
    try:
        stdout, stderr = child.communicate(timeout=timeout)
        proc = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
    except subprocess.TimeoutExpired:
        child.kill()
        out_b, err_b = child.communicate()
        out = _text(out_b)
        err = _text(err_b)
        raise AdbTimeoutError(cmd, out, err, None, serial,
                              what=f"adb command timed out after {timeout:g} s: {' '.join(cmd[1:])}",
                              why="the device did not answer in time (busy, asleep or disconnected)",
                              fix="Check `adb devices`, wake and unlock the phone, or raise the "
                                  "timeout") from None
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        if track:
            track(None)
    result = AdbResult(_text(proc.stdout), _text(proc.stderr), proc.returncode, list(cmd),
                       time.monotonic() - start)
    log.debug("adb rc=%d in %.3f s", result.returncode, result.seconds)
    if check and result.returncode != 0:
        raise classify_failure(cmd, result.stdout, result.stderr, result.returncode, serial)
    return result


def _text(data: Union[bytes, str, None]) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data
