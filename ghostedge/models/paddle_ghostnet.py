"""PaddleClas's GhostNet (``ppcls/arch/backbone/model_zoo/ghostnet.py``) rebuilt in PyTorch with
exactly its numerics, so PaddleClas checkpoints (``.pdparams``) run without Paddle.

It differs from timm/Huawei GhostNet (``ghostedge.models.ghostnet``) in four places:

* SE reduction width is ``C // 4`` (timm: ``make_divisible(C / 4, 4)``);
* SE layers are ``Linear`` on the pooled vector, the gate is ``clip(x, 0, 1)`` (timm: 1×1 convs
  and hard-sigmoid ``relu6(x + 3) / 6``);
* the head is 1×1 conv (no bias) + BatchNorm + ReLU (timm: 1×1 conv with bias, no BatchNorm);
* GhostModule concatenates without the ``[:, :oup]`` slice (a no-op at these widths).

Module names follow timm's (``conv_stem``, ``blocks.S.B...``, ``conv_head``, ``classifier``) plus
``bn_head``; ``ghostedge.models.pdparams`` maps PaddleClas's structured names onto them.
BatchNorm epsilon is 1e-5 and dropout 0.2 in both frameworks.

Imports torch: import this module only where torch is needed.
"""
from __future__ import annotations

import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ghostedge.models.ghostnet import make_divisible

# k, exp_size, c, use_se, stride: PaddleClas's flat table of 16 bottlenecks (same numbers as the
# paper's Table 1; use_se 1 means an SE block on the expanded width).
PADDLE_GHOSTNET_CFG: List[Tuple[int, int, int, int, int]] = [
    (3, 16, 16, 0, 1),
    (3, 48, 24, 0, 2),
    (3, 72, 24, 0, 1),
    (5, 72, 40, 1, 2),
    (5, 120, 40, 1, 1),
    (3, 240, 80, 0, 2),
    (3, 200, 80, 0, 1),
    (3, 184, 80, 0, 1),
    (3, 184, 80, 0, 1),
    (3, 480, 112, 1, 1),
    (3, 672, 112, 1, 1),
    (5, 672, 160, 1, 2),
    (5, 960, 160, 0, 1),
    (5, 960, 160, 1, 1),
    (5, 960, 160, 0, 1),
    (5, 960, 160, 1, 1),
]

# How the 16 flat bottlenecks are grouped into timm-style stages (blocks.0 .. blocks.8).
STAGE_SIZES: Tuple[int, ...] = (1, 1, 1, 1, 1, 1, 5, 1, 4)
HEAD_CHANNELS = 1280


def bottleneck_position(index: int) -> Tuple[int, int]:
    """Flat PaddleClas bottleneck index (0..15) → (stage, block) in ``blocks.S.B``."""
    start = 0
    for stage, size in enumerate(STAGE_SIZES):
        if index < start + size:
            return stage, index - start
        start += size
    raise IndexError(f"bottleneck index {index} out of range 0..{start - 1}")


class PaddleSqueezeExcite(nn.Module):
    """PaddleClas SEBlock: mean-pool, Linear(C, C // 4), ReLU, Linear(C // 4, C), clip(0, 1)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        reduced = channels // reduction
        self.fc_reduce = nn.Linear(channels, reduced)
        self.fc_expand = nn.Linear(reduced, channels)
        # Untrained gate at mid-range (as timm's hard sigmoid sits at 0.5): with PaddleClas's zero
        # bias an untrained clip gate is ~0, and a random net with BN statistics re-estimated on a
        # few photos blows up (logits ~1e5) on other inputs. Loaded weights overwrite this.
        nn.init.constant_(self.fc_expand.bias, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        s = self.fc_expand(F.relu(self.fc_reduce(s)))
        s = torch.clamp(s, 0.0, 1.0)
        return x * s.reshape(s.shape[0], s.shape[1], 1, 1)


class PaddleGhostModule(nn.Module):
    """1×1 conv to ceil(oup / 2) channels + cheap 3×3 depthwise conv, concatenated (no slice)."""

    def __init__(self, inp: int, oup: int, relu: bool = True, dw_size: int = 3) -> None:
        super().__init__()
        init_channels = int(math.ceil(oup / 2))
        self.primary_conv = nn.Sequential(
            nn.Conv2d(inp, init_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(init_channels),
            nn.ReLU(inplace=True) if relu else nn.Identity(),
        )
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_channels, init_channels, dw_size, 1, (dw_size - 1) // 2,
                      groups=init_channels, bias=False),
            nn.BatchNorm2d(init_channels),
            nn.ReLU(inplace=True) if relu else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        return torch.cat([x1, self.cheap_operation(x1)], dim=1)


class PaddleGhostBottleneck(nn.Module):
    """PaddleClas GhostBottleneck: ghost → (stride-2 depthwise + BN) → (SE) → ghost, plus shortcut
    (identity, or depthwise + BN + 1×1 + BN when the stride or width changes)."""

    def __init__(self, in_chs: int, mid_chs: int, out_chs: int, kernel_size: int, stride: int,
                 use_se: bool) -> None:
        super().__init__()
        self.stride = stride
        pad = (kernel_size - 1) // 2
        self.ghost1 = PaddleGhostModule(in_chs, mid_chs, relu=True)
        if stride == 2:
            self.conv_dw = nn.Conv2d(mid_chs, mid_chs, kernel_size, stride, pad, groups=mid_chs,
                                     bias=False)
            self.bn_dw = nn.BatchNorm2d(mid_chs)
        else:
            self.conv_dw = None
            self.bn_dw = None
        self.se = PaddleSqueezeExcite(mid_chs) if use_se else None
        self.ghost2 = PaddleGhostModule(mid_chs, out_chs, relu=False)
        if stride != 1 or in_chs != out_chs:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_chs, in_chs, kernel_size, stride, pad, groups=in_chs, bias=False),
                nn.BatchNorm2d(in_chs),
                nn.Conv2d(in_chs, out_chs, 1, 1, 0, bias=False),
                nn.BatchNorm2d(out_chs),
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ghost1(x)
        if self.conv_dw is not None:
            y = self.bn_dw(self.conv_dw(y))
        if self.se is not None:
            y = self.se(y)
        y = self.ghost2(y)
        return y + self.shortcut(x)


class PaddleConvBnAct(nn.Module):
    """1×1 conv + BN + ReLU after the last bottleneck (PaddleClas ``conv_last``)."""

    def __init__(self, in_chs: int, out_chs: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, 1, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.act1 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act1(self.bn1(self.conv(x)))


class PaddleGhostNet(nn.Module):
    """GhostNet as PaddleClas builds it (``GhostNet_x0_5`` / ``_x1_0`` / ``_x1_3``)."""

    def __init__(self, width: float = 1.0, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.width = width
        self.num_classes = num_classes
        self.dropout = dropout
        stem = make_divisible(16 * width, 4)
        self.conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.act1 = nn.ReLU(inplace=True)
        in_c = stem
        flat: List[nn.Module] = []
        exp_size = 0
        for k, exp_size, c, use_se, s in PADDLE_GHOSTNET_CFG:
            out_c = make_divisible(c * width, 4)
            mid_c = make_divisible(exp_size * width, 4)
            flat.append(PaddleGhostBottleneck(in_c, mid_c, out_c, k, s, bool(use_se)))
            in_c = out_c
        stages: List[nn.Module] = []
        start = 0
        for size in STAGE_SIZES:
            stages.append(nn.Sequential(*flat[start:start + size]))
            start += size
        last_c = make_divisible(exp_size * width, 4)
        stages.append(nn.Sequential(PaddleConvBnAct(in_c, last_c)))
        self.blocks = nn.Sequential(*stages)
        self.num_features = HEAD_CHANNELS
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.conv_head = nn.Conv2d(last_c, HEAD_CHANNELS, 1, 1, 0, bias=False)
        self.bn_head = nn.BatchNorm2d(HEAD_CHANNELS)
        self.act2 = nn.ReLU(inplace=True)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and trunk up to ``conv_last`` (before pooling)."""
        return self.blocks(self.act1(self.bn1(self.conv_stem(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        x = self.act2(self.bn_head(self.conv_head(self.global_pool(x))))
        x = torch.flatten(x, 1)
        if self.dropout > 0.0 and self.training:
            x = F.dropout(x, p=self.dropout, training=True)
        return self.classifier(x)


def paddle_ghostnet(width: float = 1.0, num_classes: int = 1000, **kwargs) -> PaddleGhostNet:
    """Build the PaddleClas GhostNet at ``width`` (0.5 / 1.0 / 1.3), random weights."""
    return PaddleGhostNet(width=width, num_classes=num_classes, **kwargs)


# --- PaddleClas names -------------------------------------------------------------------------
# torch module path → PaddleClas structured prefix; a ConvBNLayer is "<p>._conv" + "<p>._batch_norm".
_TOP_LEVEL = {
    "conv_stem": "conv1._conv", "bn1": "conv1._batch_norm",
    "blocks.9.0.conv": "conv_last._conv", "blocks.9.0.bn1": "conv_last._batch_norm",
    "conv_head": "fc_0._conv", "bn_head": "fc_0._batch_norm", "classifier": "fc_1",
}
_IN_BOTTLENECK = {
    "ghost1.primary_conv.0": "ghost_module_1.primary_conv._conv",
    "ghost1.primary_conv.1": "ghost_module_1.primary_conv._batch_norm",
    "ghost1.cheap_operation.0": "ghost_module_1.cheap_operation._conv",
    "ghost1.cheap_operation.1": "ghost_module_1.cheap_operation._batch_norm",
    "ghost2.primary_conv.0": "ghost_module_2.primary_conv._conv",
    "ghost2.primary_conv.1": "ghost_module_2.primary_conv._batch_norm",
    "ghost2.cheap_operation.0": "ghost_module_2.cheap_operation._conv",
    "ghost2.cheap_operation.1": "ghost_module_2.cheap_operation._batch_norm",
    "conv_dw": "depthwise_conv._conv", "bn_dw": "depthwise_conv._batch_norm",
    "se.fc_reduce": "se_block.squeeze", "se.fc_expand": "se_block.excitation",
    "shortcut.0": "shortcut_depthwise._conv", "shortcut.1": "shortcut_depthwise._batch_norm",
    "shortcut.2": "shortcut_conv._conv", "shortcut.3": "shortcut_conv._batch_norm",
}
# torch BatchNorm buffer/parameter → Paddle BatchNorm name (num_batches_tracked has none).
_BN_SUFFIX = {"weight": "weight", "bias": "bias", "running_mean": "_mean", "running_var": "_variance"}
# Paddle Linear weights are [in, out]; torch's are [out, in].
_TRANSPOSED = ("se.fc_reduce.weight", "se.fc_expand.weight", "classifier.weight")


def paddle_structured_name(torch_key: str) -> Tuple[str, bool]:
    """``torch state-dict key → (PaddleClas structured name, transpose?)``.

    ``blocks.3.0.se.fc_reduce.weight`` → ``("_ghostbottleneck_3.se_block.squeeze.weight", True)``.
    Raises KeyError for keys with no Paddle counterpart (``num_batches_tracked``).
    """
    module, _, param = torch_key.rpartition(".")
    prefix = _TOP_LEVEL.get(module)
    if prefix is None:
        parts = module.split(".")
        if len(parts) < 3 or parts[0] != "blocks" or not (parts[1] + parts[2]).isdigit():
            raise KeyError(torch_key)
        stage, block = int(parts[1]), int(parts[2])
        index = sum(STAGE_SIZES[:stage]) + block
        inner = _IN_BOTTLENECK.get(".".join(parts[3:]))
        if stage >= len(STAGE_SIZES) or inner is None:
            raise KeyError(torch_key)
        prefix = f"_ghostbottleneck_{index}.{inner}"
    if prefix.endswith("._batch_norm"):
        if param not in _BN_SUFFIX:
            raise KeyError(torch_key)
        param = _BN_SUFFIX[param]
    return f"{prefix}.{param}", torch_key.endswith(_TRANSPOSED)


_PARAM_SUFFIX = {"_conv.weight": "_weights", "_batch_norm.weight": "_bn_scale",
                 "_batch_norm.bias": "_bn_offset", "_batch_norm._mean": "_bn_mean",
                 "_batch_norm._variance": "_bn_variance"}
_LAYER_NAME = {"depthwise_conv": "depthwise_depthwise",
               "shortcut_depthwise": "shortcut_depthwise_depthwise"}
_LINEAR_NAME = {"se_block.squeeze": "se_1", "se_block.excitation": "se_2", "fc_1": "fc_1"}


def paddle_param_name(structured: str) -> str:
    """PaddleClas structured name → its ParamAttr name (the key older Paddle files use), e.g.
    ``_ghostbottleneck_3.depthwise_conv._conv.weight`` → ``_ghostbottleneck_3_depthwise_depthwise_weights``
    and ``fc_1.bias`` → ``fc_1_offset``."""
    for linear, short in _LINEAR_NAME.items():
        for param, tail in ((".weight", "_weights"), (".bias", "_offset")):
            if structured == linear + param or structured.endswith("." + linear + param):
                owner = structured[: -len(linear + param)].rstrip(".")
                return (owner.replace(".", "_") + "_" if owner else "") + short + tail
    for suffix, tail in _PARAM_SUFFIX.items():
        if structured.endswith("." + suffix):
            layer = structured[: -len(suffix) - 1]
            head, _, last = layer.rpartition(".")
            last = _LAYER_NAME.get(last, last)
            return (head.replace(".", "_") + "_" if head else "") + last + tail
    raise KeyError(structured)
