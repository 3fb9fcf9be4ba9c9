"""Adaptive repetition decisions and the wait for a quiet host, on hand-made data and fake clocks."""
from __future__ import annotations

import pytest

from ghostedge.device_bench.adaptive import AdaptivePolicy, Budget, decide, wait_quiet
from ghostedge.device_bench.host_load import CpuTimes, HostSample
from ghostedge.device_bench.stats import RunSummary, cell_from_runs


def _cell(*medians_ms: float):
    return cell_from_runs([RunSummary(50, median=m * 1000.0, avg=m * 1000.0) for m in medians_ms])


POLICY = AdaptivePolicy(target=0.02, min_runs=6, max_runs=12, budget_s=60.0)


def test_too_few_runs_for_a_95_percent_interval_runs_again():
    d = decide(_cell(5.0, 5.0, 5.0), POLICY, spent_s=3.0)
    assert d.again and d.status == "more" and not d.unstable
    assert d.reason == "interval ±0.0 % after 3 runs (75% interval); 3 of at least 6 runs"


def test_six_tight_runs_are_stable():
    d = decide(_cell(10.0, 10.1, 9.9, 10.15, 10.0, 9.95), POLICY, spent_s=10.0)
    assert not d.again and d.status == "stable" and d.rel_half_width == pytest.approx(0.015)
    assert d.reason == "interval ±1.5 % after 6 runs"


def test_wide_interval_runs_again_until_the_budget_is_spent():
    wide = _cell(100, 100, 100, 100, 100, 100, 100, 103.4)          # n=8: [min, max], ±3.4 %
    more = decide(wide, POLICY, spent_s=30.0)
    assert more.again and more.reason == "interval ±3.4 % after 8 runs; target ±2.0 %"
    stop = decide(wide, POLICY, spent_s=60.0)
    assert not stop.again and stop.status == "budget" and stop.unstable
    assert stop.reason == "interval ±3.4 % after 8 runs, budget 60 s spent"


def test_a_run_that_would_end_past_the_budget_is_not_started():
    wide = _cell(100, 100, 100, 100, 100, 100, 100, 103.4)
    assert decide(wide, POLICY, spent_s=55.0, next_run_s=4.0).again
    late = decide(wide, POLICY, spent_s=55.0, next_run_s=6.0)
    assert not late.again and late.status == "budget"


def test_max_runs_stops_an_unstable_cell():
    values = [100.0] * 9 + [104.0, 104.0, 104.0]                    # n=12: 3rd..10th -> ±4 %
    d = decide(_cell(*values), POLICY, spent_s=1.0)
    assert not d.again and d.status == "max_runs" and d.unstable
    assert d.reason == "interval ±4.0 % after 12 runs, the most runs allowed (12)"


def test_outliers_drop_out_of_the_interval_as_runs_accumulate():
    # 9 runs: the interval is the 2nd..8th value, so one spoiled run no longer widens it
    d = decide(_cell(5.0, 5.02, 4.99, 5.01, 5.0, 5.03, 4.98, 5.0, 7.5), POLICY, spent_s=1.0)
    assert d.status == "stable" and d.rel_half_width == pytest.approx(0.006)


def test_no_runs_no_decision():
    d = decide(None, POLICY, spent_s=0.0)
    assert not d.again and d.status == "no_data" and d.to_dict()["runs"] == 0


def test_decision_to_dict():
    data = decide(_cell(5.0, 5.0, 5.0), POLICY, spent_s=1.23456).to_dict()
    assert data["again"] and data["spent_s"] == 1.235 and data["unstable"] is False


def test_policy_rejects_nonsense():
    for bad in (dict(target=0.0), dict(min_runs=0), dict(min_runs=6, max_runs=5),
                dict(budget_s=-1.0)):
        with pytest.raises(ValueError):
            AdaptivePolicy(**bad)


def test_budget_uses_the_injected_clock():
    now = [100.0]
    budget = Budget(clock=lambda: now[0])
    now[0] = 112.5
    assert budget.spent() == 12.5
    budget.start()
    now[0] = 113.0
    assert budget.spent() == 0.5


# --- waiting for a quiet host ----------------------------------------------------------------

def _clocked_samples(other_ticks_per_interval):
    """Samples 1 s apart on 1 CPU where others use the given ticks in each interval."""
    now = [0.0]
    state = {"busy": 0, "idle": 0, "i": 0}

    def sample():
        i = state["i"]
        if i:
            used = other_ticks_per_interval[min(i, len(other_ticks_per_interval)) - 1]
            state["busy"] += used
            state["idle"] += 100 - used
        state["i"] += 1
        return HostSample(now[0], None, {"cpu0": CpuTimes(state["busy"], 0, 0, state["idle"])}, {})

    def sleep(s):
        now[0] += s

    return sample, sleep, (lambda: now[0])


def test_wait_quiet_waits_until_quiet():
    sample, sleep, clock = _clocked_samples([100, 60, 5])
    res = wait_quiet(30.0, poll_s=1.0, clock=clock, sleep=sleep, sample=sample, cpus=[0])
    assert res.quiet and not res.timed_out and res.checks == 3 and res.waited_s == 3.0
    assert res.to_dict()["last"]["verdict"] == "quiet"


def test_wait_quiet_gives_up_after_max_wait():
    sample, sleep, clock = _clocked_samples([100])
    res = wait_quiet(5.0, poll_s=1.0, clock=clock, sleep=sleep, sample=sample, cpus=[0])
    assert not res.quiet and res.timed_out and res.checks == 5 and res.waited_s == 5.0
    assert res.last.reasons[0].startswith("other processes used 1.00 CPU")


def test_wait_quiet_returns_at_once_without_proc():
    res = wait_quiet(5.0, sample=lambda: None, sleep=lambda s: pytest.fail("slept"), cpus=[0])
    assert not res.quiet and not res.timed_out and res.last.verdict == "unknown"
