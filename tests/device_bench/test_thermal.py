"""Thermal gating on injected temperatures and clocks: baseline + delta, a fixed threshold, off,
bounded waits, interruption."""
from __future__ import annotations

import threading

import pytest

from ghostedge.device_bench.thermal import Stopped, ThermalGate, hottest, wait_for_cooldown


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def readings(*values):
    seq = [{"cpu": float(v), "battery": 30.0} for v in values]
    return lambda: seq.pop(0) if len(seq) > 1 else seq[0]


def test_hottest_ignores_nonsense():
    assert hottest({"a": 41.0, "b": 200.0, "c": -3.0, "d": float("nan")}) == 41.0
    assert hottest({}) is None


def test_wait_until_under_threshold_counts_the_wait():
    clock = Clock()
    result = wait_for_cooldown(readings(50, 47, 44, 42.5), 43.0, 60.0, poll_s=0.5, sleep=clock.sleep, clock=clock)
    assert not result.timed_out and result.waited_s == pytest.approx(1.5) and result.temperatures["cpu"] == 42.5


def test_wait_is_bounded():
    clock = Clock()
    result = wait_for_cooldown(readings(60), 40.0, 2.0, poll_s=0.5, sleep=clock.sleep, clock=clock)
    assert result.timed_out and result.waited_s == pytest.approx(2.0)


def test_baseline_gate_waits_for_start_plus_delta():
    clock = Clock()

    def wait(read, threshold, max_wait, stop=None):
        return wait_for_cooldown(read, threshold, max_wait, poll_s=0.5, sleep=clock.sleep, clock=clock)

    gate = ThermalGate("baseline", None, 3.0, 60.0, readings(39, 45, 44, 41.9), wait=wait)
    header = gate.start()
    assert header["baseline_c"] == 39.0 and header["threshold_c"] == 42.0
    temps, record = gate.before_run()
    assert record == {"mode": "baseline", "threshold_c": 42.0, "waited_s": 1.0, "timed_out": False,
                      "hottest_c": 41.9}
    assert temps["cpu"] == 41.9 and gate.waited_s == 1.0 and gate.waits == 1


def test_fixed_threshold_and_off():
    gate = ThermalGate("temp", 40.0, None, 10.0, readings(38), wait=lambda r, t, m: wait_for_cooldown(r, t, m))
    assert gate.start()["threshold_c"] == 40.0
    assert gate.before_run()[1]["waited_s"] == 0.0
    off = ThermalGate("off", None, None, 10.0, readings(90))
    assert off.start() == {"mode": "off"} and off.before_run() == (None, None)


def test_no_temperatures_means_no_gate():
    gate = ThermalGate("baseline", None, 3.0, 10.0, lambda: {})
    assert gate.start()["baseline_c"] is None and gate.before_run() == (None, None)


def test_stop_interrupts_the_wait():
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        wait_for_cooldown(readings(90), 40.0, 60.0, stop=stop)
