"""What a phone is (getprop, CPU clusters from per-core max frequencies), how warm it is,
and which CPUs to pin the benchmark to (``taskset`` masks derived from the phone's own clusters)."""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ghostedge.android_runner.adb import Adb
from ghostedge.errors import DeviceError, UsageError

log = logging.getLogger(__name__)

_SEP = "@@GHOSTEDGE@@"
# Constant scripts (no user input): one adb round trip each.
FACTS_SCRIPT = (
    f"getprop; echo {_SEP}; "
    "grep -H . /sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq 2>/dev/null; "
    f"echo {_SEP}; grep -m1 -i '^hardware' /proc/cpuinfo 2>/dev/null; "
    f"echo {_SEP}; cat /sys/devices/system/cpu/possible 2>/dev/null; "
    f"echo {_SEP}; grep -H . /sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_min_freq 2>/dev/null; true")
TEMPS_SCRIPT = (
    "t=$(cat /sys/class/power_supply/battery/temp 2>/dev/null); "
    "if [ -n \"$t\" ]; then echo \"battery=$t\"; "
    "else dumpsys battery 2>/dev/null | grep -m1 -i 'temperature:'; fi; "
    "for z in /sys/class/thermal/thermal_zone*; do "
    "echo \"zone ${z##*thermal_zone} $(cat $z/type 2>/dev/null)=$(cat $z/temp 2>/dev/null)\"; done; true")
SD855_PLATFORMS = ("msmnile",)
SD855_SOCS = ("SM8150",)
POLICIES = ("prime", "big", "all", "none")


@dataclass
class DeviceFacts:
    """A phone's identity and CPU layout. ``clusters`` are sorted little → big by max frequency."""

    serial: str
    model: str = ""
    manufacturer: str = ""
    brand: str = ""
    device: str = ""
    board: str = ""
    platform: str = ""
    hardware: str = ""
    soc_model: str = ""
    soc_manufacturer: str = ""
    cpuinfo_hardware: str = ""
    abi: str = ""
    abilist: List[str] = field(default_factory=list)
    sdk: Optional[int] = None
    release: str = ""
    cpu_max_khz: Dict[int, int] = field(default_factory=dict)
    cpu_min_khz: Dict[int, int] = field(default_factory=dict)
    clusters: List[Dict[str, Any]] = field(default_factory=list)
    is_sd855: bool = False

    @property
    def soc(self) -> str:
        """The best SoC name for a table column: ro.soc.model, else the SoC in /proc/cpuinfo, else platform."""
        if self.soc_model:
            return self.soc_model
        found = re.search(r"\b(SM\d{4}|SDM\d{3}|MSM\d{4}|MT\d{4}\w*|Exynos\s?\d+|Tensor\w*)\b",
                          self.cpuinfo_hardware, re.I)
        return found.group(1) if found else (self.platform or self.hardware or "unknown SoC")

    @property
    def cpus(self) -> List[int]:
        """All CPU numbers with a known max frequency."""
        return sorted(self.cpu_max_khz)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["cpu_max_khz"] = {str(k): v for k, v in self.cpu_max_khz.items()}
        data["cpu_min_khz"] = {str(k): v for k, v in self.cpu_min_khz.items()}
        data["soc"] = self.soc
        return data


def parse_getprop(text: str) -> Dict[str, str]:
    """``[key]: [value]`` lines of ``getprop`` → dict."""
    return dict(re.findall(r"^\[([^\]]+)\]:\s*\[(.*)\]\s*$", text, re.M))


def parse_max_freqs(text: str, which: str = "max") -> Dict[int, int]:
    """``grep -H`` lines ``.../cpuN/cpufreq/cpuinfo_max_freq:KHZ`` (or ``_min_``) → {cpu: kHz}."""
    freqs: Dict[int, int] = {}
    for cpu, khz in re.findall(rf"/cpu(\d+)/cpufreq/cpuinfo_{which}_freq:\s*(\d+)", text):
        freqs[int(cpu)] = int(khz)
    return freqs


def clusters_from_freqs(freqs: Dict[int, int]) -> List[Dict[str, Any]]:
    """Group CPUs by max frequency; little → big."""
    by_freq: Dict[int, List[int]] = {}
    for cpu, khz in freqs.items():
        by_freq.setdefault(khz, []).append(cpu)
    return [{"cpus": sorted(by_freq[khz]), "max_khz": khz} for khz in sorted(by_freq)]


def read_device_facts(adb: Adb) -> DeviceFacts:
    """getprop + per-core max frequencies + /proc/cpuinfo Hardware, in one adb round trip."""
    text = adb.shell_script(FACTS_SCRIPT, timeout=30).stdout
    sections = text.split(_SEP) + ["", "", "", "", ""]
    props = parse_getprop(sections[0])
    freqs = parse_max_freqs(sections[1])
    hardware_line = sections[2].strip().split(":", 1)
    if not props:
        raise DeviceError(f"Cannot read the properties of device '{adb.serial}'",
                          "`getprop` printed nothing", "Check that the device has finished booting")
    if not freqs:
        log.warning("device %s: no cpuinfo_max_freq readable; CPU clusters unknown", adb.serial)
    sdk = props.get("ro.build.version.sdk", "")
    platform = props.get("ro.board.platform", "")
    facts = DeviceFacts(
        serial=adb.serial,
        model=props.get("ro.product.model", ""),
        manufacturer=props.get("ro.product.manufacturer", ""),
        brand=props.get("ro.product.brand", ""),
        device=props.get("ro.product.device", ""),
        board=props.get("ro.product.board", ""),
        platform=platform,
        hardware=props.get("ro.hardware", ""),
        soc_model=props.get("ro.soc.model", ""),
        soc_manufacturer=props.get("ro.soc.manufacturer", ""),
        cpuinfo_hardware=hardware_line[1].strip() if len(hardware_line) == 2 else "",
        abi=props.get("ro.product.cpu.abi", ""),
        abilist=[a for a in props.get("ro.product.cpu.abilist", "").split(",") if a],
        sdk=int(sdk) if sdk.isdigit() else None,
        release=props.get("ro.build.version.release", ""),
        cpu_max_khz=freqs,
        cpu_min_khz=parse_max_freqs(sections[4], "min"),
        clusters=clusters_from_freqs(freqs),
    )
    socs = (facts.soc_model.upper(), facts.cpuinfo_hardware.upper(), facts.hardware.upper())
    facts.is_sd855 = platform.lower() in SD855_PLATFORMS or any(
        soc in name for soc in SD855_SOCS for name in socs)
    return facts


def _celsius(raw: str, scale_hint: str) -> Optional[float]:
    """Sysfs temperatures: millidegrees (zones), decidegrees (battery); a few report degrees."""
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if scale_hint == "deci":
        value /= 10.0
    elif abs(value) >= 1000:
        value /= 1000.0
    elif abs(value) >= 200:
        value /= 10.0
    return round(value, 2) if -40.0 <= value <= 150.0 else None


def read_temperatures(adb: Adb) -> Dict[str, float]:
    """Temperatures in °C: ``battery`` plus every readable thermal zone, keyed by its type."""
    text = adb.shell_script(TEMPS_SCRIPT, timeout=30, check=False).stdout
    temps: Dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        battery = re.match(r"^(?:battery=|temperature:\s*)(-?\d+)$", line, re.I)
        if battery:
            value = _celsius(battery.group(1), "deci")
            if value is not None:
                temps["battery"] = value
            continue
        zone = re.match(r"^zone (\d+) (.*)=(-?\d+)$", line)
        if zone:
            value = _celsius(zone.group(3), "auto")
            name = zone.group(2).strip() or f"thermal_zone{zone.group(1)}"
            if name in temps:
                name = f"{name}#zone{zone.group(1)}"
            if value is not None:
                temps[name] = value
    return temps


def affinity_mask(facts: DeviceFacts, policy: str = "big") -> Tuple[Optional[str], List[int]]:
    """``taskset`` mask (plain hex, no ``0x``: toybox rejects it) and the CPUs it names.

    ``prime``: the fastest cluster's core (its first core when it has several); ``big``: every
    core above the slowest cluster (all cores on a single-cluster phone); ``all``; ``none`` (no
    taskset; the list holds all CPUs); or a hex mask such as ``f0``.
    """
    policy = (policy or "big").strip().lower()
    clusters = facts.clusters
    all_cpus = sorted(c for cl in clusters for c in cl["cpus"])
    if policy == "none":
        return None, all_cpus
    if policy in POLICIES and not clusters:
        raise DeviceError(f"Cannot choose '{policy}' cores on device '{facts.serial}'",
                          "its per-core max frequencies could not be read",
                          "Pass --affinity none, or an explicit hex mask such as f0")
    if policy == "prime":
        cpus = [clusters[-1]["cpus"][0]]
    elif policy == "big":
        cpus = sorted(c for cl in clusters[1:] for c in cl["cpus"]) if len(clusters) > 1 else all_cpus
    elif policy == "all":
        cpus = all_cpus
    else:
        cpus = _cpus_of_hex(policy, facts, all_cpus)
    return format(sum(1 << c for c in cpus), "x"), cpus


def _cpus_of_hex(policy: str, facts: DeviceFacts, all_cpus: List[int]) -> List[int]:
    text = policy[2:] if policy.startswith("0x") else policy
    if not re.fullmatch(r"[0-9a-f]+", text):
        raise UsageError(f"Unknown affinity '{policy}'", "expected prime, big, all, none or a hex mask",
                         "Use e.g. --affinity big, or --affinity f0 for CPUs 4-7")
    value = int(text, 16)
    cpus = [bit for bit in range(value.bit_length()) if value >> bit & 1]
    if not cpus:
        raise UsageError(f"Affinity mask '{policy}' names no CPU", "the mask is zero",
                         "Use a mask with at least one bit set, e.g. 80 for CPU 7")
    missing = [c for c in cpus if c not in all_cpus] if all_cpus else []
    if missing:
        raise DeviceError(f"Affinity mask '{policy}' names CPUs {missing}",
                          f"device '{facts.serial}' has CPUs {all_cpus}",
                          "Choose a mask within the phone's CPUs (see `ghostedge devices --json`), "
                          "or use --affinity big")
    return cpus
