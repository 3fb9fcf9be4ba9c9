"""find_benchmark_binary: explicit path, cache, download (from a local HTTP server), offline."""
from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path
from typing import Iterator

import pytest

from fakephone.harness import write_fake_benchmark_binary
from ghostedge.android_runner import BENCHMARK_URLS, cached_binary_path, find_benchmark_binary
from ghostedge.android_runner import binary as binary_module
from ghostedge.errors import BenchmarkError


def test_explicit_path_is_checked(tmp_path: Path) -> None:
    good = write_fake_benchmark_binary(tmp_path / "bm_arm64", "arm64-v8a")
    assert find_benchmark_binary("arm64-v8a", good) == good
    with pytest.raises(BenchmarkError) as info:
        find_benchmark_binary("armeabi-v7a", good)
    assert "aarch64" in str(info.value) and "armeabi-v7a" in str(info.value)
    host = write_fake_benchmark_binary(tmp_path / "bm_x86", "x86_64")
    with pytest.raises(BenchmarkError) as info:
        find_benchmark_binary("arm64-v8a", host)
    assert "x86-64" in str(info.value)
    text = tmp_path / "script.sh"
    text.write_text("#!/bin/sh\n")
    with pytest.raises(BenchmarkError, match="not an ELF"):
        find_benchmark_binary("arm64-v8a", text)
    with pytest.raises(BenchmarkError, match="does not exist"):
        find_benchmark_binary("arm64-v8a", tmp_path / "missing")


def test_cache_is_used(cache_dir: Path) -> None:
    target = cached_binary_path("arm64-v8a")
    assert target == cache_dir / "benchmark_model" / "arm64-v8a" / "benchmark_model"
    write_fake_benchmark_binary(target, "arm64-v8a")
    assert find_benchmark_binary("arm64-v8a") == target
    other = cache_dir.parent / "elsewhere"
    write_fake_benchmark_binary(cached_binary_path("armeabi-v7a", other), "armeabi-v7a")
    assert find_benchmark_binary("armeabi-v7a", cache_dir=other).parent.name == "armeabi-v7a"


def test_offline_says_the_url_and_where_to_put_it(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(BenchmarkError) as info:
        find_benchmark_binary("arm64-v8a")
    msg = str(info.value)
    assert BENCHMARK_URLS["arm64-v8a"] in msg
    assert "android_aarch64_benchmark_model" in msg
    assert str(cache_dir / "benchmark_model" / "arm64-v8a" / "benchmark_model") in msg
    assert "--benchmark-binary" in msg
    with pytest.raises(BenchmarkError) as info:
        find_benchmark_binary("armeabi-v7a")
    assert "android_arm_benchmark_model" in str(info.value)
    with pytest.raises(BenchmarkError, match="x86_64"):
        find_benchmark_binary("x86_64")


def test_unreachable_download_fails_cleanly(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GHOSTEDGE_OFFLINE", raising=False)
    monkeypatch.setitem(binary_module.BENCHMARK_URLS, "arm64-v8a", "http://127.0.0.1:1/benchmark_model")
    with pytest.raises(BenchmarkError) as info:
        find_benchmark_binary("arm64-v8a")
    assert "http://127.0.0.1:1/benchmark_model" in str(info.value)
    target_dir = cache_dir / "benchmark_model" / "arm64-v8a"
    assert not target_dir.exists() or os.listdir(target_dir) == []


@pytest.fixture()
def http_root(tmp_path: Path) -> Iterator[tuple]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_download_goes_to_the_cache_atomically(cache_dir: Path, http_root, monkeypatch) -> None:
    root, base = http_root
    monkeypatch.delenv("GHOSTEDGE_OFFLINE", raising=False)
    served = write_fake_benchmark_binary(root / "android_aarch64_benchmark_model", "arm64-v8a")
    monkeypatch.setitem(binary_module.BENCHMARK_URLS, "arm64-v8a", f"{base}/android_aarch64_benchmark_model")
    got = find_benchmark_binary("arm64-v8a")
    assert got == cached_binary_path("arm64-v8a")
    assert got.read_bytes() == served.read_bytes()
    assert os.access(got, os.X_OK)
    assert sorted(os.listdir(got.parent)) == ["benchmark_model"]
    # a wrong file from the server is refused (an HTML error page, say)
    (root / "android_arm_benchmark_model").write_text("<html>404</html>")
    monkeypatch.setitem(binary_module.BENCHMARK_URLS, "armeabi-v7a", f"{base}/android_arm_benchmark_model")
    with pytest.raises(BenchmarkError, match="not an ELF"):
        find_benchmark_binary("armeabi-v7a")
    assert not cached_binary_path("armeabi-v7a").exists()
    assert os.listdir(cached_binary_path("armeabi-v7a").parent) == []
