"""What ``bench`` may be asked: protocols (their defaults), delegates, and the valid range of every
numeric option — checked where it enters, refused with one clear line, never replaced."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ghostedge.errors import UsageError

DELEGATES = ("cpu", "gpu", "nnapi")
MAX_SECS = 150.0           # benchmark_model: stop starting new runs after this
MAX_THREADS = 256


@dataclass(frozen=True)
class Protocol:
    """How a table is made. ``headline``: "median" (median over runs of each run's median) or
    "mean" (mean over runs of each run's average, as Paddle Lite prints it)."""

    name: str
    description: str
    headline: str
    threads: Tuple[int, ...]
    repeats: int
    warmup_runs: int
    num_runs: int
    min_secs: float
    warmup_min_secs: float
    affinity: str            # phones; --device local never pins by default
    cooldown: bool           # thermal gating on phones by default
    adaptive_budget_s: float

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


PROTOCOLS: Dict[str, Protocol] = {
    "strict": Protocol(
        "strict", "phones pinned to their big cores and cooled to the starting temperature before "
                  "each run, cells interleaved, at least 6 runs per cell (more until the 95 % interval is within "
                  "±2 % or the time budget ends); headline = median over runs of each run's median",
        "median", (1, 2, 4), 6, 10, 50, 1.0, 0.5, "big", True, 60.0),
    "paddlelite": Protocol(
        "paddlelite", "as PaddleClas made its SD855 table (deploy/lite/benchmark/benchmark.sh): 10 warm-up "
                      "and 30 timed inferences, one run per cell, no pinning, no cool-down; headline = "
                      "average inference time",
        "mean", (1, 2, 4), 1, 10, 30, 0.0, 0.0, "none", False, 0.0),
}


def protocol_changes(plan: Dict[str, Any], phones: bool = True) -> List[str]:
    """Where a saved plan departs from its protocol's settings, e.g. ``["repeats 1 (protocol: 6)"]``:
    every table says so beside the protocol's name."""
    protocol = PROTOCOLS.get(plan.get("protocol", "strict"))
    if protocol is None:
        return []
    changes = [f"{key.replace('_', ' ')} {plan[key]:g} (protocol: {getattr(protocol, key):g})"
               for key in ("repeats", "warmup_runs", "num_runs", "min_secs", "warmup_min_secs")
               if isinstance(plan.get(key), (int, float)) and plan[key] != getattr(protocol, key)]
    budget = (plan.get("adaptive") or {}).get("budget_s")
    if isinstance(budget, (int, float)) and budget != protocol.adaptive_budget_s:
        changes.append(f"adaptive budget {budget:g} s (protocol: {protocol.adaptive_budget_s:g} s)")
    if phones and protocol.cooldown and (plan.get("cooldown") or {}).get("mode") == "off":
        changes.append("no cool-down")
    return changes


def number(flag: str, value: Any, low: float, high: float, integer: bool = False,
           low_open: bool = False, example: str = "") -> Any:
    """``value`` as a number within [low, high] (``(low, high]`` with ``low_open``), else a
    UsageError naming ``flag``. NaN, infinities, booleans and non-numbers are refused."""
    shown = value
    try:
        if isinstance(value, bool):
            raise ValueError
        number_ = float(value)
        if integer:
            if not math.isfinite(number_) or number_ != int(number_) or (isinstance(value, str) and
                                                                        not value.strip().lstrip("+-").isdigit()):
                raise ValueError
            number_ = int(number_)
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if integer else "a number"
        raise UsageError(f"Invalid {flag} {shown!r}", f"it must be {kind}",
                         f"Use e.g. {flag} {example or int(low) + 1}") from None
    below = number_ <= low if low_open else number_ < low
    if not math.isfinite(number_) or below or number_ > high:
        side = "more than" if low_open else "at least"
        raise UsageError(f"Invalid {flag} {shown}", f"it must be {side} {low:g} and at most {high:g}",
                         f"Use e.g. {flag} {example or int(low) + 1}")
    return number_


def check_delegates(delegates: Sequence[str]) -> List[str]:
    """Known delegate names, each once, in the given order."""
    names = [str(d).strip().lower() for d in delegates]
    if not names:
        raise UsageError("No delegate after --delegate", "at least one is needed", "Use e.g. --delegate cpu gpu")
    unknown = [n for n in names if n not in DELEGATES]
    if unknown:
        raise UsageError(f"Unknown delegate {unknown[0]!r}", f"known delegates: {', '.join(DELEGATES)}",
                         "Use e.g. --delegate cpu gpu nnapi")
    if len(set(names)) != len(names):
        raise UsageError(f"Invalid --delegate {names}", "a delegate is repeated", "List each delegate once")
    return names


@dataclass
class Resolved:
    """Every option with its protocol default filled in and its range checked."""

    protocol: Protocol
    threads: List[int]
    delegates: List[str]
    repeats: int
    warmup_runs: int
    num_runs: int
    min_secs: float
    warmup_min_secs: float
    affinity: Optional[str]
    cooldown: Optional[bool]
    cooldown_temp: Optional[float]
    cooldown_delta: float
    cooldown_max_wait: float
    run_timeout: float
    adaptive_budget: float
    max_repeats: int
    wait_quiet: float
    op_profile: bool
    memory: bool


def resolve_options(protocol: str = "strict", threads: Optional[Sequence[Any]] = None,
                    delegates: Sequence[str] = ("cpu",), repeats: Any = None, warmup_runs: Any = None,
                    num_runs: Any = None, min_secs: Any = None, warmup_min_secs: Any = None,
                    affinity: Optional[str] = None, cooldown: Optional[bool] = None,
                    cooldown_temp: Any = None, cooldown_delta: Any = 3.0, cooldown_max_wait: Any = 120.0,
                    run_timeout: Any = 600.0, adaptive_budget: Any = None, max_repeats: Any = 20,
                    wait_quiet: Any = 0.0, op_profile: bool = False, memory: bool = False) -> Resolved:
    """Check every option (``None``: the protocol's default) and return them resolved."""
    if protocol not in PROTOCOLS:
        raise UsageError(f"Unknown protocol {protocol!r}", f"known protocols: {', '.join(PROTOCOLS)}",
                         "Use --protocol strict (default) or --protocol paddlelite")
    p = PROTOCOLS[protocol]

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    thread_list = [number("--threads", t, 1, MAX_THREADS, integer=True, example="1 2 4")
                   for t in (p.threads if threads is None else threads)]
    if not thread_list:
        raise UsageError("No thread count after --threads", "at least one is needed", "Use e.g. --threads 1 2 4")
    if len(set(thread_list)) != len(thread_list):
        raise UsageError(f"Invalid --threads {thread_list}", "a thread count is repeated",
                         "List each thread count once")
    reps = number("--repeats", pick(repeats, p.repeats), 1, 1000, integer=True, example="6")
    most = number("--max-repeats", max_repeats, 1, 1000, integer=True, example="20")
    if most < reps:
        raise UsageError(f"Invalid --max-repeats {most}", f"it is below --repeats {reps}",
                         f"Use --max-repeats {max(20, reps)} or more (or fewer --repeats)")
    temp = None if cooldown_temp is None else number("--cooldown-temp", cooldown_temp, 0, 150, low_open=True,
                                                     example="40")
    if temp is not None and temp >= 150:
        raise UsageError(f"Invalid --cooldown-temp {temp:g}", "it must be below 150 °C", "Use e.g. --cooldown-temp 40")
    if cooldown is False and temp is not None:
        raise UsageError("--no-cooldown and --cooldown-temp contradict each other",
                         "one turns the cool-down off, the other sets its threshold", "Pass only one of them")
    return Resolved(
        p, thread_list, check_delegates(delegates), reps,
        number("--warmup-runs", pick(warmup_runs, p.warmup_runs), 0, 100000, integer=True, example="10"),
        number("--num-runs", pick(num_runs, p.num_runs), 1, 1000000, integer=True, example="50"),
        number("--min-secs", pick(min_secs, p.min_secs), 0, MAX_SECS, example="1"),
        number("--warmup-min-secs", pick(warmup_min_secs, p.warmup_min_secs), 0, MAX_SECS, example="0.5"),
        affinity, cooldown, temp,
        number("--cooldown-delta", cooldown_delta, 0, 50, low_open=True, example="3"),
        number("--cooldown-max-wait", cooldown_max_wait, 0, 3600, example="120"),
        number("--run-timeout", run_timeout, 0, 86400, low_open=True, example="600"),
        number("--adaptive-budget", pick(adaptive_budget, p.adaptive_budget_s), 0, 86400, example="60"),
        most, number("--wait-quiet", wait_quiet, 0, 3600, example="30"), bool(op_profile), bool(memory))
