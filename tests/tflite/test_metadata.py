"""TFLite metadata: what is written, that numerics do not change, and every bad input."""
from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from ghostedge.errors import InvalidModelError, MetadataError
from ghostedge.tflite import read_model
from ghostedge.tflite.metadata import add_metadata, read_metadata

TINY_LABELS = [f"tiny class {i}" for i in range(10)]
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "appexport"


@pytest.fixture()
def tiny(tmp_path) -> Dict[str, Path]:
    """Copies of the tiny models of tests/data/appexport (no metadata)."""
    names = {"app_fp32": "tiny_app.fp32.tflite", "app_int8": "tiny_app.int8.tflite",
             "bare_fp32": "tiny_bare.fp32.tflite", "not_image": "not_image.tflite"}
    out = {}
    for key, name in names.items():
        out[key] = tmp_path / name
        shutil.copyfile(FIXTURES / name, out[key])
    return out


def _run(model: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"]).copy()


def _add(model: bytes, labels=TINY_LABELS, dtype="float32", app=True, **kw) -> bytes:
    return add_metadata(model, name=kw.pop("name", "tiny"), labels=labels, input_dtype=dtype,
                        app_ready=app, version="0.1", description="tiny test classifier", **kw)


def test_app_ready_fp32_metadata_fields(tiny):
    meta = read_metadata(_add(tiny["app_fp32"].read_bytes()))
    assert meta["name"] == "tiny" and meta["version"] == "0.1" and meta["author"] == "ghostedge"
    assert meta["description"] == "tiny test classifier" and "Apache-2.0" in meta["license"]
    assert meta["min_parser_version"] == "1.0.0"
    (image,) = meta["inputs"]
    assert image["content"] == "image" and image["color_space"] == "RGB" and image["size"] == [64, 64]
    assert image["normalization"] == {"mean": [0.0], "std": [1.0]}  # raw pixels: MediaPipe's one mean/std
    (scores,) = meta["outputs"]
    assert scores["name"] == "probabilities" and scores["stats"] == {"min": [0.0], "max": [1.0]}
    assert scores["associated_files"][0]["name"] == "labels.txt"
    assert scores["associated_files"][0]["type"] == "TENSOR_AXIS_LABELS"
    assert meta["labels"] == TINY_LABELS and meta["label_count"] == 10


def test_metadata_buffer_is_tflite_metadata_flatbuffer(tiny):
    data = _add(tiny["app_fp32"].read_bytes())
    raw = read_model(data).metadata_buffers()["TFLITE_METADATA"]
    assert raw[4:8] == b"M001"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (info,) = archive.infolist()
        assert info.filename == "labels.txt" and info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info).decode("utf-8").splitlines() == TINY_LABELS


@pytest.mark.parametrize("key,dtype", [("app_fp32", "float32"), ("app_int8", "uint8"), ("bare_fp32", "float32")])
def test_numerics_do_not_change(tiny, key, dtype):
    original = tiny[key].read_bytes()
    with_meta = _add(original, dtype=dtype, app=key != "bare_fp32")
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.integers(0, 256, (1, 64, 64, 3)).astype(dtype)
        assert np.array_equal(_run(original, x), _run(with_meta, x))


def test_constant_buffers_stay_16_byte_aligned(tiny):
    data = _add(tiny["app_fp32"].read_bytes())
    root = read_model(data).root
    starts = []
    for i in range(root.BuffersLength()):
        buf = root.Buffers(i)
        if buf.DataLength() >= 16:
            starts.append(buf._tab.Vector(buf._tab.Offset(4)))  # Buffer.data is field 0 (vtable slot 4)
    assert starts and all(s % 16 == 0 for s in starts)


def test_uint8_model_declares_raw_pixels(tiny):
    meta = read_metadata(_add(tiny["app_int8"].read_bytes(), dtype="uint8"))
    assert meta["inputs"][0]["normalization"] == {"mean": [0.0], "std": [1.0]}
    assert "uint8" in meta["inputs"][0]["description"]


def test_bare_model_declares_per_channel_normalization_and_logits(tiny, caplog):
    meta = read_metadata(_add(tiny["bare_fp32"].read_bytes(), app=False))
    norm = meta["inputs"][0]["normalization"]
    assert np.allclose(norm["mean"], [255 * 0.485, 255 * 0.456, 255 * 0.406], atol=1e-3)
    assert np.allclose(norm["std"], [255 * 0.229, 255 * 0.224, 255 * 0.225], atol=1e-3)
    assert meta["outputs"][0]["name"] == "logits" and "stats" not in meta["outputs"][0]
    assert "MediaPipe" in caplog.text  # says what it cannot express


def test_adding_twice_replaces_metadata_and_labels(tiny):
    first = _add(tiny["app_fp32"].read_bytes())
    new_labels = [f"other {i}" for i in range(10)]
    second = _add(first, labels=new_labels, name="again")
    meta = read_metadata(second)
    assert meta["name"] == "again" and meta["labels"] == new_labels
    assert list(read_model(second).metadata_buffers()).count("TFLITE_METADATA") == 1
    with zipfile.ZipFile(io.BytesIO(second)) as archive:
        assert [i.filename for i in archive.infolist()] == ["labels.txt"]


def test_model_without_metadata_reads_none(tiny):
    assert read_metadata(tiny["app_fp32"]) is None
    assert read_metadata(tiny["app_fp32"].read_bytes()) is None


def test_label_count_mismatch_is_refused_with_both_numbers(tiny):
    with pytest.raises(MetadataError) as err:
        _add(tiny["app_fp32"].read_bytes(), labels=TINY_LABELS[:9])
    assert "9 labels for 10 classes" in str(err.value)
    with pytest.raises(MetadataError, match="11 labels for 10 classes"):
        _add(tiny["app_fp32"].read_bytes(), labels=TINY_LABELS + ["extra"])


@pytest.mark.parametrize("labels,message", [
    ([], "0 labels for 10 classes"),
    (TINY_LABELS[:4] + ["  "] + TINY_LABELS[5:], "Label 5 .* is empty"),
    (TINY_LABELS[:9] + ["two\nlines"], "spans several lines"),
])
def test_bad_labels_are_refused(tiny, labels, message):
    with pytest.raises(MetadataError, match=message):
        _add(tiny["app_fp32"].read_bytes(), labels=labels)


def test_non_image_input_model_is_refused(tiny):
    with pytest.raises(MetadataError, match=r"not an NHWC RGB image"):
        _add(tiny["not_image"].read_bytes())


def test_wrong_input_dtype_and_non_tflite_bytes_are_refused(tiny):
    with pytest.raises(MetadataError, match="the model's input is float32, the exporter said uint8"):
        _add(tiny["app_fp32"].read_bytes(), dtype="uint8")
    with pytest.raises(InvalidModelError, match="not a .tflite model"):
        _add(b"PK\x03\x04 definitely not a model")


@pytest.mark.parametrize("damage", ["cut", "crc", "gone"])
def test_damaged_labels_archive_is_an_error_not_other_labels(tiny, tmp_path, damage):
    """Labels the metadata declares must come from the model or the reader says why not."""
    data = bytearray(_add(tiny["app_fp32"].read_bytes()))
    start = data.rfind(b"PK\x03\x04")
    if damage == "cut":          # archive cut short: no end-of-central-directory record
        data = data[:-10]
    elif damage == "crc":        # one byte of labels.txt changed: CRC-32 mismatch
        i = data.index(b"tiny class 3", start)
        data[i] = ord("T")
    else:                        # the archive is missing altogether
        data = data[:start]
    path = tmp_path / f"damaged-{damage}.tflite"
    path.write_bytes(bytes(data))
    with pytest.raises(MetadataError, match="damaged|labels .* are missing"):
        read_metadata(path)
    assert read_metadata(path, labels=False)["labels"] is None   # a caller with its own labels



