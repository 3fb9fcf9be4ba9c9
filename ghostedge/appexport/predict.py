"""Top-k classification of image files with a .tflite, an .onnx or a torch registry model, through
the project's one preprocessing (``ghostedge.data.preprocess``).

How a model is fed is decided from, in order: its TFLite metadata, the ``*.report.json`` that
``ghostedge convert`` wrote beside it, and what the model itself shows (uint8 input → raw pixels;
outputs that already sum to 1 are probabilities, anything else gets a softmax). Those decisions
live in ``ghostedge.appexport.feeding``; the per-backend openers and runners are here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ghostedge.appexport.feeding import (_decide_input, _decide_output, _image_size, _is_bare,  # noqa: F401
                                         _preset_name, _sized, find_report)
from ghostedge.appexport.labels import default_labels
from ghostedge.data.preprocess import IMAGE_SUFFIXES, Preprocessing, get_preset, load_pixels, normalize
from ghostedge.errors import DataError, ModelError

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
    labels_source: str                # "metadata", "imagenet", "indices", "checkpoint"
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
        z = np.exp(y - y.max())
        return z / z.sum()


def _expand(paths: Sequence[Union[str, Path]]) -> List[Tuple[Path, bool]]:
    """Image arguments → (file, found in a folder): folders expand to their image files (sorted,
    not recursive)."""
    files: List[Tuple[Path, bool]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"Folder {path} has no images",
                                f"no files ending in {', '.join(IMAGE_SUFFIXES)} (subfolders are not searched)",
                                "Pass image files or a folder that holds them")
            files.extend((p, True) for p in found)
        elif not path.exists():
            raise DataError(f"Image {path} does not exist", "no such file", "Check the path")
        else:
            files.append((path, False))
    if not files:
        raise DataError("No images given", "", "Pass one or more image files or folders")
    return files


def expand_images(paths: Sequence[Union[str, Path]]) -> List[Path]:
    """Image arguments → files: folders expand to their image files (sorted, not recursive)."""
    return [path for path, _ in _expand(paths)]


def counted(n: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def unreadable_list(skipped: Sequence[Tuple[Path, str]], shown: int = 5) -> str:
    """``2 unreadable files: a.jpg, b.png`` (the first ``shown`` names, then how many more)."""
    names = ", ".join(str(path) for path, _ in skipped[:shown])
    more = f" and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return f"{counted(len(skipped), 'unreadable file')}: {names}{more}"


def skipped_summary(skipped: Sequence[Tuple[Path, str]]) -> str:
    """``skipped 2 unreadable files: a.jpg, b.png``."""
    return f"skipped {unreadable_list(skipped)}"


def _tflite_runner(interp: Any, input_kind: str) -> Callable[[np.ndarray], np.ndarray]:
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    in_dtype, out_dtype = np.dtype(inp["dtype"]), np.dtype(out["dtype"])
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]

    def run(x: np.ndarray) -> np.ndarray:
        if in_dtype == np.uint8 and input_kind == "pixels":
            q = np.clip(np.round(x), 0, 255)  # apps hand raw pixels to uint8 inputs as they are
        elif in_dtype.kind in "iu" and in_scale:
            info = np.iinfo(in_dtype)
            q = np.clip(np.round(x.astype(np.float32) / in_scale + in_zero), info.min, info.max)
        else:
            q = x
        interp.set_tensor(inp["index"], q.astype(in_dtype)[None])
        interp.invoke()
        y = interp.get_tensor(out["index"])
        if out_dtype.kind in "iu" and out_scale:
            return (y.astype(np.float32) - out_zero) * np.float32(out_scale)
        return y.astype(np.float32)

    return run


def open_tflite(path: Path, preprocessing: Optional[str] = None, input_kind: str = "auto",
                num_threads: Optional[int] = None) -> Classifier:
    """A .tflite classifier: labels from its metadata, else ImageNet names (1000 classes) or indices."""
    from ghostedge.appexport.metadata import read_metadata
    from ghostedge.runtime import load_interpreter

    interp = load_interpreter(path, num_threads=num_threads)
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if len(inputs) != 1:
        raise ModelError(f"{path} does not take one image", f"it has {len(inputs)} inputs",
                         "predict needs a single-input image classifier")
    layout, size = _image_size(inputs[0]["shape"], str(path))
    if layout != "NHWC":
        raise ModelError(f"{path} takes NCHW input", f"its input has shape {list(inputs[0]['shape'])}",
                         "Export NHWC (ghostedge convert does); apps and MediaPipe need NHWC")
    metadata = read_metadata(path)
    report = find_report(path)
    notes: List[str] = []
    if metadata is None:
        notes.append(f"{path.name} has no TFLite metadata (no labels, no normalization info)")
    dtype = np.dtype(inputs[0]["dtype"]).name
    kind = _decide_input(input_kind, metadata, report, dtype, notes)
    num_classes = int(np.prod(outputs[0]["shape"]))
    labels, labels_source = (metadata or {}).get("labels"), "metadata"
    if not labels or len(labels) != num_classes:
        if labels:
            notes.append(f"metadata has {len(labels)} labels for {num_classes} classes: ignored")
        labels = default_labels(num_classes)
        labels_source = "imagenet" if num_classes == 1000 else "indices"
    pre = _sized(get_preset(_preset_name(report, preprocessing)), size)
    return Classifier(str(path), "tflite", layout, size, dtype, kind, _decide_output(metadata, report),
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
    shape = [d if isinstance(d, int) else 1 for d in inputs[0].shape]
    layout, size = _image_size(shape, str(path))
    report = find_report(path)
    notes: List[str] = []
    kind = _decide_input(input_kind, None, report, "float32", notes)
    num_classes = int(np.prod([d if isinstance(d, int) else 1 for d in session.get_outputs()[0].shape]))
    name = inputs[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {name: x[None].astype(np.float32)})[0]

    pre = _sized(get_preset(_preset_name(report, preprocessing)), size)
    return Classifier(str(path), "onnx", layout, size, "float32", kind, _decide_output(None, report),
                      default_labels(num_classes), "imagenet" if num_classes == 1000 else "indices",
                      pre, None, run, notes)


def open_torch(name: str, weights: str, preprocessing: Optional[str] = None, size: int = 224) -> Classifier:
    """A registry model (``ghostnet_100``...) with ``weights`` (path, URL, named source or random)."""
    import torch

    from ghostedge.models.weights import load_model

    loaded = load_model(name, weights)
    model = loaded.model.eval()
    with torch.no_grad():
        num_classes = int(model(torch.zeros(1, 3, size, size)).shape[-1])

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(x[None], np.float32))).numpy()

    pre = _sized(get_preset(preprocessing or loaded.preprocessing), size)
    return Classifier(name, "torch", "NCHW", size, "float32", "normalized", "logits",
                      default_labels(num_classes), "imagenet" if num_classes == 1000 else "indices",
                      pre, None, run, [])


def open_classifier(model: str, weights: Optional[str] = None, preprocessing: Optional[str] = None,
                    input_kind: str = "auto", num_threads: Optional[int] = None,
                    labels_file: Optional[Union[str, Path]] = None) -> Classifier:
    """Open ``model``: a .tflite or .onnx path, or a registry name together with ``weights``.
    ``labels_file`` (one name per line, as many as classes) overrides the class names."""
    clf = _open(model, weights, preprocessing, input_kind, num_threads)
    if labels_file is not None:
        from ghostedge.appexport.labels import read_labels, validate_labels

        clf.labels = validate_labels(read_labels(labels_file), len(clf.labels), f"labels of {labels_file}")
        clf.labels_source = str(labels_file)
    return clf


def _open(model: str, weights: Optional[str], preprocessing: Optional[str], input_kind: str,
          num_threads: Optional[int]) -> Classifier:
    if input_kind not in INPUT_KINDS:
        raise ModelError(f"Unknown input kind {input_kind!r}", f"choose one of {', '.join(INPUT_KINDS)}")
    from ghostedge.appexport.inspection import check_not_checkpoint, folder_error
    from ghostedge.models.registry import MODEL_SPECS, get_spec

    path = Path(model)
    if path.is_dir() and model not in MODEL_SPECS:
        raise folder_error(path, "--model", (".tflite", ".onnx"))
    check_not_checkpoint(path, "--model takes a .tflite or .onnx file, or a registry name with --weights",
                         "Pass --model {name} --weights {weights}")
    if path.suffix.lower() == ".tflite" or (path.is_file() and path.suffix.lower() != ".onnx"):
        if weights:
            raise ModelError("--weights applies to PyTorch models only", f"{model} is a model file",
                             "Drop --weights, or pass a registry name such as ghostnet_100")
        return open_tflite(path, preprocessing, input_kind, num_threads)
    if path.suffix.lower() == ".onnx":
        if not path.is_file():
            raise ModelError(f"Model {path} does not exist", "no such file", "Check the path")
        return open_onnx(path, preprocessing, input_kind)
    get_spec(model)  # unknown names fail here, with the known names listed
    if not weights:
        raise ModelError(f"{model} needs --weights", "a PyTorch model is built from a checkpoint",
                         "Pass --weights PATH|URL|imagenet|random")
    return open_torch(model, weights, preprocessing)


def classify(classifier: Classifier, image: Union[str, Path], top: int = 5) -> Dict[str, Any]:
    """Top-``top`` classes of one image file: {"image", "top": [{"index", "label", "probability"}]}."""
    pixels = load_pixels(image, classifier.preprocessing)
    probs = classifier.scores(pixels)
    order = np.argsort(-probs, kind="stable")[:max(1, top)]
    return {"image": str(image),
            "top": [{"index": int(i), "label": classifier.labels[int(i)], "probability": float(probs[i])}
                    for i in order]}


def predict(images: Sequence[Union[str, Path]], classifier: Classifier, top: int = 5,
            skipped: Optional[List[Tuple[Path, str]]] = None) -> List[Dict[str, Any]]:
    """Classify every image (folders expanded). An unreadable file named on its own stops with its
    name; unreadable files found in a folder are skipped and appended to ``skipped`` as (path,
    reason) (logged when ``skipped`` is None). Raises DataError when no image could be read."""
    from ghostedge._progress import progress

    files = _expand(images)
    results: List[Dict[str, Any]] = []
    bad: List[Tuple[Path, str]] = []
    for path, in_folder in progress(files, total=len(files), desc="predict"):
        try:
            results.append(classify(classifier, path, top))
        except DataError as exc:
            if not in_folder:
                raise
            bad.append((path, str(exc)))
    if not results:
        raise DataError("No image could be read", unreadable_list(bad),
                        "Pass readable JPEG, PNG, BMP, GIF, TIFF or WebP images")
    if skipped is not None:
        skipped.extend(bad)
    elif bad:
        log.warning("%s", skipped_summary(bad))
    return results
