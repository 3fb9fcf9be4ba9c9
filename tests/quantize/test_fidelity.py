"""INT8-vs-FP32 output agreement and the per-layer table (fast, synthetic; the real models are
compared in test_quantize_tiny_tf.py and test_quantize_trained.py)."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.errors import QuantizationError
from ghostedge.quantize.fidelity import compare_int8, format_layer_table, output_agreement
from quantize.tiny_tflite import build_classifier


def test_identical_outputs_agree_fully():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10), size=8)
    r = output_agreement(p, p.copy())
    assert r["top1_agreement"] == 1.0 and r["top5_agreement"] == 1.0 and r["top5_overlap"] == 1.0
    assert r["cosine_mean"] == pytest.approx(1.0) and r["max_abs_diff"] == 0.0 and r["images"] == 8


def test_disagreement_is_measured():
    fp32 = np.array([[0.6, 0.3, 0.1, 0.0, 0.0, 0.0], [0.1, 0.8, 0.1, 0.0, 0.0, 0.0]])
    int8 = np.array([[0.3, 0.6, 0.1, 0.0, 0.0, 0.0], [0.1, 0.8, 0.1, 0.0, 0.0, 0.0]])
    r = output_agreement(fp32, int8)
    assert r["top1_agreement"] == 0.5 and r["top5_agreement"] == 1.0
    assert r["max_abs_diff"] == pytest.approx(0.3) and r["cosine_min"] < 1.0


def _row(name, lost, rmse):
    return {"tensor": name, "layer": name, "op": "CONV_2D", "shape": [1, 7, 7, 80], "scale": 0.1403,
            "rmse": rmse * 0.1403, "rmse_over_scale": rmse, "cosine": 1 - lost, "cosine_lost": lost}


def test_layer_table_lists_worst_first_and_truncates():
    rows = [_row(f"layer_{i}", 0.1 / (i + 1), 4.0) for i in range(20)]
    rows[3]["layer"] = "x" * 80
    text = format_layer_table(rows, top=5).splitlines()
    assert text[0].startswith("Per-layer INT8 error (worst 5 of 20")
    assert text[1] == "| # | layer | op | shape | scale | RMSE/scale | cosine | cos lost |"
    assert text[3] == "| 1 | layer_0 | CONV_2D | 7x7x80 | 0.1403 | 4.00 | 0.9000 | 0.1000 |"
    assert len(text) == 3 + 5 and ("x" * 45 + "...") in text[6]


def test_compare_needs_heldout_images(tmp_path):
    a = build_classifier(tmp_path / "a.tflite", np.eye(3))
    with pytest.raises(QuantizationError, match="No held-out images"):
        compare_int8(a, a, np.zeros((0, 16, 16, 3), np.uint8))


def test_compare_runs_hand_built_float_and_integer_models(tmp_path):
    """The integer twin of a float model: agreement is computed, tensors matched by name."""
    fp32 = build_classifier(tmp_path / "m.fp32.tflite", np.eye(3), mode="float")
    int8 = build_classifier(tmp_path / "m.int8.tflite", np.eye(3), mode="int8")
    pixels = np.zeros((3, 16, 16, 3), np.uint8)
    for c in range(3):
        pixels[c, ..., c] = 200
    r = compare_int8(fp32, int8, pixels)
    assert r["images"] == 3 and r["top1_agreement"] == 1.0
    assert r["layers_matched"] >= 2
    assert {row["layer"] for row in r["layers"]} >= {"mean", "logits"}
    assert all(0.0 <= row["cosine_lost"] <= 2.0 for row in r["layers"])


def test_tied_uint8_maxima_are_reported_and_a_constant_output_never_agrees():
    """UAT: a 10-class model with tied uint8 outputs showed top-1 0%, top-5 100%, cosine 1.0;
    a constant INT8 output (every class tied) must read as no agreement at all, not 100 %."""
    rng = np.random.default_rng(3)
    fp32 = 0.1 + rng.normal(0, 1e-4, (12, 10))
    fp32 /= fp32.sum(axis=1, keepdims=True)
    int8 = np.full_like(fp32, 26 / 256)          # every class rounds to the same uint8 step
    r = output_agreement(fp32, int8)
    assert r["constant_output"]
    assert r["top1_agreement"] == 0.0 and r["top5_agreement"] == 0.0
    assert r["top1_tied_images"] == 12 and "tie" in r["tie_rule"]
    # a tie among a few classes that include FP32's top-1 does agree
    f = np.array([[0.5, 0.3, 0.1, 0.1, 0, 0, 0]])
    q = np.array([[0.4, 0.4, 0.1, 0.1, 0, 0, 0]])
    r = output_agreement(f, q)
    assert r["top1_agreement"] == 1.0 and r["top5_agreement"] == 1.0
    assert r["top1_agreement"] >= r["top1_agreement_strict"]
    # a partial tie: FP32's top-1 among two tied INT8 maxima agrees; outside them it does not
    f = np.array([[0.5, 0.3, 0.2, 0, 0, 0], [0.5, 0.3, 0.2, 0, 0, 0]])
    q = np.array([[0.4, 0.4, 0.2, 0, 0, 0], [0.3, 0.4, 0.3, 0, 0, 0]])
    r = output_agreement(f, q)
    assert r["top1_agreement"] == 0.5 and r["top1_tied_images"] == 1 and not r["constant_output"]


def test_constant_or_disagreeing_int8_output_warns_with_causes(tmp_path, caplog):
    import logging

    from ghostedge.quantize.fidelity import agreement_warnings

    rng = np.random.default_rng(0)
    fp32 = rng.dirichlet(np.ones(1000) * 50, size=20)      # untrained: every p ~ 1e-3 < 1/256
    zeros = agreement_warnings(output_agreement(fp32, np.zeros_like(fp32)))
    assert len(zeros) == 1 and "constant" in zeros[0] and "1/256" in zeros[0] and "calibration" in zeros[0]
    other = rng.dirichlet(np.ones(1000) * 0.05, size=20)
    poor = agreement_warnings(output_agreement(fp32, other))
    assert len(poor) == 1 and "agrees poorly" in poor[0] and "--calib" in poor[0]
    assert agreement_warnings(output_agreement(fp32, fp32.copy())) == []
    few = agreement_warnings(output_agreement(fp32[:1], fp32[:1].copy()))
    assert len(few) == 1 and "only 1 held-out image" in few[0]
    # compare_int8 logs them (the CLI shows warnings) and records them in the report
    fp = build_classifier(tmp_path / "m.fp32.tflite", np.eye(3), mode="float")
    q = build_classifier(tmp_path / "m.int8.tflite", np.eye(3), mode="int8")
    with caplog.at_level(logging.WARNING, logger="ghostedge"):
        r = compare_int8(fp, q, np.full((2, 16, 16, 3), 200, np.uint8))
    assert any("only 2 held-out image" in w for w in r["warnings"])
    assert any("INT8 fidelity" in rec.getMessage() and rec.levelno == logging.WARNING
               for rec in caplog.records)
