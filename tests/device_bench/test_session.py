"""`ghostedge bench` / `devices` / `report` end to end: the real adb client against loopback fake
phones (tests/fakephone), each test with its own adb server port and HOME."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from ghostedge.fileio import sha256_file
from ghostedge.device_bench.store import read_results

from fakephone.harness import adb_sandbox, fake_phone, write_fake_benchmark_binary  # tests/ on sys.path

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parent.parent / "data" / "device_bench"
DRIVER = Path(__file__).resolve().parent / "base_install_driver.py"
NO_RUNTIME = {"BLOCK_ALSO": "ai_edge_litert,tflite_runtime"}  # a phone needs no TFLite runtime here
SEED_HEADER = "| Models | SD855 time(ms) bs=1, thread=1 | thread=2 | thread=4 | Storage Size(M) |"


def _workspace(tmp_path: Path) -> Path:
    """A folder with ghostedge-out/ghostnet_100.{fp32,int8}.tflite (the tiny models under that name)
    and a placeholder arm64 benchmark_model."""
    out = tmp_path / "ws" / "ghostedge-out"
    out.mkdir(parents=True)
    for precision in ("fp32", "int8"):
        shutil.copy(DATA / f"tiny_conv.{precision}.tflite", out / f"ghostnet_100.{precision}.tflite")
        # what `ghostedge convert` writes beside a 1000-class model (the tiny models have 10 classes)
        (out / f"ghostnet_100.{precision}.report.json").write_text(
            json.dumps({"kind": precision, "model_name": "ghostnet_100",
                        "outputs": [{"name": "logits", "shape": [1, 1000]}]}))
    write_fake_benchmark_binary(tmp_path / "ws" / "bin" / "benchmark_model")
    return tmp_path / "ws"


def _cli(args: List[str], ws: Path, env: dict, **kw) -> subprocess.Popen:
    env = dict(env, GHOSTEDGE_NO_PROGRESS="1", GHOSTEDGE_CACHE=str(ws / "cache"))
    return subprocess.Popen([sys.executable, str(DRIVER), *args], cwd=ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _run(args: List[str], ws: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = _cli(args, ws, env)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _error_line(stderr: str) -> str:
    """The CLI's one error line (the driver adds its own marker line after it)."""
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def _bench_args(phone, ws: Path, *extra: str) -> List[str]:
    return ["bench", "--device", phone.serial, "--benchmark-binary", str(ws / "bin" / "benchmark_model"),
            "--warmup-runs", "1", "--num-runs", "5", "--min-secs", "0", "--warmup-min-secs", "0",
            "--adaptive-budget", "0", "--output", str(ws / "res"), *extra]


def _wait_for_runs(path: Path, count: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count('"kind": "run"') >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"bench ended early: {proc.communicate()}")
        time.sleep(0.05)
    pytest.fail(f"no {count} runs in {path} after {timeout} s")


def test_full_bench_prints_seed_table_and_leaves_nothing(tmp_path):
    ws = _workspace(tmp_path)
    with fake_phone(tmp_path / "phone", benchmark_mode="litert") as phone:
        res = _run(_bench_args(phone, ws, "--threads", "1", "2", "4", "--repeats", "2"), ws,
                   {**phone.env, **NO_RUNTIME})
        assert res.returncode == 0, res.stderr
        assert "BASE-INSTALL-OK" in res.stderr  # no torch/tensorflow/LiteRT on the adb path
        lines = res.stdout.splitlines()
        start = lines.index(SEED_HEADER)
        assert lines[start + 2].startswith("| GhostNet_x1_0 FP32 | ")
        assert lines[start + 3].startswith("| GhostNet_x1_0 INT8 | ")
        assert lines[start + 4] == "| GhostNet_x1_0 (PaddleClas, Paddle Lite) | 12.89 | 8.66 | 6.72 | 20.000 |"
        assert "Protocol: strict" in res.stdout and "95 % interval" in res.stdout
        assert phone.listdir() is None            # /data/local/tmp/ghostedge removed
        assert phone.last_taskset_mask() == "f0"  # big cores of the SD855 profile (cpu4-7)
    out = ws / "res"
    for name in ("results.jsonl", "table.md", "table.csv", "summary.json", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    session = read_results(out)[0]
    assert session.status == "ok" and len(session.runs) == 12
    header = session.header
    assert header["device"]["is_sd855"] and header["device"]["facts"]["platform"] == "msmnile"
    assert header["device"]["affinity"] == {"policy": "big", "mask": "f0", "cpus": [4, 5, 6, 7]}
    assert header["runtime"]["binary_sha256"] == sha256_file(ws / "bin" / "benchmark_model")
    assert [m["sha256"] for m in header["plan"]["models"]] == [
        sha256_file(ws / "ghostedge-out" / f"ghostnet_100.{p}.tflite") for p in ("fp32", "int8")]
    run = session.runs[0]
    assert run["result"]["runs"]["count"] == 5 and run["result"]["avg_us"] > 0
    assert run["temperatures_before"]["battery"] == pytest.approx(31.0)
    assert [(r["threads"], r["repeat"]) for r in session.runs[:4]] == [(1, 0), (2, 0), (4, 0), (1, 0)]
    csv_lines = (out / "table.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 6 + 3 and any(",reference," in line for line in csv_lines)
    redraw = _run(["report", str(out), "--json"], ws, {**os.environ, **NO_RUNTIME})
    assert redraw.returncode == 0 and "BASE-INSTALL-OK" in redraw.stderr
    assert json.loads(redraw.stdout)["reference"][0]["ms"] == {"1": 12.89, "2": 8.66, "4": 6.72}


def test_phone_vanishing_mid_run_keeps_earlier_results(tmp_path):
    ws = _workspace(tmp_path)
    with fake_phone(tmp_path / "phone", benchmark_mode="synthetic") as phone:
        phone.synthetic_us = 60_000  # 6 inferences ≈ 0.4 s per run
        proc = _cli(_bench_args(phone, ws, "--threads", "1", "2", "--affinity", "prime"), ws, phone.env)
        try:
            _wait_for_runs(ws / "res" / "results.jsonl", 2, proc)
            phone.vanish()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 1, err
    last = _error_line(err)
    assert last.startswith("error: Benchmark stopped at run ") and "finished runs are kept" in last
    assert "vanished" in last or "not found" in last or "stopped answering" in last
    session = read_results(ws / "res")[0]
    assert session.status == "failed" and len(session.runs) >= 2 and session.errors
    assert session.header["device"]["affinity"]["mask"] == "80"  # the prime core (cpu7)
    assert all(r["mask"] == "80" for r in session.runs)
    assert (ws / "res" / "table.md").exists()  # partial report written too


def test_crashing_benchmark_binary_fails_cleanly(tmp_path):
    ws = _workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        phone.fail = "crash"
        res = _run(_bench_args(phone, ws, "--threads", "1", "--repeats", "1"), ws, phone.env)
        assert res.returncode == 1
        last = _error_line(res.stderr)
        assert last.startswith("error: Benchmark stopped at run 1 of 2") and "crash" in last
        assert phone.listdir() is None  # cleaned up after the failure
    session = read_results(ws / "res")[0]
    assert session.status == "failed" and session.runs == [] and "SIGSEGV" in session.errors[0]["message"]


def test_ctrl_c_removes_files_from_the_phone(tmp_path):
    ws = _workspace(tmp_path)
    with fake_phone(tmp_path / "phone", benchmark_mode="synthetic") as phone:
        phone.synthetic_us = 60_000
        proc = _cli(_bench_args(phone, ws, "--threads", "1", "2", "4"), ws, phone.env)
        try:
            _wait_for_runs(ws / "res" / "results.jsonl", 1, proc)
            assert phone.listdir()  # deployed while running
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, err
        assert "interrupted" in _error_line(err)
        assert phone.listdir() is None
    session = read_results(ws / "res")[0]
    assert session.status == "interrupted" and len(session.runs) >= 1


def test_binary_without_exec_permission_still_runs(tmp_path):
    ws = _workspace(tmp_path)
    write_fake_benchmark_binary(ws / "bin" / "benchmark_model", executable=False)
    with fake_phone(tmp_path / "phone") as phone:
        res = _run(_bench_args(phone, ws, "--threads", "1", "--repeats", "1", "--json"), ws, phone.env)
        assert res.returncode == 0, res.stderr
        data = json.loads(res.stdout)
        assert [r["label"] for r in data["rows"]] == ["GhostNet_x1_0 FP32", "GhostNet_x1_0 INT8"]
        assert data["rows"][0]["cells"]["1"]["median_ms"] > 0 and data["reference"]
        assert phone.listdir() is None


def test_devices_lists_usable_and_unauthorized_phones(tmp_path):
    ws = _workspace(tmp_path)
    with adb_sandbox(tmp_path / "adb") as sandbox:
        good = sandbox.add_phone()
        bad = sandbox.add_phone(state="unauthorized")
        offline = sandbox.add_phone(state="offline")
        res = _run(["devices", "--json"], ws, sandbox.env)
        assert res.returncode == 0, res.stderr
        rows = {r["serial"]: r for r in json.loads(res.stdout)["devices"]}
        assert rows[good.serial]["state"] == "device" and rows[good.serial]["model"] == "GM1903"
        assert rows[good.serial]["platform"] == "msmnile" and rows[good.serial]["abi"] == "arm64-v8a"
        assert rows[good.serial]["is_sd855"] and rows[good.serial]["android"]
        assert rows[bad.serial]["state"] in ("unauthorized", "authorizing")
        assert rows[bad.serial]["abi"] is None
        assert rows[offline.serial]["state"] == "offline" and rows[offline.serial]["model"] is None
        human = _run(["devices"], ws, sandbox.env)
        assert human.returncode == 0 and "SD855" in human.stdout and bad.serial in human.stdout
        # with two devices and no --device, bench refuses and lists the candidates
        res = _run(["bench", "--threads", "1"], ws, sandbox.env)
        assert res.returncode != 0 and "More than one device" in res.stderr and good.serial in res.stderr
        for phone, word in ((bad, "RSA key"), (offline, "offline")):
            res = _run(["bench", "--device", phone.serial, "--threads", "1"], ws, sandbox.env)
            assert res.returncode != 0 and word in _error_line(res.stderr), res.stderr


def test_local_device_end_to_end(tmp_path):
    ws = _workspace(tmp_path)
    res = _run(["bench", "--device", "local", "--threads", "1", "2", "4", "--repeats", "2", "--adaptive-budget", "0",
                "--num-runs", "20", "--min-secs", "0", "--warmup-min-secs", "0",
                "--output", str(ws / "local")], ws, {**os.environ})
    assert res.returncode == 0, res.stderr
    assert "BASE-INSTALL-OK" in res.stderr
    header = [line for line in res.stdout.splitlines() if line.startswith("| Models | local CPU (")]
    assert header and header[0].endswith("thread=1 | thread=2 | thread=4 | Storage Size(M) |")
    assert "PaddleClas" not in res.stdout
    session = read_results(ws / "local")[0]
    assert session.status == "ok" and len(session.runs) == 12
    assert session.header["runtime"]["runtime"].startswith(("ai-edge-litert", "tflite-runtime"))
    assert session.header["device"]["facts"]["cores"] >= 1
    assert all(r["result"]["runs"]["count"] == 20 for r in session.runs)
    assert (ws / "local" / "latency.png").exists()
