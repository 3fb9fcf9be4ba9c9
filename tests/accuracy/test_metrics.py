"""Accuracy arithmetic, tie-breaking, MAC counting and the seed-format table."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.accuracy.metrics import ModelAccuracy, accuracy, topk_correct
from ghostedge.scores import topk_indices
from ghostedge.accuracy.table import HEADER, format_footer, format_table
from ghostedge.accuracy.targets import params_for
from ghostedge.models.registry import get_spec


def test_topk_correct_counts_top1_and_top5_hits():
    topk = np.array([[3, 1, 2, 0, 4], [0, 1, 2, 3, 4], [9, 8, 7, 6, 5]])
    assert topk_correct(topk, [3, 4, 1]) == (1, 2)
    acc = accuracy(topk, [3, 4, 1])
    assert acc["top1"] == pytest.approx(1 / 3) and acc["top5"] == pytest.approx(2 / 3)
    assert acc["images"] == 3




def test_ties_are_not_broken_by_class_index():
    """uint8 outputs tie often; the lowest index must not win every tie (it would inflate
    accuracy of low-numbered classes)."""
    scores = np.zeros((1, 1000))
    winners = topk_indices(scores, 5)[0]
    assert sorted(winners.tolist()) != [0, 1, 2, 3, 4]
    again = topk_indices(scores, 5)[0]
    assert winners.tolist() == again.tolist()  # deterministic


def test_params_for_other_class_counts():
    spec = get_spec("ghostnet_100")
    assert params_for(spec, 1000) == 5_182_508
    assert params_for(spec, 10) == 5_182_508 - 1281 * 990


def test_table_has_the_seed_format():
    rows = [ModelAccuracy("GhostNet_x1_0 INT8", "a.tflite", 100, 0.7312, 0.9101, 73, 91,
                       reference_top1=0.7398, reference_top5=0.9146, flops_g=0.2823, params_m=5.1825),
            ModelAccuracy("mystery.tflite", "b.tflite", 100, 0.5, 0.75, 50, 75, skipped=2)]
    text = format_table(rows).splitlines()
    assert text[0] == HEADER == "| Models | Top1 | Top5 | Reference top1 | Reference top5 | FLOPs(G) | Params(M) |"
    assert text[2] == "| GhostNet_x1_0 INT8 | 0.731 | 0.910 | 0.740 | 0.915 | 0.282 | 5.183 |"
    assert text[3] == "| mystery.tflite | 0.500 | 0.750 | - | - | - | - |"
    footer = format_footer(rows, "val", "imagefolder")
    assert "100 images from val (imagefolder)" in footer and "mystery.tflite: 2 unreadable" in footer


