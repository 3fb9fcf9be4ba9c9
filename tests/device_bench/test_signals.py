"""Fault injection: SIGTERM, SIGINT (Ctrl-C) and SIGHUP at several points of a phone bench —
while deploying, during a timed run, while waiting for the phone to cool, during the op-profile
run. Each time: exit 128+signal with one line, nothing left on the phone (files or processes) or in
the host's temporary folder, every finished run in results.jsonl, and an end record."""
from __future__ import annotations

import signal

import pytest

from ghostedge.device_bench.store import read_results

from device_bench.phone_cli import FAST_THERMAL, bench_args, cli, count_runs, error_line, wait_until, workspace
from fakephone.harness import fake_phone

pytestmark = pytest.mark.slow
NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C", signal.SIGHUP: "SIGHUP"}


def _profiling(phone) -> bool:
    return any("--enable_op_profiling=true" in " ".join(p["argv"]) for p in phone.processes()
               if p["kind"] == "benchmark")


@pytest.mark.parametrize("sig, point", [
    (signal.SIGTERM, "deploy"), (signal.SIGTERM, "run"), (signal.SIGTERM, "cooldown"), (signal.SIGTERM, "profile"),
    (signal.SIGINT, "deploy"), (signal.SIGINT, "run"), (signal.SIGINT, "cooldown"), (signal.SIGHUP, "run"),
])
def test_signal_during_a_phone_bench(tmp_path, sig, point):
    ws = workspace(tmp_path)
    results = ws / "res" / "results.jsonl"
    with fake_phone(tmp_path / "phone") as phone:
        phone.set_thermal(**FAST_THERMAL)
        phone.synthetic_us = 100_000
        extra = ["--threads", "1", "2", "--repeats", "2"] + (["--op-profile"] if point == "profile" else [])
        proc = cli(bench_args(ws, [phone.serial], *extra), ws, phone.env)
        try:
            if point == "deploy":
                wait_until(lambda: phone.listdir() is not None, proc, what="the deployment")
            elif point == "run":
                wait_until(lambda: count_runs(results) >= 1 and phone.running_benchmarks(), proc, what="a run")
            elif point == "cooldown":
                # heat the phone while a run is in flight: the check before the next run must wait
                wait_until(lambda: phone.running_benchmarks(), proc, what="a run")
                hot = next(k for k in phone.temperatures() if k.startswith("cpu-1"))
                phone.set_temperatures({hot: 75.0}, ambient=True)   # it will not cool: bench waits
                wait_until(lambda: not phone.running_benchmarks() and count_runs(results) >= 1
                           and count_runs(results) == phone.runs_started, proc,
                           what="the wait after the run in flight")
            else:
                wait_until(lambda: _profiling(phone), proc, timeout=120, what="the op-profile run")
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 128 + int(sig), err
        assert error_line(err) == (f"error: interrupted ({NAMES[sig]}); partial outputs were removed and "
                                   "finished results kept")
        assert phone.listdir() is None and phone.running_benchmarks() == []
        started = phone.runs_started
    assert list((ws / "tmp").iterdir()) == []
    if not results.exists():
        assert point == "deploy" and started == 0
        return
    session = read_results(results)[0]
    assert session.status == "interrupted" and session.end["runs_planned"] == 8
    timed = len(session.runs)
    if point == "run":
        assert timed == started - 1            # only the run cut short is missing
    elif point == "cooldown":
        assert timed == started and session.runs[-1]["cooldown"] is not None
    elif point == "profile":
        assert timed == 8 and started == 8 + len(session.profiles) + 1
    assert (ws / "res" / "table.md").exists()
