"""``convert()``: torch → ONNX → onnx2tf → verified TFLite FP32 (always), FP16 and INT8.

Every output is checked against ``--force`` before the slow work starts, written atomically,
verified against torch before it gets its final name, and described by a report JSON.
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ghostedge._io import check_output_path
from ghostedge._progress import progress
from ghostedge.data.preprocess import Preprocessing, bundled_photos
from ghostedge.errors import GhostEdgeError, MetadataError, UsageError

log = logging.getLogger(__name__)


@dataclass
class ConversionResult:
    """What ``convert`` produced: artifact paths and reports by kind ("onnx", "fp32", ...)."""

    name: str
    output_dir: Path
    artifacts: Dict[str, Path] = field(default_factory=dict)
    reports: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    durations_s: Dict[str, float] = field(default_factory=dict)
    onnx2tf_peak_rss_mb: float = 0.0
    layer_table: Optional[str] = None
    wall_s: Optional[float] = None   # the whole command's wall time (set by the CLI)


def planned_outputs(output_dir: Path, name: str, fp16: bool, int8: bool) -> Dict[str, Path]:
    """Model files of one conversion, by kind (reports sit beside them)."""
    out = {"onnx": output_dir / f"{name}.onnx", "fp32": output_dir / f"{name}.fp32.tflite"}
    if fp16:
        out["fp16"] = output_dir / f"{name}.fp16.tflite"
    if int8:
        out["int8"] = output_dir / f"{name}.int8.tflite"
    return out


def check_outputs(output_dir: Path, name: str, fp16: bool, int8: bool, force: bool) -> Dict[str, Path]:
    """Refuse existing outputs (without ``force``) and unusable folders, before any work.

    The folder is really tried: created if missing and a probe file written and removed there
    (``os.access`` says yes to root on /proc, for example). A folder created only for the probe is
    removed again, so a command that fails before writing a file leaves nothing behind."""
    from ghostedge.convert.report import report_path

    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"Output {output_dir} is a file", "--output must be a folder",
                         "Choose another --output folder")
    probe = output_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise GhostEdgeError(f"Cannot create output folder {output_dir}", f"{probe} is a file",
                             "Choose a writable --output folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise GhostEdgeError(f"Output folder {output_dir} is not writable",
                             f"permission denied on {probe}", "Choose a writable --output folder")
    probe_output_folder(output_dir)
    planned = planned_outputs(output_dir, name, fp16, int8)
    if output_dir.is_dir():
        for kind, path in planned.items():
            check_output_path(path, force)
            check_output_path(report_path(output_dir, name, kind), force)
    return planned


def probe_output_folder(output_dir: Path) -> None:
    """Create ``output_dir`` (if missing), write and remove a probe file, then remove the folders
    this made. Raises GhostEdgeError (one line) when the folder cannot be created or written."""
    output_dir = Path(output_dir)
    missing: List[Path] = []
    p = output_dir.absolute()
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".ghostedge-probe-", dir=output_dir)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        what = (f"Cannot create output folder {output_dir}" if missing
                else f"Output folder {output_dir} is not writable")
        raise GhostEdgeError(what, f"{type(exc).__name__}: {exc.strerror or exc}",
                             "Choose a writable --output folder") from None
    finally:
        for folder in missing:  # deepest first: only folders this probe made, and only if empty
            try:
                folder.rmdir()
            except OSError:
                break


STALE_KINDS = ("fp16", "int8")


def stale_siblings(output_dir: Path, name: str, fp16: bool, int8: bool) -> List[Path]:
    """Files of an earlier run for model ``name`` that this run will not replace:
    ``<name>.fp16.tflite`` / ``<name>.int8.tflite`` and their ``.report.json`` (ghostedge's own
    naming only) when FP16 / INT8 is not asked this time."""
    from ghostedge.convert.report import report_path

    wanted = {"fp16": fp16, "int8": int8}
    found: List[Path] = []
    for kind in STALE_KINDS:
        if wanted[kind]:
            continue
        for path in (Path(output_dir) / f"{name}.{kind}.tflite", report_path(output_dir, name, kind)):
            if path.is_file() or path.is_symlink():
                found.append(path)
    return found


def remove_stale_siblings(output_dir: Path, name: str, fp16: bool, int8: bool) -> List[Path]:
    """With ``--force``: delete :func:`stale_siblings` (so benchmarks and evaluations never mix
    models of two runs), with a warning naming them. Returns the removed paths."""
    stale = stale_siblings(output_dir, name, fp16, int8)
    for path in stale:
        path.unlink()
    if stale:
        log.warning("--force: removed %d older output(s) of %s that this run does not produce "
                    "(they came from an earlier run): %s", len(stale), name,
                    ", ".join(p.name for p in stale))
    return stale


def default_labels(num_classes: int) -> List[str]:
    """ImageNet's 1000 class names (package data) for 1000 classes, else ``class_<i>``."""
    if num_classes == 1000:
        from ghostedge.data.labels import imagenet_class_names

        return list(imagenet_class_names())
    return [f"class_{i}" for i in range(num_classes)]


def _num_classes(model: Any, image_size: int) -> int:
    import torch

    with torch.no_grad():
        return int(model(torch.zeros(1, 3, image_size, image_size)).shape[-1])


def validate_options(image_size: int, int8: bool, int8_io: str, labels: Optional[List[str]]) -> None:
    """Refuse unusable sizes, I/O types and labels before any slow work."""
    from ghostedge.convert.int8_step import INT8_IO_CHOICES

    if image_size < 32 or image_size % 32:
        raise UsageError(f"Image size {image_size} is not supported",
                         "GhostNet downsamples by 32, so the size must be a positive multiple of 32",
                         "Use --image-size 224 (or 160, 192, 256, ...)")
    if int8 and int8_io not in INT8_IO_CHOICES:
        raise UsageError(f"Unknown INT8 I/O type {int8_io!r}", f"choose one of {', '.join(INT8_IO_CHOICES)}")
    if labels is not None and any(not str(x).strip() for x in labels):
        raise MetadataError("The labels contain empty lines", "every class needs a name",
                            "Remove empty lines from the labels file")


def check_label_count(labels: List[str], num_classes: int) -> None:
    """One label per class, else MetadataError with both numbers."""
    if len(labels) != num_classes:
        raise MetadataError(f"The labels have {len(labels)} lines but the model has {num_classes} classes",
                            "a label file needs exactly one line per class",
                            "Pass a labels file with one class name per line")


def convert(model: Any, *, name: str, output_dir: Path, preprocessing: Preprocessing,
            fp16: bool = False, int8: bool = False, calibration: Any = None, int8_io: str = "uint8",
            bare: bool = False, image_size: int = 224, labels: Optional[List[str]] = None,
            force: bool = False, verify_images: Optional[List[Path]] = None,
            source_info: Optional[Dict[str, Any]] = None, explain: bool = False) -> ConversionResult:
    """Convert a torch GhostNet (eval mode) to verified TFLite files in ``output_dir``.

    Writes ``<name>.onnx``, ``<name>.fp32.tflite`` (+ ``.fp16``/``.int8`` when asked) and a
    ``<name>.<kind>.report.json`` beside each. Raises a GhostEdgeError subclass on any failure;
    a model that fails verification is not left behind.
    """
    from ghostedge.convert.artifacts import ArtifactJob, finish_onnx, finish_tflite
    from ghostedge.convert.int8_step import quantize_api, build_int8
    from ghostedge.convert.onnx2tf_runner import run_onnx2tf
    from ghostedge.convert.quiet import captured_stderr
    from ghostedge.convert.verify import build_reference, verification_inputs
    from ghostedge.convert.wrapper import build_export_module, export_onnx

    output_dir = Path(output_dir)
    validate_options(image_size, int8, int8_io, labels)
    check_outputs(output_dir, name, fp16, int8, force)
    if force:
        remove_stale_siblings(output_dir, name, fp16, int8)
    if int8:
        quantize_api()  # a missing quantize module fails now, not after the FP32 work
        if calibration is None:
            raise UsageError("INT8 conversion needs a calibration set", "calibration=None was given",
                             "Build one with ghostedge.quantize.calibration.build_calibration_set")
    result = ConversionResult(name=name, output_dir=output_dir)
    durations = result.durations_s
    model.eval()
    num_classes = _num_classes(model, image_size)
    if labels is None:
        labels = default_labels(num_classes)
    else:
        check_label_count(labels, num_classes)
    images = list(verify_images) if verify_images else bundled_photos()
    module = build_export_module(model, preprocessing, bare=bare)
    names, inputs = verification_inputs(images, preprocessing, image_size, bare)
    reference = build_reference(module, names, inputs, bare)
    kind_text = "bare (normalized input, logits)" if bare else "app-ready (RGB pixels 0..255 in, probabilities out)"
    job = ArtifactJob(name=name, output_dir=output_dir, image_size=image_size, bare=bare, labels=labels,
                      description=f"{name} image classifier, {num_classes} classes, {kind_text}, "
                                  "converted by ghostedge", preprocessing=preprocessing,
                      source_info=dict(source_info or {}), reference=reference, durations_s=durations)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ghostedge-convert-") as tmp_name:
        tmp = Path(tmp_name)
        state: Dict[str, Any] = {}

        def step_onnx() -> None:
            export_onnx(module, tmp / "export.onnx", image_size=image_size, bare=bare)

        def step_keep_onnx() -> None:
            result.artifacts["onnx"], result.reports["onnx"] = finish_onnx(tmp / "export.onnx", job)

        def step_onnx2tf() -> None:
            # -osd (SavedModel with signatures) only when INT8 needs it: it slows onnx2tf down;
            # the .tflite signature is set by ghostedge itself (tflite_graph.name_io).
            state["tf"] = run_onnx2tf(tmp / "export.onnx", tmp / "onnx2tf", saved_model=int8)
            result.onnx2tf_peak_rss_mb = state["tf"].peak_rss_mb

        def step_float(kind: str) -> Callable[[], None]:
            def run() -> None:
                source = state["tf"].fp32 if kind == "fp32" else state["tf"].fp16
                result.artifacts[kind], result.reports[kind] = finish_tflite(kind, source.read_bytes(), job)
            return run

        def step_int8() -> None:
            path, report, table = build_int8(state["tf"].saved_model, calibration, int8_io,
                                             result.artifacts["fp32"], job, explain=explain)
            result.artifacts["int8"], result.reports["int8"], result.layer_table = path, report, table

        steps: List[tuple[str, Callable[[], None]]] = [
            ("export_onnx", step_onnx), ("verify_onnx", step_keep_onnx), ("onnx2tf", step_onnx2tf),
            ("fp32", step_float("fp32"))]
        if fp16:
            steps.append(("fp16", step_float("fp16")))
        if int8:
            steps.append(("int8", step_int8))
        with captured_stderr("tensorflow"):  # C-level TF/LiteRT noise: shown with -v only
            _run_steps(steps, durations)
    durations["total"] = time.perf_counter() - started
    _refresh_durations(result)
    return result


def _run_steps(steps: List[tuple[str, Callable[[], None]]], durations: Dict[str, float]) -> None:
    """Run the conversion steps in order, timing each; tool failures become one-line errors."""
    for step_name, func in progress(steps, total=len(steps), desc="convert", unit="step"):
        t0 = time.perf_counter()
        log.info("step %s", step_name)
        try:
            func()
        except GhostEdgeError:
            raise
        except Exception as exc:  # keep the one-line contract for tool failures
            from ghostedge.errors import ConversionError

            detail = str(exc).strip().splitlines()
            raise ConversionError(f"Conversion step {step_name} failed",
                                  f"{type(exc).__name__}: {detail[-1] if detail else 'no message'}",
                                  "Rerun with --debug for the traceback and report it") from exc
        durations[step_name] = time.perf_counter() - t0


def _refresh_durations(result: ConversionResult) -> None:
    """Put the final per-step durations into every report (files written during the run had
    only the steps finished by then)."""
    from ghostedge._io import atomic_write_json
    from ghostedge.convert.report import report_path

    for kind, report in result.reports.items():
        report["durations_s"] = {**{k: round(v, 3) for k, v in result.durations_s.items()},
                                 **{k: v for k, v in report["durations_s"].items() if k.endswith("_write_verify")}}
        report["onnx2tf_peak_rss_mb"] = round(result.onnx2tf_peak_rss_mb, 1)
        atomic_write_json(report_path(result.output_dir, result.name, kind), report)
