"""The fake phone's benchmark_model, through the real adb client: versions (percentiles), flags as
the real parser takes them, GPU/NNAPI delegates, op profiles that follow the model, peak memory.
ghostedge's parsers read everything it prints."""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

from fakephone.fake_op_profile import model_ops
from fakephone.fixtures import adb_sandbox, make_phone  # noqa: F401,F811  (fixtures)
from fakephone.harness import FakePhone
from fakephone.phone_bench import REMOTE, deploy as deploy_to, run_benchmark
from ghostedge.android_runner.op_profile import parse_op_profile
from ghostedge.android_runner.parse import BenchmarkOutput, parse_benchmark_output

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[1] / "data"
MODEL = DATA / "device_bench" / "tiny_conv.fp32.tflite"
QUICK = "--num_threads=2 --warmup_runs=1 --num_runs=5 --min_secs=0 --warmup_min_secs=0"


def deploy(phone: FakePhone, tmp_path: Path, model: Path = MODEL) -> None:
    deploy_to(phone, tmp_path, model)


def bench(phone: FakePhone, flags: str, mask: str = "f0") -> Tuple[BenchmarkOutput, int]:
    """Run benchmark_model on the phone and parse its output; also returns the exit status."""
    text, rc = run_benchmark(phone, flags, mask)
    return parse_benchmark_output(text), rc


@pytest.fixture()
def phone(make_phone, tmp_path) -> FakePhone:
    made = make_phone(synthetic_us=2000)
    deploy(made, tmp_path)
    return made


def test_new_version_prints_percentiles_old_does_not(phone) -> None:
    new, rc = bench(phone, QUICK)
    assert rc == 0 and not new.failed and new.error_lines == []
    assert new.runs.count == 5 and new.runs.median is not None and new.runs.p5 <= new.runs.median <= new.runs.p95
    assert "INFO: Signature to run: []" in new.raw
    phone.set_benchmark(version="old")
    old, rc = bench(phone, QUICK)
    assert rc == 0 and old.runs.count == 5 and old.runs.median is None and old.runs.p95 is None
    assert "\nSTARTING!" in "\n" + old.raw and "INFO: STARTING!" not in old.raw
    assert old.median_us == old.avg_us  # falls back to the average without percentiles


def test_flags_as_the_real_parser_takes_them(phone) -> None:
    out, rc = bench(phone, QUICK + " --max_secs=30 --xnnpack_force_fp16=true --report_peak_memory_footprint=true")
    assert rc == 0 and out.unconsumed_flags == [] and out.memory["peak_periodic_mb"] > 0
    assert "end_vmrss_mb" in out.memory and "INFO: xnnpack_force_fp16: [1]" in out.raw
    # unknown, without "=", repeated: unconsumed, warned, and the run goes on (exit 0)
    out, rc = bench(phone, QUICK + " --use_magic=true --enable_op_profiling --num_runs=7")
    assert rc == 0 and out.runs.count == 5
    assert out.unconsumed_flags == ["--use_magic=true", "--enable_op_profiling", "--num_runs=7"]
    phone.set_benchmark(version="old")  # older builds do not know --xnnpack_force_fp16
    assert bench(phone, QUICK + " --xnnpack_force_fp16=true")[0].unconsumed_flags == ["--xnnpack_force_fp16=true"]
    phone.set_benchmark(unknown_flags="ignore")  # TF 1.x: silently ignored
    out, rc = bench(phone, QUICK + " --use_magic=true")
    assert rc == 0 and out.unconsumed_flags == []
    phone.set_benchmark(unknown_flags="error")
    out, rc = bench(phone, QUICK + " --use_magic=true")
    assert rc == 1 and out.failed
    # a known flag with a value it cannot parse: usage, "Benchmarking failed.", exit 1
    phone.set_benchmark(version="new", unknown_flags="warn")
    out, rc = bench(phone, QUICK + " --use_gpu=yes")
    assert rc == 1 and out.flag_errors == ["Failed to parse flag 'use_gpu' against argv '--use_gpu=yes'"]


@pytest.mark.parametrize("setting, rc, delegates, failure", [
    ({"gpu": "ok"}, 0, [("GPU", "full")], None),
    ({"gpu": "fail"}, 1, [("GPU", "failed")], "GPU"),
    ({"gpu": "none"}, 0, [("GPU", "none"), ("XNNPACK", "full")], None),
    ({"gpu": "absent"}, 0, [("XNNPACK", "full")], None),
])
def test_gpu_delegate_outcomes(phone, setting, rc, delegates, failure) -> None:
    phone.set_benchmark(**setting)
    out, code = bench(phone, QUICK + " --use_gpu=true")
    assert code == rc and out.failed == bool(rc)
    assert [(d.name, d.status) for d in out.delegates] == delegates
    assert (out.delegate_failure.delegate if out.delegate_failure else None) == failure
    if failure:
        assert out.error_lines[-1] == "Benchmarking failed." and "Failed to apply GPU delegate." in out.error_lines
    if setting["gpu"] == "absent":  # the binary does not know the flag: a plain CPU run
        assert out.unconsumed_flags == ["--use_gpu=true"]


def test_nnapi_partial_and_failure(phone, tmp_path) -> None:
    deploy(phone, tmp_path, DATA / "device_bench" / "tiny_conv.int8.tflite")
    phone.set_benchmark(nnapi="partial")
    out, rc = bench(phone, QUICK + " --use_nnapi=true --enable_op_profiling=true")
    assert rc == 0 and [(d.name, d.status) for d in out.delegates] == [("NNAPI", "partial")]
    kernels = out.delegates[0].kernels
    prof = parse_op_profile(out.raw)
    assert prof.form == "delegate_node" and len(prof.delegate_nodes) == kernels >= 1
    assert any(not r.is_delegate_kernel for r in prof.operators)  # what NNAPI left to the CPU
    phone.set_benchmark(nnapi="fail")
    out, rc = bench(phone, QUICK + " --use_nnapi=true")
    assert rc == 1 and out.delegate_failure.delegate == "NNAPI"
    assert "ANEURALNETWORKS_BAD_DATA" in out.delegate_failure.reason


def expected_rows(model: Path) -> List[str]:
    """XNNPACK operator rows the fake should print for ``model``, in order (fake_op_profile's mapping)."""
    names = []
    for op in model_ops(str(model)):
        names += op["xnn"] if op["xnn"] is not None else [op["type"]]
    return names


def test_op_profile_follows_the_model(phone) -> None:
    out, rc = bench(phone, QUICK + " --enable_op_profiling=true")
    prof = parse_op_profile(out.raw)
    assert rc == 0 and out.has_op_profile and prof.form == "per_operator"
    assert [r.node_type for r in prof.operators] == expected_rows(MODEL)
    assert [r.index for r in prof.operators] == list(range(len(prof.operators)))
    assert prof.primary.timings_us["count"] == out.runs.count  # every timed run is profiled
    assert sum(r.per_run_ms for r in prof.operators) == pytest.approx(prof.total_ms, abs=0.0005 * len(prof.operators))
    # the operators share the measured runs: 98.5 % of each run, per-op noise of 2 %
    assert 0.9 < prof.total_ms * 1000 / out.avg_us <= 1.0
    assert [t.run_order[0].node_type for t in prof.init] == ["ModifyGraphWithDelegate"]
    phone.set_benchmark(version="old")
    old = parse_op_profile(bench(phone, QUICK + " --enable_op_profiling=true")[0].raw)
    assert old.form == "delegate_node" and [r.node_type for r in old.operators] == ["TfLiteXNNPackDelegate"]
    cpu = parse_op_profile(bench(phone, QUICK + " --enable_op_profiling=true --use_xnnpack=false")[0].raw)
    assert cpu.form == "no_delegate" and [r.index for r in cpu.operators] == list(range(len(model_ops(str(MODEL)))))


def test_missing_model_and_crash(phone) -> None:
    out, rc = bench(phone, QUICK.replace("--num_threads=2", "--num_threads=1") + f" --graph={REMOTE}/nope.tflite")
    assert rc == 0 and out.runs.count == 5  # the first --graph (the model) wins; the second is unconsumed
    assert out.unconsumed_flags == [f"--graph={REMOTE}/nope.tflite"]
    phone.set_benchmark(fail="missing")
    out, rc = bench(phone, QUICK)
    assert rc == 1 and out.error_lines[-1] == "Benchmarking failed."
    phone.set_benchmark(fail="crash")
    assert bench(phone, QUICK)[1] == 139
