"""How busy this computer was around a local benchmark run (``--device local``), from /proc.

Each run is sampled before and after: load average, the usable CPUs' time (busy, steal, iowait)
and every visible process's CPU time. ``other_cpu`` = busy time of the usable CPUs minus our own
process and its children, in CPUs (1.0 = one CPU fully used): it also counts work no process list
shows (other containers, interrupts). The busiest other processes are named.

Verdict "busy" when any of these holds (:class:`Thresholds`; measured on the project's 2-vCPU VM
with GhostNet 1.0x under LiteRT, see the issue-10 report):
* others used >= 0.2 CPU during the run. Quiet runs measured 0.00-0.12; one other busy process
  reads 0.8-1.0 and made 2-thread runs 2x slower and 1-thread FP32 runs 4-7 % slower (more than
  the ±2 % a stable cell allows), so the limit sits just above the quiet floor.
* steal >= 5 % of the usable CPUs' time: the hypervisor took the vCPUs away that long, adding about
  as much latency.
* the 1-minute load average less our threads, per usable CPU, >= 1.5: more runnable work than CPUs
  for most of a minute. It lags (a finished burst keeps it up), so it is only a backstop with a
  margin; in the measurements it never fired without the direct measure.
Elsewhere than Linux the verdict is "unknown".
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Set

QUIET, BUSY, UNKNOWN = "quiet", "busy", "unknown"
try:
    CLK_TCK = int(os.sysconf("SC_CLK_TCK"))   # units of /proc CPU times (100 on Linux)
except (AttributeError, ValueError, OSError):
    CLK_TCK = 100


@dataclass(frozen=True)
class Thresholds:
    """Limits above which a run's host is "busy" (module docstring: why these values)."""

    other_cpu: float = 0.2          # CPUs used by others on average during the run
    steal: float = 0.05             # fraction of the usable CPUs' time stolen by the hypervisor
    load_per_cpu: float = 1.5       # (1-min load average - our threads) / usable CPUs


class LoadAvg(NamedTuple):
    """/proc/loadavg: 1/5/15-minute load averages and runnable/total scheduling entities now."""

    load1: float
    load5: float
    load15: float
    runnable: int
    tasks: int


class CpuTimes(NamedTuple):
    """One ``cpu``/``cpuN`` line of /proc/stat in clock ticks (guest time is already in user)."""

    user: int
    nice: int
    system: int
    idle: int
    iowait: int = 0
    irq: int = 0
    softirq: int = 0
    steal: int = 0

    @property
    def busy(self) -> int:
        return self.user + self.nice + self.system + self.irq + self.softirq

    @property
    def total(self) -> int:
        return self.busy + self.idle + self.iowait + self.steal


@dataclass(frozen=True)
class ProcTimes:
    """From /proc/<pid>/stat: name, parent, CPU time (utime + stime, all threads) and start time
    (since boot), both in clock ticks. The start time tells a reused pid from the same process."""

    pid: int
    ppid: int
    name: str
    ticks: int
    started: int = 0


@dataclass(frozen=True)
class ProcessLoad:
    """A process and the CPUs it used on average between two samples."""

    pid: int
    name: str
    cpu: float


@dataclass
class HostSample:
    """Everything read at one instant (``at``: monotonic seconds)."""

    at: float
    loadavg: Optional[LoadAvg]
    cpus: Dict[str, CpuTimes]
    procs: Dict[int, ProcTimes]


@dataclass
class HostLoad:
    """The host between two samples, with a verdict and the reasons for it."""

    verdict: str
    reasons: List[str]
    interval_s: float = 0.0
    usable_cpus: List[int] = field(default_factory=list)
    load1: Optional[float] = None           # at the end of the interval
    runnable: Optional[int] = None          # at the end, ourselves included
    busy: Optional[float] = None            # fractions of the usable CPUs' time
    steal: Optional[float] = None
    iowait: Optional[float] = None
    own_cpu: Optional[float] = None         # CPUs used by us and our children
    other_cpu: Optional[float] = None       # CPUs used by everything else on the usable CPUs
    top: List[ProcessLoad] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return self.verdict == QUIET

    def to_dict(self) -> Dict[str, object]:
        data = asdict(self)
        for key in ("interval_s", "busy", "steal", "iowait", "own_cpu", "other_cpu"):
            if data[key] is not None:
                data[key] = round(data[key], 4)
        data["top"] = [{"pid": p.pid, "name": p.name, "cpu": round(p.cpu, 3)} for p in self.top]
        return data


def parse_loadavg(text: str) -> Optional[LoadAvg]:
    """``0.99 0.72 0.34 1/95 9750`` -> LoadAvg; None when the text is not a loadavg line."""
    parts = text.split()
    try:
        runnable, tasks = parts[3].split("/")
        return LoadAvg(float(parts[0]), float(parts[1]), float(parts[2]), int(runnable), int(tasks))
    except (IndexError, ValueError):
        return None


def parse_proc_stat(text: str) -> Dict[str, CpuTimes]:
    """The ``cpu`` (all CPUs) and ``cpuN`` lines of /proc/stat; older kernels' missing columns are 0."""
    out: Dict[str, CpuTimes] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts or not parts[0].startswith("cpu"):
            continue
        try:
            if len(parts) >= 5:
                out[parts[0]] = CpuTimes(*(int(v) for v in parts[1:9]))
        except ValueError:
            continue
    return out


def parse_pid_stat(text: str) -> Optional[ProcTimes]:
    """/proc/<pid>/stat -> ProcTimes. The name sits in parentheses and may hold spaces or ')'."""
    open_, close = text.find("("), text.rfind(")")
    if open_ < 0 or close < open_:
        return None
    fields = text[close + 1:].split()
    try:  # after the name: state(3) ppid(4) ... utime(14) stime(15) ... starttime(22)
        return ProcTimes(int(text[:open_]), int(fields[1]), text[open_ + 1:close],
                         int(fields[11]) + int(fields[12]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def descendants(procs: Mapping[int, ProcTimes], root: int) -> Set[int]:
    """``root`` and every process below it (children, grandchildren, ...)."""
    found, size = {root}, 0
    while len(found) != size:
        size = len(found)
        found |= {p.pid for p in procs.values() if p.ppid in found}
    return found


def cpu_usage(before: Mapping[str, CpuTimes], after: Mapping[str, CpuTimes],
              cpus: Optional[Sequence[int]] = None) -> Optional[Dict[str, float]]:
    """Busy/steal/iowait fractions and the number of CPUs, over ``cpus`` (their ``cpuN`` lines)
    or, without them or when a line is missing, over the ``cpu`` line of all CPUs."""
    names = [f"cpu{c}" for c in cpus] if cpus else []
    if not names or any(n not in before or n not in after for n in names):
        names = ["cpu"]
        if "cpu" not in before or "cpu" not in after:
            return None
        count = max(1, len([n for n in after if n != "cpu"]))
    else:
        count = len(names)
    d = {k: sum(getattr(after[n], k) - getattr(before[n], k) for n in names)
         for k in ("busy", "steal", "iowait", "total")}
    if d["total"] <= 0:
        return None
    return {"busy": d["busy"] / d["total"], "steal": d["steal"] / d["total"],
            "iowait": d["iowait"] / d["total"], "cpus": float(count)}


def process_loads(before: Mapping[int, ProcTimes], after: Mapping[int, ProcTimes],
                  interval_s: float, clk_tck: int = CLK_TCK) -> List[ProcessLoad]:
    """CPUs used by each process between two samples, busiest first. A process that started in
    between counts from 0; kernel workers rename themselves, so a pid is matched by start time."""
    if interval_s <= 0:
        return []
    loads = []
    for pid, proc in after.items():
        prev = before.get(pid)
        start = prev.ticks if prev is not None and prev.started == proc.started else 0
        used = (proc.ticks - start) / clk_tck / interval_s
        if used > 0:
            loads.append(ProcessLoad(pid, proc.name, used))
    return sorted(loads, key=lambda p: (-p.cpu, p.pid))


def assess(before: Optional[HostSample], after: Optional[HostSample],
           usable_cpus: Sequence[int], own_pid: Optional[int] = None, own_threads: int = 0,
           thresholds: Thresholds = Thresholds(), clk_tck: int = CLK_TCK, top_n: int = 5) -> HostLoad:
    """The verdict for the interval between two samples. ``own_pid`` (default: this process) and
    its children are ours; ``own_threads`` is how many threads of ours the load average holds."""
    if before is None or after is None:
        return HostLoad(UNKNOWN, ["host load is not readable here (no /proc)"])
    own_pid = os.getpid() if own_pid is None else own_pid
    interval = after.at - before.at
    usable = list(usable_cpus)
    load = HostLoad(UNKNOWN, [], interval, usable)
    if after.loadavg is not None:
        load.load1, load.runnable = after.loadavg.load1, after.loadavg.runnable
    usage = cpu_usage(before.cpus, after.cpus, usable)
    ours = descendants(after.procs, own_pid) | descendants(before.procs, own_pid)
    procs = process_loads(before.procs, after.procs, interval, clk_tck)
    load.top = [p for p in procs if p.pid not in ours][:top_n]
    if usage is None or interval <= 0:
        load.reasons.append("no CPU time elapsed between the samples")
        return load
    load.busy, load.steal, load.iowait = usage["busy"], usage["steal"], usage["iowait"]
    load.own_cpu = sum(p.cpu for p in procs if p.pid in ours)
    load.other_cpu = max(0.0, round(load.busy * usage["cpus"] - load.own_cpu, 9))
    t = thresholds
    if load.other_cpu >= t.other_cpu:
        named = ", ".join(f"{p.name} {p.cpu:.2f}" for p in load.top[:3])
        load.reasons.append(f"other processes used {load.other_cpu:.2f} CPU (>= {t.other_cpu:g})"
                            + (f": {named}" if named else ""))
    if load.steal >= t.steal:
        load.reasons.append(f"steal {load.steal:.1%} (>= {t.steal:.0%}): the hypervisor is busy")
    if load.load1 is not None and usable:
        per_cpu = max(0.0, load.load1 - own_threads) / len(usable)
        if per_cpu >= t.load_per_cpu:
            load.reasons.append(f"load average {load.load1:.2f} ({per_cpu:.2f} per usable CPU "
                                f"besides ours, >= {t.load_per_cpu:g})")
    load.verdict = BUSY if load.reasons else QUIET
    return load


def usable_cpus() -> List[int]:
    """The CPUs this process may run on (its affinity mask)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def oversubscribed(threads: int, usable_cpus: int) -> bool:
    """More threads than usable CPUs: the threads time-share cores, so the figure measures the
    scheduler rather than the model and must never be shown as a plain number."""
    return threads > max(1, usable_cpus)


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text()
    except OSError:   # e.g. a process that ended while we read
        return None


def read_host_sample(proc_root: str = "/proc",
                     clock: Callable[[], float] = time.monotonic) -> Optional[HostSample]:
    """Read /proc now (a few ms for ~100 processes); None where there is no /proc/stat."""
    root = Path(proc_root)
    stat = _read(root / "stat")
    if stat is None:
        return None
    loadavg = _read(root / "loadavg")
    procs: Dict[int, ProcTimes] = {}
    for entry in root.iterdir():
        proc = parse_pid_stat(_read(entry / "stat") or "") if entry.name.isdigit() else None
        if proc is not None:
            procs[proc.pid] = proc
    return HostSample(clock(), parse_loadavg(loadavg) if loadavg else None,
                      parse_proc_stat(stat), procs)
