"""Typed results of ``ghostedge check`` (``to_dict()`` is what ``--json`` prints and what the
model report's ``arm64`` section holds) and their table rendering."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

SCHEMA = "ghostedge.armcheck/1"


@dataclass
class RunRow:
    """One model on one emulated core, thread count, runtime and mode."""

    core: str
    threads: int
    runtime: str                   # e.g. "LiteRT 2.1.0", "tflite-runtime 2.14.0"
    mode: str                      # "default" or "xnnpack-fp16" (FP16 arithmetic forced)
    role: str                      # "checked" (can fail the model) or "reported"
    load_ok: bool
    error: Optional[str] = None
    compared_on: str = "all inputs"
    samples: int = 0
    max_abs_diff: Optional[float] = None
    identical: Optional[bool] = None
    top1_agree: Optional[int] = None
    top5_agree: Optional[int] = None
    int8: Optional[Dict[str, Any]] = None   # QuantizedDiff.to_dict() for integer outputs
    delegation: Optional[Dict[str, Any]] = None
    load_s: Optional[float] = None
    invoke_s: Optional[float] = None        # median per input, under emulation
    problem: Optional[str] = None           # why it fails its rule (checked) or differs (reported)
    note: str = ""

    @property
    def refused(self) -> bool:
        """A forced-FP16 run that the core cannot do (no ARMv8.2 FP16 arithmetic)."""
        return self.mode == "xnnpack-fp16" and not self.load_ok and "no FP16 arithmetic" in self.note

    @property
    def passed(self) -> Optional[bool]:
        """True/False for checked rows, None for reported ones."""
        if self.role != "checked":
            return None
        return self.load_ok and self.problem is None

    def verdict(self) -> str:
        if self.role == "checked":
            return "pass" if self.passed else "FAIL"
        if not self.load_ok:
            return "refused" if self.refused else "no load"
        return "differs" if self.problem else "within"

    def to_dict(self) -> Dict[str, Any]:
        d = dict(self.__dict__)
        d["passed"] = self.passed
        return d


@dataclass
class ModelCheck:
    """Everything ``check`` found about one model."""

    model: str
    precision: str                 # "fp32" / "fp16" / "int8"
    rule: str
    reference: str
    inputs: List[str]
    inputs_description: str
    rows: List[RunRow] = field(default_factory=list)
    custom_ops: List[str] = field(default_factory=list)
    x86_delegation: Optional[Dict[str, Any]] = None
    reference_error: Optional[str] = None
    problems: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    time_s: float = 0.0
    report: Optional[str] = None

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed is not False for r in self.rows)

    def to_dict(self) -> Dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "rows"}
        d["passed"] = self.passed
        d["rows"] = [r.to_dict() for r in self.rows]
        return d


@dataclass
class ArmCheckResult:
    """The result of :func:`ghostedge.armcheck.check_models`."""

    arch: str
    cores: Dict[str, str]          # core -> what it emulates
    threads: List[int]
    runtime: Dict[str, Any]        # Runtime.to_dict(): path, size, versions, setup time
    models: List[ModelCheck]
    guest_processes: int = 0
    wall_s: float = 0.0
    host: Dict[str, Any] = field(default_factory=dict)  # the x86 CPU the reference ran on

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.models)

    @property
    def failed(self) -> List[ModelCheck]:
        return [m for m in self.models if not m.passed]

    def to_dict(self) -> Dict[str, Any]:
        return {"schema": SCHEMA, "arch": self.arch, "passed": self.passed, "cores": self.cores,
                "threads": self.threads, "runtime": self.runtime, "host": self.host,
                "guest_processes": self.guest_processes, "wall_s": round(self.wall_s, 2),
                "models": [m.to_dict() for m in self.models]}

    def section(self, model: ModelCheck, checked_at: str) -> Dict[str, Any]:
        """The model report's ``arm64`` (or ``armv7``) section for ``model``."""
        d = model.to_dict()
        d.pop("report", None)
        d["model"] = Path(model.model).name
        return {"schema": SCHEMA, "arch": self.arch, "checked_at": checked_at, "passed": model.passed,
                "cores": self.cores, "threads": self.threads,
                "runtime_versions": self.runtime.get("versions", {}), "reference_host": self.host, **d}

    def render(self) -> str:
        """One table per model, then the verdict and the times."""
        return format_result(self)


def _fmt_diff(row: RunRow) -> str:
    if row.max_abs_diff is None:
        return "-"
    return "0" if row.max_abs_diff == 0 else f"{row.max_abs_diff:.1e}"


def _fmt_steps(row: RunRow) -> str:
    if row.int8 is None:
        return "-"
    if not row.int8["differing"]:
        return "0"
    return f"{row.int8['max_steps']} ({row.int8['differing']} val)"


def _fmt_top(row: RunRow) -> str:
    if row.top5_agree is None:
        return "-"
    text = f"{row.top5_agree}/{row.samples}"
    return text + " photos" if row.compared_on == "photos" else text


def _row_cells(row: RunRow) -> List[str]:
    runtime = row.runtime + (", forced FP16" if row.mode == "xnnpack-fp16" else "")
    time_s = "-" if row.invoke_s is None else f"{row.invoke_s:.3f}"
    return [row.core, str(row.threads), runtime, _fmt_diff(row), _fmt_top(row), _fmt_steps(row),
            "ok" if row.load_ok else ("no" if row.role == "reported" else "FAILED"), time_s,
            row.verdict()]


HEADERS = ["core", "threads", "runtime", "max diff", "top-5", "INT8 steps", "load", "invoke s", "result"]


def table(rows: List[List[str]], headers: List[str] = HEADERS) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [headers, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_model(m: ModelCheck) -> str:
    verdict = "PASS" if m.passed else "FAIL"
    lines = [f"{m.model}  [{m.precision.upper()}]  {verdict}",
             f"  rule: {m.rule}; reference: {m.reference} (1 thread)",
             f"  inputs: {m.inputs_description}"]
    if m.rows:
        lines += ["  " + ln for ln in table([_row_cells(r) for r in m.rows]).splitlines()]
    deleg = [r for r in m.rows if r.delegation and r.mode == "default" and r.role == "checked"]
    if deleg:
        arm = deleg[0].delegation["summary"]
        x86 = m.x86_delegation["summary"] if m.x86_delegation else "unknown"
        lines.append(f"  XNNPACK on ARM: {arm} (x86: {x86})")
    for problem in m.problems:
        lines.append(f"  problem: {problem}")
    for note in m.notes:
        lines.append(f"  note: {note}")
    lines.append(f"  checked in {m.time_s:.1f} s (emulated runs and x86 reference)")
    return "\n".join(lines)


def format_result(res: ArmCheckResult) -> str:
    parts = [format_model(m) for m in res.models]
    rt = res.runtime
    state = "built now" if rt.get("built_now") else "cached"
    versions = rt.get("versions", {})
    stack = ", ".join(f"{k} {v}" for k, v in versions.items() if k not in ("machine",) and v)
    failed = res.failed
    verdict = ("PASSED" if res.passed else
               f"FAILED ({len(failed)} of {len(res.models)} models: {', '.join(m.model for m in failed)})")
    parts.append(f"{res.arch} check {verdict}: {len(res.models)} model(s) on "
                 f"{', '.join(res.cores)} x threads {', '.join(map(str, res.threads))}, "
                 f"{res.guest_processes} emulated process(es)\n"
                 f"runtime: {state} in {rt.get('setup_s', 0):.1f} s, {rt.get('size_mb', 0):.0f} MB at "
                 f"{rt.get('path')} ({stack})\n"
                 f"total wall time: {res.wall_s:.1f} s. Times under emulation say nothing about phone "
                 f"latency; use `ghostedge bench` on a phone for that.")
    return "\n\n".join(parts)
