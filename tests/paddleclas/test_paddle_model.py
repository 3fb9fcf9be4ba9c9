"""PaddleClas-faithful GhostNet in PyTorch: architecture details, name mapping, registry entries."""
from __future__ import annotations

import pytest
import torch

from ghostedge.models.ghostnet import count_macs, count_params, make_divisible
from ghostedge.models.paddle_ghostnet import (PaddleSqueezeExcite, bottleneck_position,
                                              paddle_ghostnet, paddle_param_name,
                                              paddle_structured_name)
from ghostedge.models.registry import create_model, get_spec, list_specs

WIDTHS = {"paddle_ghostnet_x0_5": 0.5, "paddle_ghostnet_x1_0": 1.0, "paddle_ghostnet_x1_3": 1.3}


@pytest.mark.parametrize("name,width,published_m", [
    ("paddle_ghostnet_x0_5", 0.5, 2.60), ("paddle_ghostnet_x1_0", 1.0, 5.21),
    ("paddle_ghostnet_x1_3", 1.3, 7.38)])
def test_paddle_params_match_paddleclas_table_and_registry(name, width, published_m):
    model = create_model(name)
    spec = get_spec(name)
    # PaddleClas's "Params(M)" counts BN running statistics as parameters (Paddle does).
    with_stats = sum(v.numel() for k, v in model.state_dict().items()
                     if not k.endswith("num_batches_tracked"))
    assert round(with_stats / 1e6, 2) == published_m
    assert spec.params == count_params(model)
    assert spec.macs == count_macs(model)
    assert model.width == width


def test_se_width_is_c_div_4_unlike_timm():
    model = paddle_ghostnet(1.0)
    se_blocks = [m for m in model.modules() if isinstance(m, PaddleSqueezeExcite)]
    assert len(se_blocks) == 7
    widths = {se.fc_reduce.in_features: se.fc_reduce.out_features for se in se_blocks}
    assert all(out == c // 4 for c, out in widths.items())
    assert widths[72] == 18 and make_divisible(72 * 0.25, 4) == 20   # timm would have 20
    assert widths[120] == 30
    x13 = paddle_ghostnet(1.3)
    assert {se.fc_reduce.out_features for se in x13.modules()
            if isinstance(se, PaddleSqueezeExcite) and se.fc_reduce.in_features == 872} == {218}


@pytest.mark.parametrize("bias,expected_gate", [(0.5, 0.5), (-1.0, 0.0), (2.5, 1.0)])
def test_se_gate_is_clip_0_1_not_hard_sigmoid(bias, expected_gate):
    se = PaddleSqueezeExcite(8).eval()
    with torch.no_grad():
        se.fc_reduce.weight.zero_()
        se.fc_reduce.bias.zero_()
        se.fc_expand.weight.zero_()
        se.fc_expand.bias.fill_(bias)
    x = torch.rand(2, 8, 5, 5) + 0.1
    out = se(x)
    assert torch.allclose(out, x * expected_gate)
    hard_sigmoid = min(max((bias + 3.0) / 6.0, 0.0), 1.0)
    assert abs(hard_sigmoid - expected_gate) > 0.05


def test_head_is_conv_bn_relu_and_linear_classifier():
    model = paddle_ghostnet(0.5, num_classes=10)
    assert model.conv_head.bias is None
    assert model.bn_head.num_features == 1280
    assert model.classifier.out_features == 10
    assert model.blocks[9][0].conv.out_channels == make_divisible(960 * 0.5, 4)
    out = model.eval()(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 10)


def test_bottleneck_positions_cover_16_blocks():
    positions = [bottleneck_position(i) for i in range(16)]
    assert positions[0] == (0, 0) and positions[6] == (6, 0) and positions[10] == (6, 4)
    assert positions[11] == (7, 0) and positions[15] == (8, 3)
    with pytest.raises(IndexError):
        bottleneck_position(16)


def test_every_torch_key_maps_to_a_distinct_paddle_name():
    model = paddle_ghostnet(1.0)
    keys = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    mapped = [paddle_structured_name(k) for k in keys]
    names = [m[0] for m in mapped]
    assert len(set(names)) == len(names) == 435          # PaddleClas's state dict has 435 entries
    assert {k for k, (_, t) in zip(keys, mapped) if t} == (
        {k for k in keys if k.endswith(("fc_reduce.weight", "fc_expand.weight"))} | {"classifier.weight"})
    assert paddle_structured_name("blocks.6.4.shortcut.3.running_var") == (
        "_ghostbottleneck_10.shortcut_conv._batch_norm._variance", False)
    assert paddle_structured_name("blocks.9.0.conv.weight") == ("conv_last._conv.weight", False)
    assert paddle_structured_name("bn_head.running_mean") == ("fc_0._batch_norm._mean", False)
    with pytest.raises(KeyError):
        paddle_structured_name("bn1.num_batches_tracked")


@pytest.mark.parametrize("structured,param_name", [
    ("conv1._conv.weight", "conv1_weights"),
    ("conv1._batch_norm.weight", "conv1_bn_scale"),
    ("_ghostbottleneck_1.depthwise_conv._conv.weight", "_ghostbottleneck_1_depthwise_depthwise_weights"),
    ("_ghostbottleneck_1.shortcut_depthwise._batch_norm._mean",
     "_ghostbottleneck_1_shortcut_depthwise_depthwise_bn_mean"),
    ("_ghostbottleneck_3.se_block.excitation.bias", "_ghostbottleneck_3_se_2_offset"),
    ("_ghostbottleneck_0.ghost_module_1.primary_conv._batch_norm._variance",
     "_ghostbottleneck_0_ghost_module_1_primary_conv_bn_variance"),
    ("fc_1.weight", "fc_1_weights"), ("fc_1.bias", "fc_1_offset"),
    ("fc_0._batch_norm.bias", "fc_0_bn_offset")])
def test_paddle_param_names_follow_paddleclas_param_attrs(structured, param_name):
    assert paddle_param_name(structured) == param_name


def test_registry_paddle_variants():
    paddle_specs = [s for s in list_specs() if s.family == "paddle"]
    assert {s.name for s in paddle_specs} == set(WIDTHS)
    for spec in paddle_specs:
        assert spec.width == WIDTHS[spec.name]
        assert spec.preprocessing == "paddle"
        assert spec.display_name == "GhostNet_x" + spec.name.rsplit("_x", 1)[1]
        assert all(s.startswith("paddle:GhostNet_x") for s in spec.weight_sources)
        assert set(spec.reference["sd855_ms"]) == {1, 2, 4}
    x13 = get_spec("paddle_ghostnet_x1_3")
    assert "paddle:GhostNet_x1_3_ssld" in x13.weight_sources
    assert x13.reference["top1"] == 0.757 and get_spec("paddle_ghostnet_x0_5").reference["top1"] == 0.668
    # timm's variants stay exactly what they were
    assert get_spec("ghostnet_100").family == "timm"


def test_untrained_model_stays_finite_on_inputs_unlike_its_bn_photos():
    """--weights random re-estimates BN on a few photos; the untrained clip gate must not make the
    net explode on other inputs (seeded noise images, as convert's verification uses)."""
    import numpy as np

    from ghostedge.models.bn_recalib import recalibrate_batchnorm

    torch.manual_seed(0)
    model = recalibrate_batchnorm(paddle_ghostnet(0.5), batches=4)
    se = [m for m in model.modules() if isinstance(m, PaddleSqueezeExcite)]
    assert all(torch.all(m.fc_expand.bias == 0.5) for m in se)
    rng = np.random.default_rng(0)
    noise = (rng.uniform(0, 1, (2, 3, 224, 224)).astype(np.float32) - 0.45) / 0.226
    with torch.no_grad():
        logits = model(torch.from_numpy(noise))
    assert torch.isfinite(logits).all() and logits.abs().max() < 1e3
