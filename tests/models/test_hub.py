"""Downloads against a real HTTP server on 127.0.0.1 (no mocks of urllib)."""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time

import pytest

from ghostedge.errors import DownloadError
from ghostedge.models import hub

PAYLOAD = bytes(range(256)) * 5000  # 1.28 MB: more than one 1 MiB chunk
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: dict = {}
    files: dict = {}

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?")[0]
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/slow.bin":
            time.sleep(2.0)
        if path == "/truncated.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/redirect.bin":
            self.send_response(302)
            self.send_header("Location", "/good.bin")
            self.end_headers()
            return
        body = self.files.get(path, PAYLOAD if path in ("/good.bin", "/slow.bin") else None)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def server():
    _Handler.hits = {}
    _Handler.files = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("GHOSTEDGE_CACHE", str(tmp_path / "env"))
    assert hub.cache_root(tmp_path / "cli") == tmp_path / "cli"
    assert hub.cache_root() == tmp_path / "env"
    monkeypatch.delenv("GHOSTEDGE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert hub.cache_root() == tmp_path / "home" / ".cache" / "ghostedge"


def test_cache_path_is_predictable(tmp_path):
    url = "https://huggingface.co/timm/ghostnet_100.in1k/resolve/main/model.safetensors"
    assert hub.cache_path_for_url(url, tmp_path) == (
        tmp_path / "downloads" / "huggingface.co" / "timm" / "ghostnet_100.in1k" / "resolve" / "main"
        / "model.safetensors")
    pinned = hub.cache_path_for_url(url + "#sha256=" + "a" * 64, tmp_path)
    assert pinned == hub.cache_path_for_url(url, tmp_path)
    assert ".." not in hub.cache_path_for_url("http://h/../../etc/passwd", tmp_path).parts


def test_good_download_records_provenance_and_is_reused(server, cache_dir):
    base, handler = server
    path, info = hub.fetch(f"{base}/good.bin", sha256=PAYLOAD_SHA)
    assert path.read_bytes() == PAYLOAD
    assert path.is_relative_to(cache_dir)
    assert info["sha256"] == PAYLOAD_SHA and info["size"] == len(PAYLOAD) and not info["cached"]
    assert info["sha256_verified"] is True
    assert hub.read_provenance(path)["url"] == f"{base}/good.bin"
    again, info2 = hub.fetch(f"{base}/good.bin")
    assert again == path and info2["cached"] and handler.hits["/good.bin"] == 1
    assert not _leftovers(cache_dir)


def test_unknown_hash_is_recorded_then_enforced(server, cache_dir):
    base, handler = server
    path, info = hub.fetch(f"{base}/good.bin")
    assert info["sha256"] == PAYLOAD_SHA and info["sha256_verified"] is False
    path.write_bytes(b"corrupted in the cache")
    again, info2 = hub.fetch(f"{base}/good.bin")
    assert again.read_bytes() == PAYLOAD and not info2["cached"]
    assert handler.hits["/good.bin"] == 2


def test_redirects_are_followed(server, cache_dir):
    base, _ = server
    path, _ = hub.fetch(f"{base}/redirect.bin#sha256={PAYLOAD_SHA}")
    assert path.read_bytes() == PAYLOAD


def test_wrong_hash_deletes_and_names_both(server, cache_dir):
    base, _ = server
    wrong = "0" * 64
    with pytest.raises(DownloadError) as err:
        hub.fetch(f"{base}/good.bin#sha256={wrong}")
    text = err.value.one_line()
    assert wrong in text and PAYLOAD_SHA in text and "deleted" in text
    assert not hub.cache_path_for_url(f"{base}/good.bin", cache_dir).exists()
    assert not _leftovers(cache_dir)


def test_pinned_hash_replaces_stale_cached_file(server, cache_dir):
    base, handler = server
    dest = hub.cache_path_for_url(f"{base}/good.bin", cache_dir)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old content")
    path, info = hub.fetch(f"{base}/good.bin", sha256=PAYLOAD_SHA)
    assert path.read_bytes() == PAYLOAD and handler.hits["/good.bin"] == 1


def test_file_placed_by_hand_is_accepted_offline(monkeypatch, cache_dir):
    url = "https://example.invalid/weights/w.pth"
    dest = hub.cache_path_for_url(url)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"manual")
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    path, info = hub.fetch(url)
    assert path == dest and info["cached"] and info["sha256"] == hashlib.sha256(b"manual").hexdigest()
    assert "by hand" in hub.read_provenance(dest)["source"]


def test_404_names_url_and_manual_path(server, cache_dir):
    base, _ = server
    with pytest.raises(DownloadError) as err:
        hub.fetch(f"{base}/missing.pth")
    text = err.value.one_line()
    assert "HTTP 404" in text and f"{base}/missing.pth" in text
    assert str(hub.cache_path_for_url(f"{base}/missing.pth")) in text
    assert not _leftovers(cache_dir)


def test_truncated_connection_leaves_nothing(server, cache_dir):
    base, _ = server
    with pytest.raises(DownloadError, match="incomplete|broke off"):
        hub.fetch(f"{base}/truncated.bin")
    assert not hub.cache_path_for_url(f"{base}/truncated.bin").exists()
    assert not _leftovers(cache_dir)


def test_server_down(cache_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="no network or server unreachable"):
        hub.fetch(f"http://127.0.0.1:{port}/w.pth")


def test_timeout(server, cache_dir):
    base, _ = server
    with pytest.raises(DownloadError, match="within 0.5 s|timed out"):
        hub.fetch(f"{base}/slow.bin", timeout=0.5)
    assert not _leftovers(cache_dir)


def test_offline_switch_refuses(server, cache_dir, monkeypatch):
    base, handler = server
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(DownloadError, match="refused.*GHOSTEDGE_OFFLINE"):
        hub.fetch(f"{base}/good.bin")
    assert handler.hits == {}


@pytest.mark.parametrize("url,match", [("ftp://host/w.pth", "only http"),
                                       ("http://host/w.pth#sha256=xyz", "Invalid SHA-256"),
                                       ("http://host/w.pth#md5=abc", "fragment")])
def test_bad_urls(url, match, cache_dir):
    with pytest.raises(DownloadError, match=match):
        hub.fetch(url)


def test_load_model_from_url_and_named_fallback(server, cache_dir, monkeypatch):
    """End to end: a checkpoint served over HTTP, and a named source whose first URL is 404."""
    import io

    import torch

    from ghostedge.models import weights
    from ghostedge.models.registry import create_model

    torch.manual_seed(5)
    state = create_model("ghostnet_100").state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    base, handler = server
    handler.files["/ckpt/state_dict.pth"] = buffer.getvalue()
    loaded = weights.load_model("ghostnet_100", f"{base}/ckpt/state_dict.pth")
    assert loaded.weights_info["kind"] == "url"
    assert torch.equal(loaded.model.conv_stem.weight, state["conv_stem.weight"])

    sources = (weights.WeightSource(f"{base}/gone/model.safetensors", None, "first"),
               weights.WeightSource(f"{base}/ckpt/state_dict.pth", None, "fallback"))
    monkeypatch.setitem(weights.NAMED_SOURCES, "imagenet", sources)
    loaded = weights.load_model("ghostnet_100", "imagenet")
    assert loaded.weights_info["kind"] == "named" and loaded.weights_info["description"] == "fallback"
    assert handler.hits["/gone/model.safetensors"] == 1


def test_unwritable_cache_is_a_clear_error(server, tmp_path):
    base, handler = server
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(DownloadError, match="Cannot write to the weights cache.*--cache-dir"):
        hub.fetch(f"{base}/good.bin", cache_dir=blocker)
    assert handler.hits == {}


def test_unreadable_download_is_evicted_and_fetched_again(server, cache_dir):
    """A URL that served garbage once: the file leaves the cache, and the rerun downloads again."""
    import io

    import torch

    from ghostedge.errors import WeightsError
    from ghostedge.models import weights
    from ghostedge.models.registry import create_model

    base, handler = server
    url = f"{base}/garbage.pth"
    dest = hub.cache_path_for_url(url)
    handler.files["/garbage.pth"] = b"<html>not a checkpoint</html>\n" * 10
    with pytest.raises(WeightsError) as err:
        weights.load_model("ghostnet_050", url)
    text = err.value.one_line()
    assert "not a PyTorch" in text and "removed from the cache; rerun to download it again" in text
    assert not dest.exists() and not hub.provenance_path(dest).exists()

    torch.manual_seed(7)
    state = create_model("ghostnet_050").state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    handler.files["/garbage.pth"] = buffer.getvalue()
    loaded = weights.load_model("ghostnet_050", url)
    assert handler.hits["/garbage.pth"] == 2 and loaded.weights_info["path"] == str(dest)
    assert torch.equal(loaded.model.conv_stem.weight, state["conv_stem.weight"])
    assert hub.read_provenance(dest)["sha256"] == loaded.weights_info["sha256"]


def test_unreadable_named_source_is_evicted_before_the_fallback(server, cache_dir, monkeypatch):
    from ghostedge.errors import DownloadError as _DownloadError
    from ghostedge.models import weights

    base, handler = server
    handler.files["/bad/model.safetensors"] = b"\x00" * 64
    sources = (weights.WeightSource(f"{base}/bad/model.safetensors", None, "first"),)
    monkeypatch.setitem(weights.NAMED_SOURCES, "imagenet", sources)
    with pytest.raises(_DownloadError, match="removed from the cache; rerun to download it again"):
        weights.load_model("ghostnet_100", "imagenet")
    dest = hub.cache_path_for_url(sources[0].url)
    assert not dest.exists() and not hub.provenance_path(dest).exists()


def test_file_placed_by_hand_without_a_published_hash_warns(monkeypatch, cache_dir, caplog):
    import logging

    url = "https://example.invalid/weights/hand.pth"
    dest = hub.cache_path_for_url(url)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"manual")
    sha = hashlib.sha256(b"manual").hexdigest()
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with caplog.at_level(logging.WARNING, logger="ghostedge"):
        _, info = hub.fetch(url)
    assert info["sha256_verified"] is False
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "could not be verified against a published hash" in warnings[0]
    assert str(dest) in warnings[0] and sha in warnings[0] and "now recorded" in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ghostedge"):  # recorded now: checked, no warning
        hub.fetch(url)
    assert not caplog.records
    dest2 = hub.cache_path_for_url(url.replace("hand", "pinned"))
    dest2.write_bytes(b"manual")
    with caplog.at_level(logging.WARNING, logger="ghostedge"):  # a pinned hash verifies it
        _, info = hub.fetch(url.replace("hand", "pinned"), sha256=sha)
    assert info["sha256_verified"] is True and not caplog.records
