"""run_benchmark_model's verdicts on what the phone printed, with a scripted adb (no phone):
success, each failure class, and output without the end marker."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import pytest

from ghostedge.android_runner import AdbResult, AdbTimeoutError, DeviceVanishedError, run_benchmark_model
from ghostedge.errors import BenchmarkError, DeviceError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"
BIN = "/data/local/tmp/ghostedge/benchmark_model"
MODEL = "/data/local/tmp/ghostedge/model.tflite"


class PhoneSays:
    """An Adb stand-in: answers the benchmark command with ``text`` and then the end marker
    carrying ``rc`` (no marker when ``rc`` is None, as when the phone vanishes)."""

    serial = "STUB"

    def __init__(self, text: str, rc: Optional[int] = 0, alive: bool = True) -> None:
        self.text, self.rc, self.alive = text, rc, alive
        self.ps = "PID ARGS\n"
        self.commands: List[List[str]] = []

    def run(self, args, timeout=None, check=True) -> AdbResult:
        self.commands.append(list(args))
        marker = re.search(r"echo (GHOSTEDGE_END_\w+) rc=\$(?:\?|rc)$", args[-1]).group(1)
        out = self.text + (f"{marker} rc={self.rc}\n" if self.rc is not None else "")
        return AdbResult(out, "", 0, ["adb", "-s", "STUB", *args])

    def shell(self, argv, timeout=None, check=True) -> AdbResult:   # ps / kill / rm after a timeout
        self.commands.append(["shell", " ".join(argv)])
        return AdbResult(self.ps if argv[:1] == ["ps"] else "", "", 0)

    def get_state(self, timeout=None) -> str:
        if not self.alive:
            raise DeviceError("device 'STUB' not found", "gone")
        return "device"


def test_success_parses_and_quotes_the_command() -> None:
    phone = PhoneSays((FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text())
    out = run_benchmark_model(phone, BIN, MODEL, 4, "f0", warmup_runs=5, num_runs=50)  # type: ignore[arg-type]
    assert out.exit_code == 0 and out.avg_us == pytest.approx(13331.4) and out.runs.median == 13289
    script = phone.commands[0][1]
    assert phone.commands[0][0] == "shell"
    assert script.startswith(f"taskset f0 {BIN} --graph={MODEL} --num_threads=4 --warmup_runs=5 --num_runs=50 2>&1; echo ")
    assert "GHOSTEDGE_END_" not in out.raw


def test_model_path_with_spaces_is_quoted() -> None:
    phone = PhoneSays((FIXTURES / "10_fake_benchmark_model_emulator_output.txt").read_text())
    run_benchmark_model(phone, BIN, "/data/local/tmp/ghostedge/a b;reboot.tflite", 1, None)  # type: ignore[arg-type]
    assert "'--graph=/data/local/tmp/ghostedge/a b;reboot.tflite'" in phone.commands[0][1]


@pytest.mark.parametrize("text, rc, words", [
    ((FIXTURES / "07_failure_nnapi_delegate.txt").read_text(), 1, "delegate"),
    ((FIXTURES / "08_failure_missing_model_fake.txt").read_text(), 1, "cannot open"),
    ("Segmentation fault\n", 139, "SIGSEGV"),
    ("Aborted\n", 134, "SIGABRT"),
    (f"/system/bin/sh: {BIN}: can't execute: Permission denied\n", 126, "Permission denied"),
    (f"/system/bin/sh: {BIN}: inaccessible or not found\n", 127, "not found on the phone"),
    (f"/system/bin/sh: {BIN}: not executable: 64-bit ELF file\n", 126, "ABI"),
    (f'CANNOT LINK EXECUTABLE "{BIN}": library "libnnapi.so" not found\n', 1, "cannot start"),
    ("/system/bin/sh: taskset: inaccessible or not found\n", 127, "--affinity none"),
    ("taskset: sched_setaffinity: Invalid argument\n", 1, "taskset could not pin"),
    ((FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text(), 3, "exit code 3"),
    ("INFO: STARTING!\nINFO: Loaded model x\n", 0, "failed"),  # exit 0 but no timings
])
def test_failures_are_explained(text: str, rc: int, words: str) -> None:
    with pytest.raises(BenchmarkError) as info:
        run_benchmark_model(PhoneSays(text, rc), BIN, MODEL, 1, "80")  # type: ignore[arg-type]
    assert words in str(info.value)
    assert info.value.fix


def test_missing_end_marker() -> None:
    half = (FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text()[:600]
    with pytest.raises(DeviceVanishedError) as info:
        run_benchmark_model(PhoneSays(half, None, alive=False), BIN, MODEL, 1, "80")  # type: ignore[arg-type]
    assert "vanished" in str(info.value)
    with pytest.raises(BenchmarkError, match="incomplete"):
        run_benchmark_model(PhoneSays(half, None, alive=True), BIN, MODEL, 1, "80")  # type: ignore[arg-type]


def test_delegate_failure_gives_advice_that_exists() -> None:
    """bench passes no delegate flag: the advice names the binary, not a flag to drop."""
    text = (FIXTURES / "07_failure_nnapi_delegate.txt").read_text()
    with pytest.raises(BenchmarkError) as info:
        run_benchmark_model(PhoneSays(text, 1), BIN, MODEL, 1, "80")  # type: ignore[arg-type]
    assert "Drop the delegate flag" not in str(info.value)
    assert "--benchmark-binary" in info.value.fix and "default" in info.value.fix


def test_timeout_message_counts_singular_runs() -> None:
    class Slow(PhoneSays):
        def run(self, argv, timeout=None, check=True):  # type: ignore[override]
            raise AdbTimeoutError(argv, "INFO: STARTING!\n", "", None, "SER", what="t", why="t", fix="t")

    with pytest.raises(AdbTimeoutError) as info:
        run_benchmark_model(Slow(""), BIN, MODEL, 1, None, warmup_runs=0, num_runs=1)  # type: ignore[arg-type]
    assert "with 1 thread, 1 run;" in str(info.value)


def test_timeout_kills_the_run_on_the_phone_by_pid() -> None:
    class Slow(PhoneSays):
        def run(self, argv, timeout=None, check=True):  # type: ignore[override]
            raise AdbTimeoutError(argv, "INFO: STARTING!\n", "", None, "SER", what="t", why="t", fix="t")

    phone = Slow("")
    phone.ps = f"PID ARGS\n 77 /system/bin/sh -c taskset 80 {BIN}\n 78 {BIN} --graph={MODEL}\n"
    with pytest.raises(AdbTimeoutError) as info:
        run_benchmark_model(phone, BIN, MODEL, 1, "80", timeout=5)  # type: ignore[arg-type]
    assert "killed on the phone: pid 78" in str(info.value)
    assert ["shell", "kill -9 78"] in phone.commands


def test_sampling_wraps_the_command_and_is_stripped_from_the_output() -> None:
    text = (FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text()
    text = "GHOSTEDGE_SAMPLE 1.50 1.0 0.5 2/80 9 | 2419200 2841600\n" + text
    phone = PhoneSays(text)
    out = run_benchmark_model(phone, BIN, MODEL, 4, "f0", sample_cpus=[6, 7])  # type: ignore[arg-type]
    assert out.samples == [{"load1": 1.5, "cur_khz": {"6": 2419200, "7": 2841600}}]
    assert "GHOSTEDGE_SAMPLE" not in out.raw and out.avg_us == pytest.approx(13331.4)
    script = phone.commands[0][1]
    assert script.startswith(": > /data/local/tmp/ghostedge/.sampling-") and "2>&1; rc=$?; rm -f" in script


@pytest.mark.parametrize("fixture, delegate, required, words, kind", [
    ("15_failure_gpu_delegate.txt", "gpu", ["--use_gpu=true"], "GPU delegate failed: OpenCL library not loaded",
     "delegate"),
    ("07_failure_nnapi_delegate.txt", "nnapi", ["--use_nnapi=true"], "NNAPI delegate failed", "delegate"),
    ("13_unknown_flag.txt", "cpu", ["--xnnpack_force_fp16=true"],
     "benchmark_model does not know --xnnpack_force_fp16", "unknown_flag"),
])
def test_cell_failures(fixture, delegate, required, words, kind) -> None:
    from ghostedge.android_runner import CellFailure

    text = (FIXTURES / fixture).read_text()
    rc = 1 if "failure" in fixture else 0
    with pytest.raises(CellFailure) as info:
        run_benchmark_model(PhoneSays(text, rc), BIN, MODEL, 1, "80", delegate=delegate,  # type: ignore[arg-type]
                            required_flags=required)
    assert words in info.value.reason and info.value.kind == kind


def test_delegate_that_takes_nothing_is_not_a_cpu_figure() -> None:
    from ghostedge.android_runner import CellFailure

    text = (FIXTURES / "04_tf2.16plus_android_info_prefix_percentiles.txt").read_text().replace(
        "INFO: STARTING!", "INFO: STARTING!\nINFO: Though GPU delegate is explicitly applied, the model graph "
        "will not be executed by the delegate.", 1)
    with pytest.raises(CellFailure, match="took no operator"):
        run_benchmark_model(PhoneSays(text), BIN, MODEL, 1, "80", delegate="gpu")  # type: ignore[arg-type]


def test_refused_flag_value_is_an_error() -> None:
    text = (FIXTURES / "14_bad_flag_value.txt").read_text()
    with pytest.raises(BenchmarkError, match="refused a flag"):
        run_benchmark_model(PhoneSays(text, 1), BIN, MODEL, 1, "80")  # type: ignore[arg-type]
