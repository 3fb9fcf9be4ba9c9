"""The calibration images as TFLiteConverter's representative dataset: one float32 image per step."""
from __future__ import annotations

from typing import Iterator, List, Optional

import numpy as np

from ghostedge.data.preprocess import Preprocessing, normalize
from ghostedge.progress import progress


def calibration_batches(pixels: np.ndarray, normalize_with: Optional[Preprocessing] = None
                        ) -> Iterator[List[np.ndarray]]:
    """One float32 image per step (batch 1): raw pixels, or normalized for bare models."""
    for i in range(len(pixels)):
        x = pixels[i:i + 1]
        yield [normalize(x, normalize_with) if normalize_with is not None else x.astype(np.float32)]


def representative_batches(pixels: np.ndarray, normalize_with: Optional[Preprocessing] = None
                           ) -> Iterator[List[np.ndarray]]:
    """The converter's representative dataset, with a progress bar over calibration."""
    yield from progress(calibration_batches(pixels, normalize_with), total=len(pixels),
                        desc="INT8 calibration", unit="img")
