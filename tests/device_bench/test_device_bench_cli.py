"""`ghostedge report` and `ghostedge bench` argument handling, in-process."""
from __future__ import annotations

import json

import pytest

from ghostedge.cli.main import main
from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.runner import run_plan


@pytest.fixture()
def saved_results(tmp_path, tiny_models, scripted_backend):
    folder = tmp_path / "bench"
    plan = BenchPlan([describe_model(m) for m in tiny_models], threads=[1, 2, 4], repeats=2)
    run_plan(plan, scripted_backend(), folder / "results.jsonl")
    return folder


def test_report_redraws_everything_from_saved_results(saved_results, capsys):
    assert main(["report", str(saved_results)]) == 0
    out = capsys.readouterr().out
    assert "| Models | SD855 time(ms) bs=1, thread=1 | thread=2 | thread=4 | Storage Size(M) |" in out
    assert "| GhostNet_x1_0 (PaddleClas, Paddle Lite) | 12.89 | 8.66 | 6.72 | 20.000 |" in out
    assert "CV thread=1" in out
    for name in ("table.md", "table.csv", "summary.json", "latency.png"):
        assert (saved_results / name).stat().st_size > 0
    assert main(["report", str(saved_results / "results.jsonl"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device"]["label"] == "SD855" and len(data["rows"]) == 2
    assert data["files"]["results"].endswith("results.jsonl")


def test_report_refuses_to_overwrite_another_output(saved_results, tmp_path, capsys):
    other = tmp_path / "elsewhere"
    assert main(["report", str(saved_results), "--output", str(other), "--no-plot"]) == 0
    assert not (other / "latency.png").exists() and (other / "table.md").exists()
    assert main(["report", str(saved_results), "--output", str(other)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Output") and "--force" in err[-1]
    assert main(["report", str(saved_results), "--output", str(other), "--force"]) == 0


def test_report_on_missing_or_foreign_files(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No benchmark results at") and len(err.splitlines()) == 1
    assert main(["report", str(tmp_path / "nothing"), "--no-plot"]) == 1
    capsys.readouterr()
    one_line = tmp_path / "hostname"
    one_line.write_text("myhost\n")
    assert main(["report", str(one_line)]) == 1
    err = capsys.readouterr().err
    assert "line 1 is not JSON" in err and "warning" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\nnot json\n{"x": 2}\n')
    assert main(["report", str(bad)]) == 1
    assert "schema" in capsys.readouterr().err


def test_bench_without_models_says_to_convert_first(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--device", "local"]) == 2
    err = capsys.readouterr().err.strip()
    assert "ghostnet_100.fp32.tflite" in err and "ghostedge convert --int8" in err
    assert len(err.splitlines()) == 1


def test_bench_rejects_non_tflite_and_bad_options(tmp_path, tiny_models, capsys):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"definitely not a flatbuffer")
    assert main(["bench", str(junk), "--device", "local"]) == 2
    assert "not a .tflite model" in capsys.readouterr().err
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--affinity", "zz"]) == 2
    assert "affinity" in capsys.readouterr().err.lower()


def test_bench_refuses_existing_results_without_force(tmp_path, tiny_models, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("old\n")
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--output", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == "old\n"


def test_force_keeps_old_results_when_the_device_fails_before_measuring(tmp_path, tiny_models,
                                                                         monkeypatch, capsys):
    from ghostedge.device_bench.local import LocalBackend
    from ghostedge.errors import BenchmarkError

    def broken(self, models):
        raise BenchmarkError("No benchmark binary", "test", "Pass --benchmark-binary")

    monkeypatch.setattr(LocalBackend, "prepare", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("old\n")
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--output", str(out), "--force"]) == 1
    assert "No benchmark binary" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == "old\n" and not (out / "table.md").exists()


def test_local_bench_json_in_process(tmp_path, tiny_models, capsys):
    args = ["bench", *map(str, tiny_models), "--device", "local", "--threads", "1", "2", "--repeats", "2",
            "--num-runs", "3", "--warmup-runs", "1", "--min-secs", "0", "--warmup-min-secs", "0",
            "--output", str(tmp_path / "o"), "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device"]["kind"] == "local" and data["device"]["label"].startswith("local CPU (")
    assert data["reference"] == [] and data["threads"] == [1, 2]
    cell = data["rows"][1]["cells"]["2"]
    assert cell["n"] == 2 and cell["min_ms"] <= cell["median_ms"] <= cell["max_ms"]
    assert main(args) == 1  # a second run into the same folder is refused without --force
    assert main(args + ["--force"]) == 0
