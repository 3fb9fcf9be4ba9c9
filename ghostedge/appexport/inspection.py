"""What an app developer needs to know about a .tflite: I/O, quantization, signatures, metadata,
op counts, whether it is fully integer, size and SHA-256."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

from ghostedge.errors import GhostEdgeError, ModelError
from ghostedge.fileio import sha256_file

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".pdparams")


def _is_tflite(path: Path) -> bool:
    from ghostedge.errors import InvalidModelError
    from ghostedge.tflite import check_tflite_file

    try:
        check_tflite_file(path)
    except InvalidModelError:
        return False
    return True


def folder_error(path: Path, command: str, suffixes: Sequence[str] = (".tflite",)) -> ModelError:
    """The error for a folder given where one model file is expected, naming a file to pass."""
    found = sorted(p.name for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes) \
        if path.is_dir() else []
    kinds = " or ".join(suffixes)
    fix = (f"Pass one of its model files, e.g. {path / found[0]}" if found else
           f"Pass a {kinds} file, e.g. ghostedge-out/ghostnet_100.int8.tflite")
    return ModelError(f"{path} is a folder, not a model file", f"{command} takes one {kinds} file", fix)


def guess_registry_name(path: Path) -> Optional[str]:
    """The registry variant a checkpoint's file name points to (``w050.pth`` → ghostnet_050), or None."""
    from ghostedge.models.registry import MODEL_SPECS

    stem = path.name.lower()
    paddle = path.suffix.lower() == ".pdparams" or "paddle" in stem
    specs = [s for s in MODEL_SPECS.values() if (s.family == "paddle") == paddle] or list(MODEL_SPECS.values())
    for spec in specs:
        if spec.name in stem:
            return spec.name
    for spec in specs:
        w = spec.width
        tokens = (f"{round(w * 100):03d}", f"x{w:.1f}".replace(".", "_"), f"{w:.1f}", f"{w:.1f}x")
        if any(token in stem for token in tokens):
            return spec.name
    return None


def check_not_checkpoint(path: Path, takes: str, fix: str) -> None:
    """Refuse a training checkpoint (.pth, .safetensors, .pdparams...) given as a model file.
    ``takes`` says what the command takes; ``fix`` is formatted with ``name`` (the registry
    variant guessed from the file name) and ``weights`` (the path), e.g.
    ``Pass --model {name} --weights {weights}``."""
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES or not path.is_file() or _is_tflite(path):
        return
    from ghostedge.models.checkpoints import looks_like_checkpoint
    from ghostedge.models.registry import MODEL_SPECS

    if not looks_like_checkpoint(path):
        raise ModelError(f"{path} is not a model file", f"it is named like a checkpoint ({path.suffix}) but "
                         "holds neither a checkpoint nor a .tflite/.onnx model (damaged or another kind "
                         "of file)", "Pass a .tflite or .onnx model (ghostedge convert writes them)")
    guess = guess_registry_name(path)
    text = fix.format(name=guess or "ghostnet_100", weights=path)
    if guess is None:
        text += f" (with the variant it was trained as: {', '.join(MODEL_SPECS)})"
    raise ModelError(f"{path} is a training checkpoint, not a model file", takes, text)


@dataclass
class ModelInfo:
    """Everything ``ghostedge inspect`` shows about a .tflite."""

    file: str
    size_bytes: int
    sha256: str
    runtime: str
    inputs: List[Dict[str, Any]]
    outputs: List[Dict[str, Any]]
    signatures: Dict[str, Any]
    ops: Dict[str, int]
    fully_integer: bool
    float_ops: List[str]
    metadata: Optional[Dict[str, Any]]
    arm64: Optional[Dict[str, Any]] = None   # from `ghostedge check`, kept in the model's report

    @property
    def has_metadata(self) -> bool:
        return self.metadata is not None

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge inspect --json`` prints."""
        data = {"file": self.file, "size_bytes": self.size_bytes, "size_mb": round(self.size_bytes / 1e6, 3),
                "sha256": self.sha256, "runtime": self.runtime, "inputs": self.inputs,
                "outputs": self.outputs, "signatures": self.signatures, "ops": self.ops,
                "op_total": sum(self.ops.values()), "fully_integer": self.fully_integer,
                "float_ops": self.float_ops, "has_metadata": self.has_metadata, "metadata": self.metadata}
        if self.arm64 is not None:
            data["arm64"] = self.arm64
        return data

    def text(self) -> str:
        """The human rendering."""
        return format_inspection(self.to_dict())


def inspect(path: Union[str, Path]) -> ModelInfo:
    """I/O, quantization, signatures, metadata, op counts, integer-only check, size and SHA-256
    of a .tflite, read from the file (nothing is run), plus the ARM check kept in its report."""
    from ghostedge.model_report import find_report
    from ghostedge.tflite import interpreter_class, read_model
    from ghostedge.tflite.metadata import read_metadata

    path = Path(path)
    if path.is_dir():
        raise folder_error(path, "inspect")
    check_not_checkpoint(path, "inspect reads .tflite files",
                         "Convert it first: ghostedge convert --model {name} --weights {weights}")
    model = read_model(path)  # checks the file and gives the clear errors
    summary, violations = model.integer_report()
    metadata = read_metadata(model)
    meta_view = None
    if metadata is not None:
        meta_view = {k: v for k, v in metadata.items() if k != "labels"}
        meta_view["first_labels"] = (metadata.get("labels") or [])[:5]
    try:
        runtime = interpreter_class()[1]
    except GhostEdgeError:
        runtime = "none installed"
    report = find_report(path)
    return ModelInfo(str(path), os.path.getsize(path), sha256_file(path), runtime,
                     [t.to_dict() for t in model.inputs], [t.to_dict() for t in model.outputs],
                     model.signatures(), model.op_counts(), not violations,
                     sorted({v.split(" ", 1)[0] for v in violations}), meta_view,
                     report.sections.get("arm64") if report is not None else None)


def _tensor_line(t: Dict[str, Any]) -> str:
    quant = f"  scale {t['scale']:.6g} zero_point {t['zero_point']}" if t["scale"] else ""
    return f"  {t['name']}: {t['shape']} {t['dtype']}{quant}"


def _row_mark(row: Dict[str, Any]) -> str:
    """A checked row that failed; a reported row (``passed`` None) that differs is not a failure."""
    if row.get("passed") is False:
        return "  (fails)"
    if row.get("passed") is None and (row.get("problem") or not row.get("load_ok", True)):
        return "  (differs; reported, not a failure)"
    return ""


def _arm_lines(section: Optional[Dict[str, Any]]) -> List[str]:
    """The ARM check kept in the model's report (``ghostedge check``), one line per run."""
    if not section:
        return ["arm64 check: not run (`ghostedge check --arch arm64 MODEL`)"]
    verdict = "passed" if section.get("passed") else "FAILED"
    lines = [f"{section.get('arch', 'arm64')} check: {verdict} ({section.get('checked_at', '?')}; "
             f"{section.get('rule', '')})"]
    lines += [f"  problem: {p}" for p in section.get("problems") or []]
    for row in section.get("rows") or []:
        diff = row.get("max_abs_diff")
        lines.append(f"  {row.get('core')} t{row.get('threads')} {row.get('runtime')} {row.get('mode')}: "
                     + ("load failed: " + str(row.get("error")) if not row.get("load_ok") else
                        f"max diff {diff:.3g}" if isinstance(diff, (int, float)) else "compared")
                     + _row_mark(row))
    return lines


def format_inspection(info: Dict[str, Any]) -> str:
    """Human rendering of :meth:`ModelInfo.to_dict`."""
    lines = [f"{info['file']}  {info['size_mb']:.2f} MB  sha256 {info['sha256']}", "inputs:"]
    lines += [_tensor_line(t) for t in info["inputs"]]
    lines.append("outputs:")
    lines += [_tensor_line(t) for t in info["outputs"]]
    for key, sig in info["signatures"].items():
        lines.append(f"signature {key}: inputs {sig['inputs']} -> outputs {sig['outputs']}")
    if not info["signatures"]:
        lines.append("signatures: none")
    ops = ", ".join(f"{k} {v}" for k, v in info["ops"].items())
    lines.append(f"ops ({info['op_total']}): {ops}")
    lines.append("fully integer: yes" if info["fully_integer"] else
                 f"fully integer: no (float ops: {', '.join(info['float_ops'])})")
    lines += _arm_lines(info.get("arm64"))
    meta = info["metadata"]
    if meta is None:
        lines.append("metadata: none (no labels or normalization for app clients; "
                     "`ghostedge convert` writes them)")
        return "\n".join(lines)
    lines.append(f"metadata: {meta['name']} v{meta['version']} by {meta['author']}, "
                 f"min parser {meta['min_parser_version']}")
    if meta.get("description"):
        lines.append(f"  description: {meta['description']}")
    lines.append(f"  license: {meta['license']}")
    for t in meta["inputs"]:
        norm = t.get("normalization")
        norm_text = f"mean {norm['mean']} std {norm['std']}" if norm else "no normalization"
        lines.append(f"  input {t['name']}: {t.get('content', '?')} {t.get('color_space', '')}, {norm_text}")
    for t in meta["outputs"]:
        files = ", ".join(f"{f['name']} ({f['type']})" for f in t["associated_files"]) or "no files"
        lines.append(f"  output {t['name']}: {files}")
    if meta.get("label_count") is not None:
        lines.append(f"  labels: {meta['label_count']} ({', '.join(meta['first_labels'])}, ...)")
    else:
        lines.append("  labels: none")
    return "\n".join(lines)
