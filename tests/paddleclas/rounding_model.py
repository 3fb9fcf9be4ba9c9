"""How much float32 rounding may move a network's outputs, predicted from the network itself.

Why: two correct float32 implementations of one network (torch vs Paddle, oneDNN vs MKL, AVX-512
vs AVX2 kernels, 1 or 2 threads) sum in different orders and so differ by rounding. A fixed
tolerance measured on one machine is a guess about every other machine; this module derives the
bound from what every kernel on every ISA shares instead: IEEE float32 arithmetic.

The model (the standard probabilistic model of rounding, Higham & Mary, SIAM J. Sci. Comput.
41(5), 2019): every operation returns ``x (1 + d)``, ``|d| <= u`` (unit roundoff, ``2**-24`` in
float32), the ``d`` independent with mean 0, so ``Var(d) <= u**2 / 3``. A dot product of ``n``
terms plus a bias, summed in ANY order - sequential, pairwise, blocked over SIMD lanes of any
width, with or without FMA - rounds ``n`` additions, each partial sum at most ``A = sum |x_i w_i|
+ |b|``, and ``n`` products whose squares sum to at most ``A**2``: its error's variance is at most
``(n + 1) u**2 A**2 / 3`` whatever the kernel, the ISA or the thread count (``n + 2`` is used
below). The other operations likewise (see _RULES: magnitude of the terms, number of roundings).

``rounding_sigma`` injects exactly that noise after every operation the network executes and
measures the spread it causes in the outputs: the predicted float32 error of THIS network on
THESE inputs, through its real depth, fan-ins and activation magnitudes. The injected noise is
amplified 256x (and the spread divided by 256) so that the run can be float32: the network is
linear at that scale (64x, 256x, 1024x and an unamplified float64 run give the same sigma within
the +-8 % sampling noise) and float32's own rounding is 256x below the signal.

An operation the model does not know raises NotImplementedError instead of being treated as exact.
"""
from __future__ import annotations

import copy
import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

U32 = 2.0 ** -24          # float32 unit roundoff
U64 = 2.0 ** -53          # float64 unit roundoff
AMPLIFY = 256.0

_aten = torch.ops.aten
# Operations that round nothing (data movement, comparisons with constants): no noise.
_EXACT = {_aten.relu, _aten.relu_, _aten.clamp, _aten.clamp_, _aten.clamp_min, _aten.clamp_min_,
          _aten.clamp_max, _aten.hardtanh, _aten.hardtanh_, _aten.cat, _aten.view, _aten._unsafe_view,
          _aten.reshape, _aten.t, _aten.transpose, _aten.permute, _aten.squeeze, _aten.unsqueeze,
          _aten.expand, _aten.slice, _aten.select, _aten.empty, _aten.detach, _aten.clone,
          _aten.alias, _aten.flatten}


def _conv(x, w, b, stride, padding, dilation, transposed, output_padding, groups):
    if transposed:
        raise NotImplementedError("no rounding model for transposed convolution")
    terms = F.conv2d(x.abs(), w.abs(), None if b is None else b.abs(), stride, padding, dilation, groups)
    return terms, w[0].numel() + 2            # fan-in (products + additions) and the bias


def _addmm(b, x, w, beta=1, alpha=1):
    if beta != 1 or alpha != 1:
        raise NotImplementedError("no rounding model for addmm with beta/alpha")
    return b.abs() + x.abs() @ w.abs(), x.shape[-1] + 2


def _batch_norm(x, gamma, beta, mean, var, training, momentum, eps):
    if training:
        raise NotImplementedError("no rounding model for batch norm in training mode")
    shape = (1, -1) + (1,) * (x.dim() - 2)
    inv = (var + eps).rsqrt().reshape(shape) * gamma.abs().reshape(shape)
    terms = (x.abs() + mean.abs().reshape(shape)) * inv + beta.abs().reshape(shape)
    return terms, 8          # eps add, sqrt, divide, then centre/scale/shift in either order


def _mean(x, dims, keepdim=False, dtype=None):
    return x.abs().mean(dims, keepdim=keepdim), math.prod(x.shape[d] for d in dims) + 1


def _abs(v):
    return v.abs() if isinstance(v, torch.Tensor) else abs(v)


def _add(a, b, alpha=1):
    return _abs(a) + abs(alpha) * _abs(b), 1


def _mul(a, b):
    return _abs(a * b), 1


def _div(a, b, rounding_mode=None):
    if rounding_mode is not None:
        raise NotImplementedError("no rounding model for integer division")
    return _abs(a / b), 1


_RULES = {_aten.convolution: _conv, _aten.addmm: _addmm, _aten.native_batch_norm: _batch_norm,
          _aten.mean: _mean, _aten.add: _add, _aten.sub: _add, _aten.mul: _mul, _aten.div: _div}


class _RoundingNoise(TorchDispatchMode):
    """Adds ``scale * sqrt(roundings / 3) * terms * N(0, 1)`` to every operation's result."""

    def __init__(self, generator: torch.Generator, scale: float) -> None:
        super().__init__()
        self.generator, self.scale = generator, scale

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        op = func.overloadpacket
        if op in _EXACT:
            return out
        if op not in _RULES:
            raise NotImplementedError(f"no rounding model for {func}: add one to {__name__}")
        first = out[0] if isinstance(out, tuple) else out
        terms, roundings = _RULES[op](*args, **kwargs)
        noise = torch.randn(first.shape, generator=self.generator, dtype=first.dtype)
        noisy = first + noise * terms * (self.scale * math.sqrt(roundings / 3.0))
        return (noisy,) + tuple(out[1:]) if isinstance(out, tuple) else noisy


def rounding_sigma(model: torch.nn.Module, inputs: np.ndarray, input_terms: Optional[np.ndarray] = None,
                   input_roundings: int = 3, draws: int = 2, seed: int = 0) -> np.ndarray:
    """Predicted standard deviation of the float32 rounding error of ``model(inputs)``: one value
    per sample, the RMS over its outputs and ``draws`` noise draws. ``input_terms``: for inputs
    that were themselves computed in float32, the magnitude of the terms behind each value (its
    preprocessing's ``input_roundings`` roundings are then included). For float64, multiply by
    ``U64 / U32``. ``model`` is not modified."""
    net = copy.deepcopy(model).float().eval()
    x = torch.from_numpy(np.ascontiguousarray(inputs, np.float32))
    gen = torch.Generator().manual_seed(seed)
    scale = U32 * AMPLIFY
    with torch.no_grad():
        exact = net(x)
        square = torch.zeros(exact.shape[0], dtype=torch.float64)
        for _ in range(draws):
            noisy_in = x
            if input_terms is not None:
                spread = torch.from_numpy(np.ascontiguousarray(input_terms, np.float32))
                noisy_in = x + torch.randn(x.shape, generator=gen) * spread * (
                    scale * math.sqrt(input_roundings / 3.0))
            with _RoundingNoise(gen, scale):
                noisy = net(noisy_in)
            square += (noisy - exact).double().pow(2).flatten(1).mean(1)
    return (square / draws).sqrt().numpy() / AMPLIFY
