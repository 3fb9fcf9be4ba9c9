"""ghostedge.tflite.model: the one .tflite reader."""
from __future__ import annotations
import numpy as np
from ghostedge.tflite import read_model


def test_tflite_macs_counts_fully_connected(tmp_path):
    from quantize.tiny_tflite import build_classifier

    path = build_classifier(tmp_path / "m.tflite", np.ones((7, 3)))
    assert read_model(path).macs() == 7 * 3
