"""Start loopback fake phones and drive them with the REAL adb client, privately per test.

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
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from fakephone import make_sd855_profile

HERE = Path(__file__).resolve().parent

PROFILES = sorted(make_sd855_profile.PROFILES)
BENCHMARK_NAMES = ("benchmark_model", "android_aarch64_benchmark_model", "android_arm_benchmark_model")
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


class FakePhone:
    """One running fake phone. ``root`` stands for the phone's ``/``."""

    def __init__(self, sandbox: "AdbSandbox", root: Path, port: int, state: str,
                 proc: subprocess.Popen) -> None:
        self.sandbox = sandbox
        self.root = root
        self.port = port
        self.state = state
        self.proc = proc
        self.serial = f"127.0.0.1:{port}"

    @property
    def env(self) -> Dict[str, str]:
        """Environment for anything that should talk to this phone's private adb server."""
        return dict(self.sandbox.env)

    def _control(self) -> Dict[str, object]:
        path = self.root / ".fakephone" / "benchmark.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _set_control(self, key: str, value: object) -> None:
        data = self._control()
        data[key] = value
        path = self.root / ".fakephone" / "benchmark.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    @property
    def benchmark_mode(self) -> str:
        """``synthetic`` (made-up timings, ``synthetic_us`` mean) or ``litert`` (really runs the model)."""
        return str(self._control().get("mode", "litert"))

    @benchmark_mode.setter
    def benchmark_mode(self, mode: str) -> None:
        if mode not in ("synthetic", "litert"):
            raise ValueError(f"unknown benchmark mode {mode!r}")
        self._set_control("mode", mode)

    @property
    def fail(self) -> Optional[str]:
        """Failure injected into benchmark_model runs: None, ``missing``, ``crash`` or ``delegate``."""
        return self._control().get("fail") or None  # type: ignore[return-value]

    @fail.setter
    def fail(self, mode: Optional[str]) -> None:
        if mode not in (None, "missing", "crash", "delegate"):
            raise ValueError(f"unknown failure {mode!r}")
        self._set_control("fail", mode or "")

    @property
    def synthetic_us(self) -> float:
        """Mean inference time of synthetic runs, µs."""
        return float(self._control().get("us", 1500))

    @synthetic_us.setter
    def synthetic_us(self, value: float) -> None:
        self._set_control("us", float(value))

    def host_path(self, device_path: str) -> Path:
        """Where a device path lives on this computer."""
        return self.root / device_path.lstrip("/")

    def listdir(self, device_path: str = "/data/local/tmp/ghostedge") -> Optional[List[str]]:
        """Names in a device folder, or None when the folder does not exist."""
        path = self.host_path(device_path)
        return sorted(os.listdir(path)) if path.is_dir() else None

    def last_taskset_mask(self) -> Optional[str]:
        """The mask the last ``taskset`` on this phone was called with (the fake records, not applies, it)."""
        path = self.root / ".fakephone" / "last_taskset_mask"
        return path.read_text().strip() if path.exists() else None

    def vanish(self) -> None:
        """The phone disappears: the daemon and everything it runs are killed, the socket closes."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    stop = vanish


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
                  connect: bool = True, synthetic_us: float = 1500, fail: Optional[str] = None) -> FakePhone:
        """Build a device root, start fake_adbd on a free port and (by default) ``adb connect`` it."""
        index = len(self.phones)
        root = Path(make_sd855_profile.build(str(self.workdir / f"phone{index}"), profile))
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
        phone = FakePhone(self, root, int(port_file.read_text()), state, proc)
        self.phones.append(phone)
        phone.benchmark_mode = benchmark_mode
        phone.synthetic_us = synthetic_us
        if fail is not None:  # else $FAKE_BM_FAIL (if any) applies
            phone.fail = fail
        if connect:
            self.connect(phone)
        return phone

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
