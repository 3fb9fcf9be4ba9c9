"""Calibration images for INT8: a seeded, class-balanced sample of a real dataset (ImageFolder,
ILSVRC2012 val, PaddleClas lists), or — with a loud warning — random crops of the bundled photos.

Images go through exactly the FP32 path's preprocessing and are kept as raw uint8 pixels (the
converted models take raw pixels; normalization is inside the graph). A held-out part, never used
for calibration, feeds the INT8-vs-FP32 fidelity report.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ghostedge.fileio import sha256_file
from ghostedge.progress import progress
from ghostedge.data.preprocess import (PRESETS, Preprocessing, bundled_photos, for_image_size, get_preset,
                                      load_rgb, resize_crop)
from ghostedge.errors import DataError

log = logging.getLogger(__name__)

BUNDLED_WARNING = ("No --calib data given: INT8 is calibrated on random crops of the {n} bundled photos. "
                   "Real ImageNet samples are needed for good INT8 accuracy: pass --calib DIR "
                   "(an ImageNet train/val folder or list file, a few hundred images)")
FEW_IMAGES = 100   # below this the calibration ranges are noisy; say so


@dataclass
class CalibrationSet:
    """Raw-pixel calibration images, held-out images for the fidelity report, and provenance."""

    pixels: np.ndarray                       # uint8 NHWC
    heldout_pixels: np.ndarray               # uint8 NHWC, not used for calibration
    description: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.pixels))


def sized_preprocessing(pre: Union[Preprocessing, str], image_size: int = 224) -> Preprocessing:
    """``pre`` for another input size: crop ``image_size``, short side ``round(image_size / 0.875)``."""
    if isinstance(pre, str):
        pre = get_preset(pre)
    if not isinstance(image_size, int) or image_size < 16:
        raise DataError(f"Image size {image_size!r} is not usable", "it must be an integer of at least 16",
                        "Pass --image-size 224 (or the size the model was trained at)")
    return for_image_size(pre, image_size)


def build_calibration_set(path: Optional[Path], samples: int = 500, seed: int = 0,
                          pre: Union[Preprocessing, str] = PRESETS["torchvision"], image_size: int = 224,
                          heldout: int = 50) -> CalibrationSet:
    """Draw ``samples`` calibration images (plus up to ``heldout`` others) from ``path``.

    ``path=None`` uses seeded random crops/flips of the bundled photos and logs a WARNING that real
    ImageNet samples are needed for good INT8 accuracy. Raises DataError for ``samples <= 0``, more
    than available, and missing, empty or unreadable folders (saying how many images were found).
    """
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples <= 0:
        raise DataError(f"Calibration needs at least one image, got --calib-samples {samples}",
                        "INT8 ranges are measured on real images",
                        "Pass --calib-samples 500 (a few hundred is typical)")
    pre = sized_preprocessing(pre, image_size)
    heldout = max(0, int(heldout))
    if path is None:
        result = _from_bundled_photos(int(samples), seed, pre, heldout)
    else:
        result = _from_dataset(Path(path), int(samples), seed, pre, heldout)
    desc = result.description
    desc.update({"seed": seed, "preprocessing": pre.describe(), "image_size": pre.crop,
                 "heldout_count": int(len(result.heldout_pixels))})
    if path is not None and len(result) < FEW_IMAGES:
        desc["warning"] = (f"only {len(result)} calibration images; a few hundred ImageNet samples give "
                           "steadier INT8 ranges")
        log.warning("INT8 calibration: %s", desc["warning"])
    log.info("Calibration set: %d images from %s (seed %d), %d held out", len(result), desc["source"],
             seed, len(result.heldout_pixels))
    return result


# --- a real dataset ---------------------------------------------------------------------------

def _load_until(order: Sequence[Tuple[Path, Any]], want: int, pre: Preprocessing,
                start: int = 0) -> Tuple[List[np.ndarray], list, List[Tuple[Path, str]], int]:
    """Load images from ``order[start:]`` until ``want`` usable ones; returns (crops, used, skipped, next)."""
    from ghostedge.data import sampling

    crops: List[np.ndarray] = []
    used: list = []
    skipped: List[Tuple[Path, str]] = []
    pos = start
    while len(crops) < want and pos < len(order):
        chunk = list(order[pos:pos + (want - len(crops))])
        pos += len(chunk)
        try:
            pixels, _labels, bad = sampling.load_pixels_skipping(chunk, pre)
        except DataError:   # nothing usable in this chunk: every file is skipped
            bad = [(s[0], "unreadable") for s in chunk]
            pixels = np.zeros((0, pre.crop, pre.crop, 3), np.uint8)
        bad_paths = {Path(b[0]) for b in bad}
        skipped.extend((Path(b[0]), str(b[1])) for b in bad)
        used.extend(s for s in chunk if Path(s[0]) not in bad_paths)
        crops.extend(pixels)
    return crops, used, skipped, pos


def _from_dataset(path: Path, samples: int, seed: int, pre: Preprocessing, heldout: int) -> CalibrationSet:
    from ghostedge.data import folders, sampling

    dataset = folders.load_dataset(path)
    available = len(dataset.samples)
    order = sampling.sample(dataset, available, seed)    # seeded order, class-balanced prefixes
    # more asked than files: read them all (fewer than ``samples``) to say how many are usable
    crops, used, skipped, pos = _load_until(order, min(samples, available), pre)
    if len(crops) < samples:
        raise _too_few_error(path, samples, available, len(crops), skipped)
    held, _held_used, held_skipped, _ = _load_until(order, heldout, pre, start=pos)
    heldout_source = f"{len(held)} other images of {path}"
    if not held and heldout:
        held = list(_photo_crops(bundled_photos(), heldout, seed, pre, stream=1))
        heldout_source = "bundled photos (the dataset has no images beyond the calibration sample)"
    all_skipped = skipped + held_skipped
    description = {
        "source": str(path), "layout": getattr(dataset, "layout", "unknown"),
        "labeled": bool(getattr(dataset, "labeled", False)),
        "class_balanced": bool(getattr(dataset, "labeled", False)),
        "count": len(crops), "requested": samples, "available": available,
        "skipped": len(all_skipped),
        "skipped_files": [f"{p}: {why}" for p, why in all_skipped[:5]],
        "file_list_sha256": sampling.file_list_sha256(used),
        "heldout_source": heldout_source, "warning": None,
    }
    if all_skipped:
        log.warning("INT8 calibration: skipped %d unreadable files in %s (first: %s)", len(all_skipped),
                    path, description["skipped_files"][0])
    return CalibrationSet(np.stack(crops).astype(np.uint8), _stack(held, pre), description)


def _too_few_error(path: Path, samples: int, files: int, readable: int,
                   skipped: Sequence[Tuple[Path, str]]) -> DataError:
    """One line: files found, how many were readable, and advice that is never ``--calib-samples 0``."""
    found = f"{files} file{'s' if files != 1 else ''} found in {path}"
    if len(skipped):
        first = skipped[0]
        found += f", {readable} readable ({len(skipped)} could not be read; first: {first[0]}: {first[1]})"
    else:
        found += f", {readable} readable"
    if readable == 0:
        return DataError(f"No usable calibration images in {path}", found,
                         "Pass --calib a folder or list file with readable JPEG/PNG images, or omit "
                         "--calib to calibrate on the bundled photos")
    return DataError(f"--calib-samples {samples} is more than the {readable} usable images in {path}",
                     found + "; a calibration set cannot repeat images",
                     f"Pass --calib-samples {readable} or fewer, or add or replace images")


def _stack(crops: Sequence[np.ndarray], pre: Preprocessing) -> np.ndarray:
    if not len(crops):
        return np.zeros((0, pre.crop, pre.crop, 3), np.uint8)
    return np.stack(crops).astype(np.uint8)


# --- the bundled photos (fallback) ------------------------------------------------------------

def _photo_crops(photos: Sequence[Path], n: int, seed: int, pre: Preprocessing, stream: int = 0):
    """``n`` seeded random-resized crops (area 10..100 %, aspect 3/4..4/3, random flip) of the
    photos, each then preprocessed like any image: uint8 HWC crops."""
    from PIL import Image

    rng = np.random.default_rng([seed, stream])
    images = [load_rgb(p) for p in photos]
    for _ in progress(range(n), total=n, desc="calibration crops", unit="img"):
        img = images[int(rng.integers(len(images)))]
        w, h = img.size
        area = w * h * rng.uniform(0.10, 1.0)
        aspect = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
        cw = int(min(w, max(16, round(np.sqrt(area * aspect)))))
        ch = int(min(h, max(16, round(np.sqrt(area / aspect)))))
        left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img.crop((left, top, left + cw, top + ch))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        yield resize_crop(crop, pre)


def _photos_sha256(photos: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for p in photos:
        digest.update(f"{p.name} {sha256_file(p)}\n".encode())
    return digest.hexdigest()


def _from_bundled_photos(samples: int, seed: int, pre: Preprocessing, heldout: int) -> CalibrationSet:
    photos = bundled_photos()
    warning = BUNDLED_WARNING.format(n=len(photos))
    log.warning(warning)
    pixels = _stack(list(_photo_crops(photos, samples, seed, pre, stream=0)), pre)
    held = _stack(list(_photo_crops(photos, heldout, seed, pre, stream=1)), pre)
    description = {
        "source": "bundled photos", "layout": "random crops and flips of bundled photos",
        "photos": [p.name for p in photos], "labeled": False, "class_balanced": False,
        "count": int(len(pixels)), "requested": samples, "available": None, "skipped": 0,
        "skipped_files": [], "file_list_sha256": _photos_sha256(photos),
        "heldout_source": "other random crops of the same photos (not independent of calibration)",
        "warning": warning,
    }
    return CalibrationSet(pixels, held, description)
