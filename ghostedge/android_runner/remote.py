"""What ghostedge started on a phone, and what it left there: the processes running from its
folder (found with ``ps -A -o PID,ARGS`` and killed by pid), the files in it, and the sampler that
records load and CPU frequencies while benchmark_model runs.

benchmark_model runs under ``taskset``, which execs it: its ARGS start with the binary's device
path. The adb shell that started it shows the same path further along (``/system/bin/sh -c
taskset f0 /data/local/tmp/ghostedge/benchmark_model ...``) and is never matched: only ARGS that
*start* with a path in ghostedge's folder.
"""
from __future__ import annotations

import logging
import posixpath
import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.android_runner.adb import Adb
from ghostedge.errors import GhostEdgeError

log = logging.getLogger(__name__)

SAMPLE_TAG = "GHOSTEDGE_SAMPLE"
SAMPLE_PERIOD_S = 0.5


def running_from(adb: Adb, folder: str) -> Dict[int, str]:
    """{pid: ARGS} of the processes whose command starts with a path inside ``folder``."""
    prefix = posixpath.normpath(folder).rstrip("/") + "/"
    out = adb.shell(["ps", "-A", "-o", "PID,ARGS"], timeout=30, check=False).stdout
    found: Dict[int, str] = {}
    for line in out.splitlines():
        match = re.match(r"^\s*(\d+)\s+(\S.*)$", line)
        if match and match.group(2).startswith(prefix):
            found[int(match.group(1))] = match.group(2).strip()
    return found


def kill_started(adb: Adb, folder: str) -> List[int]:
    """Kill (SIGKILL, by pid) every process running from ``folder``; returns the pids that were
    running. Never raises: a phone that cannot be asked is reported in the log."""
    try:
        pids = sorted(running_from(adb, folder))
        if pids:
            adb.shell(["kill", "-9", *[str(p) for p in pids]], timeout=30, check=False)
            left = sorted(set(pids) & set(running_from(adb, folder)))
            if left:
                log.warning("on %s: processes %s from %s are still running after kill -9",
                            adb.serial, left, folder)
            log.info("on %s: killed %s started from %s", adb.serial, pids, folder)
        return pids
    except GhostEdgeError as exc:
        log.warning("could not look for processes left on %s: %s", adb.serial, exc.one_line())
        return []


def list_folder(adb: Adb, folder: str) -> Dict[str, Optional[int]]:
    """{name: size in bytes (None when unknown)} of every entry of a device folder ({} if absent)."""
    q = shlex.quote(folder)
    script = (f"if [ -d {q} ]; then cd {q} && for f in * .*; do "
              "if [ \"$f\" != . ] && [ \"$f\" != .. ] && [ -e \"$f\" ]; then "
              "echo \"GEFILE $(stat -c %s \"$f\" 2>/dev/null || echo -) $f\"; fi; done; fi; true")
    out = adb.shell_script(script, timeout=30, check=False).stdout
    entries: Dict[str, Optional[int]] = {}
    for line in out.splitlines():
        match = re.match(r"^GEFILE (\S+) (.+)$", line.rstrip("\r"))
        if match:
            entries[match.group(2)] = int(match.group(1)) if match.group(1).isdigit() else None
    return entries


@dataclass
class PhoneSample:
    """One look at the phone while benchmark_model ran: 1-minute load and scaling_cur_freq (kHz)."""

    load1: Optional[float]
    cur_khz: Dict[int, int]

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["cur_khz"] = {str(k): v for k, v in self.cur_khz.items()}
        return data


def sampler_script(cpus: Sequence[int], flag: str, max_samples: int,
                   period_s: float = SAMPLE_PERIOD_S) -> str:
    """A background loop (``( ... ) &``) printing ``GHOSTEDGE_SAMPLE <loadavg> | <cur_khz...>``
    every ``period_s`` while the file ``flag`` exists, at most ``max_samples`` times (so it ends
    even if nobody removes the flag). Only constants and quoted paths go into it."""
    files = " ".join(shlex.quote(f"/sys/devices/system/cpu/cpu{int(c)}/cpufreq/scaling_cur_freq")
                     for c in cpus)
    q = shlex.quote(flag)
    return (f"( n=0; while [ -e {q} ] && [ $n -lt {int(max_samples)} ]; do "
            f"echo \"{SAMPLE_TAG} $(cat /proc/loadavg 2>/dev/null) |\" $(cat {files} 2>/dev/null); "
            f"sleep {period_s:g}; n=$((n+1)); done ) &")


def split_samples(text: str, cpus: Sequence[int]) -> "tuple[str, List[PhoneSample]]":
    """The text without the sampler's lines, and the samples they held (in order)."""
    kept: List[str] = []
    samples: List[PhoneSample] = []
    for line in text.splitlines(keepends=True):
        if not line.startswith(SAMPLE_TAG):
            kept.append(line)
            continue
        head, _, freqs = line[len(SAMPLE_TAG):].partition("|")
        load = head.split()
        values = [int(v) for v in freqs.split() if v.isdigit()]
        try:
            load1: Optional[float] = float(load[0]) if load else None
        except ValueError:
            load1 = None
        cur = dict(zip(cpus, values)) if len(values) == len(cpus) else {}
        samples.append(PhoneSample(load1, cur))
    return "".join(kept), samples


def frequency_verdict(samples: Sequence[PhoneSample], max_khz: Dict[int, int],
                      min_khz: Optional[Dict[int, int]] = None, throttled_below: float = 0.95
                      ) -> Dict[str, Any]:
    """How fast the pinned cores ran: per sample the best core's scaling_cur_freq / its max
    (``reach``); samples where no pinned core was above its lowest frequency (benchmark_model not
    yet running) are left out. ``throttled`` when the median reach is below ``throttled_below``;
    None (unknown) without such samples."""
    reaches: List[float] = []
    for sample in samples:
        ratios = [khz / max_khz[c] for c, khz in sample.cur_khz.items() if max_khz.get(c)]
        floor = [khz > (min_khz or {}).get(c, 0) for c, khz in sample.cur_khz.items()]
        if ratios and (not min_khz or any(floor)):
            reaches.append(max(ratios))
    if not reaches:
        return {"samples": len(samples), "busy_samples": 0, "reach_median": None, "reach_min": None,
                "throttled": None}
    ordered = sorted(reaches)
    median = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1]
                                                                  + ordered[len(ordered) // 2]) / 2
    return {"samples": len(samples), "busy_samples": len(reaches), "reach_median": round(median, 4),
            "reach_min": round(ordered[0], 4), "throttled": median < throttled_below}
