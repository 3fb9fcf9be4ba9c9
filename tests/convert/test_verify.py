"""Fast checks of the conversion helpers (no conversion runs here)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ghostedge.cli.convert import summary_text
from ghostedge.convert import pipeline, verify, wrapper
from ghostedge.data.preprocess import PRESETS, normalize
from ghostedge.errors import UsageError, VerificationError
from ghostedge.model_report import ModelReport
from ghostedge.quantize.options import Int8Options


def test_pixel_affine_equals_normalize():
    pre = PRESETS["torchvision"]
    scale, bias = wrapper.pixel_affine(pre)
    pixels = np.random.default_rng(1).integers(0, 256, (4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(pixels * scale + bias, normalize(pixels, pre), atol=2e-6)


def test_output_names():
    assert wrapper.output_name(False) == "probabilities"
    assert wrapper.output_name(True) == "logits"
    assert wrapper.INPUT_NAME == "image"


def _probs(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def test_fidelity_identical_and_perturbed():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (6, 10)).astype(np.float32)
    same = verify.fidelity(_probs(logits), _probs(logits), bare=False)
    assert same["prob_max_abs_diff"] == 0.0
    assert same["top1_agreement"] == 1.0 and same["top5_agreement"] == 1.0
    assert same["logit_cosine_min"] == pytest.approx(1.0)
    other = verify.fidelity(logits, rng.normal(0, 3, (6, 10)).astype(np.float32), bare=True)
    assert other["logit_cosine_min"] < 0.9
    assert other["prob_max_abs_diff"] > 1e-3
    assert other["logit_space"] == "centered logits"


def test_fidelity_bare_matches_softmax_space():
    logits = np.random.default_rng(2).normal(0, 1, (3, 8)).astype(np.float32)
    shifted = logits + 5.0  # softmax-invariant shift
    fig = verify.fidelity(logits, shifted, bare=True)
    assert fig["prob_max_abs_diff"] < 1e-6
    assert fig["logit_max_abs_diff"] < 1e-5
    assert fig["raw_output_max_abs_diff"] == pytest.approx(5.0)


def test_check_bounds_fp32_fails_beyond_1e4():
    fig = {"prob_max_abs_diff": 2e-4, "logit_cosine_min": 1.0, "samples": 8}
    with pytest.raises(VerificationError, match="exceeds 0.0001"):
        verify.check_bounds("fp32", fig, "The FP32 model")
    fig["prob_max_abs_diff"] = 5e-5
    assert verify.check_bounds("fp32", fig, "x")["prob_max_abs_diff"] == 1e-4
    fig["logit_cosine_min"] = 0.99
    with pytest.raises(VerificationError, match="cosine"):
        verify.check_bounds("fp32", fig, "x")
    assert verify.check_bounds("int8", {"prob_max_abs_diff": 1.0, "logit_cosine_min": 0.0,
                                        "samples": 1}, "x")["prob_max_abs_diff"] is None


def test_verification_inputs_photos_and_random(photos):
    names, batch = verify.verification_inputs(photos[:2], PRESETS["torchvision"], 224, bare=False)
    assert names[:2] == [p.name for p in photos[:2]] and len(names) == 2 + verify.RANDOM_INPUTS
    assert batch.shape == (5, 224, 224, 3) and batch.dtype == np.float32
    assert batch.min() >= 0 and batch.max() <= 255
    _, bare = verify.verification_inputs(photos[:2], PRESETS["torchvision"], 224, bare=True)
    np.testing.assert_allclose(bare, normalize(batch, PRESETS["torchvision"]), atol=1e-5)
    _, small = verify.verification_inputs(photos[:1], PRESETS["torchvision"], 160, bare=False)
    assert small.shape[1:] == (160, 160, 3)






def test_validate_image_size_and_io():
    with pytest.raises(UsageError, match="multiple of 32"):
        pipeline.validate_options(225, None)
    with pytest.raises(UsageError, match="INT8 I/O"):
        Int8Options(io="int4")
    pipeline.validate_options(256, ["a", "b"])
    Int8Options(io="float32")


def test_sample_npy_is_valid(tmp_path):
    from ghostedge.convert.onnx2tf_runner import SAMPLE_NPY, write_sample_npy

    path = write_sample_npy(tmp_path)
    assert path.name == SAMPLE_NPY
    arr = np.load(path)
    assert arr.shape == (20, 128, 128, 3) and arr.dtype == np.float32
    assert 0.0 <= arr.min() and arr.max() <= 1.0


def test_run_measured_reports_exit_code_and_memory(tmp_path):
    import sys

    from ghostedge.convert.onnx2tf_runner import run_measured

    code, seconds, peak = run_measured([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"],
                                       tmp_path, tmp_path / "log.txt")
    assert code == 3 and seconds > 0 and peak > 1
    assert "hi" in (tmp_path / "log.txt").read_text()


def test_convert_package_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, ghostedge.convert.pipeline, ghostedge.cli.convert, ghostedge.convert.artifacts; "
            "heavy = [m for m in ('torch', 'tensorflow', 'onnx', 'onnx2tf', 'cv2') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_onnx2tf_failure_is_one_clear_error(tmp_path, monkeypatch):
    """A failing onnx2tf (stand-in script) gives ConversionError with its last error line and a
    kept log; it runs on a copy, so the source .onnx is untouched."""
    import sys

    from ghostedge.convert import onnx2tf_runner
    from ghostedge.errors import ConversionError

    fake = tmp_path / "fake_onnx2tf.py"
    fake.write_text("import sys, os\nprint('W0000 noise')\nprint('ValueError: bad graph in', "
                    "os.path.basename(sys.argv[2]))\nopen(sys.argv[2], 'w').write('rewritten')\nsys.exit(1)\n")
    monkeypatch.setattr(onnx2tf_runner, "onnx2tf_command", lambda: [sys.executable, str(fake)])
    src = tmp_path / "m.onnx"
    src.write_bytes(b"original")
    with pytest.raises(ConversionError) as info:
        onnx2tf_runner.run_onnx2tf(src, tmp_path / "work")
    text = str(info.value)
    assert "exit code 1" in text and "ValueError: bad graph in model.onnx" in text
    kept = Path(text.split("full log in ")[1].rstrip("."))
    assert kept.is_file() and "bad graph" in kept.read_text()
    kept.unlink()
    assert src.read_bytes() == b"original"
    assert (tmp_path / "work" / onnx2tf_runner.SAMPLE_NPY).is_file()


def test_child_env_puts_venv_bin_first(monkeypatch):
    import os
    import sys

    from ghostedge.convert.onnx2tf_runner import child_env

    monkeypatch.setenv("PATH", "/usr/bin")
    env = child_env()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_int8_without_calibration_refused_before_work(tmp_path):
    with pytest.raises(UsageError, match="calibration set"):
        pipeline.convert_torch_model(object(), name="m", output_dir=tmp_path / "o",
                                     preprocessing=PRESETS["torchvision"], int8=Int8Options(), calibration=None)
    assert not (tmp_path / "o").exists()


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
    report = ModelReport("int8", "m", size_bytes=10**6, fidelity_vs_torch=fig,
                         sections={"fidelity_vs_fp32": {}})
    result = SimpleNamespace(name="m", output_dir=Path("o"), artifacts={"int8": Path("o/m.int8.tflite")},
                             reports={"int8": report}, durations_s={"total": 72.1}, wall_s=102.0,
                             onnx2tf_peak_rss_mb=0.0)
    text = summary_text(result)
    assert "prob cos" in text and "72.1 s conversion, 102.0 s total" in text


def test_a_constant_int8_output_never_reads_as_agreeing():
    """UAT: a constant INT8 output was 'top-1 100%' against torch on one line and '0.0% (50 tied)'
    against FP32 on the next; both use the one tie rule now, and the summary says it does not classify."""
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3.0, (5, 1000))
    torch_p = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    flat = np.zeros_like(torch_p)                      # every uint8 probability rounded to 0
    fig = verify.fidelity(torch_p, flat, bare=False, quantized_probabilities=True)
    assert fig["top1_agreement"] == 0.0 and fig["constant_output"] is True
    report = ModelReport("int8", "m", size_bytes=10**6, fidelity_vs_torch=fig,
                         sections={"fidelity_vs_fp32": {"images": 50, "top1_agreement": 0.0,
                                                        "top1_tied_images": 50}})
    result = SimpleNamespace(name="m", output_dir=Path("o"), artifacts={"int8": Path("o/m.int8.tflite")},
                             reports={"int8": report}, durations_s={"total": 1.0}, wall_s=2.0,
                             onnx2tf_peak_rss_mb=0.0)
    text = summary_text(result)
    assert "constant output (does not classify)" in text and "top-1 100%" not in text
