"""``ghostedge devices``: the phones adb sees, with model, SoC/platform, ABI and Android version."""
from __future__ import annotations

import argparse
from typing import Any

from ghostedge.cli.output import Output

DESCRIPTION = """\
List the devices the adb server knows (any state). For devices in state 'device' their facts
are read over adb: model, SoC/platform, ABI, Android version and CPU clusters (--json).
Use the serial with `ghostedge bench --device SERIAL` (or `--device all`).
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``devices`` command."""
    p = sub.add_parser("devices", parents=[common], help="list adb devices with their SoC, ABI and "
                       "Android version", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """List devices; facts only for those in state ``device``."""
    from ghostedge.api import devices

    found = devices()
    for note in found.notes():
        out.warn(note)
    out.result(found.to_dict(), found.table)
    return 0
