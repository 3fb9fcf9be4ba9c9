"""Tests moved here."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ghostedge.cli.main import main
from ghostedge.convert import pipeline
from ghostedge.convert.outputs import check_outputs
from ghostedge.data.preprocess import PRESETS
from ghostedge.errors import GhostEdgeError, OutputExistsError, UsageError
from ghostedge.model_report import ArtifactNames


def test_uncreatable_output_folder_fails_before_work_and_leaves_nothing(tmp_path, capsys):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    with pytest.raises(GhostEdgeError, match="Cannot create output folder /proc/ge-out"):
        check_outputs(ArtifactNames(Path("/proc/ge-out"), "m"), False, False, force=False)
    # a folder made only for the probe is removed again, parents included
    check_outputs(ArtifactNames(tmp_path / "a" / "b", "m"), False, False, force=False)
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "keep"
    existing.mkdir()
    check_outputs(ArtifactNames(existing, "m"), False, False, force=False)
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
        pipeline.convert_torch_model(_StopModel(), name="m", output_dir=tmp_path,
                                     preprocessing=PRESETS["torchvision"], fp16=False, force=True)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["m.fp32.tflite", "other.fp16.tflite", "m.fp16.tflite.bak",
                           "mm.int8.tflite", "notes.txt"])
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "m.fp16.tflite" in warned and "m.int8.report.json" in warned
    # an asked-for kind is not "stale" (it is overwritten by the run), and without --force
    # nothing is removed
    (tmp_path / "m.fp16.tflite").write_text("old")
    assert ArtifactNames(tmp_path, "m").stale(fp16=True, int8=False) == []
    with pytest.raises(Exception):
        pipeline.convert_torch_model(_StopModel(), name="m", output_dir=tmp_path,
                                     preprocessing=PRESETS["torchvision"], force=False)
    assert (tmp_path / "m.fp16.tflite").exists()


def test_planned_outputs_and_existing_refused(tmp_path):
    names = ArtifactNames(tmp_path, "ghostnet_100")
    planned = names.planned(fp16=True, int8=True)
    assert [p.name for p in planned.values()] == [
        "ghostnet_100.onnx", "ghostnet_100.fp32.tflite", "ghostnet_100.fp16.tflite",
        "ghostnet_100.int8.tflite"]
    (tmp_path / "ghostnet_100.fp16.report.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="--force"):
        check_outputs(names, True, False, force=False)
    check_outputs(names, True, False, force=True)
    check_outputs(names, False, False, force=False)  # fp16 not asked


def test_output_folder_that_is_a_file_or_under_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        check_outputs(ArtifactNames(blocker, "m"), False, False, force=True)
    with pytest.raises(GhostEdgeError, match="Cannot create output folder"):
        check_outputs(ArtifactNames(blocker / "sub", "m"), False, False, force=True)
