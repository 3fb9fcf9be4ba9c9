"""The download and unpack steps of the emulated runtime, each a subprocess with a timeout whose
failure becomes one :class:`ArmSetupError` line.

apt runs with a private configuration (own lists/cache/state folders, an empty dpkg status, no
host configuration parts), so it needs no root and leaves the host's package state alone; the
empty status makes ``apt-get install --download-only`` fetch the whole dependency closure. apt
checks every .deb against the signed Release files (Debian's archive keyring). ``dpkg-deb -x``
unpacks without installing anything. pip downloads the pinned wheels in ``--require-hashes``
mode and installs them with ``--target`` into the sysroot.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ghostedge.armcheck.errors import ArmSetupError

log = logging.getLogger(__name__)

ENV_MIRROR = "GHOSTEDGE_DEBIAN_MIRROR"
ENV_SECURITY_MIRROR = "GHOSTEDGE_DEBIAN_SECURITY_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
APT_TIMEOUT_S = 900.0
PIP_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Sources:
    """Where packages come from (mirrors are overridable for proxies, local mirrors and tests)."""

    mirror: str = DEFAULT_MIRROR
    security_mirror: str = DEFAULT_SECURITY_MIRROR
    suite: str = "bookworm"
    keyring: Path = KEYRING
    pip_index_url: Optional[str] = None   # None: the user's pip configuration

    @classmethod
    def from_env(cls, suite: str = "bookworm") -> "Sources":
        return cls(os.environ.get(ENV_MIRROR) or DEFAULT_MIRROR,
                   os.environ.get(ENV_SECURITY_MIRROR) or DEFAULT_SECURITY_MIRROR, suite)


_SYNC_HINTS = ("Mirror sync in progress", "Hash Sum mismatch", "unexpected size")
_NETWORK_HINTS = ("Failed to fetch", "Could not connect", "Could not resolve", "Temporary failure",
                  "Connection refused", "timed out")


def last_line(text: str, prefixes: Sequence[str] = ("E:", "ERROR:", "error:")) -> str:
    """The most telling line of a tool's output: the first network failure (apt says only "Some
    index files failed to download" last), else the last line with an error prefix, else the last."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    network = [line for line in lines if any(h in line for h in _NETWORK_HINTS)]
    flagged = [line for line in lines if line.startswith(tuple(prefixes))]
    if network:
        return network[0][:300]
    return (flagged or lines or ["no output"])[-1][:300]


def run_tool(argv: Sequence[str], what: str, fix: str, timeout: float,
             env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None) -> str:
    """Run one setup command; its combined output on success, else ArmSetupError(what, why, fix)."""
    log.debug("running %s", " ".join(argv))
    try:
        proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", timeout=timeout, env=dict(env) if env else None,
                              cwd=cwd, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise ArmSetupError(what, f"{argv[0]} is not installed", fix) from exc
    except subprocess.TimeoutExpired as exc:
        raise ArmSetupError(what, f"{Path(argv[0]).name} did not finish within {timeout:.0f} s", fix) from exc
    if proc.returncode != 0:
        log.debug("%s output:\n%s", argv[0], proc.stdout)
        raise ArmSetupError(what, f"{Path(argv[0]).name} exited with {proc.returncode}: "
                            f"{last_line(proc.stdout)}", fix)
    return proc.stdout


def host_apt_proxies() -> Dict[str, str]:
    """The host's Acquire::http(s)::Proxy settings, which the private apt configuration would
    otherwise not see (it reads no host configuration)."""
    try:
        out = subprocess.run(["apt-config", "dump"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found: Dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key.lower() in ("acquire::http::proxy", "acquire::https::proxy"):
            found[key] = value.strip().rstrip(";").strip('"')
    return found


def write_apt_config(apt_dir: Path, debian_arch: str, sources: Sources) -> Path:
    """A private apt configuration under ``apt_dir`` (returns the file to put in APT_CONFIG)."""
    for sub in ("lists/partial", "archives/partial", "etc/sources.list.d", "etc/preferences.d",
                "etc/apt.conf.d", "etc/trusted.gpg.d"):
        (apt_dir / sub).mkdir(parents=True, exist_ok=True)
    (apt_dir / "status").write_text("")
    sign = f"Signed-By: {sources.keyring}\n"
    (apt_dir / "etc/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {sources.mirror}\nSuites: {sources.suite} {sources.suite}-updates\n"
        f"Components: main\n{sign}\n"
        f"Types: deb\nURIs: {sources.security_mirror}\nSuites: {sources.suite}-security\n"
        f"Components: main\n{sign}")
    user = _user_name()
    d = str(apt_dir)
    lines = [f'APT::Architecture "{debian_arch}";',
             f'APT::Architectures {{ "{debian_arch}"; "amd64"; }};',
             f'Dir::State "{d}";', f'Dir::State::Lists "{d}/lists";', f'Dir::State::status "{d}/status";',
             f'Dir::Cache "{d}";', f'Dir::Cache::archives "{d}/archives";',
             'Dir::Cache::pkgcache "";', 'Dir::Cache::srcpkgcache "";',
             f'Dir::Etc "{d}/etc";', 'Dir::Etc::sourcelist "/dev/null";',
             f'Dir::Etc::sourceparts "{d}/etc/sources.list.d";',
             f'Dir::Etc::preferencesparts "{d}/etc/preferences.d";',
             f'Dir::Etc::parts "{d}/etc/apt.conf.d";', 'Dir::Etc::trusted "/dev/null";',
             f'Dir::Etc::trustedparts "{d}/etc/trusted.gpg.d";',
             'APT::Install-Recommends "false";', 'APT::Install-Suggests "false";',
             'Acquire::Languages "none";', 'Acquire::Retries "2";', 'Acquire::http::Timeout "30";',
             'Debug::NoLocking "true";', 'Dpkg::Use-Pty "false";']
    if user:
        lines.append(f'APT::Sandbox::User "{user}";')
    lines += [f'{key} "{value}";' for key, value in host_apt_proxies().items()]
    conf = apt_dir / "apt.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return ""


def apt_env(conf: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APT_")}
    env.update({"APT_CONFIG": str(conf), "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"})
    return env


_APT_FIX = ("Check network access to {host} (behind a proxy: set http_proxy, or "
            f"${ENV_MIRROR} to a reachable Debian mirror) and run the command again")


def apt_download(conf: Path, packages: Sequence[str], qemu_package: str, debs_dir: Path,
                 sources: Sources) -> Tuple[List[Path], Path]:
    """Fetch the lists, the packages' dependency closure and the amd64 qemu-user-static .deb.
    Returns (guest .debs, qemu .deb)."""
    env = apt_env(conf)
    host = sources.mirror.split("//", 1)[-1].split("/", 1)[0]
    fix = _APT_FIX.format(host=host)
    update = ["apt-get", "-q", "update", "--error-on=any"]
    for attempt in range(3):  # a mirror being synced serves lists of the wrong size for a moment
        try:
            run_tool(update, f"Cannot read the Debian package lists from {sources.mirror}", fix,
                     APT_TIMEOUT_S, env)
            break
        except ArmSetupError as exc:
            if "error-on" in exc.why and len(update) == 4:  # apt < 2.1.16 (Ubuntu 20.04)
                update = update[:3]
                continue
            if attempt == 2 or not any(h in exc.why for h in _SYNC_HINTS):
                raise
            log.warning("Debian mirror looks mid-sync (%s); retrying in %d s", exc.why, 10 * (attempt + 1))
            time.sleep(10 * (attempt + 1))
    run_tool(["apt-get", "-q", "-y", "install", "--download-only", *packages],
             f"Cannot download Debian packages ({', '.join(packages)})", fix, APT_TIMEOUT_S, env)
    debs_dir.mkdir(parents=True, exist_ok=True)
    run_tool(["apt-get", "-q", "download", f"{qemu_package}:amd64"],
             f"Cannot download Debian's {qemu_package}", fix, APT_TIMEOUT_S, env, cwd=debs_dir)
    archives = Path(conf).parent / "archives"
    guest = sorted(archives.glob("*.deb"))
    qemu = sorted(debs_dir.glob(f"{qemu_package}_*_amd64.deb"))
    if not guest or not qemu:
        raise ArmSetupError("Debian packages are missing after the download",
                            f"found {len(guest)} guest packages and {len(qemu)} qemu packages", fix)
    return guest, qemu[-1]


def unpack_debs(debs: Sequence[Path], dest: Path) -> Dict[str, str]:
    """``dpkg-deb -x`` each .deb into ``dest`` (nothing is installed). Returns {package: version}."""
    dest.mkdir(parents=True, exist_ok=True)
    versions: Dict[str, str] = {}
    fix = "Delete the cache folder it names and run the command again; check free disk space"
    for deb in debs:
        run_tool(["dpkg-deb", "-x", str(deb), str(dest)], f"Cannot unpack {deb.name}", fix, 300.0)
        name, _, rest = deb.name.partition("_")
        versions[name] = rest.rsplit("_", 1)[0].replace("%3a", ":")
    return versions


def extract_qemu(deb: Path, binary: str, bin_dir: Path, scratch: Path) -> Path:
    """Copy ``usr/bin/<binary>`` out of the qemu-user-static .deb into ``bin_dir``."""
    unpack_debs([deb], scratch)
    found = scratch / "usr" / "bin" / binary
    if not found.is_file():
        raise ArmSetupError(f"{deb.name} has no {binary}", "the package layout is unexpected",
                            "Report this with the Debian package version")
    bin_dir.mkdir(parents=True, exist_ok=True)
    dest = bin_dir / binary
    shutil.copy2(found, dest)
    dest.chmod(0o755)
    shutil.rmtree(scratch, ignore_errors=True)
    return dest


def requirements_text(wheels: Mapping[str, Tuple[str, Tuple[str, ...]]]) -> str:
    """A pip requirements file pinning every wheel by version and SHA-256."""
    return "".join(f"{name}=={version} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n"
                   for name, (version, hashes) in sorted(wheels.items()))


def pip_install(wheels: Mapping[str, Tuple[str, Tuple[str, ...]]], platforms: Sequence[str],
                wheel_dir: Path, target: Path, no_deps: bool, sources: Sources) -> List[str]:
    """Download the pinned wheels for the guest platform (hash-checked) and install them into
    ``target``. Returns the wheel file names."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    req = wheel_dir / "requirements.txt"
    req.write_text(requirements_text(wheels))
    plat = ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311"]
    for tag in platforms:
        plat += ["--platform", tag]
    extra = ["--no-deps"] if no_deps else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONNOUSERSITE": "1"})
    pip = [sys.executable, "-m", "pip"]
    index = ["--index-url", sources.pip_index_url] if sources.pip_index_url else []
    runtimes = ", ".join(f"{n}=={v[0]}" for n, v in sorted(wheels.items())
                         if n in ("ai-edge-litert", "tflite-runtime"))
    run_tool([*pip, "download", "--no-cache-dir", "-q", "--dest", str(wheel_dir), *plat, *extra,
              *index, "--require-hashes", "-r", str(req)],
             f"Cannot download the ARM wheels from PyPI ({runtimes})",
             "Check network access to PyPI (pip's own configuration and proxy settings apply) "
             "and run the command again", PIP_TIMEOUT_S, env)
    run_tool([*pip, "install", "--no-cache-dir", "-q", "--no-index", "--find-links", str(wheel_dir),
              "--target", str(target), *plat, *extra, "--require-hashes", "-r", str(req)],
             "Cannot install the ARM wheels into the emulated runtime",
             "Delete the cache folder it names and run the command again", PIP_TIMEOUT_S, env)
    return sorted(p.name for p in wheel_dir.glob("*.whl"))
