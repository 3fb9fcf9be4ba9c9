"""Test helpers: write .pdparams files the way paddle.save lays them out (a pickle of
``{structured name: numpy array}`` plus the ``StructuredToParameterName@@`` table), from a ghostedge
PaddleGhostNet, without Paddle. The parity tests use files written by Paddle itself."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ghostedge.models.paddle_ghostnet import paddle_param_name, paddle_structured_name
from ghostedge.models.paddle_pickle import NAME_TABLE_KEY


def paddle_arrays(model: Any) -> Dict[str, np.ndarray]:
    """The model's weights under PaddleClas's structured names and layouts."""
    out: Dict[str, np.ndarray] = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        pkey, transpose = paddle_structured_name(key)
        arr = value.detach().cpu().numpy().astype(np.float32)
        out[pkey] = np.ascontiguousarray(arr.T if transpose else arr)
    return out


def write_pdparams(path: Path, arrays: Dict[str, np.ndarray], protocol: int = 4,
                   tuples: bool = False, param_names: bool = False) -> Path:
    """Pickle ``arrays`` as a .pdparams: structured keys + name table (default), ``(name, array)``
    tuples, or ParamAttr names as keys (older Paddle files)."""
    if param_names:
        obj: Dict[str, Any] = {paddle_param_name(k): v for k, v in arrays.items()}
    else:
        obj = {k: ((paddle_param_name(k), v) if tuples else v) for k, v in arrays.items()}
        obj[NAME_TABLE_KEY] = {k: paddle_param_name(k) for k in arrays}
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def random_paddle_model(width: float, seed: int = 0) -> Any:
    """A PaddleGhostNet with random weights and random BN statistics (eval mode)."""
    import torch

    from ghostedge.models.paddle_ghostnet import paddle_ghostnet

    torch.manual_seed(seed)
    model = paddle_ghostnet(width).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
    return model
