"""Test helpers for tests/armcheck: a stand-in for the emulated runtime whose "qemu" runs the guest
script with the host's Python (x86 LiteRT), so the runner and check_models are exercised end to
end without qemu. The slow tests use the real runtime."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from ghostedge.armcheck.sysroot import MANIFEST, SCHEMA, Runtime

DATA = Path(__file__).resolve().parents[1] / "data" / "armcheck"
TINY = {kind: DATA / f"tiny_check.{kind}.tflite" for kind in ("fp32", "fp16", "int8", "custom_op")}

# argv the runner builds: QEMU -L PREFIX -cpu CPU PYTHON SCRIPT ARGS...; the fake drops the first
# five arguments and runs SCRIPT with the host interpreter (the guest's clean env is kept).
FAKE_QEMU = """#!/bin/sh
shift 5
exec "{python}" "$@"
"""


def fake_runtime(root: Path, arch: str = "arm64", qemu_script: Optional[str] = None) -> Runtime:
    """A complete-looking runtime folder under ``root`` whose qemu is a shell shim."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir(exist_ok=True)
    qemu = root / "bin" / "qemu-fake"
    qemu.write_text(qemu_script or FAKE_QEMU.format(python=sys.executable))
    qemu.chmod(0o755)
    python = root / "sysroot" / "usr" / "bin" / "python3.11"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text("not run\n")
    (root / "sysroot" / "lib").mkdir(exist_ok=True)
    manifest = {"schema": SCHEMA, "arch": arch, "qemu_binary": "qemu-fake",
                "python": "usr/bin/python3.11", "pylibs": "/opt/pylibs",
                "qemu_package": "qemu-user-static 1:0.0-fake", "size_bytes": 1234,
                "versions": {"python": "fake", "ai-edge-litert": "x86"}}
    (root / MANIFEST).write_text(json.dumps(manifest))
    return Runtime(arch, root, manifest)
