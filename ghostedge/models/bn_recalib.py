"""Re-estimate BatchNorm statistics on real images, so a randomly initialised GhostNet has
realistic activations (used for ``--weights random`` and by the tests)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

log = logging.getLogger(__name__)


def random_crops(paths: Sequence[Path], n: int, size: int = 224, seed: int = 0) -> np.ndarray:
    """``n`` random-resized crops (scale 0.25..1, random flip) of the given photos, normalized
    ImageNet-style: float32 NCHW."""
    from PIL import Image

    from ghostedge.data.preprocess import PRESETS, load_rgb, normalize

    rng = np.random.default_rng(seed)
    images = [load_rgb(p) for p in paths]
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        img = images[rng.integers(len(images))]
        w, h = img.size
        side = int(min(w, h) * np.sqrt(rng.uniform(0.25, 1.0)))
        left, top = rng.integers(0, w - side + 1), rng.integers(0, h - side + 1)
        crop = img.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
        arr = np.asarray(crop)
        if rng.random() < 0.5:
            arr = arr[:, ::-1]
        out[i] = normalize(arr, PRESETS["torchvision"]).transpose(2, 0, 1)
    return out


def recalibrate_batchnorm(model, images: Optional[np.ndarray] = None, batches: int = 20,
                          batch_size: int = 8, seed: int = 0):
    """Reset and re-estimate every BatchNorm's running mean/var from ``images`` (float32 NCHW,
    normalized), or from random crops of the bundled photos. BatchNorms on pooled (1×1) inputs
    are left neutral. Returns the model in eval mode."""
    import torch

    from ghostedge.data.preprocess import bundled_photos

    if images is None:
        images = random_crops(bundled_photos(), batches * batch_size, seed=seed)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(bn, bn.momentum) for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over all batches
    # A BatchNorm that sees one value per channel and image (e.g. PaddleClas's head BN after global
    # pooling) gets a degenerate variance from a few photos, which amplifies the head many times:
    # such layers keep their neutral statistics (mean 0, var 1).
    pooled: set = set()

    def spot_pooled(bn, inputs) -> None:
        x = inputs[0]
        if x.dim() == 2 or all(d == 1 for d in x.shape[2:]):
            pooled.add(bn)

    hooks = [bn.register_forward_pre_hook(spot_pooled) for bn in bns]
    model.train()
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                model(torch.from_numpy(images[start:start + batch_size]))
    finally:
        for hook in hooks:
            hook.remove()
        for bn, momentum in saved:
            bn.momentum = momentum
        for bn in pooled:
            bn.reset_running_stats()
        model.eval()
    log.info("re-estimated BatchNorm statistics of %d layers on %d images", len(bns), len(images))
    return model


def spread_logits(model, target_std: float = 3.0, images: Optional[np.ndarray] = None,
                  seed: int = 1):
    """Scale the last Linear layer so logits have the spread of a trained network (std
    ``target_std`` over classes, averaged over images). A random GhostNet's logits are ~0.1 wide,
    so its probabilities (~1/num_classes) fall below an INT8 softmax's 1/256 output step and
    every quantized score reads 0; after this the random model's top classes stand out the way a
    trained model's do. Returns the model in eval mode."""
    import torch

    from ghostedge.data.preprocess import bundled_photos

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        return model
    head = linears[-1]
    if images is None:
        images = random_crops(bundled_photos(), 16, seed=seed)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(images))
        std = float(logits.std(dim=1).mean())
        if std > 0:
            factor = target_std / std
            head.weight.mul_(factor)
            if head.bias is not None:
                head.bias.mul_(factor)
    log.info("scaled the classifier of the random model by %.1f (logit std %.3f -> %.1f)",
             target_std / std if std else 1.0, std, target_std)
    return model
