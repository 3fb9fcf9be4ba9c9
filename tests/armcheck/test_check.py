"""check_models end to end with the fake runtime (the guest runs on the host's LiteRT, so "ARM"
equals x86 unless a test makes it differ): verdicts, failures caught with clear messages, the
report's arm64 section, and the CLI's table, --json and exit code."""
from __future__ import annotations

import json
import shutil

import pytest

from armcheck.fakes import TINY, fake_runtime
from ghostedge.armcheck import check as check_mod
from ghostedge.armcheck import runner
from ghostedge.errors import GhostEdgeError
from ghostedge.model_report import ModelReport, load_report

FAST = dict(cores=["cortex-a76"], threads=[1], runtimes=["litert"], force_fp16=False, random_inputs=1)


@pytest.fixture()
def fake(tmp_path, monkeypatch):
    rt = fake_runtime(tmp_path / "runtime")
    calls = []

    def prepare(arch, cache_dir=None, sources=None):
        calls.append(arch)
        return rt

    monkeypatch.setattr(check_mod, "prepare_runtime", prepare)
    return calls


@pytest.fixture()
def perturbing_guest(monkeypatch):
    """Runs the test guest, which changes outputs of tasks marked "perturb"."""
    from pathlib import Path

    monkeypatch.setattr(runner, "GUEST_SCRIPT", Path(__file__).with_name("fake_guest.py"))

    def perturb(amount):
        real = check_mod.plan_tasks

        def tasks(*args, **kwargs):
            out = real(*args, **kwargs)
            for t in out:
                if t["mode"] == "default":
                    t["perturb"] = amount
            return out

        monkeypatch.setattr(check_mod, "plan_tasks", tasks)

    return perturb


def test_identical_runs_pass_with_a_full_table(fake):
    res = check_mod.check_models([TINY["fp32"], TINY["int8"]], cores=["cortex-a76", "cortex-a53"],
                                 threads=[1, 2], update_reports=False, random_inputs=2)
    assert res.passed and fake == ["arm64"]
    fp32, int8 = res.models
    assert fp32.precision == "fp32" and int8.precision == "int8"
    assert int8.rule.startswith("INT8 outputs identical, or at most 1")
    litert = [r for r in fp32.rows if r.runtime.startswith("LiteRT") and r.mode == "default"]
    assert [(r.core, r.threads) for r in litert] == [("cortex-a76", 1), ("cortex-a76", 2),
                                                      ("cortex-a53", 1), ("cortex-a53", 2)]
    assert all(r.passed and r.max_abs_diff == 0 and r.top5_agree == r.samples == 7 for r in litert)
    assert all(r.int8["differing"] == 0 for r in int8.rows if r.runtime.startswith("LiteRT"))
    # the host's LiteRT has no XNNPACK C API: the forced-FP16 run is reported, never a failure
    fp16_rows = [r for r in fp32.rows if r.mode == "xnnpack-fp16"]
    assert len(fp16_rows) == 2 and all(r.passed is None and not r.load_ok for r in fp16_rows)
    assert not [r for r in int8.rows if r.mode == "xnnpack-fp16"]  # not for INT8 models
    text = res.render()
    assert "core        threads  runtime" in text and "INT8 steps" in text
    assert "XNNPACK on ARM: 5/5 ops in XNNPACK (x86: 5/5 ops in XNNPACK)" in text
    assert "arm64 check PASSED" in text and "total wall time" in text
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["schema"] == "ghostedge.armcheck/1" and doc["passed"] is True
    assert doc["models"][1]["rows"][0]["int8"]["max_steps"] == 0


def test_an_arm_build_that_computes_otherwise_fails(fake, perturbing_guest):
    perturbing_guest(5e-5)
    res = check_mod.check_models([TINY["fp32"]], update_reports=False, **FAST)
    m = res.models[0]
    assert not res.passed and not m.passed and m.rows[0].passed is False
    assert "max abs difference of probabilities 5e-05 > 1e-05" in m.problems[0]
    loose = check_mod.check_models([TINY["fp32"]], update_reports=False, tolerance=1e-3, **FAST)
    assert loose.passed and loose.models[0].rows[0].max_abs_diff == pytest.approx(5e-5)


def test_int8_differences_are_counted_in_steps_and_fail(fake, perturbing_guest):
    perturbing_guest(3)
    res = check_mod.check_models([TINY["int8"]], update_reports=False, **FAST)
    row = res.models[0].rows[0]
    assert row.int8["differing"] == 1 and row.int8["max_steps"] == 3  # the test guest moves one value
    listed = row.int8["listed"][0]
    assert (listed["input"], listed["index"], listed["steps"]) == ("astronaut.png", 1, 3)
    assert listed["arm"] - listed["reference"] in (3, 3 - 256)  # uint8 wraps
    assert "differ from x86, by up to 3 quantization step(s) (at most 1 allowed)" in res.models[0].problems[0]


def test_int8_one_step_passes_with_a_note_unless_strict(fake, perturbing_guest):
    perturbing_guest(1)
    res = check_mod.check_models([TINY["int8"]], update_reports=False, **FAST)
    assert res.passed and not res.models[0].rows[0].identical
    assert "1 of 120 values 1 step from x86 (astronaut.png)" in res.models[0].notes[0]
    strict = check_mod.check_models([TINY["int8"]], update_reports=False, int8_max_steps=0, **FAST)
    assert not strict.passed and "INT8 must be bit-exact" in strict.models[0].problems[0]
    assert strict.models[0].rule == "bit-exact outputs (INT8)"


def test_tflite_runtime_differences_are_reported_not_failed(fake):
    res = check_mod.check_models([TINY["int8"]], cores=["cortex-a76"], threads=[1], random_inputs=1,
                                 update_reports=False)
    rows = {r.runtime.split()[0]: r for r in res.models[0].rows}
    assert rows["tflite-runtime"].role == "reported" and rows["tflite-runtime"].passed is None
    assert res.passed


def test_a_model_with_an_op_the_runtime_lacks_fails_naming_it(fake):
    res = check_mod.check_models([TINY["custom_op"]], update_reports=False, **FAST)
    m = res.models[0]
    assert not res.passed and m.custom_ops == ["GhostEdgeNoSuchOp"]
    assert m.problems[0].startswith("ARM LiteRT")
    assert "Encountered unresolved custom op: GhostEdgeNoSuchOp" in m.problems[0]
    assert "custom op(s) GhostEdgeNoSuchOp" in m.problems[0]


def test_invalid_files_are_refused_before_any_setup(fake, tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x18\x00\x00\x00TFL3" + b"\x00" * 8)  # right identifier, cut short
    with pytest.raises(GhostEdgeError):
        check_mod.check_models([bad], **FAST)
    with pytest.raises(GhostEdgeError, match="does not exist"):
        check_mod.check_models([tmp_path / "missing.tflite"], **FAST)
    assert fake == []


def test_bad_options_are_clear(fake):
    with pytest.raises(GhostEdgeError, match="Invalid thread count 0"):
        check_mod.check_models([TINY["fp32"]], threads=[0])
    with pytest.raises(GhostEdgeError, match="Runtime litert is not available for armv7"):
        check_mod.check_models([TINY["fp32"]], arch="armv7", runtimes=["litert"])
    with pytest.raises(GhostEdgeError, match="Unknown core 'cortex-x1'"):
        check_mod.check_models([TINY["fp32"]], cores=["cortex-x1"])


def test_the_report_gets_an_arm64_section(fake, tmp_path):
    model = tmp_path / "tiny.fp32.tflite"
    shutil.copy(TINY["fp32"], model)
    report_path = tmp_path / "tiny.fp32.report.json"
    ModelReport(kind="fp32", model_name="tiny", file=model.name, size_bytes=model.stat().st_size,
                app_ready=True, preprocessing={"name": "torchvision"}).dump(report_path)
    res = check_mod.check_models([model], **FAST)
    assert res.models[0].report == str(report_path)
    section = load_report(report_path).sections["arm64"]
    assert section["schema"] == "ghostedge.armcheck/1" and section["passed"] is True
    assert section["arch"] == "arm64" and section["rows"][0]["core"] == "cortex-a76"
    assert "checked_at" in section and section["inputs"][0] == "astronaut.png"
    assert section["model"] == "tiny.fp32.tflite" and section["reference_host"]["machine"]


def test_cli_prints_the_table_and_exits_non_zero_on_failure(fake, capsys):
    from ghostedge.cli.main import main

    rc = main(["check", "--cores", "cortex-a76", "--threads", "1", "--no-tflite-runtime",
               "--no-report", "--random-inputs", "1", str(TINY["int8"])])
    out = capsys.readouterr()
    assert rc == 0 and "tiny_check.int8.tflite  [INT8]  PASS" in out.out and "arm64 check PASSED" in out.out

    rc = main(["check", "--json", "--cores", "cortex-a76", "--threads", "1", "--no-tflite-runtime",
               "--no-force-fp16", "--no-report", str(TINY["custom_op"])])
    out = capsys.readouterr()
    assert rc == 1 and json.loads(out.out)["passed"] is False
    err = out.err.strip().splitlines()[-1]
    assert err.startswith("error: ARM check failed for 1 of 1 model(s) (tiny_check.custom_op.tflite): ")
    assert "GhostEdgeNoSuchOp" in err


def test_cli_usage_errors(fake, capsys):
    from ghostedge.cli.main import main

    assert main(["check"]) == 2
    assert "No models given" in capsys.readouterr().err
    assert main(["check", "--threads", "0", str(TINY["fp32"])]) == 2
    assert "--threads takes counts >= 1" in capsys.readouterr().err
    assert main(["check", "--threads", "x", str(TINY["fp32"])]) == 2
    assert main(["check", "--arch", "armv7", "--cores", "cortex-a76", str(TINY["fp32"])]) == 1
    assert "Unknown core 'cortex-a76' for --arch armv7" in capsys.readouterr().err


def test_cli_flags_with_lists_before_the_models(fake, capsys):
    from ghostedge.cli.main import main

    rc = main(["check", "--no-report", "--no-tflite-runtime", "--no-force-fp16", "--random-inputs", "1",
               "--threads", "1", "2", "--cores", "cortex-a53", str(TINY["fp32"])])
    out = capsys.readouterr().out
    assert rc == 0 and "cortex-a53  2        LiteRT" in out and "cortex-a76" not in out


def test_armv7_checks_tflite_runtime_and_reports_its_int8_differences(fake):
    res = check_mod.check_models([TINY["fp32"], TINY["int8"]], arch="armv7", threads=[1],
                                 random_inputs=1, update_reports=False)
    assert res.arch == "armv7" and list(res.cores) == ["cortex-a7"]
    fp32, int8 = res.models
    assert [r.runtime.split()[0] for r in fp32.rows] == ["tflite-runtime"]  # no LiteRT, no forced FP16
    assert fp32.rows[0].role == "checked" and fp32.rows[0].passed
    # tflite-runtime's INT8 kernels are not LiteRT's: differences are reported, never a failure
    row = int8.rows[0]
    assert row.passed and (row.identical or "reported, not a failure" in row.note)
    assert res.passed


def test_host_cpu_names_the_reference_isa(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B12\nflags\t\t: fpu sse2 avx avx2 fma\n")
    info = check_mod.host_cpu(cpuinfo)
    assert info["cpu"] == "AMD EPYC 7B12" and info["isa"] == "AVX2"
    assert check_mod.host_cpu(tmp_path / "missing")["machine"]
