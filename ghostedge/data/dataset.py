"""A dataset as ghostedge sees it: image files with optional class indices, each real file once."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

Sample = Tuple[Path, Optional[int]]


@dataclass
class Dataset:
    """A list of image files with optional class indices."""

    root: Path
    layout: str                                  # imagefolder | imagenet-val | list | flat
    samples: List[Sample]
    num_classes: Optional[int] = None            # None when unlabeled
    class_names: Optional[List[str]] = None      # index → name, when known
    imagenet: bool = False                       # labels are ImageNet-1k class indices
    notes: List[str] = field(default_factory=list)

    @property
    def labeled(self) -> bool:
        return bool(self.samples) and all(label is not None for _, label in self.samples)

    def describe(self) -> Dict[str, object]:
        """A JSON-friendly summary for reports."""
        return {"path": str(self.root), "layout": self.layout, "images": len(self.samples),
                "labeled": self.labeled, "num_classes": self.num_classes,
                "imagenet_labels": self.imagenet, "notes": list(self.notes)}


def unique_samples(samples: List[Sample]) -> Tuple[List[Sample], List[str]]:
    """``samples`` with every real file once (first occurrence kept, in order): links to the same
    image, or a list naming a file twice, do not make one image count as many. Returns the samples
    and notes saying what was dropped (and where one file carried two different labels)."""
    seen: Dict[str, Optional[int]] = {}
    kept: List[Sample] = []
    duplicates = conflicts = 0
    example = ""
    for path, label in samples:
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError):
            real = str(path)
        if real in seen:
            duplicates += 1
            example = example or str(path)
            if seen[real] != label:
                conflicts += 1
            continue
        seen[real] = label
        kept.append((path, label))
    notes = []
    if duplicates:
        notes.append(f"skipped {duplicates} path(s) leading to an image already listed (links or "
                     f"repeated entries; e.g. {example}): each image counts once")
    if conflicts:
        notes.append(f"{conflicts} of them carried another class than the first path to the same "
                     "image; the first path's class was kept")
    return kept, notes
