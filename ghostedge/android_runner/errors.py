"""Device errors of the adb transport, each one saying what to do (subclasses of ghostedge.errors)."""
from __future__ import annotations

from ghostedge.errors import AdbError, BenchmarkError, DeviceError


class AdbMissingError(DeviceError):
    """The ``adb`` client binary cannot be found or started."""


class DeviceNotFoundError(AdbError):
    """The serial is not known to the adb server, or the device vanished."""


class DeviceUnauthorizedError(AdbError):
    """The phone has not accepted this computer's RSA key (state ``unauthorized``/``authorizing``)."""


class DeviceOfflineError(AdbError):
    """The device is listed but ``offline`` (not answering adb)."""


class DeviceVanishedError(DeviceNotFoundError):
    """The device stopped answering while a command was running (cable pulled, reboot, crash)."""


class AdbTimeoutError(AdbError):
    """An adb command did not finish within its timeout."""


class AmbiguousDeviceError(DeviceError):
    """No device was named and none, or more than one, is attached."""


UNAUTHORIZED_FIX = ("Unlock the phone and accept the 'Allow USB debugging?' RSA prompt "
                    "(tick 'Always allow'), then retry; if no prompt appears, revoke USB debugging "
                    "authorizations in Developer options and reconnect")
OFFLINE_FIX = ("Reconnect the cable (or `adb reconnect`), check that USB debugging is still on, "
               "then run `adb devices` until the state is 'device'")
NOT_FOUND_FIX = ("Check `ghostedge devices` (or `adb devices -l`) for the serial, plug the phone in "
                 "with USB debugging enabled, or `adb connect HOST:PORT` for a network device")
VANISHED_FIX = ("Reconnect the phone (check the cable, that it did not reboot or sleep), "
                "then rerun; results measured before it vanished are kept")


class AdbInterrupted(KeyboardInterrupt):
    """An adb command stopped because ghostedge is being interrupted (Ctrl-C, SIGTERM, SIGHUP):
    not a device failure; cleanup follows (``Adb.resume()``)."""

    def __init__(self, serial: str = "") -> None:
        super().__init__(f"adb commands for '{serial}' interrupted")
        self.serial = serial


class CellFailure(BenchmarkError):
    """One benchmark cell cannot be measured on this phone (a delegate that fails to apply, a flag
    the phone's benchmark_model does not know) while the phone itself is fine: the cell is marked
    with ``reason`` and the session goes on."""

    def __init__(self, what: str, why: str = "", fix: str = "", reason: str = "", kind: str = "delegate") -> None:
        super().__init__(what, why, fix)
        self.reason = reason or why or what
        self.kind = kind
