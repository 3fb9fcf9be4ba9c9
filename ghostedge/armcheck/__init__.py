"""``ghostedge check``: run exported models on real ARM code and prove they compute what they
computed on x86.

An aarch64 (or armv7) runtime — qemu-user-static, Debian's ARM Python and libraries, the pinned
ARM wheels of LiteRT and tflite-runtime — is prepared once in the ghostedge cache without root;
each model then runs under qemu on emulated Cortex-A76 (the Snapdragon 855 big core) and
Cortex-A53 cores at 1 and 2 threads and is compared with x86 LiteRT on the same inputs.

    from ghostedge.armcheck import check_models
    result = check_models(["ghostedge-out/ghostnet_100.int8.tflite"])
    assert result.passed, result.render()
"""
from __future__ import annotations

from ghostedge.armcheck.check import check_models
from ghostedge.armcheck.errors import ArmCheckError, ArmSetupError
from ghostedge.armcheck.result import ArmCheckResult, ModelCheck, RunRow
from ghostedge.armcheck.sysroot import Runtime, prepare_runtime, runtime_path
from ghostedge.armcheck.targets import ARCHES, CORES

__all__ = ["ARCHES", "CORES", "ArmCheckError", "ArmCheckResult", "ArmSetupError", "ModelCheck",
           "Runtime", "RunRow", "check_models", "prepare_runtime", "runtime_path"]
