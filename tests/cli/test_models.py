"""`ghostedge models`: the table, --json, and no heavy imports."""
from __future__ import annotations

import json
import subprocess
import sys

from ghostedge.cli.main import main


def test_models_json_lists_every_variant(capsys, cache_dir):
    from ghostedge.models.registry import list_specs

    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["models"]}
    assert set(rows) == {s.name for s in list_specs()}
    r = rows["ghostnet_100"]
    assert r["params"] == 5_182_508 and 140 < r["macs_m"] < 142 and r["width"] == 1.0
    assert r["weight_sources"] == ["imagenet", "timm", "huawei"] and r["cached_sources"] == []
    assert r["reference"]["top1"] == 0.7398 and r["reference"]["sd855_ms"]["1"] == 12.89
    assert rows["ghostnet_050"]["params"] == 2_587_292 and rows["ghostnet_050"]["weight_sources"] == []
    assert rows["ghostnet_130"]["params"] == 7_358_820


def test_models_table(capsys, cache_dir):
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    dest = hub.cache_path_for_url(NAMED_SOURCES["huawei"][0].url)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"x")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("ghostnet_100 "))
    for cell in ("GhostNet_x1_0", "5.18", "141.2", "imagenet*", "huawei*", "torchvision", "74.0", "91.5",
                 "12.89/8.66/6.72"):
        assert cell in line, cell
    assert "timm*" not in line
    assert "random" in out


def test_models_imports_nothing_heavy():
    code = ("import sys; from ghostedge.cli.main import main; main(['models', '--json']); "
            "heavy = [m for m in ('torch', 'tensorflow', 'onnx', 'cv2', 'PIL', 'matplotlib') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
