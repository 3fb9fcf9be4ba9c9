"""The download steps against a local HTTP server on 127.0.0.1 that has nothing: apt and pip fail
with one clear line, and the private apt configuration never reads or writes the host's state."""
from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from ghostedge.armcheck import ArmSetupError, fetch
from ghostedge.armcheck.targets import ARCHES


@pytest.fixture()
def empty_mirror(tmp_path):
    """http://127.0.0.1:PORT serving an empty folder (every request: 404)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def test_apt_config_is_private(tmp_path):
    conf = fetch.write_apt_config(tmp_path / "apt", "arm64", fetch.Sources())
    text = conf.read_text()
    assert 'APT::Architecture "arm64";' in text
    assert f'Dir::State::status "{tmp_path}/apt/status";' in text and (tmp_path / "apt/status").read_text() == ""
    assert f'Dir::Etc::parts "{tmp_path}/apt/etc/apt.conf.d";' in text  # no host configuration parts
    assert 'Dir::Etc::sourcelist "/dev/null";' in text
    sources = (tmp_path / "apt/etc/sources.list.d/debian.sources").read_text()
    assert "URIs: http://deb.debian.org/debian\n" in sources and "bookworm-security" in sources
    assert f"Signed-By: {fetch.KEYRING}" in sources


def test_requirements_pin_every_wheel_by_hash():
    text = fetch.requirements_text(ARCHES["arm64"].wheels)
    lines = text.strip().splitlines()
    assert len(lines) == len(ARCHES["arm64"].wheels)
    assert "ai-edge-litert==2.1.0 --hash=sha256:92b24d25" in text
    assert all(" --hash=sha256:" in line for line in lines)


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian/Ubuntu host)")
def test_unreachable_debian_mirror_is_one_clear_error(tmp_path, empty_mirror):
    status = Path("/var/lib/dpkg/status")
    lists = Path("/var/lib/apt/lists")
    before = (_sha(status), sorted(p.name for p in lists.iterdir()) if lists.is_dir() else [])
    sources = fetch.Sources(mirror=f"{empty_mirror}/debian", security_mirror=f"{empty_mirror}/security")
    conf = fetch.write_apt_config(tmp_path / "apt", "arm64", sources)
    with pytest.raises(ArmSetupError) as err:
        fetch.apt_download(conf, ["python3.11"], "qemu-user-static", tmp_path / "debs", sources)
    line = err.value.one_line()
    assert line.startswith(f"Cannot read the Debian package lists from {empty_mirror}/debian: apt-get exited")
    assert "GHOSTEDGE_DEBIAN_MIRROR" in line and "\n" not in line
    after = (_sha(status), sorted(p.name for p in lists.iterdir()) if lists.is_dir() else [])
    assert after == before  # the host's dpkg status and apt lists are untouched


def test_unreachable_pypi_is_one_clear_error(tmp_path, empty_mirror, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # only the index given here
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    sources = fetch.Sources(pip_index_url=f"{empty_mirror}/simple")
    spec = ARCHES["arm64"]
    with pytest.raises(ArmSetupError) as err:
        fetch.pip_install(spec.wheels, spec.pip_platforms, tmp_path / "wheels", tmp_path / "target",
                          False, sources)
    line = err.value.one_line()
    assert line.startswith("Cannot download the ARM wheels from PyPI (ai-edge-litert==2.1.0, "
                           "tflite-runtime==2.14.0)")
    assert "Check network access to PyPI" in line
    assert not (tmp_path / "target").exists()


def test_missing_tool_and_timeout(tmp_path):
    with pytest.raises(ArmSetupError, match="no-such-tool-xyz is not installed. Do this"):
        fetch.run_tool(["no-such-tool-xyz"], "Cannot do it", "Do this", 5)
    with pytest.raises(ArmSetupError, match="sleep did not finish within 1 s"):
        fetch.run_tool(["sleep", "30"], "Cannot wait", "Retry", 1)
    with pytest.raises(ArmSetupError, match="exited with 3: E: broken"):
        fetch.run_tool(["sh", "-c", "echo noise; echo 'E: broken'; echo more; exit 3"], "Fails", "Fix", 5)
