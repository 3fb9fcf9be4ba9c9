"""Delegates, the per-operator profile by GhostNet part and peak memory on a fake phone, with the
real adb client: GPU/NNAPI column groups, failing delegates and flags the phone's benchmark_model
does not know as marked cells (never a silent CPU figure), op profiles in runs of their own."""
from __future__ import annotations

import json

import pytest
from device_bench.phone_cli import FAST_THERMAL, TESTS, bench_args, run, table_rows, workspace
from fakephone.harness import fake_phone

from ghostedge.device_bench.store import read_results

pytestmark = pytest.mark.slow
OP_PARTS = TESTS / "data" / "op_parts"


def test_cpu_and_gpu_column_groups_and_a_failing_delegate(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        phone.set_benchmark(us=8000, gpu_us=3000, nnapi="fail")
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "2", "--delegate", "cpu", "gpu", "nnapi",
                             "--repeats", "2"), ws, phone.env)
        assert res.returncode == 0, res.stderr
        assert phone.listdir() is None
    rows = table_rows(res.stdout)
    assert res.stdout.count("| Models | SD855 time(ms) bs=1, thread=1 | thread=2 | GPU | NNAPI | Storage Size(M) |") == 1
    fp32 = rows[0]
    assert fp32[0] == "GhostNet_x1_0 FP32" and float(fp32[3]) == pytest.approx(3.0, rel=0.1)
    assert float(fp32[1]) == pytest.approx(8.0, rel=0.1) and fp32[4] == "failed [1]" and rows[1][4] == "failed [1]"
    assert "[1] NNAPI delegate failed: NN API returned error ANEURALNETWORKS_BAD_DATA" in res.stdout
    session = read_results(ws / "res")[0]
    assert session.status == "ok"
    nnapi = [r for r in session.runs if r["delegate"] == "nnapi"]
    assert len(nnapi) == 2 and all(r["status"] == "failed" for r in nnapi)   # one per model, not retried
    gpu = [r for r in session.runs if r["delegate"] == "gpu"]
    assert len(gpu) == 4 and all(r["result"]["delegates"][0]["name"] == "GPU" for r in gpu)


def test_a_delegate_flag_the_binary_does_not_know_is_a_marked_cell(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        phone.set_benchmark(gpu="absent")   # an old build: --use_gpu is an unconsumed flag, the run is CPU
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "--delegate", "gpu", "--repeats", "1"), ws,
                  phone.env)
        assert phone.listdir() is None
    assert res.returncode == 0, res.stderr
    assert [r[1] for r in table_rows(res.stdout)[:2]] == ["failed [1]", "failed [1]"]
    assert "[1] benchmark_model does not know --use_gpu" in res.stdout
    assert all(r["status"] == "failed" for r in read_results(ws / "res")[0].runs)


def test_op_profile_by_ghostnet_part_adds_up(tmp_path):
    from ghostedge.convert.op_parts import op_parts_section

    ws = workspace(tmp_path, source="op_parts")
    model = ws / "ghostedge-out" / "ghostnet_100.fp32.tflite"
    section = op_parts_section(OP_PARTS / "tiny_timm.fp32.tflite", OP_PARTS / "tiny_timm.onnx")
    (ws / "ghostedge-out" / "ghostnet_100.fp32.report.json").write_text(json.dumps(
        {"kind": "fp32", "model_name": "ghostnet_100", "op_parts": section}))
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        phone.synthetic_us = 6000
        args = bench_args(ws, [phone.serial], "--threads", "1", "--repeats", "1", "--op-profile", "--memory")
        args[1:3] = [str(model), str(ws / "ghostedge-out" / "ghostnet_100.int8.tflite")]
        res = run(args, ws, phone.env)
        assert res.returncode == 0, res.stderr
        assert phone.listdir() is None and phone.runs_started == 2 + 2 + 2   # timed, profile, memory
    assert "Per-operator profile by part: ghostnet_100.fp32.tflite" in res.stdout
    for label in ("stem", "primary", "cheap", "se", "head"):
        assert any(line.lower().startswith(label) for line in res.stdout.splitlines()), label
    assert "Per-operator profile by operator type: ghostnet_100.int8.tflite" in res.stdout   # no report beside it
    assert "profiled by operator type only" in res.stdout
    session = read_results(ws / "res")[0]
    fp32 = next(p for p in session.profiles if p["model"]["label"].endswith("FP32"))["part_profile"]
    assert fp32["grouping"] == "part" and abs(fp32["coverage"] - 1.0) <= 0.05
    assert {m["delegate"] for m in session.memory} == {"cpu"} and all(m["peak_mb"] > 0 for m in session.memory)
    assert "Peak memory(MB)" in res.stdout
    assert sorted(p.name for p in (ws / "res").glob("op_parts-*.png")) == [
        f"op_parts-{phone.serial.replace(':', '_')}-GhostNet_x1_0_{p}-1t.png" for p in ("FP32", "INT8")]
    redraw = run(["report", str(ws / "res")], ws, phone.env)
    assert redraw.returncode == 0 and "Per-operator profile by part" in redraw.stdout


def test_op_profile_flag_unknown_to_the_binary(tmp_path):
    ws = workspace(tmp_path)
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        phone.set_benchmark(missing_flags=["enable_op_profiling"])
        res = run(bench_args(ws, [phone.serial], "--threads", "1", "--repeats", "1", "--op-profile"), ws, phone.env)
        assert phone.listdir() is None
    assert res.returncode == 0, res.stderr
    assert "not measured — benchmark_model does not know --enable_op_profiling" in res.stdout
    assert all(p["status"] == "failed" for p in read_results(ws / "res")[0].profiles)
