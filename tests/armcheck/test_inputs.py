"""What every runtime is fed: photos preprocessed as the report says plus seeded random inputs,
raw uint8 pixels for INT8 app-ready models, normalized values for bare ones; and the x86
reference computed from exactly those bytes."""
from __future__ import annotations

import numpy as np
import pytest

from armcheck.fakes import TINY
from ghostedge.armcheck import ArmCheckError
from ghostedge.armcheck.inputs import input_detail, model_inputs, x86_reference
from ghostedge.data.preprocess import bundled_photos, for_image_size, get_preset, load_pixels, normalize
from ghostedge.model_report import ModelReport
from ghostedge.tflite import read_model


def _detail(shape, dtype, quant=(0.0, 0)):
    return {"shape": np.array(shape), "dtype": np.dtype(dtype), "quantization": quant}


def test_uint8_app_ready_input_gets_raw_pixels():
    inputs = model_inputs(input_detail(read_model(TINY["int8"])), None, random_inputs=2)
    photos = bundled_photos()
    assert inputs.photos == len(photos) == 5
    assert inputs.names == [p.name for p in photos] + ["random-0", "random-1"]
    assert inputs.array.shape == (7, 1, 32, 32, 3) and inputs.array.dtype == np.uint8
    pre = for_image_size(get_preset("torchvision"), 32)
    np.testing.assert_array_equal(inputs.array[0, 0], load_pixels(photos[0], pre))
    assert "raw pixels 0..255" in inputs.description


def test_float_input_and_seeded_random_inputs():
    a = model_inputs(_detail([1, 32, 32, 3], np.float32), None, random_inputs=3)
    b = model_inputs(_detail([1, 32, 32, 3], np.float32), None, random_inputs=3)
    assert a.array.dtype == np.float32 and a.array.max() > 1.5  # raw 0..255, not normalized
    np.testing.assert_array_equal(a.array, b.array)  # seeded: the same inputs every run
    assert not np.array_equal(a.array[5], a.array[6])


def test_bare_model_gets_normalized_values_with_the_reports_preprocessing():
    report = ModelReport(kind="fp32", model_name="tiny", file="t.tflite", app_ready=False,
                         preprocessing={"name": "paddle"})
    inputs = model_inputs(_detail([1, 3, 32, 32], np.float32), report, random_inputs=0)
    pre = for_image_size(get_preset("paddle"), 32)
    expected = normalize(load_pixels(bundled_photos()[1], pre).astype(np.float32), pre).transpose(2, 0, 1)
    np.testing.assert_allclose(inputs.array[1, 0], expected, rtol=0, atol=1e-6)
    assert "paddle preprocessing" in inputs.description and "normalized" in inputs.description

    quantized = model_inputs(_detail([1, 32, 32, 3], np.int8, (0.02, -3)), report, random_inputs=0)
    expected_q = np.clip(np.round(normalize(load_pixels(bundled_photos()[0], pre).astype(np.float32), pre)
                                  / 0.02 - 3), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(quantized.array[0, 0], expected_q)


def test_non_image_input_gets_random_inputs_only():
    inputs = model_inputs(_detail([1, 16], np.float32), None, random_inputs=2)
    assert inputs.photos == 0 and inputs.array.shape == (2, 1, 16)
    ints = model_inputs(_detail([1, 4], np.int8), None, random_inputs=1)
    assert ints.array.dtype == np.int8
    with pytest.raises(ArmCheckError, match="No inputs to check with"):
        model_inputs(_detail([1, 16], np.float32), None, random_inputs=0)


def test_x86_reference_keeps_raw_outputs():
    inputs = model_inputs(input_detail(read_model(TINY["int8"])), None, random_inputs=1)
    ref = x86_reference(TINY["int8"], inputs)
    assert ref.error is None and ref.outputs.dtype == np.uint8 and ref.outputs.shape == (6, 1, 20)
    assert ref.output_quantization == (pytest.approx(1 / 256), 0)
    assert ref.runtime.startswith("x86 ai-edge-litert")
    assert ref.ops[-1]["op"] == "DELEGATE"


def test_x86_reference_of_a_model_the_host_cannot_load():
    inputs = model_inputs(input_detail(read_model(TINY["custom_op"])), None, random_inputs=1)
    ref = x86_reference(TINY["custom_op"], inputs)
    assert ref.outputs is None and "GhostEdgeNoSuchOp" in ref.error
