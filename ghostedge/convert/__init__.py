"""torch → ONNX → onnx2tf → verified TFLite (FP32, FP16; INT8 through ``ghostedge.quantize``).

``ghostedge.convert`` is both this package and the public function: calling the package,
``ghostedge.convert(model=..., weights=..., int8=True)``, runs :func:`ghostedge.convert.main.convert`
(a package named after the step it owns, callable like litert-torch's ``convert``).
Importing it loads nothing heavy.
"""
from __future__ import annotations

import sys
import types
from typing import Any


class _ConvertPackage(types.ModuleType):
    """The ``ghostedge.convert`` package, callable as ``ghostedge.convert(...)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ghostedge.convert.main import convert

        return convert(*args, **kwargs)

    @property
    def __signature__(self) -> Any:  # help() and IDEs show the function's parameters
        import inspect

        from ghostedge.convert.main import convert

        return inspect.signature(convert)


sys.modules[__name__].__class__ = _ConvertPackage
