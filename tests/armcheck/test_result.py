"""Typed results: verdicts, JSON, the report section and the per-model table."""
from __future__ import annotations

import json

from ghostedge.armcheck.result import ArmCheckResult, ModelCheck, RunRow


def _rows():
    ok = RunRow("cortex-a76", 1, "LiteRT 2.1.0", "default", "checked", True, samples=8,
                max_abs_diff=1.3e-7, identical=False, top1_agree=8, top5_agree=8, invoke_s=1.47,
                delegation={"delegated": 5, "total": 5, "summary": "5/5 ops in XNNPACK"})
    bad = RunRow("cortex-a53", 2, "LiteRT 2.1.0", "default", "checked", True, samples=8,
                 max_abs_diff=0.02, top5_agree=7, int8={"differing": 40, "max_steps": 5},
                 problem="40 of 8000 output values differ")
    tfl = RunRow("cortex-a76", 1, "tflite-runtime 2.14.0", "default", "reported", True, samples=8,
                 max_abs_diff=1e-6, top5_agree=8, problem="differs a little")
    fp16 = RunRow("cortex-a53", 1, "LiteRT 2.1.0", "xnnpack-fp16", "reported", False,
                  error="RuntimeError: failed to prepare",
                  note="cortex-a53 has no FP16 arithmetic: XNNPACK refuses forced FP16")
    noload = RunRow("cortex-a76", 1, "LiteRT 2.1.0", "default", "checked", False, error="custom op")
    return ok, bad, tfl, fp16, noload


def test_verdicts():
    ok, bad, tfl, fp16, noload = _rows()
    assert (ok.passed, bad.passed, tfl.passed, fp16.passed, noload.passed) == (True, False, None, None, False)
    assert [r.verdict() for r in (ok, bad, tfl, fp16, noload)] == ["pass", "FAIL", "differs", "refused", "FAIL"]
    assert fp16.refused and not noload.refused


def test_model_and_result_pass_only_when_every_checked_row_passes():
    ok, bad, tfl, fp16, _ = _rows()
    good = ModelCheck("m.fp32.tflite", "fp32", "rule", "x86 ai-edge-litert 2.1.0", ["a.png"], "1 photo",
                      rows=[ok, tfl, fp16])
    failing = ModelCheck("m.int8.tflite", "int8", "bit-exact", "x86", ["a.png"], "1 photo", rows=[ok, bad])
    assert good.passed and not failing.passed
    with_problem = ModelCheck("m.tflite", "fp32", "r", "x86", [], "", rows=[ok], problems=["x86 cannot load it"])
    assert not with_problem.passed
    res = ArmCheckResult("arm64", {"cortex-a76": "A76"}, [1, 2], {"path": "/c", "size_mb": 185.3,
                                                                  "setup_s": 0.1, "versions": {"numpy": "1.26.4"}},
                         [good, failing], guest_processes=2, wall_s=95.25)
    assert not res.passed and res.failed == [failing]
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["passed"] is False and doc["wall_s"] == 95.25
    assert doc["models"][0]["rows"][0]["passed"] is True and doc["models"][1]["passed"] is False
    section = res.section(good, "2026-01-01T00:00:00")
    assert section["schema"] == "ghostedge.armcheck/1" and section["arch"] == "arm64"
    assert section["passed"] is True and section["runtime_versions"] == {"numpy": "1.26.4"}
    assert "report" not in section and section["rows"][0]["core"] == "cortex-a76"


def test_table_rendering():
    ok, bad, tfl, fp16, noload = _rows()
    m = ModelCheck("m.int8.tflite", "int8", "bit-exact outputs (INT8)", "x86 ai-edge-litert 2.1.0",
                   ["a.png"], "5 bundled photos + 3 seeded random", rows=[ok, bad, tfl, fp16, noload],
                   x86_delegation={"delegated": 5, "total": 5, "summary": "5/5 ops in XNNPACK"},
                   problems=["ARM LiteRT 2.1.0 (cortex-a53; 2 thread(s)): 40 values differ"], time_s=12.3)
    res = ArmCheckResult("arm64", {"cortex-a76": "A76", "cortex-a53": "A53"}, [1, 2],
                         {"path": "/cache/arm64/x", "size_mb": 185.3, "setup_s": 0.05, "built_now": False,
                          "versions": {"python": "3.11.2", "machine": "aarch64"}}, [m], 2, 60.0)
    text = res.render()
    lines = text.splitlines()
    assert lines[0] == "m.int8.tflite  [INT8]  FAIL"
    header = next(ln for ln in lines if ln.strip().startswith("core"))
    assert header.split() == ["core", "threads", "runtime", "max", "diff", "top-5", "INT8", "steps",
                              "load", "invoke", "s", "result"]
    row = next(ln for ln in lines if "cortex-a53  2" in ln)
    assert "2.0e-02" in row and "7/8" in row and "5 (40 val)" in row and row.rstrip().endswith("FAIL")
    assert any("LiteRT 2.1.0, forced FP16" in ln and "refused" in ln for ln in lines)
    assert any("1.3e-07" in ln and "1.470" in ln and ln.rstrip().endswith("pass") for ln in lines)
    assert "XNNPACK on ARM: 5/5 ops in XNNPACK (x86: 5/5 ops in XNNPACK)" in text
    assert "problem: ARM LiteRT 2.1.0 (cortex-a53; 2 thread(s)): 40 values differ" in text
    assert "arm64 check FAILED (1 of 1 models: m.int8.tflite)" in text
    assert "runtime: cached in 0.1 s, 185 MB at /cache/arm64/x (python 3.11.2)" in text
    assert "total wall time: 60.0 s" in text and "nothing about phone latency" in text
