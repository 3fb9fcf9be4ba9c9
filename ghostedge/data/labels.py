"""ImageNet-1k class names and WordNet ids (package data), and user label files."""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Dict, List, Union

from ghostedge.errors import DataError

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


def read_labels_file(path: Union[str, Path]) -> List[str]:
    """Read one label per line (UTF-8, surrounding whitespace and blank lines dropped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Labels file {path} does not exist" if not path.exists()
                        else f"Labels file {path} is not a file", "no such file", "Check the path")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"Labels file {path} is not UTF-8 text", f"byte {exc.start} cannot be decoded",
                        "Save it as UTF-8, one label per line") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise DataError(f"Labels file {path} is empty", "it has no non-blank lines",
                        "Write one label per line")
    return labels
