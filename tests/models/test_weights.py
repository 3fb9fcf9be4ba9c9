"""Every --weights input form, and every bad one, through ghostedge.models.weights.load_model."""
from __future__ import annotations

import logging
import os
import pickle

import pytest
import torch  # noqa: E402 - the weights tests need torch

from ghostedge.errors import DownloadError, ModelError, WeightsError
from ghostedge.models.checkpoints import normalize_state_dict
from ghostedge.models.weights import load_model


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Two intra-op threads on a shared 2-core machine are ~15x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _state(name="ghostnet_050", num_classes=1000, seed=0):
    from ghostedge.models.registry import create_model

    torch.manual_seed(seed)
    model = create_model(name, num_classes=num_classes)
    with torch.no_grad():  # distinctive BN statistics, so a silent skip of buffers would show
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    return model.state_dict()


@pytest.fixture(scope="module")
def sd050():
    return _state()


def _assert_loaded(loaded, expected):
    got = loaded.model.state_dict()
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert torch.equal(got[k], v.to(got[k].dtype)), k
    assert not loaded.model.training


def test_plain_state_dict(tmp_path, sd050):
    path = tmp_path / "w.pth"
    torch.save(sd050, path)
    loaded = load_model("ghostnet_050", str(path))
    _assert_loaded(loaded, sd050)
    info = loaded.weights_info
    assert info["kind"] == "file" and info["path"] == str(path) and len(info["sha256"]) == 64
    assert info["num_classes"] == 1000 and loaded.preprocessing == "torchvision"
    assert loaded.spec.name == "ghostnet_050"


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_wrapped_and_module_prefixed(tmp_path, sd050, wrapper):
    path = tmp_path / "ckpt.pt"
    torch.save({wrapper: {f"module.{k}": v for k, v in sd050.items()}, "epoch": 7,
                "optimizer": {"lr": 0.1}}, path)
    loaded = load_model("ghostnet_050", str(path))
    _assert_loaded(loaded, sd050)
    notes = " ".join(loaded.weights_info["notes"])
    assert wrapper in notes and "module." in notes


def test_legacy_non_zip_format_and_its_truncation(tmp_path, sd050):
    path = tmp_path / "legacy.pth"
    torch.save(sd050, path, _use_new_zipfile_serialization=False)
    _assert_loaded(load_model("ghostnet_050", str(path)), sd050)
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match="truncated or damaged"):
        load_model("ghostnet_050", str(tmp_path / "cut.pth"))


def test_bin_suffix_and_thop_counters_and_missing_bn_counters(tmp_path, sd050):
    state = {k: v for k, v in sd050.items() if not k.endswith("num_batches_tracked")}
    state["conv_stem.total_ops"] = torch.zeros(1)
    state["total_params"] = torch.zeros(1)
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)
    loaded = load_model("ghostnet_050", str(path))
    assert torch.equal(loaded.model.state_dict()["conv_stem.weight"], sd050["conv_stem.weight"])


def test_safetensors_and_hf_style_folder(tmp_path, sd050):
    from safetensors.torch import save_file

    folder = tmp_path / "hf"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in sd050.items()}, str(folder / "model.safetensors"))
    _assert_loaded(load_model("ghostnet_050", str(folder / "model.safetensors")), sd050)
    _assert_loaded(load_model("ghostnet_050", str(folder)), sd050)


def test_fp16_checkpoint_is_cast(tmp_path, sd050):
    path = tmp_path / "half.pth"
    torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in sd050.items()}, path)
    loaded = load_model("ghostnet_050", str(path))
    assert loaded.model.conv_stem.weight.dtype == torch.float32
    assert torch.allclose(loaded.model.conv_stem.weight, sd050["conv_stem.weight"], atol=1e-2)


def test_ten_class_checkpoint_takes_its_class_count(tmp_path):
    state = _state(num_classes=10, seed=1)
    path = tmp_path / "ten.pth"
    torch.save(state, path)
    loaded = load_model("ghostnet_050", str(path))
    _assert_loaded(loaded, state)
    assert loaded.weights_info["num_classes"] == 10
    assert loaded.model(torch.zeros(1, 3, 224, 224)).shape == (1, 10)
    assert load_model("ghostnet_050", str(path), num_classes=10).weights_info["num_classes"] == 10
    with pytest.raises(WeightsError, match="has 10 classes, not 1000"):
        load_model("ghostnet_050", str(path), num_classes=1000)


@pytest.mark.slow  # 20 train-mode forward passes to re-estimate BatchNorm statistics
def test_random_weights_warn_and_recalibrate(caplog):
    with caplog.at_level(logging.WARNING, logger="ghostedge"):
        loaded = load_model("ghostnet_050", "random", num_classes=10)
    assert "untrained" in caplog.text
    assert loaded.weights_info["kind"] == "random" and loaded.weights_info["num_classes"] == 10
    # BatchNorm statistics were re-estimated on real photos (not the 0/1 defaults)
    assert float(loaded.model.bn1.running_var.mean()) != pytest.approx(1.0)
    assert not loaded.model.training


# ---------------------------------------------------------------- bad inputs

def test_unknown_model():
    with pytest.raises(ModelError, match="Unknown model 'ghostnet_999'"):
        load_model("ghostnet_999", "random")


def test_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_model("ghostnet_050", str(tmp_path / "nope.pth"))


def test_unknown_source_name():
    with pytest.raises(WeightsError, match="Unknown weights 'imagenet21k'.*imagenet, timm, huawei, random"):
        load_model("ghostnet_050", "imagenet21k")


def test_empty_file(tmp_path):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(WeightsError, match="empty"):
        load_model("ghostnet_050", str(tmp_path / "empty.pth"))


def test_truncated_checkpoints(tmp_path, sd050):
    from safetensors.torch import save_file

    full = tmp_path / "full.pth"
    torch.save(sd050, full)
    (tmp_path / "cut.pth").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(WeightsError, match="truncated or damaged"):
        load_model("ghostnet_050", str(tmp_path / "cut.pth"))
    save_file({k: v.contiguous() for k, v in sd050.items()}, str(tmp_path / "full.safetensors"))
    data = (tmp_path / "full.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="safetensors"):
        load_model("ghostnet_050", str(tmp_path / "cut.safetensors"))


@pytest.mark.parametrize("content,name", [(b"hello, not weights\n", "notes.pth"),
                                          (b"\x00" * 64, "zeros.pt"),
                                          (b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32, "model.pth")])
def test_not_a_checkpoint(tmp_path, content, name):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(WeightsError, match="not a (PyTorch|checkpoint)|TFLite model|only zero bytes"):
        load_model("ghostnet_050", str(tmp_path / name))


def test_whole_pickled_module_is_refused(tmp_path):
    from ghostedge.models.registry import create_model

    torch.save(create_model("ghostnet_050"), tmp_path / "whole.pth")
    with pytest.raises(WeightsError, match="Refused.*GhostNet.*nothing in it was executed"):
        load_model("ghostnet_050", str(tmp_path / "whole.pth"))


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("legacy", [True, False])
def test_malicious_pickle_runs_nothing(tmp_path, legacy):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    if legacy:
        with open(path, "wb") as fh:
            pickle.dump({"conv_stem.weight": _Exploit(marker)}, fh)
    else:
        torch.save({"conv_stem.weight": _Exploit(marker)}, path)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="Refused.*nothing in it was executed"):
        load_model("ghostnet_050", str(path))
    assert not marker.exists()


def test_wrong_width_names_mis_shaped_keys(tmp_path, sd050):
    torch.save(sd050, tmp_path / "w050.pth")
    with pytest.raises(WeightsError) as err:
        load_model("ghostnet_100", str(tmp_path / "w050.pth"))
    text = err.value.one_line()
    assert "does not fit ghostnet_100" in text
    assert "mis-shaped (conv_stem.weight: checkpoint [8, 3, 3, 3] vs model [16, 3, 3, 3]" in text
    assert "--model ghostnet_050" in text
    assert "\n" not in text


def test_other_network_names_missing_and_unexpected(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Linear(8, 4))
    torch.save(net.state_dict(), tmp_path / "other.pth")
    with pytest.raises(WeightsError) as err:
        load_model("ghostnet_050", str(tmp_path / "other.pth"))
    text = err.value.one_line()
    assert "missing keys (conv_stem.weight, bn1.weight, bn1.bias, ...)" in text
    assert "unexpected keys (0.weight, 0.bias, 1.weight, ...)" in text
    assert "not a GhostNet" in text


def test_non_tensor_payloads(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="holds a list"):
        load_model("ghostnet_050", str(tmp_path / "list.pth"))
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "meta.pth")
    with pytest.raises(WeightsError, match="no tensors"):
        load_model("ghostnet_050", str(tmp_path / "meta.pth"))


def test_named_source_not_available_for_width(monkeypatch, tmp_path):
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(WeightsError, match="ghostnet_050 has no 'imagenet' weights.*PaddleClas"):
        load_model("ghostnet_050", "imagenet", cache_dir=tmp_path)
    with pytest.raises(WeightsError, match="ghostnet_130 has no 'timm' weights"):
        load_model("ghostnet_130", "timm", cache_dir=tmp_path)


def test_named_source_offline_and_not_cached_names_cache_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(DownloadError) as err:
        load_model("ghostnet_100", "imagenet", cache_dir=tmp_path)
    text = err.value.one_line()
    assert "GHOSTEDGE_OFFLINE" in text
    assert str(tmp_path / "downloads" / "huggingface.co" / "timm" / "ghostnet_100.in1k") in text
    assert "state_dict_73.98.pth" in text
    assert not list((tmp_path).rglob("*.part"))


def test_named_source_uses_cached_file_offline(monkeypatch, tmp_path):
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    state = _state("ghostnet_100", seed=3)
    dest = hub.cache_path_for_url(NAMED_SOURCES["huawei"][0].url, tmp_path)
    dest.parent.mkdir(parents=True)
    torch.save(state, dest)
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    loaded = load_model("ghostnet_100", "huawei", cache_dir=tmp_path)
    _assert_loaded(loaded, state)
    assert loaded.weights_info["kind"] == "named" and loaded.weights_info["url"].endswith("73.98.pth")
    assert hub.read_provenance(dest)["sha256"] == loaded.weights_info["sha256"]


def test_paddle_weights_need_a_paddle_model():
    with pytest.raises(WeightsError, match="PaddleClas weights.*paddle"):
        load_model("ghostnet_100", "paddle:GhostNet_x1_0")


def test_normalize_state_dict_renames_like_timm():
    t = torch.zeros(1)
    state, notes = normalize_state_dict({"_orig_mod.blocks.0.0.ghost1.bn.weight": t,
                                         "_orig_mod.conv_stem.weight": t})
    assert set(state) == {"blocks.0.0.ghost1.bn1.weight", "conv_stem.weight"}
    assert any("_orig_mod." in n for n in notes)


def test_named_source_placed_by_hand_warns_unverified(monkeypatch, tmp_path, caplog):
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    state = _state("ghostnet_100", seed=4)
    dest = hub.cache_path_for_url(NAMED_SOURCES["huawei"][0].url, tmp_path)
    dest.parent.mkdir(parents=True)
    torch.save(state, dest)
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="ghostedge"):
        loaded = load_model("ghostnet_100", "huawei", cache_dir=tmp_path)
    assert loaded.weights_info["sha256_verified"] is False
    text = caplog.text
    assert "could not be verified against a published hash" in text
    assert str(dest) in text and loaded.weights_info["sha256"] in text and "now recorded" in text


def test_unreadable_named_source_in_cache_is_removed(monkeypatch, tmp_path):
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    dest = hub.cache_path_for_url(NAMED_SOURCES["huawei"][0].url, tmp_path)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"<html>rate limited</html>")
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(DownloadError, match="removed from the cache; rerun to download it again"):
        load_model("ghostnet_100", "huawei", cache_dir=tmp_path)
    assert not dest.exists() and not hub.provenance_path(dest).exists()


@pytest.mark.slow  # two random models, each with BatchNorm re-estimation
def test_random_weights_are_reproducible_and_leave_global_rng_alone():
    before = torch.get_rng_state()
    first = load_model("ghostnet_050", "random")
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(12345)  # a different global state must not change the network
    second = load_model("ghostnet_050", "random")
    a, b = first.model.state_dict(), second.model.state_dict()
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert first.weights_info["seed"] == 0
    assert any("seed 0" in n for n in first.weights_info["notes"])


@pytest.mark.parametrize("name", ["weights.pth", "weights.pdparams", "weights"])
def test_all_zero_file_is_called_a_failed_download(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(bytes(4096))
    with pytest.raises(WeightsError) as info:
        load_model("ghostnet_100" if not name.endswith("pdparams") else "paddle_ghostnet_x1_0", str(path))
    line = info.value.one_line()
    assert "zero bytes" in line and ".pdiparams" not in line, line
