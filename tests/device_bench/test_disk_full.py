"""A full disk during `bench` and `report`: no measured run lost (kept in memory, written where
there is room, said where), no 0-byte results file, no half-written reports, one line naming the
path. In-process with a simulated ENOSPC, and for real on a small tmpfs where user namespaces
allow mounting one (`unshare -rm`)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ghostedge.cli.main import main
from ghostedge.device_bench import store
from ghostedge.device_bench.store import read_results

FAST = ["--device", "local", "--threads", "1", "--repeats", "4", "--num-runs", "3", "--warmup-runs", "0",
        "--min-secs", "0", "--warmup-min-secs", "0", "--adaptive-budget", "0"]


class FullAfter:
    """open() for the results file whose writes fail with ENOSPC after ``lines`` lines."""

    def __init__(self, lines: int) -> None:
        self.lines = lines

    def __call__(self, path, mode="r", **kw):
        fh = open(path, mode, **kw)
        budget = self

        class Handle:
            closed = False

            def write(self, text):
                if budget.lines <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                budget.lines -= 1
                return fh.write(text)

            def __getattr__(self, name):
                return getattr(fh, name)
        return Handle()


def test_disk_full_mid_bench_keeps_every_run_and_says_where(tmp_path, tiny_models, monkeypatch, capsys):
    monkeypatch.setattr(store, "open", FullAfter(3), raising=False)   # header + 2 runs, then full
    real_save = store.ResultsWriter.save

    def save(self, path=None):
        if path is None:    # the output disk is still full
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return real_save(self, path)

    monkeypatch.setattr(store.ResultsWriter, "save", save)
    monkeypatch.setenv("GHOSTEDGE_RESCUE_DIR", str(tmp_path / "rescue"))
    out = tmp_path / "out"
    code = main(["bench", str(tiny_models[0]), *FAST, "--output", str(out)])
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1, captured.err
    assert "Cannot write the results to" in errors[0] and "is full" in errors[0]
    rescued = list((tmp_path / "rescue").glob("*.results.jsonl"))
    assert len(rescued) == 1 and str(rescued[0]) in errors[0]
    session = read_results(rescued[0])[0]
    assert len(session.runs) == 4 and session.status == "ok"   # every measured run
    partial = out / "results.jsonl"
    assert partial.stat().st_size > 0 and len(read_results(partial)[0].runs) == 2
    assert "| GhostNet_x1_0 FP32 |" in captured.out   # the table is still printed


def test_results_that_fit_nowhere_are_printed(tmp_path, tiny_models, monkeypatch, capsys):
    monkeypatch.setattr(store, "open", FullAfter(0), raising=False)

    def save(self, path=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(path or self.path))

    monkeypatch.setattr(store.ResultsWriter, "save", save)
    out = tmp_path / "out"
    assert main(["bench", str(tiny_models[0]), *FAST, "--output", str(out), "--json"]) == 1
    captured = capsys.readouterr()
    assert "printed on stdout as JSON lines" in captured.err
    assert not (out / "results.jsonl").exists()          # no 0-byte file
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith('{"schema"')]
    assert sum(1 for r in lines if r["kind"] == "run") == 4


def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


def _unshare(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GHOSTEDGE_RESCUE_DIR=str(tmp_path / "rescue"), GHOSTEDGE_NO_PROGRESS="1",
               TMPDIR=str(tmp_path / "t"))
    (tmp_path / "t").mkdir(exist_ok=True)
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.slow
def test_real_tmpfs_filling_up_mid_bench(tmp_path, tiny_models):
    if not _can_mount_tmpfs():
        pytest.skip("user namespaces cannot mount a tmpfs here; test_disk_full_mid_bench covers it in-process")
    out, snap = tmp_path / "out", tmp_path / "snap"
    out.mkdir()
    snap.mkdir()
    args = [a if a != "4" else "6" for a in FAST] + ["--min-secs", "0.2"]
    cli = " ".join([sys.executable, "-m", "ghostedge", "bench", str(tiny_models[0]), *args, "--output", str(out)])
    # the disk has room when bench checks it; it fills up once the first results are written
    script = (f"mount -t tmpfs -o size=3m tmpfs {out} && cd {tmp_path} && ({cli}) & pid=$!; "
              f"while [ ! -s {out}/results.jsonl ]; do sleep 0.02; done; "
              f"dd if=/dev/zero of={out}/.filler bs=4k 2>/dev/null; wait $pid; rc=$?; "
              f"rm -f {out}/.filler; cp -a {out}/. {snap}/; exit $rc")
    proc = _unshare(tmp_path, script)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1, proc.stderr
    assert "is full" in errors[0] and "ghostedge report" in errors[0]
    rescued = list((tmp_path / "rescue").glob("*.results.jsonl"))
    assert len(rescued) == 1 and str(rescued[0]) in errors[0]
    assert len(read_results(rescued[0])[0].runs) == 6              # every measured run
    left = {p.name: p.stat().st_size for p in snap.iterdir()}
    assert all(size > 0 for size in left.values()), left        # no empty file
    assert set(left) <= {"results.jsonl"}, left                  # no half of the reports, nothing staged
    assert list((tmp_path / "t").iterdir()) == []                # nothing left in the temp folder


@pytest.mark.slow
def test_real_tmpfs_too_small_is_refused_before_any_work(tmp_path, tiny_models):
    if not _can_mount_tmpfs():
        pytest.skip("user namespaces cannot mount a tmpfs here")
    out = tmp_path / "out"
    out.mkdir()
    cli = " ".join([sys.executable, "-m", "ghostedge", "bench", str(tiny_models[0]), *FAST, "--output", str(out)])
    proc = _unshare(tmp_path, f"mount -t tmpfs -o size=64k tmpfs {out} && {cli}; rc=$?; ls -A {out}; exit $rc")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1
    assert errors[0].startswith("error: Not enough disk space for the benchmark results in") and "is needed" in errors[0]
    assert proc.stdout.strip() == ""   # nothing written there
