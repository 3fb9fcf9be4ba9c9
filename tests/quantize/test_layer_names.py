"""GhostNet module names in the per-layer INT8 table (ghostedge.quantize.layer_names): fast tests of
the matching on synthetic weights and name lists, and one real conversion (slow)."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.quantize.fidelity import format_layer_table
from ghostedge.quantize.layer_names import label_ops, match_weights, module_path


def test_module_path_from_torchscript_onnx_node_names():
    assert module_path("/net/blocks/blocks.9/blocks.9.0/conv/Conv") == "blocks.9.0.conv"
    assert module_path("/net/blocks/blocks.6/blocks.6.3/ghost1/primary_conv/primary_conv.0/Conv") \
        == "blocks.6.3.ghost1.primary_conv.0"
    assert module_path("/blocks/blocks.6/blocks.6.3/se/conv_reduce/Conv") == "blocks.6.3.se.conv_reduce"
    assert module_path("/net/conv_stem/Conv") == "conv_stem"
    assert module_path("/classifier/Gemm") == "classifier"
    assert module_path("Conv_12") == "" and module_path("") == ""


def _onnx_conv(rng, o, i, k):
    return rng.normal(size=(o, i, k, k)).astype(np.float32)


def test_weights_are_matched_by_values_not_by_order():
    """onnx2tf's counters do not follow the ONNX order, and grouped convolutions become CONV_2D or
    DEPTHWISE_CONV_2D: the match uses the filter values in TFLite layout, in any order."""
    rng = np.random.default_rng(0)
    stem, dw, sc, fc = (_onnx_conv(rng, 8, 3, 3), _onnx_conv(rng, 12, 1, 3), _onnx_conv(rng, 8, 1, 3),
                        rng.normal(size=(10, 16)).astype(np.float32))
    same_shape = _onnx_conv(rng, 8, 3, 3)
    onnx_side = [("conv_stem", stem), ("blocks.0.0.conv_dw", dw), ("blocks.0.0.shortcut.0", sc),
                 ("other", same_shape), ("classifier", fc)]
    tflite_side = [
        ("tf.nn.convolution_4", sc.transpose(0, 2, 3, 1)),          # grouped conv kept as CONV_2D
        ("tf.compat.v1.nn.depthwise_conv2d", dw.transpose(1, 2, 3, 0)),
        ("tf.nn.convolution", stem.transpose(0, 2, 3, 1)),
        ("tf.linalg.matmul", fc),
        ("unknown", rng.normal(size=(8, 3, 3, 3)).astype(np.float32)),   # right shape, other values
    ]
    got = match_weights(onnx_side, tflite_side)
    assert got == {"tf.nn.convolution_4": "blocks.0.0.shortcut.0",
                   "tf.compat.v1.nn.depthwise_conv2d": "blocks.0.0.conv_dw",
                   "tf.nn.convolution": "conv_stem", "tf.linalg.matmul": "classifier"}


def test_ambiguous_weights_stay_unnamed():
    w = np.ones((4, 4, 1, 1), np.float32)       # e.g. constant-initialized: two modules look alike
    other = np.arange(16, dtype=np.float32).reshape(4, 4, 1, 1)
    got = match_weights([("a", w), ("b", w.copy()), ("c", other)],
                        [("t1", w.transpose(0, 2, 3, 1)), ("t2", other.transpose(0, 2, 3, 1))])
    assert got == {"t2": "c"}
    # one ONNX weight equal to two filters: neither is named
    assert match_weights([("a", other)], [("t1", other.transpose(0, 2, 3, 1)),
                                          ("t2", other.transpose(0, 2, 3, 1))]) == {}
    # an unnamed ONNX node gives no name
    assert match_weights([("", other)], [("t", other.transpose(0, 2, 3, 1))]) == {}


def test_ops_without_weights_get_the_module_feeding_them():
    ops = [(["in"], ["mul"]),                 # before any weighted op: no name
           (["mul"], ["conv"]),
           (["conv"], ["dw"]),
           (["conv", "dw"], ["concat"]),
           (["concat", "in"], ["add"]),
           (["add"], ["pad"]),
           (["pad"], ["mean"])]
    labels = label_ops(ops, {"conv": "blocks.0.0.ghost1.primary_conv.0",
                             "dw": "blocks.0.0.ghost1.cheap_operation.0"})
    assert labels["conv"] == "blocks.0.0.ghost1.primary_conv.0"
    assert labels["concat"] == "blocks.0.0.ghost1.primary_conv.0 (after)"
    assert labels["mean"] == "blocks.0.0.ghost1.primary_conv.0 (after)"
    assert "mul" not in labels and "in" not in labels


def _row(name, module, lost=0.1):
    return {"tensor": name, "layer": name, "module": module, "op": "CONV_2D", "shape": [1, 7, 7, 80],
            "scale": 0.1403, "rmse": 0.5, "rmse_over_scale": 4.0, "cosine": 1 - lost, "cosine_lost": lost}


def test_layer_table_has_a_module_column_when_names_are_known():
    rows = [_row("tf.nn.convolution_52/convolution", "blocks.9.0.conv"), _row("tf.math.add_2/Add", "", 0.05)]
    text = format_layer_table(rows).splitlines()
    assert "'module' = GhostNet module" in text[0]
    assert text[1] == "| # | layer | module | op | shape | scale | RMSE/scale | cosine | cos lost |"
    assert text[2].count("|") == text[1].count("|")
    assert text[3] == ("| 1 | tf.nn.convolution_52/convolution | blocks.9.0.conv | CONV_2D | 7x7x80 | "
                       "0.1403 | 4.00 | 0.9000 | 0.1000 |")
    assert "| 2 | tf.math.add_2/Add | - | CONV_2D |" in text[4]
    plain = format_layer_table([_row("x", "")]).splitlines()
    assert plain[1] == "| # | layer | op | shape | scale | RMSE/scale | cosine | cos lost |"


@pytest.mark.slow
def test_real_conversion_names_every_weighted_layer(tmp_path):
    """A real ghostnet_050 conversion: every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED row is
    named after a real torch module whose weight shape (in TFLite layout) is the INT8 filter's."""
    from ghostedge.convert.pipeline import convert_torch_model as convert
    from ghostedge.quantize.options import Int8Options
    from ghostedge.data.preprocess import get_preset
    from ghostedge.models.weights import load_model
    from ghostedge.quantize.calibration import build_calibration_set
    from ghostedge.quantize.fidelity import _debug_interpreter, _match_key

    size = 64
    loaded = load_model("ghostnet_050", "random")
    pre = get_preset(loaded.preprocessing)
    calibration = build_calibration_set(None, 8, 0, pre, size, heldout=4)
    result = convert(loaded.model, name="g", output_dir=tmp_path, preprocessing=pre, int8=Int8Options(explain=True),
                     calibration=calibration, image_size=size)
    fid = result.reports["int8"].to_dict()["fidelity_vs_fp32"]
    summary = fid["module_names"]
    assert summary["weighted_ops"] == summary["matched"] == summary["onnx_weighted_nodes"] > 90, summary
    assert "| module |" in result.layer_table

    weighted = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    module_of = {_match_key(r["tensor"]): r["module"] for r in fid["layers"]}
    torch_modules = dict(loaded.model.named_modules())
    q = _debug_interpreter(result.artifacts["int8"])
    details = {d["index"]: d for d in q.get_tensor_details()}
    checked, seen = 0, set()
    for op in q._get_ops_details():
        if op["op_name"] not in weighted:
            continue
        module = module_of.get(_match_key(details[op["outputs"][0]]["name"]))
        assert module and not module.endswith("(after)"), (op["op_name"], module)
        assert module not in seen, module
        seen.add(module)
        w = torch_modules[module].weight.detach().numpy()
        expected = {"CONV_2D": lambda: w.transpose(0, 2, 3, 1).shape,
                    "DEPTHWISE_CONV_2D": lambda: w.transpose(1, 2, 3, 0).shape,
                    "FULLY_CONNECTED": lambda: w.shape}[op["op_name"]]()
        assert tuple(details[op["inputs"][1]]["shape"]) == expected, (module, op["op_name"])
        checked += 1
    assert checked == summary["weighted_ops"]
    assert {"conv_stem", "classifier", "blocks.9.0.conv", "blocks.6.3.se.conv_reduce",
            "blocks.6.3.ghost1.primary_conv.0"} <= seen
    # ops without weights are either "(after)" a named module or unnamed (the input scaling)
    for r in fid["layers"]:
        if r["op"] not in weighted:
            assert r["module"] == "" or r["module"].endswith(" (after)"), r
