"""`ghostedge report A B`: two saved benches cell by cell, difference and interval overlap."""
from __future__ import annotations

import json

import pytest

from ghostedge.cli.main import main
from ghostedge.device_bench.compare import compare_results
from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.runner import run_plan


def _bench(folder, models, backend, **kw):
    plan = BenchPlan([describe_model(m) for m in models], **{"threads": [1, 2], "repeats": 6, **kw})
    run_plan(plan, backend, folder / "results.jsonl")
    return folder


def _spread(base):   # six runs: base ± 1 % -> interval [0.99, 1.01] * base
    return lambda m, t, n: base * t ** -0.5 * (1.0 + 0.01 * ((n // 4) % 3 - 1))


def test_compare_pairs_cells_and_says_whether_intervals_overlap(tmp_path, tiny_models, scripted_backend):
    a = _bench(tmp_path / "a", tiny_models, scripted_backend(latency_us=_spread(10000.0)))
    b = _bench(tmp_path / "b", tiny_models, scripted_backend(latency_us=_spread(10100.0)))
    c = _bench(tmp_path / "c", tiny_models, scripted_backend(latency_us=_spread(12000.0)))
    near = compare_results(a, b)
    assert len(near.pairs) == 4 and all(p.overlap for p in near.pairs)
    assert near.pairs[0].diff_pct == pytest.approx(1.0, abs=1e-6) and near.notes == []
    far = compare_results(a, c)
    assert not any(p.overlap for p in far.pairs) and far.pairs[0].diff_pct == pytest.approx(20.0, abs=1e-6)
    assert "| SD855 | GhostNet_x1_0 FP32 | thread=1 | 10.00 [9.90–10.10] | 12.00 [11.88–12.12] | +20.0 % | no |" \
        in far.table()


def test_compare_cli_and_protocol_note(tmp_path, tiny_models, scripted_backend, capsys):
    a = _bench(tmp_path / "a", tiny_models, scripted_backend(latency_us=_spread(10000.0)))
    b = _bench(tmp_path / "b", tiny_models[:1], scripted_backend(latency_us=_spread(10000.0)),
               protocol="paddlelite", headline="mean")
    assert main(["report", str(a), str(b), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["protocols"] == ["strict", "paddlelite"] and "protocols differ" in captured.err
    missing = [c for c in data["cells"] if c["b_ms"] is None]
    assert {c["model"] for c in missing} == {"GhostNet_x1_0 INT8"}
    assert main(["report", str(a), str(b), "--output", str(tmp_path / "x")]) == 2
    assert "apply to one results folder" in capsys.readouterr().err
    assert main(["report", str(a), str(b), str(a)]) == 2
    assert not (tmp_path / "x").exists()
