#!/usr/bin/env python3
"""Create a fake-device root directory for fake_adbd.py that looks like a
Snapdragon 855 (SM8150, "msmnile") phone: 1x Kryo 485 Gold prime (A76) @2.84 GHz,
3x Kryo 485 Gold (A76) @2.42 GHz, 4x Kryo 485 Silver (A55) @1.78 GHz.

Values are typed from public facts about the SoC (MIDR fields 0x51/0xd/0x804
and 0x805, frequency tables, platform name), not copied from any dump.

Layout created under ROOT (device path = ROOT + path):
  props.json                        read by system/bin/getprop
  system/bin/{getprop,taskset,dumpsys,nproc}   fixture commands
  proc/cpuinfo
  sys/devices/system/cpu/{possible,present,online}
  sys/devices/system/cpu/cpuN/cpufreq/{cpuinfo_min_freq,cpuinfo_max_freq,
      scaling_cur_freq,scaling_min_freq,scaling_max_freq,scaling_governor,
      scaling_available_frequencies,related_cpus}
  sys/devices/system/cpu/cpuN/topology/{physical_package_id,core_id}
  sys/class/thermal/thermal_zoneN/{type,temp}
  sys/class/power_supply/battery/{temp,capacity,status}
  system/bin/{ps,kill,pidof,pgrep,pkill,rm}   process tools over phone_tools.py
  data/local/tmp/
(/proc/loadavg, /proc/stat and the live values of the temperature and scaling_cur_freq files
are written by phone_state.py as the phone runs.)
Other layouts (to check that nothing assumes SD855's cores): --profile tensor_g1 (4+2+2,
prime pair at cpu6-7), mt6833 (6 little + 2 big at cpu6-7), mt6737 (one cluster of 4,
armeabi-v7a). Their values are typed from public spec sheets, rounded.
usage: make_sd855_profile.py ROOT [--profile NAME]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from typing import List, Tuple

PROPS = {
    "ro.product.model": "GM1903",
    "ro.product.brand": "OnePlus",
    "ro.product.manufacturer": "OnePlus",
    "ro.product.name": "OnePlus7",
    "ro.product.device": "OnePlus7",
    "ro.product.board": "msmnile",
    "ro.board.platform": "msmnile",
    "ro.hardware": "qcom",
    "ro.product.cpu.abi": "arm64-v8a",
    "ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a,armeabi",
    "ro.product.cpu.abilist64": "arm64-v8a",
    "ro.product.cpu.abilist32": "armeabi-v7a,armeabi",
    "ro.build.version.release": "10",
    "ro.build.version.sdk": "29",
    "ro.build.type": "user",
    "ro.debuggable": "0",
    "ro.serialno": "FAKE0855",
    "sys.boot_completed": "1",
}

SILVER = [300000, 403200, 499200, 576000, 672000, 768000, 844800, 940800, 1036800,
          1113600, 1209600, 1305600, 1382400, 1478400, 1555200, 1632000, 1708800, 1785600]
GOLD = [710400, 825600, 940800, 1056000, 1171200, 1286400, 1401600, 1497600, 1612800,
        1708800, 1804800, 1920000, 2016000, 2131200, 2227200, 2323200, 2419200]
PRIME = [825600, 940800, 1056000, 1171200, 1286400, 1401600, 1497600, 1612800, 1708800,
         1804800, 1920000, 2016000, 2131200, 2227200, 2323200, 2419200, 2534400,
         2649600, 2745600, 2841600]
CLUSTERS = [(range(0, 4), SILVER, 0x805), (range(4, 7), GOLD, 0x804), (range(7, 8), PRIME, 0x804)]
FEATURES = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
            "asimdrdm lrcpc dcpop asimddp")
THERMAL = [("cpu-0-0-usr", 36100), ("cpu-1-4-usr", 38300), ("cpu-1-7-usr", 39000),
           ("gpuss-0-usr", 35600), ("xo-therm-adc", 33000), ("battery", 31000)]

GETPROP = r'''#!/bin/sh
# fixture getprop (toybox-like): "getprop" lists all, "getprop KEY [DEFAULT]" prints one
exec python3 - "$@" <<'PY'
import json, os, sys
props = json.load(open(os.path.join(os.environ.get("FAKE_ADBD_ROOT", "/"), "props.json")))
if len(sys.argv) > 1:
    print(props.get(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
else:
    for k in sorted(props):
        print("[%s]: [%s]" % (k, props[k]))
PY
'''

# toybox taskset: "taskset MASK CMD..." runs CMD; "taskset -p PID" prints mask.
# The host may have fewer CPUs than the fake phone, so the mask is checked (plain hex
# as toybox wants, naming at least one CPU of the phone), recorded, and not applied.
TASKSET = r'''#!/bin/sh
if [ "$1" = "-p" ]; then echo "pid $2's affinity mask: ff"; exit 0; fi
[ "$1" = "-a" ] && shift
case "$1" in ''|*[!0-9a-fA-F]*) echo "taskset: bad mask '$1'" >&2; exit 1;; esac
if [ $(( 0x$1 & 0x__FULL_MASK__ )) -eq 0 ]; then
  echo "taskset: sched_setaffinity: Invalid argument" >&2; exit 1
fi
mkdir -p "$FAKE_ADBD_ROOT/.fakephone" && echo "$1" > "$FAKE_ADBD_ROOT/.fakephone/last_taskset_mask"
export FAKEPHONE_TASKSET_MASK="$1"
shift
exec "$@"
'''

DUMPSYS = r'''#!/bin/sh
if [ "$1" = "battery" ]; then
cat <<EOF
Current Battery Service state:
  AC powered: false
  USB powered: true
  Wireless powered: false
  Max charging current: 500000
  Max charging voltage: 5000000
  Charge counter: 3100000
  status: 2
  health: 2
  present: true
  level: $(cat "$FAKE_ADBD_ROOT/sys/class/power_supply/battery/capacity")
  scale: 100
  voltage: 4210
  temperature: $(cat "$FAKE_ADBD_ROOT/sys/class/power_supply/battery/temp")
  technology: Li-ion
EOF
exit 0
fi
echo "Can't find service: $1" >&2
exit 1
'''


# process tools (toybox forms, see phone_tools.py): they see and signal only the phone's processes
TOOLS = ("ps", "kill", "pidof", "pgrep", "pkill", "rm")


def tool_script(name: str) -> str:
    """ROOT/system/bin/NAME: runs phone_tools.py NAME with this Python."""
    here = os.path.dirname(os.path.abspath(__file__))
    return '#!/bin/sh\nexec %s %s %s "$@"\n' % (shlex.quote(sys.executable),
                                                shlex.quote(os.path.join(here, "phone_tools.py")), name)


def w(root: str, rel: str, text: str, mode: int = 0o644) -> None:
    """Write ROOT/rel with ``mode``."""
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)


def cpuinfo(clusters: List[Tuple[range, List[int], int]] = CLUSTERS,
            hardware: str = "Qualcomm Technologies, Inc SM8150") -> str:
    """/proc/cpuinfo text for the given clusters."""
    out = ["Processor\t: AArch64 Processor rev 14 (aarch64)"]
    for cpus, _, part in clusters:
        for n in cpus:
            out += ["processor\t: %d" % n, "BogoMIPS\t: 38.40", "Features\t: " + FEATURES,
                    "CPU implementer\t: 0x%x" % (0x51 if part in (0x804, 0x805) else 0x41),
                    "CPU architecture: 8", "CPU variant\t: 0xd",
                    "CPU part\t: 0x%x" % part, "CPU revision\t: 14", ""]
    if hardware:
        out.append("Hardware\t: " + hardware)
    return "\n".join(out) + "\n"


def freq_steps(low: int, high: int, n: int = 8) -> List[int]:
    """A plausible frequency table from ``low`` to ``high`` kHz."""
    return [low + (high - low) * i // (n - 1) for i in range(n)]


# name -> (property overrides, clusters [(cpus, freqs, MIDR part)], /proc/cpuinfo Hardware)
PROFILES = {
    "sd855": ({}, CLUSTERS, "Qualcomm Technologies, Inc SM8150"),
    "tensor_g1": ({"ro.product.model": "Pixel 6", "ro.product.brand": "google",
                   "ro.product.manufacturer": "Google", "ro.product.name": "oriole",
                   "ro.product.device": "oriole", "ro.product.board": "oriole",
                   "ro.board.platform": "gs101", "ro.hardware": "oriole", "ro.soc.model": "GS101",
                   "ro.soc.manufacturer": "Google", "ro.build.version.release": "13",
                   "ro.build.version.sdk": "33"},
                  [(range(0, 4), freq_steps(300000, 1803000), 0xd05),
                   (range(4, 6), freq_steps(400000, 2253000), 0xd0b),
                   (range(6, 8), freq_steps(500000, 2802000), 0xd44)], ""),
    "mt6833": ({"ro.product.model": "M2103K19G", "ro.product.brand": "Redmi",
                "ro.product.manufacturer": "Xiaomi", "ro.product.name": "camellia",
                "ro.product.device": "camellia", "ro.product.board": "camellia",
                "ro.board.platform": "mt6833", "ro.hardware": "mt6833", "ro.soc.model": "MT6833V/ZA",
                "ro.soc.manufacturer": "Mediatek", "ro.build.version.release": "12",
                "ro.build.version.sdk": "31"},
               [(range(0, 6), freq_steps(500000, 2000000), 0xd05),
                (range(6, 8), freq_steps(725000, 2200000), 0xd0b)], "MT6833V/ZA"),
    "mt6737": ({"ro.product.model": "Moto E4", "ro.product.brand": "motorola",
                "ro.product.manufacturer": "motorola", "ro.product.name": "woods",
                "ro.product.device": "woods", "ro.product.board": "mt6737m",
                "ro.board.platform": "mt6737m", "ro.hardware": "mt6735",
                "ro.product.cpu.abi": "armeabi-v7a", "ro.product.cpu.abilist": "armeabi-v7a,armeabi",
                "ro.product.cpu.abilist64": "", "ro.build.version.release": "7.1.1",
                "ro.build.version.sdk": "25"},
               [(range(0, 4), freq_steps(299000, 1250000), 0xd03)], "MT6737M"),
}


def taskset_script(ncpu: int) -> str:
    """toybox-like taskset: plain hex only (no 0x), and the mask must name a CPU of the phone."""
    full = (1 << ncpu) - 1
    return TASKSET.replace("__FULL_MASK__", "%x" % full)


def main() -> None:
    """Command line: ROOT [--profile NAME]."""
    ap = argparse.ArgumentParser(description="Build a fake phone's device root.")
    ap.add_argument("root")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="sd855")
    args = ap.parse_args()
    build(args.root, args.profile)


def build(root: str, profile: str = "sd855") -> str:
    """Create the device root for ``profile`` under ``root``; returns its absolute path."""
    overrides, clusters, hardware = PROFILES[profile]
    root = os.path.abspath(root)
    props = dict(PROPS, **overrides)
    ncpu = sum(len(c[0]) for c in clusters)
    w(root, "props.json", json.dumps(props, indent=1) + "\n")
    for name, body in (("getprop", GETPROP), ("taskset", taskset_script(ncpu)),
                       ("dumpsys", DUMPSYS), ("nproc", "#!/bin/sh\necho %d\n" % ncpu)):
        w(root, "system/bin/" + name, body, 0o755)
    for name in TOOLS:
        w(root, "system/bin/" + name, tool_script(name), 0o755)
    w(root, "proc/cpuinfo", cpuinfo(clusters, hardware))
    base = "sys/devices/system/cpu/"
    for f in ("possible", "present", "online"):
        w(root, base + f, "0-%d\n" % (ncpu - 1))
    for cpus, freqs, _ in clusters:
        for n in cpus:
            d = base + "cpu%d/cpufreq/" % n
            w(root, d + "cpuinfo_min_freq", "%d\n" % freqs[0])
            w(root, d + "cpuinfo_max_freq", "%d\n" % freqs[-1])
            w(root, d + "scaling_min_freq", "%d\n" % freqs[0])
            w(root, d + "scaling_max_freq", "%d\n" % freqs[-1])
            w(root, d + "scaling_cur_freq", "%d\n" % freqs[len(freqs) // 2])
            w(root, d + "scaling_governor", "schedutil\n")
            w(root, d + "scaling_available_frequencies", " ".join(map(str, freqs)) + " \n")
            w(root, d + "related_cpus", " ".join(str(c) for c in cpus) + "\n")
            w(root, d + "affected_cpus", " ".join(str(c) for c in cpus) + "\n")
            w(root, base + "cpu%d/topology/physical_package_id" % n, "0\n")
            w(root, base + "cpu%d/topology/core_id" % n, "%d\n" % n)
            w(root, base + "cpu%d/online" % n, "1\n")
    for i, (typ, temp) in enumerate(THERMAL):
        w(root, "sys/class/thermal/thermal_zone%d/type" % i, typ + "\n")
        w(root, "sys/class/thermal/thermal_zone%d/temp" % i, "%d\n" % temp)
    w(root, "sys/class/power_supply/battery/temp", "310\n")
    w(root, "sys/class/power_supply/battery/capacity", "87\n")
    w(root, "sys/class/power_supply/battery/status", "Charging\n")
    os.makedirs(os.path.join(root, "data/local/tmp"), exist_ok=True)
    return root


if __name__ == "__main__":
    main()
