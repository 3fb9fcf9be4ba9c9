"""The fake phone as a device that lives: it heats while benchmark_model runs and cools when idle,
throttles its big cores, shows load in /proc, keeps running what the host's adb client abandoned,
lets ps/kill/pidof find and stop it (and nothing of the host), keeps an earlier session's files,
and several phones of different SoCs run side by side while one vanishes mid-run."""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, Tuple

import pytest

from fakephone.fixtures import adb_sandbox, make_phone, three_phones  # noqa: F401,F811  (fixtures)
from fakephone.harness import FakePhone
from fakephone.phone_bench import REMOTE, deploy as deploy_to, run_benchmark
from ghostedge.android_runner.parse import BenchmarkOutput, parse_benchmark_output

pytestmark = pytest.mark.slow
LONG = "--num_threads=4 --warmup_runs=1 --num_runs=1 --min_secs={secs} --warmup_min_secs=0"


MODEL = Path(__file__).resolve().parents[1] / "data" / "device_bench" / "tiny_conv.fp32.tflite"


def deploy(phone: FakePhone, workdir: Path) -> None:
    deploy_to(phone, workdir, MODEL)


def bench(phone: FakePhone, flags: str, mask: str = "f0") -> Tuple[BenchmarkOutput, int]:
    text, rc = run_benchmark(phone, flags, mask)
    return parse_benchmark_output(text), rc


def shell(phone: FakePhone, script: str) -> subprocess.CompletedProcess:
    return phone.sandbox.adb("-s", phone.serial, "shell", script, check=False, timeout=60)


def proc_stat(phone: FakePhone) -> Dict[str, int]:
    """Busy ticks (user + system) per CPU from the phone's /proc/stat."""
    rows = [line.split() for line in shell(phone, "cat /proc/stat").stdout.splitlines() if line.startswith("cpu")]
    return {row[0]: int(row[1]) + int(row[3]) for row in rows}


def test_heats_while_running_and_cools_when_idle(make_phone, tmp_path) -> None:
    phone = make_phone(synthetic_us=2000, thermal={"cool_tau_s": 0.5})
    deploy(phone, tmp_path)
    idle = phone.temperatures()
    time.sleep(0.3)
    assert phone.temperatures() == idle  # an idle phone stays exactly at its resting values
    out, rc = bench(phone, LONG.format(secs=1.0))
    hot = phone.temperatures()
    assert rc == 0 and out.runs.count >= 1
    # 4 busy big cores at 1.5 °C/s each for ~1 s, cooling with tau 0.5 s: about +3 °C at equilibrium
    assert hot["cpu-1-7-usr"] > idle["cpu-1-7-usr"] + 1.0
    assert hot["cpu-0-0-usr"] - idle["cpu-0-0-usr"] < hot["cpu-1-7-usr"] - idle["cpu-1-7-usr"]  # less gain
    assert hot["battery"] >= idle["battery"]
    on_device = int(shell(phone, "cat /sys/class/thermal/thermal_zone2/temp").stdout) / 1000.0  # cpu-1-7-usr
    assert idle["cpu-1-7-usr"] < on_device <= hot["cpu-1-7-usr"]  # the device file follows, cooling already
    time.sleep(3.0)  # six time constants
    assert phone.temperatures()["cpu-1-7-usr"] == pytest.approx(idle["cpu-1-7-usr"], abs=0.05)


def test_sensor_files_written_by_hand(make_phone) -> None:
    phone = make_phone()
    zones = phone.root / "sys" / "class" / "thermal"
    (zones / "thermal_zone1" / "temp").write_text("52500\n")  # a number: the zone now rests there
    (zones / "thermal_zone0" / "temp").write_text("garbage\n")  # a broken sensor stays broken
    (zones / "thermal_zone3" / "temp").unlink()  # and a missing one stays missing
    assert shell(phone, "cat /sys/class/thermal/thermal_zone0/temp").stdout == "garbage\n"
    temps = phone.temperatures()
    assert temps["cpu-1-4-usr"] == 52.5 and "cpu-0-0-usr" not in temps and "gpuss-0-usr" not in temps
    assert not (zones / "thermal_zone3" / "temp").exists()
    listing = shell(phone, "ps -ef").stdout.splitlines()
    assert listing[0].split() == ["UID", "PID", "PPID", "TIME", "CMD"] and any(x.endswith("/system/bin/init second_stage") for x in listing)


def test_throttles_big_cores_and_slows_down(make_phone, tmp_path) -> None:
    phone = make_phone(synthetic_us=3000)
    deploy(phone, tmp_path)
    max_khz = phone.max_freqs()
    seen: Dict[int, int] = {}
    phone.set_temperatures({"cpu-1-7-usr": 60.0}, ambient=True)  # a phone already hot
    phone.set_thermal(throttle_c=45.0, throttle_slope=0.05, throttle_floor=0.5)

    def sample() -> None:
        time.sleep(0.6)
        seen.update(phone.cur_freqs())
    watcher = threading.Thread(target=sample)
    watcher.start()
    out, rc = bench(phone, LONG.format(secs=1.5), mask="f0")
    watcher.join()
    assert rc == 0
    # 60 °C is 15 °C over the threshold: 1 - 0.05 * 15 = 0.25, floored at 0.5 of the max frequency
    for cpu in (4, 5, 6, 7):
        assert seen[cpu] <= max_khz[cpu] * 0.5
    assert all(seen[cpu] == min_step for cpu, min_step in ((0, 300000), (1, 300000)))  # idle little cores
    # the synthetic time doubles at half frequency: sleeps can run long, never short
    assert out.runs.min >= 3000 * 2 * 0.85
    assert phone.cur_freqs()[7] == 825600  # idle again: lowest step of the prime core


def test_load_shows_in_proc_stat_and_loadavg(make_phone, tmp_path) -> None:
    phone = make_phone(synthetic_us=2000)
    deploy(phone, tmp_path)
    before = proc_stat(phone)
    load_before = phone.loadavg()
    out, rc = bench(phone, LONG.format(secs=1.0).replace("--num_threads=4", "--num_threads=1"), mask="80")
    after = proc_stat(phone)
    assert rc == 0
    assert after["cpu7"] - before["cpu7"] >= 80  # ~100 ticks a busy second (USER_HZ 100)
    assert after["cpu0"] - before["cpu0"] <= 20  # an idle little core: ~3 %
    assert after["cpu"] > before["cpu"]
    assert phone.loadavg()[0] > load_before[0]
    line = shell(phone, "cat /proc/loadavg").stdout.split()
    assert len(line) == 5 and "/" in line[3]


def test_benchmark_outlives_its_adb_client_and_can_be_killed(make_phone, tmp_path) -> None:
    phone = make_phone(synthetic_us=20000)
    deploy(phone, tmp_path)
    bystander = subprocess.Popen(["sleep", "30"])  # a host process the phone must not reach
    client = subprocess.Popen([phone.sandbox.adb_path, "-s", phone.serial, "shell",
                               f"taskset f0 {REMOTE}/benchmark_model --graph={REMOTE}/model.tflite --num_runs=500 "
                               "--min_secs=0 --warmup_min_secs=0 2>&1; echo done"],
                              env=phone.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in client.stdout:  # wait for the timed runs, which print nothing until they end
            if "at least 500 iterations" in line:
                break
        client.kill()  # what a host-side timeout does
        client.communicate(timeout=10)
        time.sleep(0.3)
        (pid,) = phone.running_benchmarks()  # still running on the phone
        listing = shell(phone, "ps -A -o PID,ARGS").stdout.splitlines()
        assert listing[0].split() == ["PID", "ARGS"]
        line = next(x for x in listing if x.split()[0] == str(pid))
        assert line.split()[1:3] == [f"{REMOTE}/benchmark_model", f"--graph={REMOTE}/model.tflite"]
        assert shell(phone, "pidof benchmark_model").stdout.split() == [str(pid)]
        refused = shell(phone, f"kill {bystander.pid}; echo rc=$?")
        assert "No such process" in refused.stderr and "rc=1" in refused.stdout and bystander.poll() is None
        assert "Operation not permitted" in shell(phone, "kill -9 1").stderr
        assert shell(phone, f"kill {pid}; echo rc=$?").stdout.strip() == "rc=0"
        deadline = time.monotonic() + 10
        while phone.running_benchmarks() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert phone.running_benchmarks() == []
        assert shell(phone, "pidof benchmark_model; echo rc=$?").stdout.strip() == "rc=1"
    finally:
        bystander.kill()
        bystander.wait()
        if client.poll() is None:
            client.kill()


def test_earlier_sessions_files_are_visible_and_removable(make_phone) -> None:
    phone = make_phone()
    phone.plant(f"{REMOTE}/ghostnet_100.fp32-1a2b3c4d.tflite", size=20_000_000)
    phone.plant(f"{REMOTE}/benchmark_model", b"\x7fELF", executable=True)
    listing = shell(phone, f"ls -la {REMOTE}").stdout
    assert "20000000" in listing and "ghostnet_100.fp32-1a2b3c4d.tflite" in listing
    assert phone.root.as_posix() not in listing  # device paths only
    refused = shell(phone, "rm -rf / /system /data/../..; echo rc=$?")
    assert refused.stdout.strip() == "rc=1" and (phone.root / "system" / "bin" / "taskset").exists()
    assert shell(phone, f"rm -rf {REMOTE}; echo rc=$?").stdout.strip() == "rc=0"
    assert phone.listdir() is None and phone.listdir("/data/local/tmp") == []


def test_three_phones_side_by_side_one_vanishes_mid_run(three_phones, tmp_path) -> None:
    for index, phone in enumerate(three_phones):
        deploy(phone, tmp_path / str(index))
    doomed = three_phones[1]
    doomed.vanish_after_runs(1, seconds_into_run=0.2)
    masks = {"sd855": "f0", "tensor_g1": "f0", "mt6833": "c0"}
    results: Dict[str, tuple] = {}

    def session(phone: FakePhone) -> None:
        outputs = []
        for _ in range(2):
            try:
                outputs.append(bench(phone, LONG.format(secs=0.5), mask=masks[phone.profile]))
            except ValueError as exc:  # no exit status: the phone went away mid-run
                outputs.append(exc)
        results[phone.profile] = tuple(outputs)
    threads = [threading.Thread(target=session, args=(p,)) for p in three_phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert doomed.vanished and not three_phones[0].vanished and not three_phones[2].vanished
    first, second = results["tensor_g1"]
    assert isinstance(first, tuple) and first[1] == 0 and not first[0].failed
    assert isinstance(second, ValueError) and "no exit status" in str(second)
    for name in ("sd855", "mt6833"):
        assert [rc for _, rc in results[name]] == [0, 0]
    assert [p.last_taskset_mask() for p in three_phones] == ["f0", "f0", "c0"]
    assert three_phones[0].temperatures() != three_phones[2].temperatures()  # each its own state
    assert doomed.running_benchmarks() == []
    listing = three_phones[0].sandbox.adb("devices").stdout
    assert doomed.serial not in listing or "offline" in listing


def test_unauthorized_phone_among_ready_ones(adb_sandbox) -> None:
    ready = adb_sandbox.add_phones(("sd855", "mt6737"))
    locked = adb_sandbox.add_phone(state="unauthorized")
    states = dict(line.split("\t") for line in adb_sandbox.adb("devices").stdout.splitlines()[1:] if "\t" in line)
    assert [states[p.serial] for p in ready] == ["device", "device"]
    assert states[locked.serial] in ("unauthorized", "authorizing")
