"""``ghostedge convert`` without ``--model`` picks the model that fits ``--weights`` (the issue's
``ghostedge convert --weights paddle:GhostNet_x1_3_ssld --int8``). Fast: nothing is converted —
an existing output stops the command right after the model name is resolved."""
from __future__ import annotations

import argparse

from ghostedge.cli.convert import resolve_model
from ghostedge.cli.main import main


def _args(model, weights):
    return argparse.Namespace(model=model, weights=weights)


def test_resolve_model_from_weights():
    assert resolve_model(_args(None, "paddle:GhostNet_x1_3_ssld")) == "paddle_ghostnet_x1_3"
    assert resolve_model(_args(None, "paddle:GhostNet_x0_5")) == "paddle_ghostnet_x0_5"
    assert resolve_model(_args(None, "imagenet")) == "ghostnet_100"
    assert resolve_model(_args(None, "random")) == "ghostnet_100"
    assert resolve_model(_args("ghostnet_130", "paddle:GhostNet_x1_3_ssld")) == "ghostnet_130"  # explicit wins


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
