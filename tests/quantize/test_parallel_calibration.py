"""Merging two calibration passes: each tensor's range becomes the union of both."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.quantize.parallel_calibration import merge_calibrated, minmax_offsets
from quantize.tiny_tflite import build_classifier


def _ranges(data: bytes) -> list:
    import struct

    buf = bytearray(data)
    return [(struct.unpack_from("<f", buf, a)[0], struct.unpack_from("<f", buf, b)[0])
            for a, b in minmax_offsets(buf).values()]


def test_merge_takes_min_of_minima_and_max_of_maxima(tmp_path):
    a = build_classifier(tmp_path / "a.tflite", np.eye(3), mean_range=(-1.0, 2.0)).read_bytes()
    b = build_classifier(tmp_path / "b.tflite", np.eye(3), mean_range=(-3.0, 1.5)).read_bytes()
    assert _ranges(a) == [(-1.0, 2.0)]
    assert _ranges(merge_calibrated(a, b)) == [(-3.0, 2.0)]
    assert _ranges(merge_calibrated(b, a)) == [(-3.0, 2.0)]


def test_merge_refuses_passes_over_different_tensors(tmp_path):
    a = build_classifier(tmp_path / "a.tflite", np.eye(3), mean_range=(-1.0, 2.0)).read_bytes()
    plain = build_classifier(tmp_path / "p.tflite", np.eye(3)).read_bytes()
    with pytest.raises(ValueError, match="different tensors"):
        merge_calibrated(a, plain)
