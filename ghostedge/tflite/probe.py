"""Load a .tflite in a child process first, so that a crash of the native runtime becomes an error.

:func:`probe_load` runs LiteRT (through :func:`ghostedge.tflite.interpreter_class`) in a child
Python: load, allocate tensors and, by default, one invoke on zeros. If the child dies by a signal
(SIGSEGV, SIGBUS, SIGABRT, ...), fails, or outlives ``timeout_s``, the caller gets a one-line
:class:`~ghostedge.errors.InvalidModelError` instead of a dead process. The child gets no stdin,
runs in its own session (a terminal's Ctrl-C reaches only the parent, which kills it), and on Linux
dies with its parent. Results are cached per file (resolved path, size, mtime, SHA-256 of the first
and last 64 KiB), so one command probes each file once.

Run as ``python -m ghostedge.tflite.probe MODEL THREADS INVOKE PARENT_PID`` it is the child.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from ghostedge.errors import GhostEdgeError, InvalidModelError, RuntimeMissingError

log = logging.getLogger(__name__)

MARK = "@@ghostedge-probe "
EDGE = 64 * 1024  # bytes hashed at each end of the file for the cache key
STAGES = {"import": "starting it", "load": "loading it", "allocate": "allocating its tensors",
          "invoke": "running it once on zeros"}
FIX = "Re-export or re-download the model"
# file key -> (was it invoked?, None or the error's (what, why, fix))
_cache: Dict[Tuple[Any, ...], Tuple[bool, Optional[Tuple[str, str, str]]]] = {}
_lock = threading.Lock()


def probe_load(path: Union[str, "os.PathLike[str]"], num_threads: int = 1, invoke: bool = True,
               timeout_s: float = 60, *, verify: bool = True) -> None:
    """Load ``path`` with LiteRT in a child process (and invoke it once on zeros); raise
    :class:`InvalidModelError` if the runtime crashes, refuses the model or hangs.

    ``verify`` runs the structural check first (:func:`ghostedge.tflite.verify.verify_tflite_file`),
    which names the damaged part; the probe catches what no structural check can.
    """
    if verify:
        from ghostedge.tflite.verify import verify_tflite_file

        verify_tflite_file(path)
    resolved = Path(path).resolve()
    key = _cache_key(resolved)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        invoked, error = cached
        if error is not None and (invoke or STAGES["invoke"] not in error[1]):
            raise InvalidModelError(*error)  # (a failure of the invoke alone says nothing on loading)
        if error is None and (invoked or not invoke):
            return
    error = _run_child(resolved, str(path), num_threads, invoke, timeout_s)
    with _lock:
        _cache[key] = (invoke, error)
    if error is not None:
        raise InvalidModelError(*error)


def clear_probe_cache() -> None:
    """Forget earlier probe results (tests; files replaced in place with the same mtime)."""
    with _lock:
        _cache.clear()


def _cache_key(path: Path) -> Tuple[Any, ...]:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
            raise InvalidModelError(f"{path} is not a regular file", "a .tflite model is a file",
                                    "Pass the path of a .tflite file")
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            digest.update(fh.read(EDGE))
            if st.st_size > 2 * EDGE:
                fh.seek(st.st_size - EDGE)
            digest.update(fh.read())
    except OSError as exc:
        raise InvalidModelError(f"Cannot read model {path}", exc.strerror or str(exc),
                                "Check the path") from None
    return (str(path), st.st_size, st.st_mtime_ns, digest.hexdigest())


def _run_child(path: Path, shown: str, num_threads: int, invoke: bool,
               timeout_s: float) -> Optional[Tuple[str, str, str]]:
    """Run the child; return None on success, else (what, why, fix) of the model's error."""
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds the ghostedge package
    code = f"import sys; sys.path.insert(0, {root!r}); from ghostedge.tflite.probe import main; main()"
    cmd = [sys.executable, "-c", code, str(path), str(int(num_threads)), str(int(invoke)), str(os.getpid())]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:  # not cached: a busy machine may do better next time
        _kill(proc)
        doing = "loading and running it" if invoke else "loading it"
        raise InvalidModelError(f"{shown} cannot be loaded",
                                f"the TFLite runtime did not finish {doing} within {timeout_s:g} s",
                                "If the model is very large, allow more time; otherwise re-export "
                                "or re-download it") from None
    except BaseException:  # Ctrl-C, SIGTERM turned into an exception, ...: leave no child behind
        _kill(proc)
        raise
    return _outcome(shown, proc.returncode, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"))


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the child and anything it started
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()
    proc.wait()


def _outcome(shown: str, returncode: int, out: str, err: str) -> Optional[Tuple[str, str, str]]:
    records = [json.loads(line[len(MARK):]) for line in out.splitlines() if line.startswith(MARK)]
    stage = next((r["stage"] for r in reversed(records) if "stage" in r), "import")
    result = next((r for r in reversed(records) if "status" in r), None)
    runtime = next((r["runtime"] for r in records if "runtime" in r), "the TFLite runtime")
    what = f"{shown} cannot be loaded"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        log.debug("probe child stderr: %s", err.strip()[-2000:])
        return what, f"the TFLite runtime ({runtime}) crashed ({name}) while {STAGES[stage]}", FIX
    if result is None:
        last = (err.strip().splitlines() or [f"exit code {returncode}"])[-1]
        if stage == "import":
            raise GhostEdgeError(f"Cannot check {shown} in a child process", last,
                                 "Check that ghostedge and its TFLite runtime are installed")
        return what, f"the TFLite runtime ({runtime}) exited (code {returncode}) while {STAGES[stage]}", FIX
    if result["status"] == "runtime-missing":
        raise RuntimeMissingError(result["what"], result["why"], result["fix"])
    if result["status"] == "error":
        return what, f"{runtime} refused it while {STAGES[stage]}: {result['message']}", FIX
    return None


def _report(**record: Any) -> None:
    sys.stdout.write(MARK + json.dumps(record) + "\n")
    sys.stdout.flush()


def _die_with_parent(parent: int) -> None:
    """Linux: ask the kernel to SIGKILL this child when its parent dies (no stray process)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main(argv: Optional[list] = None) -> None:
    """The child: load, allocate, invoke once on zeros, reporting each stage on stdout."""
    path, threads, invoke, parent = (argv or sys.argv[1:])[:4]
    _die_with_parent(int(parent))
    import numpy as np

    from ghostedge.tflite import interpreter_class

    try:
        cls, runtime = interpreter_class()
    except RuntimeMissingError as exc:
        _report(status="runtime-missing", what=exc.what, why=exc.why, fix=exc.fix)
        return
    _report(runtime=runtime)
    stage = "load"
    try:
        _report(stage=stage)
        interp = cls(model_path=path, num_threads=int(threads))
        stage = "allocate"
        _report(stage=stage)
        interp.allocate_tensors()
        inputs = interp.get_input_details()
        if int(invoke) and all(np.dtype(d["dtype"]).kind in "biufc" for d in inputs):
            stage = "invoke"
            _report(stage=stage)
            for d in inputs:
                interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
            interp.invoke()
    except Exception as exc:  # the runtime's own refusal: report its last line
        lines = str(exc).strip().splitlines()
        _report(status="error", message=lines[-1] if lines else type(exc).__name__)
        return
    _report(status="ok")


if __name__ == "__main__":
    main()
