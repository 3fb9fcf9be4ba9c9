"""PaddleClas's own side of the parity tests. Run with .venv-paddle/bin/python (never imported by
pytest in the main environment; ghostedge itself never imports Paddle).

For each width: build PaddleClas's GhostNet (``paddleclas.ppcls.arch.backbone.model_zoo.ghostnet``)
with random weights, give every BatchNorm the statistics of real photo crops (train-mode pass,
momentum 0) and random affine parameters, save it with ``paddle.save`` as a real .pdparams, run
PaddleClas's deploy preprocessing (cv2.imread → RGB → ResizeImage(resize_short=256) → CropImage(224)
→ NormalizeImage → ToCHWImage) and the model on the given photos, and write:

  <out>/<GhostNet_xW>.pdparams, <out>/<GhostNet_xW>.logits.npy (N × 1000, float32),
  <out>/<GhostNet_xW>.logits64.npy (the same model run in float64)
  <out>/<GhostNet_xW>.name_table.json (structured name -> ParamAttr name, as paddle.save records it)
  <out>/crops.npy (N × 224 × 224 × 3 uint8, after CropImage), <out>/inputs.npy (N × 3 × 224 × 224)
  <out>/normalize.json (NormalizeImage's own float32 scale, mean, std, as exact decimals)
  <out>/versions.json

usage: paddle_reference.py --out DIR --widths 0.5 1.0 1.3 -- PHOTO [PHOTO ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

MODELS = {0.5: "GhostNet_x0_5", 1.0: "GhostNet_x1_0", 1.3: "GhostNet_x1_3"}


def paddle_preprocess(paths):
    """PaddleClas's deploy pipeline, with its own operator classes and inference_cls.yaml values."""
    import cv2
    from paddleclas.deploy.python.preprocess import (CropImage, NormalizeImage, ResizeImage,
                                                     ToCHWImage)

    resize, crop = ResizeImage(resize_short=256), CropImage(size=224)
    norm = NormalizeImage(scale=0.00392157, mean=[0.485, 0.456, 0.406],
                          std=[0.229, 0.224, 0.225], order="", channel_num=3)
    to_chw = ToCHWImage()
    crops, inputs = [], []
    for path in paths:
        img = cv2.imread(str(path))[:, :, ::-1]      # as deploy/python/predict_cls.py does
        cropped = crop(resize(img))
        crops.append(np.ascontiguousarray(cropped))
        inputs.append(to_chw(norm(cropped)))
    constants = {"scale": float(norm.scale), "mean": [float(v) for v in np.ravel(norm.mean)],
                 "std": [float(v) for v in np.ravel(norm.std)]}
    return np.stack(crops), np.stack(inputs).astype(np.float32), constants


def randomize(model, batch, seed):
    """Random BN affine params and classifier bias, BN statistics from the photos (so activations
    are normalized as in a trained net). The classifier keeps PaddleClas's own Uniform init
    (logits of a few units); the parity tests derive their float32 bounds from the network's own
    rounding (rounding_model.py), so they hold at trained-net logit scales too.

    The BN statistics come from a float32 pass, so the saved weights themselves differ slightly
    from one CPU to another (~2e-5 in the logits): every comparison is against this run's files."""
    import paddle

    rng = np.random.default_rng(seed)
    bns = [m for m in model.sublayers() if isinstance(m, paddle.nn.BatchNorm)]
    for bn in bns:
        c = bn.weight.shape[0]
        bn.weight.set_value(rng.uniform(0.5, 1.5, c).astype("float32"))
        bn.bias.set_value(rng.normal(0.0, 0.2, c).astype("float32"))
        bn._momentum = 0.0   # running stats := this batch's stats
    model.train()
    with paddle.no_grad():
        model(paddle.to_tensor(batch))
    model.eval()
    for bn in bns:
        bn._momentum = 0.9
    fc = model.fc_1
    fc.bias.set_value(rng.normal(0.0, 0.5, fc.bias.shape[0]).astype("float32"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--widths", nargs="+", type=float, default=[0.5, 1.0, 1.3])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("photos", nargs="+", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import paddle
    from paddleclas.ppcls.arch.backbone.model_zoo import ghostnet as ppcls_ghostnet

    paddle.set_device("cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    crops, inputs, constants = paddle_preprocess(args.photos)
    np.save(args.out / "crops.npy", crops)
    np.save(args.out / "inputs.npy", inputs)
    (args.out / "normalize.json").write_text(json.dumps(constants, indent=2))
    # BN statistics from the photo crops and their mirror images.
    calib = np.concatenate([inputs, inputs[:, :, :, ::-1]]).astype(np.float32)
    for i, width in enumerate(args.widths):
        name = MODELS[width]
        paddle.seed(args.seed + i)
        with paddle.utils.unique_name.guard():
            model = getattr(ppcls_ghostnet, name)(pretrained=False)
        randomize(model, np.ascontiguousarray(calib), args.seed + i)
        with paddle.no_grad():
            logits = model(paddle.to_tensor(inputs)).numpy().astype(np.float32)
        paddle.save(model.state_dict(), str(args.out / f"{name}.pdparams"))
        # The parameter names paddle.save records in the file's StructuredToParameterName@@ table.
        table = {key: value.name for key, value in model.state_dict().items()}
        (args.out / f"{name}.name_table.json").write_text(json.dumps(table, indent=1))
        np.save(args.out / f"{name}.logits.npy", logits)
        # The exact function, free of float32 rounding - except that Paddle keeps BatchNorm's
        # epsilon a float32 attribute (1e-5 -> 9.99999974738e-06) in float64 too.
        model.to(dtype="float64")
        with paddle.no_grad():
            logits64 = model(paddle.to_tensor(inputs.astype(np.float64))).numpy()
        np.save(args.out / f"{name}.logits64.npy", logits64)
        print(f"{name}: logits std {logits.std():.3f}, max |logit| {np.abs(logits).max():.2f}",
              file=sys.stderr)
    import cv2
    import paddleclas
    versions = {"paddle": paddle.__version__, "numpy": np.__version__, "cv2": cv2.__version__,
                "paddleclas": getattr(paddleclas, "__version__", "?"), "python": sys.version.split()[0]}
    (args.out / "versions.json").write_text(json.dumps(versions, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
