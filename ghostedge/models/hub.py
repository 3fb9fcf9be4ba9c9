"""Download cache for weights: where files live, how they are fetched, and where they came from.

Cache folder: ``--cache-dir`` > ``$GHOSTEDGE_CACHE`` > ``~/.cache/ghostedge``. A URL is cached at
``<cache>/downloads/<host>/<path>``, so the place to put a file by hand is predictable (every
download error names it). Downloads use urllib with a timeout, stream into a temporary file that is
renamed only when complete, and are verified by SHA-256 when a hash is known. Each cached file has a
``<name>.provenance.json`` beside it (URL, SHA-256, size, time); later runs re-check the file
against it. ``GHOSTEDGE_OFFLINE=1`` refuses every download.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import math
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from ghostedge import __version__
from ghostedge.fileio import atomic_path, atomic_write_json, sha256_file
from ghostedge.progress import progress
from ghostedge.errors import DownloadError

log = logging.getLogger(__name__)

ENV_CACHE = "GHOSTEDGE_CACHE"
ENV_OFFLINE = "GHOSTEDGE_OFFLINE"
DEFAULT_TIMEOUT_S = 30.0
_CHUNK = 1 << 20  # 1 MiB: one progress-bar step
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")

PathArg = Union[str, "os.PathLike[str]", None]


def cache_root(cache_dir: PathArg = None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$GHOSTEDGE_CACHE``, else ``~/.cache/ghostedge``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "ghostedge"


def offline() -> bool:
    """True when ``$GHOSTEDGE_OFFLINE`` is set to something other than 0/false/no/empty."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("", "0", "false", "no")


def normalize_sha256(value: str, what: str = "SHA-256") -> str:
    """Lower-case a hex SHA-256 and check its form (64 hex digits)."""
    sha = value.strip().lower()
    if not _SHA256_RE.match(sha):
        raise DownloadError(f"Invalid {what} {value!r}", "a SHA-256 is 64 hexadecimal digits",
                            "Copy the full hash, e.g. from `sha256sum FILE`")
    return sha


def split_url(url: str) -> Tuple[str, Optional[str]]:
    """Split an optional ``#sha256=<hex>`` pin off a URL: ``(url_without_fragment, sha256 or None)``."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise DownloadError(f"Cannot download {url!r}", "only http:// and https:// URLs are supported",
                            "Pass an http(s) URL, or a local file path")
    sha = None
    if parsed.fragment:
        key, _, value = parsed.fragment.partition("=")
        if key.lower() != "sha256" or not value:
            raise DownloadError(f"Unsupported URL fragment #{parsed.fragment} in {url}",
                                "the only fragment understood is #sha256=<64 hex digits>",
                                "Remove the fragment or write #sha256=<hex>")
        sha = normalize_sha256(value, "SHA-256 pin in the URL")
    return urllib.parse.urlunsplit(parsed._replace(fragment="")), sha


def cache_path_for_url(url: str, cache_dir: PathArg = None) -> Path:
    """Where ``url`` is (or would be) cached: ``<cache>/downloads/<host>/<path parts>``."""
    url, _ = split_url(url)
    parsed = urllib.parse.urlsplit(url)
    parts = [p for p in parsed.path.split("/") if p not in ("", ".", "..")] or ["index"]
    if parsed.query:
        digest = hashlib.sha256(parsed.query.encode()).hexdigest()[:12]
        parts[-1] = f"{parts[-1]}-{digest}"
    safe = [_UNSAFE.sub("_", p) for p in [parsed.netloc, *parts]]
    return cache_root(cache_dir) / "downloads" / Path(*safe)


def provenance_path(path: Union[str, Path]) -> Path:
    """The sidecar that records where a cached file came from."""
    path = Path(path)
    return path.with_name(path.name + ".provenance.json")


def read_provenance(path: Union[str, Path]) -> Optional[Dict[str, Any]]:
    """The provenance recorded beside a cached file, or None (absent or unreadable)."""
    try:
        data = json.loads(provenance_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_provenance(path: Path, record: Dict[str, Any]) -> None:
    try:
        atomic_write_json(provenance_path(path), record)
    except OSError as exc:  # a read-only cache still serves its files
        log.warning("cannot record provenance of %s: %s", path, exc)


def evict(path: Union[str, Path]) -> Optional[str]:
    """Delete a cached file and its provenance sidecar (a later ``fetch`` downloads it again).

    Returns None when both are gone, else why they could not be deleted (nothing is raised).
    """
    path = Path(path)
    try:
        for doomed in (path, provenance_path(path)):
            doomed.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove %s from the weights cache: %s", path, exc)
        return f"{type(exc).__name__}: {exc}"
    log.warning("removed %s and its provenance from the weights cache", path)
    return None


def _manual_fix(dest: Path) -> str:
    return (f"Download it on a machine with network access and put it at {dest} "
            "(or pass the local file with --weights)")


def _open(url: str, timeout: float, dest: Path):
    request = urllib.request.Request(url, headers={"User-Agent": f"ghostedge/{__version__}"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - scheme checked
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"Download of {url} failed", f"HTTP {exc.code} {exc.reason}",
                            _manual_fix(dest)) from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"Cannot download {url}",
                            f"no network or server unreachable ({exc.reason})",
                            _manual_fix(dest)) from exc
    except (socket.timeout, TimeoutError) as exc:
        raise DownloadError(f"Cannot download {url}", f"no answer within {timeout:g} s",
                            _manual_fix(dest)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"Cannot download {url}", f"{type(exc).__name__}: {exc}",
                            _manual_fix(dest)) from exc


def _chunks(response) -> Iterator[bytes]:
    while True:
        block = response.read(_CHUNK)
        if not block:
            return
        yield block


def download(url: str, dest: Union[str, Path], sha256: Optional[str] = None,
             timeout: float = DEFAULT_TIMEOUT_S) -> Dict[str, Any]:
    """Download ``url`` to ``dest`` atomically and return its provenance record.

    A short read, a broken connection or a SHA-256 mismatch leaves nothing at ``dest`` and raises
    DownloadError (a mismatch names both hashes). Honours ``$GHOSTEDGE_OFFLINE``.
    """
    url, pinned = split_url(url)
    dest = Path(dest)
    expected = normalize_sha256(sha256) if sha256 else pinned
    if offline():
        raise DownloadError(f"Download of {url} refused", f"{ENV_OFFLINE} is set",
                            _manual_fix(dest) + f", or unset {ENV_OFFLINE}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot write to the weights cache {dest.parent}", str(exc),
                            f"Pass --cache-dir or set {ENV_CACHE} to a writable folder") from exc
    log.info("downloading %s to %s", url, dest)
    started = time.time()
    digest = hashlib.sha256()
    size = 0
    with _open(url, timeout, dest) as response:
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        total = math.ceil(length / _CHUNK) if length else None
        try:
            with atomic_path(dest) as tmp:
                with open(tmp, "wb") as fh:
                    for block in progress(_chunks(response), total=total,
                                          desc=f"download {dest.name}", unit="MiB"):
                        fh.write(block)
                        digest.update(block)
                        size += len(block)
                if length is not None and size != length:
                    raise DownloadError(f"Download of {url} is incomplete",
                                        f"got {size} of {length} bytes; the connection ended early",
                                        "Try again; nothing was kept")
                actual = digest.hexdigest()
                if expected and actual != expected:
                    raise DownloadError(f"Download of {url} does not match its SHA-256",
                                        f"expected {expected}, got {actual}; the file was deleted",
                                        "Check the URL and the pinned hash")
        except (http.client.HTTPException, OSError) as exc:
            raise DownloadError(f"Download of {url} broke off",
                                f"{type(exc).__name__} after {size} bytes"
                                + (f" of {length}" if length else "") + (f" ({exc})" if str(exc) else ""),
                                "Try again; nothing was kept") from exc
    record = {"url": url, "sha256": actual, "size": size, "sha256_verified": bool(expected),
              "downloaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
              "seconds": round(time.time() - started, 3)}
    _write_provenance(dest, record)
    log.info("downloaded %s (%d bytes, sha256 %s)", dest.name, size, actual)
    return record


def fetch(url: str, sha256: Optional[str] = None, cache_dir: PathArg = None,
          timeout: float = DEFAULT_TIMEOUT_S) -> Tuple[Path, Dict[str, Any]]:
    """Return ``(cached path, provenance)`` for ``url``, downloading it only when not cached.

    A cached file is re-hashed and compared with the pinned hash (``sha256`` or ``#sha256=``), else
    with the hash recorded when it was downloaded; a mismatch deletes it and downloads again. A file
    put in the cache by hand (no provenance yet) is accepted and its hash recorded (with a warning
    when no pinned hash verifies it). ``evict`` removes a cached file that turned out unusable.
    """
    bare_url, pinned = split_url(url)
    expected = normalize_sha256(sha256) if sha256 else pinned
    if sha256 and pinned and normalize_sha256(sha256) != pinned:
        raise DownloadError(f"Two different SHA-256 pins for {bare_url}",
                            f"{normalize_sha256(sha256)} vs {pinned}", "Give one hash")
    dest = cache_path_for_url(bare_url, cache_dir)
    if dest.is_file():
        actual = sha256_file(dest)
        recorded = read_provenance(dest)
        reference = expected or (recorded or {}).get("sha256")
        if reference is None or actual == reference:
            if recorded is None or recorded.get("sha256") != actual:
                recorded = {"url": bare_url, "sha256": actual, "size": dest.stat().st_size,
                            "sha256_verified": bool(expected), "source": "placed in the cache by hand"}
                _write_provenance(dest, recorded)
                if not expected:
                    log.warning("%s was placed in the cache by hand: its SHA-256 could not be "
                                "verified against a published hash (none is known for %s); its "
                                "hash %s is now recorded in %s and checked on later runs",
                                dest, bare_url, actual, provenance_path(dest).name)
            log.info("using cached %s", dest)
            return dest, {**recorded, "path": str(dest), "cached": True}
        log.warning("cached %s has SHA-256 %s, expected %s: deleting it and downloading again",
                    dest, actual, reference)
        dest.unlink()
    record = download(bare_url, dest, expected, timeout)
    return dest, {**record, "path": str(dest), "cached": False}
