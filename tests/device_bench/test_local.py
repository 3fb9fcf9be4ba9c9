"""`--device local`: every inference time kept, the host sampled around each run's timed loop,
busy runs flagged (and left out when enough quiet ones remain), `--wait-quiet` waits first."""
from __future__ import annotations

import pytest

from ghostedge.device_bench import adaptive, local
from ghostedge.device_bench.host_load import BUSY, QUIET, HostLoad
from ghostedge.device_bench.local import LocalBackend
from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.store import read_results
from ghostedge.device_bench.summary import build_summary


def _plan(models, **kw):
    return BenchPlan([describe_model(m) for m in models[:1]], **{"threads": [1], "repeats": 4, "num_runs": 3,
                                                                  "warmup_runs": 0, "min_secs": 0.0,
                                                                  "warmup_min_secs": 0.0, **kw})


def test_every_inference_and_the_host_load_are_kept(tmp_path, tiny_models):
    run_plan(_plan(tiny_models), LocalBackend(), tmp_path / "r.jsonl")
    result = read_results(tmp_path / "r.jsonl")[0].runs[0]["result"]
    assert len(result["samples_us"]) == result["runs"]["count"] == 3
    assert result["host_load"]["verdict"] in (QUIET, BUSY, "unknown") and "other_cpu" in result["host_load"]


def test_busy_runs_are_flagged_and_left_out(tmp_path, tiny_models, monkeypatch):
    verdicts = iter([BUSY, QUIET, QUIET, QUIET, BUSY, BUSY, QUIET, BUSY])

    def assess(before, after, cpus, **kw):
        verdict = next(verdicts)
        return HostLoad(verdict, ["other processes used 0.90 CPU (>= 0.2)"] if verdict == BUSY else [])

    import ghostedge.device_bench.host_load as host_load

    monkeypatch.setattr(host_load, "assess", assess)
    run_plan(_plan(tiny_models), LocalBackend(), tmp_path / "a.jsonl")        # 1 busy of 4: left out
    cell = build_summary(read_results(tmp_path / "a.jsonl"))["rows"][0]["cells"]["1"]
    assert cell["n"] == 3 and cell["busy_runs_left_out"] == 1 and "busy" not in cell["marks"]
    run_plan(_plan(tiny_models), LocalBackend(), tmp_path / "b.jsonl")        # 3 busy of 4: flagged
    summary = build_summary(read_results(tmp_path / "b.jsonl"))
    assert summary["rows"][0]["cells"]["1"]["marks"] == ["busy"]
    assert any("busy" in w for w in summary["warnings"])


def test_wait_quiet_waits_before_each_run(tmp_path, tiny_models, monkeypatch):
    waits = []

    def wait_quiet(max_wait_s, sleep=None, cpus=None, **kw):
        waits.append(max_wait_s)
        return adaptive.WaitResult(True, 1.5, 2, HostLoad(QUIET, []))

    monkeypatch.setattr(adaptive, "wait_quiet", wait_quiet)
    run_plan(_plan(tiny_models, wait_quiet_s=30.0), LocalBackend(), tmp_path / "r.jsonl")
    runs = read_results(tmp_path / "r.jsonl")[0].runs
    assert waits == [30.0] * 4 and all(r["result"]["wait_quiet"]["waited_s"] == 1.5 for r in runs)


def test_stop_ends_a_local_run_at_the_next_inference(tiny_models):
    backend = LocalBackend()
    backend.stop()
    with pytest.raises(KeyboardInterrupt):
        backend.run(describe_model(tiny_models[0]), 1, _plan(tiny_models))
    assert local.Stopped.__mro__[1] is KeyboardInterrupt
