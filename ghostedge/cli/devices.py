"""``ghostedge devices``: the phones adb sees, with model, SoC/platform, ABI and Android version."""
from __future__ import annotations

import argparse
from typing import Any, Dict, List

from ghostedge.cli.output import Output
from ghostedge.errors import GhostEdgeError

DESCRIPTION = """\
List the devices the adb server knows (any state). For devices in state 'device' their facts
are read over adb: model, SoC/platform, ABI, Android version and CPU clusters (--json).
Use the serial with `ghostedge bench --device SERIAL`.
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``devices`` command."""
    p = sub.add_parser("devices", parents=[common], help="list adb devices with their SoC, ABI and "
                       "Android version", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=run)


def describe(entry: Any) -> Dict[str, Any]:
    """One device as a row: adb's listing plus facts read from the phone when it is usable."""
    from ghostedge.android_runner import Adb, read_device_facts

    row: Dict[str, Any] = {"serial": entry.serial, "state": entry.state, "model": entry.model,
                           "soc": None, "platform": None, "abi": None, "android": None, "sdk": None,
                           "is_sd855": None, "clusters": None, "error": None}
    if entry.state != "device":
        return row
    try:
        facts = read_device_facts(Adb(entry.serial))
    except GhostEdgeError as exc:
        row["error"] = exc.one_line()
        return row
    row.update(model=facts.model or entry.model, soc=facts.soc, platform=facts.platform,
               abi=facts.abi, android=facts.release, sdk=facts.sdk, is_sd855=facts.is_sd855,
               clusters=facts.clusters)
    return row


def _table(rows: List[Dict[str, Any]]) -> str:
    heads = ["serial", "state", "model", "SoC/platform", "ABI", "Android"]
    body = []
    for r in rows:
        soc = "/".join(dict.fromkeys(x for x in (r["soc"], r["platform"]) if x)) or "-"
        if r["is_sd855"]:
            soc += " (SD855)"
        android = f"{r['android']} (SDK {r['sdk']})" if r["android"] else "-"
        body.append([r["serial"], r["state"], r["model"] or "-", soc, r["abi"] or "-", android])
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
             for row in [heads, *body]]
    return "\n".join(lines)


def run(args: argparse.Namespace, out: Output) -> int:
    """List devices; facts only for those in state ``device``."""
    from ghostedge.android_runner import list_devices

    rows = [describe(entry) for entry in list_devices()]
    for row in rows:
        if row["error"]:
            out.warn(f"{row['serial']}: {row['error']}")
        elif row["state"] != "device":
            out.warn(f"{row['serial']} is {row['state']}: facts not read "
                     "(see `adb devices -l`; accept the USB debugging prompt or reconnect)")
    if not rows:
        out.result({"devices": []}, "No devices attached. Plug in a phone with USB debugging on "
                   "(or `adb connect HOST:PORT`), or use `ghostedge bench --device local`.")
        return 0
    out.result({"devices": rows}, lambda: _table(rows))
    return 0
