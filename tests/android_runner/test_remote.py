"""What ghostedge started or left on a phone (ps parsing, kill by pid, folder listing), the load
and frequency sampler, the frequency verdict, and choosing several devices (`--device S1 S2`, `all`)."""
from __future__ import annotations

import re
from typing import Dict, List

import pytest

from ghostedge.android_runner import AdbResult, AmbiguousDeviceError, DeviceUnauthorizedError, resolve_serials
from ghostedge.android_runner.remote import (PhoneSample, frequency_verdict, kill_started, list_folder, running_from,
                                             sampler_script, split_samples)
from ghostedge.errors import UsageError

PS = """PID ARGS
    1 init
  812 /system/bin/adbd --root_seclabel=u:r:su:s0
 4410 /system/bin/sh -c taskset f0 /data/local/tmp/ghostedge/benchmark_model --graph=/data/local/tmp/ghostedge/m.tflite
 4412 /data/local/tmp/ghostedge/benchmark_model --graph=/data/local/tmp/ghostedge/m.tflite --num_threads=4
 5000 /data/local/tmp/ghostedgeX/other --x
 5001 /data/local/tmp/other/benchmark_model
"""


class Shell:
    """An Adb stand-in answering shell commands by regular expression."""

    serial = "STUB"

    def __init__(self, answers: Dict[str, str]) -> None:
        self.answers = answers
        self.commands: List[str] = []

    def shell(self, argv, timeout=None, check=True) -> AdbResult:
        return self.shell_script(" ".join(argv), timeout, check)

    def shell_script(self, script, timeout=None, check=True) -> AdbResult:
        self.commands.append(script)
        for pattern, out in self.answers.items():
            if re.search(pattern, script):
                return AdbResult(out, "", 0)
        return AdbResult("", "", 0)


def test_only_processes_started_from_the_folder_are_found_and_killed():
    adb = Shell({r"^ps ": PS})
    assert running_from(adb, "/data/local/tmp/ghostedge") == {
        4412: "/data/local/tmp/ghostedge/benchmark_model --graph=/data/local/tmp/ghostedge/m.tflite --num_threads=4"}
    assert kill_started(adb, "/data/local/tmp/ghostedge/") == [4412]
    assert "kill -9 4412" in adb.commands


def test_folder_listing_with_sizes():
    adb = Shell({r"GEFILE": "GEFILE 20481000 ghostnet_100.fp32.tflite\nGEFILE - .sampling-1\nnoise\n"})
    assert list_folder(adb, "/data/local/tmp/ghostedge") == {"ghostnet_100.fp32.tflite": 20481000,
                                                             ".sampling-1": None}


def test_sampler_lines_are_split_from_the_output():
    text = ("INFO: STARTING!\nGHOSTEDGE_SAMPLE 0.40 0.30 0.20 1/90 123 | 710400 2419200\n"
            "INFO: count=5 first=1\nGHOSTEDGE_SAMPLE 1.10 0.40 0.20 2/91 124 | 1708800\n")
    rest, samples = split_samples(text, [4, 7])
    assert rest == "INFO: STARTING!\nINFO: count=5 first=1\n"
    assert samples[0] == PhoneSample(0.4, {4: 710400, 7: 2419200})
    assert samples[1] == PhoneSample(1.1, {})   # a core's file was unreadable: no frequencies that time


def test_sampler_script_is_bounded_and_quoted():
    script = sampler_script([4, 7], "/data/local/tmp/ghostedge/.sampling-ab", 40)
    assert script.startswith("( n=0; while [ -e /data/local/tmp/ghostedge/.sampling-ab ] && [ $n -lt 40 ]")
    assert "/sys/devices/system/cpu/cpu7/cpufreq/scaling_cur_freq" in script and script.endswith(") &")


def test_frequency_verdict_by_hand():
    max_khz = {6: 2000000, 7: 2500000}
    min_khz = {6: 500000, 7: 500000}
    idle = PhoneSample(0.4, {6: 500000, 7: 500000})          # benchmark not started: left out
    full = PhoneSample(1.0, {6: 500000, 7: 2500000})         # reach 1.0 (core 7)
    capped = PhoneSample(1.2, {6: 500000, 7: 2000000})       # reach 0.8
    assert frequency_verdict([idle, full, full, capped], max_khz, min_khz) == {
        "samples": 4, "busy_samples": 3, "reach_median": 1.0, "reach_min": 0.8, "throttled": False}
    hot = frequency_verdict([idle, capped, capped, full], max_khz, min_khz)
    assert hot["reach_median"] == 0.8 and hot["throttled"] is True
    even = frequency_verdict([capped, full], max_khz, min_khz)
    assert even["reach_median"] == 0.9 and even["throttled"] is True
    assert frequency_verdict([idle], max_khz, min_khz)["throttled"] is None


def listing(*lines: str) -> Dict:
    return {"devices": {"stdout": "List of devices attached\n" + "".join(l + "\n" for l in lines) + "\n"}}


def test_device_all_skips_unready_and_refuses_none(fake_adb):
    fake_adb.set(**listing("AAA\tdevice transport_id:1", "BBB\tunauthorized transport_id:2",
                           "CCC\tdevice transport_id:3"))
    choice = resolve_serials(["all"])
    assert choice.serials == ["AAA", "CCC"] and choice.skipped == ["BBB is unauthorized: skipped"]
    fake_adb.set(**listing("BBB\tunauthorized transport_id:2"))
    with pytest.raises(AmbiguousDeviceError, match="No ready device for --device all.*BBB"):
        resolve_serials(["all"])
    fake_adb.set(**listing())
    with pytest.raises(AmbiguousDeviceError, match="adb lists: none"):
        resolve_serials(["all"])


def test_named_devices(fake_adb):
    fake_adb.set(**listing("AAA\tdevice transport_id:1", "BBB\tunauthorized transport_id:2"))
    choice = resolve_serials(["AAA", "BBB"])
    assert choice.serials == ["AAA"] and choice.unusable[0][0] == "BBB"
    assert isinstance(choice.unusable[0][1], DeviceUnauthorizedError)
    with pytest.raises(DeviceUnauthorizedError):
        resolve_serials(["BBB"])           # alone: its own error
    with pytest.raises(UsageError, match="names AAA twice"):
        resolve_serials(["AAA", "AAA"])
    with pytest.raises(UsageError, match="cannot be combined"):
        resolve_serials(["all", "AAA"])
