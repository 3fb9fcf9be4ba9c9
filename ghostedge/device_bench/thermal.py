"""Thermal gating: before each run, wait (bounded) until the device's hottest zone is back near
where it started (``baseline``: within ``--cooldown-delta`` °C of the first reading, on phones by
default) or under ``--cooldown-temp``; every wait and reading goes to the run's record."""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

log = logging.getLogger(__name__)

POLL_S = 0.5   # one temperature read is one adb round trip (~20-200 ms, more through a farm)


class Stopped(KeyboardInterrupt):
    """The session is being interrupted (Ctrl-C, SIGTERM, SIGHUP): this device stops and cleans up."""


def hottest(temps: Dict[str, float]) -> Optional[float]:
    """The highest plausible reading (0..150 °C); zones reporting nonsense are ignored."""
    values = [v for v in temps.values() if isinstance(v, (int, float)) and math.isfinite(v)
              and 0.0 < v < 150.0]
    return max(values) if values else None


@dataclass
class CooldownResult:
    waited_s: float
    temperatures: Dict[str, float]
    timed_out: bool


def wait_for_cooldown(read_temps: Callable[[], Dict[str, float]], threshold_c: float,
                      max_wait_s: float, poll_s: Optional[float] = None,
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic,
                      stop: Optional[threading.Event] = None) -> CooldownResult:
    """Wait while the hottest zone is above ``threshold_c``, at most ``max_wait_s`` seconds
    (``stop`` set: raise ``Stopped`` at once)."""
    poll_s = POLL_S if poll_s is None else poll_s
    start = clock()
    temps = read_temps()
    while True:
        top = hottest(temps)
        waited = clock() - start
        if top is None or top <= threshold_c:
            return CooldownResult(waited, temps, False)
        if waited >= max_wait_s:
            log.warning("still %.1f °C after %.0f s of cool-down (threshold %.1f °C); running anyway",
                        top, waited, threshold_c)
            return CooldownResult(waited, temps, True)
        pause = min(poll_s, max(0.0, max_wait_s - waited)) or poll_s
        if stop is not None:
            if stop.wait(pause):
                raise Stopped("cool-down interrupted")
        else:
            sleep(pause)
        temps = read_temps()


class ThermalGate:
    """The cool-down of one device for one session: ``start`` reads the baseline, ``before_run``
    waits when needed and returns (temperatures now, what to record)."""

    def __init__(self, mode: str, temp_c: Optional[float], delta_c: Optional[float], max_wait_s: float,
                 read: Callable[[], Dict[str, float]], stop: Optional[threading.Event] = None,
                 wait: Callable[..., CooldownResult] = wait_for_cooldown) -> None:
        self.mode, self.temp_c, self.delta_c, self.max_wait_s = mode, temp_c, delta_c, max_wait_s
        self.read, self.stop, self.wait = read, stop, wait
        self.baseline: Optional[Dict[str, float]] = None
        self.baseline_c: Optional[float] = None
        self.waited_s = 0.0
        self.waits = 0

    @property
    def threshold_c(self) -> Optional[float]:
        if self.mode == "temp":
            return self.temp_c
        if self.mode == "baseline" and self.baseline_c is not None and self.delta_c is not None:
            return self.baseline_c + self.delta_c
        return None

    def start(self) -> Dict[str, Any]:
        """Read the starting temperatures (the baseline); what the session header records."""
        if self.mode == "off":
            return {"mode": "off"}
        self.baseline = self.read()
        self.baseline_c = hottest(self.baseline)
        if self.baseline_c is None:
            log.warning("the device reports no temperatures: the cool-down has no effect")
        return {"mode": self.mode, "baseline": self.baseline, "baseline_c": self.baseline_c,
                "delta_c": self.delta_c, "temp_c": self.temp_c, "threshold_c": self.threshold_c,
                "max_wait_s": self.max_wait_s}

    def before_run(self) -> "tuple[Optional[Dict[str, float]], Optional[Dict[str, Any]]]":
        """Wait for the threshold (if any): (temperatures at the end of the wait, cooldown record)."""
        threshold = self.threshold_c
        if threshold is None:
            return None, None
        if self.stop is not None:
            result = self.wait(self.read, threshold, self.max_wait_s, stop=self.stop)
        else:
            result = self.wait(self.read, threshold, self.max_wait_s)
        self.waited_s += result.waited_s
        self.waits += result.waited_s > 0
        return result.temperatures, {"mode": self.mode, "threshold_c": round(threshold, 2),
                                     "waited_s": round(result.waited_s, 3), "timed_out": result.timed_out,
                                     "hottest_c": hottest(result.temperatures)}
