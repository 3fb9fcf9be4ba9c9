"""The adb client wrapper without a phone: argv building and quoting, error mapping, device
listing and resolution, against a scripted stand-in for the adb client (``fake_adb`` fixture)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from ghostedge.android_runner import (
    Adb, AdbMissingError, AdbTimeoutError, AmbiguousDeviceError, DeviceNotFoundError,
    DeviceOfflineError, DeviceUnauthorizedError, parse_devices_output, resolve_serial)
from ghostedge.android_runner.adb import classify_failure
from ghostedge.errors import AdbError, DeviceError

DATA = Path(__file__).resolve().parents[1] / "data" / "adb"


def session_block(name: str, command: str) -> str:
    """The output of one command in a recorded adb session fixture."""
    text = (DATA / name).read_text()
    block = text.split(f"$ {command}\n", 1)[1]
    return block.split("[rc=", 1)[0]


# ---- adb invocation -------------------------------------------------------------------------

def test_shell_quotes_every_argument_and_always_passes_serial(fake_adb) -> None:
    fake_adb.set(shell={"echo": True})
    adb = Adb("127.0.0.1:5555")
    result = adb.shell(["ls", "/data/local/tmp/a b", "; rm -rf /", "$(reboot)"])
    call = fake_adb.calls()[-1]
    assert call[:3] == ["-s", "127.0.0.1:5555", "shell"]
    assert len(call) == 4  # one remote command string
    assert call[3] == "ls '/data/local/tmp/a b' '; rm -rf /' '$(reboot)'"
    assert result.returncode == 0 and "shell" in result.stdout
    with pytest.raises(TypeError):
        adb.shell("ls /data")  # type: ignore[arg-type]


def test_nonzero_exit_raises_adb_error_with_command_output_and_serial(fake_adb) -> None:
    fake_adb.set(shell={"stdout": "to-stdout\n", "stderr": "to-stderr\n", "rc": 3})
    adb = Adb("SER1")
    with pytest.raises(AdbError) as info:
        adb.shell(["false"])
    err = info.value
    assert (err.ret_code, err.serial, err.stdout, err.stderr) == (3, "SER1", "to-stdout\n", "to-stderr\n")
    assert "shell" in err.cmd and "exit code 3" in str(err)
    assert adb.shell(["false"], check=False).returncode == 3


@pytest.mark.parametrize("session, command, cls, words", [
    ("adb29_session.txt", "adb -s 127.0.0.1:34141 shell echo hi", DeviceUnauthorizedError, "RSA"),
    ("adb36_session.txt", "adb -s 127.0.0.1:40051 shell echo hi", DeviceUnauthorizedError, "RSA"),
    ("adb29_session.txt", "adb -s 127.0.0.1:44529 shell echo hi", DeviceOfflineError, "offline"),
    ("adb36_session.txt", "adb -s 127.0.0.1:34061 shell echo hi", DeviceOfflineError, "offline"),
    ("adb29_session.txt", "adb -s emulator-5554 shell echo hi", DeviceNotFoundError, "not found"),
    ("adb36_session.txt", "adb -s emulator-5554 shell echo hi", DeviceNotFoundError, "not found"),
])
def test_failures_are_classified(session: str, command: str, cls: type, words: str) -> None:
    stderr = session_block(session, command)
    err = classify_failure(["adb", "-s", "X", "shell", "echo", "hi"], "", stderr, 1, "X")
    assert type(err) is cls
    assert words in str(err) and err.fix and err.ret_code == 1 and err.serial == "X"


def test_broken_adb_server_says_what_to_do() -> None:
    err = classify_failure(["adb", "devices"], "", "* daemon not running; starting now at tcp:5037\n"
                           "could not read ok from ADB Server\n* failed to start daemon\n"
                           "adb: cannot connect to daemon\n", 1, None)
    assert type(err) is AdbError and "kill-server" in str(err)


def test_adb_missing_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for var in ("GHOSTEDGE_ADB", "ANDROID_HOME", "ANDROID_SDK_ROOT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(AdbMissingError) as info:
        Adb("X")
    assert "apt-get install adb" in str(info.value) and "platform-tools" in str(info.value)
    with pytest.raises(AdbMissingError):
        Adb("X", adb_path=str(tmp_path / "nope" / "adb"))
    assert isinstance(info.value, DeviceError)


def test_timeout_is_a_typed_error(fake_adb) -> None:
    fake_adb.set(shell={"sleep": 5})
    with pytest.raises(AdbTimeoutError) as info:
        Adb("X").shell(["sleep", "5"], timeout=0.5)
    assert "timed out" in str(info.value)


# ---- devices --------------------------------------------------------------------------------

@pytest.mark.parametrize("session", ["adb29_session.txt", "adb36_session.txt"])
def test_parse_devices_l_from_both_adb_versions(session: str) -> None:
    text = (DATA / session).read_text().split("$ adb devices -l\n", 1)[1].split("[rc=", 1)[0]
    entries = {e.serial: e for e in parse_devices_output(text)}
    assert len(entries) == 3
    ok = [e for e in entries.values() if e.state == "device"][0]
    assert (ok.model, ok.product, ok.device, ok.transport_id) == ("GM1903", "OnePlus7", "OnePlus7", "1")
    assert {e.state for e in entries.values()} == {"device", "offline", "authorizing"}


def test_parse_devices_usb_and_no_permissions() -> None:
    text = ("List of devices attached\n"
            "R58M123ABC             device usb:1-1 product:beyond1 model:SM_G973F device:beyond1 transport_id:4\n"
            "0123456789ABCDEF       no permissions (missing udev rules? user is in the plugdev group); "
            "see [http://developer.android.com/tools/device.html] usb:1-2 transport_id:5\n\n")
    first, second = parse_devices_output(text)
    assert (first.serial, first.usb, first.model) == ("R58M123ABC", "1-1", "SM_G973F")
    assert (second.state, second.usb, second.transport_id) == ("no permissions", "1-2", "5")


def listing(*lines: str) -> Dict:
    return {"devices": {"stdout": "List of devices attached\n" + "".join(l + "\n" for l in lines) + "\n"}}


def test_resolve_serial_order(fake_adb, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_adb.set(**listing("AAA\tdevice product:p model:M1 device:d transport_id:1",
                           "BBB\tdevice product:p model:M2 device:d transport_id:2"))
    assert resolve_serial("BBB") == "BBB"
    with pytest.raises(AmbiguousDeviceError) as info:
        resolve_serial(None)
    assert "AAA" in str(info.value) and "BBB" in str(info.value) and "--device" in str(info.value)
    monkeypatch.setenv("ANDROID_SERIAL", "AAA")
    assert resolve_serial(None) == "AAA"
    with pytest.raises(DeviceNotFoundError) as info:
        resolve_serial("CCC")
    assert "'CCC'" in str(info.value) and "AAA" in str(info.value)


def test_resolve_only_device_and_none(fake_adb) -> None:
    fake_adb.set(**listing("AAA\tdevice product:p model:M1 device:d transport_id:1"))
    assert resolve_serial(None) == "AAA"
    fake_adb.set(**listing())
    with pytest.raises(AmbiguousDeviceError) as info:
        resolve_serial(None)
    assert "No device" in str(info.value) and "--device local" in str(info.value)


@pytest.mark.parametrize("state, cls", [("unauthorized", DeviceUnauthorizedError),
                                        ("authorizing", DeviceUnauthorizedError),
                                        ("offline", DeviceOfflineError)])
def test_resolve_refuses_unusable_states(fake_adb, state: str, cls: type) -> None:
    fake_adb.set(**listing(f"AAA\t{state} transport_id:1"))
    with pytest.raises(cls):
        resolve_serial(None)
    with pytest.raises(cls):
        resolve_serial("AAA")


def test_resolve_connects_host_port_and_checks_the_text(fake_adb) -> None:
    spec = listing()
    spec["connect"] = {"stdout": "failed to connect to '10.0.0.9:5555': Connection refused\n", "rc": 0}
    fake_adb.set(**spec)
    with pytest.raises(DeviceNotFoundError) as info:
        resolve_serial("10.0.0.9:5555", settle_s=0.2)
    assert "Connection refused" in str(info.value)
    assert ["connect", "10.0.0.9:5555"] in fake_adb.calls()
    spec["connect"] = {"stdout": "failed to authenticate to 10.0.0.9:5555\n", "rc": 0}
    fake_adb.set(**spec)
    with pytest.raises(DeviceUnauthorizedError):
        resolve_serial("10.0.0.9:5555", settle_s=0.2)
