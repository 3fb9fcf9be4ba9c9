"""ghostedge predict: scores equal what the model computes on the shared preprocessing, labels come
from the right place, app-ready and bare models are fed correctly, and bad input fails clearly.

``ghostedge predict`` / ``inspect`` acceptance findings: unreadable files in a folder are skipped
and counted (a file named on its own still fails), the empty-folder message reads cleanly, folders
and checkpoints given as models say what to pass instead, counts are pluralized."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest

from ghostedge.appexport.classifier import open_classifier
from ghostedge.appexport.predict import classify, expand_images, predict_with
from ghostedge.cli.main import main
from ghostedge.data.preprocess import PRESETS, bundled_photos, load_pixels, normalize
from ghostedge.errors import DataError, ModelError

TINY_LABELS = [f"tiny class {i}" for i in range(10)]  # as in conftest.py
PRE64 = dataclasses.replace(PRESETS["torchvision"], crop=64, resize_short=73)


def _direct(path, x: np.ndarray) -> np.ndarray:
    """What the interpreter outputs for one NHWC input (dequantized)."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    interp.set_tensor(inp["index"], x[None].astype(inp["dtype"]))
    interp.invoke()
    y = interp.get_tensor(out["index"])[0].astype(np.float64)
    scale, zero = out["quantization"]
    return (y - zero) * scale if scale else y


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def test_app_ready_fp32_top5_matches_the_model(tiny_with_metadata):
    photo = bundled_photos()[1]
    clf = open_classifier(str(tiny_with_metadata["app_fp32"]))
    assert (clf.input_kind, clf.output_kind, clf.labels_source) == ("pixels", "probabilities", "metadata")
    assert clf.preprocessing.crop == 64
    res = classify(clf, photo, top_k=5).to_dict()
    expected = _direct(tiny_with_metadata["app_fp32"], load_pixels(photo, PRE64).astype(np.float32))
    order = np.argsort(-expected)[:5]
    assert [t["index"] for t in res["top"]] == order.tolist()
    assert [t["label"] for t in res["top"]] == [TINY_LABELS[i] for i in order]
    assert np.allclose([t["probability"] for t in res["top"]], expected[order], atol=1e-6)


def test_uint8_model_gets_raw_pixels(tiny_with_metadata):
    photo = bundled_photos()[0]
    clf = open_classifier(str(tiny_with_metadata["app_int8"]))
    res = classify(clf, photo, top_k=10).to_dict()
    expected = _direct(tiny_with_metadata["app_int8"], load_pixels(photo, PRE64))
    got = np.zeros(10)
    for t in res["top"]:
        got[t["index"]] = t["probability"]
    assert np.allclose(got, expected, atol=1e-7)


def test_bare_model_gets_normalized_input_and_softmax(tiny_with_metadata):
    photo = bundled_photos()[2]
    clf = open_classifier(str(tiny_with_metadata["bare_fp32"]))
    assert (clf.input_kind, clf.output_kind) == ("normalized", "logits")
    res = classify(clf, photo, top_k=3).to_dict()
    logits = _direct(tiny_with_metadata["bare_fp32"], normalize(load_pixels(photo, PRE64), PRE64))
    probs = _softmax(logits)
    order = np.argsort(-probs)[:3]
    assert [t["index"] for t in res["top"]] == order.tolist()
    assert np.allclose([t["probability"] for t in res["top"]], probs[order], atol=1e-6)


def test_model_without_metadata_works_and_says_so(tiny):
    clf = open_classifier(str(tiny["app_fp32"]))
    assert clf.has_metadata is False and clf.labels_source == "indices"
    assert any("no TFLite metadata" in note for note in clf.notes)
    res = classify(clf, bundled_photos()[0]).to_dict()
    assert [t["label"] for t in res["top"]] == [f"class_{t['index']}" for t in res["top"]]


def test_report_beside_the_model_decides_bare_input(tiny):
    bare = tiny["bare_fp32"]
    (bare.parent / "tiny_bare.fp32.report.json").write_text(json.dumps(
        {"kind": "fp32", "model_name": "tiny", "app_ready": False, "preprocessing": {"name": "paddle"}}))
    clf = open_classifier(str(bare))
    assert (clf.input_kind, clf.output_kind, clf.preprocessing.name) == ("normalized", "logits", "paddle")
    assert open_classifier(str(bare), input_kind="pixels").input_kind == "pixels"


def test_folder_of_images(tiny_with_metadata, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for photo in bundled_photos()[:3]:
        shutil.copyfile(photo, folder / photo.name)
    (folder / "notes.txt").write_text("not an image, not picked up")
    results = [p.to_dict() for p in predict_with(open_classifier(str(tiny_with_metadata["app_fp32"])), [folder], 2)]
    assert [r["image"] for r in results] == [str(folder / p.name) for p in bundled_photos()[:3]]
    assert all(len(r["top"]) == 2 for r in results)


def test_bad_images_are_refused(tiny, tmp_path):
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"this is text, not a JPEG")
    clf = open_classifier(str(tiny["app_fp32"]))
    with pytest.raises(DataError, match="Cannot read image .*fake.jpg"):
        predict_with(clf, [fake])
    with pytest.raises(DataError, match="does not exist"):
        expand_images([tmp_path / "missing.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no images"):
        expand_images([tmp_path / "empty"])


def test_non_image_model_and_non_model_are_refused(tiny, tmp_path):
    with pytest.raises(ModelError, match=r"does not take an image.*\[1, 16\]"):
        open_classifier(str(tiny["not_image"]))
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(Exception, match="not a .tflite model"):
        open_classifier(str(junk))
    with pytest.raises(ModelError, match="Unknown model"):
        open_classifier("ghostnet_999", weights="random")
    with pytest.raises(ModelError, match="needs --weights"):
        open_classifier("ghostnet_100")


def test_cli_predict_json_and_human(tiny_with_metadata, capsys):
    photo = str(bundled_photos()[1])
    assert main(["predict", photo, "--model", str(tiny_with_metadata["app_fp32"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labels_source"] == "metadata" and data["has_metadata"] is True
    (res,) = data["results"]
    assert len(res["top"]) == 5 and res["top"][0]["label"].startswith("tiny class")
    probs = [t["probability"] for t in res["top"]]
    assert probs == sorted(probs, reverse=True)
    assert main(["predict", photo, "--model", str(tiny_with_metadata["app_fp32"])]) == 0
    text = capsys.readouterr().out
    assert "labels from metadata" in text and f"1. {res['top'][0]['label']}" in text


def test_cli_predict_errors_are_one_line(tiny, tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_text("hello")
    assert main(["predict", str(fake), "--model", str(tiny["app_fp32"])]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Cannot read image") and sum(e.startswith("error") for e in err) == 1
    assert main(["predict", str(bundled_photos()[0]), "--model", str(tiny["not_image"])]) == 1
    assert "does not take an image" in capsys.readouterr().err
    assert main(["predict", str(bundled_photos()[0]), "--model", str(tiny["app_fp32"]), "--top", "0"]) == 2


def test_labels_file_overrides_and_must_fit(tiny, tmp_path):
    good = tmp_path / "names.txt"
    good.write_text("".join(f"animal {i}\n" for i in range(10)), encoding="utf-8")
    clf = open_classifier(str(tiny["app_fp32"]), labels_file=good)
    assert clf.labels_source == str(good)
    assert classify(clf, bundled_photos()[0]).to_dict()["top"][0]["label"].startswith("animal ")
    short = tmp_path / "short.txt"
    short.write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(Exception, match="3 labels for 10 classes"):
        open_classifier(str(tiny["app_fp32"]), labels_file=short)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("".join(f"caf\u00e9 {i}\n" for i in range(10)).encode("latin-1"))
    with pytest.raises(Exception, match="not UTF-8"):
        open_classifier(str(tiny["app_fp32"]), labels_file=latin)


def test_cli_warns_when_top_classes_all_tie(tiny_with_metadata, monkeypatch, capsys):
    import ghostedge.appexport.classifier as classifier_module

    flat = np.full(10, 0.1)
    monkeypatch.setattr(classifier_module.Classifier, "scores", lambda self, pixels: flat)
    assert main(["predict", str(bundled_photos()[0]), "--model", str(tiny_with_metadata["app_fp32"])]) == 0
    assert "all score 0.1000, so their order means nothing" in capsys.readouterr().err


def _errors(err: str) -> list:
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


@pytest.fixture()
def mixed_folder(tmp_path):
    """Two real photos and two files that only look like images."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for photo in bundled_photos()[:2]:
        shutil.copyfile(photo, folder / photo.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    (folder / "empty.png").write_bytes(b"")
    return folder


def test_folder_skips_unreadable_files_and_warns_once(tiny, mixed_folder, capsys):
    assert main(["predict", str(mixed_folder), "--model", str(tiny["app_fp32"]), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert [r["image"] for r in data["results"]] == [str(mixed_folder / p.name) for p in bundled_photos()[:2]]
    assert [s["image"] for s in data["skipped"]] == [str(mixed_folder / "broken.jpg"), str(mixed_folder / "empty.png")]
    warnings = [ln for ln in captured.err.splitlines() if "unreadable" in ln]
    assert warnings == [f"warning: skipped 2 unreadable files: {mixed_folder / 'broken.jpg'}, "
                        f"{mixed_folder / 'empty.png'}"]


def test_one_skipped_file_is_singular_and_long_lists_are_cut(tiny, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    shutil.copyfile(bundled_photos()[0], folder / "a_good.jpg")
    (folder / "b_bad.jpg").write_bytes(b"x")
    clf = open_classifier(str(tiny["app_fp32"]))
    result = predict_with(clf, [folder])
    assert len(result) == 1
    assert result.notes[-1] == f"skipped 1 unreadable file: {folder / 'b_bad.jpg'}"
    for i in range(7):
        (folder / f"c_bad{i}.png").write_bytes(b"x")
    note = predict_with(clf, [folder]).notes[-1]
    assert note.startswith("skipped 8 unreadable files: ")
    assert note.endswith("c_bad3.png and 3 more")


def test_folder_without_any_readable_image_fails(tiny, tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "one.jpg").write_bytes(b"x")
    (folder / "two.jpg").write_bytes(b"y")
    with pytest.raises(DataError, match="No image could be read: 2 unreadable files"):
        predict_with(open_classifier(str(tiny["app_fp32"])), [folder])
    assert main(["predict", str(folder), "--model", str(tiny["app_fp32"])]) == 1
    (line,) = _errors(capsys.readouterr().err)
    assert "No image could be read" in line and "one.jpg" in line


def test_named_unreadable_file_still_fails_even_beside_a_folder(tiny, mixed_folder, capsys):
    named = mixed_folder / "broken.jpg"
    assert main(["predict", str(mixed_folder), str(named), "--model", str(tiny["app_fp32"])]) == 1
    (line,) = _errors(capsys.readouterr().err)
    assert line.startswith(f"error: Cannot read image {named}")


def test_empty_folder_message_has_no_stray_punctuation(tiny, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(tmp_path / "empty"), "--model", str(tiny["app_fp32"])]) == 1
    (line,) = _errors(capsys.readouterr().err)
    assert not re.search(r",\s*\.+(\s|$)", line), line   # was "..., .gif, . Pass ..."
    assert ".pgm" in line and "has no images" in line


def test_inspect_folder_says_it_is_a_folder(tiny, tmp_path, capsys):
    assert main(["inspect", str(tiny["app_fp32"].parent)]) == 1
    (line,) = _errors(capsys.readouterr().err)
    assert "is a folder, not a model file" in line and "does not exist" not in line
    assert f"e.g. {tiny['app_fp32'].parent / 'not_image.tflite'}" in line
    (tmp_path / "none").mkdir()
    assert main(["inspect", str(tmp_path / "none")]) == 1
    assert "Pass a .tflite file" in capsys.readouterr().err


def test_checkpoint_as_model_points_to_weights(tmp_path, capsys):
    ckpt = tmp_path / "w050.pth"
    ckpt.write_bytes(b"PK\x03\x04 a zip archive, as torch.save writes")
    with pytest.raises(ModelError, match=f"Pass --model ghostnet_050 --weights {ckpt}"):
        open_classifier(str(ckpt))
    photo = str(bundled_photos()[0])
    assert main(["predict", photo, "--model", str(ckpt)]) == 1
    (line,) = _errors(capsys.readouterr().err)
    assert "training checkpoint" in line and "TFL3" not in line
    assert main(["inspect", str(ckpt)]) == 1
    assert "ghostedge convert --model ghostnet_050 --weights" in capsys.readouterr().err


def test_folder_as_model_for_predict(tiny, capsys):
    photo = str(bundled_photos()[0])
    assert main(["predict", photo, "--model", str(tiny["app_fp32"].parent)]) == 1
    (line,) = _errors(capsys.readouterr().err)
    assert "is a folder, not a model file" in line and "Unknown model" not in line


@pytest.mark.parametrize("argv, words", [(["--top", "0"], "--top 0"), (["--top", "100000"], "--top 100000"),
                                         (["--threads", "0"], "--threads 0"), (["--threads", "-2"], "--threads -2")])
def test_numbers_out_of_range_are_refused(tiny, capsys, argv, words):
    assert main(["predict", str(bundled_photos()[0]), "--model", str(tiny["app_fp32"]), *argv]) != 0
    (line,) = _errors(capsys.readouterr().err)
    assert words in line


def test_garbage_named_like_a_checkpoint_is_not_called_a_checkpoint(tmp_path, capsys):
    junk = tmp_path / "model.pth"
    junk.write_bytes(b"<html>404 not found</html>" * 10)
    photo = str(bundled_photos()[0])
    for argv in (["predict", photo, "--model", str(junk)], ["inspect", str(junk)]):
        assert main(argv) != 0
        (line,) = _errors(capsys.readouterr().err)
        assert "is not a model file" in line and "training checkpoint" not in line, line


def test_damaged_labels_archive_says_so_instead_of_other_labels(tiny_with_metadata, tmp_path, capsys):
    data = tiny_with_metadata["app_fp32"].read_bytes()
    cut = tmp_path / "cut_labels.tflite"
    cut.write_bytes(data[:-20])          # the appended labels.txt archive loses its end record
    photo = str(bundled_photos()[0])
    assert main(["predict", photo, "--model", str(cut)]) != 0
    (line,) = _errors(capsys.readouterr().err)
    assert "labels" in line and ("damaged" in line or "missing" in line), line
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"mine {i}" for i in range(10)))
    assert main(["predict", photo, "--model", str(cut), "--labels", str(labels), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labels_source"] == str(labels)
