"""Find the official TFLite ``benchmark_model`` for a phone's ABI: explicit path, cache, or download."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, Optional

from ghostedge.fileio import atomic_path
from ghostedge.progress import progress
from ghostedge.errors import BenchmarkError

log = logging.getLogger(__name__)

_NIGHTLY = ("https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/"
            "lite/tools/nightly/latest/")
BENCHMARK_URLS: Dict[str, str] = {
    "arm64-v8a": _NIGHTLY + "android_aarch64_benchmark_model",
    "armeabi-v7a": _NIGHTLY + "android_arm_benchmark_model",
}
# ELF e_machine values: the binary must match the phone's ABI.
_ELF_MACHINES = {"arm64-v8a": 0xB7, "armeabi-v7a": 0x28, "x86_64": 0x3E, "x86": 0x03}
_MACHINE_NAMES = {0xB7: "aarch64", 0x28: "32-bit ARM", 0x3E: "x86-64", 0x03: "x86"}
DOWNLOAD_TIMEOUT_S = 30.0


def cache_root(cache_dir: Optional[Path] = None) -> Path:
    """``cache_dir``, else ``$GHOSTEDGE_CACHE``, else ``~/.cache/ghostedge``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("GHOSTEDGE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ghostedge"


def cached_binary_path(abi: str, cache_dir: Optional[Path] = None) -> Path:
    """Where the cached benchmark_model for ``abi`` lives."""
    return cache_root(cache_dir) / "benchmark_model" / abi / "benchmark_model"


def check_binary(path: Path, abi: str) -> None:
    """Refuse files that are not ELF executables for ``abi`` (a host binary cannot run on the phone)."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        raise BenchmarkError(f"{path} is not a benchmark_model executable", "it is not an ELF binary",
                             f"Download the {abi} build from {BENCHMARK_URLS.get(abi, 'the TFLite nightly builds')}")
    little = head[5] == 1
    machine = int.from_bytes(head[18:20], "little" if little else "big")
    wanted = _ELF_MACHINES.get(abi)
    if wanted is not None and machine != wanted:
        have = _MACHINE_NAMES.get(machine, f"machine 0x{machine:x}")
        raise BenchmarkError(f"{path} does not fit the phone", f"it is a {have} binary, the phone's ABI is {abi}",
                             f"Use the {abi} build: {BENCHMARK_URLS.get(abi, 'see the TFLite docs')}")


def find_benchmark_binary(abi: str, explicit: Optional[Path] = None, cache_dir: Optional[Path] = None,
                          download: bool = True) -> Path:
    """The host path of benchmark_model for ``abi``: ``explicit``, else the cache, else a download.

    Downloads go to the cache atomically. Set ``GHOSTEDGE_OFFLINE=1`` (or ``download=False``) to
    never try the network.
    """
    if explicit is not None:
        explicit = Path(explicit).expanduser()
        if not explicit.is_file():
            raise BenchmarkError(f"Benchmark binary {explicit} does not exist", "no such file",
                                 "Check the --benchmark-binary path")
        check_binary(explicit, abi)
        return explicit
    target = cached_binary_path(abi, cache_dir)
    if target.is_file():
        check_binary(target, abi)
        return target
    url = BENCHMARK_URLS.get(abi)
    if url is None:
        raise BenchmarkError(f"No official benchmark_model download for ABI '{abi}'",
                             f"known ABIs: {', '.join(BENCHMARK_URLS)}",
                             f"Build benchmark_model for {abi} and pass --benchmark-binary PATH "
                             f"(or put it at {target})")
    offline_fix = (f"Download {url} on a machine with internet access and put it at {target} "
                   f"(or pass --benchmark-binary PATH)")
    if not download or os.environ.get("GHOSTEDGE_OFFLINE"):
        raise BenchmarkError(f"benchmark_model for {abi} is not in the cache",
                             "downloads are disabled (GHOSTEDGE_OFFLINE)", offline_fix)
    _download(url, target, abi, offline_fix)
    return target


def _download(url: str, target: Path, abi: str, offline_fix: str) -> None:
    """Fetch ``url`` into ``target`` via a temporary file; only a checked binary is kept."""
    import urllib.error
    import urllib.request

    log.info("downloading %s to %s", url, target)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, \
                atomic_path(target) as tmp:
            total = int(response.headers.get("Content-Length") or 0) or None
            chunks = iter(lambda: response.read(1 << 20), b"")
            with open(tmp, "wb") as fh:
                for chunk in progress(chunks, total=(total + (1 << 20) - 1) // (1 << 20) if total else None,
                                      desc="benchmark_model", unit="MB"):
                    fh.write(chunk)
            if total is not None and os.path.getsize(tmp) != total:
                raise BenchmarkError(f"Download of {url} is incomplete",
                                     f"got {os.path.getsize(tmp)} of {total} bytes", "Retry")
            check_binary(tmp, abi)
            os.chmod(tmp, 0o755)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BenchmarkError(f"Cannot download benchmark_model from {url}", str(reason),
                             offline_fix) from exc
