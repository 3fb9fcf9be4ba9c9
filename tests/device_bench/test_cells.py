"""A cell from its run records, against hand-computed values: which runs count (busy hosts),
the protocol's headline, and every mark."""
from __future__ import annotations

import pytest

from ghostedge.device_bench.cells import cell_summary, mark_text, usable


def run(ms, busy=False, throttled=None, oversub=False, median=None, status="ok"):
    result = {"avg_us": ms * 1000, "runs": {"count": 50, "avg": ms * 1000, "min": ms * 900,
                                             "median": (median or ms) * 1000},
              "host_load": {"verdict": "busy" if busy else "quiet"}}
    if throttled is not None:
        result["frequency"] = {"throttled": throttled, "reach_median": 0.8 if throttled else 1.0}
    return {"status": status, "result": result, "oversubscribed": oversub, "throttled": throttled,
            "cooldown": {"waited_s": 1.0}}


def test_busy_runs_are_left_out_when_three_quiet_remain():
    records = [run(10), run(11), run(12), run(30, busy=True)]
    kept, left_out, kept_busy = usable(records)
    assert len(kept) == 3 and left_out == 1 and not kept_busy
    cell = cell_summary(records)
    assert cell["headline_ms"] == pytest.approx(11.0) and cell["n"] == 3 and "busy" not in cell["marks"]
    assert cell["busy_runs_left_out"] == 1 and any("busy host left out" in n for n in cell["notes"])


def test_too_few_quiet_runs_keep_the_busy_ones_and_mark_the_cell():
    cell = cell_summary([run(10), run(20, busy=True), run(21, busy=True)])
    assert cell["n"] == 3 and cell["headline_ms"] == pytest.approx(20.0) and cell["marks"] == ["busy"]


def test_median_and_mean_headlines():
    # run medians 10, 11, 14 (averages 10, 11, 15): median of medians 11, mean of averages 12
    records = [run(10), run(11), {**run(15, median=14)}]
    assert cell_summary(records)["headline_ms"] == pytest.approx(11.0)
    mean = cell_summary(records, "mean")
    assert mean["headline_ms"] == pytest.approx(12.0) and mean["statistic"] == "mean"
    assert mean["median_ms"] == mean["headline_ms"]   # the old key holds the headline


def test_marks():
    six = [run(10 + 0.01 * i) for i in range(6)]
    assert cell_summary(six)["marks"] == [] and cell_summary(six)["stable"] is True
    wide = [run(v) for v in (10, 12, 10, 12, 10, 12)]
    assert cell_summary(wide)["marks"] == ["unstable"]
    hot = cell_summary([run(10, throttled=True), run(10, throttled=False)])
    assert hot["marks"] == ["throttled"] and hot["throttled_runs"] == 1 and hot["freq_reach"] == pytest.approx(0.9)
    over = cell_summary([run(10, oversub=True)])
    assert over["marks"] == ["oversubscribed"] and mark_text(over) == "oversubscribed"
    assert cell_summary([run(10)])["cooldown_waited_s"] == 1.0


def test_failed_and_missing_cells():
    failed = {"status": "failed", "failure": {"kind": "delegate", "reason": "GPU delegate failed: no OpenCL"}}
    cell = cell_summary([failed])
    assert cell["status"] == "failed" and cell["reason"] == "GPU delegate failed: no OpenCL"
    assert cell["headline_ms"] is None and mark_text(cell) == ""
    assert cell_summary([]) is None
    assert cell_summary([failed, run(10)])["failed_runs"] == 1   # measured before it failed
