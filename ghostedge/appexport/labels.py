"""Class-name lists for app exports: strict reading, validation against the class count, and the
default names (ImageNet-1k for 1000 classes, else indices)."""
from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import List, Sequence, Union

from ghostedge.errors import MetadataError

log = logging.getLogger(__name__)


def imagenet_names() -> List[str]:
    """The 1000 ImageNet-1k class names in index order (package data)."""
    try:
        from ghostedge.data.labels import imagenet_class_names
    except ImportError:
        text = (resources.files("ghostedge.data") / "imagenet_labels.txt").read_text("utf-8")
        return [line.strip() for line in text.splitlines() if line.strip()]
    return list(imagenet_class_names())


def default_labels(num_classes: int) -> List[str]:
    """ImageNet names for a 1000-class output, else the class indices as text."""
    if num_classes == 1000:
        return imagenet_names()
    return [str(i) for i in range(num_classes)]


def parse_labels(data: bytes, source: str = "labels") -> List[str]:
    """Labels file bytes (UTF-8, one name per line) → names. Empty or non-UTF-8 input is refused."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise MetadataError(f"Labels file {source} is not UTF-8 text",
                            f"undecodable byte 0x{data[exc.start]:02x} on line {line}",
                            "Save it as UTF-8 with one class name per line") from None
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]  # the final newline ends the last line, it does not start a new one
    names = [line.rstrip("\r") for line in lines]
    if not names:
        raise MetadataError(f"Labels file {source} is empty", "it has no class names",
                            "Give one class name per line, as many lines as the model has classes")
    return names


def read_labels(path: Union[str, Path]) -> List[str]:
    """Read a labels file strictly (see :func:`parse_labels`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MetadataError(f"Cannot read labels file {path}", exc.strerror or str(exc),
                            "Check the path") from exc
    return parse_labels(data, str(path))


def validate_labels(labels: Sequence[str], num_classes: int, source: str = "labels") -> List[str]:
    """Check that there is one non-empty, single-line name per class; return them as a list."""
    names = list(labels)
    if not names:
        raise MetadataError(f"The {source} are empty", "no class names were given",
                            f"Give {num_classes} class names, one per class")
    if len(names) != num_classes:
        raise MetadataError(f"The {source} do not fit the model",
                            f"{len(names)} labels for {num_classes} classes",
                            f"Give exactly {num_classes} class names, one per line")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise MetadataError(f"Label {i + 1} of the {source} is not text", f"got {type(name).__name__}")
        if not name.strip():
            raise MetadataError(f"Label {i + 1} of the {source} is empty",
                                "every class needs a name (apps show it to users)",
                                "Fill in the missing class name")
        if "\n" in name or "\r" in name:
            raise MetadataError(f"Label {i + 1} of the {source} spans several lines",
                                "a labels file holds one name per line", "Remove the line break")
    return names


def labels_file_bytes(labels: Sequence[str]) -> bytes:
    """The labels.txt that goes into the model: one name per line, UTF-8, final newline."""
    return ("\n".join(labels) + "\n").encode("utf-8")
