"""Parse what TFLite/LiteRT ``benchmark_model`` prints, across its versions (units: µs).

Handles the TF 1.x ``Average inference timings`` line, the ``Inference timings in us`` line,
``INFO:``/``VERBOSE:``/``ERROR:`` prefixes or none, logcat prefixes (benchmark APK), ``%g`` numbers
(``2.44318e+06``), single-run stat lines (``count=1 curr=``, ``count=N curr=X(all same)``),
p5/median/p95, the three memory line variants, flags the binary did not take
(``Unconsumed cmdline flags:`` — the run goes on without them — and ``Failed to parse flag``), how
each delegate was applied and why one failed. The per-operator profile is read by
``op_profile.parse_op_profile`` from the same text (``BenchmarkOutput.raw``).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LOGCAT = re.compile(r"^\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s?")
_LEVEL = re.compile(r"^(INFO|WARN|WARNING|ERROR|FATAL|VERBOSE|DEBUG):\s?")
_STAT = re.compile(r"^count=(\d+)\b(.*)$")
STAT_KEYS = ("first", "curr", "min", "max", "avg", "std", "p5", "median", "p95")
_TIMINGS = re.compile(rf"Inference timings in us: Init: ({_NUM}), First inference: ({_NUM}), "
                      rf"Warmup \(avg\): ({_NUM}), Inference \(avg\): ({_NUM})")
_LEGACY = re.compile(rf"Average inference timings in us: Warmup: ({_NUM}), Init: ({_NUM}), "
                     rf"no stats: ({_NUM})")
_SESSION = re.compile(rf"Initialized session in ({_NUM})\s*ms")
_SIZE = re.compile(rf"The input model file size \(MB\): ({_NUM})")
_MEM_INIT = re.compile(rf"^(Peak memory footprint|Memory footprint delta from the start of the tool)"
                       rf" \(MB\): init=({_NUM}) overall=({_NUM})")
_MEM_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: ({_NUM})")
_MEM_STATUS = re.compile(r"^[-+]\s*(VmRSS|RssAnnon|RssAnon|RssFile \+ RssShmem)\s*:\s*(\d+)\s*MB")
_STATUS_KEYS = {"VmRSS": "end_vmrss_mb", "RssAnnon": "end_rss_anon_mb", "RssAnon": "end_rss_anon_mb",
                "RssFile + RssShmem": "end_rss_file_shmem_mb"}
_UNCONSUMED = re.compile(r"^Unconsumed cmdline flags:\s*(.*)$")
_FLAG_ERROR = re.compile(r"^(Failed to parse flag .*|Required flag not provided: .*|Too few command line arguments\.)$")
_APPLIED = re.compile(r"^(?:Explicitly applied (\S+) delegate, and the model graph will be (completely|partially) "
                      r"executed by the delegate(?: w/ (\d+) delegate kernels)?|Though (\S+) delegate is explicitly "
                      r"applied, the model graph will not be executed by the delegate)\.$")
_REPLACING = re.compile(r"Replacing (\d+) out of (\d+) node\(s\) with delegate \((\w+)\) node, yielding (\d+) partitions")
_APPLY_FAILED = re.compile(r"^Failed to apply (\S+) delegate\.?$")
_GENERIC_ERRORS = re.compile(r"^(Restored original execution plan|Benchmarking failed|Failed to apply \S+ delegate|"
                             r"Node number \d+ \(\w+\) failed to prepare)")
_KERNEL_NAMES = {"TfLiteXNNPackDelegate": "XNNPACK", "TfLiteGpuDelegateV2": "GPU", "TfLiteGpuDelegate": "GPU",
                 "TfLiteNnapiDelegate": "NNAPI", "TfLiteHexagonDelegate": "Hexagon"}
_PROFILE_START = ("Profiling Info for Benchmark Initialization:", "Operator-wise Profiling Info for Regular Benchmark Runs:")
_FAILURE = re.compile(r"Benchmarking failed|Failed to |Could not |Permission denied|not found|"
                      r"inaccessible or not found|Segmentation fault|Aborted|CANNOT LINK|"
                      r"No such file", re.I)


@dataclass(frozen=True)
class RunStats:
    """One ``count=… first=… curr=… min=… max=… avg=… std=… [p5= median= p95=]`` line (µs)."""

    count: int
    first: Optional[float] = None
    curr: Optional[float] = None
    min: Optional[float] = None
    max: Optional[float] = None
    avg: Optional[float] = None
    std: Optional[float] = None
    p5: Optional[float] = None
    median: Optional[float] = None
    p95: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class DelegateInfo:
    """How a delegate was applied: ``status`` ``full``, ``partial``, ``none`` (from ``Explicitly
    applied …`` or, for the default XNNPACK delegate, ``Replacing N out of M node(s)``) or ``failed``
    (``Failed to apply X delegate``); ``kernels`` delegate kernels (partitions), ``nodes`` of
    ``total_nodes`` taken (subgraph 0)."""

    name: str
    status: str
    kernels: Optional[int] = None
    nodes: Optional[int] = None
    total_nodes: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class DelegateFailure:
    """A delegate that could not be applied: the most specific error line and all of them."""

    delegate: str
    reason: str
    lines: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class BenchmarkOutput:
    """Everything read from one benchmark_model run. Times in µs; ``None`` when not printed.

    ``memory`` keys (MB): ``peak_init_mb``/``peak_overall_mb`` (old ``Peak memory footprint``),
    ``delta_init_mb``/``delta_overall_mb`` (``Memory footprint delta …``), ``peak_periodic_mb``
    (``--report_peak_memory_footprint``), ``end_vmrss_mb`` etc. (``Memory status at the end``).
    """

    init_us: Optional[float] = None
    first_us: Optional[float] = None
    warmup_avg_us: Optional[float] = None
    avg_us: Optional[float] = None
    warmup: Optional[RunStats] = None
    runs: Optional[RunStats] = None
    memory: Dict[str, float] = field(default_factory=dict)
    model_size_mb: Optional[float] = None
    failed: bool = False
    error_lines: List[str] = field(default_factory=list)
    raw: str = ""
    exit_code: Optional[int] = None
    unconsumed_flags: List[str] = field(default_factory=list)
    flag_errors: List[str] = field(default_factory=list)
    delegates: List[DelegateInfo] = field(default_factory=list)
    delegate_failure: Optional[DelegateFailure] = None
    has_op_profile: bool = False
    samples: List[Dict[str, Any]] = field(default_factory=list)   # the phone while it ran (remote.py)

    @property
    def median_us(self) -> Optional[float]:
        """Median of the measured runs when printed (newer builds), else their average."""
        if self.runs is not None and self.runs.median is not None:
            return self.runs.median
        return self.avg_us

    @property
    def memory_overall_mb(self) -> Optional[float]:
        """The best single memory figure available (periodic peak, else overall footprint)."""
        for key in ("peak_periodic_mb", "delta_overall_mb", "peak_overall_mb"):
            if key in self.memory:
                return self.memory[key]
        return None

    def to_dict(self, include_raw: bool = False) -> Dict[str, Any]:
        data = asdict(self)
        if not include_raw:
            data.pop("raw")
        return data


def strip_prefixes(line: str) -> str:
    """Remove a logcat prefix and a log-level prefix (``INFO: ``) from one line."""
    line = line.rstrip("\r\n")
    line = _LOGCAT.sub("", line, count=1)
    return _LEVEL.sub("", line, count=1).strip()


def parse_stat_line(body: str, count: int) -> RunStats:
    """Key=value pairs of a stat line (``%g`` numbers allowed)."""
    found = dict(re.findall(rf"\b(\w+)=({_NUM})", body))
    values = {key: float(found[key]) for key in STAT_KEYS if key in found}
    all_same = count == 1 or "(all same)" in body
    if all_same and values.get("curr") is not None:  # one run, or identical runs: only curr (and percentiles)
        for key in ("first", "min", "max", "avg"):
            values.setdefault(key, values["curr"])
        values.setdefault("std", 0.0)
    return RunStats(count=count, **values)


def _read_flags_and_delegates(out: BenchmarkOutput, line: str) -> bool:
    """Unconsumed/unparsable flags and delegate application lines; True when the line is used up."""
    found = _UNCONSUMED.match(line)
    if found:
        out.unconsumed_flags.extend(found.group(1).split())
        return True
    if _FLAG_ERROR.match(line):
        out.flag_errors.append(line)
        return False  # also an error line
    found = _APPLIED.match(line)
    if found:
        status = {"completely": "full", "partially": "partial"}.get(found.group(2) or "", "none")
        info = _delegate(out, found.group(1) or found.group(4))
        info.status = status
        info.kernels = int(found.group(3)) if found.group(3) else (1 if status == "full" else info.kernels)
        return True
    found = _REPLACING.search(line)
    if found:
        info = _delegate(out, _KERNEL_NAMES.get(found.group(3), found.group(3)))
        if info.nodes is None:  # subgraph 0 comes first
            info.nodes, info.total_nodes = int(found.group(1)), int(found.group(2))
            info.kernels = info.kernels if info.kernels is not None else int(found.group(4))
            if info.status == "applied":
                info.status = "full" if info.nodes == info.total_nodes else "partial" if info.nodes else "none"
        return True
    return False


def _delegate(out: BenchmarkOutput, name: str) -> DelegateInfo:
    found = next((d for d in out.delegates if d.name == name), None)
    if found is None:
        found = DelegateInfo(name, "applied")
        out.delegates.append(found)
    return found


def _delegate_failure(error_lines: List[str]) -> Optional[DelegateFailure]:
    """``Failed to apply X delegate`` and the most specific error line before it."""
    for i, line in enumerate(error_lines):
        found = _APPLY_FAILED.match(line)
        if found:
            before = error_lines[:i + 1]
            specific = [e for e in before if not _GENERIC_ERRORS.match(e)]
            return DelegateFailure(found.group(1), specific[0] if specific else line, before)
    return None


def parse_benchmark_output(text: str) -> BenchmarkOutput:
    """Parse benchmark_model's stdout+stderr (or logcat) text. Never raises on odd input."""
    out = BenchmarkOutput(raw=text)
    stats: List[RunStats] = []
    session_ms: Optional[float] = None
    in_profile = False
    for raw_line in text.splitlines():
        level = _LEVEL.match(_LOGCAT.sub("", raw_line.strip(), count=1))
        line = strip_prefixes(raw_line)
        if not line:
            continue
        if line in _PROFILE_START:
            in_profile = out.has_op_profile = True
            continue
        if in_profile and level is None:  # profile tables: op_profile.parse_op_profile reads them
            continue
        in_profile = False
        stat = _STAT.match(line)
        if stat:
            stats.append(parse_stat_line(stat.group(2), int(stat.group(1))))
            continue
        if _read_timing_or_memory(out, line) or _read_flags_and_delegates(out, line):
            continue
        found = _SESSION.search(line)
        if found:
            session_ms = float(found.group(1))
            continue
        is_error = level is not None and level.group(1) in ("ERROR", "FATAL")
        if is_error or _FAILURE.search(line):
            out.error_lines.append(line)
    if len(stats) >= 2:
        out.warmup, out.runs = stats[-2], stats[-1]
    elif stats:
        out.warmup = stats[0]
    if out.init_us is None and session_ms is not None:
        out.init_us = session_ms * 1000.0
    if out.first_us is None and out.warmup is not None:
        out.first_us = out.warmup.first
    if out.avg_us is None and out.runs is not None:
        out.avg_us = out.runs.avg
    if out.warmup_avg_us is None and out.warmup is not None:
        out.warmup_avg_us = out.warmup.avg
    out.delegate_failure = _delegate_failure(out.error_lines)
    if out.delegate_failure is not None:
        _delegate(out, out.delegate_failure.delegate).status = "failed"
    out.failed = bool(re.search(r"Benchmarking failed", text)) or out.avg_us is None
    return out


def _read_timing_or_memory(out: BenchmarkOutput, line: str) -> bool:
    """The timing summary, model size and memory lines; True when the line is used up."""
    found = _TIMINGS.search(line)
    if found:
        out.init_us, out.first_us, out.warmup_avg_us, out.avg_us = map(float, found.groups())
        return True
    found = _LEGACY.search(line)
    if found:
        out.warmup_avg_us, out.init_us, out.avg_us = map(float, found.groups())
        return True
    found = _SIZE.search(line)
    if found:
        out.model_size_mb = float(found.group(1))
        return True
    found = _MEM_INIT.search(line)
    if found:
        prefix = "peak" if found.group(1).startswith("Peak") else "delta"
        out.memory[f"{prefix}_init_mb"] = float(found.group(2))
        out.memory[f"{prefix}_overall_mb"] = float(found.group(3))
        return True
    found = _MEM_PEAK.search(line)
    if found:
        out.memory["peak_periodic_mb"] = float(found.group(1))
        return True
    found = _MEM_STATUS.search(line)
    if found:
        out.memory[_STATUS_KEYS[found.group(1)]] = float(found.group(2))
        return True
    return False
