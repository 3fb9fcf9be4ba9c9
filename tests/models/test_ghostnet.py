"""Key/shape parity of ghostedge's GhostNet with timm's (fixture generated from timm's own code)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "models" / "timm_ghostnet_state_dict.json"
PARAMS = {"ghostnet_050": 2_587_292, "ghostnet_100": 5_182_508, "ghostnet_130": 7_358_820}


@pytest.fixture(scope="module")
def timm_layout() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["models"]


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_state_dict_keys_and_shapes_match_timm(name, timm_layout):
    from ghostedge.models.registry import create_model

    model = create_model(name)
    ours = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    theirs = timm_layout[name]["state_dict"]
    assert [k for k, _ in ours] == [k for k, _ in theirs]
    mismatched = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert not mismatched, mismatched[:5]


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_param_counts(name, timm_layout):
    from ghostedge.models.ghostnet import count_params
    from ghostedge.models.registry import create_model, get_spec

    assert timm_layout[name]["params"] == PARAMS[name]
    assert count_params(create_model(name)) == PARAMS[name]
    assert get_spec(name).params == PARAMS[name]
