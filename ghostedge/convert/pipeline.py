"""``convert_torch_model()``: torch → ONNX → onnx2tf → verified TFLite FP32 (always), FP16, INT8.

Every output is checked against ``force`` before the slow work starts, written atomically,
verified against torch before it gets its final name, and described by one ``ModelReport``
written once — at the end, or for the finished artifacts when a later step fails.
"""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ghostedge.convert.outputs import check_outputs, remove_stale_siblings
from ghostedge.data.labels import default_labels, validate_labels
from ghostedge.data.preprocess import Preprocessing, bundled_photos
from ghostedge.errors import ConversionError, GhostEdgeError, MetadataError, UsageError
from ghostedge.model_report import ArtifactNames, ModelReport
from ghostedge.progress import progress
from ghostedge.quantize.options import Int8Options

log = logging.getLogger(__name__)


@dataclass
class ConversionResult:
    """What a conversion produced: artifact paths and reports by kind ("onnx", "fp32", ...)."""

    name: str
    output_dir: Path
    artifacts: Dict[str, Path] = field(default_factory=dict)
    reports: Dict[str, ModelReport] = field(default_factory=dict)
    durations_s: Dict[str, float] = field(default_factory=dict)
    onnx2tf_peak_rss_mb: float = 0.0
    layer_table: Optional[str] = None
    wall_s: Optional[float] = None   # the whole call's wall time, model loading included
    arm64: Optional[Any] = None      # ghostedge.armcheck result with check_arm64=True

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge convert --json`` prints."""
        data: Dict[str, Any] = {
            "output_dir": str(self.output_dir),
            "wall_s": round(self.wall_s, 3) if self.wall_s is not None else None,
            "artifacts": {k: str(v) for k, v in self.artifacts.items()},
            "durations_s": {k: round(v, 3) for k, v in self.durations_s.items()},
            "onnx2tf_peak_rss_mb": round(self.onnx2tf_peak_rss_mb, 1),
            "reports": {k: r.to_dict() for k, r in self.reports.items()}}
        if self.arm64 is not None:
            data["arm64"] = self.arm64.to_dict()
        return data


def validate_options(image_size: int, labels: Optional[List[str]]) -> None:
    """Refuse unusable sizes and labels before any slow work."""
    if not isinstance(image_size, int) or image_size < 32 or image_size % 32 or image_size > 2048:
        raise UsageError(f"Image size {image_size} is not supported",
                         "GhostNet downsamples by 32, so the size must be a multiple of 32 from 32 to 2048",
                         "Use --image-size 224 (or 160, 192, 256, ...)")
    if labels is not None and any(not str(x).strip() for x in labels):
        raise MetadataError("The labels contain empty lines", "every class needs a name",
                            "Remove empty lines from the labels file")


def convert_torch_model(model: Any, *, name: str, output_dir: Path, preprocessing: Preprocessing,
                        fp16: bool = False, int8: Optional[Int8Options] = None, calibration: Any = None,
                        bare: bool = False, image_size: int = 224, labels: Optional[List[str]] = None,
                        force: bool = False, verify_images: Optional[List[Path]] = None,
                        source_info: Optional[Dict[str, Any]] = None) -> ConversionResult:
    """Convert a torch GhostNet (eval mode) to verified TFLite files in ``output_dir``.

    Writes ``<name>.onnx``, ``<name>.fp32.tflite`` (+ ``.fp16``/``.int8`` when asked) and a
    ``<name>.<kind>.report.json`` beside each. Raises a GhostEdgeError subclass on any failure;
    a model that fails verification is not left behind.
    """
    from ghostedge.convert.artifacts import ArtifactJob
    from ghostedge.convert.verify import build_reference, verification_inputs
    from ghostedge.convert.wrapper import build_export_module

    names = ArtifactNames(Path(output_dir), name)
    validate_options(image_size, labels)
    check_outputs(names, fp16, int8 is not None, force)
    if int8 is not None and calibration is None:
        raise UsageError("INT8 conversion needs a calibration set", "calibration=None was given",
                         "Build one with ghostedge.quantize.calibration.build_calibration_set")
    if force:
        remove_stale_siblings(names, fp16, int8 is not None)
    result = ConversionResult(name=name, output_dir=names.output_dir)
    from ghostedge.models.ghostnet import output_classes

    model.eval()
    num_classes = output_classes(model, image_size)
    labels = (default_labels(num_classes) if labels is None
              else validate_labels(labels, num_classes, "labels", MetadataError))
    _check_space(model, names.output_dir, fp16, int8 is not None)
    images = list(verify_images) if verify_images else bundled_photos()
    module = build_export_module(model, preprocessing, bare=bare)
    inputs = verification_inputs(images, preprocessing, image_size, bare)
    kind_text = "bare (normalized input, logits)" if bare else "app-ready (RGB pixels 0..255 in, probabilities out)"
    job = ArtifactJob(names=names, image_size=image_size, bare=bare, labels=labels,
                      description=f"{name} image classifier, {num_classes} classes, {kind_text}, "
                                  "converted by ghostedge", preprocessing=preprocessing,
                      source_info=dict(source_info or {}), reference=build_reference(module, *inputs, bare))
    started = time.perf_counter()
    try:
        _convert_steps(result, job, module, fp16, int8, calibration)
    except BaseException:
        result.durations_s["total"] = time.perf_counter() - started
        try:  # keep the finished artifacts described; never mask the error that stopped us
            _write_reports(result, job)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not write the reports of the finished models: %s", exc)
        raise
    result.durations_s["total"] = time.perf_counter() - started
    _write_reports(result, job)
    return result


def _check_space(model: Any, output_dir: Path, fp16: bool, int8: bool) -> None:
    """Refuse to start when the output folder (or the temporary folder onnx2tf works in) cannot
    hold what this conversion writes: the .onnx and FP32 files take about 4 bytes per parameter,
    FP16 2, INT8 1; onnx2tf's working copies (SavedModel, its own .tflite files) about 4 times that."""
    from ghostedge.fileio import check_free_space

    weights = 4 * sum(int(p.numel()) for p in model.parameters())
    needed = int(weights * (2 + 0.5 * fp16 + 0.25 * int8) * 1.1) + (1 << 20)
    check_free_space(output_dir, needed, "the converted models")
    check_free_space(tempfile.gettempdir(), 4 * weights + (16 << 20), "onnx2tf's working files")


def _convert_steps(result: ConversionResult, job: Any, module: Any, fp16: bool,
                   int8: Optional[Int8Options], calibration: Any) -> None:
    from ghostedge.convert.artifacts import finish_onnx, finish_tflite
    from ghostedge.convert.int8_step import build_int8
    from ghostedge.convert.onnx2tf_runner import run_onnx2tf
    from ghostedge.convert.wrapper import export_onnx
    from ghostedge.stderr_capture import captured_stderr

    with tempfile.TemporaryDirectory(prefix="ghostedge-convert-") as tmp_name:
        tmp = Path(tmp_name)
        state: Dict[str, Any] = {}

        def step_onnx() -> None:
            export_onnx(module, tmp / "export.onnx", image_size=job.image_size, bare=job.bare)

        def step_keep_onnx() -> None:
            result.artifacts["onnx"], result.reports["onnx"] = finish_onnx(tmp / "export.onnx", job)

        def step_onnx2tf() -> None:
            # -osd (SavedModel with signatures) only when INT8 needs it: it slows onnx2tf down;
            # the .tflite signature is set by ghostedge itself (ghostedge.tflite.edit.name_io).
            state["tf"] = run_onnx2tf(tmp / "export.onnx", tmp / "onnx2tf", saved_model=int8 is not None)
            result.onnx2tf_peak_rss_mb = state["tf"].peak_rss_mb

        def step_float(kind: str) -> Callable[[], None]:
            def run() -> None:
                source = state["tf"].fp32 if kind == "fp32" else state["tf"].fp16
                result.artifacts[kind], result.reports[kind] = finish_tflite(kind, source.read_bytes(), job)
            return run

        def step_int8() -> None:
            path, report, table = build_int8(state["tf"].saved_model, calibration, int8,
                                             result.artifacts["fp32"], job)
            result.artifacts["int8"], result.reports["int8"], result.layer_table = path, report, table

        steps: List[tuple[str, Callable[[], None]]] = [
            ("export_onnx", step_onnx), ("verify_onnx", step_keep_onnx), ("onnx2tf", step_onnx2tf),
            ("fp32", step_float("fp32"))]
        if fp16:
            steps.append(("fp16", step_float("fp16")))
        if int8 is not None:
            steps.append(("int8", step_int8))
        with captured_stderr("tensorflow"):  # C-level TF/LiteRT noise: shown with -v only
            _run_steps(steps, result.durations_s, job.names.output_dir)


def _run_steps(steps: List[tuple[str, Callable[[], None]]], durations: Dict[str, float],
               output_dir: Path) -> None:
    """Run the conversion steps in order, timing each; tool failures become one-line errors."""
    from ghostedge.fileio import os_error

    for step_name, func in progress(steps, total=len(steps), desc="convert", unit="step"):
        t0 = time.perf_counter()
        log.info("step %s", step_name)
        try:
            func()
        except GhostEdgeError:
            raise
        except OSError as exc:  # disk full, name too long, permissions: the user's to fix
            raise os_error(exc, f"Conversion step {step_name} could not write its files",
                           output_dir) from exc
        except Exception as exc:  # keep the one-line contract for tool failures
            detail = str(exc).strip().splitlines()
            raise ConversionError(f"Conversion step {step_name} failed",
                                  f"{type(exc).__name__}: {detail[-1] if detail else 'no message'}",
                                  "Rerun with --debug for the traceback and report it") from exc
        durations[step_name] = time.perf_counter() - t0


def _write_reports(result: ConversionResult, job: Any) -> None:
    """Write the report of every finished artifact, once, with the final durations."""
    steps = {k: round(v, 3) for k, v in result.durations_s.items()}
    from ghostedge.fileio import os_error

    for kind, report in result.reports.items():
        own = f"{kind}_write_verify"
        report.durations_s = {**steps, **({own: round(job.write_seconds[own], 3)}
                                          if own in job.write_seconds else {})}
        report.onnx2tf_peak_rss_mb = round(result.onnx2tf_peak_rss_mb, 1)
        try:
            report.dump(job.names.report(kind))
        except OSError as exc:
            raise os_error(exc, f"Cannot write the report of {job.names.model(kind).name}",
                           job.names.output_dir) from exc
