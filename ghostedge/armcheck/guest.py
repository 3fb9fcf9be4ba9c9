"""Runs INSIDE the emulated ARM Python (qemu-user): loads each task's model with the ARM build of
LiteRT (or tflite-runtime), runs the prepared inputs, saves the raw outputs and reports one JSON
line per event on stdout (prefixed with ``@@ghostedge``). Standard library + numpy + the runtime
only: this file never imports ghostedge.

Usage (by ghostedge.armcheck.runner): ``python3.11 guest.py JOB.json START``; tasks before index
START are skipped, so the host can resume after a task that crashed the process.
"""
import ctypes
import json
import os
import platform
import sys
import time

PREFIX = "@@ghostedge "
FLAG_FORCE_FP16 = 0x4  # TFLITE_XNNPACK_DELEGATE_FLAG_FORCE_FP16 (xnnpack_delegate.h)


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write(PREFIX + json.dumps(fields) + "\n")
    sys.stdout.flush()


def dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001 - a missing version is not fatal
        return None


def runtime_module(runtime):
    """(interpreter module, native library that exports the XNNPACK C API)."""
    if runtime == "litert":
        import ai_edge_litert
        from ai_edge_litert import interpreter as tfl
        lib = os.path.join(os.path.dirname(ai_edge_litert.__file__), "libLiteRt.so")
    else:
        import tflite_runtime
        from tflite_runtime import interpreter as tfl
        lib = os.path.join(os.path.dirname(tflite_runtime.__file__),
                           "_pywrap_tensorflow_interpreter_wrapper.so")
    return tfl, lib


class XnnOptions(ctypes.Structure):
    # The leading fields of TfLiteXNNPackDelegateOptions; the padding makes the buffer larger than
    # any version of the struct (returned through a hidden pointer on aarch64, arm and x86_64).
    _fields_ = [("num_threads", ctypes.c_int32), ("flags", ctypes.c_uint32),
                ("_rest", ctypes.c_uint8 * 248)]


class RawDelegate:
    """What Interpreter(experimental_delegates=[...]) needs from a delegate object."""

    def __init__(self, lib, ptr):
        self.lib, self.ptr = lib, ptr

    def _get_native_delegate_pointer(self):
        return self.ptr

    def delete(self):
        if self.ptr:
            self.lib.TfLiteXNNPackDelegateDelete(ctypes.c_void_p(self.ptr))
            self.ptr = None


def force_fp16_delegate(libpath, threads):
    """An XNNPACK delegate with FORCE_FP16 set, created through the library's C API."""
    lib = ctypes.CDLL(libpath)
    if not hasattr(lib, "TfLiteXNNPackDelegateCreate"):
        raise RuntimeError("this runtime does not export the XNNPACK delegate C API")
    lib.TfLiteXNNPackDelegateOptionsDefault.restype = XnnOptions
    lib.TfLiteXNNPackDelegateCreate.restype = ctypes.c_void_p
    lib.TfLiteXNNPackDelegateCreate.argtypes = [ctypes.POINTER(XnnOptions)]
    lib.TfLiteXNNPackDelegateDelete.argtypes = [ctypes.c_void_p]
    opts = lib.TfLiteXNNPackDelegateOptionsDefault()
    opts.num_threads = threads
    opts.flags |= FLAG_FORCE_FP16
    ptr = lib.TfLiteXNNPackDelegateCreate(ctypes.byref(opts))
    if not ptr:
        raise RuntimeError("TfLiteXNNPackDelegateCreate returned NULL")
    return RawDelegate(lib, ptr)


def one_line(exc):
    text = " ".join(line.strip() for line in str(exc).splitlines()
                    if line.strip() and not line.strip().startswith("See instructions"))
    return (type(exc).__name__ + ": " + text)[:600]


def op_records(interp):
    ops = []
    for d in interp._get_ops_details():
        ops.append({"op": str(d["op_name"]), "inputs": [int(v) for v in d["inputs"]],
                    "outputs": [int(v) for v in d["outputs"]]})
    return ops


def run_task(task, np):
    tfl, lib = runtime_module(task["runtime"])
    kw = {"model_path": task["model"], "num_threads": int(task["threads"])}
    delegate = None
    result = {"id": task["id"], "ok": False, "error": None, "stage": "load"}
    t0 = time.perf_counter()
    try:
        if task["mode"] == "xnnpack-fp16":
            delegate = force_fp16_delegate(lib, int(task["threads"]))
            kw["experimental_op_resolver_type"] = tfl.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            kw["experimental_delegates"] = [delegate]
        interp = tfl.Interpreter(**kw)
        interp.allocate_tensors()
        result["load_s"] = round(time.perf_counter() - t0, 4)
        if task.get("ops"):
            result["ops"] = op_records(interp)
        result["stage"] = "invoke"
        inp = interp.get_input_details()[0]
        out = interp.get_output_details()[0]
        xs = np.load(task["inputs"], allow_pickle=False)[:task.get("limit")]
        ys, times = [], []
        for x in xs:
            interp.set_tensor(inp["index"], x.astype(inp["dtype"]).reshape(inp["shape"]))
            t1 = time.perf_counter()
            interp.invoke()
            times.append(round(time.perf_counter() - t1, 4))
            ys.append(np.array(interp.get_tensor(out["index"]), copy=True))
        np.save(task["output"], np.stack(ys), allow_pickle=False)
        result.update(ok=True, stage="done", invoke_s=times, output_dtype=str(ys[0].dtype),
                      output_quantization=[float(v) for v in out["quantization"]])
    except Exception as exc:  # noqa: BLE001 - every failure is reported, the next task runs
        result["error"] = one_line(exc)
        result.setdefault("load_s", round(time.perf_counter() - t0, 4))
    finally:
        interp = None
        if delegate is not None:
            delegate.delete()
    return result


def main():
    job_path, start = sys.argv[1], int(sys.argv[2])
    with open(job_path) as fh:
        job = json.load(fh)
    t0 = time.perf_counter()
    import numpy as np
    versions = {"python": platform.python_version(), "machine": platform.machine(),
                "numpy": np.__version__}
    for runtime, dist in (("litert", "ai-edge-litert"), ("tflite-runtime", "tflite-runtime")):
        versions[runtime] = dist_version(dist)
    emit("hello", versions=versions, import_s=round(time.perf_counter() - t0, 3))
    for task in job["tasks"][start:]:
        emit("begin", id=task["id"])
        emit("end", **run_task(task, np))
    emit("bye")


if __name__ == "__main__":
    main()
