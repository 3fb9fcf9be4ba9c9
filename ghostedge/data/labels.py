"""Class names: ImageNet-1k names and WordNet ids (package data), the default names of other
class counts, and the one rule for reading labels files."""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Dict, List, Sequence, Type, Union

from ghostedge.errors import DataError, GhostEdgeError

IMAGENET_CLASSES = 1000
_WNID_RE = re.compile(r"^n\d{8}$")


def _package_lines(name: str) -> List[str]:
    text = (resources.files("ghostedge.data") / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@lru_cache(maxsize=1)
def _class_names() -> tuple:
    names = _package_lines("imagenet_labels.txt")
    if len(names) != IMAGENET_CLASSES:
        raise DataError("Bundled imagenet_labels.txt is damaged", f"{len(names)} lines instead of 1000",
                        "Reinstall ghostedge")
    return tuple(names)


@lru_cache(maxsize=1)
def _wnids() -> tuple:
    wnids = _package_lines("imagenet_wnids.txt")
    if len(wnids) != IMAGENET_CLASSES or wnids != sorted(wnids):
        raise DataError("Bundled imagenet_wnids.txt is damaged", "expected 1000 sorted WordNet ids",
                        "Reinstall ghostedge")
    return tuple(wnids)


def imagenet_class_names() -> List[str]:
    """The 1000 ImageNet-1k class names in class-index order (torchvision's names, BSD-3)."""
    return list(_class_names())


def imagenet_wnids() -> List[str]:
    """The 1000 ImageNet-1k WordNet ids in the standard ILSVRC2012 class-index (sorted) order."""
    return list(_wnids())


@lru_cache(maxsize=1)
def _wnid_index() -> Dict[str, int]:
    return {wnid: i for i, wnid in enumerate(_wnids())}


def wnid_to_index() -> Dict[str, int]:
    """WordNet id → ImageNet class index (0..999)."""
    return dict(_wnid_index())


def looks_like_wnid(name: str) -> bool:
    """True for strings shaped like a WordNet noun id (``n`` + 8 digits), ImageNet's or not."""
    return bool(_WNID_RE.match(name))


def imagenet_index_of_wnid(wnid: str) -> int:
    """Class index of an ImageNet WordNet id; DataError for ids that are not among the 1000."""
    try:
        return _wnid_index()[wnid]
    except KeyError:
        raise DataError(f"WordNet id {wnid} is not an ImageNet-1k class",
                        "it is not among the 1000 ILSVRC2012 classes",
                        "Use ImageNet-1k folders, or name the class folders another way "
                        "(they are then mapped in sorted order)") from None


def default_labels(num_classes: int) -> List[str]:
    """ImageNet's 1000 class names for a 1000-class output, else ``class_0``, ``class_1``, ..."""
    if num_classes == IMAGENET_CLASSES:
        return imagenet_class_names()
    return [f"class_{i}" for i in range(num_classes)]


def parse_labels(data: bytes, source: str = "labels", error: Type[GhostEdgeError] = DataError) -> List[str]:
    """Labels file bytes → class names, the one rule for every labels file and every labels.txt
    inside a model: UTF-8 (a BOM is ignored), one name per line, whitespace around a name dropped,
    blank lines at the end ignored; a blank line before the last name is refused (dropping it
    would shift every later class)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"Labels file {source} is not UTF-8 text",
                    f"undecodable byte 0x{data[exc.start]:02x} on line {line}",
                    "Save it as UTF-8 with one class name per line") from None
    names = [line.strip() for line in text.lstrip("\ufeff").split("\n")]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise error(f"Labels file {source} is empty", "it has no class names",
                    "Give one class name per line, as many lines as the model has classes")
    blank = [i + 1 for i, name in enumerate(names) if not name]
    if blank:
        raise error(f"Labels file {source} has an empty line {blank[0]}",
                    "every class needs a name, and a skipped line would shift the classes after it",
                    "Fill in the missing class name")
    return names


def read_labels(path: Union[str, Path], error: Type[GhostEdgeError] = DataError) -> List[str]:
    """Read a labels file (see :func:`parse_labels` for the rule)."""
    path = Path(path)
    if path.is_dir():
        raise error(f"Labels file {path} is a folder", "a labels file is one text file", "Check the path")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"Cannot read labels file {path}", exc.strerror or str(exc), "Check the path") from exc
    return parse_labels(data, str(path), error)


def validate_labels(labels: Sequence[str], num_classes: int, source: str = "labels",
                    error: Type[GhostEdgeError] = DataError) -> List[str]:
    """Check that there is one non-empty, single-line name per class; return them as a list."""
    names = list(labels)
    if len(names) != num_classes:
        raise error(f"The {source} do not fit the model", f"{len(names)} labels for {num_classes} classes",
                    f"Give exactly {num_classes} class names, one per line")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise error(f"Label {i + 1} of the {source} is not text", f"got {type(name).__name__}",
                        "Give class names as text")
        if not name.strip():
            raise error(f"Label {i + 1} of the {source} is empty",
                        "every class needs a name (apps show it to users)", "Fill in the missing class name")
        if "\n" in name or "\r" in name:
            raise error(f"Label {i + 1} of the {source} spans several lines",
                        "a labels file holds one name per line", "Remove the line break")
    return names


def labels_file_bytes(labels: Sequence[str]) -> bytes:
    """The labels.txt that goes into a model: one name per line, UTF-8, final newline."""
    return ("\n".join(labels) + "\n").encode("utf-8")
