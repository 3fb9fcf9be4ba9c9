"""The README's "Python API" examples run as written, in order, in one folder that holds what they
name (``photos/`` and a small ImageNet-style ``imagenet/val``)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
API_FUNCTIONS = ("convert", "inspect", "predict", "evaluate", "bench", "check")


def api_examples() -> list:
    """The ```python blocks of the README's "## Python API" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_every_api_function_has_an_example():
    blocks = api_examples()
    for name in API_FUNCTIONS:
        assert any(f"ghostedge.{name}(" in block for block in blocks), f"no README example for {name}"


@pytest.mark.slow
def test_readme_examples_run_as_written(tmp_path):
    from ghostedge.data.labels import imagenet_wnids
    from ghostedge.data.preprocess import bundled_photos

    photos = tmp_path / "photos"
    photos.mkdir()
    for p in bundled_photos():
        shutil.copyfile(p, photos / p.name)
    for i, wnid in enumerate(imagenet_wnids()[:3]):   # a tiny labeled ImageNet-style folder
        folder = tmp_path / "imagenet" / "val" / wnid
        folder.mkdir(parents=True)
        for p in bundled_photos()[i:i + 2]:
            shutil.copyfile(p, folder / p.name)
    for number, block in enumerate(api_examples(), 1):
        proc = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
                              timeout=1800)
        assert proc.returncode == 0, f"README Python API example {number} failed:\n{block}\n{proc.stderr[-3000:]}"
