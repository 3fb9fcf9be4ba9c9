"""Summary, seed-format table, CV table, CSV, JSON and plot rendering."""
from __future__ import annotations

import csv
import io
import json

import pytest

from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.render import csv_text, markdown_report, markdown_table
from ghostedge.device_bench.reportfiles import write_reports
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.store import read_results
from ghostedge.device_bench.summary import build_summary

# per-call latency (µs): FP32 rows 12 / 8 / 6 ms at 1 / 2 / 4 threads, INT8 half that; repeats vary
FP32_MS = {1: 12.0, 2: 8.0, 4: 6.0}


def _latency(model, threads, n):
    base = FP32_MS[threads] * (0.5 if model.precision == "int8" else 1.0)
    return 1000.0 * base * (1.0 + 0.01 * (n // 6 - 1))  # 6 cells per repeat: -1 %, 0, +1 %


def _summary(tmp_path, tiny_models, backend, repeats=3):
    path = tmp_path / "results.jsonl"
    plan = BenchPlan([describe_model(m) for m in tiny_models], threads=[1, 2, 4], repeats=repeats)
    run_plan(plan, backend, path)
    return build_summary(read_results(path))


def test_sd855_table_has_seed_columns_and_reference_rows(tmp_path, tiny_models, scripted_backend):
    summary = _summary(tmp_path, tiny_models, scripted_backend(sd855=True, latency_us=_latency))
    table = markdown_table(summary).splitlines()
    assert table[0] == ("| Models | SD855 time(ms) bs=1, thread=1 | thread=2 | thread=4 | "
                        "Storage Size(M) |")
    assert table[1] == "|---|---|---|---|---|"
    size_mb = tiny_models[0].stat().st_size / 1e6
    assert table[2] == f"| GhostNet_x1_0 FP32 | 12.00 | 8.00 | 6.00 | {size_mb:.3f} |"
    assert table[3].startswith("| GhostNet_x1_0 INT8 | 6.00 | 4.00 | 3.00 |")
    assert table[4] == "| GhostNet_x1_0 (PaddleClas, Paddle Lite) | 12.89 | 8.66 | 6.72 | 20.000 |"
    assert len(table) == 5
    cell = summary["rows"][0]["cells"]["1"]
    assert cell["n"] == 3 and cell["min_ms"] == pytest.approx(11.88) and cell["max_ms"] == pytest.approx(12.12)
    assert cell["cv"] == pytest.approx(0.01, rel=1e-6) and not cell["high_variance"]
    assert summary["warnings"] == []


def test_reference_rows_only_on_sd855(tmp_path, tiny_models, scripted_backend):
    summary = _summary(tmp_path, tiny_models, scripted_backend(sd855=False, latency_us=_latency))
    table = markdown_table(summary)
    assert "PaddleClas" not in table and summary["reference"] == []
    assert table.splitlines()[0].startswith("| Models | SM8550 time(ms) bs=1, thread=1 |")
    assert "PaddleClas" not in csv_text(summary)


def test_unstable_cells_are_marked_and_said_so(tmp_path, tiny_models, scripted_backend):
    # 6 runs alternating 10 and 12 ms: the 95 % interval is [min, max] = ±10 %, wider than ±2 %
    noisy = scripted_backend(latency_us=lambda m, t, n: 10000.0 * (1.0 + 0.2 * (n // 6 % 2)))
    summary = _summary(tmp_path, tiny_models, noisy, repeats=6)
    cell = summary["rows"][0]["cells"]["1"]
    assert cell["stable"] is False and "unstable" in cell["marks"]
    assert any("GhostNet_x1_0 FP32 at 1 thread: unstable" in w for w in summary["warnings"])
    report = markdown_report(summary)
    assert "| GhostNet_x1_0 FP32 | 11.00 (unstable) |" in report
    assert "[10.00–12.00] n=6, best 9.00, mean 11.00" in report


def test_csv_and_json_carry_every_cell(tmp_path, tiny_models, scripted_backend):
    summary = _summary(tmp_path, tiny_models, scripted_backend(latency_us=_latency))
    rows = list(csv.DictReader(io.StringIO(csv_text(summary))))
    measured = [r for r in rows if r["source"] == "measured"]
    reference = [r for r in rows if r["source"] == "reference"]
    assert len(measured) == 6 and len(reference) == 3
    first = measured[0]
    assert first["model"] == "GhostNet_x1_0 FP32" and first["threads"] == "1"
    assert float(first["median_ms"]) == pytest.approx(12.0) and first["repeats"] == "3"
    assert int(first["storage_bytes"]) == tiny_models[0].stat().st_size
    assert [float(r["median_ms"]) for r in reference] == [12.89, 8.66, 6.72]
    files = write_reports(summary, tmp_path / "out")
    data = json.loads(files["summary"].read_text())
    assert data["schema"] == "ghostedge.bench.summary/1" and data["threads"] == [1, 2, 4]
    assert data["rows"][1]["cells"]["4"]["median_ms"] == pytest.approx(3.0)
    assert files["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files["table"].read_text().startswith("| Models | SD855 time(ms)")
    assert not list((tmp_path / "out").glob(".*part"))  # nothing half-written left


def test_partial_results_mark_missing_cells(tmp_path, tiny_models, scripted_backend):
    path = tmp_path / "results.jsonl"
    plan = BenchPlan([describe_model(m) for m in tiny_models], threads=[1, 2, 4], repeats=1)
    with pytest.raises(KeyboardInterrupt):
        run_plan(plan, scripted_backend(fail_at=4, fail_with=KeyboardInterrupt()), path)
    summary = build_summary(read_results(path))
    table = markdown_table(summary).splitlines()
    assert table[3].startswith("| GhostNet_x1_0 INT8 |") and table[3].count("—") == 2
    assert any("not measured" in w for w in summary["warnings"])
    write_reports(summary, tmp_path)  # the plot copes with missing cells
