"""A per-operator profile split by GhostNet part: the fake phone's profile of a real GhostNet 1.0x
(recorded in tests/data/op_parts) and of tiny conversions of both layouts, current XNNPACK naming
(fused PADs, Binary Elementwise, Mean (ND), rows that partitions share) built from known per-operator
times, the single-delegate-node form, and models without a report."""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

from ghostedge.android_runner.op_profile import parse_op_profile
from ghostedge.convert.op_parts import PART_LABELS, PARTS, op_parts_section
from ghostedge.device_bench.op_align import align_rows, compatible
from ghostedge.device_bench.op_parts import PartProfile, profile_by_part

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "data" / "op_parts"
BENCH_OUTPUTS = TESTS / "data" / "benchmark_model"
FAKE_BM = TESTS / "fakephone" / "fake_benchmark_model.py"
ROUNDING_MS = 0.0005   # profile cells are printed with 3 decimals


def section(name: str) -> dict:
    return json.loads((FIXTURES / f"ghostnet_100.{name}.op_parts.json").read_text())


def fake_profile(model: Path, version: str = "new") -> str:
    """benchmark_model's output on the fake phone with --enable_op_profiling=true."""
    with tempfile.TemporaryDirectory() as tmp:   # the fake reads ./.fakephone/benchmark.json
        (Path(tmp) / ".fakephone").mkdir()
        (Path(tmp) / ".fakephone" / "benchmark.json").write_text(json.dumps(
            {"version": version, "mode": "synthetic", "us": 3000}))
        env = {k: v for k, v in os.environ.items() if k != "FAKE_ADBD_ROOT"}
        return subprocess.run([sys.executable, str(FAKE_BM), f"--graph={model}", "--enable_op_profiling=true",
                               "--num_runs=10", "--min_secs=0.01", "--warmup_runs=1", "--warmup_min_secs=0"],
                              cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              check=True).stdout


def assert_adds_up(parts, profile) -> None:
    """The issue's bound (5 %), and the tighter one the 3-decimal cells allow."""
    assert profile.total_ms and abs(parts.parts_sum_ms - profile.total_ms) <= 0.05 * profile.total_ms
    assert parts.parts_sum_ms == pytest.approx(profile.total_ms, abs=ROUNDING_MS * len(profile.operators) + 1e-3)
    assert sum(p.time_share for p in parts.parts) == pytest.approx(1.0)


def test_recorded_fake_profile_of_ghostnet_100_int8_by_part() -> None:
    sec = section("int8")
    profile = parse_op_profile((FIXTURES / "ghostnet_100.int8.profile.txt").read_text())
    parts = profile_by_part(profile, Path("/nonexistent/ghostnet_100.int8.tflite"), sec)
    assert profile.form == "per_operator" and parts.grouping == "part" and parts.unmatched == []
    assert_adds_up(parts, profile)
    by = {p.part: p for p in parts.parts}
    assert list(by) == [p for p in PARTS if p in sec["parts"]]
    for part, data in sec["parts"].items():   # MAC shares and op counts come from the section
        assert by[part].macs == data["macs"] and by[part].ops == data["ops"]
        assert by[part].mac_share == pytest.approx(data["mac_share"], abs=5e-7)
    assert sum(p.mac_share for p in parts.parts) == pytest.approx(1.0)
    assert by["concat"].rows == 64 and by["concat"].time_ms > 0 and by["concat"].mac_share == 0
    table = parts.table()
    for part in sec["parts"]:
        assert PART_LABELS[part] in table
    assert "of the profiled run's" in table
    data = json.loads(json.dumps(parts.to_dict()))
    assert data["grouping"] == "part" and len(data["operators"]) == sec["operator_count"]
    assert PartProfile.from_dict(data).table() == table   # a stored result redraws the same table
    # the INT8 model's two QUANTIZE ops share one XNNPACK row name (two partitions): both got a call
    quantize = [o for o in data["operators"] if o["op"] == "QUANTIZE"]
    assert len(quantize) == 2 and all(o["ms"] > 0 for o in quantize)
    assert any("later partitions" in n for n in parts.notes)


@pytest.mark.parametrize("layout", ["tiny_timm", "tiny_paddle"])
@pytest.mark.parametrize("kind", ["fp32", "fp16", "int8"])
def test_fake_phone_profiles_of_tiny_models(layout: str, kind: str) -> None:
    model = FIXTURES / f"{layout}.{kind}.tflite"
    sec = op_parts_section(model)
    profile = parse_op_profile(fake_profile(model))
    parts = profile_by_part(profile, model, sec)
    assert parts.grouping == "part" and parts.unmatched == [] and profile.form == "per_operator"
    assert_adds_up(parts, profile)
    assert {p.part for p in parts.parts} == set(sec["parts"])


def test_single_delegate_node_cannot_be_split_and_says_so() -> None:
    model = FIXTURES / "tiny_timm.int8.tflite"
    sec = op_parts_section(model)
    profile = parse_op_profile(fake_profile(model, version="old"))
    parts = profile_by_part(profile, model, sec)
    assert profile.form == "delegate_node"
    assert_adds_up(parts, profile)
    delegate = [p for p in parts.parts if p.part == "delegate"]
    assert len(delegate) == 1 and delegate[0].label == "XNNPack delegate (not split)"
    assert delegate[0].time_share > 0.9 and delegate[0].rows == 2   # two partitions around SOFTMAX
    # the row the delegate left (INT8 SOFTMAX) still lands on its part
    assert {p.part for p in parts.parts} == {"delegate", "head"}
    assert any("cannot be split" in n for n in parts.notes)


def test_fixture_12_delegate_node_with_the_recorded_section() -> None:
    profile = parse_op_profile((BENCH_OUTPUTS / "12_op_profiling_delegate_node.txt").read_text())
    parts = profile_by_part(profile, Path("/nonexistent/ghostnet_100.fp32.tflite"), section("fp32"))
    (line,) = parts.parts
    assert line.part == "delegate" and line.macs == section("fp32")["total_macs"] and line.mac_share == 1.0
    assert line.time_ms == pytest.approx(profile.total_ms)


def test_no_report_profiles_by_operator_type_and_says_so() -> None:
    model = FIXTURES / "tiny_paddle.int8.tflite"
    profile = parse_op_profile(fake_profile(model))
    parts = profile_by_part(profile, model, None)
    assert parts.grouping == "operator type" and any("profiled by operator type only" in n for n in parts.notes)
    assert_adds_up(parts, profile)
    assert {p.part for p in parts.parts} >= {"CONV_2D", "DEPTHWISE_CONV_2D", "CONCATENATION"}
    assert sum(p.mac_share for p in parts.parts) == pytest.approx(1.0)
    # nor a readable model: the profile's own node types, no MACs
    alone = profile_by_part(profile, Path("/nonexistent/x.tflite"), None)
    assert alone.grouping == "profile node type" and all(p.mac_share is None for p in alone.parts)
    assert_adds_up(alone, profile)
    assert "Convolution (NHWC, QC8) GEMM" in {p.part for p in alone.parts}


def test_a_section_of_another_model_or_unreadable_is_not_used() -> None:
    model = FIXTURES / "tiny_timm.fp32.tflite"
    profile = parse_op_profile(fake_profile(model))
    other = profile_by_part(profile, model, op_parts_section(FIXTURES / "tiny_timm.int8.tflite"))
    assert other.grouping == "operator type" and any("describes another model" in n for n in other.notes)
    broken = profile_by_part(profile, model, {"schema": 1, "operators": "?"})
    assert broken.grouping == "operator type" and any("unreadable" in n for n in broken.notes)


def test_empty_profile_says_so() -> None:
    parts = profile_by_part(parse_op_profile("no profile here"), FIXTURES / "tiny_timm.fp32.tflite",
                            op_parts_section(FIXTURES / "tiny_timm.fp32.tflite"))
    assert parts.parts == [] and parts.form == "empty" and any("no per-operator profile" in n for n in parts.notes)
    assert "total" in parts.table()


# ------------------------------------------------ current XNNPACK naming from known per-operator times

HEADER = "\t[node type]\t[first]\t[avg ms]\t[%]\t[cdf%]\t[mem KB]\t[times called]\t[Name]"


def render(events: Sequence[Tuple[str, str, float, int]], runs: int = 50) -> str:
    """One run's (type, name, ms) events as benchmark_model prints them: rows of equal names merged
    (StatsCalculator: first position, times called per run, average per call)."""
    rows: Dict[str, List] = {}
    for typ, name, ms, _ in events:
        row = rows.setdefault(name, [typ, 0.0, 0])
        row[1], row[2] = row[1] + ms, row[2] + 1
    total = sum(event[2] for event in events)
    lines = ["INFO: Operator-wise Profiling Info for Regular Benchmark Runs:",
             "============================== Run Order ==============================", HEADER]
    for name, (typ, ms, calls) in rows.items():
        cells = [typ, f"{ms / calls:.3f}", f"{ms / calls:.3f}", f"{100 * ms / total:.3f}%", "0.000%", "0.000",
                 str(calls), name]
        lines.append("\t" + "\t".join(cells))
    us = int(round(total * 1000))
    lines += ["", f"Timings (microseconds): count={runs} first={us} curr={us} min={us} max={us} avg={us} std=0",
              "Memory (bytes): count=0", f"{len(rows)} nodes observed", ""]
    return "\n".join(lines)


def xnnpack_events(ops: List[dict], times: Dict[int, float], int8: bool,
                   tflite_rows: Sequence[int] = ()) -> List[Tuple[str, str, float, int]]:
    """What a current LiteRT XNNPACK delegate reports: PADs fused into their conv, FP16 weights'
    DEQUANTIZE folded, a Copy per concatenated input, Binary Elementwise / Mean (ND) names, INT8
    QUANTIZE/SOFTMAX left to TFLite; operators in ``tflite_rows`` too (a new partition after each).
    Events: (type, name, ms, operator index) in run order."""
    w, e, x = ("QC8", "QS8", "X8") if int8 else ("F32", "F32", "X32")
    names = {"CONV_2D": [f"Convolution (NHWC, {w}) GEMM"], "DEPTHWISE_CONV_2D": [f"Convolution (NHWC, {w}) DWConv"],
             "FULLY_CONNECTED": [f"Fully Connected (NC, {e}) GEMM"], "MEAN": ["Mean (ND) Mean"],
             "ADD": ["Binary Elementwise (ND)"], "MUL": ["Binary Elementwise (ND)"], "SOFTMAX": ["Softmax (NC, F32)"]}
    events, k = [], 0
    for o in ops:
        i, op = o["index"], o["op"]
        if i in tflite_rows or (int8 and op in ("QUANTIZE", "SOFTMAX")):
            events.append((op, f"[t{i}]:{i}", times[i], i))
            k = 0
        elif op == "CONCATENATION":
            for _ in range(o["inputs"]):
                events.append((f"Copy (NC, {x})", f"Delegate/Copy (NC, {x}):{k}", times[i] / o["inputs"], i))
                k += 1
        elif op not in ("PAD", "DEQUANTIZE"):
            (typ,) = names[op]
            events.append((typ, f"Delegate/{typ}:{k}", times[i], i))
            k += 1
    return events


def known_times(ops: List[dict]) -> Dict[int, float]:
    """Distinct per-operator times (even thousandths of a ms); 0 for what XNNPACK fuses away."""
    return {o["index"]: 0.0 if o["op"] in ("PAD", "DEQUANTIZE") else 0.002 * (10 + (o["index"] * 37) % 200)
            for o in ops}


def truth(ops: List[dict], times: Dict[int, float]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for o in ops:
        out[o["part"]] = out.get(o["part"], 0.0) + times[o["index"]]
    return out


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_current_xnnpack_naming_gives_each_part_its_own_time(kind: str) -> None:
    sec = section(kind)
    ops = sec["operators"]
    times = known_times(ops)
    profile = parse_op_profile(render(xnnpack_events(ops, times, kind == "int8")))
    parts = profile_by_part(profile, Path("/nonexistent.tflite"), sec)
    assert parts.unmatched == [] and profile.form == "per_operator"
    assert_adds_up(parts, profile)
    want = truth(ops, times)
    for line in parts.parts:
        assert line.time_ms == pytest.approx(want[line.part], abs=ROUNDING_MS * max(1, line.rows)), line
    assert any("PAD x9" in n for n in parts.notes)   # said: the PADs XNNPACK fused have no rows
    per_op = {o["index"]: o["ms"] for o in parts.to_dict()["operators"]}
    assert all(per_op[i] == pytest.approx(t, abs=ROUNDING_MS) for i, t in times.items())


def test_rows_shared_by_partitions_go_to_later_partitions() -> None:
    sec = section("fp32")
    ops = sec["operators"]
    times = known_times(ops)
    split = [o["index"] for o in ops if o["op"] == "MEAN"][:3]   # three SE MEANs left to TFLite
    events = xnnpack_events(ops, times, False, tflite_rows=split)
    calls: Dict[str, List[float]] = {}
    for _, name, ms, _ in events:
        calls.setdefault(name, []).append(ms)
    shared = {name for name, got in calls.items() if len(got) > 1}
    assert len(shared) > 5   # names such as Delegate/Convolution (NHWC, F32) GEMM:1 recur in partitions
    profile = parse_op_profile(render(events))
    parts = profile_by_part(profile, Path("/nonexistent.tflite"), sec)
    assert parts.unmatched == [] and any("later partitions" in n for n in parts.notes)
    assert_adds_up(parts, profile)
    # each operator gets its own rows back; a shared row's calls each get the row's average
    want: Dict[int, float] = {}
    for _, name, ms, i in events:
        want[i] = want.get(i, 0.0) + sum(calls[name]) / len(calls[name])
    per_op = {o["index"]: o["ms"] for o in parts.to_dict()["operators"]}
    rows_of = collections.Counter(i for *_, i in events)
    for i, ms in want.items():
        assert per_op[i] == pytest.approx(ms, abs=ROUNDING_MS * rows_of[i] + 1e-9), (i, ops[i])


def test_a_row_of_no_operator_family_is_unmatched_and_kept() -> None:
    sec = section("fp32")
    ops = sec["operators"]
    times = known_times(ops)
    events = xnnpack_events(ops, times, False)
    events.insert(40, ("Rope (NTHC, F32)", "Delegate/Rope (NTHC, F32):999", 0.25, -1))
    profile = parse_op_profile(render(events))
    parts = profile_by_part(profile, Path("/nonexistent.tflite"), sec)
    assert parts.unmatched == ["Delegate/Rope (NTHC, F32):999"]
    assert parts.parts[-1].part == "unmatched" and parts.parts[-1].time_ms == pytest.approx(0.25)
    assert_adds_up(parts, profile)


@pytest.mark.parametrize("op,xnn,ok", [
    ("CONV_2D", "Convolution (NHWC, QC8) IGEMM", True), ("CONV_2D", "Convert (NC, F32, QD8)", True),
    ("DEPTHWISE_CONV_2D", "Convolution (NHWC, F32) DWConv", True), ("CONCATENATION", "Copy (NC, X8)", True),
    ("MEAN", "Global Average Pooling (NWC, QS8)", True), ("MEAN", "Mean (ND) Mean", True),
    ("ADD", "Binary Elementwise (ND)", True), ("ADD", "Add (ND, F32)", True), ("MUL", "Multiply (ND, QS8)", True),
    ("HARD_SWISH", "HardSwish (NC, F32)", True), ("RELU6", "Clamp (NC, F32)", True),
    ("QUANTIZE", "Convert (NC, QS8)", True), ("LOGISTIC", "Unary Elementwise (NC)", True),
    ("ADD", "Multiply (ND, F32)", False), ("CONV_2D", "Copy (NC, X32)", False),
    ("CONV_2D", "Convert (NC, QS8)", False), ("MEAN", "Binary Elementwise (ND)", False),
])
def test_operator_families(op: str, xnn: str, ok: bool) -> None:
    assert compatible(op, xnn) is ok


def test_alignment_skips_fused_operators_and_leaves_strays() -> None:
    ops = [{"index": i, "op": op, "inputs": 2 if op == "CONCATENATION" else 1}
           for i, op in enumerate(["PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "CONCATENATION", "ADD"])]
    rows = ["Convolution (NHWC, F32) IGEMM", "Convolution (NHWC, F32) DWConv", "Copy (NC, X32)",
            "Copy (NC, X32)", "Softmax (NC, F32)", "Add (ND, F32)"]
    got: List[Optional[int]] = align_rows(ops, [[t] for t in rows])
    assert got == [1, 2, 3, 3, None, 4]


def test_write_plot(tmp_path: Path) -> None:
    profile = parse_op_profile((FIXTURES / "ghostnet_100.int8.profile.txt").read_text())
    parts = profile_by_part(profile, Path("/nonexistent.tflite"), section("int8"))
    out = parts.write_plot(tmp_path / "parts.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["parts.png"]   # no temporary file left
