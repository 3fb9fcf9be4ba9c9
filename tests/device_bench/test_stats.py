"""Run and cell statistics against hand-computed values (plus, moved here from the former
test_device_bench_stats.py, the cool-down wait and the local timing loop)."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from ghostedge.device_bench.thermal import hottest, wait_for_cooldown
from ghostedge.device_bench.stats import (HEADLINE, HIGH_CV, RunSummary, cell_from_runs,
                                          cell_stats, median_interval, run_from_result,
                                          run_from_stat_line, run_from_stats, run_from_times,
                                          summarize_runs_us)

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "benchmark_model"


def _last_stat_line(name: str) -> str:
    lines = [l for l in (FIXTURES / name).read_text().splitlines() if "count=" in l]
    return lines[-1]


def _run(median_ms: float, avg_ms: float = None, min_ms: float = None) -> RunSummary:
    return RunSummary(50, avg=(avg_ms if avg_ms is not None else median_ms) * 1000.0,
                      min=(min_ms if min_ms is not None else median_ms) * 1000.0,
                      median=median_ms * 1000.0)


# --- one run ---------------------------------------------------------------------------------

def test_summarize_runs_like_benchmark_model():
    stats = summarize_runs_us([100, 200, 300, 400])
    assert stats["count"] == 4 and stats["first"] == 100 and stats["curr"] == 400
    assert stats["avg"] == 250 and stats["median"] == 250 and stats["min"] == 100
    assert stats["std"] == pytest.approx(math.sqrt(12500))


def test_run_from_times_keeps_samples_and_uses_the_median():
    run = run_from_times([400, 100, 300, 200, 10_000])      # one inference hit by other work
    assert run.samples_us == [400, 100, 300, 200, 10_000]
    assert run.median == 300 and run.avg == 2200 and run.min == 100
    assert run.center_stat == "median" and run.center_us == 300
    assert run_from_times([]) is None and run_from_times([float("nan")]) is None


def test_run_from_stat_line_with_percentiles():
    # fixture 04 (TF >= 2.16, INFO: prefix): count=75 ... avg=13331.4 std=241 p5=13090 median=13289
    run = run_from_stat_line(_last_stat_line("04_tf2.16plus_android_info_prefix_percentiles.txt"))
    assert run.count == 75 and run.avg == 13331.4 and run.p5 == 13090 and run.p95 == 13801
    assert run.center_stat == "median" and run.center_us == 13289


def test_run_from_stat_line_without_median_falls_back_to_average():
    # fixture 02 (TF 2.2-2.4): count=50 first=22402 curr=22187 min=21877 max=23390 avg=22291.6
    run = run_from_stat_line(_last_stat_line("02_tf2.2-2.4_android_peak_memory.txt"))
    assert run.median is None and run.center_stat == "avg" and run.center_us == 22291.6
    assert run.min == 21877 and run.std == 262


def test_run_from_stat_line_scientific_notation_and_single_run():
    run = run_from_stat_line(_last_stat_line("05_slow_model_scientific_notation.txt"))
    assert run.avg == pytest.approx(2.44318e6) and run.median == 2437745
    one = run_from_stat_line("INFO: count=1 curr=2871043 p5=2871043 median=2871043 p95=2871043")
    assert one.min == one.max == one.avg == one.first == 2871043
    old = run_from_stat_line("count=1 curr=5000")                # no percentiles: avg = curr
    assert old.center_stat == "avg" and old.center_us == 5000
    assert run_from_stat_line("Inference timings in us: Init: 1") is None


def test_run_from_stats_matches_the_adb_parser():
    from ghostedge.android_runner.parse import parse_benchmark_output

    text = (FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text()
    parsed = parse_benchmark_output(text)
    run = run_from_stats(parsed.runs.to_dict())
    assert run.center_us == parsed.median_us == 13289 and run.count == 75
    assert run_from_stats({"count": 10, "avg": None}) is None


def test_run_from_result_prefers_samples_then_stats_then_average():
    assert run_from_result({"samples_us": [3.0, 1.0, 2.0], "avg_us": 9.0}).center_us == 2.0
    assert run_from_result({"runs": {"count": 5, "avg": 7.0, "median": 6.0}}).center_us == 6.0
    only_avg = run_from_result({"avg_us": 8.0, "runs": {"count": 0}})
    assert only_avg.center_stat == "avg" and only_avg.center_us == 8.0
    assert run_from_result({}) is None


# --- the interval ----------------------------------------------------------------------------

@pytest.mark.parametrize("n, low, high, confidence", [
    (1, 1, 1, 0.0),
    (3, 1, 3, 0.75),                       # 1 - 2 * 1/8
    (5, 1, 5, 1 - 2 / 32),                 # 0.9375: still below 95 %
    (6, 1, 6, 1 - 2 / 64),                 # 0.96875: the first n reaching 95 %
    (8, 1, 8, 1 - 2 / 256),                # k=2 would give 1 - 2*9/256 = 0.930
    (9, 2, 8, 1 - 2 * (1 + 9) / 512),      # 0.9609
    (12, 3, 10, 1 - 2 * (1 + 12 + 66) / 4096),
])
def test_median_interval_order_statistics(n, low, high, confidence):
    values = list(range(n, 0, -1))          # n..1: the function sorts
    assert median_interval(values) == (low, high, pytest.approx(confidence))


def test_median_interval_needs_values_and_a_sensible_confidence():
    with pytest.raises(ValueError):
        median_interval([])
    with pytest.raises(ValueError):
        median_interval([1.0, 2.0], confidence=1.0)


def test_fewer_runs_needed_at_lower_confidence():
    cell = cell_from_runs([_run(m) for m in (5.0, 5.01, 4.99, 5.0, 5.0)], confidence=0.90)
    assert cell.ci_confidence == pytest.approx(0.9375) and cell.stable is True
    short = cell_from_runs([_run(m) for m in (5.0, 5.01, 4.99, 5.0)], confidence=0.90)
    assert short.stable is None and any("5 are needed for 90%" in n for n in short.notes)


# --- one cell --------------------------------------------------------------------------------

def test_cell_headline_interval_and_stability_by_hand():
    medians = [10.0, 10.1, 9.9, 10.15, 10.0, 9.95]
    runs = [_run(m, avg_ms=m + 0.3, min_ms=m - 0.5) for m in medians]
    cell = cell_from_runs(runs)
    assert cell.n == 6 and cell.headline_ms == pytest.approx(10.0)   # median of 9.9 .. 10.15
    assert (cell.ci_low_ms, cell.ci_high_ms) == (9.9, 10.15)         # n=6: [min, max]
    assert cell.ci_confidence == pytest.approx(0.96875)
    assert cell.rel_half_width == pytest.approx(0.015) and cell.stable is True
    assert cell.best_ms == pytest.approx(9.4)                         # 9.9 - 0.5
    assert cell.mean_ms == pytest.approx(sum(medians) / 6 + 0.3)
    assert cell.values_ms == medians and cell.run_stat == "median" and not cell.notes


def test_cell_unstable_when_the_interval_is_wider_than_2_percent():
    cell = cell_from_runs([_run(m) for m in (10.0, 10.0, 10.0, 10.0, 10.0, 10.5)])
    assert cell.headline_ms == 10.0 and cell.rel_half_width == pytest.approx(0.05)
    assert cell.stable is False


def test_cell_headline_ignores_a_spoiled_run_the_mean_does_not():
    cell = cell_from_runs([_run(5.0, avg_ms=5.1)] * 5 + [_run(9.0, avg_ms=12.0)])
    assert cell.headline_ms == 5.0
    assert cell.mean_ms == pytest.approx((5 * 5.1 + 12.0) / 6)


def test_cell_with_three_runs_has_no_stability_verdict():
    cell = cell_from_runs([_run(5.0), _run(5.01), _run(4.99)])
    assert cell.ci_confidence == pytest.approx(0.75) and cell.stable is None
    assert (cell.ci_low_ms, cell.ci_high_ms) == (4.99, 5.01)
    assert any("6 are needed" in note for note in cell.notes)


def test_cell_mixing_runs_without_a_median_says_so():
    cell = cell_from_runs([_run(4.0), RunSummary(30, avg=6000.0), None])
    assert cell.n == 2 and cell.run_stat == "median/avg" and cell.headline_ms == 5.0
    assert any("1 of 2 runs printed no median" in note for note in cell.notes)
    assert cell_from_runs([None]) is None and cell_from_runs([]) is None


def test_cell_stats_from_averages_keeps_the_old_fields():
    stats = cell_stats([10.0, 12.0, 11.0])
    assert stats.n == 3 and stats.median_ms == 11.0 and stats.min_ms == 10.0 and stats.max_ms == 12.0
    assert stats.std_ms == pytest.approx(1.0)        # sample std of 10, 11, 12
    assert stats.cv == pytest.approx(1.0 / 11.0)
    assert stats.high_variance and stats.run_stat == "avg"
    data = stats.to_dict()
    assert data["median_ms"] == data["headline_ms"] == 11.0 and data["high_variance"]
    assert data["headline"] == HEADLINE and data["values_ms"] == [10.0, 12.0, 11.0]


def test_cell_stats_even_count_median_and_quiet_cell():
    stats = cell_stats([5.0, 5.1, 5.05, 5.02])
    assert stats.median_ms == pytest.approx(5.035)
    assert stats.cv < HIGH_CV and not stats.high_variance


def test_cell_stats_single_and_empty():
    one = cell_stats([7.5])
    assert one.std_ms == 0.0 and one.cv == 0.0 and not one.high_variance
    assert cell_stats([]) is None
    assert cell_stats([float("nan")]) is None


# --- moved from test_device_bench_stats.py: runner cool-down and the local timing loop --------

def test_hottest_ignores_nonsense_zones():
    assert hottest({"a": 45.0, "b": -273.0, "c": 999.0, "d": 38.5}) == 45.0
    assert hottest({}) is None


def test_cooldown_waits_until_cool_and_records_time():
    readings = [{"cpu": 50.0}, {"cpu": 46.0}, {"cpu": 39.0}]
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    res = wait_for_cooldown(lambda: readings.pop(0), 40.0, 60.0, poll_s=2.0, sleep=sleep,
                            clock=lambda: now[0])
    assert not res.timed_out and res.temperatures == {"cpu": 39.0}
    assert slept == [2.0, 2.0] and res.waited_s == pytest.approx(4.0)


def test_cooldown_gives_up_after_max_wait():
    now = [0.0]

    def sleep(s):
        now[0] += s

    res = wait_for_cooldown(lambda: {"cpu": 80.0}, 40.0, 5.0, poll_s=2.0, sleep=sleep,
                            clock=lambda: now[0])
    assert res.timed_out and res.waited_s == pytest.approx(5.0)


def test_cooldown_without_readings_does_not_wait():
    res = wait_for_cooldown(lambda: {}, 40.0, 5.0, sleep=lambda s: pytest.fail("slept"))
    assert not res.timed_out and res.waited_s < 1.0


def test_local_loop_mirrors_benchmark_model_counts():
    from ghostedge.device_bench.local import _timed_loop

    calls = []
    assert len(_timed_loop(lambda: calls.append(1), 7, 0.0, 150.0)) == 7 and len(calls) == 7
    assert _timed_loop(lambda: None, 0, 0.0, 150.0) == []
    # with a minimum duration it keeps going past the run count (benchmark_model's min_secs)
    times = _timed_loop(lambda: time.sleep(0.002), 1, 0.02, 150.0)
    assert len(times) > 1 and all(t > 0 for t in times)


def test_local_facts_and_cpu_model_parsing():
    from ghostedge.device_bench.local import cpu_model_name, local_facts

    assert cpu_model_name("processor : 0\nmodel name\t: AMD   EPYC 7B13\n") == "AMD EPYC 7B13"
    assert cpu_model_name("Processor\t: AArch64 Processor rev 13\nHardware\t: Qualcomm SM8150\n") \
        == "Qualcomm SM8150"
    facts = local_facts()
    assert facts["cores"] >= 1 and facts["usable_cpus"] and facts["cpu_model"]
