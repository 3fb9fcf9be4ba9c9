"""Fixtures for the adb transport tests: fake phones on private adb servers (from
``fakephone.fixtures``), a tiny model, and a scripted stand-in for the adb client."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from fakephone.fixtures import adb_sandbox, fake_binary, fake_phone, make_phone  # noqa: F401  (fixtures)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture()
def tiny_model(tmp_path: Path) -> Path:
    """A 10 KB float32 MLP .tflite (tests/data/adb/tiny_fc.tflite), copied per test."""
    dest = tmp_path / "models" / "tiny_fc.tflite"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "adb" / "tiny_fc.tflite", dest)
    return dest


FAKE_ADB = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as fh:
    fh.write(json.dumps(args) + "\\n")
spec = json.load(open(os.environ["FAKE_ADB_SPEC"]))
if args and args[0] == "-s":
    args = args[2:]
key = args[0] if args else ""
answer = spec.get(key, {{"stdout": "", "stderr": "", "rc": 0}})
time.sleep(answer.get("sleep", 0))
if answer.get("echo"):
    sys.stdout.write("\\n".join(sys.argv[1:]) + "\\n")
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("rc", 0))
"""


@pytest.fixture()
def fake_adb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A scripted adb client: ``set(command=dict(stdout=, stderr=, rc=))``; ``calls()`` lists argv."""
    script = tmp_path / "fake_adb_bin" / "adb"
    script.parent.mkdir()
    script.write_text(FAKE_ADB.format(python=sys.executable))
    script.chmod(0o755)
    spec_file, log_file = tmp_path / "spec.json", tmp_path / "calls.jsonl"
    spec_file.write_text("{}")
    monkeypatch.setenv("FAKE_ADB_SPEC", str(spec_file))
    monkeypatch.setenv("FAKE_ADB_LOG", str(log_file))
    monkeypatch.setenv("GHOSTEDGE_ADB", str(script))
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)

    class Control:
        path = str(script)

        def set(self, **answers: Dict) -> None:
            spec_file.write_text(json.dumps(answers))

        def calls(self) -> List[List[str]]:
            return [json.loads(line) for line in log_file.read_text().splitlines()] if log_file.exists() else []

    return Control()
