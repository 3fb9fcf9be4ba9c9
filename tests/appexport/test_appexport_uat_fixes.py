"""``ghostedge predict`` / ``inspect`` acceptance findings: unreadable files in a folder are skipped
and counted (a file named on its own still fails), the empty-folder message reads cleanly, folders
and checkpoints given as models say what to pass instead, counts are pluralized."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from ghostedge.appexport.predict import open_classifier, predict
from ghostedge.cli.main import main
from ghostedge.data.preprocess import bundled_photos
from ghostedge.errors import DataError, ModelError


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
    skipped: list = []
    clf = open_classifier(str(tiny["app_fp32"]))
    assert len(predict([folder], clf, skipped=skipped)) == 1
    from ghostedge.appexport.predict import skipped_summary

    assert skipped_summary(skipped) == f"skipped 1 unreadable file: {folder / 'b_bad.jpg'}"
    for i in range(7):
        (folder / f"c_bad{i}.png").write_bytes(b"x")
    skipped.clear()
    predict([folder], clf, skipped=skipped)
    assert skipped_summary(skipped).startswith("skipped 8 unreadable files: ")
    assert skipped_summary(skipped).endswith("c_bad3.png and 3 more")


def test_folder_without_any_readable_image_fails(tiny, tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "one.jpg").write_bytes(b"x")
    (folder / "two.jpg").write_bytes(b"y")
    with pytest.raises(DataError, match="No image could be read: 2 unreadable files"):
        predict([folder], open_classifier(str(tiny["app_fp32"])))
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
