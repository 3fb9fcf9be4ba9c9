"""Integration: real conversions (torch → ONNX → onnx2tf → TFLite) of all three widths, checked
against torch, with their reports. Conversions are shared through module-scoped fixtures."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from ghostedge.fileio import sha256_file
from ghostedge.data.preprocess import PRESETS, load_pixels, normalize

pytestmark = pytest.mark.slow

PRE = PRESETS["torchvision"]
# Any download attempt by onnx2tf (its sample .npy) goes to a dead proxy and fails the run.
DEAD_PROXY = "http://127.0.0.1:9"


def random_ghostnet(name: str, num_classes: int = 1000):
    """Random weights with BatchNorm statistics re-estimated on the bundled photos."""
    import torch

    from ghostedge.models.bn_recalib import recalibrate_batchnorm
    from ghostedge.models.registry import create_model

    torch.manual_seed(0)
    return recalibrate_batchnorm(create_model(name, num_classes), batches=4, batch_size=8)


def state_hash(model) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def _convert(tmp_path_factory, name: str, **kwargs):
    from ghostedge.convert import onnx2tf_runner
    from ghostedge.convert.pipeline import convert_torch_model as convert

    model = random_ghostnet(name)
    before = state_hash(model)
    out = tmp_path_factory.mktemp(name)
    real_run = onnx2tf_runner.run_onnx2tf
    seen = []

    def watched_run(onnx_path, work_dir, **kw):   # the .onnx handed to onnx2tf, before and after
        digest = sha256_file(onnx_path)
        outputs = real_run(onnx_path, work_dir, **kw)
        seen.append((digest, sha256_file(onnx_path), outputs.argv))
        return outputs

    with pytest.MonkeyPatch.context() as mp:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            mp.setenv(var, DEAD_PROXY)
        for var in ("NO_PROXY", "no_proxy"):
            mp.delenv(var, raising=False)
        mp.setattr(onnx2tf_runner, "run_onnx2tf", watched_run)
        result = convert(model, name=name, output_dir=out, preprocessing=PRE, **kwargs)
    result.onnx2tf_calls = seen
    return model, result, before


@pytest.fixture(scope="module")
def conv100(tmp_path_factory):
    return _convert(tmp_path_factory, "ghostnet_100", fp16=True)


@pytest.fixture(scope="module")
def conv050_bare(tmp_path_factory):
    return _convert(tmp_path_factory, "ghostnet_050", bare=True)


@pytest.fixture(scope="module")
def conv130(tmp_path_factory):
    return _convert(tmp_path_factory, "ghostnet_130")


def _tflite_outputs(path: Path, batch: np.ndarray) -> np.ndarray:
    from ghostedge.tflite import load_interpreter, run_single

    interp = load_interpreter(path, num_threads=1)
    return np.concatenate([run_single(interp, x[None]) for x in batch])


def _torch_probs(model, nchw: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(nchw)), -1).numpy()


@pytest.mark.parametrize("which", ["conv100", "conv130"])
def test_app_ready_parity_on_photos(which, request, photos):
    """Independent of the pipeline's own check: raw pixels into the .tflite, torch on the
    normalized crops, probabilities within 1e-4, same top-5."""
    model, result, _ = request.getfixturevalue(which)
    pixels = np.stack([load_pixels(p, PRE) for p in photos]).astype(np.float32)
    got = _tflite_outputs(result.artifacts["fp32"], pixels)
    want = _torch_probs(model, np.ascontiguousarray(normalize(pixels, PRE).transpose(0, 3, 1, 2)))
    assert got.shape == want.shape == (len(photos), 1000)
    assert np.abs(got - want).max() <= 1e-4
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-4)
    assert (np.argsort(-got, -1)[:, :5] == np.argsort(-want, -1)[:, :5]).mean() >= 0.8


def test_bare_parity_logits(conv050_bare, photos):
    import torch

    model, result, _ = conv050_bare
    rep = result.reports["fp32"].to_dict()
    assert rep["bare"] is True and rep["outputs"][0]["name"] == "logits"
    x = np.stack([normalize(load_pixels(p, PRE), PRE) for p in photos]).astype(np.float32)
    got = _tflite_outputs(result.artifacts["fp32"], x)
    with torch.no_grad():
        want = model(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()
    assert np.abs(got - want).max() <= 1e-4
    assert (got.argmax(-1) == want.argmax(-1)).all()


def test_inputs_not_modified(conv100, conv050_bare, conv130):
    """Neither the torch model nor any .onnx ghostedge hands to onnx2tf changes: onnx2tf (whose
    onnxsim step rewrites its input in place) is run on a copy, named in its own -i argument."""
    for model, result, before in (conv100, conv050_bare, conv130):
        assert state_hash(model) == before
        onnx = result.artifacts["onnx"]
        assert sha256_file(onnx) == result.reports["onnx"].to_dict()["sha256"]
        ((digest_before, digest_after, argv),) = result.onnx2tf_calls
        assert digest_before == digest_after == sha256_file(onnx)
        given = argv[argv.index("-i") + 1]
        assert Path(given).name == "model.onnx" and "onnx2tf" in Path(given).parent.name


def test_reports_describe_the_files(conv100):
    _, result, _ = conv100
    assert set(result.artifacts) == {"onnx", "fp32", "fp16"}
    for kind, path in result.artifacts.items():
        report_file = path.parent / f"ghostnet_100.{kind}.report.json"
        rep = json.loads(report_file.read_text())
        assert rep == json.loads(json.dumps(result.reports[kind].to_dict(), default=str))
        assert rep["schema"] == "ghostedge.model-report" and rep["schema_version"] == 2
        assert rep["kind"] == kind and rep["registry_name"] == "ghostnet_100"
        assert rep["sha256"] == sha256_file(path) and rep["size_bytes"] == path.stat().st_size
        assert rep["app_ready"] is True and rep["source"] == {}
        assert rep["preprocessing"]["name"] == "torchvision"
        for tool in ("ghostedge", "torch", "onnx", "onnx2tf", "tensorflow", "verification_runtime"):
            assert rep["tools"][tool]
        assert rep["durations_s"]["onnx2tf"] > 0 and rep["durations_s"]["total"] > 0
        assert rep["onnx2tf_peak_rss_mb"] > 100
        fid = rep["fidelity_vs_torch"]
        assert fid["samples"] == 5 + 3 and "random-0" in fid["inputs"]
        assert fid["top1_agreement"] == 1.0 and fid["top5_agreement"] == 1.0
    fp32 = result.reports["fp32"].to_dict()
    assert fp32["inputs"][0]["name"] == "image" and fp32["inputs"][0]["shape"] == [1, 224, 224, 3]
    assert fp32["inputs"][0]["dtype"] == "float32" and fp32["outputs"][0]["shape"] == [1, 1000]
    assert fp32["signatures"] == {"serving_default": {"inputs": ["image"], "outputs": ["probabilities"]}}
    assert fp32["fidelity_vs_torch"]["prob_max_abs_diff"] <= 1e-4
    assert 19.0 < fp32["size_mb"] < 22.5
    assert fp32["ops"]["CONV_2D"] == 59 and fp32["ops"]["SOFTMAX"] == 1


def test_no_transpose_and_op_counts_match_runtime(conv100, conv050_bare, conv130):
    import collections

    from ghostedge.tflite import load_interpreter

    for _, result, _ in (conv100, conv050_bare, conv130):
        for kind in ("fp32", "fp16"):
            if kind not in result.artifacts:
                continue
            rep = result.reports[kind].to_dict()
            assert "TRANSPOSE" not in rep["ops"]
            plain = load_interpreter(result.artifacts[kind], delegates=False)   # the model's own operators
            runtime_ops = collections.Counter(op["op_name"] for op in plain._get_ops_details())
            assert dict(runtime_ops) == rep["ops"] and rep["op_total"] == sum(runtime_ops.values())


def test_fp16_half_size_and_within_bound(conv100):
    _, result, _ = conv100
    fp16, fp32 = result.reports["fp16"].to_dict(), result.reports["fp32"].to_dict()
    assert 0.45 < fp16["size_bytes"] / fp32["size_bytes"] < 0.55
    fid = fp16["fidelity_vs_torch"]
    assert fid["prob_max_abs_diff"] <= fid["bounds"]["prob_max_abs_diff"]
    assert fid["logit_cosine_min"] >= 0.999
    assert fid["prob_max_abs_diff"] > fp32["fidelity_vs_torch"]["prob_max_abs_diff"]  # really fp16


def test_every_float_model_carries_metadata(conv100):
    from ghostedge.tflite.metadata import read_metadata

    _, result, _ = conv100
    for kind in ("fp32", "fp16"):
        assert result.reports[kind].to_dict()["has_metadata"] is True
        assert read_metadata(result.artifacts[kind])["label_count"] == 1000


def test_existing_outputs_refused_before_work(conv130, monkeypatch):
    from ghostedge.convert import pipeline
    from ghostedge.errors import OutputExistsError

    model, result, _ = conv130
    fp32 = result.artifacts["fp32"]
    mtime = fp32.stat().st_mtime_ns
    monkeypatch.setattr("ghostedge.convert.verify.build_reference",
                        lambda *a, **k: pytest.fail("slow work started before the output check"))
    with pytest.raises(OutputExistsError, match="already exists"):
        pipeline.convert_torch_model(model, name="ghostnet_130", output_dir=fp32.parent, preprocessing=PRE)
    assert fp32.stat().st_mtime_ns == mtime


def test_failed_verification_leaves_nothing(conv050_bare, tmp_path):
    """A corrupted verification reference: the FP32 file never reaches its name, no report."""
    import dataclasses

    from ghostedge.convert.artifacts import ArtifactJob, finish_tflite
    from ghostedge.errors import VerificationError
    from ghostedge.model_report import ArtifactNames

    _, result, _ = conv050_bare
    ref = result_reference(result)
    bad = dataclasses.replace(ref, outputs=ref.outputs + np.float32(0.05))
    bad.outputs[:, 0] += 3.0  # a different top-1 everywhere
    job = ArtifactJob(names=ArtifactNames(tmp_path, "ghostnet_050"), image_size=224, bare=True,
                      labels=[f"c{i}" for i in range(1000)], description="t", preprocessing=PRE,
                      source_info={}, reference=bad)
    with pytest.raises(VerificationError, match="does not match torch"):
        finish_tflite("fp32", result.artifacts["fp32"].read_bytes(), job)
    assert list(tmp_path.iterdir()) == []


def result_reference(result):
    """Rebuild the verification reference from the kept ONNX model (bare: logits)."""
    from ghostedge.convert.verify import Reference, run_onnx, verification_inputs
    from ghostedge.data.preprocess import bundled_photos

    names, inputs = verification_inputs(bundled_photos(), PRE, 224, bare=True)
    outputs = run_onnx(result.artifacts["onnx"], np.ascontiguousarray(inputs.transpose(0, 3, 1, 2)))
    return Reference(names, inputs, outputs, bare=True)
