"""Image datasets for calibration and evaluation, in the layouts people have.

``load_dataset(path)`` detects: (a) ``imagefolder`` — one folder per class (the path itself or its
``val/`` / ``train/`` child), named by WordNet id or ImageNet index (→ ImageNet class indices) or
anything else (→ sorted order, names kept); (b) ``imagenet-val`` — a flat folder of
``ILSVRC2012_val_*.JPEG`` with ground truth beside it (``LOC_val_solution.csv`` or a ``val.txt``-style
``<file> <index>`` list) or without (unlabeled); (c) ``list`` — a PaddleClas-style ``.txt`` of
``relative/path.jpg label`` lines; (d) ``flat`` — any folder of images, unlabeled.

Sampling and pixel loading (``sample``, ``load_sample_pixels``, ...) live in
``ghostedge.data.sampling``; their names are re-exported here.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from ghostedge.data import labels as imagenet
from ghostedge.data.dataset import Dataset, Sample, unique_samples
from ghostedge.data.preprocess import IMAGE_SUFFIXES
from ghostedge.errors import DataError

log = logging.getLogger(__name__)

_VAL_RE = re.compile(r"^ILSVRC2012_val_\d{8}\.[A-Za-z]+$")
_GROUND_TRUTH = ("LOC_val_solution.csv", "val.txt", "val_list.txt", "ground_truth.txt")
_DEVKIT_GT = "ILSVRC2012_validation_ground_truth.txt"
_SPLITS = ("val", "validation", "train")
_LAYOUTS_HELP = ("Pass a folder with one sub-folder per class (e.g. n01440764/), a flat folder of "
                 "ILSVRC2012_val_*.JPEG with LOC_val_solution.csv or val.txt beside it, or a list "
                 "file of 'relative/path.jpg label' lines")


def _visible(p: Path) -> bool:
    return not p.name.startswith(".") and p.name != "__MACOSX"


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES and _visible(p)


def _images_in(folder: Path, recursive: bool, loops: Optional[List[str]] = None) -> List[Path]:
    """Image files in ``folder`` (sorted). Recursive walks follow symbolic links to folders but
    never enter a folder twice (a link back to an ancestor is a loop: it is skipped and named in
    ``loops``)."""
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and _is_image(p))
    found = []
    seen = set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        try:
            st = os.stat(top)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            if loops is not None:
                loops.append(top)
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(d for d in dirs if _visible(Path(d)))
        found.extend(Path(top) / f for f in files if _is_image(Path(f)))
    return sorted(found)


def _finish(dataset: Dataset, loops: List[str]) -> Dataset:
    """Count every real file once (links to one image, folder loops) and say what was skipped."""
    samples, notes = unique_samples(dataset.samples)
    if loops:
        shown = ", ".join(sorted(set(loops))[:3])
        notes.insert(0, f"skipped {len(set(loops))} folder link(s) that loop back to a folder already "
                        f"read ({shown})")
    for note in notes:
        log.warning("%s: %s", dataset.root, note)
    dataset.samples = samples
    dataset.notes.extend(notes)
    return dataset


def load_dataset(path: Union[str, Path]) -> Dataset:
    """Detect the layout of ``path`` and list its images (see module docstring). Each real image
    file counts once, however many links lead to it; what is skipped is said in the notes."""
    loops: List[str] = []
    return _finish(_load(Path(path).expanduser(), loops), loops)


def _load(path: Path, loops: List[str]) -> Dataset:
    if not path.exists():
        raise DataError(f"Dataset {path} does not exist", "no such file or folder", "Check the path")
    if path.is_file():
        if path.suffix.lower() in (".txt", ".list", ".lst"):
            return _list_file(path)
        raise DataError(f"Dataset {path} is a single file, not a dataset", "unknown layout", _LAYOUTS_HELP)
    entries = [p for p in path.iterdir() if _visible(p)]
    if not entries:
        raise DataError(f"Dataset folder {path} is empty", "it contains no files", _LAYOUTS_HELP)
    subdirs = sorted(p for p in entries if p.is_dir())
    names = {p.name for p in subdirs}
    split = next((s for s in _SPLITS if s in names), None)
    if split and names <= {*_SPLITS, "test"}:
        log.info("using the %s/ split of %s", split, path)
        dataset = _load(path / split, loops)
        dataset.notes.insert(0, f"used the {split}/ split")
        return dataset
    class_dirs = [d for d in subdirs if _images_in(d, recursive=True)]
    if class_dirs:
        loose = _images_in(path, recursive=False)
        if loose:
            log.warning("ignoring %d images directly in %s (class folders found)", len(loose), path)
        return _image_folder(path, subdirs, loops)
    images = _images_in(path, recursive=False)
    if not images:
        raise DataError(f"No images in {path}", f"{len(entries)} entries, none of them an image "
                        f"({'/'.join(s.lstrip('.') for s in IMAGE_SUFFIXES[:4])}...)", _LAYOUTS_HELP)
    if all(_VAL_RE.match(p.name) for p in images):
        return _imagenet_val(path, images)
    return Dataset(path, "flat", [(p, None) for p in images],
                   notes=["flat folder without labels: usable for calibration, not for eval"])


def load_labeled_dataset(path: Union[str, Path]) -> Dataset:
    """``load_dataset`` that refuses unlabeled layouts (what eval needs)."""
    dataset = load_dataset(path)
    if not dataset.labeled:
        raise DataError(f"Dataset {path} has no labels", f"layout {dataset.layout!r} carries no class "
                        "indices", "Give it class folders, a ground-truth file or a list file")
    return dataset


def _class_index(names: List[str], root: Path) -> Tuple[Dict[str, int], int, List[str], bool]:
    """Folder names → (mapping, num_classes, class_names, imagenet)."""
    wnid_like = [n for n in names if imagenet.looks_like_wnid(n)]
    if wnid_like and len(wnid_like) != len(names):
        other = next(n for n in names if not imagenet.looks_like_wnid(n))
        raise DataError(f"Class folders in {root} mix WordNet ids and other names",
                        f"e.g. {wnid_like[0]!r} and {other!r}", "Name every class folder the same way")
    if wnid_like:
        return ({n: imagenet.imagenet_index_of_wnid(n) for n in names}, imagenet.IMAGENET_CLASSES,
                imagenet.imagenet_class_names(), True)
    if all(n.isdigit() for n in names):
        bad = [n for n in names if int(n) >= imagenet.IMAGENET_CLASSES]
        if bad:
            raise DataError(f"Class folder {root / bad[0]} is outside ImageNet's 0..999",
                            "numeric class folders are taken as ImageNet class indices",
                            "Use indices 0..999, WordNet ids, or class names")
        return ({n: int(n) for n in names}, imagenet.IMAGENET_CLASSES,
                imagenet.imagenet_class_names(), True)
    ordered = sorted(names)
    return {n: i for i, n in enumerate(ordered)}, len(ordered), ordered, False


def _image_folder(root: Path, class_dirs: List[Path], loops: List[str]) -> Dataset:
    mapping, num_classes, class_names, is_imagenet = _class_index([d.name for d in class_dirs], root)
    samples: List[Sample] = []
    empty = []
    for d in class_dirs:
        files = _images_in(d, recursive=True, loops=loops)
        if not files:
            empty.append(d.name)
        samples.extend((p, mapping[d.name]) for p in files)
    notes = [f"{len(class_dirs)} class folders"
             + (" named by WordNet id / ImageNet index" if is_imagenet else ", mapped in sorted order")]
    if empty:
        notes.append(f"{len(empty)} class folders without images ({', '.join(empty[:3])})")
    return Dataset(root, "imagefolder", samples, num_classes, class_names, is_imagenet, notes)


def _parse_ground_truth(gt: Path) -> Dict[str, int]:
    """``LOC_val_solution.csv`` (wnids) or ``<file> <index>`` lines → {file stem: class index}."""
    truth: Dict[str, int] = {}
    lines = gt.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("ImageId"):
            continue
        if gt.suffix.lower() == ".csv":
            image, _, prediction = line.partition(",")
            if not prediction.split():
                raise DataError(f"Bad line {number} in {gt}", f"no WordNet id in {line[:60]!r}")
            truth[Path(image).stem] = imagenet.imagenet_index_of_wnid(prediction.split()[0])
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DataError(f"Bad line {number} in {gt}", f"expected '<file> <index>', got {line[:60]!r}")
        truth[Path(parts[0]).stem] = _checked_label(int(parts[1]), gt, number)
    return truth


def _checked_label(label: int, where: Path, number: int) -> int:
    if not 0 <= label < imagenet.IMAGENET_CLASSES:
        raise DataError(f"Label {label} on line {number} of {where} is outside 0..999",
                        "labels are ImageNet-1k class indices", "Fix the label file")
    return label


def _imagenet_val(root: Path, images: List[Path]) -> Dataset:
    gt = next((folder / name for name in _GROUND_TRUTH for folder in (root, root.parent)
               if (folder / name).is_file()), None)
    if gt is None:
        notes = ["ILSVRC2012 validation images without ground truth: unlabeled "
                 f"(put {' or '.join(_GROUND_TRUTH[:2])} beside them for labels)"]
        if any((f / _DEVKIT_GT).is_file() for f in (root, root.parent)):
            notes.append(f"{_DEVKIT_GT} was not used: its devkit ids are not class indices "
                         "(they need the devkit's meta.mat)")
            log.warning("%s", notes[-1])
        return Dataset(root, "imagenet-val", [(p, None) for p in images], notes=notes)
    truth = _parse_ground_truth(gt)
    samples = [(p, truth[p.stem]) for p in images if p.stem in truth]
    notes = [f"ground truth from {gt.name}"]
    if len(samples) < len(images):
        log.warning("%d images in %s have no entry in %s: left out", len(images) - len(samples), root, gt)
        notes.append(f"{len(images) - len(samples)} images without ground truth left out")
    if not samples:
        raise DataError(f"None of the {len(images)} images in {root} is listed in {gt}",
                        "the ground-truth file names other images", "Check the file")
    return Dataset(root, "imagenet-val", samples, imagenet.IMAGENET_CLASSES,
                   imagenet.imagenet_class_names(), True, notes)


def _list_file(path: Path) -> Dataset:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"List file {path} is not UTF-8 text", "unknown layout", _LAYOUTS_HELP) from None
    samples: List[Sample] = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DataError(f"Bad line {number} in list file {path}",
                            f"expected 'relative/path.jpg label', got {line[:60]!r}", _LAYOUTS_HELP)
        samples.append((path.parent / parts[0], _checked_label(int(parts[1]), path, number)))
    if not samples:
        raise DataError(f"List file {path} is empty", "no 'path label' lines", _LAYOUTS_HELP)
    present = sum(1 for p, _ in samples if p.is_file())
    if present == 0:
        raise DataError(f"No image listed in {path} exists", f"e.g. {samples[0][0]} is missing",
                        "Paths in a list file are relative to the list file's folder")
    notes = [f"{len(samples)} entries from {path.name}"]
    if present < len(samples):
        notes.append(f"{len(samples) - present} listed files are missing")
    num_classes = max(label for _, label in samples) + 1  # at least; labels are ImageNet indices
    return Dataset(path.parent, "list", samples, num_classes, None, False, notes)
