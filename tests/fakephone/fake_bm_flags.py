"""benchmark_model's command line, as tflite/tools/command_line_flags.cc parses it.

* Every known flag consumes the first argument that starts with ``--NAME=``; anything else (an
  unknown flag, ``--flag`` without ``=``, a second ``--NAME=``) stays unconsumed. Current builds log
  ``WARN: Unconsumed cmdline flags: ...`` and go on (exit 0); TF 1.x builds said nothing.
* A known flag whose value does not parse (a bool other than true/false/1/0, an int without
  leading digits) logs ``Failed to parse flag 'NAME' against argv '...'``, then the usage text as
  one ERROR, and the run ends with ``Benchmarking failed.`` (exit 1). So does ``--help``.
* LogParams prints ``Label: [value]`` for the flags that were given, in the tool's order.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

# name -> (type, default, log label or None); order = the order LogParams logs them
FLAGS: List[Tuple[str, str, Any, Optional[str]]] = [
    ("num_runs", "int", 50, "Min num runs"),
    ("min_secs", "float", 1.0, "Min runs duration (seconds)"),
    ("max_secs", "float", 150.0, "Max runs duration (seconds)"),
    ("run_delay", "float", -1.0, "Inter-run delay (seconds)"),
    ("run_frequency", "float", -1.0, "Number of prorated runs per second"),
    ("num_threads", "int", -1, "Num threads"),
    ("use_caching", "bool", False, "Use caching"),
    ("benchmark_name", "string", "", "Benchmark name"),
    ("output_prefix", "string", "", "Output prefix"),
    ("warmup_runs", "int", 1, "Min warmup runs"),
    ("warmup_min_secs", "float", 0.5, "Min warmup runs duration (seconds)"),
    ("verbose", "bool", False, None),
    ("dry_run", "bool", False, "Run w/o invoking kernels"),
    ("report_peak_memory_footprint", "bool", False, "Report the peak memory footprint"),
    ("memory_footprint_check_interval_ms", "int", 50, "Memory footprint check interval (ms)"),
    ("graph", "string", "", "Graph"),
    ("signature_to_run_for", "string", "", "Signature to run"),
    ("input_layer", "string", "", "Input layers"),
    ("input_layer_shape", "string", "", "Input shapes"),
    ("allow_fp16", "bool", False, "Allow fp16"),
    ("require_full_delegation", "bool", False, "Require full delegation"),
    ("enable_op_profiling", "bool", False, "Enable op profiling"),
    ("op_profiling_output_mode", "string", "stdout", "Op profiling output mode."),
    ("op_profiling_output_file", "string", "", "Op profiling output file."),
    ("max_profiling_buffer_entries", "int", 1024, "Max initial profiling buffer entries"),
    ("help", "bool", False, None),
    # delegate providers, in registration order: default (CPU), GPU, NNAPI, XNNPACK
    ("max_delegated_partitions", "int", 0, "Max number of delegated partitions"),
    ("min_nodes_per_partition", "int", 0, "Min nodes per partition"),
    ("use_gpu", "bool", False, "Use gpu"),
    ("gpu_precision_loss_allowed", "bool", True, "Allow lower precision in gpu"),
    ("gpu_backend", "string", "", "GPU backend"),
    ("gpu_wait_type", "string", "", "GPU delegate wait type"),
    ("use_nnapi", "bool", False, "Use NNAPI"),
    ("nnapi_execution_preference", "string", "", "NNAPI execution preference"),
    ("nnapi_accelerator_name", "string", "", "NNAPI accelerator name"),
    ("disable_nnapi_cpu", "bool", True, "Disable NNAPI cpu"),
    ("nnapi_allow_fp16", "bool", False, "Allow fp16 in NNAPI"),
    ("use_xnnpack", "bool", False, "Use xnnpack"),
    ("xnnpack_force_fp16", "bool", False, "xnnpack_force_fp16"),
]
GPU_FLAGS = {"use_gpu", "gpu_precision_loss_allowed", "gpu_backend", "gpu_wait_type"}
NNAPI_FLAGS = {"use_nnapi", "nnapi_execution_preference", "nnapi_accelerator_name", "disable_nnapi_cpu",
               "nnapi_allow_fp16"}
USAGE_HELP = {"num_runs": "expected number of runs, see also min_secs, max_secs",
              "num_threads": "number of threads", "graph": "graph file name",
              "enable_op_profiling": "enable op profiling", "use_gpu": "use gpu",
              "use_nnapi": "use nnapi delegate api", "use_xnnpack": "explicitly apply the XNNPACK delegate."}


def _parse_value(kind: str, text: str) -> Tuple[bool, Any]:
    if kind == "bool":
        return (text in ("true", "false", "1", "0")), text in ("true", "1")
    if kind == "int":
        m = re.match(r"\s*[-+]?\d+", text)
        return (m is not None), int(m.group(0)) if m else 0
    if kind == "float":
        m = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text)
        return (m is not None), float(m.group(0)) if m else 0.0
    return True, text


def parse(argv: List[str], missing: List[str]) -> Tuple[Dict[str, Any], List[str], List[str]]:
    """(values of the flags given, unconsumed arguments, parse errors) for this binary, which lacks
    the flags in ``missing``."""
    known = [f for f in FLAGS if f[0] not in missing]
    consumed = [False] * len(argv)
    values: Dict[str, Any] = {}
    errors: List[str] = []
    for name, kind, _default, _label in known:
        for i, arg in enumerate(argv):
            if consumed[i] or not arg.startswith("--%s=" % name):
                continue
            consumed[i] = True
            ok, value = _parse_value(kind, arg[len(name) + 3:])
            if ok:
                values[name] = value
            else:
                errors.append("Failed to parse flag '%s' against argv '%s'" % (name, arg))
            break
    unconsumed = [a for a, used in zip(argv, consumed) if not used]
    if unconsumed[:1] == ["--help"] or values.get("help"):
        errors.append("")  # usage, then failure, without a parse message
    return values, unconsumed, errors


def get(values: Dict[str, Any], name: str) -> Any:
    """A flag's value, else its default."""
    if name in values:
        return values[name]
    return next(f[2] for f in FLAGS if f[0] == name)


def usage(program: str, missing: List[str]) -> str:
    """Flags::Usage, shortened to the flags ghostedge passes (the real text lists ~80)."""
    rows = [(n, k, d) for n, k, d, _ in FLAGS if n not in missing and n in USAGE_HELP]
    names = ["--%s=%s" % (n, str(d).lower() if k == "bool" else _fmt(d) if k == "float" else d) for n, k, d in rows]
    width = max(len(x) for x in names)
    lines = ["usage: %s <flags>" % program, "Flags:"]
    for text, (n, k, _d) in zip(names, rows):
        lines.append("\t%s\t%s\toptional\t%s" % (text.ljust(width), "int32" if k == "int" else k, USAGE_HELP[n]))
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return format(x, ".6g")


def log_lines(values: Dict[str, Any], version: str) -> List[str]:
    """LogParams: ``Label: [value]`` for the flags given (bools as 0/1), plus Graph and, in current
    builds, ``Signature to run``; ``#threads used for CPU inference`` mirrors --num_threads."""
    lines = ["Log parameter values verbosely: [%d]" % int(bool(values.get("verbose", False)))]
    for name, kind, _default, label in FLAGS:
        if label is None:
            continue
        if name == "graph":
            lines.append("Graph: [%s]" % values.get("graph", ""))
            continue
        if name == "signature_to_run_for":
            if version != "old":
                lines.append("Signature to run: [%s]" % values.get(name, ""))
            continue
        if name == "max_delegated_partitions" and "num_threads" in values:
            lines.append("#threads used for CPU inference: [%d]" % values["num_threads"])
        if name not in values:
            continue
        value = values[name]
        text = str(int(value)) if kind == "bool" else _fmt(value) if kind == "float" else str(value)
        lines.append("%s: [%s]" % (label, text))
        if name == "use_nnapi" and value:
            lines.append("NNAPI accelerators available: [qti-default,qti-dsp,qti-gpu,nnapi-reference]")
    return lines
