"""Several phones at once, with the real adb client: `--device all` / `S1 S2`, one worker per phone
(parallel), each pinned to its own big cores and cleaned up; a phone that fails marks its rows and
the others finish; bad device choices are one line and leave nothing behind."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from ghostedge.device_bench.store import read_results

from device_bench.phone_cli import FAST_THERMAL, bench_args, error_line, run, table_rows, workspace
from fakephone.harness import adb_sandbox

pytestmark = pytest.mark.slow
BIG_MASK = {"sd855": "f0", "tensor_g1": "f0", "mt6833": "c0"}


def _span(session):
    times = [dt.datetime.fromisoformat(r[k]) for r in session.runs for k in ("started_at", "ended_at")]
    return min(times), max(times)


def test_three_phones_one_vanishing_mid_run(tmp_path):
    ws = workspace(tmp_path)
    with adb_sandbox(tmp_path / "adb") as sandbox:
        phones = sandbox.add_phones(("sd855", "tensor_g1", "mt6833"), thermal=FAST_THERMAL, synthetic_us=20000)
        phones[2].vanish_after_runs(3)   # mid-way through its 4th run
        res = run(bench_args(ws, ["all"], "--threads", "1", "2", "4", "--repeats", "2"), ws, sandbox.env)
        assert res.returncode == 1, res.stderr
        assert error_line(res.stderr).startswith("error: 1 of 3 devices failed: " + phones[2].serial)
        for phone in phones[:2]:   # nothing left on the phones that finished
            assert phone.listdir() is None and phone.running_benchmarks() == []
    rows = table_rows(res.stdout)
    assert len(rows) == 6 + 1   # 3 phones x 2 models, and PaddleClas's SD855 row
    by_device = {}
    for row in rows[:6]:
        by_device.setdefault(row[0].split(" (")[1].rstrip(")"), []).append(row)
    for phone in phones[:2]:
        assert all(c[0].isdigit() for r in by_device[phone.serial] for c in r[2:5]), by_device[phone.serial]
    assert any("device failed" in c or c == "—" for r in by_device[phones[2].serial] for c in r[2:5])
    sessions = {s.header["device"]["serial"]: s for s in read_results(ws / "res")}
    for phone in phones:
        assert sessions[phone.serial].header["device"]["affinity"]["mask"] == BIG_MASK[phone.profile]
    assert sessions[phones[2].serial].status == "failed"
    assert [len(sessions[p.serial].runs) for p in phones[:2]] == [12, 12]
    assert len(sessions[phones[2].serial].runs) == 3
    assert len({s.header["group_id"] for s in sessions.values()}) == 1
    (a0, a1), (b0, b1) = _span(sessions[phones[0].serial]), _span(sessions[phones[1].serial])
    assert a0 < b1 and b0 < a1   # the two phones measured at the same time, not one after the other
    assert "| Device | Models | time(ms) bs=1, thread=1 | thread=2 | thread=4 |" in res.stdout
    redraw = run(["report", str(ws / "res"), "--json"], ws, sandbox.env)
    assert redraw.returncode == 0 and len(json.loads(redraw.stdout)["devices"]) == 3


def test_device_all_without_a_ready_phone(tmp_path):
    ws = workspace(tmp_path)
    with adb_sandbox(tmp_path / "adb") as sandbox:
        sandbox.add_phone(state="unauthorized")
        res = run(bench_args(ws, ["all"]), ws, sandbox.env)
    assert res.returncode == 1
    line = error_line(res.stderr)
    assert line.startswith("error: No ready device for --device all") and "authoriz" in line  # the fake flips
    assert not (ws / "res").exists() and list((ws / "tmp").iterdir()) == []


def test_a_serial_given_twice(tmp_path):
    ws = workspace(tmp_path)
    with adb_sandbox(tmp_path / "adb") as sandbox:
        phone = sandbox.add_phone()
        res = run(bench_args(ws, [phone.serial, phone.serial]), ws, sandbox.env)
        assert phone.listdir() is None
    assert res.returncode == 2 and "names " + phone.serial + " twice" in error_line(res.stderr)
    assert not (ws / "res").exists()


def test_one_unauthorized_phone_among_ready_ones(tmp_path):
    ws = workspace(tmp_path)
    with adb_sandbox(tmp_path / "adb") as sandbox:
        good = sandbox.add_phone(thermal=FAST_THERMAL)
        bad = sandbox.add_phone(state="unauthorized")
        named = run(bench_args(ws, [good.serial, bad.serial], "--threads", "1", "--repeats", "1"), ws, sandbox.env)
        everyone = run(bench_args(ws, ["all"], "--threads", "1", "--repeats", "1", out="all"), ws, sandbox.env)
        assert good.listdir() is None and bad.listdir() is None
    assert named.returncode == 1
    line = error_line(named.stderr)
    assert line.startswith("error: 1 of 2 devices failed: " + bad.serial) and "RSA key" in line
    sessions = {s.header["device"]["serial"]: s for s in read_results(ws / "res")}
    assert sessions[good.serial].status == "ok" and len(sessions[good.serial].runs) == 2
    assert sessions[bad.serial].status == "failed" and sessions[bad.serial].runs == []
    rows = table_rows(named.stdout)
    assert [r[2] for r in rows[:4]].count("device failed [1]") == 2   # both rows, one footnote saying why
    assert "[1] device failed: " in named.stdout and "RSA key" in named.stdout
    assert everyone.returncode == 0, everyone.stderr
    assert f"{bad.serial} is " in everyone.stderr and "skipped" in everyone.stderr
    assert len(read_results(ws / "all")) == 1


def test_devices_lists_several_phones_with_their_big_cores(tmp_path):
    ws = workspace(tmp_path)
    with adb_sandbox(tmp_path / "adb") as sandbox:
        phones = sandbox.add_phones(("sd855", "tensor_g1", "mt6833"))
        res = run(["devices"], ws, sandbox.env)
        data = run(["devices", "--json"], ws, sandbox.env)
    assert res.returncode == 0 and "big cores" in res.stdout.splitlines()[0]
    lines = {p.serial: next(line for line in res.stdout.splitlines() if line.startswith(p.serial)) for p in phones}
    assert "4-7" in lines[phones[0].serial] and "6-7" in lines[phones[2].serial]
    assert all("network" in line for line in lines.values())
    assert len(json.loads(data.stdout)["devices"]) == 3
