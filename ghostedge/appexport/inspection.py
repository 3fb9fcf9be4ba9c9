"""What an app developer needs to know about a .tflite: I/O, quantization, signatures, metadata,
op counts, whether it is fully integer, size and SHA-256."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ghostedge._io import sha256_file
from ghostedge.errors import ModelError

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".pdparams")


def _is_tflite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8)[4:8] == b"TFL3"
    except OSError:
        return False


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
    from ghostedge.models.registry import MODEL_SPECS

    guess = guess_registry_name(path)
    text = fix.format(name=guess or "ghostnet_100", weights=path)
    if guess is None:
        text += f" (with the variant it was trained as: {', '.join(MODEL_SPECS)})"
    raise ModelError(f"{path} is a training checkpoint, not a model file", takes, text)


# Operators that only move, reshape or select data: integer models may keep them on int tensors.
_FLOAT_TYPES = ("float32", "float16", "float64")


def _float_ops(interp: Any) -> List[str]:
    """Operators that compute on float tensors (QUANTIZE/DEQUANTIZE at the I/O edges excepted)."""
    details = {d["index"]: d for d in interp.get_tensor_details()}
    found: List[str] = []
    for op in interp._get_ops_details():
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE"):
            continue
        tensors = [i for i in list(op.get("inputs", [])) + list(op.get("outputs", [])) if i >= 0]
        if any(details.get(i, {}).get("dtype") is not None and
               getattr(details[i]["dtype"], "__name__", str(details[i]["dtype"])) in _FLOAT_TYPES
               for i in tensors):
            found.append(op["op_name"])
    return found


def _undelegated_interpreter(path: Path) -> Any:
    """An interpreter without the default XNNPACK delegate, so op details list the model's own
    operators (a delegated graph shows one DELEGATE node instead)."""
    from ghostedge.runtime import interpreter_class

    cls, _ = interpreter_class()
    try:
        module = __import__(cls.__module__, fromlist=["OpResolverType"])
        interp = cls(model_path=str(path), experimental_op_resolver_type=
                     module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
        return interp
    except (AttributeError, TypeError, ValueError, RuntimeError) as exc:
        log.debug("no undelegated interpreter (%s); op counts may show DELEGATE nodes", exc)
        return None


def inspect_tflite(path: Union[str, Path]) -> Dict[str, Any]:
    """Everything `ghostedge inspect` shows, as a JSON-ready dict."""
    from ghostedge.appexport.metadata import read_metadata
    from ghostedge.runtime import interpreter_class, io_details, load_interpreter, ops_by_type

    path = Path(path)
    if path.is_dir():
        raise folder_error(path, "inspect")
    check_not_checkpoint(path, "inspect reads .tflite files",
                         "Convert it first: ghostedge convert --model {name} --weights {weights}")
    interp = load_interpreter(path)  # checks the file and gives the clear errors
    io = io_details(interp)
    plain = _undelegated_interpreter(path) or interp
    float_ops = _float_ops(plain)
    metadata = read_metadata(path)
    try:
        signatures = {k: {"inputs": list(v.get("inputs", [])), "outputs": list(v.get("outputs", []))}
                      for k, v in interp.get_signature_list().items()}
    except (AttributeError, ValueError, RuntimeError):
        signatures = {}
    meta_view = None
    if metadata is not None:
        meta_view = {k: v for k, v in metadata.items() if k != "labels"}
        meta_view["first_labels"] = (metadata.get("labels") or [])[:5]
    ops = ops_by_type(plain)
    return {
        "file": str(path),
        "size_bytes": os.path.getsize(path),
        "size_mb": round(os.path.getsize(path) / 1e6, 3),
        "sha256": sha256_file(path),
        "runtime": interpreter_class()[1],
        "inputs": [t.to_dict() for t in io["inputs"]],
        "outputs": [t.to_dict() for t in io["outputs"]],
        "signatures": signatures,
        "ops": ops,
        "op_total": sum(ops.values()),
        "fully_integer": not float_ops,
        "float_ops": sorted(set(float_ops)),
        "has_metadata": metadata is not None,
        "metadata": meta_view,
    }


def _tensor_line(t: Dict[str, Any]) -> str:
    quant = f"  scale {t['scale']:.6g} zero_point {t['zero_point']}" if t["scale"] else ""
    return f"  {t['name']}: {t['shape']} {t['dtype']}{quant}"


def format_inspection(info: Dict[str, Any]) -> str:
    """Human rendering of :func:`inspect_tflite`."""
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
