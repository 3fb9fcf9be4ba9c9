"""Verdicts: each emulated run becomes a table row judged by the comparator's rules, and a model's
rows become its problems (what fails it) and notes (what is reported)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from ghostedge.armcheck import compare
from ghostedge.armcheck.inputs import ModelInputs, Reference
from ghostedge.armcheck.result import ModelCheck, RunRow
from ghostedge.armcheck.targets import CoreSpec

RUNTIME_NAMES = {"litert": "LiteRT", "tflite-runtime": "tflite-runtime"}


@dataclass
class PreparedModel:
    """A model ready to check: its verified copy, inputs and x86 reference."""

    source: Path
    copy: Path
    precision: str
    exact: bool
    logits: bool
    inputs: ModelInputs
    reference: Reference
    custom_ops: List[str]
    host_s: float


@dataclass(frozen=True)
class Rules:
    """What a run must meet: the float tolerance and INT8 step limit, per guest arch."""

    arch: str
    tolerance: float
    int8_max_steps: int

    def describe(self, exact: bool) -> str:
        if not exact:
            return f"max abs diff of probabilities <= {self.tolerance:g} and the same top-5"
        if self.int8_max_steps == 0:
            return "bit-exact outputs (INT8)"
        return (f"INT8 outputs identical, or at most {self.int8_max_steps} quantization step(s) apart "
                "with the same top-5")


def model_check(index: int, m: PreparedModel, tasks: List[Dict[str, Any]],
                results: Dict[tuple, Dict[str, Any]], cores: List[CoreSpec], versions: Dict[str, Any],
                rules: Rules) -> ModelCheck:
    """Model ``index``'s rows (its tasks on every core), problems and notes."""
    rule = rules.describe(m.exact)
    check = ModelCheck(str(m.source), m.precision, rule, m.reference.runtime, m.inputs.names,
                       m.inputs.description, custom_ops=m.custom_ops,
                       reference_error=m.reference.error)
    if m.reference.ops:
        check.x86_delegation = compare.delegation(m.reference.ops).to_dict()
    guest_s = 0.0
    for core in cores:
        for task in (t for t in tasks if t["model_index"] == index):
            res = results.get((core.name, task["id"]), {"ok": False, "stage": "start", "error": "no result"})
            row = row_for(core, task, res, m, versions, rules)
            guest_s += (row.load_s or 0) + sum(res.get("invoke_s") or [])
            check.rows.append(row)
    check.time_s = round(m.host_s + guest_s, 2)
    summarize(check, m)
    return check


def row_for(core: CoreSpec, task: Dict[str, Any], res: Dict[str, Any], m: PreparedModel,
            versions: Dict[str, Any], rules: Rules) -> RunRow:
    """One task's guest result, compared with the x86 reference and judged."""
    runtime = task["runtime"]
    name = f"{RUNTIME_NAMES[runtime]} {versions.get(runtime) or ''}".strip()
    fp16 = task["mode"] == "xnnpack-fp16"
    role = "reported" if fp16 or (runtime != "litert" and rules.arch == "arm64") else "checked"
    loaded = res.get("stage") in ("invoke", "done")
    row = RunRow(core.name, int(task["threads"]), name, task["mode"], role, loaded,
                 error=res.get("error"), load_s=res.get("load_s"))
    times = res.get("invoke_s") or []
    row.invoke_s = round(statistics.median(times), 4) if times else None
    if res.get("ops") and not fp16:
        row.delegation = compare.delegation(res["ops"]).to_dict()
    if fp16 and not loaded and not core.fp16_arithmetic:
        row.note = f"{core.name} has no FP16 arithmetic: XNNPACK refuses forced FP16"
    if not res.get("ok") or m.reference.outputs is None:
        return row
    out = Path(task["output"].replace("{core}", core.name))
    try:
        arm = np.load(out, allow_pickle=False)
        ref, names = m.reference.outputs, m.inputs.names
        if task.get("limit"):
            ref, names = ref[:task["limit"]], names[:task["limit"]]
            row.compared_on = "photos"
        cmp = compare.compare_outputs(ref, arm, m.reference.output_quantization, m.logits, names)
    except (OSError, ValueError) as exc:
        row.problem = f"cannot compare the outputs: {exc}"
        return row
    row.samples, row.max_abs_diff, row.identical = cmp.samples, cmp.max_abs_diff, cmp.identical
    row.top1_agree, row.top5_agree = cmp.top1_agree, cmp.top5_agree
    row.int8 = cmp.quantized.to_dict() if cmp.quantized else None
    row.problem = compare.judge(cmp, m.exact and not fp16, rules.tolerance, rules.int8_max_steps)
    if m.exact and runtime != "litert" and row.problem and row.role == "checked":
        # tflite-runtime is the only armv7 runtime; its INT8 kernels differ from LiteRT's (reported)
        row.note, row.problem = f"{row.problem} (tflite-runtime's INT8 kernels; reported, not a failure)", None
    elif m.exact and row.problem is None and not cmp.identical and cmp.quantized:
        q = cmp.quantized
        inputs = sorted({v["input"] for v in q.listed})
        row.note = (f"{q.differing} of {q.values} values {q.max_steps} step from x86 ({', '.join(inputs)}): "
                    "rounding ties resolved by another kernel; within the rule")
    return row


def _where(rows: List[RunRow]) -> str:
    cores = sorted({r.core for r in rows})
    threads = sorted({r.threads for r in rows})
    return f"{', '.join(cores)}; {'/'.join(map(str, threads))} thread(s)"


def _group(rows: List[RunRow], text: Any) -> Dict[str, List[RunRow]]:
    groups: Dict[str, List[RunRow]] = {}
    for r in rows:
        groups.setdefault(text(r), []).append(r)
    return groups


def summarize(check: ModelCheck, m: PreparedModel) -> None:
    custom = ", ".join(check.custom_ops)
    flex = any(op.startswith("Flex") for op in check.custom_ops)
    hint = (f" (the model uses custom op(s) {custom}, which the runtime has no kernel for"
            + ("; Flex ops need TensorFlow's Select-ops runtime, which phones' default LiteRT lacks"
               if flex else "") + ")") if custom else ""
    checked = [r for r in check.rows if r.role == "checked"]
    for err, rows in _group([r for r in checked if not r.load_ok or r.error], lambda r: r.error or "").items():
        check.problems.append(f"ARM {rows[0].runtime} failed ({_where(rows)}): {err}{hint}")
    for prob, rows in _group([r for r in checked if r.load_ok and r.problem], lambda r: r.problem).items():
        check.problems.append(f"ARM {rows[0].runtime} ({_where(rows)}): {prob}")
    if m.reference.error:
        either = " either" if any(not r.load_ok for r in checked) else " (nothing to compare with)"
        check.problems.append(f"{m.reference.runtime} cannot load it{either}: {m.reference.error}")
    for note, rows in _group([r for r in checked if r.note], lambda r: r.note).items():
        check.notes.append(f"ARM {rows[0].runtime} ({_where(rows)}): {note}")
    reported = [r for r in check.rows if r.role == "reported"]
    for r in (r for r in reported if r.mode == "xnnpack-fp16" and r.max_abs_diff is not None):
        check.notes.append(f"forced FP16 arithmetic on {r.core} ({r.threads} thread(s)): max diff "
                           f"{r.max_abs_diff:.2g} from FP32 arithmetic, top-1 {r.top1_agree}/{r.samples}, "
                           f"top-5 {r.top5_agree}/{r.samples} on the {r.compared_on} (reported)")

    def what(r: RunRow) -> str:
        return "forced FP16 arithmetic" if r.mode == "xnnpack-fp16" else r.runtime

    for text, rows in _group([r for r in reported if not r.load_ok or (r.problem and r.mode == "default")],
                             lambda r: f"{what(r)}: {r.note or r.error or r.problem}").items():
        check.notes.append(f"{text} ({_where(rows)}; reported, not a failure)")
    x86 = check.x86_delegation
    for r in checked:
        if x86 and r.delegation and r.delegation["delegated"] < x86["delegated"]:
            check.notes.append(f"XNNPACK on {r.core} took fewer operators than on x86: "
                               f"{r.delegation['summary']} (x86: {x86['summary']})")
            break
