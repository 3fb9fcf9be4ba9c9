"""A classifier ready for one image at a time: a .tflite (labels from its metadata), an .onnx
(onnxruntime) or a torch registry model, fed through the project's one preprocessing. How it is
fed is decided in ``ghostedge.appexport.feeding``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Union

import numpy as np

from ghostedge.appexport.feeding import decide_input, decide_output, image_input, preset_name
from ghostedge.data.labels import default_labels, read_labels, validate_labels
from ghostedge.data.preprocess import Preprocessing, for_image_size, get_preset, normalize
from ghostedge.errors import ModelError, UsageError
from ghostedge.model_report import find_report
from ghostedge.scores import softmax

log = logging.getLogger(__name__)

INPUT_KINDS = ("auto", "pixels", "normalized")


@dataclass
class Classifier:
    """A loaded model and everything needed to feed it one image and read its scores."""

    source: str                       # model path or registry name
    backend: str                      # "tflite", "onnx" or "torch"
    layout: str                       # "NHWC" or "NCHW"
    size: int                         # square input side
    input_dtype: str
    input_kind: str                   # "pixels" (raw 0..255) or "normalized"
    output_kind: str                  # "probabilities", "logits" or "auto"
    labels: List[str]
    labels_source: str                # "metadata", "imagenet", "indices" or a labels file
    preprocessing: Preprocessing
    has_metadata: Optional[bool]      # None where the notion does not apply (onnx, torch)
    run: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    notes: List[str] = field(default_factory=list)

    def scores(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 HWC crop → class probabilities (float64, sum 1)."""
        x = pixels if self.input_kind == "pixels" else normalize(pixels, self.preprocessing)
        if self.layout == "NCHW":
            x = np.ascontiguousarray(np.transpose(x, (2, 0, 1)))
        y = np.asarray(self.run(x), np.float64).reshape(-1)
        if self.output_kind == "probabilities":
            return y
        if self.output_kind == "auto" and y.min() >= 0.0 and abs(y.sum() - 1.0) < 1e-2:
            return y
        return softmax(y)


def _fallback_labels(num_classes: int) -> tuple[List[str], str]:
    return default_labels(num_classes), "imagenet" if num_classes == 1000 else "indices"


def _tflite_runner(interp: Any, input_kind: str) -> Callable[[np.ndarray], np.ndarray]:
    from ghostedge.tflite import dequantize_output, quantize_input

    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    raw_uint8 = np.dtype(inp["dtype"]) == np.uint8 and input_kind == "pixels"

    def run(x: np.ndarray) -> np.ndarray:
        # apps hand raw pixels to uint8 inputs as they are; anything else is quantized
        q = np.clip(np.round(x), 0, 255).astype(np.uint8) if raw_uint8 else quantize_input(x, inp)
        interp.set_tensor(inp["index"], q[None])
        interp.invoke()
        return dequantize_output(interp.get_tensor(out["index"]), out)

    return run


def open_tflite(path: Path, preprocessing: Optional[str] = None, input_kind: str = "auto",
                num_threads: Optional[int] = None, own_labels: bool = False) -> Classifier:
    """A .tflite classifier: labels from its metadata, else ImageNet names (1000 classes) or
    ``class_<i>``. ``own_labels``: the caller brings labels, so the model's are not read."""
    from ghostedge.tflite import load_interpreter, read_model
    from ghostedge.tflite.metadata import read_metadata

    model = read_model(path)
    inputs, outputs = model.inputs, model.outputs
    if len(inputs) != 1:
        raise ModelError(f"{path} does not take one image", f"it has {len(inputs)} inputs",
                         "predict needs a single-input image classifier")
    layout, size = image_input(inputs[0].shape, str(path))
    if layout != "NHWC":
        raise ModelError(f"{path} takes NCHW input", f"its input has shape {inputs[0].shape}",
                         "Export NHWC (ghostedge convert does); apps and MediaPipe need NHWC")
    metadata = read_metadata(model, labels=not own_labels)
    report = find_report(path)
    notes: List[str] = []
    if metadata is None:
        notes.append(f"{path.name} has no TFLite metadata (no labels, no normalization info)")
    dtype = inputs[0].dtype
    kind = decide_input(input_kind, metadata, report, dtype, notes)
    num_classes = int(np.prod(outputs[0].shape))
    labels, labels_source = (metadata or {}).get("labels"), "metadata"
    if not labels or len(labels) != num_classes:
        if labels:
            notes.append(f"metadata has {len(labels)} labels for {num_classes} classes: ignored")
        labels, labels_source = _fallback_labels(num_classes)
    interp = load_interpreter(path, num_threads=num_threads, probe=True)
    pre = for_image_size(get_preset(preset_name(report, preprocessing)), size)
    return Classifier(str(path), "tflite", layout, size, dtype, kind, decide_output(metadata, report),
                      labels, labels_source, pre, metadata is not None, _tflite_runner(interp, kind), notes)


def open_onnx(path: Path, preprocessing: Optional[str] = None, input_kind: str = "auto") -> Classifier:
    """An .onnx classifier run with onnxruntime (CPU)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError("Cannot run .onnx models", "onnxruntime is not installed",
                         "pip install onnxruntime (it comes with ghostedge[convert])") from None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"Cannot load {path}", str(exc).strip().splitlines()[0][:200],
                         "Pass a complete .onnx model") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelError(f"{path} does not take one image", f"it has {len(inputs)} inputs")
    layout, size = image_input([d if isinstance(d, int) else 1 for d in inputs[0].shape], str(path))
    report = find_report(path)
    notes: List[str] = []
    kind = decide_input(input_kind, None, report, "float32", notes)
    num_classes = int(np.prod([d if isinstance(d, int) else 1 for d in session.get_outputs()[0].shape]))
    name = inputs[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {name: x[None].astype(np.float32)})[0]

    pre = for_image_size(get_preset(preset_name(report, preprocessing)), size)
    return Classifier(str(path), "onnx", layout, size, "float32", kind, decide_output(None, report),
                      *_fallback_labels(num_classes), pre, None, run, notes)


def open_torch(name: str, weights: str, preprocessing: Optional[str] = None, size: int = 224) -> Classifier:
    """A registry model (``ghostnet_100``...) with ``weights`` (path, URL, named source or random)."""
    import torch

    from ghostedge.models.ghostnet import output_classes
    from ghostedge.models.weights import load_model

    loaded = load_model(name, weights)
    model = loaded.model.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(x[None], np.float32))).numpy()

    pre = for_image_size(get_preset(preprocessing or loaded.preprocessing), size)
    return Classifier(name, "torch", "NCHW", size, "float32", "normalized", "logits",
                      *_fallback_labels(output_classes(model, size)), pre, None, run, [])


def open_classifier(model: Union[str, Path], weights: Optional[str] = None, preprocessing: Optional[str] = None,
                    input_kind: str = "auto", num_threads: Optional[int] = None,
                    labels_file: Optional[Union[str, Path]] = None) -> Classifier:
    """Open ``model``: a .tflite or .onnx path, or a registry name together with ``weights``.
    ``labels_file`` (one name per line, as many as classes) overrides the class names."""
    from ghostedge.appexport.inspection import check_not_checkpoint, folder_error
    from ghostedge.models.registry import MODEL_SPECS, get_spec

    if input_kind not in INPUT_KINDS:
        raise UsageError(f"Unknown input kind {input_kind!r}", f"choose one of {', '.join(INPUT_KINDS)}",
                         "Pass --input auto, pixels or normalized")
    if num_threads is not None and (not isinstance(num_threads, int) or not 1 <= num_threads <= 256):
        raise UsageError(f"--threads {num_threads} is not allowed", "it must be from 1 to 256",
                         "Use --threads 1 or more")
    text, path = str(model), Path(model)
    if path.is_dir() and text not in MODEL_SPECS:
        raise folder_error(path, "--model", (".tflite", ".onnx"))
    check_not_checkpoint(path, "--model takes a .tflite or .onnx file, or a registry name with --weights",
                         "Pass --model {name} --weights {weights}")
    if path.suffix.lower() == ".tflite" or (path.is_file() and path.suffix.lower() != ".onnx"):
        if weights:
            raise ModelError("--weights applies to PyTorch models only", f"{model} is a model file",
                             "Drop --weights, or pass a registry name such as ghostnet_100")
        clf = open_tflite(path, preprocessing, input_kind, num_threads, own_labels=labels_file is not None)
    elif path.suffix.lower() == ".onnx":
        if not path.is_file():
            raise ModelError(f"Model {path} does not exist", "no such file", "Check the path")
        clf = open_onnx(path, preprocessing, input_kind)
    else:
        get_spec(text)  # unknown names fail here, with the known names listed
        if not weights:
            raise ModelError(f"{model} needs --weights", "a PyTorch model is built from a checkpoint",
                             "Pass --weights PATH|URL|imagenet|random")
        clf = open_torch(text, weights, preprocessing)
    if labels_file is not None:
        clf.labels = validate_labels(read_labels(labels_file), len(clf.labels), f"labels of {labels_file}")
        clf.labels_source = str(labels_file)
    return clf
