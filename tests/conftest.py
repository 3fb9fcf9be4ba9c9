"""Shared test fixtures. Tests never read ../shared: what they need lives in tests/data or the package."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"

sys.path.insert(0, str(TESTS_DIR))  # test helpers such as fakephone/ import by name
os.environ.setdefault("GHOSTEDGE_NO_PROGRESS", "1")
# A suite started as a background job (`cmd &` in a script, nohup) inherits SIGINT ignored, and so
# would every child it starts: the Ctrl-C tests need Python's own handler, as in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def photos() -> list[Path]:
    """The five bundled real photos."""
    from ghostedge.data.preprocess import bundled_photos

    return bundled_photos()


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch) -> Path:
    """A private ghostedge cache per test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("GHOSTEDGE_CACHE", str(d))
    return d
