"""The cached runtime's life cycle without downloading: offline refusal, unwritable cache, no disk,
no apt, a half-built runtime rebuilt, a failed or interrupted setup leaving nothing behind, a
second run reusing the cache. (The slow tests build the real one.)"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from armcheck.fakes import fake_runtime
from ghostedge.armcheck import ArmSetupError, fetch, prepare_runtime, runtime_path, sysroot


@pytest.fixture()
def fake_build(monkeypatch):
    """Replace the download/unpack steps: the build writes a fake runtime into its folder."""
    calls = []

    def build(spec, build_dir, sources):
        calls.append(build_dir)
        runtime = fake_runtime(build_dir, spec.name)
        return dict(runtime.manifest)

    monkeypatch.setattr(sysroot, "build_runtime", build)
    monkeypatch.delenv("GHOSTEDGE_OFFLINE", raising=False)
    return calls


def _leftovers(cache):
    arch_dir = cache / "arm64"
    return sorted(p.name for p in arch_dir.iterdir()) if arch_dir.is_dir() else []


def test_build_then_reuse(tmp_path, fake_build):
    cache = tmp_path / "cache"
    first = prepare_runtime("arm64", cache)
    assert first.built_now and first.path == runtime_path("arm64", cache)
    assert first.path.parent == cache / "arm64"
    assert json.loads((first.path / "manifest.json").read_text())["setup_s"] >= 0
    second = prepare_runtime("arm64", cache)
    assert not second.built_now and second.path == first.path
    assert len(fake_build) == 1  # the second run reused the cache
    assert _leftovers(cache) == [first.path.name]


def test_cache_dir_follows_env(tmp_path, fake_build, monkeypatch):
    monkeypatch.setenv("GHOSTEDGE_CACHE", str(tmp_path / "envcache"))
    assert prepare_runtime("arm64").path.parent == tmp_path / "envcache" / "arm64"


def test_offline_refuses_to_download(tmp_path, fake_build, monkeypatch):
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    with pytest.raises(ArmSetupError) as err:
        prepare_runtime("arm64", tmp_path / "cache")
    line = err.value.one_line()
    assert "GHOSTEDGE_OFFLINE is set" in line and "Unset GHOSTEDGE_OFFLINE" in line
    assert not fake_build and not (tmp_path / "cache").exists()


def test_offline_uses_a_cached_runtime(tmp_path, fake_build, monkeypatch):
    built = prepare_runtime("arm64", tmp_path / "cache")
    monkeypatch.setenv("GHOSTEDGE_OFFLINE", "1")
    assert prepare_runtime("arm64", tmp_path / "cache").path == built.path


def test_unwritable_cache_is_one_clear_error(tmp_path, fake_build, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ArmSetupError, match=r"cache folder .*a-file/arm64 is not writable.*--cache-dir"):
        prepare_runtime("arm64", blocker)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sysroot.tempfile, "TemporaryFile", denied)
    with pytest.raises(ArmSetupError, match="is not writable: Permission denied"):
        prepare_runtime("arm64", tmp_path / "cache")
    assert not fake_build


def test_not_enough_disk(tmp_path, fake_build, monkeypatch):
    monkeypatch.setattr(sysroot.shutil, "disk_usage", lambda p: type("U", (), {"free": 10**8})())
    with pytest.raises(ArmSetupError, match="Not enough disk space.*100 MB free, 600 MB needed"):
        prepare_runtime("arm64", tmp_path / "cache")
    assert not fake_build


def test_host_without_apt(tmp_path, fake_build, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ArmSetupError, match="apt-get is not on PATH.*Debian or Ubuntu"):
        prepare_runtime("arm64", tmp_path / "cache")
    assert not fake_build


def test_missing_keyring(tmp_path, fake_build, monkeypatch):
    monkeypatch.setattr(fetch, "KEYRING", tmp_path / "no-keyring.gpg")
    with pytest.raises(ArmSetupError, match="keyring .* is missing.*debian-archive-keyring"):
        prepare_runtime("arm64", tmp_path / "cache")


def test_half_built_runtime_is_detected_and_rebuilt(tmp_path, fake_build):
    cache = tmp_path / "cache"
    final = runtime_path("arm64", cache)
    (final / "sysroot" / "usr").mkdir(parents=True)  # an interrupted copy: no manifest
    (final / "sysroot" / "usr" / "half").write_text("x")
    assert sysroot.load_runtime(final, "arm64") is None
    runtime = prepare_runtime("arm64", cache)
    assert runtime.built_now and not (final / "sysroot" / "usr" / "half").exists()
    # a manifest whose binaries are gone is half-built too
    runtime.qemu.unlink()
    assert sysroot.load_runtime(final, "arm64") is None
    assert prepare_runtime("arm64", cache).built_now and len(fake_build) == 2


@pytest.mark.parametrize("exc", [ArmSetupError("Cannot download", "network down", "Retry"),
                                 KeyboardInterrupt()])
def test_failed_or_interrupted_setup_leaves_nothing(tmp_path, monkeypatch, exc):
    monkeypatch.delenv("GHOSTEDGE_OFFLINE", raising=False)

    def build(spec, build_dir, sources):
        (build_dir / "sysroot" / "usr").mkdir(parents=True)
        (build_dir / "sysroot" / "usr" / "partial").write_bytes(b"x" * 1000)
        raise exc

    monkeypatch.setattr(sysroot, "build_runtime", build)
    with pytest.raises(type(exc)):
        prepare_runtime("arm64", tmp_path / "cache")
    assert _leftovers(tmp_path / "cache") == []


def test_build_folders_of_dead_processes_are_removed(tmp_path, fake_build):
    cache = tmp_path / "cache"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    stale = cache / "arm64" / f".build-{dead}-abc"
    (stale / "sysroot").mkdir(parents=True)
    runtime = prepare_runtime("arm64", cache)
    assert not stale.exists()
    assert _leftovers(cache) == [runtime.path.name]
