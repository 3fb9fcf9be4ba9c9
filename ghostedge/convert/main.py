"""``ghostedge.convert(...)``: weights in, verified TFLite files out — the whole job behind
``ghostedge convert``: pick the model, load the weights, draw the INT8 calibration set, convert,
verify, and (optionally) check the files on ARM code."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

from ghostedge.convert.pipeline import ConversionResult
from ghostedge.errors import UsageError
from ghostedge.quantize.options import DEFAULT_SAMPLES, Int8Options

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]
DEFAULT_OUTPUT = Path("ghostedge-out")


def resolve_model_name(model: Optional[str], weights: Optional[str]) -> str:
    """``model``, or the registry model that fits ``weights`` (``paddle:GhostNet_x1_3_ssld`` →
    ``paddle_ghostnet_x1_3``, a ``.pdparams`` file → its width's Paddle model, else ghostnet_100)."""
    from ghostedge.models.registry import get_spec
    from ghostedge.models.weights import default_model_for

    name = model or default_model_for(weights)
    get_spec(name)  # unknown names fail here, before anything heavy
    return name


def _labels(labels: Union[PathArg, Sequence[str], None]) -> Optional[List[str]]:
    from ghostedge.data.labels import read_labels
    from ghostedge.errors import MetadataError

    if labels is None:
        return None
    if isinstance(labels, (str, os.PathLike)):
        return read_labels(labels, MetadataError)
    return [str(x) for x in labels]


def convert(model: Any = None, weights: str = "imagenet", *, output: PathArg = DEFAULT_OUTPUT,
            fp16: bool = False, int8: Union[bool, Int8Options] = False, calib: Optional[PathArg] = None,
            calib_samples: int = DEFAULT_SAMPLES, calib_seed: int = 0, int8_io: str = "uint8",
            explain: bool = False, bare: bool = False, image_size: int = 224,
            preprocessing: Optional[str] = None, labels: Union[PathArg, Sequence[str], None] = None,
            num_classes: Optional[int] = None, name: Optional[str] = None,
            cache_dir: Optional[PathArg] = None, force: bool = False,
            check_arm64: bool = False) -> ConversionResult:
    """Convert GhostNet to verified TFLite files in ``output``.

    ``model``: a registry name (``ghostnet_100``, ``paddle_ghostnet_x1_3``...; default: the one
    that fits ``weights``) or a torch ``nn.Module`` of your own (then ``name`` names its files and
    ``weights`` is ignored). ``weights``: checkpoint file, URL, named source (``imagenet``,
    ``paddle:GhostNet_x1_3_ssld``...) or ``random``. ``int8``: True (with ``calib``,
    ``calib_samples``, ``calib_seed``, ``int8_io``, ``explain``) or an :class:`Int8Options`.
    ``check_arm64``: run ``ghostedge.check`` on the written .tflite files afterwards.
    Writes ``<name>.onnx``, ``<name>.fp32.tflite`` (+ ``.fp16``/``.int8``) and a report beside each.
    """
    from ghostedge.convert.outputs import check_outputs
    from ghostedge.convert.pipeline import convert_torch_model, validate_options
    from ghostedge.data.preprocess import get_preset
    from ghostedge.model_report import ArtifactNames

    started = time.perf_counter()
    options = _int8_options(int8, calib, calib_samples, calib_seed, int8_io, explain)
    own_module = model is not None and not isinstance(model, str)
    model_name = (name or type(model).__name__.lower()) if own_module else resolve_model_name(model, weights)
    label_list = _labels(labels)
    validate_options(image_size, label_list)
    known_classes = num_classes or (1000 if weights == "random" and not own_module else None)
    if label_list is not None and known_classes is not None:
        from ghostedge.data.labels import validate_labels
        from ghostedge.errors import MetadataError

        validate_labels(label_list, known_classes, "labels", MetadataError)
    output = Path(output)
    check_outputs(ArtifactNames(output, model_name), fp16, options is not None, force)
    if own_module:
        module, pre_name, source_info = model, preprocessing or "torchvision", {"kind": "module", "weights": "given"}
    else:
        from ghostedge.models.weights import load_model

        loaded = load_model(model_name, weights, num_classes, Path(cache_dir) if cache_dir else None)
        module, pre_name, source_info = loaded.model, preprocessing or loaded.preprocessing, loaded.weights_info
    pre = get_preset(pre_name)
    calibration = None
    if options is not None:
        from ghostedge.quantize.calibration import build_calibration_set

        calibration = build_calibration_set(options.calib, options.samples, options.seed, pre, image_size)
    result = convert_torch_model(module, name=model_name, output_dir=output, preprocessing=pre, fp16=fp16,
                                 int8=options, calibration=calibration, bare=bare, image_size=image_size,
                                 labels=label_list, force=force, source_info=source_info)
    if check_arm64:
        from ghostedge.armcheck import check_models

        result.arm64 = check_models([p for k, p in result.artifacts.items() if k != "onnx"],
                                    cache_dir=cache_dir)
    result.wall_s = time.perf_counter() - started
    return result


def _int8_options(int8: Union[bool, Int8Options], calib: Optional[PathArg], samples: int, seed: int,
                  io: str, explain: bool) -> Optional[Int8Options]:
    if isinstance(int8, Int8Options):
        return int8
    if not int8:
        if calib is not None or explain:
            raise UsageError("--calib and --explain need --int8", "they only affect the INT8 model", "Add --int8")
        return None
    return Int8Options(io=io, calib=Path(calib) if calib is not None else None, samples=samples, seed=seed,
                       explain=explain)
