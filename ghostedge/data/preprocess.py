"""Image preprocessing shared by every path (torch, TFLite, calibration, eval, predict).

``torchvision`` preset: exactly torchvision's Resize(256) + CenterCrop(224) + ToTensor +
Normalize on PIL images (bilinear, antialiased short-side resize with torchvision's rounding),
written with Pillow + numpy. ``paddle`` preset: PaddleClas's ResizeImage(resize_short=256) with
cv2 bilinear (no antialiasing) + CropImage(224) + NormalizeImage.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Dict, List, Tuple, Union

import numpy as np

from ghostedge.errors import DataError

IMAGENET_MEAN: Tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: Tuple[float, float, float] = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a model input."""

    name: str
    resize_short: int = 256
    crop: int = 224
    resize_backend: str = "pil"          # "pil" (torchvision) or "cv2" (PaddleClas)
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD

    def describe(self) -> str:
        return (f"{self.name}: resize short side to {self.resize_short} ({self.resize_backend} "
                f"bilinear), center-crop {self.crop}, /255, mean {list(self.mean)}, std {list(self.std)}")


PRESETS: Dict[str, Preprocessing] = {
    "torchvision": Preprocessing("torchvision", resize_backend="pil"),
    "paddle": Preprocessing("paddle", resize_backend="cv2"),
}


def for_image_size(pre: Preprocessing, image_size: int) -> Preprocessing:
    """``pre`` for another input size: crop ``image_size``, short side scaled by the same
    resize/crop ratio (256/224 for the presets)."""
    if image_size == pre.crop:
        return pre
    return dataclasses.replace(pre, crop=image_size,
                               resize_short=int(round(image_size * pre.resize_short / pre.crop)))


def get_preset(name: str) -> Preprocessing:
    try:
        return PRESETS[name]
    except KeyError:
        raise DataError(f"Unknown preprocessing {name!r}", f"known: {', '.join(PRESETS)}") from None


def load_rgb(path: Union[str, Path]):
    """Open an image as 8-bit RGB. Grayscale, CMYK and palette images are converted; alpha (RGBA,
    LA, palette transparency) is composited over white; 16-bit images are scaled to 8 bits (a plain
    ``convert("RGB")`` would clip them to white)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise DataError(f"Image {path} does not exist", "no such file", "Check the path")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not an image", "an image file is needed", "Pass a file")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA")
                background = Image.new("RGB", img.size, (255, 255, 255))
                background.paste(img, mask=img.getchannel("A"))
                return background
            if img.mode.startswith("I;16") or img.mode == "I":
                wide = np.asarray(img, dtype=np.float64)
                if img.mode != "I" or wide.max(initial=0) > 255:
                    wide = np.round(wide / 257.0)  # 0..65535 -> 0..255
                return Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8), "L").convert("RGB")
            return img.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise DataError(f"Image {path} is too large to decode safely", str(exc).split(" could be")[0],
                        "Downscale it (a classifier sees 224x224 pixels anyway), or raise "
                        "PIL.Image.MAX_IMAGE_PIXELS in Python if you trust the file") from None
    except MemoryError:
        raise DataError(f"Image {path} does not fit in memory", "decoding it ran out of memory",
                        "Downscale it before classifying") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"Cannot read image {path}", f"{type(exc).__name__}: {exc}",
                        "Pass a JPEG/PNG/BMP/WebP file") from exc


def _torchvision_resize(img, size: int):
    """torchvision.transforms.Resize(size) on a PIL image (bilinear, antialiased)."""
    from PIL import Image

    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), Image.BILINEAR)


def _torchvision_center_crop(arr: np.ndarray, crop: int) -> np.ndarray:
    """torchvision.transforms.CenterCrop(crop) on an HWC array (zero pad when too small)."""
    h, w = arr.shape[:2]
    if crop > w or crop > h:
        pad_l = (crop - w) // 2 if crop > w else 0
        pad_t = (crop - h) // 2 if crop > h else 0
        pad_r = (crop - w + 1) // 2 if crop > w else 0
        pad_b = (crop - h + 1) // 2 if crop > h else 0
        arr = np.pad(arr, ((pad_t, pad_b), (pad_l, pad_r), (0, 0)))
        h, w = arr.shape[:2]
    top = int(round((h - crop) / 2.0))
    left = int(round((w - crop) / 2.0))
    return arr[top:top + crop, left:left + crop]


def _paddle_resize_crop(arr: np.ndarray, size: int, crop: int) -> np.ndarray:
    """PaddleClas ``ResizeImage(resize_short=size)`` + ``CropImage(crop)`` (deploy/python/preprocess.py,
    the same ops as ppcls's eval pipeline) on an RGB uint8 HWC array.

    Short side scaled by ``size / min(w, h)``, each side ``int(round(side * scale))`` (Python's
    round-half-even), ``cv2.resize`` INTER_LINEAR (no antialiasing); crop starts at
    ``(side - crop) // 2`` (floor; torchvision rounds). PaddleClas decodes with cv2 (BGR → RGB);
    on baseline JPEGs and opaque PNGs that gives the same pixels as Pillow's decode.
    """
    import cv2

    h, w = arr.shape[:2]
    percent = float(size) / min(w, h)
    new_w, new_h = int(round(w * percent)), int(round(h * percent))
    arr = cv2.resize(np.ascontiguousarray(arr), (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    h, w = arr.shape[:2]
    top, left = (h - crop) // 2, (w - crop) // 2
    if top < 0 or left < 0:
        raise DataError(f"Image resized to {w}x{h} is smaller than the {crop}x{crop} crop",
                        f"the short side is resized to {size}",
                        f"Use a resize size of at least {crop}")
    return arr[top:top + crop, left:left + crop]


def resize_crop(img, pre: Preprocessing) -> np.ndarray:
    """Resize and center-crop a PIL RGB image: uint8 HWC array (crop × crop × 3)."""
    if pre.resize_backend == "pil":
        return _torchvision_center_crop(np.asarray(_torchvision_resize(img, pre.resize_short)), pre.crop)
    if pre.resize_backend == "cv2":
        return _paddle_resize_crop(np.asarray(img), pre.resize_short, pre.crop)
    raise DataError(f"Unknown resize backend {pre.resize_backend!r}")


def normalize(pixels: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """uint8/float 0..255 HWC (or NHWC) pixels → float32 ImageNet-normalized, same layout."""
    x = pixels.astype(np.float32) / np.float32(255.0)
    return (x - np.asarray(pre.mean, np.float32)) / np.asarray(pre.std, np.float32)


def load_pixels(path: Union[str, Path], pre: Preprocessing) -> np.ndarray:
    """Image file → uint8 HWC crop (raw pixels, what app-ready models take)."""
    return resize_crop(load_rgb(path), pre)


def load_normalized_nchw(path: Union[str, Path], pre: Preprocessing) -> np.ndarray:
    """Image file → float32 CHW normalized tensor (what the bare torch model takes)."""
    return np.ascontiguousarray(normalize(load_pixels(path, pre), pre).transpose(2, 0, 1))


def bundled_photos() -> List[Path]:
    """The real photos shipped with ghostedge (verification images, fallback calibration)."""
    folder = Path(str(resources.files("ghostedge.data") / "photos"))
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
