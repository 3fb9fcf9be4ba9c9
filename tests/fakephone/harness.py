"""Start loopback fake phones and drive them with the REAL adb client, privately per test.
(FakePhone itself, the per-phone controls, is in phone_api.py.)

Each ``AdbSandbox`` has its own adb server port and HOME (adb keys) and sets
``ADB_LOCAL_TRANSPORT_MAX_PORT=0`` (else anything on 5555 shows up as ``emulator-5554``).
Phones are ``fake_adbd.py`` daemons on free loopback ports with a device root built by
``make_sd855_profile.py``; ``benchmark_model`` pushed to them runs ``fake_benchmark_model.py``.

    from fakephone.harness import fake_phone
    with fake_phone(tmp_path) as phone:        # SD855, connected, state "device"
        monkeypatch.setenv(...) for phone.env  # or pass phone.env to subprocesses
        phone.fail = "crash"                   # next benchmark_model run crashes
"""
from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from fakephone import make_sd855_profile, phone_state
from fakephone.phone_api import BENCHMARK_NAMES, FakePhone

HERE = Path(__file__).resolve().parent

PROFILES = sorted(make_sd855_profile.PROFILES)
__all__ = ["AdbSandbox", "FakePhone", "adb_sandbox", "fake_phone", "free_port", "adb_binary",
           "write_fake_benchmark_binary", "PROFILES", "BENCHMARK_NAMES"]
_ELF_MACHINE = {"arm64-v8a": (2, 0xB7), "armeabi-v7a": (1, 0x28), "x86_64": (2, 0x3E)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def adb_binary() -> str:
    """The real adb client (``$GHOSTEDGE_ADB`` or PATH); raises if missing."""
    found = os.environ.get("GHOSTEDGE_ADB") or shutil.which("adb")
    if not found:
        raise RuntimeError("the fake-phone tests need the real adb client: apt-get install -y adb")
    return found


def write_fake_benchmark_binary(path: Path, abi: str = "arm64-v8a", executable: bool = True) -> Path:
    """A placeholder file with a valid ELF header for ``abi`` (what find_benchmark_binary checks).

    On a fake phone it runs as fake_benchmark_model.py (by its name, see ``BENCHMARK_NAMES``).
    """
    elf_class, machine = _ELF_MACHINE[abi]
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[4], header[5], header[6] = elf_class, 1, 1  # class, little-endian, version
    header[16:18] = (3).to_bytes(2, "little")  # ET_DYN, like Android PIE executables
    header[18:20] = machine.to_bytes(2, "little")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(header) + b"placeholder for the Android benchmark_model\n")
    path.chmod(0o755 if executable else 0o644)
    return path


class AdbSandbox:
    """A private adb server (own port and HOME) and the fake phones connected to it."""

    def __init__(self, workdir: Path, adb_path: Optional[str] = None) -> None:
        self.workdir = Path(workdir)
        self.adb_path = adb_path or adb_binary()
        home = self.workdir / "adb_home"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("ANDROID_SERIAL", "ADB_VENDOR_KEYS")}
        env.update(HOME=str(home), ANDROID_ADB_SERVER_PORT=str(free_port()),
                   ADB_LOCAL_TRANSPORT_MAX_PORT="0")
        self.env = env
        self.phones: List[FakePhone] = []
        self._connecting: List[subprocess.Popen] = []
        self.adb("start-server", timeout=30)

    def adb(self, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        """Run the real adb client against this sandbox's server."""
        proc = subprocess.run([self.adb_path, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise RuntimeError(f"adb {' '.join(args)} -> {proc.returncode}: {proc.stdout}{proc.stderr}")
        return proc

    def add_phone(self, profile: str = "sd855", state: str = "device", benchmark_mode: str = "synthetic",
                  connect: bool = True, synthetic_us: float = 1500, fail: Optional[str] = None,
                  thermal: Optional[Dict[str, Any]] = None, **benchmark: Any) -> FakePhone:
        """Build a device root, start fake_adbd on a free port and (by default) ``adb connect`` it.

        ``benchmark`` takes FakePhone.set_benchmark's keys (version, gpu, nnapi, unknown_flags, ...),
        ``thermal`` FakePhone.set_thermal's. Each phone has its own root, state and process table.
        """
        index = len(self.phones)
        root = Path(make_sd855_profile.build(str(self.workdir / f"phone{index}"), profile))
        phone_state.refresh(str(root))  # /proc/loadavg, /proc/stat and the live files exist from the start
        port_file = self.workdir / f"phone{index}.port"
        shim_cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'fake_benchmark_model.py'))}"
        cmd = [sys.executable, str(HERE / "fake_adbd.py"), "--port", "0", "--port-file", str(port_file),
               "--root", str(root), "--state", state]
        for name in BENCHMARK_NAMES:
            cmd += ["--shim", f"{name}={shim_cmd}"]
        log = open(self.workdir / f"phone{index}.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"fake_adbd did not start: {(self.workdir / f'phone{index}.log').read_text()}")
            time.sleep(0.02)
        phone = FakePhone(self, root, int(port_file.read_text()), state, proc, profile)
        self.phones.append(phone)
        phone.set_benchmark(mode=benchmark_mode, us=synthetic_us, **benchmark)
        if fail is not None:  # else $FAKE_BM_FAIL (if any) applies
            phone.fail = fail
        if thermal:
            phone.set_thermal(**thermal)
        if connect:
            self.connect(phone)
        return phone

    def add_phones(self, profiles: Sequence[str] = ("sd855", "tensor_g1", "mt6833"), **kwargs: Any) -> List[FakePhone]:
        """Several connected phones of different SoCs on this server, one per profile."""
        return [self.add_phone(profile=profile, **kwargs) for profile in profiles]

    def connect(self, phone: FakePhone, settle_s: float = 10.0) -> None:
        """``adb connect`` and wait until the server lists the phone in its expected state."""
        # `adb connect` to a phone that never answers blocks ~10 s; the server lists it at once.
        connecting = subprocess.Popen([self.adb_path, "connect", phone.serial], env=self.env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      stdin=subprocess.DEVNULL)
        self._connecting.append(connecting)
        want = {"device": ("device",), "unauthorized": ("unauthorized", "authorizing"),
                "offline": ("offline",)}[phone.state]
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            listing = self.adb("devices").stdout
            states = dict(line.split("\t", 1) for line in listing.splitlines() if "\t" in line)
            if states.get(phone.serial, "").strip() in want:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{phone.serial} did not reach state {phone.state}: {listing}")

    def close(self) -> None:
        """Stop every phone and the private adb server."""
        for phone in self.phones:
            phone.vanish()
        for proc in self._connecting:
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
        with contextlib.suppress(Exception):
            self.adb("kill-server", timeout=15, check=False)


@contextlib.contextmanager
def adb_sandbox(workdir: Path, adb_path: Optional[str] = None) -> Iterator[AdbSandbox]:
    """A private adb server; everything it started is stopped at the end."""
    sandbox = AdbSandbox(workdir, adb_path)
    try:
        yield sandbox
    finally:
        sandbox.close()


@contextlib.contextmanager
def fake_phone(workdir: Path, profile: str = "sd855", state: str = "device",
               benchmark_mode: str = "synthetic", adb_path: Optional[str] = None,
               fail: Optional[str] = None) -> Iterator[FakePhone]:
    """One connected fake phone on its own private adb server."""
    with adb_sandbox(workdir, adb_path) as sandbox:
        yield sandbox.add_phone(profile=profile, state=state, benchmark_mode=benchmark_mode, fail=fail)
