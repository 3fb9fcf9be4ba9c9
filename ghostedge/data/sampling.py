"""Drawing samples from a ``Dataset`` and loading their pixels.

``sample`` draws a deterministic, seeded (class-balanced when labeled) selection; ``file_list_sha256``
fingerprints a selection; ``load_pixels_skipping`` / ``load_sample_pixels`` preprocess images to
raw-pixel crops, skipping (and replacing) files that cannot be read.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple, Union

import numpy as np

from ghostedge.data.dataset import Dataset, Sample
from ghostedge.data.preprocess import Preprocessing, get_preset, load_pixels
from ghostedge.errors import DataError, GhostEdgeError
from ghostedge.progress import progress

log = logging.getLogger(__name__)


def _ordering(dataset: Dataset, seed: int, exclude: Iterable) -> List[Sample]:
    """Every usable sample in a deterministic seeded order, class-balanced when labeled
    (round-robin over shuffled classes, each class shuffled)."""
    excluded = {Path(e[0] if isinstance(e, tuple) else e) for e in exclude}
    pool = [s for s in dataset.samples if s[0] not in excluded]
    rng = random.Random(seed)
    if not dataset.labeled:
        rng.shuffle(pool)
        return pool
    by_class: Dict[int, List[Sample]] = defaultdict(list)
    for s in pool:
        by_class[s[1]].append(s)
    classes = sorted(by_class)
    rng.shuffle(classes)
    for c in classes:
        rng.shuffle(by_class[c])
    order: List[Sample] = []
    for i in range(max((len(v) for v in by_class.values()), default=0)):
        order.extend(by_class[c][i] for c in classes if i < len(by_class[c]))
    return order


def sample(dataset: Dataset, n: int, seed: int = 0, exclude: Iterable = ()) -> List[Sample]:
    """``n`` samples drawn deterministically with ``seed`` (class-balanced when labeled), leaving
    out ``exclude`` (paths or samples). DataError when ``n <= 0`` or more than available."""
    if n <= 0:
        raise DataError(f"Cannot draw {n} samples", "the sample count must be at least 1",
                        "Pass a positive number of samples")
    order = _ordering(dataset, seed, exclude)
    if n > len(order):
        raise DataError(f"Asked for {n} images from {dataset.root}",
                        f"only {len(order)} were found"
                        + (f" ({len(dataset.samples) - len(order)} excluded)" if len(order) < len(dataset.samples) else ""),
                        f"Ask for at most {len(order)}, or add images")
    return order[:n]


def file_list_sha256(samples: Sequence[Sample]) -> str:
    """SHA-256 of the sample list in its order (paths relative to their common folder, labels),
    so the same selection hashes the same on any machine."""
    paths = [Path(p) for p, _ in samples]
    base = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else Path(".")
    digest = hashlib.sha256()
    for p, label in samples:
        digest.update(f"{Path(os.path.relpath(p, base)).as_posix()}\t{'' if label is None else label}\n"
                      .encode("utf-8"))
    return digest.hexdigest()


def load_pixels_skipping(samples: Sequence[Sample], pre: Union[Preprocessing, str]
                         ) -> Tuple[np.ndarray, np.ndarray, List[Tuple[Path, str]]]:
    """Preprocess ``samples`` to raw-pixel crops, skipping files that cannot be read.

    Returns ``(pixels uint8 NHWC, labels int64 (-1 = unlabeled), skipped [(path, reason)])``.
    """
    pre = get_preset(pre) if isinstance(pre, str) else pre
    pixels, labels, skipped = [], [], []
    for path, label in progress(samples, total=len(samples), desc="images", unit="img"):
        try:
            pixels.append(load_pixels(path, pre))
        except GhostEdgeError as exc:
            skipped.append((Path(path), exc.why or exc.what))
            continue
        except Exception as exc:  # noqa: BLE001 - a broken file must not stop a 50 000-image run
            skipped.append((Path(path), f"{type(exc).__name__}: {exc}"))
            continue
        labels.append(-1 if label is None else int(label))
    if skipped:
        log.warning("skipped %d unreadable images of %d (first: %s: %s)", len(skipped), len(samples),
                    skipped[0][0], skipped[0][1])
    batch = (np.stack(pixels) if pixels else np.zeros((0, pre.crop, pre.crop, 3), np.uint8))
    return batch, np.asarray(labels, np.int64), skipped


def load_sample_pixels(dataset: Dataset, n: int, pre: Union[Preprocessing, str], seed: int = 0,
                       exclude: Iterable = ()):
    """``n`` usable images drawn like ``sample``; unreadable files are skipped and replaced by the
    next in the seeded order. Returns ``(pixels, labels, used samples, skipped)``; DataError when
    fewer than ``n`` usable images exist (it says how many)."""
    order = _ordering(dataset, seed, exclude)
    sample(dataset, n, seed, exclude)  # validates n against what exists
    pixels, labels, used, skipped = [], [], [], []
    start = 0
    while len(used) < n and start < len(order):
        batch = order[start:start + n - len(used)]
        start += len(batch)
        px, lb, sk = load_pixels_skipping(batch, pre)
        bad = {p for p, _ in sk}
        used.extend(s for s in batch if Path(s[0]) not in bad)
        pixels.append(px)
        labels.append(lb)
        skipped.extend(sk)
    if len(used) < n:
        raise DataError(f"Only {len(used)} usable images in {dataset.root}, {n} asked",
                        f"{len(order)} found, {len(skipped)} unreadable (e.g. {skipped[0][0].name}: "
                        f"{skipped[0][1]})" if skipped else f"{len(order)} found",
                        f"Ask for at most {len(used)}, or fix the unreadable files")
    return np.concatenate(pixels), np.concatenate(labels), used, skipped
