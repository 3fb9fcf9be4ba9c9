"""Calibration sets: seeded, class-balanced sampling of real folders, held-out images kept apart,
the loud bundled-photo fallback, and every bad input."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ghostedge.errors import DataError
from ghostedge.quantize.calibration import build_calibration_set, sized_preprocessing
from ghostedge.data.preprocess import PRESETS


def _folder(root: Path, classes: int = 3, per_class: int = 6) -> Path:
    """Class folders of solid-colour images: red channel = 40 * class, green = 10 * image."""
    for c in range(classes):
        for i in range(per_class):
            d = root / f"class_{c}"
            d.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (48, 40), (40 * c, 10 * i, 7)).save(d / f"img{i}.png")
    return root


def _ids(pixels: np.ndarray) -> list:
    """(class, image) of each solid-colour crop."""
    return [(int(p[0, 0, 0]) // 40, int(p[0, 0, 1]) // 10) for p in pixels]


def test_sized_preprocessing_scales_resize_and_crop():
    pre = sized_preprocessing(PRESETS["torchvision"], 64)
    assert (pre.crop, pre.resize_short) == (64, 73)
    assert sized_preprocessing(PRESETS["paddle"], 224) is PRESETS["paddle"]
    with pytest.raises(DataError):
        sized_preprocessing(PRESETS["torchvision"], 4)


def test_folder_sample_is_seeded_class_balanced_and_disjoint_from_heldout(tmp_path):
    root = _folder(tmp_path / "data")
    cal = build_calibration_set(root, samples=6, seed=3, image_size=32, heldout=5)
    assert cal.pixels.shape == (6, 32, 32, 3) and cal.pixels.dtype == np.uint8
    ids = _ids(cal.pixels)
    assert sorted(c for c, _ in ids) == [0, 0, 1, 1, 2, 2]          # two of each class
    held = _ids(cal.heldout_pixels)
    assert len(held) == 5 and not set(held) & set(ids)              # never calibration images
    d = cal.description
    assert d["count"] == 6 and d["seed"] == 3 and d["skipped"] == 0 and d["class_balanced"]
    assert d["source"] == str(root) and d["layout"] == "imagefolder"
    assert "only 6 calibration images" in d["warning"]
    assert len(d["file_list_sha256"]) == 64
    again = build_calibration_set(root, samples=6, seed=3, image_size=32, heldout=5)
    assert np.array_equal(again.pixels, cal.pixels)
    assert again.description["file_list_sha256"] == d["file_list_sha256"]
    other = build_calibration_set(root, samples=6, seed=4, image_size=32, heldout=5)
    assert other.description["file_list_sha256"] != d["file_list_sha256"]


def test_unreadable_files_are_skipped_counted_and_replaced(tmp_path, caplog):
    root = _folder(tmp_path / "data", classes=2, per_class=4)
    (root / "class_0" / "broken.png").write_bytes(b"not an image at all")
    (root / "class_1" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with caplog.at_level(logging.WARNING):
        cal = build_calibration_set(root, samples=8, seed=0, image_size=32, heldout=2)
    assert len(cal) == 8 and cal.description["skipped"] == 2
    assert len(cal.heldout_pixels) == 0 or cal.description["heldout_source"].startswith("bundled")
    with pytest.raises(DataError, match="more than the 8 usable images") as info:
        build_calibration_set(root, samples=9, seed=0, image_size=32)
    assert "10 files found" in info.value.one_line() and "8 readable" in info.value.one_line()
    assert "--calib-samples 8 or fewer" in info.value.one_line()


def test_grayscale_palette_and_alpha_images_become_rgb(tmp_path):
    root = tmp_path / "modes"
    (root / "a").mkdir(parents=True)
    Image.new("L", (40, 40), 128).save(root / "a" / "gray.png")
    Image.new("P", (40, 40), 3).save(root / "a" / "palette.png")
    Image.new("RGBA", (40, 40), (10, 20, 30, 128)).save(root / "a" / "alpha.png")
    Image.new("CMYK", (40, 40), (10, 20, 30, 0)).save(root / "a" / "cmyk.jpg")
    cal = build_calibration_set(root, samples=4, image_size=32, heldout=0)
    assert cal.pixels.shape == (4, 32, 32, 3)


def test_bad_counts_and_folders(tmp_path):
    root = _folder(tmp_path / "data", classes=2, per_class=3)
    for bad in (0, -5):
        with pytest.raises(DataError, match="at least one image"):
            build_calibration_set(root, samples=bad)
    with pytest.raises(DataError, match="more than the 6 usable images") as info:
        build_calibration_set(root, samples=7, image_size=32)
    assert "6 files found" in info.value.one_line() and "6 readable" in info.value.one_line()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError):
        build_calibration_set(empty, samples=1)
    with pytest.raises(DataError):
        build_calibration_set(tmp_path / "missing", samples=1)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("no images here")
    with pytest.raises(DataError):
        build_calibration_set(junk, samples=1)


def test_without_data_the_bundled_photos_are_used_loudly(caplog):
    with caplog.at_level(logging.WARNING, logger="ghostedge"):
        cal = build_calibration_set(None, samples=12, seed=1, image_size=64, heldout=4)
    assert cal.pixels.shape == (12, 64, 64, 3) and cal.heldout_pixels.shape == (4, 64, 64, 3)
    assert any("Real ImageNet samples are needed" in r.getMessage() for r in caplog.records)
    d = cal.description
    assert d["source"] == "bundled photos" and "Real ImageNet samples are needed" in d["warning"]
    assert len(np.unique(cal.pixels.reshape(12, -1), axis=0)) == 12     # crops differ
    again = build_calibration_set(None, samples=12, seed=1, image_size=64, heldout=4)
    assert np.array_equal(again.pixels, cal.pixels)
    other = build_calibration_set(None, samples=12, seed=2, image_size=64, heldout=4)
    assert not np.array_equal(other.pixels, cal.pixels)


def test_only_unreadable_files_never_advise_zero_samples(tmp_path):
    """UAT: 2 junk files with image names; the advice was "--calib-samples 2", then "0 or fewer"."""
    root = tmp_path / "nonimg"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"not a jpeg")
    (root / "b.png").write_bytes(b"not a png")
    for samples in (10, 2, 1):
        with pytest.raises(DataError) as info:
            build_calibration_set(root, samples=samples, image_size=32)
        line = info.value.one_line()
        assert "No usable calibration images" in line, line
        assert "2 files found" in line and "0 readable" in line, line
        assert "--calib-samples 0" not in line and "--calib-samples 2" not in line, line
        assert "\n" not in line


def test_a_link_loop_does_not_make_one_image_many(tmp_path):
    """A calibration set never repeats an image: a folder holding one image plus a link back to
    itself is one image (asking for more says so), not dozens."""
    root = _folder(tmp_path / "data", classes=1, per_class=1)
    (next(root.iterdir()) / "loop").symlink_to(root, target_is_directory=True)
    with pytest.raises(DataError, match="more than the 1 usable image"):
        build_calibration_set(root, samples=2, image_size=32, heldout=0)
    cal = build_calibration_set(root, samples=1, image_size=32, heldout=0)
    assert len(cal) == 1
