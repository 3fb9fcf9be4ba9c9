"""GhostNet v1 in PyTorch, with state-dict keys and shapes exactly those of timm and Huawei's
official checkpoints (``timm/models/ghostnet.py``, ``ghostnet_pytorch/ghostnet.py``).

Imports torch: import this module only where torch is needed.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# k, exp_size, c, se_ratio, stride  (the paper's Table 1, as in the official code)
GHOSTNET_V1_CFG: List[List[Tuple[int, int, int, float, int]]] = [
    [(3, 16, 16, 0, 1)],
    [(3, 48, 24, 0, 2)],
    [(3, 72, 24, 0, 1)],
    [(5, 72, 40, 0.25, 2)],
    [(5, 120, 40, 0.25, 1)],
    [(3, 240, 80, 0, 2)],
    [(3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1),
     (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)],
    [(5, 672, 160, 0.25, 2)],
    [(5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)],
]


def make_divisible(v: float, divisor: int = 4, min_value: int | None = None) -> int:
    """Round ``v`` to a multiple of ``divisor`` without going below 90 % of it (TF/timm rule)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """relu6(x + 3) / 6, the SE gate of timm/Huawei GhostNet."""
    return F.relu6(x + 3.0) / 6.0


class SqueezeExcite(nn.Module):
    """SE block with 1×1 convs (keys ``conv_reduce``/``conv_expand``) and a hard-sigmoid gate."""

    def __init__(self, in_chs: int, se_ratio: float = 0.25, divisor: int = 4) -> None:
        super().__init__()
        reduced = make_divisible(in_chs * se_ratio, divisor)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_reduce = nn.Conv2d(in_chs, reduced, 1, bias=True)
        self.act1 = nn.ReLU(inplace=True)
        self.conv_expand = nn.Conv2d(reduced, in_chs, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.conv_expand(self.act1(self.conv_reduce(self.avg_pool(x))))
        return x * hard_sigmoid(s)


class ConvBnAct(nn.Module):
    """Conv + BN + ReLU (keys ``conv``, ``bn1``), the last block of the trunk."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.act1 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act1(self.bn1(self.conv(x)))


class GhostModule(nn.Module):
    """1×1 primary conv producing ceil(oup/2) channels, plus a cheap 3×3 depthwise conv."""

    def __init__(self, inp: int, oup: int, kernel_size: int = 1, ratio: int = 2, dw_size: int = 3,
                 stride: int = 1, relu: bool = True) -> None:
        super().__init__()
        self.oup = oup
        init_channels = math.ceil(oup / ratio)
        new_channels = init_channels * (ratio - 1)
        self.primary_conv = nn.Sequential(
            nn.Conv2d(inp, init_channels, kernel_size, stride, kernel_size // 2, bias=False),
            nn.BatchNorm2d(init_channels),
            nn.ReLU(inplace=True) if relu else nn.Identity(),
        )
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_channels, new_channels, dw_size, 1, dw_size // 2,
                      groups=init_channels, bias=False),
            nn.BatchNorm2d(new_channels),
            nn.ReLU(inplace=True) if relu else nn.Identity(),
        )
        # The official code slices out[:, :oup]; skip the slice when it is a no-op so that
        # the exported graph carries no useless STRIDED_SLICE.
        self._needs_slice = init_channels + new_channels != oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        x2 = self.cheap_operation(x1)
        out = torch.cat([x1, x2], dim=1)
        return out[:, : self.oup] if self._needs_slice else out


class GhostBottleneck(nn.Module):
    """Ghost bottleneck with optional stride-2 depthwise conv and SE."""

    def __init__(self, in_chs: int, mid_chs: int, out_chs: int, dw_kernel_size: int = 3,
                 stride: int = 1, se_ratio: float = 0.0) -> None:
        super().__init__()
        self.stride = stride
        self.ghost1 = GhostModule(in_chs, mid_chs, relu=True)
        if stride > 1:
            self.conv_dw = nn.Conv2d(mid_chs, mid_chs, dw_kernel_size, stride=stride,
                                     padding=(dw_kernel_size - 1) // 2, groups=mid_chs, bias=False)
            self.bn_dw = nn.BatchNorm2d(mid_chs)
        else:
            self.conv_dw = None
            self.bn_dw = None
        self.se = SqueezeExcite(mid_chs, se_ratio) if se_ratio and se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_chs, out_chs, relu=False)
        if in_chs == out_chs and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_chs, in_chs, dw_kernel_size, stride=stride,
                          padding=(dw_kernel_size - 1) // 2, groups=in_chs, bias=False),
                nn.BatchNorm2d(in_chs),
                nn.Conv2d(in_chs, out_chs, 1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(out_chs),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        x = self.ghost1(x)
        if self.conv_dw is not None:
            x = self.bn_dw(self.conv_dw(x))
        if self.se is not None:
            x = self.se(x)
        x = self.ghost2(x)
        return x + self.shortcut(residual)


class GhostNet(nn.Module):
    """GhostNet v1 (timm/Huawei layout). ``width`` 0.5 / 1.0 / 1.3; any ``num_classes``."""

    def __init__(self, cfgs: Sequence[Sequence[Tuple[int, int, int, float, int]]] = GHOSTNET_V1_CFG,
                 num_classes: int = 1000, width: float = 1.0, dropout: float = 0.2,
                 in_chans: int = 3) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.width = width
        self.dropout = dropout
        stem = make_divisible(16 * width, 4)
        self.conv_stem = nn.Conv2d(in_chans, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.act1 = nn.ReLU(inplace=True)
        in_c = stem
        stages: List[nn.Module] = []
        exp_size = 0
        for cfg in cfgs:
            layers = []
            for k, exp_size, c, se_ratio, s in cfg:
                out_c = make_divisible(c * width, 4)
                mid_c = make_divisible(exp_size * width, 4)
                layers.append(GhostBottleneck(in_c, mid_c, out_c, k, s, se_ratio=se_ratio))
                in_c = out_c
            stages.append(nn.Sequential(*layers))
        out_c = make_divisible(exp_size * width, 4)
        stages.append(nn.Sequential(ConvBnAct(in_c, out_c, 1)))
        self.blocks = nn.Sequential(*stages)
        self.num_features = 1280
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.conv_head = nn.Conv2d(out_c, self.num_features, 1, 1, 0, bias=True)
        self.act2 = nn.ReLU(inplace=True)
        self.classifier = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.act1(self.bn1(self.conv_stem(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        x = self.act2(self.conv_head(self.global_pool(x)))
        x = torch.flatten(x, 1)
        if self.dropout > 0.0 and self.training:
            x = F.dropout(x, p=self.dropout, training=True)
        return self.classifier(x)


def ghostnet(width: float = 1.0, num_classes: int = 1000, **kwargs) -> GhostNet:
    """Build GhostNet v1 at ``width`` (random init, eval mode is the caller's choice)."""
    return GhostNet(GHOSTNET_V1_CFG, num_classes=num_classes, width=width, **kwargs)


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters (BN running stats excluded)."""
    return sum(p.numel() for p in model.parameters())


def output_classes(model: nn.Module, image_size: int = 224) -> int:
    """The class count of a classifier: the last dimension of one forward pass on zeros."""
    with torch.no_grad():
        return int(model(torch.zeros(1, 3, image_size, image_size)).shape[-1])


def count_macs(model: nn.Module, image_size: int = 224) -> int:
    """Multiply-accumulates of one forward pass at ``image_size`` (convs and linears), as quoted
    in the paper (141M for 1.0x)."""
    macs = 0

    def conv_hook(mod: nn.Conv2d, _inp, out) -> None:
        nonlocal macs
        kh, kw = mod.kernel_size
        macs += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod: nn.Linear, _inp, out) -> None:
        nonlocal macs
        macs += out.numel() * mod.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return macs
