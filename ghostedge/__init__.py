"""ghostedge: GhostNet from PyTorch to phones (TFLite FP32/FP16/INT8, verified and benchmarked).

The public API, each function returning a typed result (``.to_dict()`` is the CLI's ``--json``)::

    import ghostedge
    result = ghostedge.convert(weights="random", int8=True)         # ConversionResult
    ghostedge.evaluate(result.artifacts["int8"], "imagenet/val")     # EvalResult
    ghostedge.predict("cat.jpg", result.artifacts["int8"])          # [[("tabby", 0.61), ...]]
    ghostedge.inspect(result.artifacts["int8"])                     # ModelInfo
    ghostedge.bench(list(result.artifacts.values())[1:], device="local")   # BenchSession
    ghostedge.check(result.artifacts["int8"])                       # ArmCheckResult

Importing ghostedge loads neither torch nor TensorFlow: the functions are loaded on first use.
"""
from __future__ import annotations

import importlib
from typing import Any, List

__version__ = "0.1.0"

from ghostedge.errors import GhostEdgeError  # noqa: E402  (light, no heavy imports)

_API = ("convert", "evaluate", "predict", "inspect", "bench", "bench_report", "check", "devices",
        "list_models", "Int8Options", "ConversionResult", "EvalResult", "PredictionSet", "ModelInfo",
        "BenchSession", "ArmCheckResult", "DeviceList", "ModelCatalog")

__all__ = ["__version__", "GhostEdgeError", *_API]


def __getattr__(name: str) -> Any:
    if name == "convert":  # the package ghostedge.convert is itself callable (see its docstring)
        return importlib.import_module("ghostedge.convert")
    if name in _API:
        return getattr(importlib.import_module("ghostedge.api"), name)
    raise AttributeError(f"module 'ghostedge' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_API))
