"""The "paddle" preprocessing: PaddleClas's ResizeImage(resize_short=256) + CropImage(224) with cv2.
(Pixel-for-pixel agreement with PaddleClas's own operators is in test_paddle_parity.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.data.preprocess import PRESETS, _paddle_resize_crop, load_pixels, load_rgb
from ghostedge.errors import DataError


def _gradient(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 7) % 256, (y * 5) % 256, (x + y) % 256], -1).astype(np.uint8)


def test_short_side_already_256_only_crops_with_floor_offsets():
    arr = _gradient(256, 303)                      # (303 - 224) / 2 = 39.5
    out = _paddle_resize_crop(arr, 256, 224)
    assert out.shape == (224, 224, 3)
    np.testing.assert_array_equal(out, arr[16:240, 39:263])   # floor, where torchvision rounds to 40


def test_rounding_is_pythons_round_half_even():
    import cv2

    arr = _gradient(512, 513)                      # 513 * 0.5 = 256.5 → round() gives 256, not 257
    out = _paddle_resize_crop(arr, 256, 224)
    expected = cv2.resize(arr, (256, 256), interpolation=cv2.INTER_LINEAR)[16:240, 16:240]
    np.testing.assert_array_equal(out, expected)


def test_bilinear_without_antialiasing():
    arr = np.zeros((1024, 1024, 3), np.uint8)     # 4x downscale: cv2 bilinear reads only
    arr[:, 1::4] = 200                            # columns 4k+1 and 4k+2 (no antialias filter)
    arr[:, 2::4] = 200
    out = _paddle_resize_crop(arr, 256, 224)
    assert (out == 200).all()
    assert not (load_like_torchvision(arr) == 200).all()


def load_like_torchvision(arr):
    from PIL import Image

    from ghostedge.data.preprocess import resize_crop

    return resize_crop(Image.fromarray(arr), PRESETS["torchvision"])


def test_cv2_linear_resize_is_the_same_on_every_simd_path(photos):
    """cv2.resize INTER_LINEAR on uint8 is fixed-point integer arithmetic (11-bit coefficients) on
    every dispatch path, and OpenCV does not hand it to IPP: the dispatched AVX2/AVX-512 code and the
    baseline (SSE2/SSE3) code give the same pixels. So "paddle" crops do not depend on the CPU, and
    the bit-for-bit crop check in test_paddle_parity.py holds on any x86-64."""
    import cv2

    rng = np.random.default_rng(0)
    images = [np.asarray(load_rgb(p)) for p in photos] + [
        rng.integers(0, 256, (517, 389, 3), dtype=np.uint8), _gradient(300, 1001)]
    assert cv2.useOptimized()
    try:
        dispatched = [_paddle_resize_crop(a, 256, 224) for a in images]
        cv2.setUseOptimized(False)                    # baseline code only, whatever the CPU has
        assert not cv2.checkHardwareSupport(11)       # CV_CPU_AVX2 is now reported absent
        baseline = [_paddle_resize_crop(a, 256, 224) for a in images]
    finally:
        cv2.setUseOptimized(True)
    for a, b in zip(dispatched, baseline):
        np.testing.assert_array_equal(a, b)


def test_crop_larger_than_resized_image_is_a_data_error():
    with pytest.raises(DataError, match="smaller than the 300x300 crop"):
        _paddle_resize_crop(_gradient(100, 150), 256, 300)


def test_pillow_decode_equals_paddleclas_cv2_decode_on_bundled_photos(photos):
    """PaddleClas decodes with cv2.imread + BGR→RGB; ghostedge with Pillow. Same pixels here."""
    import cv2

    for path in photos:
        ours = np.asarray(load_rgb(path))
        theirs = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]
        np.testing.assert_array_equal(ours, theirs, err_msg=path.name)


def test_paddle_preset_differs_from_torchvision_on_photos(photos):
    diffs = [np.abs(load_pixels(p, PRESETS["paddle"]).astype(int)
                    - load_pixels(p, PRESETS["torchvision"]).astype(int)).mean() for p in photos]
    assert max(diffs) > 1.0
