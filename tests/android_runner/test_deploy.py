"""The adb transport end to end: the REAL adb client and server against loopback fake phones
(tests/fakephone), each test on its own private adb server."""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable

import pytest

from fakephone.harness import FakePhone, free_port
from ghostedge.android_runner import (
    Adb, AdbMissingError, AdbTimeoutError, AmbiguousDeviceError, DeviceNotFoundError, DeviceOfflineError,
    DeviceUnauthorizedError, DeviceVanishedError, Deployment, affinity_mask, list_devices,
    read_device_facts, read_temperatures, resolve_serial, run_benchmark_model)
from ghostedge.errors import AdbError, BenchmarkError, DeviceError

pytestmark = pytest.mark.slow
REMOTE = "/data/local/tmp/ghostedge"
FAST = dict(warmup_runs=2, num_runs=10, min_secs=0.0, extra_flags=["--warmup_min_secs=0"])


def when_benchmark_starts(phone: FakePhone, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` as soon as the fake's taskset has launched benchmark_model."""
    def watch() -> None:
        deadline = time.monotonic() + 30
        while phone.last_taskset_mask() is None:
            if time.monotonic() > deadline:
                return  # never started: the test's own assertions fail, nothing fires late
            time.sleep(0.02)
        time.sleep(0.2)
        action()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_devices_states_and_resolution(make_phone) -> None:
    good = make_phone()
    unauthorized = make_phone(state="unauthorized")
    offline = make_phone(state="offline")
    entries = {e.serial: e for e in list_devices()}
    assert entries[good.serial].state == "device"
    assert entries[good.serial].model == "GM1903" and entries[good.serial].product == "OnePlus7"
    assert entries[unauthorized.serial].state in ("unauthorized", "authorizing")
    assert entries[offline.serial].state == "offline"
    with pytest.raises(AmbiguousDeviceError) as info:
        resolve_serial(None)
    assert good.serial in str(info.value) and offline.serial in str(info.value)
    assert resolve_serial(good.serial) == good.serial
    with pytest.raises(DeviceUnauthorizedError) as info:
        resolve_serial(unauthorized.serial)
    assert "RSA" in str(info.value)
    with pytest.raises(DeviceOfflineError):
        resolve_serial(offline.serial)
    with pytest.raises(DeviceUnauthorizedError):
        Adb(unauthorized.serial).shell(["echo", "hi"])
    with pytest.raises(DeviceOfflineError):
        Adb(offline.serial).shell(["echo", "hi"])
    with pytest.raises(DeviceNotFoundError) as info:
        Adb("127.0.0.1:1").shell(["echo", "hi"])
    assert "not found" in str(info.value)


def test_resolve_connects_an_unlisted_host_port(make_phone, monkeypatch) -> None:
    phone = make_phone(connect=False)
    assert phone.serial not in {e.serial for e in list_devices()}
    assert resolve_serial(phone.serial) == phone.serial
    assert Adb(phone.serial).get_state() == "device"
    monkeypatch.setenv("ANDROID_SERIAL", phone.serial)
    assert resolve_serial(None) == phone.serial
    locked = make_phone(state="unauthorized", connect=False)
    with pytest.raises(DeviceUnauthorizedError):
        resolve_serial(locked.serial)
    with pytest.raises(DeviceNotFoundError) as info:
        resolve_serial(f"127.0.0.1:{free_port()}")
    assert "Cannot connect" in str(info.value)


def test_sd855_facts_temperatures_and_masks(fake_phone) -> None:
    adb = Adb(fake_phone.serial)
    facts = read_device_facts(adb)
    assert (facts.model, facts.manufacturer, facts.platform, facts.abi) == ("GM1903", "OnePlus", "msmnile", "arm64-v8a")
    assert (facts.sdk, facts.release, facts.soc, facts.is_sd855) == (29, "10", "SM8150", True)
    assert facts.clusters == [{"cpus": [0, 1, 2, 3], "max_khz": 1785600},
                              {"cpus": [4, 5, 6], "max_khz": 2419200}, {"cpus": [7], "max_khz": 2841600}]
    assert affinity_mask(facts, "big") == ("f0", [4, 5, 6, 7])
    assert affinity_mask(facts, "prime") == ("80", [7])
    temps = read_temperatures(adb)
    assert temps["battery"] == 31.0 and temps["cpu-1-7-usr"] == 39.0
    # a hotter phone reads hotter: the values come from the device, not from defaults
    (fake_phone.root / "sys/class/thermal/thermal_zone2/temp").write_text("47500\n")
    assert read_temperatures(adb)["cpu-1-7-usr"] == 47.5


@pytest.mark.parametrize("profile, abi, big, prime", [
    ("tensor_g1", "arm64-v8a", "f0", "40"), ("mt6833", "arm64-v8a", "c0", "40"),
    ("mt6737", "armeabi-v7a", "f", "1")])
def test_other_layouts(make_phone, fake_binary, tiny_model, profile, abi, big, prime) -> None:
    phone = make_phone(profile=profile)
    adb = Adb(phone.serial)
    facts = read_device_facts(adb)
    assert facts.abi == abi and not facts.is_sd855
    assert affinity_mask(facts, "big")[0] == big
    assert affinity_mask(facts, "prime")[0] == prime
    mask, _ = affinity_mask(facts, "big")
    with Deployment(adb) as dep:
        out = run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model), 2, mask, **FAST)
    assert phone.last_taskset_mask() == big and out.runs.count == 10


def test_push_skipped_when_unchanged_and_chmod(fake_phone, tmp_path, tiny_model) -> None:
    from fakephone.harness import write_fake_benchmark_binary

    adb = Adb(fake_phone.serial)
    binary = write_fake_benchmark_binary(tmp_path / "win" / "benchmark_model", executable=False)
    with Deployment(adb, keep=True) as dep:
        remote_bin = dep.push(binary, executable=True)
        remote_model = dep.push(tiny_model)
    assert dep.transferred == [remote_bin, remote_model] and dep.skipped == []
    assert os.access(fake_phone.host_path(remote_bin), os.X_OK)
    assert not os.access(fake_phone.host_path(remote_model), os.X_OK)
    assert fake_phone.listdir() == ["benchmark_model", "tiny_fc.tflite"]
    with Deployment(adb) as dep:
        dep.push(binary, executable=True)
        dep.push(tiny_model)
        assert dep.transferred == [] and dep.skipped == [remote_bin, remote_model]
        tiny_model.write_bytes(tiny_model.read_bytes() + b"\0")
        dep.push(tiny_model)
        assert dep.transferred == [remote_model]
        assert fake_phone.host_path(remote_model).read_bytes() == tiny_model.read_bytes()
    assert fake_phone.listdir() is None


def test_same_names_from_different_folders_do_not_collide(fake_phone, tmp_path, tiny_model) -> None:
    adb = Adb(fake_phone.serial)
    other = tmp_path / "other folder" / "tiny_fc.tflite"
    other.parent.mkdir()
    other.write_bytes(tiny_model.read_bytes() + b"different")
    odd = tmp_path / "my model (1).tflite"
    odd.write_bytes(b"odd")
    with Deployment(adb) as dep:
        first, second, third = dep.push(tiny_model), dep.push(other), dep.push(odd)
        assert first == f"{REMOTE}/tiny_fc.tflite" and second != first
        assert second.startswith(f"{REMOTE}/tiny_fc-") and second.endswith(".tflite")
        assert third == f"{REMOTE}/my_model__1_.tflite"
        assert fake_phone.host_path(second).read_bytes() == other.read_bytes()
        assert dep.push(tiny_model) == first
    assert fake_phone.listdir() is None


def test_run_and_parse_real_litert(fake_phone, fake_binary, tiny_model) -> None:
    fake_phone.benchmark_mode = "litert"
    adb = Adb(fake_phone.serial)
    mask, cpus = affinity_mask(read_device_facts(adb), "big")
    with Deployment(adb) as dep:
        out = run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model),
                                  threads=len(cpus), mask=mask, **FAST)
    assert out.exit_code == 0 and not out.failed
    assert out.runs.count == 10 and out.warmup.count == 2
    assert out.avg_us > 0 and out.runs.min <= out.runs.median <= out.runs.max
    assert out.model_size_mb == pytest.approx(tiny_model.stat().st_size / 1e6, rel=1e-3)
    assert "delta_overall_mb" in out.memory
    assert fake_phone.last_taskset_mask() == "f0"
    assert "--num_threads=4" in out.raw or "Num threads: [4]" in out.raw
    assert fake_phone.listdir() is None


def test_binary_pushed_without_exec_permission_is_reported(fake_phone, tmp_path, tiny_model) -> None:
    from fakephone.harness import write_fake_benchmark_binary

    adb = Adb(fake_phone.serial)
    binary = write_fake_benchmark_binary(tmp_path / "benchmark_model", executable=False)
    with Deployment(adb) as dep:
        remote = dep.push(binary, executable=False)
        with pytest.raises(BenchmarkError) as info:
            run_benchmark_model(adb, remote, dep.push(tiny_model), 1, None, **FAST)
    assert "Permission denied" in str(info.value) and "chmod" in str(info.value)


@pytest.mark.parametrize("fail, words", [("crash", "SIGSEGV"), ("delegate", "delegate"),
                                         ("missing", "cannot open")])
def test_benchmark_failures(fake_phone, fake_binary, tiny_model, fail, words) -> None:
    adb = Adb(fake_phone.serial)
    fake_phone.fail = fail
    with Deployment(adb) as dep:
        with pytest.raises(BenchmarkError) as info:
            run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model), 1, "80", **FAST)
    assert words in str(info.value)
    assert fake_phone.listdir() is None


def test_taskset_refusal_is_explained(fake_phone, fake_binary, tiny_model) -> None:
    adb = Adb(fake_phone.serial)
    with Deployment(adb) as dep:
        with pytest.raises(BenchmarkError) as info:  # CPU 8 does not exist on an 8-core phone
            run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model), 1, "100", **FAST)
    assert "taskset" in str(info.value) and "--affinity" in str(info.value)


def test_model_not_on_the_phone(fake_phone, fake_binary) -> None:
    adb = Adb(fake_phone.serial)
    with Deployment(adb) as dep:
        with pytest.raises(BenchmarkError) as info:
            run_benchmark_model(adb, dep.push(fake_binary, executable=True), f"{REMOTE}/nope.tflite", 1, None, **FAST)
    assert "nope.tflite" in str(info.value) and "Benchmarking failed" in str(info.value)


def test_phone_vanishes_mid_run(fake_phone, fake_binary, tiny_model) -> None:
    adb = Adb(fake_phone.serial)
    fake_phone.synthetic_us = 20000  # 200 runs = 4 s; the phone dies after ~0.2 s
    watcher = when_benchmark_starts(fake_phone, fake_phone.vanish)
    with pytest.raises(DeviceError) as info:
        with Deployment(adb) as dep:
            run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model), 1, "80",
                                warmup_runs=1, num_runs=200, min_secs=0.0, timeout=60)
    watcher.join(10)
    assert isinstance(info.value, DeviceVanishedError)
    assert fake_phone.serial in str(info.value) and "vanished" in str(info.value)


def test_run_timeout_is_reported_and_cleaned_up(fake_phone, fake_binary, tiny_model) -> None:
    adb = Adb(fake_phone.serial)
    fake_phone.synthetic_us = 20000
    with pytest.raises(AdbTimeoutError) as info:
        with Deployment(adb) as dep:
            run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model), 1, "80",
                                warmup_runs=1, num_runs=500, min_secs=0.0, timeout=1.5)
    assert "did not finish within 1.5 s" in str(info.value) and "--run-timeout" in str(info.value)
    assert fake_phone.listdir() is None
    assert adb.get_state() == "device"


def test_cleanup_after_exception(fake_phone, fake_binary, tiny_model) -> None:
    adb = Adb(fake_phone.serial)
    with pytest.raises(RuntimeError):
        with Deployment(adb) as dep:
            dep.push(fake_binary, executable=True)
            dep.push(tiny_model)
            out = dep.track(f"{REMOTE}/result.txt")
            adb.shell(["touch", out])
            assert fake_phone.listdir() == ["benchmark_model", "result.txt", "tiny_fc.tflite"]
            raise RuntimeError("boom")
    assert fake_phone.listdir() is None
    assert fake_phone.listdir("/data/local/tmp") == []


def test_cleanup_after_ctrl_c_during_a_run(fake_phone, fake_binary, tiny_model) -> None:
    adb = Adb(fake_phone.serial)
    fake_phone.synthetic_us = 20000
    watcher = when_benchmark_starts(fake_phone, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        with Deployment(adb) as dep:
            run_benchmark_model(adb, dep.push(fake_binary, executable=True), dep.push(tiny_model), 1, "80",
                                warmup_runs=1, num_runs=200, min_secs=0.0, timeout=60)
    watcher.join(10)
    assert fake_phone.listdir() is None
    assert Adb(fake_phone.serial).get_state() == "device"  # the phone itself is fine


def test_pull_and_adb_errors_carry_details(fake_phone, tmp_path) -> None:
    adb = Adb(fake_phone.serial)
    got = tmp_path / "pulled" / "props.json"
    adb.pull("/props.json", got)
    assert b"GM1903" in got.read_bytes()
    with pytest.raises(AdbError) as info:
        adb.pull("/data/local/tmp/missing.txt", tmp_path / "missing.txt")
    assert info.value.serial == fake_phone.serial and info.value.ret_code == 1
    assert not (tmp_path / "missing.txt").exists()
    assert list(tmp_path.glob(".missing.txt*")) == []


def test_adb_missing_from_path(fake_phone, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for var in ("GHOSTEDGE_ADB", "ANDROID_HOME", "ANDROID_SDK_ROOT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(AdbMissingError) as info:
        resolve_serial(fake_phone.serial)
    assert "apt-get install adb" in str(info.value)
