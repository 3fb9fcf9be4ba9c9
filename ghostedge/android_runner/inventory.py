"""``ghostedge devices``: every device the adb server knows, with facts read from the usable ones."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from ghostedge.errors import GhostEdgeError


@dataclass
class DeviceRow:
    """One device as listed: adb's state plus what was read from it (when usable)."""

    serial: str
    state: str
    model: Optional[str] = None
    soc: Optional[str] = None
    platform: Optional[str] = None
    abi: Optional[str] = None
    android: Optional[str] = None
    sdk: Optional[int] = None
    is_sd855: Optional[bool] = None
    clusters: Optional[List[Dict[str, Any]]] = None
    error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class DeviceList:
    """The devices adb sees."""

    devices: List[DeviceRow] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge devices --json`` prints."""
        return {"devices": [d.to_dict() for d in self.devices]}

    def notes(self) -> List[str]:
        """Per-device problems, one line each."""
        found = []
        for row in self.devices:
            if row.error:
                found.append(f"{row.serial}: {row.error}")
            elif row.state != "device":
                found.append(f"{row.serial} is {row.state}: facts not read (see `adb devices -l`; "
                             "accept the USB debugging prompt or reconnect)")
        return found

    def table(self) -> str:
        if not self.devices:
            return ("No devices attached. Plug in a phone with USB debugging on (or `adb connect "
                    "HOST:PORT`), or use `ghostedge bench --device local`.")
        heads = ["serial", "state", "model", "SoC/platform", "ABI", "Android", "big cores", "connection"]
        body = []
        for r in self.devices:
            soc = "/".join(dict.fromkeys(x for x in (r.soc, r.platform) if x)) or "-"
            if r.is_sd855:
                soc += " (SD855)"
            android = f"{r.android} (SDK {r.sdk})" if r.android else "-"
            big = [c for cl in (r.clusters or [])[1:] for c in cl["cpus"]] or [c for cl in (r.clusters or []) for c in cl["cpus"]]
            cores = f"{big[0]}-{big[-1]}" if len(big) > 1 else (str(big[0]) if big else "-")
            body.append([r.serial, r.state, r.model or "-", soc, r.abi or "-", android, cores,
                         "network" if re.match(r"^[^:]+:\d+$", r.serial) else "usb"])
        widths = [max(len(str(x)) for x in col) for col in zip(heads, *body)]
        return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
                         for row in [heads, *body])


def describe_device(entry: Any) -> DeviceRow:
    """adb's listing of one device plus the facts read from it when it is usable."""
    from ghostedge.android_runner.adb import Adb
    from ghostedge.android_runner.facts import read_device_facts

    row = DeviceRow(entry.serial, entry.state, entry.model)
    if entry.state != "device":
        return row
    try:
        facts = read_device_facts(Adb(entry.serial))
    except GhostEdgeError as exc:
        row.error = exc.one_line()
        return row
    row.model, row.soc, row.platform = facts.model or entry.model, facts.soc, facts.platform
    row.abi, row.android, row.sdk = facts.abi, facts.release, facts.sdk
    row.is_sd855, row.clusters = facts.is_sd855, facts.clusters
    return row


def list_device_facts() -> DeviceList:
    """Every device the adb server lists (any state); facts only for those in state ``device``,
    read from all of them at once (one thread each: a farm's adb round trips are slow)."""
    from concurrent.futures import ThreadPoolExecutor

    from ghostedge.android_runner.devices import list_devices

    entries = list_devices()
    if len(entries) <= 1:
        return DeviceList([describe_device(entry) for entry in entries])
    with ThreadPoolExecutor(max_workers=min(16, len(entries))) as pool:
        return DeviceList(list(pool.map(describe_device, entries)))
