"""Run one ghostedge CLI command as if only the base install were present.

Usage: python base_install_driver.py COMMAND ARGS...   (exit code: the command's)
Imports of torch, tensorflow, onnx, onnx2tf and cv2 are refused (ImportError), and afterwards the
driver fails (exit 99) if any of them ended up in sys.modules anyway. ``BLOCK_ALSO=a,b`` in the
environment refuses more top-level modules (e.g. the TFLite runtimes, not needed on a phone).
"""
from __future__ import annotations

import importlib.abc
import os
import sys

HEAVY = ("torch", "tensorflow", "onnx", "onnx2tf", "cv2", "tf_keras", "keras", "jax") + tuple(
    m for m in os.environ.get("BLOCK_ALSO", "").split(",") if m)


class _RefuseHeavy(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # noqa: D401 - finder protocol
        if fullname.split(".")[0] in HEAVY:
            raise ImportError(f"{fullname} is not part of the base install (blocked by the test driver)")
        return None


def main() -> int:
    sys.meta_path.insert(0, _RefuseHeavy())
    from ghostedge.cli.main import main as cli_main

    code = cli_main(sys.argv[1:])
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
    if loaded:
        print(f"HEAVY MODULES IMPORTED: {loaded}", file=sys.stderr)
        return 99
    print("BASE-INSTALL-OK", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
