"""The network as it is exported: app-ready (raw RGB pixels in, probabilities out) or bare
(normalized input, logits out). Imports torch inside functions only."""
from __future__ import annotations

from typing import Any

import numpy as np

from ghostedge.data.preprocess import Preprocessing

INPUT_NAME = "image"
APP_OUTPUT_NAME = "probabilities"
BARE_OUTPUT_NAME = "logits"


def output_name(bare: bool) -> str:
    """Name of the exported model's output."""
    return BARE_OUTPUT_NAME if bare else APP_OUTPUT_NAME


def pixel_affine(pre: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, bias) so that ``pixels * scale + bias`` equals
    ``(pixels / 255 - mean) / std`` for raw 0..255 pixels."""
    mean = np.asarray(pre.mean, np.float64)
    std = np.asarray(pre.std, np.float64)
    return (1.0 / (255.0 * std)).astype(np.float32), (-mean / std).astype(np.float32)


def build_export_module(model: Any, pre: Preprocessing, bare: bool = False) -> Any:
    """Wrap a torch classifier for export (eval mode, gradients off).

    App-ready: NCHW float32 pixels 0..255 → per-channel multiply/add (the preprocessing's
    normalization) → network → softmax. Bare: the network itself (normalized input, logits).
    onnx2tf turns the NCHW input into NHWC.
    """
    import torch

    class AppReadyClassifier(torch.nn.Module):
        """Raw RGB pixels in, probabilities out."""

        def __init__(self, net: Any, scale: np.ndarray, bias: np.ndarray) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("pixel_scale", torch.from_numpy(scale).view(1, 3, 1, 1))
            self.register_buffer("pixel_bias", torch.from_numpy(bias).view(1, 3, 1, 1))

        def forward(self, image: Any) -> Any:
            return torch.softmax(self.net(image * self.pixel_scale + self.pixel_bias), dim=-1)

    if bare:
        module = model
    else:
        scale, bias = pixel_affine(pre)
        module = AppReadyClassifier(model, scale, bias)
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def export_onnx(module: Any, path: Any, *, image_size: int, bare: bool) -> None:
    """``torch.onnx.export`` (TorchScript exporter, opset 17, batch 1) to ``path``."""
    import warnings

    import torch

    dummy = torch.zeros(1, 3, image_size, image_size, dtype=torch.float32)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (dummy,), str(path), dynamo=False, opset_version=17,
                          input_names=[INPUT_NAME], output_names=[output_name(bare)],
                          do_constant_folding=True)


def torch_forward(module: Any, nchw: np.ndarray) -> np.ndarray:
    """Run the export module on a float32 NCHW batch: float32 numpy outputs."""
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(nchw, np.float32))).numpy()
