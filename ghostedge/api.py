"""ghostedge's public Python API: one function per capability, each returning a typed result
that also serializes (``to_dict()``) to the JSON that the CLI's ``--json`` prints. The CLI is a
thin layer over exactly these functions.

    import ghostedge
    result = ghostedge.convert(weights="random", int8=True)        # ConversionResult
    ghostedge.evaluate(result.artifacts["int8"], data="imagenet/val", limit=1000)   # EvalResult
    ghostedge.predict("cat.jpg", result.artifacts["int8"])          # [[("tabby", 0.61), ...]]
    ghostedge.inspect(result.artifacts["int8"])                     # ModelInfo
    ghostedge.bench(result.artifacts.values(), device="local", threads=(1, 2))   # BenchSession
    ghostedge.check(result.artifacts["int8"])                       # ArmCheckResult (arm64)

Importing this module loads neither torch nor TensorFlow; each function imports what it needs.
"""
from __future__ import annotations

from ghostedge.accuracy.main import EvalResult, evaluate
from ghostedge.android_runner.inventory import DeviceList
from ghostedge.android_runner.inventory import list_device_facts as devices
from ghostedge.appexport.inspection import ModelInfo, inspect
from ghostedge.appexport.predict import ClassScore, ImagePrediction, PredictionSet, predict
from ghostedge.armcheck import ArmCheckResult
from ghostedge.armcheck import check_models as check
from ghostedge.convert.main import convert
from ghostedge.convert.pipeline import ConversionResult
from ghostedge.device_bench.compare import Comparison
from ghostedge.device_bench.session import BenchSession, bench, bench_compare, bench_report
from ghostedge.models.catalog import ModelCatalog, list_models
from ghostedge.quantize.options import Int8Options

__all__ = ["convert", "ConversionResult", "Int8Options", "evaluate", "EvalResult", "predict",
           "PredictionSet", "ImagePrediction", "ClassScore", "inspect", "ModelInfo", "bench",
           "bench_report", "bench_compare", "Comparison", "BenchSession", "devices", "DeviceList", "list_models", "ModelCatalog", "check", "ArmCheckResult"]
