"""PaddleClas routing outside pdparams: inference models given as --weights, the right --model hint
for paddle:* sources, default_model_for, the named sources in `ghostedge models`, table names."""
from __future__ import annotations

import json
import pickle
import tarfile

import numpy as np
import pytest

from ghostedge.cli.main import main
from ghostedge.errors import WeightsError
from ghostedge.models.weights import default_model_for, load_model


def _inference_folder(folder):
    """What PaddleClas's *_infer.tar holds (contents as pdparams' own tests fake them)."""
    folder.mkdir()
    (folder / "inference.pdmodel").write_bytes(b"\x0a\x8c\x03\x12\x00" + b"\1" * 64)
    (folder / "inference.pdiparams").write_bytes(bytes(16) + b"\x2a\0\0\0" + b"\2" * 64)
    (folder / "inference.pdiparams.info").write_bytes(b"\3" * 16)
    return folder


def _stem_only_pdparams(path, channels):
    """A .pdparams holding only PaddleClas's stem conv: enough to tell the width (8/16/20 → 0.5/1/1.3)."""
    path.write_bytes(pickle.dumps({"conv1._conv.weight": np.zeros((channels, 3, 3, 3), np.float32)},
                                  protocol=4))
    return path


@pytest.fixture()
def offline(monkeypatch):
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")


def test_inference_models_as_weights_say_what_they_are(tmp_path, offline):
    folder = _inference_folder(tmp_path / "GhostNet_x1_0_infer")
    tar_path = tmp_path / "GhostNet_x1_0_infer.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(folder, arcname=folder.name)
    for given in (folder / "inference.pdmodel", folder / "inference.pdiparams", folder):
        with pytest.raises(WeightsError, match="Paddle inference model") as err:
            load_model("ghostnet_100", str(given), cache_dir=tmp_path)
        text = err.value.one_line()
        assert "paddle:GhostNet_x1_0" in text and ".pdparams" in text
        assert "not a PyTorch" not in text
    with pytest.raises(WeightsError, match="tar of a Paddle inference model"):
        load_model("ghostnet_100", str(tar_path), cache_dir=tmp_path)


def test_read_checkpoint_refuses_inference_folders_too(tmp_path):
    from ghostedge.models.checkpoints import read_checkpoint

    folder = _inference_folder(tmp_path / "infer")
    with pytest.raises(WeightsError, match="Paddle inference model"):
        read_checkpoint(folder)


def test_torch_named_files_keep_the_checkpoint_errors(tmp_path):
    zeros = tmp_path / "zeros.pt"                 # a zero-filled download is not a .pdiparams
    zeros.write_bytes(bytes(64))
    with pytest.raises(WeightsError, match="only zero bytes") as err:
        load_model("ghostnet_050", str(zeros))
    assert "inference" not in err.value.one_line()


def test_paddle_source_into_timm_model_names_the_matching_paddle_model(tmp_path, offline):
    with pytest.raises(WeightsError) as err:
        load_model("ghostnet_100", "paddle:GhostNet_x1_3_ssld", cache_dir=tmp_path)
    text = err.value.one_line()
    assert "Use --model paddle_ghostnet_x1_3" in text and "x1_0" not in text
    with pytest.raises(WeightsError, match="Use --model paddle_ghostnet_x0_5"):
        load_model("ghostnet_130", "paddle:GhostNet_x0_5", cache_dir=tmp_path)
    with pytest.raises(WeightsError, match="Unknown PaddleClas weights.*paddle:GhostNet_x1_3_ssld"):
        load_model("ghostnet_100", "paddle:GhostNet_x9", cache_dir=tmp_path)
    assert not list(tmp_path.rglob("*.pdparams"))          # nothing was downloaded


def test_pdparams_file_into_timm_model_names_its_width(tmp_path):
    path = _stem_only_pdparams(tmp_path / "mine.pdparams", 20)
    with pytest.raises(WeightsError, match="Use --model paddle_ghostnet_x1_3"):
        load_model("ghostnet_100", str(path))
    broken = tmp_path / "cut.pdparams"
    broken.write_bytes(path.read_bytes()[:40])
    with pytest.raises(WeightsError, match="truncated or corrupt"):   # the real problem, not the family
        load_model("ghostnet_100", str(broken))


def test_default_model_for(tmp_path):
    assert default_model_for("paddle:GhostNet_x1_3_ssld") == "paddle_ghostnet_x1_3"
    assert default_model_for("paddle:GhostNet_x0_5") == "paddle_ghostnet_x0_5"
    assert default_model_for("paddle:ghostnet_x1_0_pretrained") == "paddle_ghostnet_x1_0"
    for channels, model in ((8, "paddle_ghostnet_x0_5"), (16, "paddle_ghostnet_x1_0"),
                            (20, "paddle_ghostnet_x1_3")):
        assert default_model_for(str(_stem_only_pdparams(tmp_path / f"w{channels}.PDPARAMS", channels))) == model
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"GIF89a" + bytes(40))
    for weights in ("imagenet", "huawei", "random", "", None, "w.pth", "paddle:GhostNet_x9",
                    str(junk), str(tmp_path / "missing.pdparams")):
        assert default_model_for(weights) == "ghostnet_100", weights


def test_models_json_lists_named_sources_with_their_own_figures(capsys, cache_dir):
    from ghostedge.models import hub
    from ghostedge.models.pdparams import PADDLE_SOURCES

    dest = hub.cache_path_for_url(PADDLE_SOURCES["GhostNet_x1_3_ssld"].url)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"x")
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    sources = {r["source"]: r for r in data["sources"]}
    assert list(sources)[:3] == ["imagenet", "timm", "huawei"]
    ssld = sources["paddle:GhostNet_x1_3_ssld"]
    assert ssld["model"] == "paddle_ghostnet_x1_3" and ssld["display_name"] == "GhostNet_x1_3_ssld"
    assert ssld["reference"]["top1"] == 0.794 and ssld["reference"]["top5"] == 0.945
    assert ssld["reference"]["sd855_ms"] == {"1": 19.16, "2": 17.85, "4": 10.18}
    assert ssld["cached"] is True and ssld["preprocessing"] == "paddle"
    assert sources["paddle:GhostNet_x1_3"]["reference"]["top1"] == 0.757
    assert sources["paddle:GhostNet_x1_3"]["cached"] is False
    assert sources["imagenet"]["model"] == "ghostnet_100" and sources["imagenet"]["reference"]["top1"] == 0.7398
    assert len(sources["imagenet"]["urls"]) == 2 and sources["huawei"]["cached"] is False
    rows = {r["name"]: r for r in data["models"]}
    assert rows["paddle_ghostnet_x1_3"]["cached_sources"] == ["paddle:GhostNet_x1_3_ssld"]


def test_models_table_lists_named_sources(capsys, cache_dir):
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    dest = hub.cache_path_for_url(NAMED_SOURCES["timm"][0].url)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"x")
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ssld = next(line for line in lines if line.startswith("paddle:GhostNet_x1_3_ssld "))
    for cell in ("paddle_ghostnet_x1_3", "GhostNet_x1_3_ssld", "paddle", "79.4", "94.5", "19.16/17.85/10.18"):
        assert cell in ssld, cell
    assert next(line for line in lines if line.startswith("timm* ")).split()[1] == "ghostnet_100"
    assert next(line for line in lines if line.startswith("imagenet* "))   # either of its files
    assert any(line.startswith("huawei ") for line in lines)


def test_spec_for_display_name_prefers_the_family():
    from ghostedge.models.registry import spec_for_display_name

    assert spec_for_display_name("GhostNet_x1_0").name == "ghostnet_100"
    assert spec_for_display_name("GhostNet_x1_0", family="paddle").name == "paddle_ghostnet_x1_0"
    assert spec_for_display_name("GhostNet_x1_3", family="timm").name == "ghostnet_130"
    assert spec_for_display_name("GhostNet_x0_5", family="other").name == "ghostnet_050"
    assert spec_for_display_name("GhostNet_x9") is None
