"""Device facts, temperatures and affinity masks parsed from scripted device output; the
benchmark command line; deployment guards."""
from __future__ import annotations

import json
from typing import Dict, List

import pytest

from ghostedge.android_runner import (
    Adb, DeviceFacts, Deployment, affinity_mask, benchmark_command, read_device_facts,
    read_temperatures)
from ghostedge.android_runner.facts import FACTS_SCRIPT, clusters_from_freqs
from ghostedge.errors import BenchmarkError, DeviceError, UsageError


# ---- facts, temperatures, affinity --------------------------------------------------------

class ScriptedAdb:
    """Stands in for Adb in functions that only call ``shell_script``."""

    serial = "STUB"

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout
        self.scripts: List[str] = []

    def shell_script(self, script: str, timeout=None, check=True):
        from ghostedge.android_runner import AdbResult

        self.scripts.append(script)
        return AdbResult(self.stdout, "", 0, ["adb", "shell", script])


def facts_for(freqs: Dict[int, int]) -> DeviceFacts:
    return DeviceFacts(serial="S", cpu_max_khz=freqs, clusters=clusters_from_freqs(freqs))


def test_read_device_facts_parses_one_round_trip() -> None:
    freqs = "".join(f"/sys/devices/system/cpu/cpu{c}/cpufreq/cpuinfo_max_freq:{k}\n" for c, k in
                    [(0, 1785600), (1, 1785600), (10, 1785600), (4, 2419200), (7, 2841600)])
    text = ("[ro.product.model]: [Pixel 4]\n[ro.board.platform]: [msmnile]\n[ro.build.version.sdk]: [33]\n"
            "[ro.product.cpu.abi]: [arm64-v8a]\n[ro.build.version.release]: [13]\n"
            "@@GHOSTEDGE@@\n" + freqs + "@@GHOSTEDGE@@\nHardware\t: Qualcomm Technologies, Inc SM8150\n"
            "@@GHOSTEDGE@@\n0-7\n")
    stub = ScriptedAdb(text)
    facts = read_device_facts(stub)  # type: ignore[arg-type]
    assert stub.scripts == [FACTS_SCRIPT]
    assert (facts.model, facts.platform, facts.sdk, facts.abi, facts.release) == ("Pixel 4", "msmnile", 33,
                                                                                 "arm64-v8a", "13")
    assert facts.cpu_max_khz[10] == 1785600
    assert facts.clusters[0] == {"cpus": [0, 1, 10], "max_khz": 1785600}
    assert facts.clusters[-1] == {"cpus": [7], "max_khz": 2841600}
    assert facts.is_sd855 and facts.soc == "SM8150"
    assert json.loads(json.dumps(facts.to_dict()))["cpu_max_khz"]["7"] == 2841600


def test_read_device_facts_not_sd855() -> None:
    text = ("[ro.board.platform]: [gs101]\n[ro.soc.model]: [GS101]\n@@GHOSTEDGE@@\n@@GHOSTEDGE@@\n@@GHOSTEDGE@@\n")
    facts = read_device_facts(ScriptedAdb(text))  # type: ignore[arg-type]
    assert not facts.is_sd855 and facts.soc == "GS101" and facts.clusters == []
    with pytest.raises(DeviceError):
        read_device_facts(ScriptedAdb("@@GHOSTEDGE@@\n"))  # type: ignore[arg-type]


def test_read_temperatures_units_and_names() -> None:
    text = ("battery=310\nzone 0 cpu-0-0-usr=36100\nzone 1 battery=31000\nzone 2 skin=41\n"
            "zone 3 pa-therm=452\nzone 4 broken=\nzone 5 cpu-0-0-usr=-273000\nzone 6 =35000\n")
    temps = read_temperatures(ScriptedAdb(text))  # type: ignore[arg-type]
    assert temps == {"battery": 31.0, "cpu-0-0-usr": 36.1, "battery#zone1": 31.0, "skin": 41.0,
                     "pa-therm": 45.2, "thermal_zone6": 35.0}
    assert read_temperatures(ScriptedAdb("temperature: 287\n")) == {"battery": 28.7}  # type: ignore[arg-type]


SD855 = {**{c: 1785600 for c in range(4)}, **{c: 2419200 for c in range(4, 7)}, 7: 2841600}
TENSOR = {**{c: 1803000 for c in range(4)}, 4: 2253000, 5: 2253000, 6: 2802000, 7: 2802000}
MT6833 = {**{c: 2000000 for c in range(6)}, 6: 2200000, 7: 2200000}
UNIFORM = {c: 1250000 for c in range(4)}


@pytest.mark.parametrize("freqs, policy, mask, cpus", [
    (SD855, "big", "f0", [4, 5, 6, 7]), (SD855, "prime", "80", [7]), (SD855, "all", "ff", list(range(8))),
    (TENSOR, "big", "f0", [4, 5, 6, 7]), (TENSOR, "prime", "40", [6]),
    (MT6833, "big", "c0", [6, 7]), (MT6833, "prime", "40", [6]),
    (UNIFORM, "big", "f", [0, 1, 2, 3]), (UNIFORM, "prime", "1", [0]),
    (SD855, "0x30", "30", [4, 5]), (SD855, "F0", "f0", [4, 5, 6, 7]),
])
def test_affinity_masks_come_from_the_clusters(freqs, policy, mask, cpus) -> None:
    assert affinity_mask(facts_for(freqs), policy) == (mask, cpus)


def test_affinity_none_and_bad_masks() -> None:
    facts = facts_for(SD855)
    assert affinity_mask(facts, "none") == (None, list(range(8)))
    with pytest.raises(DeviceError) as info:
        affinity_mask(facts, "100")
    assert "[8]" in str(info.value)
    with pytest.raises(UsageError):
        affinity_mask(facts, "0")
    with pytest.raises(UsageError):
        affinity_mask(facts, "fast")
    with pytest.raises(DeviceError):
        affinity_mask(facts_for({}), "big")


# ---- command line, deployment guards --------------------------------------------------------

def test_benchmark_command() -> None:
    argv = benchmark_command("/data/local/tmp/ghostedge/benchmark_model", "/data/local/tmp/ghostedge/m.tflite",
                             4, "f0", warmup_runs=3, num_runs=20, min_secs=0.0,
                             extra_flags=["--use_xnnpack=true"])
    assert argv == ["taskset", "f0", "/data/local/tmp/ghostedge/benchmark_model",
                    "--graph=/data/local/tmp/ghostedge/m.tflite", "--num_threads=4", "--warmup_runs=3",
                    "--num_runs=20", "--min_secs=0", "--use_xnnpack=true"]
    assert benchmark_command("b", "m", 1, None)[:2] == ["b", "--graph=m"]
    with pytest.raises(BenchmarkError):
        benchmark_command("b", "m", 1, "0xf0")


def test_deployment_refuses_noexec_and_relative_folders(fake_adb) -> None:
    adb = Adb("X")
    for folder in ("/sdcard/ghostedge", "/storage/emulated/0/x", "data/local/tmp"):
        with pytest.raises(UsageError):
            Deployment(adb, remote_dir=folder)
    assert fake_adb.calls() == []
