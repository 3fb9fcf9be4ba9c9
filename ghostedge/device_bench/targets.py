"""Which devices a bench runs on: ``local``, the named adb serials (``HOST:PORT`` serials are
``adb connect``-ed), or ``all`` ready phones — each as a ``DeviceSpec`` that opens its backend in
its own worker (named phones that cannot be used are kept with their error: their rows are marked)."""
from __future__ import annotations

import re
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ghostedge.device_bench.parallel import DeviceSpec
from ghostedge.errors import UsageError

AFFINITY_WORDS = ("prime", "big", "all", "none")


def check_affinity(affinity: Optional[str]) -> None:
    """prime, big, all, none or a hex mask; anything else is a usage error before any work."""
    if affinity is None or affinity.strip().lower() in AFFINITY_WORDS:
        return
    text = affinity.strip().lower()
    text = text[2:] if text.startswith("0x") else text
    if not re.fullmatch(r"[0-9a-f]+", text) or int(text, 16) == 0:
        raise UsageError(f"Invalid --affinity {affinity!r}", "expected prime, big, all, none or a non-zero hex mask",
                         "Use e.g. --affinity big, or a hex mask such as f0 for CPUs 4-7")


def device_specs(names: Sequence[Optional[str]], opts: Any, benchmark_binary: Any, keep: bool,
                 cache_dir: Any, check: Callable[[Any], List[str]]) -> Tuple[List[DeviceSpec], List[str]]:
    """(the devices to run on, warnings about listed devices that were skipped)."""
    check_affinity(opts.affinity)
    if list(names) == ["local"]:
        from ghostedge.device_bench.local import LocalBackend

        backend = LocalBackend(opts.affinity or "none")   # a bad mask is a usage error here, at once
        return [DeviceSpec("local", open=lambda: backend, check=check)], []
    from ghostedge.android_runner import resolve_serials
    from ghostedge.device_bench.adb_backend import AdbBackend

    choice = resolve_serials([n for n in names if n])
    affinity = opts.affinity or opts.protocol.affinity

    def opener(serial: str) -> Callable[[], Any]:
        return lambda: AdbBackend(serial, affinity=affinity,
                                  benchmark_binary=str(benchmark_binary) if benchmark_binary else None,
                                  keep=keep, timeout_s=opts.run_timeout,
                                  cache_dir=str(cache_dir) if cache_dir else None)

    specs = [DeviceSpec(s, open=opener(s), check=check) for s in choice.serials]
    specs += [DeviceSpec(s, error=exc) for s, exc in choice.unusable]
    warnings = list(choice.skipped) + [f"{s}: {exc.one_line()} — its rows are marked, the other devices run"
                                       for s, exc in choice.unusable]
    return specs, warnings
