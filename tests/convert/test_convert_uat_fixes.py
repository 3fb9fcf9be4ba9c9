"""UAT defects of ``ghostedge convert`` (fast): INT8 vs torch in probability space, the output
folder probed before any slow work, stale --force siblings, the whole command's time, and the
C-level stderr capture."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ghostedge.cli.convert import command_seconds, summary_text
from ghostedge.cli.main import main
from ghostedge.convert import pipeline, verify
from ghostedge.convert.quiet import captured_stderr
from ghostedge.data.preprocess import PRESETS
from ghostedge.errors import GhostEdgeError


def test_int8_probabilities_are_compared_in_probability_space():
    """UAT: uint8 probabilities (mostly 0) vs torch gave 'cos 0.37' from logs of zeros."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3.0, (4, 1000))
    torch_p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    int8_p = np.round(torch_p * 256) / 256          # uint8 output: most classes exactly 0
    fig = verify.fidelity(torch_p.astype(np.float32), int8_p.astype(np.float32), bare=False,
                          quantized_probabilities=True)
    assert fig["comparison_space"].startswith("probabilities")
    assert "logit_cosine_min" not in fig and "logit_max_abs_diff" not in fig
    assert fig["prob_cosine_min"] > 0.9 and fig["prob_max_abs_diff"] <= 1 / 512 + 1e-6
    floats = verify.fidelity(torch_p, torch_p, bare=False)   # float models keep logit figures
    assert floats["logit_space"] == "centered log-probabilities" and "logit_cosine_min" in floats
    report = {"size_mb": 1.0, "ops": {}, "fidelity_vs_torch": fig, "fidelity_vs_fp32": {}}
    result = SimpleNamespace(name="m", output_dir=Path("o"), artifacts={"int8": Path("o/m.int8.tflite")},
                             reports={"int8": report}, durations_s={"total": 72.1}, wall_s=102.0,
                             onnx2tf_peak_rss_mb=0.0)
    text = summary_text(result)
    assert "prob cos" in text and "72.1 s conversion, 102.0 s total" in text


def test_uncreatable_output_folder_fails_before_work_and_leaves_nothing(tmp_path, capsys):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    with pytest.raises(GhostEdgeError, match="Cannot create output folder /proc/ge-out"):
        pipeline.check_outputs(Path("/proc/ge-out"), "m", False, False, force=False)
    # a folder made only for the probe is removed again, parents included
    pipeline.check_outputs(tmp_path / "a" / "b", "m", False, False, force=False)
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "keep"
    existing.mkdir()
    pipeline.check_outputs(existing, "m", False, False, force=False)
    assert existing.is_dir() and list(existing.iterdir()) == []
    # the CLI: one line, before any model is built
    code = main(["convert", "--model", "ghostnet_050", "--weights", "random", "--output", "/proc/ge-out"])
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code != 0 and len(errors) == 1 and "Cannot create output folder" in errors[0], err
    assert "report it" not in errors[0]


class _Stop(Exception):
    pass


class _StopModel:
    def eval(self):
        raise _Stop()


def test_force_removes_stale_sibling_outputs_only(tmp_path, caplog):
    """UAT: --force without --fp16/--int8 kept an earlier run's fp16/int8 files."""
    names = ["m.fp16.tflite", "m.fp16.report.json", "m.int8.tflite", "m.int8.report.json",
             "m.fp32.tflite", "other.fp16.tflite", "m.fp16.tflite.bak", "mm.int8.tflite", "notes.txt"]
    for n in names:
        (tmp_path / n).write_text("old")
    with caplog.at_level(logging.WARNING, logger="ghostedge"), pytest.raises(_Stop):
        pipeline.convert(_StopModel(), name="m", output_dir=tmp_path, preprocessing=PRESETS["torchvision"],
                         fp16=False, int8=False, force=True)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["m.fp32.tflite", "other.fp16.tflite", "m.fp16.tflite.bak",
                           "mm.int8.tflite", "notes.txt"])
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "m.fp16.tflite" in warned and "m.int8.report.json" in warned
    # an asked-for kind is not "stale" (it is overwritten by the run), and without --force
    # nothing is removed
    (tmp_path / "m.fp16.tflite").write_text("old")
    assert pipeline.stale_siblings(tmp_path, "m", fp16=True, int8=False) == []
    with pytest.raises(Exception):
        pipeline.convert(_StopModel(), name="m", output_dir=tmp_path, preprocessing=PRESETS["torchvision"],
                         force=False)
    assert (tmp_path / "m.fp16.tflite").exists()


def test_command_seconds_counts_from_process_start():
    import time

    started = time.perf_counter()
    assert command_seconds(started) >= time.perf_counter() - started - 1e-6


def test_c_level_stderr_is_captured_and_python_output_kept(capfd, caplog, monkeypatch):
    ghost = logging.getLogger("ghostedge")   # an earlier main() left a handler on a closed stream
    monkeypatch.setattr(ghost, "handlers", [])
    monkeypatch.setattr(ghost, "propagate", True)
    with caplog.at_level(logging.INFO, logger="ghostedge"):
        with captured_stderr("tensorflow"):
            os.write(2, b"E0000 00:00 cuda_dnn.cc:8579] Unable to register cuDNN factory\n")
            print("python text", file=sys.stderr)
    err = capfd.readouterr().err
    assert "cuDNN" not in err and "python text" in err
    assert any("cuDNN" in r.getMessage() for r in caplog.records)   # shown with -v
    with pytest.raises(RuntimeError), captured_stderr("tensorflow"):
        os.write(2, b"fully_quantize: 0, inference_type: 6\n")
        raise RuntimeError("boom")
    assert "fully_quantize" not in capfd.readouterr().err
