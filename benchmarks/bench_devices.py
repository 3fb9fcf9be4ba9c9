"""Do several phones run in parallel? `ghostedge bench --device all` over three fake phones of
different SoCs (one vanishing mid-run) against the same plan on one phone alone.

    .venv/bin/python benchmarks/bench_devices.py [--repeats 3] [--inference-ms 20] [--no-write]

The phones are the project's fake phones (tests/fakephone: a real adb client and server, a fake
adbd per phone, a stand-in benchmark_model sleeping --inference-ms per inference), so the wall
times measure ghostedge's orchestration, not a CPU. Writes the "devices" section of
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from device_bench.phone_cli import FAST_THERMAL, bench_args, workspace  # noqa: E402
from fakephone.harness import adb_sandbox  # noqa: E402

SOCS = ("sd855", "tensor_g1", "mt6833")


def timed_bench(args: List[str], ws: Path, env: Dict[str, str]) -> Dict[str, Any]:
    env = dict(env, GHOSTEDGE_NO_PROGRESS="1", GHOSTEDGE_CACHE=str(ws / "cache"), TMPDIR=str(ws / "tmp"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ghostedge", *args, "--json"], cwd=ws, env=env,
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    runs = [json.loads(line) for line in (ws / args[args.index("--output") + 1] / "results.jsonl")
            .read_text().splitlines()]
    per_device: Dict[str, int] = {}
    serials = {r["session_id"]: r["device"]["serial"] for r in runs if r.get("kind") == "session"}
    for r in runs:
        if r.get("kind") == "run":
            per_device[serials[r["session_id"]]] = per_device.get(serials[r["session_id"]], 0) + 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    error = errors[0].replace(str(ws), "WS") if errors else ""
    return {"wall_s": wall, "rc": proc.returncode, "runs": per_device,
            "error": error if len(error) < 200 else error[:200] + " …"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--inference-ms", type=float, default=20.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    extra = ["--threads", "1", "2", "4", "--repeats", str(args.repeats)]
    with tempfile.TemporaryDirectory(prefix="ghostedge-devices-") as tmp:
        ws = workspace(Path(tmp))
        with adb_sandbox(Path(tmp) / "adb1") as sandbox:
            phone = sandbox.add_phone(profile="sd855", thermal=FAST_THERMAL, synthetic_us=args.inference_ms * 1000)
            one = timed_bench(bench_args(ws, [phone.serial], *extra, out="one"), ws, sandbox.env)
        with adb_sandbox(Path(tmp) / "adb3") as sandbox:
            phones = sandbox.add_phones(SOCS, thermal=FAST_THERMAL, synthetic_us=args.inference_ms * 1000)
            phones[2].vanish_after_runs(3)
            three = timed_bench(bench_args(ws, ["all"], *extra, out="three"), ws, sandbox.env)
            left = {p.profile: (p.listdir(), len(p.running_benchmarks())) for p in phones[:2]}
            serial_soc = {p.serial: p.profile for p in phones}
    planned = 2 * 3 * args.repeats
    lines = ["## Several phones at once (`benchmarks/bench_devices.py`)", "",
             f"Fake phones (real adb client and server, one fake adbd per phone, stand-in benchmark_model "
             f"sleeping {args.inference_ms:g} ms per inference), 2 models × threads 1 2 4 × {args.repeats} "
             f"repeats = {planned} runs per phone, 1 warm-up + 5 timed inferences per run. Machine: "
             f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end.", "",
             "| session | wall s | runs per phone | exit | error line |", "|---|---|---|---|---|",
             f"| one phone (sd855) | {one['wall_s']:.1f} | {', '.join(f'{n}' for n in one['runs'].values())} | "
             f"{one['rc']} | {one['error'] or '—'} |",
             f"| `--device all`: sd855, tensor_g1, mt6833 (vanishes after 3 runs) | {three['wall_s']:.1f} | "
             + ", ".join(f"{serial_soc[s]} {n}" for s, n in sorted(three['runs'].items(), key=lambda x: serial_soc[x[0]]))
             + f" | {three['rc']} | {three['error'] or '—'} |", "",
             f"Three phones took {three['wall_s'] / one['wall_s']:.2f}× the time of one; one after the other "
             f"they would take about {sum(three['runs'].values()) / planned:.1f}× (the runs they made). "
             "Left on the two phones that finished "
             "(files, running benchmarks): "
             + ", ".join(f"{soc}: {'nothing' if files is None and not n else f'{files}, {n}'}"
                         for soc, (files, n) in left.items()) + "."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from _report import write_section

        print(f"wrote {write_section('devices', text)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
