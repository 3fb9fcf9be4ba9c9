"""Bare (``--bare``) INT8 exports take ImageNet-normalized input: they must be calibrated on
normalized images (not raw 0..255 pixels) and compared with FP32 on normalized input, and
predict must feed a bare quantized model normalized values (quantized with the input's scale)."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.appexport.feeding import decide_input
from ghostedge.model_report import ModelReport


def test_predict_feeds_a_bare_uint8_model_normalized_input():
    """A bare model's metadata declares mean 0 / std 1 for uint8 input, but the input is quantized
    *normalized* values: predict normalizes and quantizes with the input's scale/zero point."""
    bare_meta = {"inputs": [{"normalization": {"mean": [0.0], "std": [1.0]}}], "outputs": [{"name": "logits"}]}
    app_meta = {"inputs": [{"normalization": {"mean": [0.0], "std": [1.0]}}],
                "outputs": [{"name": "probabilities"}]}
    assert decide_input("auto", bare_meta, None, "uint8", []) == "normalized"
    assert decide_input("auto", None, ModelReport("int8", "m", app_ready=False), "uint8", []) == "normalized"
    assert decide_input("auto", bare_meta, ModelReport("int8", "m", app_ready=False), "uint8", []) == "normalized"
    assert decide_input("auto", app_meta, None, "uint8", []) == "pixels"
    assert decide_input("auto", app_meta, ModelReport("int8", "m", app_ready=True), "float32", []) == "pixels"


@pytest.mark.slow
def test_bare_int8_is_calibrated_on_normalized_input(tmp_path):
    from ghostedge.appexport.classifier import open_classifier
    from ghostedge.appexport.predict import classify
    from ghostedge.convert.pipeline import convert_torch_model as convert
    from ghostedge.quantize.options import Int8Options
    from ghostedge.data.preprocess import bundled_photos, get_preset
    from ghostedge.models.weights import load_model
    from ghostedge.quantize.calibration import build_calibration_set

    size = 96
    loaded = load_model("ghostnet_050", "random")
    pre = get_preset(loaded.preprocessing)
    calibration = build_calibration_set(None, 24, 0, pre, size, heldout=8)
    result = convert(loaded.model, name="ghostnet_050", output_dir=tmp_path, preprocessing=pre,
                     int8=Int8Options(io="float32"), calibration=calibration, bare=True,
                     image_size=size, source_info=loaded.weights_info)
    report = result.reports["int8"].to_dict()
    assert report["bare"] is True and report["int8_io"] == "float32"
    assert report["calibration_input"].startswith("normalized")
    fid = report["fidelity_vs_fp32"]
    # Calibrated on raw pixels, the INT8 model's ranges are ~100x too wide for normalized input
    # and its logits collapse (cosine ~0); calibrated on normalized input it tracks FP32 closely.
    assert fid["cosine_mean"] > 0.9, fid
    assert fid["top5_agreement"] >= 0.5, fid
    assert report["fidelity_vs_torch"]["logit_cosine_mean"] > 0.9

    # eval/predict: the report beside the file says "bare", so both feed normalized input.
    fp32 = open_classifier(str(result.artifacts["fp32"]))
    int8 = open_classifier(str(result.artifacts["int8"]))
    assert fp32.input_kind == int8.input_kind == "normalized"
    photo = bundled_photos()[0]
    p32 = np.array([t["probability"] for t in sorted(classify(fp32, photo, 1000).to_dict()["top"], key=lambda t: t["index"])])
    p8 = np.array([t["probability"] for t in sorted(classify(int8, photo, 1000).to_dict()["top"], key=lambda t: t["index"])])
    l32, l8 = np.log(p32) - np.log(p32).mean(), np.log(p8) - np.log(p8).mean()   # centered logits
    assert float(np.dot(l32, l8) / (np.linalg.norm(l32) * np.linalg.norm(l8))) > 0.9
