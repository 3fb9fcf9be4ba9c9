"""Regenerate the fixtures of tests/data/tflite (see README.md there).

    .venv/bin/python tests/data/tflite/make_damaged.py            # damaged/*.tflite (no tensorflow)
    .venv/bin/python tests/data/tflite/make_damaged.py --endless  # endless_while.tflite (tensorflow)
    .venv/bin/python tests/data/tflite/make_damaged.py --table    # what LiteRT and the verifier say

damaged/ holds a few damaged copies of the tiny test models, each of which kills ai-edge-litert
2.1.0 (SIGSEGV) when loaded in-process; the damage functions are those of tests/tflite/damage.py,
where the tests make every damaged file themselves. Written by ghostedge's authors (Apache-2.0).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/: the damage helpers live in tests/tflite

from tflite.damage import DAMAGES  # noqa: E402

FIXTURES = ("truncated_at_half", "offset_outside", "vtable_after_end", "options_offset_outside",
            "scale_zero")


def write_damaged() -> None:
    (HERE / "damaged").mkdir(exist_ok=True)
    for name in FIXTURES:
        source, damage, _ = DAMAGES[name]
        (HERE / "damaged" / f"{name}.tflite").write_bytes(damage(source.read_bytes()))


def write_endless() -> None:
    """A valid model whose WHILE loop never ends on a zero input (3 subgraphs): the probe's
    timeout and signal tests hang the runtime with it."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
    def endless(x):
        i = tf.constant([0.0])
        return tf.while_loop(lambda i: tf.reduce_all(i >= x), lambda i: [i + 1.0], [i])

    conv = tf.lite.TFLiteConverter.from_concrete_functions([endless.get_concrete_function()], endless)
    (HERE / "endless_while.tflite").write_bytes(conv.convert())


def print_table() -> None:
    import tempfile

    from ghostedge.errors import InvalidModelError
    from ghostedge.tflite.verify import verify_tflite_file
    from tflite.litert_outcomes import runtime_outcomes

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, (source, damage, _) in sorted(DAMAGES.items()):
            paths.append(Path(tmp) / f"{name}.tflite")
            paths[-1].write_bytes(damage(source.read_bytes()))
        print("| damage | LiteRT in-process | verifier |\n|---|---|---|")
        for path, outcome in zip(paths, runtime_outcomes(paths)):
            try:
                verify_tflite_file(path)
                verdict = "passes"
            except InvalidModelError as exc:
                verdict = exc.why.replace(" (the file is damaged)", "")
                verdict = verdict.replace(" (the file is cut short?)", "")
            print(f"| {path.stem} | {outcome[:60]} | {verdict[:110]} |")


if __name__ == "__main__":
    if "--table" in sys.argv:
        print_table()
    elif "--endless" in sys.argv:
        write_endless()
    else:
        write_damaged()
