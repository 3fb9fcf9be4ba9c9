"""``check_models``: run models on ARM code (LiteRT's ARM build under qemu-user) and compare
with what x86 LiteRT computes for the same inputs."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ghostedge.armcheck import compare
from ghostedge.armcheck.errors import ArmCheckError
from ghostedge.armcheck.fetch import Sources
from ghostedge.armcheck.inputs import input_detail, model_inputs, x86_reference
from ghostedge.armcheck.result import ArmCheckResult
from ghostedge.armcheck.runner import check_guest_paths, run_guest, terminate_as_interrupt
from ghostedge.armcheck.sysroot import prepare_runtime
from ghostedge.armcheck.targets import arch_spec, core_spec
from ghostedge.armcheck.verdicts import PreparedModel, Rules, model_check
from ghostedge.progress import progress

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]


def check_models(models: Sequence[PathArg], arch: str = "arm64", cache_dir: Optional[PathArg] = None,
                 cores: Optional[Sequence[str]] = None, threads: Sequence[int] = (1, 2),
                 runtimes: Optional[Sequence[str]] = None, force_fp16: bool = True,
                 photos: bool = True, random_inputs: int = 3, update_reports: bool = True,
                 tolerance: float = compare.FLOAT_TOLERANCE, int8_max_steps: int = compare.INT8_MAX_STEPS,
                 idle_timeout_s: float = 900.0, sources: Optional[Sources] = None) -> ArmCheckResult:
    """Run each model under qemu on the emulated ``cores`` (default for arm64: cortex-a76 with
    the Snapdragon 855 big core's identity, and cortex-a53) at each thread count, with every
    runtime (arm64: LiteRT and tflite-runtime), and compare with x86 LiteRT. The runtime is
    prepared once in the ghostedge cache. Float models pass within ``tolerance`` (max abs
    difference of probabilities) with the same top-5; INT8 models when identical or at most
    ``int8_max_steps`` quantization steps apart with the same top-5. With ``update_reports``
    each model's report gets an ``arm64`` (``armv7``) section. Check ``.passed``; raises
    ArmCheckError/ArmSetupError only when the check cannot run at all."""
    t0 = time.perf_counter()
    spec = arch_spec(arch)
    core_specs = [core_spec(c, spec.name) for c in (cores or spec.default_cores)]
    threads = _threads(threads)
    runtimes = list(runtimes or spec.runtimes)
    bad = [r for r in runtimes if r not in spec.runtimes]
    if bad or not runtimes:
        raise ArmCheckError(f"Runtime {', '.join(bad) or '(none)'} is not available for {spec.name}",
                            f"available: {', '.join(spec.runtimes)}", "Choose from those")
    paths = _validated(models)
    with terminate_as_interrupt():
        runtime = prepare_runtime(spec.name, cache_dir, sources)
        work = Path(tempfile.mkdtemp(prefix="ghostedge-check-"))
        try:
            check_guest_paths([work], runtime.sysroot)
            prepared = [_prepare(i, p, work, photos, random_inputs) for i, p in enumerate(paths)]
            tasks = plan_tasks(prepared, runtimes, threads, force_fp16 and "litert" in runtimes, work)
            results: Dict[tuple, Dict[str, Any]] = {}
            versions: Dict[str, Any] = {}
            processes = 0
            for core in progress(core_specs, total=len(core_specs), desc=f"{spec.name} check", unit="core"):
                log.info("running %d task(s) on emulated %s", len(tasks), core.name)
                core_tasks = [dict(t, output=t["output"].replace("{core}", core.name)) for t in tasks]
                outcome = run_guest(runtime, core, core_tasks, work, idle_timeout_s)
                processes += outcome.processes
                versions = versions or outcome.versions
                for tid, res in outcome.results.items():
                    results[(core.name, tid)] = res
            rules = Rules(spec.name, float(tolerance), int(int8_max_steps))
            checks = [model_check(i, m, tasks, results, core_specs, versions, rules)
                      for i, m in enumerate(prepared)]
        finally:
            shutil.rmtree(work, ignore_errors=True)
    info = runtime.to_dict()
    # what the guest itself reported (its "litert" is the "ai-edge-litert" distribution)
    info["versions"].update({("ai-edge-litert" if k == "litert" else k): v for k, v in versions.items() if v})
    result = ArmCheckResult(spec.name, {c.name: c.label for c in core_specs}, threads, info, checks,
                            processes, time.perf_counter() - t0, host_cpu())
    if update_reports:
        _write_sections(result, paths)
    return result


def _threads(threads: Sequence[int]) -> List[int]:
    out = []
    for t in threads:
        if isinstance(t, bool) or not isinstance(t, int) or t < 1:
            raise ArmCheckError(f"Invalid thread count {t!r}", "threads are whole numbers >= 1",
                                "Pass e.g. --threads 1 2")
        if t not in out:
            out.append(t)
    if not out:
        raise ArmCheckError("No thread counts given", "at least one is needed", "Pass e.g. --threads 1 2")
    return out


def _validated(models: Sequence[PathArg]) -> List[Path]:
    """Every model verified (structure of the whole flatbuffer) before any setup or runtime sees it."""
    from ghostedge.tflite import read_model

    models = [models] if isinstance(models, (str, os.PathLike)) else list(models)
    if not models:
        raise ArmCheckError("No models to check", "no .tflite file was given", "Pass MODEL.tflite ...")
    for m in models:
        read_model(Path(m))
    return [Path(m) for m in models]


def _prepare(index: int, source: Path, work: Path, photos: bool, random_inputs: int) -> PreparedModel:
    from ghostedge.model_report import find_report, identity_for
    from ghostedge.tflite import read_model

    t0 = time.perf_counter()
    folder = work / f"model-{index}"
    folder.mkdir()
    # the runtimes read this copy, verified again: what they load is what was verified
    copy = Path(shutil.copy2(source, folder / source.name))
    parsed = read_model(copy)
    ops = [name.split(":", 1)[-1] for name in parsed.custom_ops()]
    report = find_report(source)
    inputs = model_inputs(input_detail(parsed), report, photos, random_inputs)
    np.save(folder / "inputs.npy", inputs.array, allow_pickle=False)
    reference = x86_reference(copy, inputs)
    precision = identity_for(source, report).precision
    if precision is None:
        out_int = reference.outputs is not None and reference.outputs.dtype.kind in "iu"
        precision = "int8" if out_int or inputs.array.dtype.kind in "iu" else "fp32"
    logits = report.app_ready is False if report is not None and report.app_ready is not None else \
        _looks_like_logits(reference.outputs)
    return PreparedModel(source, copy, precision, precision == "int8", logits, inputs, reference, ops,
                         time.perf_counter() - t0)


def _looks_like_logits(outputs: Optional[np.ndarray]) -> bool:
    if outputs is None or outputs.dtype.kind in "iu":
        return False
    y = outputs.reshape(len(outputs), -1).astype(np.float64)
    return bool(y.min() < 0 or np.abs(y.sum(axis=-1) - 1).max() > 1e-3)


def plan_tasks(models: List[PreparedModel], runtimes: List[str], threads: List[int], fp16: bool,
               work: Path) -> List[Dict[str, Any]]:
    """The guest's work list (the same on every core): the first runtime at every thread count,
    the others at the first; forced FP16 (float models) at the first thread count, on the photos."""
    tasks: List[Dict[str, Any]] = []

    def add(m: int, runtime: str, t: int, mode: str, limit: Optional[int] = None) -> None:
        folder = work / f"model-{m}"
        tasks.append({"id": len(tasks), "model_index": m, "model": str(models[m].copy),
                      "inputs": str(folder / "inputs.npy"), "runtime": runtime, "threads": t,
                      "mode": mode, "ops": True, "limit": limit,
                      "output": f"{folder}/out-{{core}}-{runtime}-t{t}-{mode}.npy"})

    for m, model in enumerate(models):
        for r, runtime in enumerate(runtimes):
            for t in (threads if r == 0 else threads[:1]):
                add(m, runtime, t, "default")
        if fp16 and not model.exact:  # its fidelity is judged on the photos (top-k of real images)
            add(m, "litert", threads[0], "xnnpack-fp16", model.inputs.photos or None)
    return tasks


def host_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> Dict[str, Any]:
    """The x86 CPU the reference ran on: XNNPACK's float kernels differ between AVX2 and AVX-512."""
    import platform

    info: Dict[str, Any] = {"machine": platform.machine()}
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return info
    fields = dict(line.split(":", 1) for line in text.splitlines()[:40] if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    info["cpu"] = fields.get("model name", "")
    info["isa"] = next((isa for isa, flag in (("AVX-512", "avx512f"), ("AVX2", "avx2"), ("AVX", "avx"))
                        if flag in flags), "SSE")
    return info


def _write_sections(result: ArmCheckResult, sources: List[Path]) -> None:
    from ghostedge.errors import GhostEdgeError
    from ghostedge.model_report import add_section

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    for model, path in zip(result.models, sources):
        try:
            written = add_section(path, result.arch, result.section(model, stamp))
        except (GhostEdgeError, OSError, ValueError) as exc:
            log.warning("could not add the %s section to the report of %s: %s", result.arch, path, exc)
            continue
        model.report = str(written) if written else None
