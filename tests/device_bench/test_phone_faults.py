"""The phone after a failure, and a phone that heats: benchmark_model killed on the phone after a
host-side timeout, an earlier vanished session's leftovers (files and a still-running
benchmark_model) removed and named, thermal gating and throttling recorded, both protocols."""
from __future__ import annotations

import subprocess
import time

import pytest

from ghostedge.device_bench.store import read_results

from device_bench.phone_cli import (FAST_THERMAL, bench_args, error_line, models, run, table_rows, wait_until,
                                   workspace)
from fakephone.harness import fake_phone
from fakephone.phone_bench import deploy

pytestmark = pytest.mark.slow
REMOTE = "/data/local/tmp/ghostedge"


def test_run_timeout_kills_benchmark_model_on_the_phone(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        phone.synthetic_us = 400_000   # 6 inferences: 2.4 s > --run-timeout 1
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "--repeats", "1", "--run-timeout", "1"),
                  ws, phone.env)
        assert phone.running_benchmarks() == []     # killed by pid, not left running on the phone
        assert phone.listdir() is None
    assert res.returncode == 1
    line = error_line(res.stderr)
    assert line.startswith("error: Benchmark stopped at run 1 of 2") and "did not finish within 1 s" in line
    assert "killed on the phone: pid" in line
    session = read_results(ws / "res")[0]
    assert session.status == "failed" and session.runs == []
    assert list((ws / "tmp").iterdir()) == []


def test_leftovers_of_a_vanished_session_are_killed_removed_and_named(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        model = deploy(phone, tmp_path / "old", ws / "ghostedge-out" / "ghostnet_100.fp32.tflite")
        phone.plant(f"{REMOTE}/ghostnet_130.fp32.tflite", size=20_000_000)
        phone.synthetic_us = 100_000
        # an earlier session whose host went away: its benchmark_model still runs on the phone
        old = subprocess.Popen([phone.sandbox.adb_path, "-s", phone.serial, "shell",
                                f"taskset f0 {REMOTE}/benchmark_model --graph={model} --num_runs=500"],
                               env=phone.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: phone.running_benchmarks(), what="the old benchmark to start")
        time.sleep(1.0)   # into its timed loop (0.5 s of warm-up), where it prints nothing
        stale = phone.running_benchmarks()
        old.kill()
        old.wait()
        assert phone.running_benchmarks() == stale   # the phone keeps running it
        phone.synthetic_us = 2000
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "--repeats", "1"), ws, phone.env)
        assert res.returncode == 0, res.stderr
        assert phone.running_benchmarks() == [] and phone.listdir() is None
    assert "removed what earlier sessions left in /data/local/tmp/ghostedge" in res.stderr
    assert "ghostnet_130.fp32.tflite (20.0 MB)" in res.stderr and "model.tflite" in res.stderr
    deployment = read_results(ws / "res")[0].header["deployment"]
    assert set(deployment["removed_leftovers"]) == {"ghostnet_130.fp32.tflite", "model.tflite"}
    assert deployment["killed"] == stale and "benchmark_model" in deployment["unchanged"][0]
    assert "removed earlier sessions' leftovers: ghostnet_130.fp32.tflite, model.tflite" in res.stdout


def test_a_heating_phone_is_waited_for_and_throttled_runs_are_marked(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        # heats ~5 °C per busy core over a run, throttles above 41 °C (it rests at 39 °C)
        phone.set_thermal(heat_c_per_s=10.0, cool_tau_s=0.5, throttle_c=41.0)
        phone.synthetic_us = 20_000
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "4", "--repeats", "2", "--min-secs", "1.2"),
                  ws, phone.env)
        assert res.returncode == 0, res.stderr
        paddle = run(["bench", *models(ws), "--device", phone.serial, "--benchmark-binary",
                      str(ws / "bin" / "benchmark_model"), "--protocol", "paddlelite", "--output", str(ws / "paddle")],
                     ws, phone.env)
        assert paddle.returncode == 0, paddle.stderr
        assert phone.listdir() is None
    session = read_results(ws / "res")[0]
    thermal = session.header["thermal"]
    assert thermal["mode"] == "baseline" and thermal["baseline_c"] == pytest.approx(39.0, abs=0.5)
    assert thermal["threshold_c"] == pytest.approx(thermal["baseline_c"] + 3.0)
    waits = [r["cooldown"]["waited_s"] for r in session.runs]
    assert all(r["cooldown"]["threshold_c"] == thermal["threshold_c"] for r in session.runs)
    assert sum(w > 0 for w in waits) >= 1 and session.end["cooldown_waited_s"] == pytest.approx(sum(waits), abs=0.01)
    throttled = [r for r in session.runs if r["throttled"]]
    assert throttled and all(r["result"]["frequency"]["reach_median"] < 0.95 for r in throttled)
    assert "(throttled" in res.stdout or "throttled)" in res.stdout
    assert "Protocol: strict" in res.stdout and "Protocol: paddlelite" in paddle.stdout
    psession = read_results(ws / "paddle")[0]
    assert psession.header["device"]["affinity"]["mask"] is None and psession.header["thermal"] == {"mode": "off"}
    assert {(r["result"]["runs"]["count"], r["repeat"]) for r in psession.runs} == {(30, 0)}
    assert len(psession.runs) == 2 * 3   # 2 models x threads 1 2 4, one run each
    assert len(table_rows(paddle.stdout)) == 3   # two models and PaddleClas's row, made the same way


def test_no_cooldown_turns_the_gate_off(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "--repeats", "1", "--no-cooldown"), ws, phone.env)
    assert res.returncode == 0, res.stderr
    session = read_results(ws / "res")[0]
    assert session.header["thermal"] == {"mode": "off"} and all(r["cooldown"] is None for r in session.runs)
