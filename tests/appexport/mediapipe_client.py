"""Run MediaPipe Tasks' ImageClassifier on a model, as an app would (default options, model as is).

Runs inside .venv-mediapipe (see scripts/setup_mediapipe_env.sh), never in the project's venv.
usage: mediapipe_client.py MODEL.tflite CROPS.npy  -> JSON on stdout:
  [{"categories": [{"index", "name", "score"}, ...]}, ...]  (one entry per crop, sorted by score)
CROPS.npy holds uint8 RGB images [N,H,W,3] already at the model's input size, so MediaPipe's own
resize is the identity and both sides see the same pixels.
"""
import json
import sys

import numpy as np


def main() -> int:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    model_path, crops_path = sys.argv[1], sys.argv[2]
    crops = np.load(crops_path)
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model_path))
    results = []
    with vision.ImageClassifier.create_from_options(options) as classifier:
        for crop in crops:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop))
            head = classifier.classify(image).classifications[0]
            results.append({"categories": [{"index": int(c.index), "name": c.category_name,
                                            "score": float(c.score)} for c in head.categories]})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
