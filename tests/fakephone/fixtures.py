"""pytest fixtures over the fake phone, for any test folder: in its conftest.py write
``from fakephone.fixtures import adb_sandbox, fake_phone, make_phone, make_phones, three_phones, fake_binary  # noqa: F401``.

Each test gets a private adb server (own port and HOME); the test process's environment is
pointed at it, so library code that runs ``adb`` (and subprocesses given ``os.environ``) talk to
it. Everything is stopped at the end of the test.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from fakephone.harness import AdbSandbox, FakePhone, write_fake_benchmark_binary

SANDBOX_VARS = ("HOME", "ANDROID_ADB_SERVER_PORT", "ADB_LOCAL_TRANSPORT_MAX_PORT")


def use_sandbox_env(monkeypatch: pytest.MonkeyPatch, sandbox: AdbSandbox) -> None:
    """Point every adb call of the test process (which inherits os.environ) at the private server."""
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)
    for key in SANDBOX_VARS:
        monkeypatch.setenv(key, sandbox.env[key])


@pytest.fixture()
def adb_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AdbSandbox]:
    """A private adb server (own port and HOME), stopped with its phones at the end."""
    if shutil.which("adb") is None:
        pytest.fail("the real adb client is required: apt-get install -y adb")
    sandbox = AdbSandbox(tmp_path / "sandbox")
    use_sandbox_env(monkeypatch, sandbox)
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture()
def fake_phone(adb_sandbox: AdbSandbox) -> FakePhone:
    """One connected SD855 fake phone (synthetic benchmark timings)."""
    return adb_sandbox.add_phone(profile="sd855", benchmark_mode="synthetic")


@pytest.fixture()
def make_phone(adb_sandbox: AdbSandbox) -> Callable[..., FakePhone]:
    """Factory: ``make_phone(profile=..., state=..., benchmark_mode=..., connect=..., thermal={...},
    version=..., gpu=..., nnapi=..., unknown_flags=...)`` (FakePhone.set_benchmark keys), same server."""
    return adb_sandbox.add_phone


@pytest.fixture()
def make_phones(adb_sandbox: AdbSandbox) -> Callable[..., List[FakePhone]]:
    """Factory: ``make_phones(("sd855", "tensor_g1"), **add_phone_kwargs)``: several phones at once."""
    return adb_sandbox.add_phones


@pytest.fixture()
def three_phones(adb_sandbox: AdbSandbox) -> List[FakePhone]:
    """Three connected phones of different SoCs (SD855, Tensor G1, MT6833), synthetic timings,
    each with its own root, thermal state and process table."""
    return adb_sandbox.add_phones(("sd855", "tensor_g1", "mt6833"))


@pytest.fixture()
def fake_binary(tmp_path: Path) -> Path:
    """A placeholder arm64 ``benchmark_model`` (ELF header only); the fake phone runs it as a shim."""
    return write_fake_benchmark_binary(tmp_path / "bin" / "benchmark_model", "arm64-v8a")
