"""TFLite metadata: what is written, that numerics do not change, and every bad input."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from ghostedge.appexport import _tflite_model
from ghostedge.appexport.labels import parse_labels, read_labels, validate_labels
from ghostedge.appexport.metadata import add_metadata, read_metadata
from ghostedge.errors import MetadataError

TINY_LABELS = [f"tiny class {i}" for i in range(10)]  # as in conftest.py


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
    raw = _tflite_model.read_metadata_buffers(data)["TFLITE_METADATA"]
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
    from flatbuffers import encode, number_types, table

    data = _add(tiny["app_fp32"].read_bytes())
    root = table.Table(data, encode.Get(number_types.UOffsetTFlags.packer_type, data, 0))
    starts = []
    for buf in _tflite_model._tables(root, _tflite_model._MODEL_BUFFERS):
        off = buf.Offset(_tflite_model._BUFFER_DATA)
        if off and buf.VectorLen(off) >= 16:
            starts.append(buf.Vector(off))
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
    assert list(_tflite_model.read_metadata_buffers(second)).count("TFLITE_METADATA") == 1
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
    ([], "empty"),
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
    with pytest.raises(MetadataError, match="not a .tflite model"):
        _add(b"PK\x03\x04 definitely not a model")


def test_parse_labels_strict_utf8_and_empty():
    with pytest.raises(MetadataError, match="not UTF-8.*line 2"):
        parse_labels(b"cat\n\xff\xfedog\n", "labels.txt")
    with pytest.raises(MetadataError, match="empty"):
        parse_labels(b"", "labels.txt")
    assert parse_labels(b"a\r\nb\r\n") == ["a", "b"]
    assert parse_labels("\ufeffchat\nchien".encode("utf-8")) == ["chat", "chien"]
    assert parse_labels(b"a\n\nc\n") == ["a", "", "c"]  # kept, so validation names the empty line


def test_read_labels_file_and_validate(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_bytes(b"\xe9t\xe9\n")  # Latin-1, not UTF-8
    with pytest.raises(MetadataError, match="not UTF-8"):
        read_labels(path)
    with pytest.raises(MetadataError, match="Cannot read labels file"):
        read_labels(tmp_path / "missing.txt")
    assert validate_labels(["x", "y"], 2) == ["x", "y"]
