#!/usr/bin/env python3
"""Stand-in for TFLite's `benchmark_model` (android_aarch64_benchmark_model), for
tests with fake_adbd.py.  Prints what a recent benchmark_model prints: tool log
lines "INFO: ..." on STDOUT, "ERROR: ..." and TFLite-runtime messages on STDERR
(as tensorflow/lite/tools/logging.h + minimal logging do), with the line formats of
tflite/tools/benchmark/benchmark_model.cc (LiteRT) -- numbers use C++ ostream
default formatting (6 significant digits, e.g. 2.95034e+06).

Timing source (env FAKE_BM_MODE):
  litert     (default if ai_edge_litert imports) really runs the .tflite with the
             host's ai_edge_litert Interpreter -> real (x86) numbers
  synthetic  deterministic made-up numbers (FAKE_BM_US = mean inference us)
Failure injection (env FAKE_BM_FAIL): "missing" model, "crash" (SIGSEGV-like rc 139),
"delegate" (NNAPI-style delegate failure).
The same three settings can be changed while the fake phone runs: a JSON file
$FAKE_ADBD_ROOT/.fakephone/benchmark.json {"mode": ..., "fail": ..., "us": ...} overrides the
environment (tests/fakephone/harness.py writes it).
"""
from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from typing import Callable, Dict, List


def g(x: float) -> str:
    """C++ std::ostream default formatting of a double."""
    return format(x, ".6g")


def log(msg: str = "", level: str = "INFO", runtime: bool = False) -> None:
    """tflite/tools/logging.h: INFO/WARN -> stdout, ERROR/FATAL -> stderr.
    Messages of the TFLite runtime itself (minimal_logging: "Initialized TensorFlow
    Lite runtime.", "Created ... XNNPACK delegate", "VERBOSE: Replacing ...") -> stderr.
    (Old TF 1.x/2.0-era builds sent everything to stderr without prefixes.)"""
    stream = sys.stderr if (runtime or level in ("ERROR", "FATAL")) else sys.stdout
    stream.write("%s: %s\n" % (level, msg) if msg or level != "INFO" else "\n")
    stream.flush()


def setting(name: str, env_name: str, default: str = "") -> str:
    """A control-file value, else the environment variable, else ``default``."""
    path = os.path.join(os.environ.get("FAKE_ADBD_ROOT", ""), ".fakephone", "benchmark.json")
    try:
        with open(path) as fh:
            value = json.load(fh).get(name)
    except (OSError, ValueError):
        value = None
    if value is None:
        value = os.environ.get(env_name, default)
    return str(value)


def parse_flags(argv: List[str]) -> Dict[str, str]:
    """``--key=value`` / ``--flag`` arguments."""
    flags = {}
    for a in argv:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            flags[k] = v
        elif a.startswith("--"):
            flags[a[2:]] = "true"
    return flags


def b(v: str) -> bool:
    """benchmark_model's boolean flag values."""
    return v.lower() in ("1", "true", "yes")


class Stat:
    def __init__(self):
        self.v = []

    def add(self, us):
        self.v.append(int(us))

    def avg(self):
        return sum(self.v) / len(self.v) if self.v else 0.0

    def line(self):
        v = self.v
        if not v:
            return "count=0"
        n = len(v)
        avg = self.avg()
        std = int((sum((x - avg) ** 2 for x in v) / n) ** 0.5)
        s = sorted(v)

        def pct(p):
            return s[min(n - 1, int(p / 100.0 * n))]
        if n == 1:
            return "count=1 curr=%d p5=%d median=%d p95=%d" % (v[0], v[0], v[0], v[0])
        return ("count=%d first=%d curr=%d min=%d max=%d avg=%s std=%d p5=%d median=%d p95=%d"
                % (n, v[0], v[-1], s[0], s[-1], g(avg), std, pct(5), pct(50), pct(95)))


def maxrss_kb() -> int:
    """Peak RSS of this process (kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_loop(invoke: Callable[[], object], min_runs: int, min_secs: float, max_secs: float) -> "Stat":
    """benchmark_model's run loop: at least min_runs and min_secs, at most max_secs."""
    log("Running benchmark for at least %d iterations and at least %s seconds but "
        "terminate if exceeding %s seconds." % (min_runs, g(min_secs), g(max_secs)))
    st = Stat()
    now = time.perf_counter()
    t_min, t_max = now + min_secs, now + max_secs
    run = 0
    while (run < min_runs or now < t_min) and now <= t_max:
        t0 = time.perf_counter()
        invoke()
        t1 = time.perf_counter()
        st.add((t1 - t0) * 1e6)
        now = t1
        run += 1
    log(st.line())
    log()
    return st


def main() -> int:
    """Behave like benchmark_model with the given flags; returns its exit status."""
    f = parse_flags(sys.argv[1:])
    root = os.environ.get("FAKE_ADBD_ROOT", "")
    dev_graph = f.get("graph", "")
    # fake_adbd already rewrote device paths in argv to host paths; accept both
    host_graph = dev_graph
    if root and dev_graph.startswith("/") and not os.path.exists(dev_graph):
        host_graph = root + dev_graph
    threads = int(f.get("num_threads", "-1"))
    warmup_runs = int(f.get("warmup_runs", "1"))
    num_runs = int(f.get("num_runs", "50"))
    min_secs = float(f.get("min_secs", "1"))
    max_secs = float(f.get("max_secs", "150"))
    warmup_min_secs = float(f.get("warmup_min_secs", "0.5"))
    use_xnnpack = b(f.get("use_xnnpack", "true"))
    fail = setting("fail", "FAKE_BM_FAIL")

    log("STARTING!")
    log("Log parameter values verbosely: [0]")
    if "num_runs" in f:
        log("Min num runs: [%d]" % num_runs)
    if "min_secs" in f:
        log("Min runs duration (seconds): [%s]" % g(min_secs))
    if "max_secs" in f:
        log("Max runs duration (seconds): [%s]" % g(max_secs))
    if "num_threads" in f:
        log("Num threads: [%d]" % threads)
    if "warmup_runs" in f:
        log("Min warmup runs: [%d]" % warmup_runs)
    if "warmup_min_secs" in f:
        log("Min warmup runs duration (seconds): [%s]" % g(warmup_min_secs))
    log("Graph: [%s]" % dev_graph)
    log("Signature to run: []")
    if "num_threads" in f:
        log("#threads used for CPU inference: [%d]" % threads)
    if "use_xnnpack" in f:
        log("Use xnnpack: [%d]" % int(use_xnnpack))

    if fail == "missing" or not host_graph or not os.path.exists(host_graph):
        log("Could not open '%s'." % dev_graph, "ERROR")
        log("Failed to mmap model %s" % dev_graph, "ERROR")
        log("Benchmarking failed.", "ERROR")
        return 1
    log("Loaded model %s" % dev_graph)
    log("Initialized TensorFlow Lite runtime.", runtime=True)
    if fail == "crash":
        os.kill(os.getpid(), 11)

    mode = setting("mode", "FAKE_BM_MODE", "litert")
    if mode == "litert":
        try:
            import numpy as np
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as e:
            log("fake_benchmark_model: litert unavailable (%s); synthetic timings" % e, "WARN")
            mode = "synthetic"
    rss0 = maxrss_kb()
    t0 = time.perf_counter()
    invoke = None
    n_nodes = 2
    if mode == "litert":
        try:
            rt = (OpResolverType.AUTO if use_xnnpack
                  else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            it = Interpreter(model_path=host_graph, num_threads=max(threads, 1),
                             experimental_op_resolver_type=rt)
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.random.default_rng(0).random(
                    d["shape"]).astype(d["dtype"]))
            invoke = it.invoke
            n_nodes = max(1, len(it._get_ops_details()))
        except Exception as e:  # fall back to synthetic
            log("fake_benchmark_model: litert unavailable (%s); synthetic timings" % e, "WARN")
            mode = "synthetic"
    if mode == "synthetic":
        mean_us = float(setting("us", "FAKE_BM_US", "1500"))
        rnd = random.Random(42)

        def synthetic_invoke():
            time.sleep(max(0.0, rnd.gauss(mean_us, mean_us * 0.03)) / 1e6)
        invoke = synthetic_invoke
    if use_xnnpack:
        if mode == "synthetic":  # the real LiteRT library prints this line itself
            log("Created TensorFlow Lite XNNPACK delegate for CPU.", runtime=True)
        log("Replacing %d out of %d node(s) with delegate (TfLiteXNNPackDelegate) node, "
            "yielding 1 partitions for subgraph 0." % (n_nodes, n_nodes), "VERBOSE", runtime=True)
    if fail == "delegate":
        log("NN API returned error ANEURALNETWORKS_BAD_DATA at line 1068 while adding operation.", "ERROR", runtime=True)
        log("Restored original execution plan after delegate application failure.", "ERROR", runtime=True)
        log("Failed to apply NNAPI delegate.", "ERROR")
        log("Benchmarking failed.", "ERROR")
        return 1
    init_us = int((time.perf_counter() - t0) * 1e6)
    rss_init = maxrss_kb()
    log("The input model file size (MB): %s" % g(os.path.getsize(host_graph) / 1e6))
    log("Initialized session in %sms." % g(init_us / 1e3))
    warm = run_loop(invoke, warmup_runs, warmup_min_secs, max_secs)
    reg = run_loop(invoke, num_runs, min_secs, max_secs)
    rss_end = maxrss_kb()
    log("Inference timings in us: Init: %d, First inference: %d, Warmup (avg): %s, "
        "Inference (avg): %s" % (init_us, warm.v[0] if warm.v else 0, g(warm.avg()), g(reg.avg())))
    log("Note: as the benchmark tool itself affects memory footprint, the following is only "
        "APPROXIMATE to the actual memory footprint of the model at runtime. Take the "
        "information at your discretion.")
    log("Memory footprint delta from the start of the tool (MB): init=%s overall=%s"
        % (g((rss_init - rss0) / 1024.0), g((rss_end - rss0) / 1024.0)))
    if b(f.get("report_peak_memory_footprint", "false")):
        log("Overall peak memory footprint (MB) via periodic monitoring: %s" % g(rss_end / 1024.0))
        log("Memory status at the end of exeution:")
        log("- VmRSS              : %d MB" % (rss_end // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
