"""``ghostedge convert`` as a user runs it: one-line errors for bad input (fast), and one real
run of the installed command on a timm-layout checkpoint with FP32 + INT8 (slow).

``ghostedge convert`` without ``--model`` picks the model that fits ``--weights`` (the issue's
``ghostedge convert --weights paddle:GhostNet_x1_3_ssld --int8``). Fast: nothing is converted —
an existing output stops the command right after the model name is resolved.

UAT defects of ``ghostedge convert`` (fast): INT8 vs torch in probability space, the output
folder probed before any slow work, stale --force siblings, the whole command's time, and the
C-level stderr capture."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ghostedge.cli.convert import command_seconds
from ghostedge.cli.main import main
from ghostedge.convert.main import resolve_model_name
from ghostedge.fileio import sha256_file


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_model_one_line(tmp_path, capsys):
    code, out, err = _run(["convert", "--model", "ghostnet_200", "--weights", "random",
                           "--output", str(tmp_path / "o")], capsys)
    assert code != 0 and out == ""
    assert "Unknown model 'ghostnet_200'" in _one_error_line(err)
    assert not (tmp_path / "o").exists()


def test_existing_output_refused_without_force(tmp_path, capsys):
    (tmp_path / "ghostnet_100.fp32.tflite").write_bytes(b"old")
    code, _, err = _run(["convert", "--weights", "random", "--output", str(tmp_path)], capsys)
    assert code != 0
    assert "already exists" in _one_error_line(err) and "--force" in err
    assert (tmp_path / "ghostnet_100.fp32.tflite").read_bytes() == b"old"


def test_unwritable_output_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = _run(["convert", "--weights", "random", "--output", str(blocker / "out")], capsys)
    assert code != 0 and "Cannot create output folder" in _one_error_line(err)


def test_calib_without_int8_and_bad_samples(tmp_path, capsys):
    code, _, err = _run(["convert", "--weights", "random", "--calib", str(tmp_path),
                         "--output", str(tmp_path / "o")], capsys)
    assert code == 2 and "--calib and --explain need --int8" in _one_error_line(err)
    code, _, err = _run(["convert", "--weights", "random", "--int8", "--calib-samples", "0",
                         "--output", str(tmp_path / "o")], capsys)
    assert code == 2 and "--calib-samples 0" in _one_error_line(err)
    code, _, err = _run(["convert", "--weights", "random", "--int8", "--calib", str(tmp_path / "nope"),
                         "--output", str(tmp_path / "o")], capsys)
    assert code == 2 and "does not exist" in _one_error_line(err)


def test_bad_image_size_and_labels(tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    code, _, err = _run(["convert", "--model", "ghostnet_050", "--weights", "random", "--image-size", "100",
                         "--output", str(tmp_path / "o")], capsys)
    assert code == 2 and "multiple of 32" in _one_error_line(err)
    code, _, err = _run(["convert", "--model", "ghostnet_050", "--weights", "random", "--labels",
                         str(labels), "--output", str(tmp_path / "o")], capsys)
    assert code != 0 and "2 labels for 1000 classes" in _one_error_line(err)
    assert not (tmp_path / "o").exists()


def test_missing_weights_file_one_line(tmp_path, capsys):
    code, _, err = _run(["convert", "--weights", str(tmp_path / "none.pth"),
                         "--output", str(tmp_path / "o")], capsys)
    assert code != 0 and "none.pth" in _one_error_line(err)
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_checkpoint_fp32_int8_json(tmp_path):
    """The installed command on a timm-layout .pth, offline, with INT8 on the bundled photos."""
    import torch

    from ghostedge.models.bn_recalib import recalibrate_batchnorm
    from ghostedge.models.registry import create_model

    torch.manual_seed(1)
    model = recalibrate_batchnorm(create_model("ghostnet_050"), batches=3)
    ckpt = tmp_path / "ghostnet_050_timm.pth"
    torch.save(model.state_dict(), ckpt)
    ckpt_hash = sha256_file(ckpt)
    out = tmp_path / "out"
    exe = Path(sys.executable).parent / "ghostedge"
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "ghostedge"]),
           "convert", "--model", "ghostnet_050", "--weights", str(ckpt), "--int8", "--calib-samples", "16",
           "--output", str(out), "--json"]
    env = dict(os.environ, GHOSTEDGE_NO_PROGRESS="1", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert set(data["artifacts"]) == {"onnx", "fp32", "int8"}
    assert "bundled photos" in proc.stderr  # never a silent calibration substitute
    assert sha256_file(ckpt) == ckpt_hash
    fp32, int8 = data["reports"]["fp32"], data["reports"]["int8"]
    assert fp32["source"]["sha256"] == ckpt_hash and fp32["source"]["kind"] == "file"
    assert fp32["fidelity_vs_torch"]["prob_max_abs_diff"] <= 1e-4
    assert int8["inputs"][0]["dtype"] == "uint8" and int8["inputs"][0]["shape"] == [1, 224, 224, 3]
    assert int8["io_quantization"]["input"][0]["dtype"] == "uint8"
    assert int8["calibration"]["count"] == 16 and int8["calibration"]["seed"] == 0
    assert int8["fidelity_vs_fp32"]["images"] > 0 and int8["fidelity_vs_fp32"]["layers"]
    assert int8["integer_check"] and "TRANSPOSE" not in int8["ops"]
    assert int8["size_mb"] < fp32["size_mb"] / 3
    on_disk = json.loads((out / "ghostnet_050.int8.report.json").read_text())
    assert on_disk["sha256"] == sha256_file(out / "ghostnet_050.int8.tflite")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"ghostnet_050.{k}" for k in ("onnx", "onnx.report.json", "fp32.tflite", "fp32.report.json",
                                      "int8.tflite", "int8.report.json"))
    # a rerun without --force is refused with one line and touches nothing
    again = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    errors = [ln for ln in again.stderr.splitlines() if ln.startswith("error:")]
    assert again.returncode != 0 and len(errors) == 1 and "already exists" in errors[0]
    assert on_disk == json.loads((out / "ghostnet_050.int8.report.json").read_text())


def test_resolve_model_from_weights():
    assert resolve_model_name(None, "paddle:GhostNet_x1_3_ssld") == "paddle_ghostnet_x1_3"
    assert resolve_model_name(None, "paddle:GhostNet_x0_5") == "paddle_ghostnet_x0_5"
    assert resolve_model_name(None, "imagenet") == "ghostnet_100"
    assert resolve_model_name(None, "random") == "ghostnet_100"
    assert resolve_model_name("ghostnet_130", "paddle:GhostNet_x1_3_ssld") == "ghostnet_130"  # explicit wins


def test_convert_paddle_ssld_without_model_uses_paddle_x1_3(tmp_path, capsys):
    (tmp_path / "paddle_ghostnet_x1_3.onnx").write_bytes(b"old")
    code = main(["convert", "--weights", "paddle:GhostNet_x1_3_ssld", "--int8", "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "paddle_ghostnet_x1_3.onnx" in errors[0] and "already exists" in errors[0], err
    assert (tmp_path / "paddle_ghostnet_x1_3.onnx").read_bytes() == b"old"


def test_convert_help_says_how_model_defaults(capsys):
    try:
        main(["convert", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "paddle:GhostNet_x1_3_ssld -> paddle_ghostnet_x1_3" in text












def test_command_seconds_counts_from_process_start():
    import time

    started = time.perf_counter()
    assert command_seconds(started) >= time.perf_counter() - started - 1e-6




@pytest.mark.parametrize("argv, words", [
    (["--image-size", "0"], "Image size 0"), (["--image-size", "31"], "multiple of 32"),
    (["--image-size", "100000"], "multiple of 32 from 32 to 2048"),
    (["--int8", "--calib-samples", "0"], "--calib-samples 0"), (["--int8", "--calib-samples", "-4"], "--calib-samples -4"),
    (["--int8", "--calib-samples", "1000000000"], "from 1 to"), (["--int8", "--calib-seed", "-1"], "--calib-seed -1"),
    (["--num-classes", "0"], "number of classes 0"), (["--calib-samples", "8", "--explain"], "need --int8"),
])
def test_numbers_out_of_range_are_refused_before_work(tmp_path, capsys, argv, words):
    code = main(["convert", "--model", "ghostnet_050", "--weights", "random", "--output", str(tmp_path / "o"),
                 *argv])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert code != 0 and len(errors) == 1 and words in errors[0], errors
    assert not (tmp_path / "o").exists()


def test_output_name_longer_than_the_file_system_allows(tmp_path, capsys):
    long_dir = tmp_path / ("x" * 300)
    code = main(["convert", "--model", "ghostnet_050", "--weights", "random", "--output", str(long_dir)])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "too long" in errors[0] and "report it" not in errors[0]
    assert list(tmp_path.iterdir()) == []


def _unshare_tmpfs_ok() -> bool:
    import shutil as _shutil

    if not _shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt && echo ok"],
                           capture_output=True, text=True)
    return probe.stdout.strip() == "ok"


@pytest.mark.slow
def test_full_disk_is_a_clear_error_before_the_slow_work(tmp_path):
    """On a 12 MB file system (a tmpfs in a private mount namespace, where the machine allows one)
    a GhostNet 0.5x conversion (~21 MB of .onnx + FP32) is refused up front, naming the folder and
    the space needed, and leaves the folder empty."""
    if not _unshare_tmpfs_ok():
        pytest.skip("this machine allows no private tmpfs (unshare -rm + mount)")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f"mount -t tmpfs -o size=12m tmpfs {disk} && "
              f"{sys.executable} -m ghostedge convert --model ghostnet_050 --weights random "
              f"--output {disk}/out; echo EXIT=$?; ls -A {disk}")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "GHOSTEDGE_NO_PROGRESS": "1"})
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert "EXIT=1" in proc.stdout and len(errors) == 1, proc.stdout + proc.stderr[-2000:]
    assert "Not enough disk space" in errors[0] and str(disk / "out") in errors[0] and "MB" in errors[0]
    assert proc.stdout.split("EXIT=1", 1)[1].strip() == ""   # nothing left on the full disk
