"""The phases of a device's session on a scripted backend: adaptive repeats, marked delegate
cells, the op profile by part, memory; several devices in parallel with one failing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostedge.device_bench.parallel import DeviceSpec, run_devices
from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.store import ResultsWriter, read_results
from ghostedge.device_bench.summary import build_summary
from ghostedge.errors import DeviceError

PROFILE = Path(__file__).resolve().parents[1] / "data" / "op_parts" / "ghostnet_100.int8.profile.txt"


def _plan(models, **kw):
    return BenchPlan([describe_model(m) for m in models], **{"threads": [1, 2], "repeats": 2, **kw})


def test_adaptive_repeats_until_stable_or_most_runs(tmp_path, tiny_models, scripted_backend):
    seen = {}

    def latency(model, threads, n):   # each 2-thread cell alternates ±10 %; the 1-thread ones are steady
        k = seen[(model.label, threads)] = seen.get((model.label, threads), -1) + 1
        return 10000.0 if threads == 1 else 10000.0 * (1.1 if k % 2 else 0.9)

    path = tmp_path / "r.jsonl"
    run_plan(_plan(tiny_models, adaptive_budget_s=3600, max_repeats=9, min_repeats=6),
             scripted_backend(latency_us=latency), path)
    session = read_results(path)[0]
    counts = {}
    for r in session.runs:
        counts[(r["model"]["label"], r["threads"])] = counts.get((r["model"]["label"], r["threads"]), 0) + 1
    assert counts == {("GhostNet_x1_0 FP32", 1): 6, ("GhostNet_x1_0 FP32", 2): 9,
                      ("GhostNet_x1_0 INT8", 1): 6, ("GhostNet_x1_0 INT8", 2): 9}
    decisions = {d["cell"]: d for d in session.end["adaptive"]}
    assert decisions["GhostNet_x1_0 FP32 | 1"]["status"] == "stable"
    assert decisions["GhostNet_x1_0 FP32 | 2"]["status"] == "max_runs" and decisions["GhostNet_x1_0 FP32 | 2"]["unstable"]
    assert {r["phase"] for r in session.runs[8:]} == {"adaptive"}
    summary = build_summary([session])
    assert "unstable" in summary["rows"][0]["cells"]["2"]["marks"] and summary["rows"][0]["cells"]["1"]["stable"]


def test_adaptive_budget_zero_runs_only_the_plan(tmp_path, tiny_models, scripted_backend):
    done = run_plan(_plan(tiny_models, adaptive_budget_s=0), scripted_backend(), tmp_path / "r.jsonl")
    assert len(done.records) == 8 and read_results(tmp_path / "r.jsonl")[0].end["adaptive"] == []


def test_a_failing_delegate_marks_its_cell_and_the_session_goes_on(tmp_path, tiny_models, scripted_backend):
    backend = scripted_backend()
    backend.failing_delegates = {"gpu": "OpenCL library not loaded"}
    path = tmp_path / "r.jsonl"
    run_plan(_plan(tiny_models, delegates=["cpu", "gpu"]), backend, path)
    session = read_results(path)[0]
    assert session.status == "ok"
    gpu_calls = [c for c in backend.calls if len(c) == 3]
    assert gpu_calls == [("GhostNet_x1_0 FP32", 1, "gpu"), ("GhostNet_x1_0 INT8", 1, "gpu")]  # not retried
    summary = build_summary([session])
    cell = summary["rows"][0]["cells"]["gpu"]
    assert cell["status"] == "failed" and "OpenCL" in cell["reason"]
    assert [c["label"] for c in summary["columns"]] == ["thread=1", "thread=2", "GPU"]
    assert summary["rows"][0]["cells"]["2"]["status"] == "ok"


def test_op_profile_and_memory_runs_are_separate_records(tmp_path, tiny_models, scripted_backend):
    backend = scripted_backend()
    backend.profile_text = PROFILE.read_text()
    path = tmp_path / "r.jsonl"
    run_plan(_plan(tiny_models[:1], repeats=1, op_profile=True, memory=True), backend, path)
    session = read_results(path)[0]
    assert len(session.runs) == 2 and len(session.profiles) == 2 and len(session.memory) == 1
    prof = session.profiles[0]["part_profile"]
    assert prof["grouping"] == "operator type" and "no op_parts section" in prof["notes"][0]
    assert prof["coverage"] == pytest.approx(1.0, abs=0.05)
    assert session.memory[0]["peak_mb"] == 42.5
    # the profile and memory runs come after every timed run
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["session", "run", "run", "profile", "profile", "memory", "end"]
    summary = build_summary([session])
    assert summary["rows"][0]["memory"] == {"cpu": 42.5} and len(summary["profiles"]) == 2


def test_several_devices_run_in_parallel_and_a_failing_one_is_marked(tmp_path, tiny_models, scripted_backend):
    class Named(scripted_backend):
        def __init__(self, serial, **kw):
            super().__init__(**kw)
            self.serial = serial

        def device_info(self):
            return dict(super().device_info(), serial=self.serial)

    vanish = DeviceError("Device 'B' vanished", "cable pulled", "Reconnect it")
    specs = [DeviceSpec("A", open=lambda: Named("A")),
             DeviceSpec("B", open=lambda: Named("B", fail_at=1, fail_with=vanish)),
             DeviceSpec("C", error=DeviceError("Device 'C' is unauthorized", "no RSA key", "Accept it"))]
    started = []
    writer = ResultsWriter(tmp_path / "r.jsonl")
    outcome = run_devices(_plan(tiny_models), specs, writer, ["ghostedge"], lambda: started.append(1))
    assert started == [1] and outcome.started and outcome.interrupt is None
    assert [w.status for w in outcome.workers] == ["ok", "failed", "failed"]
    sessions = read_results(tmp_path / "r.jsonl")
    by_serial = {s.header["device"]["serial"]: s for s in sessions}
    assert by_serial["A"].status == "ok" and len(by_serial["A"].runs) == 8
    assert by_serial["B"].status == "failed" and len(by_serial["B"].runs) == 1
    assert by_serial["C"].status == "failed" and "unauthorized" in by_serial["C"].errors[0]["message"]
    assert len({s.header["group_id"] for s in sessions}) == 1
    summary = build_summary(sessions)
    assert len(summary["rows"]) == 6 and {r["device"] for r in summary["rows"]} == {"A", "B", "C"}
    assert any(w.startswith("C ended failed") for w in summary["warnings"])
