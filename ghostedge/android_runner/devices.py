"""Which devices adb sees (``adb devices -l``) and which one a command should use."""
from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ghostedge.android_runner.adb import find_adb, run_adb
from ghostedge.android_runner.errors import (
    NOT_FOUND_FIX, OFFLINE_FIX, UNAUTHORIZED_FIX, AmbiguousDeviceError, DeviceNotFoundError,
    DeviceOfflineError, DeviceUnauthorizedError)
from ghostedge.errors import DeviceError

log = logging.getLogger(__name__)

_KEYS = ("usb", "product", "model", "device", "transport_id", "features")
_HOST_PORT = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):\d{1,5}$")
NO_PERMISSIONS_FIX = ("Add a udev rule for the phone (Debian: `sudo apt-get install android-sdk-platform-tools-common`), "
                      "replug it and `adb kill-server`")


@dataclass
class DeviceEntry:
    """One line of ``adb devices -l``. ``model`` is adb's rewritten name (``SM_S911B``), not getprop's."""

    serial: str
    state: str
    product: Optional[str] = None
    model: Optional[str] = None
    device: Optional[str] = None
    transport_id: Optional[str] = None
    usb: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def parse_devices_output(text: str) -> List[DeviceEntry]:
    """Parse the text of ``adb devices -l`` (or plain ``adb devices``)."""
    entries: List[DeviceEntry] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("*") or line.startswith("List of devices") \
                or line.startswith("adb server") or line.startswith("adb:"):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        info: Dict[str, str] = {}
        state_words: List[str] = []
        for token in parts[1:]:
            key, sep, value = token.partition(":")
            if sep and key in _KEYS:
                info[key] = value
            elif not info:
                state_words.append(token)
        state = " ".join(state_words)
        if state.startswith("no permissions"):
            state = "no permissions"
        entries.append(DeviceEntry(parts[0], state, info.get("product"), info.get("model"),
                                   info.get("device"), info.get("transport_id"), info.get("usb")))
    return entries


def list_devices(adb_path: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
                 timeout: float = 30.0) -> List[DeviceEntry]:
    """All devices the adb server knows, in any state (starts the server if needed)."""
    result = run_adb([find_adb(adb_path), "devices", "-l"], timeout, check=True, env=env)
    return parse_devices_output(result.stdout)


def require_usable(entry: DeviceEntry) -> str:
    """Return the serial if the device can be used, else raise the error that says what to do."""
    cmd = ["adb", "-s", entry.serial]
    if entry.state == "device":
        return entry.serial
    if entry.state in ("unauthorized", "authorizing"):
        raise DeviceUnauthorizedError(cmd, serial=entry.serial,
                                      what=f"Device '{entry.serial}' is {entry.state}",
                                      why="it has not accepted this computer's RSA key",
                                      fix=UNAUTHORIZED_FIX)
    if entry.state == "offline":
        raise DeviceOfflineError(cmd, serial=entry.serial, what=f"Device '{entry.serial}' is offline",
                                 why="adb sees it but it does not answer", fix=OFFLINE_FIX)
    if entry.state == "no permissions":
        raise DeviceError(f"Device '{entry.serial}' cannot be opened", "no permissions on the USB device",
                          NO_PERMISSIONS_FIX)
    raise DeviceError(f"Device '{entry.serial}' is in state '{entry.state}'",
                      "only devices in state 'device' can run commands",
                      "Wait until the phone has booted (or leave recovery/sideload/bootloader mode)")


def _describe(entries: List[DeviceEntry]) -> str:
    return ", ".join(f"{e.serial} ({e.state}{', ' + e.model if e.model else ''})" for e in entries)


def connect(address: str, adb_path: Optional[str] = None, env: Optional[Mapping[str, str]] = None,
            timeout: float = 30.0) -> None:
    """``adb connect HOST:PORT``; adb exits 0 even when it fails, so the text is checked."""
    adb = find_adb(adb_path)
    result = run_adb([adb, "connect", address], timeout, check=False, env=env)
    text = (result.stdout + result.stderr).strip()
    log.info("adb connect %s: %s", address, text)
    if "failed to authenticate" in text:
        raise DeviceUnauthorizedError([adb, "connect", address], result.stdout, result.stderr,
                                      result.returncode, address,
                                      what=f"Device '{address}' refused the connection",
                                      why="it has not accepted this computer's RSA key",
                                      fix=UNAUTHORIZED_FIX)
    if result.returncode != 0 or "failed" in text or "cannot" in text or "unable" in text:
        raise DeviceNotFoundError([adb, "connect", address], result.stdout, result.stderr,
                                  result.returncode, address,
                                  what=f"Cannot connect to '{address}'",
                                  why=text.splitlines()[-1] if text else "adb connect failed",
                                  fix="Check the address and port, that the phone is on the same "
                                      "network and that wireless debugging (or `adb tcpip`) is on")


def resolve_serial(requested: Optional[str], adb_path: Optional[str] = None,
                   env: Optional[Mapping[str, str]] = None, settle_s: float = 5.0) -> str:
    """The serial to use: ``requested`` (``--device``), else ``$ANDROID_SERIAL``, else the only device.

    A ``HOST:PORT`` serial that adb does not list yet is ``adb connect``-ed first.
    Raises a DeviceError that lists the candidates when the choice is missing or ambiguous.
    """
    environ = env if env is not None else os.environ
    source = "--device"
    if not requested:
        requested = environ.get("ANDROID_SERIAL") or None
        source = "$ANDROID_SERIAL"
    entries = list_devices(adb_path, env)
    if requested:
        match = [e for e in entries if e.serial == requested]
        if not match and _HOST_PORT.match(requested):
            try:
                connect(requested, adb_path, env)
            except DeviceError:  # an offline/unauthorized device is still listed: say which
                match = _wait_listed(requested, adb_path, env, min(settle_s, 1.0))
                if not match or match[0].state == "connecting":
                    raise
                return require_usable(match[0])
            match = _wait_listed(requested, adb_path, env, settle_s)
        if not match:
            listed = _describe(entries) if entries else "none"
            raise DeviceNotFoundError(["adb", "-s", requested], serial=requested,
                                      what=f"Device '{requested}' ({source}) not found",
                                      why=f"adb lists: {listed}", fix=NOT_FOUND_FIX)
        return require_usable(match[0])
    if not entries:
        raise AmbiguousDeviceError("No device attached", "`adb devices` lists nothing",
                                   "Plug in a phone with USB debugging enabled (or `adb connect "
                                   "HOST:PORT`), or use `--device local` for this computer's CPU")
    if len(entries) > 1:
        raise AmbiguousDeviceError("More than one device attached", f"candidates: {_describe(entries)}",
                                   "Choose one with --device SERIAL or set ANDROID_SERIAL")
    return require_usable(entries[0])


def _wait_listed(serial: str, adb_path: Optional[str], env: Optional[Mapping[str, str]],
                 settle_s: float) -> List[DeviceEntry]:
    """After ``adb connect`` the entry may pass through ``connecting``/``authorizing``: wait briefly."""
    deadline = time.monotonic() + settle_s
    while True:
        match = [e for e in list_devices(adb_path, env) if e.serial == serial]
        if (match and match[0].state not in ("connecting", "authorizing")) or time.monotonic() > deadline:
            return match
        time.sleep(0.2)


@dataclass
class DeviceChoice:
    """What ``--device`` named: the serials to use, and those named but not usable (with why)."""

    serials: List[str]
    unusable: List[Tuple[str, DeviceError]]
    skipped: List[str]   # --device all: listed devices not in state 'device', one line each


def resolve_serials(requested: Sequence[str], adb_path: Optional[str] = None,
                    env: Optional[Mapping[str, str]] = None) -> DeviceChoice:
    """``--device S1 S2 ...`` or ``--device all`` (every device in state ``device``; the others are
    skipped and said so). Named devices that cannot be used are returned with their error, so
    the others can run; an error is raised only when none can."""
    from ghostedge.errors import UsageError

    names = [str(r).strip() for r in requested if str(r).strip()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--device names {twice[0]} twice", "each device runs the plan once",
                         "List each serial once")
    if "all" in names:
        if len(names) > 1:
            raise UsageError("--device all cannot be combined with serials",
                             "'all' already means every ready device", "Use --device all, or list serials")
        entries = list_devices(adb_path, env)
        ready = [e.serial for e in entries if e.state == "device"]
        skipped = [f"{e.serial} is {e.state}: skipped" for e in entries if e.state != "device"]
        if not ready:
            listed = _describe(entries) if entries else "none"
            raise AmbiguousDeviceError("No ready device for --device all",
                                       f"adb lists: {listed}",
                                       "Plug in a phone with USB debugging enabled and accept its prompt "
                                       "(or `adb connect HOST:PORT`), then check `ghostedge devices`")
        return DeviceChoice(ready, [], skipped)
    serials: List[str] = []
    unusable: List[Tuple[str, DeviceError]] = []
    for name in names or [None]:  # type: ignore[list-item]
        try:
            serials.append(resolve_serial(name, adb_path, env))
        except DeviceError as exc:
            if len(names) <= 1:
                raise
            unusable.append((name, exc))
    if not serials:
        raise unusable[0][1]
    return DeviceChoice(serials, unusable, [])
