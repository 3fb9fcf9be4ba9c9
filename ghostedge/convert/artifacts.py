"""One artifact, start to finish: name the I/O → check the graph → TFLite Metadata → atomic
write with verification before the rename → its ModelReport (kept in memory; the pipeline writes
every report once). Nothing unverified is left behind: a model that fails verification never
reaches its final name."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ghostedge.errors import ConversionError
from ghostedge.fileio import atomic_path
from ghostedge.model_report import ArtifactNames, ModelReport

log = logging.getLogger(__name__)


@dataclass
class ArtifactJob:
    """What is shared by every artifact of one conversion."""

    names: ArtifactNames
    image_size: int
    bare: bool
    labels: List[str]
    description: str
    preprocessing: Any
    source_info: Dict[str, Any]
    reference: Any  # verify.Reference
    write_seconds: Dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.names.name


def add_metadata(model_bytes: bytes, job: ArtifactJob, input_dtype: str) -> bytes:
    """The model with TFLite Metadata: labels, normalization, names (for MediaPipe / the Task Library)."""
    from ghostedge import __version__
    from ghostedge.tflite.metadata import add_metadata as add

    return add(model_bytes, name=job.name, labels=job.labels, input_dtype=input_dtype,
               app_ready=not job.bare, version=__version__, description=job.description,
               mean=tuple(job.preprocessing.mean), std=tuple(job.preprocessing.std))


def check_graph(model_bytes: bytes, image_size: int, label: str) -> Dict[str, int]:
    """NHWC input [1,H,W,3] and no TRANSPOSE operator, else ConversionError. Returns op counts."""
    from ghostedge.tflite import read_model

    model = read_model(model_bytes)
    shape = model.inputs[0].shape if model.inputs else []
    if shape != [1, image_size, image_size, 3]:
        raise ConversionError(f"{label} has input shape {shape}",
                              f"expected NHWC [1, {image_size}, {image_size}, 3]",
                              "This is a bug in the layout conversion: rerun with --debug and report it")
    counts = model.op_counts()
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
                  ) -> tuple[Path, ModelReport]:
    """Name, check, add metadata, write+verify one .tflite of ``kind`` (fp32/fp16/int8) and build
    its report. ``extra_checks(tmp_path)`` runs on the written file before verification (the INT8
    step: integer check, FP32 comparison); its dict becomes report sections."""
    from ghostedge.convert.report import build_report, tflite_facts
    from ghostedge.convert.verify import verify_model
    from ghostedge.convert.wrapper import INPUT_NAME, output_name
    from ghostedge.tflite.edit import name_io

    label = f"The {kind.upper()} model"
    start = time.perf_counter()
    model_bytes = name_io(raw_bytes, INPUT_NAME, output_name(job.bare))
    check_graph(model_bytes, job.image_size, label)
    model_bytes = add_metadata(model_bytes, job, input_dtype)
    dest = job.names.model(kind)
    extra: Dict[str, Any] = {}

    def verify(tmp: Path) -> Dict[str, Any]:
        if extra_checks is not None:
            extra.update(extra_checks(tmp))
        return verify_model(tmp, job.reference, kind, label)

    figures = write_verified(model_bytes, dest, verify)
    job.write_seconds[f"{kind}_write_verify"] = time.perf_counter() - start
    extra["op_parts"] = describe_parts(dest, job)
    report = build_report(kind=kind, path=dest, name=job.name, facts=tflite_facts(dest), fidelity=figures,
                          preprocessing=job.preprocessing, image_size=job.image_size, bare=job.bare,
                          source_info=job.source_info, has_metadata=True, sections=extra)
    log.info("wrote %s (%.2f MB), verified", dest, (report.size_bytes or 0) / 1e6)
    return dest, report


def describe_parts(path: Path, job: ArtifactJob) -> Optional[Dict[str, Any]]:
    """The GhostNet part and MACs of every operator (report section ``op_parts``, read by
    ``ghostedge bench --op-profile``); None, with a warning, where the graph cannot be labeled."""
    from ghostedge.convert.op_parts import op_parts_section

    onnx = job.names.model("onnx")
    try:
        return op_parts_section(path, onnx if onnx.is_file() else None)
    except Exception as exc:  # noqa: BLE001 - a description, not a check: never fail the conversion on it
        log.warning("could not label the operators of %s by GhostNet part (%s); bench --op-profile "
                    "will profile it by operator type", path.name, exc)
        return None


def finish_onnx(onnx_tmp: Path, job: ArtifactJob) -> tuple[Path, ModelReport]:
    """Verify the exported .onnx with onnxruntime, keep it as ``<name>.onnx``, and build its report."""
    from ghostedge.convert.report import build_report, onnx_facts
    from ghostedge.convert.verify import verify_model

    dest = job.names.model("onnx")
    start = time.perf_counter()
    figures = write_verified(onnx_tmp.read_bytes(), dest,
                             lambda tmp: verify_model(tmp, job.reference, "onnx", "The ONNX model"))
    job.write_seconds["onnx_write_verify"] = time.perf_counter() - start
    report = build_report(kind="onnx", path=dest, name=job.name, facts=onnx_facts(dest), fidelity=figures,
                          preprocessing=job.preprocessing, image_size=job.image_size, bare=job.bare,
                          source_info=job.source_info)
    return dest, report
