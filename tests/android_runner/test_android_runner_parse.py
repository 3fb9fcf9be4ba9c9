"""benchmark_model output parsing on every fixture in tests/data/benchmark_model (see its README)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ghostedge.android_runner import BenchmarkOutput, parse_benchmark_output

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def parse(name: str) -> BenchmarkOutput:
    return parse_benchmark_output((FIXTURES / name).read_text())


def test_every_fixture_is_covered() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.txt"))
    assert len(names) == 10
    tested = {n for n in names if n[:2] in EXPECTED_OK or n[:2] in ("07", "08")}
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
}


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
