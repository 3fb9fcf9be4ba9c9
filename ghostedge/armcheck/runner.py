"""Running the guest script under qemu-user: one process per emulated core, every task of every
model batched in it (start-up, ~2-4 s of imports under emulation, dominates small models).

The guest gets a clean environment (the host's PYTHONPATH, venv and locale never leak in), a
per-run prefix folder that shows the sysroot plus a ``/proc/cpuinfo`` whose identity matches
``-cpu``, and its own session: a timeout, Ctrl-C or SIGTERM kills the whole process group, so no
qemu process outlives the check. A task that crashes the process (SIGSEGV, SIGILL) is reported
and the guest resumes with the next task.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ghostedge.armcheck.errors import ArmCheckError, ArmSetupError
from ghostedge.armcheck.targets import CORES, ArchSpec, CoreSpec, host_processors

log = logging.getLogger(__name__)

PREFIX = "@@ghostedge "
GUEST_SCRIPT = Path(__file__).with_name("guest.py")
SIGNAL_NAMES = {4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV",
                15: "SIGTERM"}


@dataclass
class GuestOutcome:
    """What one core's guest processes reported."""

    versions: Dict[str, Any] = field(default_factory=dict)
    results: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    processes: int = 0
    wall_s: float = 0.0


def make_prefix(sysroot: Path, core: CoreSpec, dest: Path) -> Path:
    """A qemu ``-L`` prefix: symlinks to the sysroot's top-level folders plus this core's
    ``proc/cpuinfo`` (qemu-user does not emulate /proc/cpuinfo; the guest reads the prefix's)."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sysroot.iterdir():
        if entry.name != "proc":
            (dest / entry.name).symlink_to(entry.resolve())
    (dest / "proc").mkdir()
    (dest / "proc" / "cpuinfo").write_text(core.cpuinfo(host_processors()))
    return dest


def guest_env(pylibs: str) -> Dict[str, str]:
    """The guest's whole environment (qemu passes its own environment to the guest)."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent",
            "PYTHONPATH": pylibs, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "PYTHONSAFEPATH": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def pylibs_path(runtime: Any, prefix: Path) -> str:
    """The wheels' folder as a host path through the prefix: qemu-arm (32-bit) does not map
    ``stat`` of prefix-relative paths such as /opt/pylibs, so Python would not find packages."""
    return str(prefix / runtime.manifest.get("pylibs", "/opt/pylibs").lstrip("/"))


def qemu_argv(runtime: Any, core: CoreSpec, prefix: Path, args: Sequence[str]) -> List[str]:
    return [str(runtime.qemu), "-L", str(prefix), "-cpu", core.qemu_cpu,
            str(prefix / runtime.python), *args]


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt (so cleanup runs, as on Ctrl-C). Only in
    the main thread; elsewhere it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _no_core_dumps() -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def kill_group(proc: "subprocess.Popen[Any]", grace_s: float = 3.0) -> None:
    """Terminate the process group of ``proc`` (started with its own session), then kill
    whatever is left of it, and wait (briefly) until the group is gone."""
    if proc.poll() is None:
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:  # children of the leader may outlive it for a moment
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def stream_events(argv: Sequence[str], env: Dict[str, str], cwd: Path, stderr_path: Path,
                  idle_timeout_s: float) -> Iterator[Dict[str, Any]]:
    """Start ``argv`` in its own session and yield its ``@@ghostedge`` JSON events. Ends with a
    synthetic ``{"event": "exit", "returncode": rc, "timed_out": bool}``. The process group is
    killed whenever the generator stops early (exception, Ctrl-C, SIGTERM, ``close()``)."""
    with open(stderr_path, "ab") as err:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, cwd=cwd, env=env, start_new_session=True,
                                preexec_fn=_no_core_dumps)
    timed_out = False
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        last = time.monotonic()
        while True:
            if not sel.select(timeout=1.0):
                if time.monotonic() - last > idle_timeout_s:
                    timed_out = True
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            last = time.monotonic()
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                if line.startswith(PREFIX):
                    try:
                        yield json.loads(line[len(PREFIX):])
                    except ValueError:
                        log.debug("guest: unreadable event %r", line)
                elif line.strip():
                    log.debug("guest: %s", line)
        sel.close()
        if timed_out:
            kill_group(proc)
        rc = proc.wait()
        yield {"event": "exit", "returncode": rc, "timed_out": timed_out}
    finally:
        kill_group(proc)
        if proc.stdout:
            proc.stdout.close()


def stderr_tail(path: Path, lines: int = 3) -> str:
    """The last meaningful lines the guest wrote to stderr (qemu's signal message included)."""
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return ""
    keep = [ln.strip() for ln in text.splitlines()
            if ln.strip() and not ln.startswith("INFO: Created TensorFlow Lite")]
    return " | ".join(keep[-lines:])[:500]


def exit_reason(returncode: int, timed_out: bool, idle_timeout_s: float, tail: str) -> str:
    if timed_out:
        return f"no progress for {idle_timeout_s:.0f} s under emulation (timed out)"
    if returncode < 0 or returncode >= 128:
        num = -returncode if returncode < 0 else returncode - 128
        text = f"the emulated process died with {SIGNAL_NAMES.get(num, f'signal {num}')}"
    else:
        text = f"the emulated process exited with status {returncode}"
    return text + (f" ({tail})" if tail else "")


def run_guest(runtime: Any, core: CoreSpec, tasks: List[Dict[str, Any]], work: Path,
              idle_timeout_s: float = 900.0) -> GuestOutcome:
    """Run every task on ``core``; a task that kills the process gets an error and the rest run
    in a fresh process. Every task id gets a result."""
    t0 = time.perf_counter()
    cdir = work / core.name
    prefix = make_prefix(runtime.sysroot, core, cdir / "prefix")
    script = shutil.copy2(GUEST_SCRIPT, cdir / "guest.py")
    job = cdir / "job.json"
    job.write_text(json.dumps({"tasks": tasks}))
    env = guest_env(pylibs_path(runtime, prefix))
    outcome = GuestOutcome()
    start = 0
    while start < len(tasks):
        stderr_path = cdir / f"stderr-{outcome.processes}.txt"
        argv = qemu_argv(runtime, core, prefix, [str(script), str(job), str(start)])
        outcome.processes += 1
        current: Optional[int] = None
        hello = False
        exit_event: Dict[str, Any] = {}
        with contextlib.closing(stream_events(argv, env, cdir, stderr_path, idle_timeout_s)) as events:
            for event in events:
                kind = event.get("event")
                if kind == "hello":
                    hello = True
                    outcome.versions = event.get("versions", {})
                elif kind == "begin":
                    current = int(event["id"])
                elif kind == "end":
                    outcome.results[int(event["id"])] = event
                    current = None
                elif kind == "exit":
                    exit_event = event
        done = {t["id"] for t in tasks} <= set(outcome.results)
        if done:
            break
        reason = exit_reason(int(exit_event.get("returncode", -1)), bool(exit_event.get("timed_out")),
                             idle_timeout_s, stderr_tail(stderr_path))
        if not hello or current is None:
            for task in tasks[start:]:  # the guest cannot start at all on this core
                outcome.results.setdefault(task["id"], {"id": task["id"], "ok": False, "stage": "start",
                                                        "error": f"guest failed to start: {reason}"})
            break
        log.warning("%s: task %d crashed the emulated process: %s", core.name, current, reason)
        outcome.results[current] = {"id": current, "ok": False, "stage": "crash", "error": reason}
        start = next(i for i, t in enumerate(tasks) if t["id"] == current) + 1
    outcome.wall_s = time.perf_counter() - t0
    return outcome


_SMOKE = ("import json, platform, numpy\n"
          "from importlib.metadata import version\n"
          "v = {'python': platform.python_version(), 'machine': platform.machine(), "
          "'numpy': numpy.__version__}\n"
          "for mod, dist in {runtimes}:\n"
          "    __import__(mod); v[dist] = version(dist)\n"
          "print('@@ghostedge ' + json.dumps(v))\n")


def smoke_test(runtime: Any, spec: ArchSpec, timeout_s: float = 300.0) -> Dict[str, Any]:
    """Start the guest Python on the arch's first core and import numpy and every runtime;
    returns their versions (and qemu's), else ArmSetupError."""
    import tempfile

    mods = {"litert": ("ai_edge_litert.interpreter", "ai-edge-litert"),
            "tflite-runtime": ("tflite_runtime.interpreter", "tflite-runtime")}
    code = _SMOKE.replace("{runtimes}", repr([mods[r] for r in spec.runtimes]))
    core = CORES[spec.default_cores[0]]
    with tempfile.TemporaryDirectory(prefix="ghostedge-arm-smoke-") as tmp:
        prefix = make_prefix(runtime.sysroot, core, Path(tmp) / "prefix")
        argv = qemu_argv(runtime, core, prefix, ["-c", code])
        try:
            proc = subprocess.run(argv, env=guest_env(pylibs_path(runtime, prefix)),
                                  cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  errors="replace", timeout=timeout_s, start_new_session=True,
                                  preexec_fn=_no_core_dumps)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ArmSetupError(f"The emulated {spec.name} Python does not start", str(exc),
                                "Report this with `ghostedge check --debug` output") from exc
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(PREFIX)]
        if proc.returncode != 0 or not lines:
            why = exit_reason(proc.returncode, False, timeout_s,
                              " | ".join(proc.stderr.strip().splitlines()[-2:])[:400])
            raise ArmSetupError(f"The emulated {spec.name} Python cannot import numpy and LiteRT",
                                why, "Report this with `ghostedge check --debug` output")
        versions = json.loads(lines[-1][len(PREFIX):])
    versions["qemu"] = runtime.manifest.get("qemu_package", "").split(" ")[-1].split(":")[-1]
    return versions


def check_guest_paths(paths: Sequence[Path], sysroot: Path) -> None:
    """Refuse work files whose absolute path also exists inside the sysroot (qemu's ``-L`` would
    show the guest the sysroot's file instead)."""
    for path in paths:
        inside = sysroot / str(path).lstrip("/")
        if os.path.lexists(inside):
            raise ArmCheckError(f"Cannot use {path} for the emulated run", f"{inside} exists in the "
                                "ARM sysroot and would shadow it", "Set TMPDIR to another folder")
