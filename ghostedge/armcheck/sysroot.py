"""The cached emulated ARM runtime: qemu-user-static, Debian's ARM Python with its libraries, and the
pinned ARM wheels of LiteRT / tflite-runtime, under ``<cache>/<arch>/<version-key>/``.

It is built in a temporary sibling folder and renamed into place only when complete (with a
``manifest.json`` written last), so an interrupted or failed setup leaves no runtime that looks
usable: a folder without a valid manifest is a half-built runtime and is rebuilt, and leftover
temporary folders of dead processes are removed. No root is needed and the host's apt/dpkg state
is never touched (see :mod:`ghostedge.armcheck.fetch`).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ghostedge import __version__
from ghostedge.armcheck import fetch
from ghostedge.armcheck.errors import ArmSetupError
from ghostedge.armcheck.runner import smoke_test, terminate_as_interrupt
from ghostedge.armcheck.targets import ArchSpec, arch_spec
from ghostedge.fileio import atomic_write_json
from ghostedge.models.hub import ENV_OFFLINE, cache_root, offline
from ghostedge.progress import progress

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SCHEMA = "ghostedge.arm-runtime/1"
# Peak use while building: apt lists (~120 MB) + .debs (16 MB) + qemu .deb (63 MB) + wheels
# (24 MB) + the unpacked runtime (~190 MB); 600 MB leaves room for mirrors that serve more.
MIN_FREE_BYTES = 600 * 10**6
_TMP_PREFIX = ".build-"
PathArg = Union[str, "os.PathLike[str]", None]


@dataclass
class Runtime:
    """A ready emulated runtime."""

    arch: str
    path: Path
    manifest: Dict[str, Any]
    built_now: bool = False
    setup_s: float = 0.0

    @property
    def sysroot(self) -> Path:
        return self.path / "sysroot"

    @property
    def qemu(self) -> Path:
        return self.path / "bin" / self.manifest["qemu_binary"]

    @property
    def python(self) -> str:
        """The guest Python's path inside the sysroot (``usr/bin/python3.11``)."""
        return self.manifest["python"]

    @property
    def size_bytes(self) -> int:
        return int(self.manifest.get("size_bytes", 0))

    def versions(self) -> Dict[str, Any]:
        return dict(self.manifest.get("versions", {}))

    def to_dict(self) -> Dict[str, Any]:
        return {"arch": self.arch, "path": str(self.path), "built_now": self.built_now,
                "setup_s": round(self.setup_s, 2), "size_mb": round(self.size_bytes / 1e6, 1),
                "versions": self.versions()}


def runtime_path(arch: str = "arm64", cache_dir: PathArg = None) -> Path:
    """Where the runtime of ``arch`` lives (whether or not it is built)."""
    spec = arch_spec(arch)
    return cache_root(cache_dir) / spec.name / spec.version_key


def load_runtime(path: Path, arch: str) -> Optional[Runtime]:
    """The runtime at ``path`` if it is complete (valid manifest, qemu and python present)."""
    try:
        manifest = json.loads((path / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA or manifest.get("arch") != arch:
        return None
    runtime = Runtime(arch, path, manifest)
    try:
        ok = (runtime.qemu.is_file() and os.access(runtime.qemu, os.X_OK)
              and (runtime.sysroot / runtime.python).exists())
    except (KeyError, TypeError):
        return None
    return runtime if ok else None


def prepare_runtime(arch: str = "arm64", cache_dir: PathArg = None,
                    sources: Optional[fetch.Sources] = None) -> Runtime:
    """The cached runtime of ``arch``, built first when missing or half-built. Raises
    ArmSetupError with what to do when it cannot be built (offline, no apt/dpkg-deb, no disk,
    unwritable cache, download failure)."""
    spec = arch_spec(arch)
    t0 = time.perf_counter()
    final = runtime_path(arch, cache_dir)
    found = load_runtime(final, arch)
    if found is not None:
        found.setup_s = time.perf_counter() - t0
        log.info("using the cached %s runtime at %s", arch, final)
        return found
    _preflight(final.parent, spec)
    _remove_stale(final.parent)
    if final.exists():
        log.warning("removing the half-built %s runtime at %s (an interrupted setup); rebuilding",
                    arch, final)
        _discard(final)
    sources = sources or fetch.Sources.from_env()
    with terminate_as_interrupt():  # SIGTERM cleans up like Ctrl-C
        build = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=final.parent))
        try:
            manifest = build_runtime(spec, build, sources)
            manifest["setup_s"] = round(time.perf_counter() - t0, 2)
            atomic_write_json(build / MANIFEST, manifest)
            try:
                os.rename(build, final)
            except OSError:  # another process finished first: use its runtime
                if load_runtime(final, arch) is None:
                    raise
                _discard(build)
        except BaseException:
            _discard(build)
            raise
    runtime = load_runtime(final, arch)
    if runtime is None:
        raise ArmSetupError(f"The {arch} runtime at {final} is incomplete after setup",
                            "its manifest or binaries are missing", f"Delete {final} and retry")
    runtime.built_now = True
    runtime.setup_s = time.perf_counter() - t0
    log.info("built the %s runtime at %s in %.1f s (%.0f MB)", arch, final, runtime.setup_s,
             runtime.size_bytes / 1e6)
    return runtime


def build_runtime(spec: ArchSpec, build: Path, sources: fetch.Sources) -> Dict[str, Any]:
    """Download and unpack everything into ``build``; returns the manifest (without writing it)."""
    sysroot = build / "sysroot"
    work = build / "work"
    steps = ["apt", "unpack", "qemu", "wheels", "smoke test"]
    state: Dict[str, Any] = {}
    for step in progress(steps, total=len(steps), desc=f"{spec.name} runtime setup", unit="step"):
        log.info("%s runtime setup: %s", spec.name, step)
        if step == "apt":
            conf = fetch.write_apt_config(work / "apt", spec.debian_arch, sources)
            state["debs"], state["qemu_deb"] = fetch.apt_download(
                conf, spec.debs, "qemu-user-static", work / "debs", sources)
        elif step == "unpack":
            state["deb_versions"] = fetch.unpack_debs(state["debs"], sysroot)
            for link, target in spec.links:
                if not (sysroot / link).exists():
                    (sysroot / link).symlink_to(target)
        elif step == "qemu":
            fetch.extract_qemu(state["qemu_deb"], spec.qemu_binary, build / "bin", work / "qemu")
        elif step == "wheels":
            state["wheels"] = fetch.pip_install(spec.wheels, spec.pip_platforms, work / "wheels",
                                                sysroot / "opt" / "pylibs", spec.pip_no_deps, sources)
        else:
            shutil.rmtree(work, ignore_errors=True)
            manifest = _manifest(spec, build, state, sources)
            manifest["versions"] = smoke_test(Runtime(spec.name, build, manifest), spec)
    manifest["size_bytes"] = tree_size(build)
    return manifest


def _manifest(spec: ArchSpec, build: Path, state: Dict[str, Any], sources: fetch.Sources) -> Dict[str, Any]:
    qemu_deb = state["qemu_deb"].name.split("_")
    return {"schema": SCHEMA, "arch": spec.name, "version_key": spec.version_key,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ghostedge": __version__,
            "qemu_binary": spec.qemu_binary,
            "qemu_package": f"qemu-user-static {qemu_deb[1].replace('%3a', ':')}",
            "python": f"usr/bin/{spec.debs[0]}", "debian": {"suite": sources.suite,
                                                             "mirror": sources.mirror,
                                                             "packages": state["deb_versions"]},
            "wheels": state["wheels"], "pylibs": "/opt/pylibs"}


def tree_size(path: Path) -> int:
    """Bytes used by the regular files under ``path`` (symlinks not followed)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(root, name))
                if not os.path.islink(os.path.join(root, name)):
                    total += st.st_size
    return total


def _preflight(parent: Path, spec: ArchSpec) -> None:
    """Everything a build needs, checked before any download (one clear line each)."""
    if offline():
        raise ArmSetupError(f"Cannot set up the {spec.name} runtime",
                            f"{ENV_OFFLINE} is set and it is not in the cache yet (it downloads "
                            "~100 MB from deb.debian.org and PyPI)",
                            f"Unset {ENV_OFFLINE} for one run, or copy a ready {parent} from a machine "
                            "that has it")
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        raise ArmSetupError(f"Cannot set up the {spec.name} runtime on a {machine} host",
                            "it uses Debian's amd64 qemu-user-static", "Run the check on an x86-64 Linux host")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise ArmSetupError(f"Cannot set up the {spec.name} runtime", f"{tool} is not on PATH "
                                "(the runtime is built from Debian packages)",
                                "Run the check on Debian or Ubuntu (CI: a debian/ubuntu image)")
    if not fetch.KEYRING.is_file():
        raise ArmSetupError(f"Cannot set up the {spec.name} runtime",
                            f"Debian's archive keyring {fetch.KEYRING} is missing (apt needs it to "
                            "verify the packages)", "Install the debian-archive-keyring package")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise ArmSetupError(f"The ghostedge cache folder {parent} is not writable",
                            exc.strerror or str(exc),
                            "Pass a writable --cache-dir (or set GHOSTEDGE_CACHE)") from exc
    free = shutil.disk_usage(parent).free
    if free < MIN_FREE_BYTES:
        raise ArmSetupError(f"Not enough disk space in {parent} for the {spec.name} runtime",
                            f"{free / 1e6:.0f} MB free, {MIN_FREE_BYTES / 1e6:.0f} MB needed while "
                            "building (~190 MB kept)",
                            "Free some space, or pass --cache-dir on a larger disk")


def _remove_stale(parent: Path) -> None:
    """Delete build folders left by processes that no longer run (killed setups)."""
    for entry in parent.glob(f"{_TMP_PREFIX}*"):
        try:
            pid = int(entry.name[len(_TMP_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            log.info("removing %s, left by an interrupted setup", entry)
            _discard(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _discard(path: Path) -> None:
    """Remove a folder: first renamed aside (so it never looks like a runtime), then deleted."""
    if not path.exists():
        return
    aside = path.with_name(f"{_TMP_PREFIX}{os.getpid()}-discard-{path.name}")
    try:
        os.rename(path, aside)
    except OSError:
        aside = path
    shutil.rmtree(aside, ignore_errors=True)
