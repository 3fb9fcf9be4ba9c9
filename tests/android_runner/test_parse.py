"""benchmark_model output parsing on every fixture in tests/data/benchmark_model (see its README):
timings and every stat-line figure, memory lines, flags the binary did not take, how delegates were
applied and why one failed. The per-operator tables are tested in test_op_profile.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from ghostedge.android_runner import BenchmarkOutput, parse_benchmark_output
from ghostedge.android_runner.parse import DelegateInfo, parse_stat_line

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def parse(name: str) -> BenchmarkOutput:
    return parse_benchmark_output((FIXTURES / name).read_text())


def test_every_fixture_is_covered() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.txt"))
    assert len(names) == 16
    tested = {n for n in names if n[:2] in EXPECTED_OK or n[:2] in FAILING}
    assert tested == set(names)


# fixture prefix -> (init_us, first_us, warmup_avg_us, avg_us, runs.count, runs.median, model_size_mb)
EXPECTED_OK = {
    "01": (8412, 71230, 57611.4, 55801.7, 18, None, None),
    "02": (2114, 31877, 23002.5, 22291.6, 50, None, 13.9786),
    "03": (61335, 20517, 14713.2, 14247.9, 100, None, 13.9786),
    "04": (48907, 19873, 13729.6, 13331.4, 75, 13289, 13.9786),
    "05": (1284552, 2871043, 2.87104e6, 2.44318e6, 50, 2437745, 98.2231),
    "06": (4106, 70214, 49563.1, 47402.3, 50, 47310, 3.57216),
    "09": (15218, 18802, 12497.3, 12213.9, 82, 12160, None),
    "10": (22, 2588, 2576.5, 2758.05, 20, 2582, 0.077572),
    "11": (31846, 2391, 1384.02, 1301.7, 768, 1295, 5.81244),
    "12": (52318, 11873, 7351.4, 7121.06, 147, None, 20.7529),
    "13": (49731, 18820, 13642.9, 13188.5, 76, None, 20.7529),
    "16": (613135, 9174, 4633.7, 4402.82, 65, None, 20.7529),
}
FAILING = ("07", "08", "14", "15")


@pytest.mark.parametrize("prefix", sorted(EXPECTED_OK))
def test_successful_outputs(prefix: str) -> None:
    name = next(p.name for p in FIXTURES.glob(f"{prefix}_*.txt"))
    out = parse(name)
    init, first, warm, avg, count, median, size = EXPECTED_OK[prefix]
    assert not out.failed, out.error_lines
    assert out.error_lines == []
    assert out.init_us == pytest.approx(init)
    assert out.first_us == pytest.approx(first)
    assert out.warmup_avg_us == pytest.approx(warm)
    assert out.avg_us == pytest.approx(avg)
    assert out.runs is not None and out.runs.count == count
    assert out.runs.avg == pytest.approx(avg, rel=1e-5)
    assert out.runs.median == (pytest.approx(median) if median is not None else None)
    assert out.model_size_mb == (pytest.approx(size) if size is not None else None)
    assert out.warmup is not None and out.warmup.count >= 1
    assert out.raw.startswith((FIXTURES / name).read_text()[:20])


def test_legacy_line_order_and_stats() -> None:
    out = parse("01_legacy_tf1x_android.txt")
    assert (out.warmup.count, out.warmup.first, out.warmup.std) == (9, 71230, 4862)
    assert (out.runs.min, out.runs.max, out.runs.std) == (55598, 56120, 131)
    assert out.runs.p5 is None and out.runs.p95 is None
    assert out.memory == {}


def test_scientific_notation_and_single_warmup_run() -> None:
    out = parse("05_slow_model_scientific_notation.txt")
    assert out.avg_us == 2443180.0
    assert out.runs.avg == 2443180.0
    assert out.warmup.count == 1
    assert out.warmup.curr == out.warmup.first == out.warmup.avg == 2871043
    assert out.warmup.median == 2871043
    assert out.runs.p95 == 2533902
    assert out.median_us == 2437745


@pytest.mark.parametrize("name, expected", [
    ("02_tf2.2-2.4_android_peak_memory.txt", {"peak_init_mb": 0.0, "peak_overall_mb": 29.4102}),
    ("03_tf2.5-2.12_android_xnnpack_noprefix.txt", {"delta_init_mb": 31.0469, "delta_overall_mb": 39.2734}),
    ("06_report_peak_memory_footprint.txt", {
        "delta_init_mb": 6.01562, "delta_overall_mb": 19.4648, "peak_periodic_mb": 27.3711,
        "end_vmrss_mb": 26.0, "end_rss_anon_mb": 17.0, "end_rss_file_shmem_mb": 9.0}),
])
def test_memory_line_variants(name: str, expected: dict) -> None:
    out = parse(name)
    assert out.memory == pytest.approx(expected)
    best = expected.get("peak_periodic_mb", expected.get("delta_overall_mb", expected.get("peak_overall_mb")))
    assert out.memory_overall_mb == pytest.approx(best)


def test_delegate_failure() -> None:
    out = parse("07_failure_nnapi_delegate.txt")
    assert out.failed
    assert out.avg_us is None and out.runs is None
    assert out.error_lines[-1] == "Benchmarking failed."
    assert "Failed to apply NNAPI delegate." in out.error_lines
    assert any("ANEURALNETWORKS_BAD_DATA" in line for line in out.error_lines)


def test_missing_model_failure() -> None:
    out = parse("08_failure_missing_model_fake.txt")
    assert out.failed
    assert out.error_lines == ["Could not open '/data/local/tmp/nope.tflite'.",
                               "Failed to mmap model /data/local/tmp/nope.tflite", "Benchmarking failed."]


def test_logcat_prefix_is_stripped() -> None:
    out = parse("09_logcat_benchmark_apk.txt")
    assert out.runs.p5 == 11921 and out.runs.p95 == 12702
    assert out.warmup.count == 40


def test_truncated_output_is_a_failure() -> None:
    text = (FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text()
    cut = text[:text.index("INFO: Running benchmark for at least 50")]
    out = parse_benchmark_output(cut)
    assert out.failed and out.avg_us is None and out.runs is None
    assert out.warmup is not None and out.warmup.count == 37


def test_garbage_and_empty_input_never_raise() -> None:
    for text in ("", "\n\n", "count=abc", "Inference timings in us: Init: x", "\x00\xff"):
        out = parse_benchmark_output(text)
        assert out.failed and out.avg_us is None


def test_to_dict_is_plain_and_omits_raw() -> None:
    data = parse("04_tf2.16plus_android_info_prefix_percentiles.txt").to_dict()
    assert "raw" not in data
    assert data["runs"]["median"] == 13289
    assert data["memory"]["delta_overall_mb"] == pytest.approx(36.8555)


def test_every_stat_figure_is_kept() -> None:
    out = parse("11_op_profiling_xnnpack_per_op.txt")
    assert out.runs.to_dict() == {"count": 768, "first": 1331, "curr": 1297, "min": 1262, "max": 1649,
                                  "avg": 1301.7, "std": 38, "p5": 1270, "median": 1295, "p95": 1362}
    assert out.warmup.to_dict() == {"count": 361, "first": 2391, "curr": 1338, "min": 1290, "max": 2391,
                                    "avg": 1384.02, "std": 97, "p5": 1301, "median": 1349, "p95": 1512}


@pytest.mark.parametrize("body, count, expected", [
    # tsl::Stat prints only curr when all values are equal; StatWithPercentiles adds percentiles
    (" curr=5000(all same)", 3, dict(first=5000, curr=5000, min=5000, max=5000, avg=5000, std=0)),
    (" curr=5000(all same) p5=5000 median=5000 p95=5000", 4, dict(avg=5000, std=0, median=5000, p95=5000)),
    (" curr=812 p5=812 median=812 p95=812", 1, dict(first=812, avg=812, std=0, p5=812)),
])
def test_stat_lines_with_identical_runs(body: str, count: int, expected: dict) -> None:
    stats = parse_stat_line(body, count)
    assert stats.count == count
    assert {k: getattr(stats, k) for k in expected} == pytest.approx(expected)


def test_all_same_lines_in_a_whole_output() -> None:
    text = (FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text().replace(
        "INFO: count=75 first=13398 curr=13277 min=13056 max=14733 avg=13331.4 std=241 p5=13090 median=13289 p95=13801",
        "INFO: count=2 curr=13300(all same) p5=13300 median=13300 p95=13300")
    out = parse_benchmark_output(text)
    assert not out.failed and out.runs.count == 2 and out.runs.min == out.runs.max == 13300
    assert out.median_us == 13300 and out.avg_us == 13331.4  # the timings line is what the tool averaged


def test_unknown_flag_is_reported_and_the_run_still_counts() -> None:
    out = parse("13_unknown_flag.txt")
    assert out.unconsumed_flags == ["--xnnpack_force_fp16=true"]
    assert not out.failed and out.error_lines == [] and out.flag_errors == []
    newer = parse_benchmark_output("INFO: STARTING!\nWARN: Unconsumed cmdline flags: --use_gpu=true --foo\n")
    assert newer.unconsumed_flags == ["--use_gpu=true", "--foo"]
    assert parse("04_tf2.16plus_android_info_prefix_percentiles.txt").unconsumed_flags == []


def test_unparsable_flag_value_fails_with_the_reason() -> None:
    out = parse("14_bad_flag_value.txt")
    assert out.failed and out.runs is None
    assert out.flag_errors == ["Failed to parse flag 'use_gpu' against argv '--use_gpu=yes'"]
    assert out.error_lines[0] == out.flag_errors[0] and out.error_lines[-1] == "Benchmarking failed."
    assert out.delegates == [] and out.delegate_failure is None


@pytest.mark.parametrize("name, delegate, reason", [
    ("15_failure_gpu_delegate.txt", "GPU", 'OpenCL library not loaded - dlopen failed: library "libOpenCL.so" not found'),
    ("07_failure_nnapi_delegate.txt", "NNAPI",
     "NN API returned error ANEURALNETWORKS_BAD_DATA at line 1068 while adding operation."),
])
def test_delegate_failure_reason(name: str, delegate: str, reason: str) -> None:
    out = parse(name)
    assert out.failed and out.avg_us is None
    failure = out.delegate_failure
    assert failure is not None and (failure.delegate, failure.reason) == (delegate, reason)
    assert failure.lines[-1] == f"Failed to apply {delegate} delegate."
    assert "Benchmarking failed." not in failure.lines
    assert [d.status for d in out.delegates if d.name == delegate] == ["failed"]


@pytest.mark.parametrize("name, expected", [
    ("03_tf2.5-2.12_android_xnnpack_noprefix.txt", [DelegateInfo("XNNPACK", "full", 1)]),
    ("04_tf2.16plus_android_info_prefix_percentiles.txt", [DelegateInfo("XNNPACK", "full", 1, 66, 66)]),
    ("11_op_profiling_xnnpack_per_op.txt", [DelegateInfo("XNNPACK", "partial", 1, 10, 12)]),
    ("16_gpu_delegate_op_profiling_start_column.txt", [DelegateInfo("GPU", "full", 1)]),
    ("02_tf2.2-2.4_android_peak_memory.txt", []),
])
def test_how_delegates_were_applied(name: str, expected: list) -> None:
    assert parse(name).delegates == expected


def test_partial_and_unused_delegates() -> None:
    text = ("INFO: Explicitly applied NNAPI delegate, and the model graph will be partially executed by the "
            "delegate w/ 3 delegate kernels.\n"
            "INFO: Though GPU delegate is explicitly applied, the model graph will not be executed by the delegate.\n")
    assert parse_benchmark_output(text).delegates == [DelegateInfo("NNAPI", "partial", 3), DelegateInfo("GPU", "none")]


@pytest.mark.parametrize("name", ["11_op_profiling_xnnpack_per_op.txt", "12_op_profiling_delegate_node.txt",
                                  "16_gpu_delegate_op_profiling_start_column.txt"])
def test_profile_tables_stay_out_of_the_timings(name: str) -> None:
    out = parse(name)
    assert out.has_op_profile and out.error_lines == []
    assert not parse("04_tf2.16plus_android_info_prefix_percentiles.txt").has_op_profile
