"""Run ``benchmark_model`` on the phone (optionally under ``taskset``) and read its result.

The remote command ends with ``echo <marker> $?``: adb 29 exits 0 when the phone vanishes in the
middle of ``adb shell``, so only the marker proves the output is complete, and it carries the
binary's own exit status.
"""
from __future__ import annotations

import logging
import posixpath
import re
import secrets
import shlex
from typing import Any, List, Optional, Sequence

from ghostedge.android_runner.adb import Adb
from ghostedge.android_runner.errors import VANISHED_FIX, AdbTimeoutError, CellFailure, DeviceVanishedError
from ghostedge.android_runner.parse import BenchmarkOutput, parse_benchmark_output
from ghostedge.android_runner.remote import SAMPLE_PERIOD_S, kill_started, sampler_script, split_samples
from ghostedge.errors import BenchmarkError, DeviceError

log = logging.getLogger(__name__)

_SIGNALS = {4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}


def benchmark_command(binary: str, model: str, threads: int, mask: Optional[str], warmup_runs: int = 1,
                      num_runs: int = 50, min_secs: Optional[float] = None,
                      extra_flags: Sequence[str] = ()) -> List[str]:
    """The argv run on the phone: ``[taskset MASK] BINARY --graph=… --num_threads=… …``."""
    if mask is not None and not re.fullmatch(r"[0-9a-f]+", mask):
        raise BenchmarkError(f"Bad taskset mask '{mask}'", "expected plain lowercase hex without 0x",
                             "Use android_runner.affinity_mask to derive it")
    argv = ["taskset", mask] if mask else []
    argv += [binary, f"--graph={model}", f"--num_threads={int(threads)}",
             f"--warmup_runs={int(warmup_runs)}", f"--num_runs={int(num_runs)}"]
    if min_secs is not None:
        argv.append(f"--min_secs={min_secs:g}")
    argv += [str(flag) for flag in extra_flags]
    return argv


DELEGATE_FLAGS = {"gpu": "--use_gpu=true", "nnapi": "--use_nnapi=true"}
DELEGATE_NAMES = {"gpu": "GPU", "nnapi": "NNAPI"}


def run_benchmark_model(adb: Adb, binary: str, model: str, threads: int, mask: Optional[str],
                        warmup_runs: int = 1, num_runs: int = 50, extra_flags: Sequence[str] = (),
                        timeout: float = 600, min_secs: Optional[float] = None,
                        sample_cpus: Optional[Sequence[int]] = None, required_flags: Sequence[str] = (),
                        delegate: str = "cpu") -> BenchmarkOutput:
    """Run benchmark_model on the device and parse its merged stdout+stderr.

    ``sample_cpus``: record load and ``scaling_cur_freq`` of these CPUs while it runs
    (``BenchmarkOutput.samples``). ``required_flags``: flags without which the figure would be a
    different measurement (``--use_gpu=true``, ``--enable_op_profiling=true``): a binary that does
    not know one raises ``CellFailure`` instead of printing a CPU figure. ``delegate``: the
    delegate asked for (``gpu``/``nnapi``), whose failure to apply raises ``CellFailure``.

    Raises BenchmarkError when the binary fails (crash, non-zero exit, missing model, permission,
    no timings), DeviceError when the phone vanishes mid-run, AdbTimeoutError after killing the
    run on the phone when it does not finish within ``timeout``.
    """
    argv = benchmark_command(binary, model, threads, mask, warmup_runs, num_runs, min_secs, extra_flags)
    marker = f"GHOSTEDGE_END_{secrets.token_hex(4)}"
    command = " ".join(shlex.quote(a) for a in argv)
    folder = posixpath.dirname(binary)
    flag = posixpath.join(folder, f".sampling-{marker[-8:]}")
    if sample_cpus:
        sampler = sampler_script(sample_cpus, flag, int(timeout / SAMPLE_PERIOD_S) + 2)
        script = (f": > {shlex.quote(flag)}; {sampler} {command} 2>&1; rc=$?; "
                  f"rm -f {shlex.quote(flag)}; wait; echo {marker} rc=$rc")
    else:
        script = f"{command} 2>&1; echo {marker} rc=$?"
    log.info("on %s: %s", adb.serial, script)
    try:
        result = adb.run(["shell", script], timeout=timeout, check=False)
    except AdbTimeoutError as exc:
        killed = kill_started(adb, folder)
        try:
            adb.shell(["rm", "-f", flag], timeout=30, check=False)
        except DeviceError:
            pass
        raise AdbTimeoutError(exc.cmd, exc.stdout, exc.stderr, None, adb.serial,
                              what=f"benchmark_model on '{adb.serial}' did not finish within {timeout:g} s",
                              why=f"{model} with {threads} thread{'' if threads == 1 else 's'}, {num_runs} "
                                  f"run{'' if num_runs == 1 else 's'}"
                                  + (f" (killed on the phone: pid {', '.join(map(str, killed))})" if killed else "")
                                  + f"; last lines: {_tail(exc.stdout)}",
                              fix="Raise the run timeout (--run-timeout), lower --num-runs, or check that "
                                  "the phone is awake and not throttling") from exc
    text = result.stdout + result.stderr
    samples: List[Any] = []
    if sample_cpus:
        text, samples = split_samples(text, list(sample_cpus))
    found = re.search(rf"^{marker} rc=(\d+)\s*$", text, re.M)
    if found is None:
        _raise_incomplete(adb, result.cmd, text, result.returncode, model)
    exit_code = int(found.group(1))
    body = text[:found.start()]
    parsed = parse_benchmark_output(body)
    parsed.exit_code = exit_code
    parsed.samples = [s.to_dict() for s in samples]
    if parsed.flag_errors:
        raise BenchmarkError(f"benchmark_model refused a flag ghostedge gave it on {model}",
                             " | ".join(parsed.flag_errors[:2]),
                             "Use a newer benchmark_model (--benchmark-binary), or report it")
    _check_delegate(parsed, delegate, required_flags)
    if exit_code != 0 or parsed.failed:
        raise _failure(exit_code, parsed, binary, model)
    return parsed


def _check_delegate(parsed: BenchmarkOutput, delegate: str, required_flags: Sequence[str]) -> None:
    """A delegate that failed or took nothing, and a required flag the binary ignored, are cell
    failures: the figure would not be what was asked for."""
    names = {f.split("=")[0] for f in parsed.unconsumed_flags}
    unknown = [f for f in required_flags if f.split("=")[0] in names]
    if unknown:
        flag = unknown[0].split("=")[0]
        raise CellFailure(f"This benchmark_model does not know {flag}", "it printed 'Unconsumed cmdline "
                          f"flags: {' '.join(parsed.unconsumed_flags)}' and would have run without it",
                          "Use a benchmark_model build with that feature (--benchmark-binary)",
                          reason=f"benchmark_model does not know {flag}", kind="unknown_flag")
    name = DELEGATE_NAMES.get(delegate)
    if name is None:
        return
    failure = parsed.delegate_failure
    if failure is not None:
        raise CellFailure(f"The {name} delegate failed on this phone", failure.reason,
                          "The cell is marked; other delegates and phones go on",
                          reason=f"{name} delegate failed: {failure.reason}", kind="delegate")
    info = next((d for d in parsed.delegates if d.name.upper() == name), None)
    if info is not None and info.status == "none":
        raise CellFailure(f"The {name} delegate took no operator", "the model would run on the CPU",
                          "The cell is marked; use the cpu column for CPU figures",
                          reason=f"{name} delegate took no operator (the run would be a CPU one)",
                          kind="delegate")


def _tail(text: str, lines: int = 4) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) if kept else "no output"


def _failure(exit_code: int, parsed: BenchmarkOutput, binary: str, model: str) -> BenchmarkError:
    last = " | ".join(parsed.error_lines[-3:]) if parsed.error_lines else _tail(parsed.raw)
    raw = parsed.raw
    taskset_line = next((line for line in raw.splitlines() if "taskset" in line), "")
    if taskset_line and "STARTING" not in raw:
        return BenchmarkError("taskset could not pin benchmark_model to the chosen CPUs", taskset_line.strip(),
                              "Use --affinity big/prime/all (derived from the phone's clusters), a mask "
                              "within the phone's CPUs, or --affinity none if the phone lacks taskset")
    if "CANNOT LINK EXECUTABLE" in raw or "not executable" in raw or "Exec format error" in raw:
        return BenchmarkError(f"{binary} cannot start on the phone", last,
                              "Use the benchmark_model build for the phone's ABI (see `ghostedge devices "
                              "--json`); the official nightly builds are linked statically")
    if exit_code == 126 or "Permission denied" in raw:
        return BenchmarkError(f"{binary} cannot be executed on the phone", f"Permission denied ({last})",
                              "ghostedge runs `chmod 755` after pushing; keep the folder under "
                              "/data/local/tmp (/sdcard is noexec) and check the binary's ABI")
    if exit_code == 127:
        return BenchmarkError(f"{binary} was not found on the phone", last,
                              "Push it again (it may have been removed) or check --benchmark-binary")
    if exit_code > 128 and exit_code - 128 in _SIGNALS:
        return BenchmarkError(f"benchmark_model crashed on {model}",
                              f"killed by {_SIGNALS[exit_code - 128]} (exit {exit_code}); last lines: {last}",
                              "Check that the binary matches the phone's ABI and that the model loads "
                              "locally (`ghostedge inspect`); try a newer benchmark_model")
    if re.search(r"Could not open|Failed to mmap model|No such file", raw):
        return BenchmarkError(f"benchmark_model cannot open {model}", last,
                              "The model is not on the phone (not pushed, or removed meanwhile): check "
                              "the path and rerun so that ghostedge pushes it again")
    if parsed.delegate_failure is not None or re.search(r"delegate", last, re.I):
        reason = parsed.delegate_failure.reason if parsed.delegate_failure else last
        return BenchmarkError(f"benchmark_model failed to apply a delegate for {model}", reason,
                              "ghostedge asked for no delegate here (cpu), so this benchmark_model build "
                              "applies it by default: pass --benchmark-binary with a CPU (XNNPACK) "
                              "build, or report the failing binary and model")
    return BenchmarkError(f"benchmark_model failed on {model}", f"exit code {exit_code}; {last}",
                          "Run the same command by hand with `adb shell` to see the full output")


def _raise_incomplete(adb: Adb, cmd: List[str], text: str, returncode: int, model: str) -> None:
    """No end marker: the phone vanished, or adb itself failed; say which."""
    try:
        state = adb.get_state(timeout=10)
    except DeviceError as exc:
        raise DeviceVanishedError(cmd, text, "", returncode, adb.serial,
                                  what=f"Device '{adb.serial}' vanished while benchmarking {model}",
                                  why=f"the output ended early and adb now says: {exc.why or exc}",
                                  fix=VANISHED_FIX) from exc
    if returncode != 0:
        from ghostedge.android_runner.adb import classify_failure

        raise classify_failure(cmd, text, "", returncode, adb.serial)
    raise BenchmarkError(f"benchmark_model output on '{adb.serial}' is incomplete",
                         f"the end marker is missing (device state: {state}); last lines: {_tail(text)}",
                         "Rerun; if it repeats, run the command by hand with `adb shell`")
