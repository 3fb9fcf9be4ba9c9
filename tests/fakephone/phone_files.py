"""The live device files of a fake phone, written from its state (phone_state.py): thermal zone
and battery temperatures, ``scaling_cur_freq``, ``/proc/loadavg`` and ``/proc/stat`` (USER_HZ 100
ticks: user, nice, system, idle, then zeros). A file is rewritten only when its text changes."""
from __future__ import annotations

import os
from typing import Any, Dict, List


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def write_if_changed(path: str, text: str) -> None:
    if _read(path) != text.strip():
        with open(path + ".tmp", "w") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)


def write_files(root: str, state: Dict[str, Any]) -> None:
    for name, zone in state["zones"].items():
        if not zone.get("frozen"):  # an unreadable or removed sensor stays so
            zone["written"] = "%d" % round(zone["temp"] * 1000)
            write_if_changed(os.path.join(root, "sys/class/thermal", name, "temp"), zone["written"] + "\n")
    battery = state.get("battery")
    if battery and not battery.get("frozen"):
        battery["written"] = "%d" % round(battery["temp"] * 10)
        write_if_changed(os.path.join(root, "sys/class/power_supply/battery/temp"), battery["written"] + "\n")
    for cpu, khz in state["cur_khz"].items():
        path = os.path.join(root, "sys/devices/system/cpu/cpu%s/cpufreq/scaling_cur_freq" % cpu)
        if os.path.isdir(os.path.dirname(path)):
            write_if_changed(path, "%d\n" % khz)
    running = len(state["active"]) + 1
    total = 400 + running
    last_pid = max([int(p) for p in state["active"]] + [1000])
    load = " ".join("%.2f" % v for v in state["load"])
    write_if_changed(os.path.join(root, "proc/loadavg"), "%s %d/%d %d\n" % (load, running, total, last_pid))
    rows = [[int(v) for v in row] for _, row in sorted(state["stat"].items(), key=lambda kv: int(kv[0]))]
    total_row = [sum(col) for col in zip(*rows)] if rows else [0, 0, 0, 0]

    def line(label: str, r: List[int]) -> str:
        return "%s %d %d %d %d 0 0 0 0 0 0" % (label, r[0], r[1], r[2], r[3])
    text = [line("cpu ", total_row)] + [line("cpu%s" % cpu, [int(v) for v in row])
                                        for cpu, row in sorted(state["stat"].items(), key=lambda kv: int(kv[0]))]
    text += ["ctxt %d" % int(state["t"] * 1000 % 1e9), "btime %d" % state["btime"],
             "processes %d" % (5000 + state["runs_started"]), "procs_running %d" % running,
             "procs_blocked 0"]
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    write_if_changed(os.path.join(root, "proc/stat"), "\n".join(text) + "\n")
