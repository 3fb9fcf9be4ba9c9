"""``ghostedge check``: run .tflite models on real ARM code (LiteRT's ARM build under qemu-user)
and prove they compute what they compute on x86."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostedge.cli.output import Output

DESCRIPTION = """\
Run each model with the ARM build of LiteRT under qemu-user, on an emulated Cortex-A76 (with the
Snapdragon 855 big core's identity: dot-product and FP16 arithmetic) and a plain ARMv8.0
Cortex-A53, at 1 and 2 threads, on the bundled photos and seeded random inputs, and compare with
x86 LiteRT on the same inputs. FP32/FP16 exports must match within 1e-5 (probabilities) with the
same top-5; INT8 exports must be identical or at most 1 quantization step apart with the same
top-5 (every difference is listed in quantization steps).
tflite-runtime's ARM build, FP16 arithmetic forced in XNNPACK and which operators XNNPACK took
are reported without failing. The exit code is non-zero when a model fails to load or exceeds
a tolerance; the result is added to each model's report (an `arm64` section).

This proves correctness on ARM kernels, not phone latency (`ghostedge bench` measures that).
The first run downloads ~100 MB (Debian's arm64 Python and qemu-user-static, the pinned ARM
wheels from PyPI; no root needed, the host's packages are untouched) and keeps a ~190 MB
runtime in the ghostedge cache (--cache-dir > $GHOSTEDGE_CACHE > ~/.cache/ghostedge).

examples:
  ghostedge check ghostedge-out/ghostnet_100.fp32.tflite ghostedge-out/ghostnet_100.int8.tflite
  ghostedge check --cores cortex-a76 --threads 1 model.tflite --json
  ghostedge check --prepare-only          # just build (or verify) the cached runtime
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``check`` command."""
    p = sub.add_parser("check", parents=[common], help="run .tflite models on ARM code (qemu) and "
                       "compare with x86", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL.tflite", help="models to check")
    p.add_argument("--arch", default="arm64", choices=["arm64", "armv7"],
                   help="guest architecture (default: arm64)")
    p.add_argument("--cores", nargs="+", default=None, metavar="CORE",
                   help="emulated cores (arm64: cortex-a76 cortex-a53 [default], max; armv7: cortex-a7)")
    # read as strings: nargs="+" also takes the MODEL.tflite paths that follow (split off in run)
    p.add_argument("--threads", nargs="+", default=["1", "2"], metavar="N",
                   help="interpreter thread counts (default: 1 2)")
    p.add_argument("--no-tflite-runtime", action="store_true",
                   help="skip tflite-runtime's ARM build (arm64 only; it is reported, never failed)")
    p.add_argument("--no-force-fp16", action="store_true",
                   help="skip the run with FP16 arithmetic forced in XNNPACK")
    p.add_argument("--random-inputs", type=int, default=3, metavar="N",
                   help="seeded random inputs besides the bundled photos (default: 3)")
    p.add_argument("--tolerance", type=float, default=None, metavar="P",
                   help="FP32/FP16: largest max abs difference of probabilities allowed (default: 1e-05)")
    p.add_argument("--int8-steps", type=int, default=None, metavar="K",
                   help="INT8: largest difference in quantization steps allowed (default: 1; 0: bit-exact)")
    p.add_argument("--no-report", action="store_true",
                   help="do not add the result to the models' .report.json")
    p.add_argument("--timeout", type=float, default=900.0, metavar="S",
                   help="give up on an emulated process that reports nothing for S seconds (default: 900)")
    p.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help="ghostedge cache (default: $GHOSTEDGE_CACHE or ~/.cache/ghostedge)")
    p.add_argument("--prepare-only", action="store_true",
                   help="build (or find) the cached runtime and stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """Check the models (or just prepare the runtime) and print the tables (or --json)."""
    from ghostedge.armcheck import ARCHES, ArmCheckError, check_models, prepare_runtime
    from ghostedge.cli.bench import split_threads
    from ghostedge.errors import UsageError

    cores = None
    models = list(args.models)
    if args.cores:
        cores = [c for c in args.cores if not _is_model(c)]
        models += [c for c in args.cores if _is_model(c)]
    threads, models = split_threads(list(args.threads), models)

    if args.prepare_only:
        runtime = prepare_runtime(args.arch, args.cache_dir)
        info = runtime.to_dict()
        state = "built" if runtime.built_now else "found (cached)"
        out.result(info, f"{args.arch} runtime {state} in {runtime.setup_s:.1f} s: "
                         f"{info['size_mb']:.0f} MB at {runtime.path}")
        return 0
    if not models:
        raise UsageError("No models given", "check needs at least one .tflite file",
                         "Pass MODEL.tflite ... (or --prepare-only)")
    if args.random_inputs < 0:
        raise UsageError(f"--random-inputs {args.random_inputs} is not allowed", "it counts inputs",
                         "Use 0 or more")
    if any(t < 1 for t in threads):
        raise UsageError("--threads takes counts >= 1", f"got {threads}", "Use e.g. --threads 1 2")
    if args.tolerance is not None and not args.tolerance >= 0:
        raise UsageError(f"--tolerance {args.tolerance} is not allowed", "it bounds a difference",
                         "Use a value >= 0, e.g. 1e-5")
    if args.int8_steps is not None and args.int8_steps < 0:
        raise UsageError(f"--int8-steps {args.int8_steps} is not allowed", "it counts steps", "Use 0 or more")
    limits = {k: v for k, v in (("tolerance", args.tolerance), ("int8_max_steps", args.int8_steps))
              if v is not None}
    runtimes = ARCHES[args.arch].runtimes[:1] if args.no_tflite_runtime else None
    result = check_models([Path(m) for m in models], arch=args.arch, cache_dir=args.cache_dir,
                          cores=cores, threads=threads, runtimes=runtimes, force_fp16=not args.no_force_fp16,
                          random_inputs=args.random_inputs, update_reports=not args.no_report,
                          idle_timeout_s=args.timeout, **limits)
    out.result(result.to_dict(), result.render)
    if not result.passed:
        failed = result.failed
        first = next((p for m in failed for p in m.problems), "a run exceeded its tolerance")
        raise ArmCheckError(f"ARM check failed for {len(failed)} of {len(result.models)} model(s) "
                            f"({', '.join(Path(m.model).name for m in failed)})", first,
                            "The table shows every run (--json for the values)")
    return 0


def _is_model(text: str) -> bool:
    """A value that --cores swallowed but is a model path (``--cores cortex-a76 m.tflite``)."""
    return text.lower().endswith(".tflite") or Path(text).exists()
