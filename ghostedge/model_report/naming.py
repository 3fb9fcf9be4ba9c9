"""Output naming of a conversion: ``<dir>/<name>.onnx``, ``<dir>/<name>.<kind>.tflite`` and the
``<name>.<kind>.report.json`` beside each."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union

KINDS = ("onnx", "fp32", "fp16", "int8")
PathArg = Union[str, Path]


@dataclass(frozen=True)
class ArtifactNames:
    """Where one conversion's files go: ``<dir>/<name>.onnx``, ``<dir>/<name>.<kind>.tflite`` and
    ``<dir>/<name>.<kind>.report.json``."""

    output_dir: Path
    name: str

    def model(self, kind: str) -> Path:
        """The model file of ``kind`` ("onnx", "fp32", "fp16", "int8")."""
        _check_kind(kind)
        suffix = ".onnx" if kind == "onnx" else f".{kind}.tflite"
        return Path(self.output_dir) / f"{self.name}{suffix}"

    def report(self, kind: str) -> Path:
        """The report beside the model of ``kind``."""
        _check_kind(kind)
        return Path(self.output_dir) / f"{self.name}.{kind}.report.json"

    def kinds(self, fp16: bool, int8: bool) -> List[str]:
        """The kinds one conversion writes, in order."""
        return ["onnx", "fp32"] + (["fp16"] if fp16 else []) + (["int8"] if int8 else [])

    def planned(self, fp16: bool, int8: bool) -> Dict[str, Path]:
        """Model files of one conversion by kind (reports sit beside them)."""
        return {kind: self.model(kind) for kind in self.kinds(fp16, int8)}

    def stale(self, fp16: bool, int8: bool) -> List[Path]:
        """Files of an earlier conversion of the same name that this one will not replace
        (``.fp16``/``.int8`` models and reports when they are not asked for)."""
        wanted = {"fp16": fp16, "int8": int8}
        found: List[Path] = []
        for kind in ("fp16", "int8"):
            if wanted[kind]:
                continue
            for path in (self.model(kind), self.report(kind)):
                if path.is_file() or path.is_symlink():
                    found.append(path)
        return found


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}; expected one of {KINDS}")


def report_candidates(model_path: PathArg) -> List[Path]:
    """Where a model's report may lie: ``x.int8.report.json`` (what ``convert`` writes) or
    ``x.int8.tflite.report.json``."""
    path = Path(model_path)
    first, second = path.with_suffix(".report.json"), path.with_name(path.name + ".report.json")
    return [first] if first == second else [first, second]
