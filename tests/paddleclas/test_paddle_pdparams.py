""".pdparams without Paddle: restricted unpickling, name/layout mapping, bad input, named sources."""
from __future__ import annotations

import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from ghostedge.errors import DownloadError, ModelError, WeightsError
from ghostedge.models import hub
from ghostedge.models.paddle_pickle import paddle_inference_error, read_pdparams
from ghostedge.models.pdparams import PADDLE_SOURCES, is_paddle_weights, load_named_or_file, source_rows
from ghostedge.models.registry import get_spec
from paddleclas.pdparams_helpers import paddle_arrays, random_paddle_model, write_pdparams  # tests/ on path


@pytest.fixture(scope="module")
def x05():
    return random_paddle_model(0.5, seed=1)


@pytest.fixture(scope="module")
def x05_arrays(x05):
    return paddle_arrays(x05)


def _logits(model, state=None):
    if state is not None:
        model.load_state_dict(state)
    torch.manual_seed(0)
    with torch.no_grad():
        return model.eval()(torch.randn(1, 3, 112, 112)).numpy()


@pytest.mark.parametrize("variant", [
    {"protocol": 4}, {"protocol": 2}, {"protocol": 3, "tuples": True}, {"protocol": 4, "param_names": True}])
def test_pdparams_variants_load_exactly(tmp_path, x05, x05_arrays, variant):
    path = write_pdparams(tmp_path / "GhostNet_x0_5_pretrained.pdparams", x05_arrays, **variant)
    state, info = load_named_or_file(str(path), get_spec("paddle_ghostnet_x0_5"))
    fresh = get_spec("paddle_ghostnet_x0_5").build()
    np.testing.assert_array_equal(_logits(fresh, state), _logits(x05))
    assert info["preprocessing"] == "paddle" and info["num_classes"] == 1000
    assert info["display_name"] == "GhostNet_x0_5" and info["tensors"] == 435
    # Linear weights are stored [in, out] by Paddle and transposed on the way in
    assert state["classifier.weight"].shape == (1000, 1280)
    np.testing.assert_array_equal(state["classifier.weight"].numpy(), x05_arrays["fc_1.weight"].T)


class _RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Evals:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("make", [
    lambda m: _RunsCommand(m),                                              # the whole file
    lambda m: {"conv1._conv.weight": np.zeros((8, 3, 3, 3), np.float32), "x": _RunsCommand(m)},
    lambda m: {"fc_1.bias": ("fc_1_offset", _Evals(m))},                    # inside a tuple
    lambda m: {"w": np.array([_RunsCommand(m)], dtype=object)},             # inside an object array
])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, make):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pdparams"
    path.write_bytes(pickle.dumps(make(marker), protocol=4))
    with pytest.raises(WeightsError) as err:
        read_pdparams(path)
    assert not marker.exists()
    text = str(err.value)
    assert "Refused" in text and "nothing from the file was run" in text
    assert ("posix.system" in text or "builtins.eval" in text or "os.system" in text)


def test_malicious_pdparams_refused_through_load_named_or_file(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pdparams"
    path.write_bytes(pickle.dumps({"a": _RunsCommand(marker)}, protocol=2))
    with pytest.raises(WeightsError):
        load_named_or_file(str(path), get_spec("paddle_ghostnet_x0_5"))
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0.5, 0.999, 20])
def test_truncated_pdparams_gives_clear_error(tmp_path, x05_arrays, keep):
    full = write_pdparams(tmp_path / "full.pdparams", x05_arrays).read_bytes()
    cut = tmp_path / "cut.pdparams"
    cut.write_bytes(full[: int(len(full) * keep)] if keep < 1 else full[:keep])
    with pytest.raises(WeightsError, match="truncated or corrupt") as err:
        read_pdparams(cut)
    assert "Download the .pdparams again" in str(err.value)


def test_empty_and_non_pickle_files(tmp_path):
    empty = tmp_path / "empty.pdparams"
    empty.write_bytes(b"")
    with pytest.raises(WeightsError, match="empty file"):
        read_pdparams(empty)
    zipped = tmp_path / "model.pdparams"
    zipped.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(WeightsError, match="zip archive"):
        read_pdparams(zipped)
    with pytest.raises(WeightsError, match="does not exist"):
        read_pdparams(tmp_path / "missing.pdparams")


def _inference_files(folder):
    folder.mkdir()
    (folder / "inference.pdmodel").write_bytes(b"\x0a\x8c\x03\x12\x00" + b"\1" * 64)
    (folder / "inference.pdiparams").write_bytes(bytes(16) + b"\x2a\0\0\0" + b"\2" * 64)
    (folder / "inference.pdiparams.info").write_bytes(b"\3" * 16)
    return folder


def test_paddle_inference_model_is_named_and_redirected(tmp_path):
    folder = _inference_files(tmp_path / "GhostNet_x1_0_infer")
    tar_path = tmp_path / "GhostNet_x1_0_infer.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(folder, arcname=folder.name)
    renamed = tmp_path / "model.pdparams"                     # an inference file under a wrong name
    renamed.write_bytes((folder / "inference.pdiparams").read_bytes())
    for given in (folder / "inference.pdiparams", folder / "inference.pdmodel", folder):
        with pytest.raises(WeightsError, match="Paddle inference model") as err:
            read_pdparams(given)
        assert "paddle:GhostNet_x1_0" in str(err.value) and ".pdparams" in str(err.value)
    with pytest.raises(WeightsError, match="tar of a Paddle inference model"):
        read_pdparams(tar_path)
    with pytest.raises(WeightsError, match="Paddle inference model parameters"):
        read_pdparams(renamed)
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"GIF89a" + bytes(40))
    with pytest.raises(WeightsError, match="not a pickle"):
        read_pdparams(junk)
    # for checkpoint readers that route by file name (ghostedge.models.weights)
    assert "inference model" in str(paddle_inference_error(folder / "inference.pdmodel"))
    assert paddle_inference_error(junk) is None


def test_wrong_width_names_the_mismatches_and_the_right_model(tmp_path, x05_arrays):
    path = write_pdparams(tmp_path / "x05.pdparams", x05_arrays)
    with pytest.raises(WeightsError) as err:
        load_named_or_file(str(path), get_spec("paddle_ghostnet_x1_0"))
    text = str(err.value)
    assert "shape mismatches" in text
    assert "conv1._conv.weight is [8, 3, 3, 3], model conv_stem.weight needs [16, 3, 3, 3]" in text
    assert "use --model paddle_ghostnet_x0_5" in text


def test_other_network_reports_missing_and_unexpected_keys(tmp_path):
    other = {"conv1_weights": np.zeros((32, 3, 3, 3), np.float32),
             "conv2_1_sep_weights": np.zeros((64, 32, 1, 1), np.float32),
             "fc7_weights": np.zeros((1024, 1000), np.float32)}
    path = tmp_path / "MobileNetV1_pretrained.pdparams"
    path.write_bytes(pickle.dumps(other, protocol=4))
    with pytest.raises(WeightsError) as err:
        load_named_or_file(str(path), get_spec("paddle_ghostnet_x1_0"))
    text = str(err.value)
    assert "missing keys" in text and "unexpected keys: conv2_1_sep_weights, fc7_weights" in text
    assert "conv1_bn_scale (for bn1.weight)" in text or "missing keys: conv1_bn_scale" in text


def test_non_array_entries_are_refused(tmp_path):
    path = tmp_path / "odd.pdparams"
    path.write_bytes(pickle.dumps({"conv1._conv.weight": "not an array"}, protocol=4))
    with pytest.raises(WeightsError, match="not a numeric array"):
        read_pdparams(path)
    path.write_bytes(pickle.dumps([np.zeros(3)], protocol=4))
    with pytest.raises(WeightsError, match="holds a list"):
        read_pdparams(path)


def test_named_ssld_source_from_cache_keeps_its_table_name(tmp_path, monkeypatch):
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    source = PADDLE_SOURCES["GhostNet_x1_3_ssld"]
    assert source.url.endswith("/dygraph/GhostNet_x1_3_ssld_pretrained.pdparams")
    cached = hub.cache_path_for_url(source.url, tmp_path)
    cached.parent.mkdir(parents=True)
    model = random_paddle_model(1.3, seed=2)
    write_pdparams(cached, paddle_arrays(model))
    spec = get_spec("paddle_ghostnet_x1_3")
    state, info = load_named_or_file("paddle:GhostNet_x1_3_ssld", spec, tmp_path)
    assert info["display_name"] == "GhostNet_x1_3_ssld" and info["source"] == "paddle:GhostNet_x1_3_ssld"
    assert info["preprocessing"] == "paddle" and info["url"] == source.url
    assert info["reference"]["top1"] == 0.794 and info["reference"]["top5"] == 0.945
    assert info["sha256_verified"] is False and len(info["sha256"]) == 64
    expected = model.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in state.items() if "num_batches" not in k)
    # The hash is recorded beside the cached file on first use
    assert hub.read_provenance(cached)["sha256"] == info["sha256"]


def test_named_sources_check_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(ModelError, match="Use --model paddle_ghostnet_x0_5"):
        load_named_or_file("paddle:GhostNet_x0_5", get_spec("paddle_ghostnet_x1_0"), tmp_path)
    with pytest.raises(ModelError, match="Use --model paddle_ghostnet_x1_0"):
        load_named_or_file("paddle:GhostNet_x1_0", get_spec("ghostnet_100"), tmp_path)
    with pytest.raises(WeightsError, match="paddle:GhostNet_x1_3_ssld"):
        load_named_or_file("paddle:GhostNet_x2_0", get_spec("paddle_ghostnet_x1_0"), tmp_path)
    with pytest.raises(DownloadError) as err:   # offline and not cached: says where to put it
        load_named_or_file("paddle:GhostNet_x1_0", get_spec("paddle_ghostnet_x1_0"), tmp_path)
    assert str(hub.cache_path_for_url(PADDLE_SOURCES["GhostNet_x1_0"].url, tmp_path)) in str(err.value)


def test_pdparams_file_into_timm_layout_is_refused(tmp_path, x05_arrays):
    path = write_pdparams(tmp_path / "x05.pdparams", x05_arrays)
    with pytest.raises(ModelError, match="paddle_ghostnet_x0_5"):
        load_named_or_file(str(path), get_spec("ghostnet_050"))


def test_source_rows_for_models_listing(tmp_path):
    rows = {r["source"]: r for r in source_rows(tmp_path)}
    assert set(rows) == {f"paddle:{n}" for n in ("GhostNet_x0_5", "GhostNet_x1_0", "GhostNet_x1_3",
                                                   "GhostNet_x1_3_ssld")}
    ssld = rows["paddle:GhostNet_x1_3_ssld"]
    assert ssld["model"] == "paddle_ghostnet_x1_3" and ssld["display_name"] == "GhostNet_x1_3_ssld"
    assert ssld["preprocessing"] == "paddle" and ssld["cached"] is False
    assert ssld["reference"]["sd855_ms"] == {1: 19.16, 2: 17.85, 4: 10.18}
    assert rows["paddle:GhostNet_x0_5"]["reference"]["top1"] == 0.668


def test_is_paddle_weights():
    assert is_paddle_weights("paddle:GhostNet_x1_0") and is_paddle_weights("/a/b/M.PDPARAMS")
    assert not is_paddle_weights("imagenet") and not is_paddle_weights("model.pth")


def test_weights_load_model_uses_paddle_loader(tmp_path, monkeypatch, x05_arrays, x05):
    from ghostedge.models.weights import load_model

    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    cached = hub.cache_path_for_url(PADDLE_SOURCES["GhostNet_x0_5"].url, tmp_path)
    cached.parent.mkdir(parents=True)
    write_pdparams(cached, x05_arrays)
    loaded = load_model("paddle_ghostnet_x0_5", "paddle:GhostNet_x0_5", cache_dir=tmp_path)
    assert loaded.preprocessing == "paddle"
    assert loaded.weights_info["display_name"] == "GhostNet_x0_5"
    np.testing.assert_array_equal(_logits(loaded.model), _logits(x05))


def test_named_source_downloads_once_and_records_its_hash(tmp_path, monkeypatch, x05_arrays, caplog):
    """First use downloads (here from a local HTTP server standing in for bcebos.com), records the
    SHA-256 (none is published); the second use takes the cached, hash-checked file."""
    import dataclasses
    import functools
    import http.server
    import threading

    served = tmp_path / "srv"
    served.mkdir()
    write_pdparams(served / "GhostNet_x0_5_pretrained.pdparams", x05_arrays)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/GhostNet_x0_5_pretrained.pdparams"
        monkeypatch.setitem(PADDLE_SOURCES, "GhostNet_x0_5",
                            dataclasses.replace(PADDLE_SOURCES["GhostNet_x0_5"], url=url))
        monkeypatch.delenv("GHOSTEDGE_OFFLINE", raising=False)
        spec = get_spec("paddle_ghostnet_x0_5")
        with caplog.at_level("WARNING", logger="ghostedge.models.pdparams"):
            _, first = load_named_or_file("paddle:GhostNet_x0_5", spec, tmp_path / "cache")
        assert "publishes no SHA-256" in caplog.text and first["sha256"] in caplog.text
        from ghostedge.fileio import sha256_file

        assert first["sha256"] == sha256_file(served / "GhostNet_x0_5_pretrained.pdparams")
        (served / "GhostNet_x0_5_pretrained.pdparams").unlink()        # server no longer has it
        caplog.clear()
        _, second = load_named_or_file("paddle:GhostNet_x0_5", spec, tmp_path / "cache")
        assert second["sha256"] == first["sha256"] and second["path"] == first["path"]
        assert "publishes no SHA-256" not in caplog.text
    finally:
        server.shutdown()
        server.server_close()


def test_model_for_weights(tmp_path, x05_arrays):
    from ghostedge.models.pdparams import model_for_weights

    assert model_for_weights("paddle:GhostNet_x1_3_ssld") == "paddle_ghostnet_x1_3"
    assert model_for_weights("paddle:ghostnet_x0_5_pretrained") == "paddle_ghostnet_x0_5"
    assert model_for_weights("paddle:GhostNet_x9") is None and model_for_weights("imagenet") is None
    path = write_pdparams(tmp_path / "mine.pdparams", x05_arrays)
    assert model_for_weights(str(path)) == "paddle_ghostnet_x0_5"
