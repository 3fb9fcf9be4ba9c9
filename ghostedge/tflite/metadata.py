"""TFLite Metadata for image classifiers, as MediaPipe Tasks' ImageClassifier and the LiteRT Task
Library read it: a ``ModelMetadata`` flatbuffer (schema ``metadata_schema.fbs``, identifier "M001")
stored in the model's "TFLITE_METADATA" buffer, plus a zip of associated files (``labels.txt``)
appended after the model. The interpreter ignores both, so numerics do not change.

The flatbuffer is written with the vendored generated schema module and the ``flatbuffers``
runtime: no tflite-support (needs protobuf<4) and no mediapipe (conflicts with the pinned stack).
"""
from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ghostedge.data.labels import labels_file_bytes, parse_labels, validate_labels
from ghostedge.errors import MetadataError
from ghostedge.tflite.edit import with_metadata_buffer
from ghostedge.tflite.model import TFLiteModel, read_model
from ghostedge.tflite.schema import require_flatbuffers

log = logging.getLogger(__name__)

METADATA_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.0.0"  # every field written here exists since schema 1.0.0
LABELS_FILE = "labels.txt"
AUTHOR = "ghostedge"
DEFAULT_LICENSE = ("Apache-2.0 (ghostedge export); the weights keep the license of their source")
INPUT_DTYPES = ("float32", "uint8", "int8")


def _model_io(model: TFLiteModel) -> Tuple[Tuple[List[int], str], Tuple[List[int], str]]:
    """(shape, dtype) of the single input and the single output of subgraph 0."""
    inputs, outputs = model.inputs, model.outputs
    if len(inputs) != 1 or len(outputs) != 1:
        raise MetadataError("Cannot describe this model as an image classifier",
                            f"it has {len(inputs)} inputs and {len(outputs)} outputs, "
                            "an image classifier has one of each", "Export a single-input classifier")
    return (inputs[0].shape, inputs[0].dtype), (outputs[0].shape, outputs[0].dtype)


def _normalization(input_dtype: str, app_ready: bool, mean: Sequence[float],
                   std: Sequence[float]) -> Tuple[List[float], List[float]]:
    """mean/std applied to raw 0..255 pixels, as the metadata schema defines NormalizationOptions."""
    if app_ready or input_dtype == "uint8":
        return [0.0], [1.0]  # raw pixels go in; the graph (or input quantization) normalizes
    log.warning("bare model: its input needs per-channel ImageNet normalization, which the metadata "
                "declares but MediaPipe Tasks refuses (one mean/std only); export app-ready "
                "(the default) for MediaPipe")
    return [round(255.0 * m, 6) for m in mean], [round(255.0 * s, 6) for s in std]


def build_metadata(*, name: str, labels: Sequence[str], input_shape: Sequence[int], input_dtype: str,
                   app_ready: bool, version: str, description: str, license_text: str = DEFAULT_LICENSE,
                   mean: Sequence[float] = (0.485, 0.456, 0.406),
                   std: Sequence[float] = (0.229, 0.224, 0.225)) -> bytes:
    """The ModelMetadata flatbuffer (bytes, identifier "M001") for an image classifier."""
    require_flatbuffers(MetadataError, "Cannot write TFLite metadata")
    import flatbuffers

    from ghostedge.tflite import _metadata_schema_generated as md

    height, width = int(input_shape[1]), int(input_shape[2])
    image = md.TensorMetadataT()
    image.name = "image"
    image.content = md.ContentT()
    image.content.contentPropertiesType = md.ContentProperties.ImageProperties
    image.content.contentProperties = md.ImagePropertiesT()
    image.content.contentProperties.colorSpace = md.ColorSpaceType.RGB
    image.content.contentProperties.defaultSize = md.ImageSizeT()
    image.content.contentProperties.defaultSize.width = width
    image.content.contentProperties.defaultSize.height = height
    norm_mean, norm_std = _normalization(input_dtype, app_ready, mean, std)
    pixels = norm_mean == [0.0] and norm_std == [1.0]
    image.description = (
        f"RGB image, {width}x{height}, NHWC {input_dtype}, " + (
            "raw pixel values 0..255 (normalization is inside the model)" if pixels else
            "ImageNet-normalized: (pixel - mean) / std per channel, pixel in 0..255"))
    unit = md.ProcessUnitT()
    unit.optionsType = md.ProcessUnitOptions.NormalizationOptions
    unit.options = md.NormalizationOptionsT()
    unit.options.mean, unit.options.std = norm_mean, norm_std
    image.processUnits = [unit]
    image.stats = md.StatsT()
    image.stats.max, image.stats.min = [255.0], [0.0]

    scores = md.TensorMetadataT()
    scores.name = "probabilities" if app_ready else "logits"
    scores.description = (f"Probabilities of the {len(labels)} classes (softmax, sum 1)" if app_ready
                          else f"Logits of the {len(labels)} classes (apply softmax for probabilities)")
    scores.content = md.ContentT()
    scores.content.contentPropertiesType = md.ContentProperties.FeatureProperties
    scores.content.contentProperties = md.FeaturePropertiesT()
    if app_ready:
        scores.stats = md.StatsT()
        scores.stats.max, scores.stats.min = [1.0], [0.0]
    labels_file = md.AssociatedFileT()
    labels_file.name = LABELS_FILE
    labels_file.description = f"Class names, one per line, {len(labels)} lines in class-index order"
    labels_file.type = md.AssociatedFileType.TENSOR_AXIS_LABELS
    scores.associatedFiles = [labels_file]

    graph = md.SubGraphMetadataT()
    graph.name = "image_classifier"
    graph.description = "Classifies the main object of an RGB image"
    graph.inputTensorMetadata = [image]
    graph.outputTensorMetadata = [scores]

    model = md.ModelMetadataT()
    model.name = name
    model.description = description
    model.version = version
    model.author = AUTHOR
    model.license = license_text
    model.subgraphMetadata = [graph]
    model.minParserVersion = MIN_PARSER_VERSION
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _append_associated_files(model: bytes, files: Dict[str, bytes]) -> bytes:
    """Append a zip of ``files`` after the model (stored, not deflated: clients read them in place).

    The zip's offsets count from the start of the .tflite, as tflite-support's populator writes them.
    """
    stream = io.BytesIO()
    stream.write(model)
    with zipfile.ZipFile(stream, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for file_name, data in files.items():
            info = zipfile.ZipInfo(file_name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, data)
    return stream.getvalue()


def add_metadata(model_bytes: bytes, *, name: str, labels: Sequence[str], input_dtype: str,
                 app_ready: bool, version: str, description: str, license_text: str = DEFAULT_LICENSE,
                 mean: Sequence[float] = (0.485, 0.456, 0.406),
                 std: Sequence[float] = (0.229, 0.224, 0.225)) -> bytes:
    """Return ``model_bytes`` with TFLite Metadata and ``labels.txt`` (replacing any present).

    ``labels`` must hold one non-empty name per output class. ``input_dtype`` must be the model's
    input type. ``app_ready``: the model takes raw 0..255 pixels and outputs probabilities; else it
    takes ImageNet-normalized input (``mean``/``std`` on 0..1 pixels) and outputs logits.
    """
    model = read_model(model_bytes)
    if input_dtype not in INPUT_DTYPES:
        raise MetadataError(f"Unsupported input type {input_dtype!r}", f"known: {', '.join(INPUT_DTYPES)}")
    (in_shape, in_dtype), (out_shape, out_dtype) = _model_io(model)
    if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3:
        raise MetadataError("Cannot add image metadata", f"the model's input is {in_shape} "
                            f"{in_dtype}, not an NHWC RGB image [1,H,W,3]",
                            "Export with NHWC image input (ghostedge convert does)")
    if in_dtype != input_dtype:
        raise MetadataError("Cannot add image metadata", f"the model's input is {in_dtype}, "
                            f"the exporter said {input_dtype}", "Pass the model's real input type")
    if in_dtype == "int8" or out_dtype == "int8":
        log.warning("int8 input/output: MediaPipe Tasks and the LiteRT Task Library refuse int8 I/O; "
                    "export uint8 or float32 I/O for apps")
    num_classes = out_shape[-1] if out_shape else 0
    if len(out_shape) != 2 or out_shape[0] != 1 or num_classes < 1:
        raise MetadataError("Cannot add classifier metadata", f"the model's output is {out_shape}, "
                            "not class scores [1,N]", "Export a classifier")
    names = validate_labels(labels, num_classes, error=MetadataError)
    meta = build_metadata(name=name, labels=names, input_shape=in_shape, input_dtype=in_dtype,
                          app_ready=app_ready, version=version, description=description,
                          license_text=license_text, mean=mean, std=std)
    with_meta = with_metadata_buffer(model_bytes, METADATA_NAME, meta)
    return _append_associated_files(with_meta, {LABELS_FILE: labels_file_bytes(names)})


def _text(value: Any) -> Optional[str]:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _floats(values: Any) -> Optional[List[float]]:
    return None if values is None else [float(v) for v in values]


def _tensor_dict(tensor: Any, md: Any) -> Dict[str, Any]:
    names = {v: k for k, v in vars(md.AssociatedFileType).items() if not k.startswith("_")}
    info: Dict[str, Any] = {"name": _text(tensor.name), "description": _text(tensor.description)}
    content = tensor.content
    if content is not None:
        kind = {md.ContentProperties.ImageProperties: "image",
                md.ContentProperties.FeatureProperties: "feature"}.get(content.contentPropertiesType,
                                                                     str(content.contentPropertiesType))
        info["content"] = kind
        if kind == "image" and content.contentProperties is not None:
            props = content.contentProperties
            info["color_space"] = {1: "RGB", 2: "GRAYSCALE"}.get(props.colorSpace, "UNKNOWN")
            if props.defaultSize is not None:
                info["size"] = [props.defaultSize.width, props.defaultSize.height]
    for unit in tensor.processUnits or []:
        if unit.optionsType == md.ProcessUnitOptions.NormalizationOptions:
            info["normalization"] = {"mean": _floats(unit.options.mean), "std": _floats(unit.options.std)}
    if tensor.stats is not None:
        info["stats"] = {"min": _floats(tensor.stats.min), "max": _floats(tensor.stats.max)}
    info["associated_files"] = [
        {"name": _text(f.name), "type": names.get(f.type, str(f.type)), "description": _text(f.description)}
        for f in tensor.associatedFiles or []]
    return info


def associated_files(model: bytes, source: str = "the model") -> Dict[str, bytes]:
    """The files zipped after the model ({} when nothing is appended). A damaged archive (cut
    short, bad CRC, unreadable entry) raises MetadataError: its labels must not silently vanish."""
    if not zipfile.is_zipfile(io.BytesIO(model)):
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError) as exc:
        raise MetadataError(f"The associated-files archive appended to {source} is damaged",
                            f"{type(exc).__name__}: {exc}",
                            "Re-export the model (ghostedge convert), or pass --labels FILE") from exc


def read_metadata(model: Union[str, Path, bytes, TFLiteModel], labels: bool = True) -> Optional[Dict[str, Any]]:
    """The TFLite Metadata of a model (path, bytes or parsed model) as a dict, or None when it has
    none.

    Keys: name, description, version, author, license, min_parser_version, inputs, outputs
    (per tensor: name, content, normalization, stats, associated_files), associated_files
    (name → size), labels (from the output's TENSOR_AXIS_LABELS file) and label_count. Labels that
    the metadata declares but the appended archive lacks or cannot give are a MetadataError;
    ``labels=False`` skips the archive (labels None) for callers that bring their own.
    """
    require_flatbuffers(MetadataError, "Cannot read TFLite metadata")
    from ghostedge.tflite import _metadata_schema_generated as md

    parsed = read_model(model)
    source = parsed.source
    raw = parsed.metadata_buffers().get(METADATA_NAME)
    if raw is None:
        return None
    if len(raw) < 8 or raw[4:8] != METADATA_IDENTIFIER:
        raise MetadataError(f"The TFLITE_METADATA of {source} is not TFLite Metadata",
                            "the M001 file identifier is missing", "Re-export the model")
    try:
        tree = md.ModelMetadataT.InitFromPackedBuf(raw, 0)
    except Exception as exc:
        raise MetadataError(f"Cannot read the TFLite Metadata of {source}", f"{type(exc).__name__}: {exc}",
                            "Re-export the model") from exc
    graph = (tree.subgraphMetadata or [None])[0]
    files = associated_files(parsed.data, source) if labels else {}
    result: Dict[str, Any] = {
        "name": _text(tree.name), "description": _text(tree.description),
        "version": _text(tree.version), "author": _text(tree.author), "license": _text(tree.license),
        "min_parser_version": _text(tree.minParserVersion),
        "inputs": [_tensor_dict(t, md) for t in (graph.inputTensorMetadata or [])] if graph else [],
        "outputs": [_tensor_dict(t, md) for t in (graph.outputTensorMetadata or [])] if graph else [],
        "associated_files": {k: len(v) for k, v in files.items()},
        "labels": None, "label_count": None}
    for out in result["outputs"]:
        for f in out["associated_files"]:
            if f["type"] != "TENSOR_AXIS_LABELS" or not labels:
                continue
            if f["name"] not in files:
                raise MetadataError(f"The labels of {source} are missing",
                                    f"its metadata names {f['name']} but no such file is appended "
                                    "to the model", "Re-export the model, or pass --labels FILE")
            result["labels"] = parse_labels(files[f["name"]], f"{f['name']} in {source}", MetadataError)
            result["label_count"] = len(result["labels"])
            break
        if result["labels"] is not None:
            break
    return result
