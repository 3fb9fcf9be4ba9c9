"""The qemu runner with a fake qemu (the guest script runs on the host Python): batching, a task
that crashes the process, a hung process, Ctrl-C and SIGTERM all end with no stray process."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from armcheck.fakes import TINY, fake_runtime
from ghostedge.armcheck import runner
from ghostedge.armcheck.targets import CORES

GUEST = Path(__file__).with_name("fake_guest.py")


@pytest.fixture()
def work(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture()
def rt(tmp_path):
    return fake_runtime(tmp_path / "runtime")


@pytest.fixture()
def test_guest(monkeypatch):
    monkeypatch.setattr(runner, "GUEST_SCRIPT", GUEST)


def _inputs(work: Path, dtype=np.float32) -> str:
    path = work / f"inputs-{np.dtype(dtype).name}.npy"
    x = np.random.default_rng(0).uniform(0, 255, (2, 1, 32, 32, 3))
    np.save(path, x.astype(dtype))
    return str(path)


def _task(i, work, kind="fp32", **extra):
    dtype = np.uint8 if kind == "int8" else np.float32
    return {"id": i, "model": str(TINY[kind]), "inputs": _inputs(work, dtype), "runtime": "litert",
            "threads": 1, "mode": "default", "ops": True, "output": str(work / f"out-{i}.npy"), **extra}


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie (not yet reaped) counts as dead
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_prefix_shows_the_sysroot_and_a_matching_cpuinfo(rt, work):
    prefix = runner.make_prefix(rt.sysroot, CORES["cortex-a53"], work / "p")
    assert (prefix / "usr").is_symlink() and (prefix / "usr" / "bin" / "python3.11").is_file()
    text = (prefix / "proc" / "cpuinfo").read_text()
    assert "CPU part\t: 0xd03" in text and text.strip()


def test_guest_env_is_clean(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/host/site-packages")
    monkeypatch.setenv("VIRTUAL_ENV", "/host/venv")
    env = runner.guest_env("/opt/pylibs")
    assert env["PYTHONPATH"] == "/opt/pylibs" and "VIRTUAL_ENV" not in env
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "HOME", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                        "PYTHONNOUSERSITE", "PYTHONSAFEPATH", "PYTHONUNBUFFERED", "OMP_NUM_THREADS"}


def test_all_tasks_run_in_one_process(rt, work):
    tasks = [_task(0, work), _task(1, work, "int8"), _task(2, work, "custom_op")]
    out = runner.run_guest(rt, CORES["cortex-a76"], tasks, work)
    assert out.processes == 1 and out.versions["numpy"] == np.__version__
    assert out.results[0]["ok"] and out.results[1]["ok"]
    assert np.load(tasks[1]["output"]).dtype == np.uint8
    assert out.results[0]["ops"][-1]["op"] == "DELEGATE"
    bad = out.results[2]
    assert not bad["ok"] and bad["stage"] == "load"
    assert "unresolved custom op: GhostEdgeNoSuchOp" in bad["error"]


def test_a_crashing_task_is_reported_and_the_rest_still_run(rt, work, test_guest):
    tasks = [_task(0, work), _task(1, work, crash=True), _task(2, work, "int8")]
    out = runner.run_guest(rt, CORES["cortex-a76"], tasks, work)
    assert out.processes == 2
    assert out.results[0]["ok"] and out.results[2]["ok"]
    assert out.results[1]["stage"] == "crash"
    assert "the emulated process died with SIGSEGV" in out.results[1]["error"]


def test_a_guest_that_cannot_start_fails_every_task(tmp_path, work):
    rt = fake_runtime(tmp_path / "rt", qemu_script="#!/bin/sh\necho 'qemu: could not open' >&2\nexit 1\n")
    out = runner.run_guest(rt, CORES["cortex-a76"], [_task(0, work), _task(1, work)], work)
    assert out.processes == 1
    for res in out.results.values():
        assert res["error"] == ("guest failed to start: the emulated process exited with status 1 "
                                "(qemu: could not open)")


def test_a_hung_process_is_killed_with_its_children(rt, work, test_guest):
    marker = work / "pids.txt"
    tasks = [_task(0, work, hang=str(marker)), _task(1, work)]
    out = runner.run_guest(rt, CORES["cortex-a76"], tasks, work, idle_timeout_s=3)
    assert "no progress for 3 s under emulation (timed out)" in out.results[0]["error"]
    assert out.results[1]["ok"] and out.processes == 2
    guest_pid, child_pid = map(int, marker.read_text().split())
    assert _dead(guest_pid) and _dead(child_pid)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_leave_no_stray_process(rt, work, test_guest, sig):
    marker = work / "pids.txt"
    tasks = [_task(0, work, hang=str(marker))]

    def interrupt():
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        os.kill(os.getpid(), sig)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        with runner.terminate_as_interrupt():
            runner.run_guest(rt, CORES["cortex-a76"], tasks, work, idle_timeout_s=120)
    guest_pid, child_pid = map(int, marker.read_text().split())
    assert _dead(guest_pid) and _dead(child_pid)
    assert signal.getsignal(signal.SIGTERM) is not None  # handler restored


def test_work_files_shadowed_by_the_sysroot_are_refused(rt, tmp_path):
    (rt.sysroot / "tmp" / "x").mkdir(parents=True)
    with pytest.raises(runner.ArmCheckError, match="would shadow it"):
        runner.check_guest_paths([Path("/tmp/x")], rt.sysroot)
    runner.check_guest_paths([tmp_path / "elsewhere"], rt.sysroot)
