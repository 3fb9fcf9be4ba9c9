"""The process table of a fake phone: host processes that "run on the phone" (adb shells that
fake_adbd started, benchmark_model runs), in ROOT/.fakephone/procs/PID.json. An entry counts only
while its process lives with the same start time, so a reused pid never passes for it. Stdlib only."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from typing import Any, Dict, List, Optional


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def host_stat(pid: int) -> Optional[List[str]]:
    """Fields of /proc/PID/stat after the command name (index 0 = state), or None."""
    text = _read("/proc/%d/stat" % pid)
    if not text or ")" not in text:
        return None
    return text.rsplit(")", 1)[1].split()


def process_alive(entry: Dict[str, Any]) -> bool:
    """The registered process still runs (same start time, not a zombie)."""
    fields = host_stat(int(entry["pid"]))
    return bool(fields) and fields[0] not in ("Z", "X") and fields[19] == str(entry.get("start"))


def register_process(root: str, pid: int, argv: List[str], kind: str, ppid: Optional[int] = None) -> None:
    """Put a host process in the phone's process table (``ps``/``kill``/``pidof`` see only these)."""
    fields = host_stat(pid)
    if fields is None:
        return
    entry = {"pid": pid, "ppid": ppid if ppid is not None else int(fields[1]), "argv": argv,
             "name": os.path.basename(argv[0]) if argv else "?", "kind": kind, "user": "shell",
             "start": fields[19], "since": time.time()}
    folder = os.path.join(root, ".fakephone", "procs")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "%d.json" % pid)
    with open(path + ".tmp", "w") as fh:
        json.dump(entry, fh)
    os.replace(path + ".tmp", path)


def unregister_process(root: str, pid: int) -> None:
    """Forget a process (it ended)."""
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(root, ".fakephone", "procs", "%d.json" % pid))


def processes(root: str) -> List[Dict[str, Any]]:
    """Registered processes that still run, by pid; entries of dead ones are removed."""
    out = []
    for path in glob.glob(os.path.join(root, ".fakephone", "procs", "*.json")):
        try:
            with open(path) as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            continue
        if process_alive(entry):
            out.append(entry)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return sorted(out, key=lambda e: e["pid"])
