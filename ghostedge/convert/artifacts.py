"""One artifact, start to finish: name the I/O → check the graph → (optional) metadata →
atomic write with verification before the rename → report. Nothing unverified is left behind:
a model that fails verification never reaches its final name."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ghostedge._io import atomic_path, atomic_write_json
from ghostedge.errors import ConversionError

log = logging.getLogger(__name__)


@dataclass
class ArtifactJob:
    """What is shared by every artifact of one conversion."""

    name: str
    output_dir: Path
    image_size: int
    bare: bool
    labels: List[str]
    description: str
    preprocessing: Any
    source_info: Dict[str, Any]
    reference: Any  # verify.Reference
    durations_s: Dict[str, float] = field(default_factory=dict)


def add_metadata_if_available(model_bytes: bytes, job: ArtifactJob, input_dtype: str) -> tuple[bytes, bool]:
    """Call ``ghostedge.appexport.metadata.add_metadata`` when that module exists (labels,
    normalization, names for MediaPipe / the Task Library); else return the bytes unchanged."""
    try:
        from ghostedge.appexport.metadata import add_metadata
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("ghostedge.appexport"):
            log.debug("ghostedge.appexport.metadata is not available: no TFLite metadata written")
            return model_bytes, False
        raise
    from ghostedge import __version__

    out = add_metadata(model_bytes, name=job.name, labels=job.labels, input_dtype=input_dtype,
                       app_ready=not job.bare, version=__version__, description=job.description,
                       mean=tuple(job.preprocessing.mean), std=tuple(job.preprocessing.std))
    return out, True


def check_graph(model_bytes: bytes, image_size: int, label: str) -> Dict[str, int]:
    """NHWC input [1,H,W,3] and no TRANSPOSE operator, else ConversionError. Returns op counts."""
    from ghostedge.convert.tflite_graph import op_counts, read_model

    model = read_model(model_bytes)
    graph = model.subgraphs[0]
    shape = [int(v) for v in graph.tensors[graph.inputs[0]].shape]
    if shape != [1, image_size, image_size, 3]:
        raise ConversionError(f"{label} has input shape {shape}",
                              f"expected NHWC [1, {image_size}, {image_size}, 3]",
                              "This is a bug in the layout conversion: rerun with --debug and report it")
    counts = op_counts(model_bytes)
    if counts.get("TRANSPOSE", 0):
        raise ConversionError(f"{label} contains {counts['TRANSPOSE']} TRANSPOSE operators",
                              "onnx2tf left layout changes inside the graph, which costs latency",
                              "Report the model; convert with --bare to see if the wrapper causes it")
    return counts


def write_verified(model_bytes: bytes, dest: Path, verify: Callable[[Path], Dict[str, Any]]) -> Dict[str, Any]:
    """Write ``model_bytes`` to a temporary file beside ``dest``, run ``verify`` on it and rename
    it onto ``dest`` only if verification passes (else the temporary file is removed)."""
    with atomic_path(dest, suffix=dest.suffix) as tmp:
        tmp.write_bytes(model_bytes)
        figures = verify(tmp)
    return figures


def finish_tflite(kind: str, raw_bytes: bytes, job: ArtifactJob, *, input_dtype: str = "float32",
                  extra_checks: Optional[Callable[[Path], Dict[str, Any]]] = None,
                  ) -> tuple[Path, Dict[str, Any]]:
    """Name, check, add metadata, write+verify and report one .tflite of ``kind`` (fp32/fp16/int8).

    ``extra_checks(tmp_path)`` runs on the written file before verification (the INT8 step uses
    it for the integer check and the FP32 comparison); its dict is merged into the report.
    """
    from ghostedge.convert.report import build_report, report_path, tflite_facts
    from ghostedge.convert.tflite_graph import name_io
    from ghostedge.convert.verify import verify_model
    from ghostedge.convert.wrapper import INPUT_NAME, output_name

    label = f"The {kind.upper()} model"
    start = time.perf_counter()
    model_bytes = name_io(raw_bytes, INPUT_NAME, output_name(job.bare))
    check_graph(model_bytes, job.image_size, label)
    model_bytes, has_metadata = add_metadata_if_available(model_bytes, job, input_dtype)
    dest = Path(job.output_dir) / f"{job.name}.{kind}.tflite"
    extra: Dict[str, Any] = {}

    def verify(tmp: Path) -> Dict[str, Any]:
        if extra_checks is not None:
            extra.update(extra_checks(tmp))
        return verify_model(tmp, job.reference, kind, label)

    figures = write_verified(model_bytes, dest, verify)
    durations = dict(job.durations_s)
    durations[f"{kind}_write_verify"] = time.perf_counter() - start
    facts = tflite_facts(dest)
    facts["has_metadata"] = has_metadata
    report = build_report(kind=kind, path=dest, name=job.name, facts=facts, fidelity=figures,
                          durations_s=durations, preprocessing=job.preprocessing,
                          image_size=job.image_size, bare=job.bare, source_info=job.source_info,
                          extra=extra)
    atomic_write_json(report_path(job.output_dir, job.name, kind), report)
    log.info("wrote %s (%.2f MB), verified", dest, report["size_mb"])
    return dest, report


def finish_onnx(onnx_tmp: Path, job: ArtifactJob) -> tuple[Path, Dict[str, Any]]:
    """Verify the exported .onnx with onnxruntime, keep it as ``<name>.onnx``, and report it."""
    from ghostedge.convert.report import build_report, onnx_facts, report_path
    from ghostedge.convert.verify import verify_model

    dest = Path(job.output_dir) / f"{job.name}.onnx"
    start = time.perf_counter()
    figures = write_verified(onnx_tmp.read_bytes(), dest,
                             lambda tmp: verify_model(tmp, job.reference, "onnx", "The ONNX model"))
    durations = dict(job.durations_s)
    durations["onnx_write_verify"] = time.perf_counter() - start
    report = build_report(kind="onnx", path=dest, name=job.name, facts=onnx_facts(dest),
                          fidelity=figures, durations_s=durations, preprocessing=job.preprocessing,
                          image_size=job.image_size, bare=job.bare, source_info=job.source_info)
    atomic_write_json(report_path(job.output_dir, job.name, "onnx"), report)
    return dest, report
