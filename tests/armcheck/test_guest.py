"""The guest script's task runner, exercised with the host's LiteRT (it is plain Python + numpy +
LiteRT, the same code that runs under qemu)."""
from __future__ import annotations

import ctypes.util

import numpy as np
import pytest

from armcheck.fakes import TINY
from ghostedge.armcheck import guest


def _task(tmp_path, kind, runtime="litert", threads=1, mode="default"):
    dtype = np.uint8 if kind == "int8" else np.float32
    x = np.random.default_rng(1).uniform(0, 255, (3, 1, 32, 32, 3)).astype(dtype)
    np.save(tmp_path / "in.npy", x)
    return {"id": 7, "model": str(TINY[kind]), "inputs": str(tmp_path / "in.npy"), "runtime": runtime,
            "threads": threads, "mode": mode, "ops": True, "output": str(tmp_path / "out.npy")}, x


@pytest.mark.parametrize("runtime", ["litert", "tflite-runtime"])
def test_outputs_match_a_direct_run(tmp_path, runtime):
    from ai_edge_litert.interpreter import Interpreter

    task, x = _task(tmp_path, "int8", runtime, threads=2)
    res = guest.run_task(task, np)
    assert res["ok"] and res["stage"] == "done" and len(res["invoke_s"]) == 3
    assert res["output_dtype"] == "uint8" and res["output_quantization"][0] == pytest.approx(1 / 256)
    y = np.load(task["output"])
    assert y.shape == (3, 1, 20)
    it = Interpreter(model_path=task["model"], num_threads=1)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x[2])
    it.invoke()
    np.testing.assert_array_equal(y[2], it.get_tensor(it.get_output_details()[0]["index"]))
    assert [op["op"] for op in res["ops"]][:2] == ["QUANTIZE", "CONV_2D"]


def test_a_model_with_a_custom_op_fails_naming_it(tmp_path):
    task, _ = _task(tmp_path, "custom_op")
    res = guest.run_task(task, np)
    assert not res["ok"] and res["stage"] == "load"
    assert res["error"].startswith("RuntimeError: Encountered unresolved custom op: GhostEdgeNoSuchOp.")
    assert "See instructions" not in res["error"]


def test_force_fp16_needs_the_xnnpack_c_api():
    libc = ctypes.util.find_library("c")
    with pytest.raises(RuntimeError, match="does not export the XNNPACK delegate C API"):
        guest.force_fp16_delegate(libc, 1)
