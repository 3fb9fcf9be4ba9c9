"""Cell statistics and the cool-down wait."""
from __future__ import annotations

import math
import time

import pytest

from ghostedge.device_bench.runner import hottest, wait_for_cooldown
from ghostedge.device_bench.stats import HIGH_CV, cell_stats, summarize_runs_us


def test_cell_stats_median_min_max_std_cv():
    stats = cell_stats([10.0, 12.0, 11.0])
    assert stats.n == 3 and stats.median_ms == 11.0 and stats.min_ms == 10.0 and stats.max_ms == 12.0
    assert stats.std_ms == pytest.approx(1.0)        # sample std of 10, 11, 12
    assert stats.cv == pytest.approx(1.0 / 11.0)
    assert stats.high_variance                       # 9 % > 5 %


def test_cell_stats_even_count_median_and_quiet_cell():
    stats = cell_stats([5.0, 5.1, 5.05, 5.02])
    assert stats.median_ms == pytest.approx(5.035)
    assert stats.cv < HIGH_CV and not stats.high_variance


def test_cell_stats_single_and_empty():
    one = cell_stats([7.5])
    assert one.std_ms == 0.0 and one.cv == 0.0 and not one.high_variance
    assert cell_stats([]) is None
    assert cell_stats([float("nan")]) is None


def test_summarize_runs_like_benchmark_model():
    stats = summarize_runs_us([100, 200, 300, 400])
    assert stats["count"] == 4 and stats["first"] == 100 and stats["curr"] == 400
    assert stats["avg"] == 250 and stats["median"] == 250 and stats["min"] == 100
    assert stats["std"] == pytest.approx(math.sqrt(12500))


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
