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
        def run(self, model, threads, plan, delegate="cpu"):
            seen.append(sum(1 for line in path.read_text().splitlines() if '"kind": "run"' in line))
            return super().run(model, threads, plan, delegate)

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
    from ghostedge.device_bench import thermal

    hot_then_cool = [{"cpu": 70.0}, {"cpu": 70.0}, {"cpu": 35.0}] + [{"cpu": 35.0}] * 20
    backend = scripted_backend(temps=hot_then_cool)
    plan = _plan(tiny_models, repeats=1, cooldown_temp_c=40.0, cooldown_max_wait_s=10.0)
    monkeypatch.setattr(thermal, "POLL_S", 0.01)
    run_plan(plan, backend, tmp_path / "r.jsonl")
    session = read_results(tmp_path / "r.jsonl")[0]
    runs = session.runs
    assert session.header["thermal"]["mode"] == "temp" and session.header["thermal"]["threshold_c"] == 40.0
    assert runs[0]["cooldown"]["threshold_c"] == 40.0 and not runs[0]["cooldown"]["timed_out"]
    assert runs[0]["cooldown"]["waited_s"] > 0 and runs[1]["cooldown"]["waited_s"] == 0
    assert runs[0]["temperatures_before"] == {"cpu": 35.0}


def test_a_failing_write_keeps_every_record_in_memory_and_no_empty_file(tmp_path, monkeypatch):
    import errno
    import os as os_mod

    from ghostedge.device_bench import store

    calls = {"n": 0}
    real = os_mod.fsync

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] >= 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(store.os, "fsync", fsync)
    path = tmp_path / "r.jsonl"
    writer = ResultsWriter(path)
    writer.append({"kind": "session", "session_id": "s"})
    writer.append({"kind": "run", "session_id": "s", "n": 1})
    assert writer.error is not None and writer.error.errno == errno.ENOSPC
    assert len(writer.records) == 2
    assert not path.exists() or path.stat().st_size > 0   # never a 0-byte results file
    monkeypatch.setattr(store.os, "fsync", real)
    saved = writer.save(tmp_path / "elsewhere" / "r.jsonl")
    assert [s.runs[0]["n"] for s in read_results(saved)] == [1]


def test_sessions_from_memory_match_the_file(tmp_path, tiny_models, scripted_backend):
    from ghostedge.device_bench.store import sessions_from_records

    path = tmp_path / "r.jsonl"
    run_plan(_plan(tiny_models, repeats=1), scripted_backend(), path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [len(s.runs) for s in sessions_from_records(records)] == [len(s.runs) for s in read_results(path)] == [4]


def test_results_written_before_delegates_and_profiles_still_load(tmp_path):
    """A results.jsonl of the first ghostedge.bench/1 writer (no delegate, status, protocol keys)."""
    from ghostedge.device_bench.summary import build_summary

    header = {"schema": SCHEMA, "kind": "session", "session_id": "old", "device": {"kind": "adb", "serial": "X",
              "label": "SD855", "is_sd855": True, "affinity": {"policy": "big", "mask": "f0", "cpus": [4]}},
              "plan": {"models": [{"label": "M FP32", "path": "/m", "size_bytes": 1000}], "threads": [1]}}
    run = {"schema": SCHEMA, "kind": "run", "session_id": "old", "threads": 1, "repeat": 0,
           "model": {"label": "M FP32", "path": "/m", "size_bytes": 1000},
           "result": {"avg_us": 5000.0, "runs": {"count": 50, "avg": 5000.0, "min": 4800.0}}}
    end = {"schema": SCHEMA, "kind": "end", "session_id": "old", "status": "ok"}
    newer = {"schema": SCHEMA, "kind": "calibration", "session_id": "old"}   # a kind from a later version
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (header, run, newer, end)) + "\n")
    summary = build_summary(read_results(path))
    cell = summary["rows"][0]["cells"]["1"]
    assert cell["headline_ms"] == 5.0 and cell["run_stat"] == "avg" and summary["protocol"] == "strict"
