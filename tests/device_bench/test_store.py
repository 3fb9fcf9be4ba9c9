"""The JSON-lines results store: schema round trip, durability rules, torn lines, several sessions."""
from __future__ import annotations

import json

import pytest

from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.store import SCHEMA, ResultsWriter, read_results
from ghostedge.errors import BenchmarkError, DeviceError, ReportError


def _plan(models, **kw):
    return BenchPlan([describe_model(m) for m in models], **{"threads": [1, 2], "repeats": 2, **kw})


def test_round_trip_keeps_provenance(tmp_path, tiny_models, scripted_backend):
    path = tmp_path / "results.jsonl"
    done = run_plan(_plan(tiny_models), scripted_backend(), path, command_line=["ghostedge", "bench"])
    assert done.status == "ok" and len(done.records) == 8
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(rec["schema"] == SCHEMA for rec in lines)
    assert [rec["kind"] for rec in lines] == ["session"] + ["run"] * 8 + ["end"]
    header = lines[0]
    assert header["command_line"] == ["ghostedge", "bench"] and header["ghostedge_version"]
    assert header["device"]["facts"]["platform"] == "msmnile"
    assert header["runtime"]["binary_sha256"] == "ab" * 32
    assert [m["label"] for m in header["plan"]["models"]] == ["GhostNet_x1_0 FP32", "GhostNet_x1_0 INT8"]
    run = lines[1]
    assert run["model"]["sha256"] == describe_model(tiny_models[0]).sha256
    assert run["mask"] == "f0" and run["threads"] == 1 and run["repeat"] == 0
    assert run["temperatures_before"] == {"battery": 31.0} and "temperatures_after" in run
    assert run["started_at"] <= run["ended_at"]
    sessions = read_results(tmp_path)  # a folder works too
    assert len(sessions) == 1 and sessions[0].status == "ok" and len(sessions[0].runs) == 8
    assert sessions[0].runs[3]["result"]["avg_us"] == lines[4]["result"]["avg_us"]


def test_each_record_is_on_disk_when_the_next_run_starts(tmp_path, tiny_models, scripted_backend):
    path = tmp_path / "results.jsonl"
    seen = []

    class Peeking(scripted_backend):
        def run(self, model, threads, plan):
            seen.append(sum(1 for line in path.read_text().splitlines() if '"kind": "run"' in line))
            return super().run(model, threads, plan)

    run_plan(_plan(tiny_models), Peeking(), path)
    assert seen == list(range(8))


def test_failure_mid_plan_keeps_finished_runs(tmp_path, tiny_models, scripted_backend):
    path = tmp_path / "results.jsonl"
    backend = scripted_backend(fail_at=5, fail_with=DeviceError("Device 'FAKE123' vanished",
                                                                "cable pulled", "Reconnect it"))
    with pytest.raises(BenchmarkError) as info:
        run_plan(_plan(tiny_models), backend, path)
    message = str(info.value)
    assert "run 6 of 8" in message and "vanished" in message and "5 finished runs" in message
    assert "\n" not in message
    session = read_results(path)[0]
    assert len(session.runs) == 5 and session.status == "failed"
    assert "vanished" in session.errors[0]["message"]


def test_ctrl_c_ends_the_session_as_interrupted(tmp_path, tiny_models, scripted_backend):
    path = tmp_path / "results.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_plan(_plan(tiny_models), scripted_backend(fail_at=2, fail_with=KeyboardInterrupt()), path)
    session = read_results(path)[0]
    assert session.status == "interrupted" and len(session.runs) == 2


def test_torn_last_line_is_skipped_and_appending_resumes(tmp_path, tiny_models, scripted_backend):
    path = tmp_path / "results.jsonl"
    run_plan(_plan(tiny_models, repeats=1), scripted_backend(), path)
    text = path.read_text().splitlines()
    # a process killed in the middle of a write: header + 2 runs, then half a line
    path.write_text("\n".join(text[:3]) + "\n" + text[3][: len(text[3]) // 2])
    session = read_results(path)[0]
    assert len(session.runs) == 2 and session.status == "incomplete"
    # a later session appended after a clean newline is read as well
    with open(path, "a") as fh:
        fh.write("\n")
    run_plan(_plan(tiny_models, repeats=1), scripted_backend(), path)
    with pytest.raises(ReportError, match="line 4 is not JSON"):
        read_results(path)  # a torn line in the middle is corruption, not a torn tail
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    sessions = read_results(path)
    assert [len(s.runs) for s in sessions] == [2, 4] and sessions[1].status == "ok"


def test_reader_refuses_other_schemas_and_strangers(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"schema": "ghostedge.bench/99", "kind": "session"}) + "\n")
    with pytest.raises(ReportError, match="ghostedge.bench/99"):
        read_results(path)
    path.write_text(json.dumps({"schema": SCHEMA, "kind": "run", "session_id": "x"}) + "\n")
    with pytest.raises(ReportError, match="header is missing"):
        read_results(path)
    with pytest.raises(ReportError, match="does not exist"):
        read_results(tmp_path / "nope.jsonl")
    path.write_text("")
    with pytest.raises(ReportError, match="no session"):
        read_results(path)


def test_writer_rejects_unknown_kinds(tmp_path):
    with ResultsWriter(tmp_path / "r.jsonl") as writer:
        with pytest.raises(ValueError):
            writer.append({"kind": "bogus"})


def test_temperatures_are_read_around_every_run(tmp_path, tiny_models, scripted_backend):
    readings = [{"cpu": float(t)} for t in range(30, 60)]
    backend = scripted_backend(temps=readings)
    run_plan(_plan(tiny_models, repeats=1), backend, tmp_path / "r.jsonl")
    runs = read_results(tmp_path / "r.jsonl")[0].runs
    assert [r["temperatures_before"]["cpu"] for r in runs] == [30.0, 31.0, 32.0, 33.0]
    assert [r["temperatures_after"]["cpu"] for r in runs] == [31.0, 32.0, 33.0, 34.0]


def test_cooldown_is_recorded_per_run(tmp_path, tiny_models, scripted_backend, monkeypatch):
    hot_then_cool = [{"cpu": 70.0}, {"cpu": 35.0}] + [{"cpu": 35.0}] * 20
    backend = scripted_backend(temps=hot_then_cool)
    plan = _plan(tiny_models, repeats=1, cooldown_temp_c=40.0, cooldown_max_wait_s=10.0)
    import ghostedge.device_bench.runner as runner_mod

    original = runner_mod.wait_for_cooldown
    monkeypatch.setattr(runner_mod, "wait_for_cooldown",
                        lambda read, thr, mx: original(read, thr, mx, sleep=lambda s: None))
    run_plan(plan, backend, tmp_path / "r.jsonl")
    runs = read_results(tmp_path / "r.jsonl")[0].runs
    assert runs[0]["cooldown"]["threshold_c"] == 40.0 and not runs[0]["cooldown"]["timed_out"]
    assert runs[0]["temperatures_before"] == {"cpu": 35.0}
