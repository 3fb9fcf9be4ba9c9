"""Preprocessing against hand-computed expectations (torchvision's Resize(256) + CenterCrop(224)
rounding, normalization) and image mode conversions."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ghostedge.data.preprocess import (
    PRESETS, _torchvision_resize, load_normalized_nchw, load_pixels, load_rgb, normalize)
from ghostedge.errors import DataError

TV = PRESETS["torchvision"]


def _coordinate_image(w: int, h: int) -> np.ndarray:
    """R = x % 251, G = y % 251, B = (x * 7 + y) % 251: every crop offset gives different pixels."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x % 251, y % 251, (x * 7 + y) % 251], -1).astype(np.uint8)


def _save(arr_or_img, path, **kw):
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("w,h,top,left", [
    (256, 301, 38, 16),   # (301-224)/2 = 38.5 -> round-half-even 38; no resize (short side 256)
    (259, 256, 16, 18),   # (259-224)/2 = 17.5 -> 18
    (257, 256, 16, 16),   # 16.5 -> 16
    (256, 256, 16, 16),
    (512, 256, 16, 144),
])
def test_center_crop_offsets_without_resize(tmp_path, w, h, top, left):
    arr = _coordinate_image(w, h)
    out = load_pixels(_save(arr, tmp_path / "a.png"), TV)
    assert out.dtype == np.uint8 and out.shape == (224, 224, 3)
    np.testing.assert_array_equal(out, arr[top:top + 224, left:left + 224])


@pytest.mark.parametrize("w,h,expected", [
    (300, 257, (298, 256)),   # int(256 * 300 / 257) = int(298.83) = 298 (truncation, not rounding)
    (300, 400, (256, 341)),   # int(341.33)
    (640, 480, (341, 256)),
    (10, 20, (256, 512)),     # smaller than the crop: scaled up
    (1, 1, (256, 256)),
    (256, 1000, (256, 1000)), # already 256 on the short side: untouched
])
def test_resize_sizes_follow_torchvision_rounding(w, h, expected):
    img = Image.new("RGB", (w, h), (10, 20, 30))
    assert _torchvision_resize(img, 256).size == expected


@pytest.mark.parametrize("w,h", [(300, 257), (300, 400), (10, 20), (1, 1), (3001, 17)])
def test_constant_images_stay_constant(tmp_path, w, h):
    color = (200, 100, 50)
    out = load_pixels(_save(Image.new("RGB", (w, h), color), tmp_path / "c.png"), TV)
    assert out.shape == (224, 224, 3)
    assert (out == np.array(color, np.uint8)).all()


def test_two_halves_after_resize(tmp_path):
    """Portrait 300x400 -> 256x341; crop top = round(58.5) = 58 (half-even), left = 16. A left red /
    right blue image has its boundary at column 150 * 256/300 - 16 = 112 of the crop (+-2 for the blend)."""
    arr = np.zeros((400, 300, 3), np.uint8)
    arr[:, :150] = (255, 0, 0)
    arr[:, 150:] = (0, 0, 255)
    out = load_pixels(_save(arr, tmp_path / "halves.png"), TV).astype(int)
    assert (out[:, :110] == (255, 0, 0)).all() and (out[:, 114:] == (0, 0, 255)).all()


def test_normalize_hand_computed():
    px = np.array([[[0, 0, 0], [255, 255, 255], [124, 116, 104]]], np.uint8)
    got = normalize(px, TV)
    expected = np.array([[[-2.117904, -2.035714, -1.804444],
                          [2.248908, 2.428571, 2.640000],
                          [0.005566, -0.004902, 0.008192]]], np.float32)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    assert got.dtype == np.float32


def test_normalize_is_within_three_roundings_of_exact_for_every_pixel_value():
    """(x / 255 - mean) / std is three correctly rounded float32 operations (IEEE, on every ISA), so
    each output is within gamma_3 = 3u / (1 - 3u) of the exact value, relative to the magnitude of
    its terms (x / 255 + mean) / std. Every uint8 level, every channel, both presets."""
    u = 2.0 ** -24
    gamma3 = 3 * u / (1 - 3 * u)
    px = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)[None]       # 1 x 256 x 3
    for pre in PRESETS.values():
        got = normalize(px, pre).astype(np.float64)
        mean = np.asarray(pre.mean, np.float32).astype(np.float64)
        std = np.asarray(pre.std, np.float32).astype(np.float64)
        x = px.astype(np.float64) / 255.0
        exact, terms = (x - mean) / std, (x + mean) / std
        assert (np.abs(got - exact) <= gamma3 * terms).all()


def test_normalized_nchw(tmp_path):
    path = _save(Image.new("RGB", (300, 300), (255, 255, 255)), tmp_path / "w.png")
    x = load_normalized_nchw(path, TV)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(x[:, 0, 0], [2.248908, 2.428571, 2.64], atol=2e-6)


def test_mode_conversions(tmp_path):
    gray = _save(Image.new("L", (8, 8), 77), tmp_path / "gray.png")
    assert np.asarray(load_rgb(gray))[0, 0].tolist() == [77, 77, 77]
    bilevel = _save(Image.new("1", (8, 8), 1), tmp_path / "bw.png")
    assert np.asarray(load_rgb(bilevel))[0, 0].tolist() == [255, 255, 255]
    cmyk = _save(Image.new("CMYK", (8, 8), (255, 0, 0, 0)), tmp_path / "cmyk.jpg", quality=100)
    assert load_rgb(cmyk).mode == "RGB"
    assert np.abs(np.asarray(load_rgb(cmyk))[0, 0].astype(int) - [0, 255, 255]).max() <= 3
    clear = _save(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), tmp_path / "clear.png")
    assert np.asarray(load_rgb(clear))[0, 0].tolist() == [255, 255, 255]  # over white
    half = _save(Image.new("RGBA", (8, 8), (255, 0, 0, 128)), tmp_path / "half.png")
    assert np.abs(np.asarray(load_rgb(half))[0, 0].astype(int) - [255, 127, 127]).max() <= 1
    la = _save(Image.new("LA", (8, 8), (0, 255)), tmp_path / "la.png")
    assert np.asarray(load_rgb(la))[0, 0].tolist() == [0, 0, 0]
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 255, 0, 0, 0, 255] + [0] * 762)
    opaque = _save(pal, tmp_path / "pal.png")
    assert np.asarray(load_rgb(opaque))[0, 0].tolist() == [0, 0, 255]
    transparent = _save(pal, tmp_path / "pal_t.png", transparency=1)
    assert np.asarray(load_rgb(transparent))[0, 0].tolist() == [255, 255, 255]
    for path in (gray, cmyk, half, transparent):
        assert load_pixels(path, TV).shape == (224, 224, 3)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 257 * 16, 32896, 65535]], np.uint16)
    path = _save(Image.fromarray(arr), tmp_path / "deep.png")
    assert np.asarray(load_rgb(path))[0, :, 0].tolist() == [0, 16, 128, 255]


def test_bundled_photos_load(photos):
    assert len(photos) == 5
    for p in photos:
        out = load_pixels(p, TV)
        assert out.shape == (224, 224, 3) and out.dtype == np.uint8 and out.std() > 5


def test_unreadable_images(tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    data = (_save(_coordinate_image(64, 64), tmp_path / "full.jpg")).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    for name, match in [("notes.jpg", "Cannot read image"), ("cut.jpg", "Cannot read image"),
                        ("missing.jpg", "does not exist")]:
        with pytest.raises(DataError, match=match):
            load_pixels(tmp_path / name, TV)
    with pytest.raises(DataError, match="is a folder"):
        load_rgb(tmp_path)


def test_preprocessing_for_another_image_size_keeps_the_256_224_ratio() -> None:
    from ghostedge.data.preprocess import PRESETS, for_image_size

    pre = PRESETS["torchvision"]
    assert for_image_size(pre, 224) is pre
    small = for_image_size(pre, 64)
    assert (small.crop, small.resize_short) == (64, 73)      # round(64 * 256 / 224) = 73
    assert (small.mean, small.std, small.resize_backend) == (pre.mean, pre.std, pre.resize_backend)
    assert for_image_size(PRESETS["paddle"], 96).resize_short == 110


def test_a_decompression_bomb_is_called_too_large_not_the_wrong_format(tmp_path, monkeypatch):
    from PIL import Image

    path = tmp_path / "huge.jpg"
    Image.new("RGB", (400, 300), (10, 20, 30)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)   # 120000 pixels is then > 2x the limit
    with pytest.raises(DataError) as info:
        load_pixels(path, PRESETS["torchvision"])
    line = info.value.one_line()
    assert "too large to decode safely" in line and "JPEG/PNG" not in line, line
