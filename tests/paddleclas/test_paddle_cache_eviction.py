"""A broken .pdparams in the download cache is removed, not reused forever."""
from __future__ import annotations

import pytest

from ghostedge.errors import WeightsError
from ghostedge.models.hub import cache_path_for_url, provenance_path
from ghostedge.models.pdparams import PADDLE_SOURCES
from ghostedge.models.weights import load_model


def test_paddle_broken_cached_download_is_evicted(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    cached = cache_path_for_url(PADDLE_SOURCES["GhostNet_x0_5"].url, tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x80\x04this is not a pickle of arrays")
    with pytest.raises(WeightsError, match="removed from the cache"):
        load_model("paddle_ghostnet_x0_5", "paddle:GhostNet_x0_5", cache_dir=tmp_path)
    assert not cached.exists()
    assert not provenance_path(cached).exists()
