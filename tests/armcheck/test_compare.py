"""The comparator on hand-made outputs: a reference that differs must be caught, INT8 differences
are counted in quantization steps, ties do not count as disagreements, delegation is read from
the node list."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.armcheck import compare


def _probs(n: int = 4, classes: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (n, 1, classes))
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def test_identical_float_outputs_pass():
    ref = _probs()
    cmp = compare.compare_outputs(ref, ref.copy())
    assert cmp.identical and cmp.max_abs_diff == 0.0
    assert cmp.top1_agree == cmp.top5_agree == 4
    assert compare.judge(cmp, exact=False) is None


def test_float_rounding_within_tolerance_passes():
    ref = _probs()
    arm = ref.copy()
    arm[0, 0, 3] += np.float32(2e-7)  # a few ulps, what x86 vs ARM float kernels give
    cmp = compare.compare_outputs(ref, arm)
    assert not cmp.identical
    assert 1e-7 < cmp.max_abs_diff < compare.FLOAT_TOLERANCE
    assert compare.judge(cmp, exact=False) is None


def test_reference_that_differs_beyond_tolerance_is_caught():
    ref = _probs()
    arm = ref.copy()
    # 2e-3: what forced FP16 arithmetic moves GhostNet's probabilities by
    arm[1, 0, :] += np.float32(2e-3) * np.sign(np.arange(10) - 4.5).astype(np.float32)
    problem = compare.judge(compare.compare_outputs(ref, arm), exact=False)
    assert problem is not None and "max abs difference" in problem and "> 1e-05" in problem
    assert compare.judge(compare.compare_outputs(ref, arm), exact=False, tolerance=1e-2) is None


def test_swapped_top5_ranks_are_caught_even_within_tolerance():
    ref = np.array([[[0.30, 0.25, 0.20, 0.15, 0.0500004, 0.0499996]]], np.float32)
    arm = ref.copy()
    arm[0, 0, 4], arm[0, 0, 5] = ref[0, 0, 5], ref[0, 0, 4]  # ranks 5 and 6 swap: 8e-7 apart
    cmp = compare.compare_outputs(ref, arm)
    assert cmp.max_abs_diff < compare.FLOAT_TOLERANCE
    assert cmp.top5_agree == 0
    assert "top-5 differs on 1 of 1" in compare.judge(cmp, exact=False)


def test_ties_broken_differently_are_not_disagreements():
    ref = np.array([[0.4, 0.2, 0.2, 0.1, 0.05, 0.05]], np.float32)
    arm = np.array([[0.4, 0.2, 0.2, 0.1, 0.05, 0.05]], np.float32)[:, [0, 2, 1, 3, 5, 4]]
    assert compare.top_matches(ref.astype(np.float64), arm.astype(np.float64)).all()
    cmp = compare.compare_outputs(ref, arm)
    assert cmp.top5_agree == 1 and cmp.top1_agree == 1


def test_int8_identical_and_step_counting():
    ref = np.zeros((2, 1, 8), np.uint8)
    ref[0, 0, :3] = [200, 40, 16]
    ref[1, 0, :3] = [100, 90, 66]
    assert compare.judge(compare.compare_outputs(ref, ref.copy(), (1 / 256, 0)), exact=True) is None

    arm = ref.copy()
    arm[0, 0, 1] = 45   # +5 steps
    arm[1, 0, 2] = 65   # -1 step
    arm[1, 0, 7] = 1    # +1 step on a zero
    cmp = compare.compare_outputs(ref, arm, (1 / 256, 0), names=["chelsea.png", "random-0"])
    q = cmp.quantized
    assert (q.values, q.differing, q.max_steps) == (16, 3, 5)
    assert q.histogram == {5: 1, 1: 2}
    assert q.listed[0] == {"input": "chelsea.png", "index": 1, "reference": 40, "arm": 45, "steps": 5}
    assert {v["input"] for v in q.listed} == {"chelsea.png", "random-0"}
    assert cmp.max_abs_diff == pytest.approx(5 / 256)
    problem = compare.judge(cmp, exact=True)
    assert "3 of 16 output values differ" in problem
    assert "up to 5 quantization step(s) (at most 1 allowed)" in problem
    assert q.to_dict()["histogram"] == {"1": 2, "5": 1}


def test_int8_one_step_is_a_rounding_tie_unless_strict_or_top5_moves():
    ref = np.zeros((1, 1, 8), np.uint8)
    ref[0, 0, :6] = [90, 60, 40, 31, 30, 10]
    arm = ref.copy()
    arm[0, 0, 5] = 11  # one step on the 6th class: top-5 unchanged
    cmp = compare.compare_outputs(ref, arm, (1 / 256, 0))
    assert not cmp.identical and cmp.quantized.max_steps == 1
    assert compare.judge(cmp, exact=True) is None
    assert "INT8 must be bit-exact" in compare.judge(cmp, exact=True, max_steps=0)
    swap = ref.copy()
    swap[0, 0, 3], swap[0, 0, 4] = 30, 31  # ranks 4 and 5 swap, one step each
    problem = compare.judge(compare.compare_outputs(ref, swap, (1 / 256, 0)), exact=True)
    assert "up to 1 quantization step(s)" in problem and "top-5 differs on 1 of 1 inputs" in problem


def test_int8_quantized_values_are_dequantized_with_zero_point():
    raw = np.array([[[-128, -126, -127]]], np.int8)
    p = compare.probabilities(raw, (0.5, -128))
    assert p.tolist() == [[0.0, 1.0, 0.5]]


def test_logits_are_compared_as_probabilities():
    logits = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    shifted = logits + np.float32(10.0)  # same softmax: a bare model's logits may shift
    cmp = compare.compare_outputs(logits, shifted, logits=True)
    assert cmp.max_abs_diff < 1e-7
    assert compare.judge(cmp, exact=False) is None


def test_outputs_of_another_shape_are_an_error():
    with pytest.raises(ValueError, match="outputs differ in form"):
        compare.compare_outputs(np.zeros((1, 10), np.float32), np.zeros((1, 11), np.float32))


def test_delegation_walks_partitions():
    # tiny INT8 graph: QUANTIZE -> CONV -> DW -> MEAN -> FC -> SOFTMAX -> QUANTIZE, XNNPACK took 4
    ops = [{"op": "QUANTIZE", "inputs": [0], "outputs": [7]},
           {"op": "CONV_2D", "inputs": [7, 6, 4], "outputs": [8]},
           {"op": "DEPTHWISE_CONV_2D", "inputs": [8, 3, 5], "outputs": [9]},
           {"op": "MEAN", "inputs": [9, 1], "outputs": [10]},
           {"op": "FULLY_CONNECTED", "inputs": [10, 2, -1], "outputs": [11]},
           {"op": "SOFTMAX", "inputs": [11], "outputs": [12]},
           {"op": "QUANTIZE", "inputs": [12], "outputs": [13]},
           {"op": "DELEGATE", "inputs": [1, 2, 3, 4, 5, 6, 7], "outputs": [11]}]
    d = compare.delegation(ops)
    assert (d.total, d.delegated, d.partitions) == (7, 4, 1)
    assert d.not_delegated == {"QUANTIZE": 2, "SOFTMAX": 1}
    assert d.summary() == "4/7 ops in XNNPACK; builtin kernels: QUANTIZE x2, SOFTMAX"
    nodelegate = compare.delegation(ops[:-1])
    assert (nodelegate.delegated, nodelegate.partitions) == (0, 0)
    everything = compare.delegation(ops[:-1] + [{"op": "DELEGATE", "inputs": [0, 1, 2, 3, 4, 5, 6],
                                                 "outputs": [13]}])
    assert everything.all_delegated and everything.summary() == "7/7 ops in XNNPACK"
