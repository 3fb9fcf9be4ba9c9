#!/usr/bin/env python3
"""Stand-in for TFLite's `benchmark_model` (android_aarch64_benchmark_model), for tests with
fake_adbd.py. It prints what the real tool prints, with the line formats of LiteRT
tflite/tools/benchmark/benchmark_model.cc and benchmark_tflite_model.cc (numbers: C++ ostream
default formatting, 6 significant digits).

Per-phone settings, read from ROOT/.fakephone/benchmark.json at every start (harness.py's
``FakePhone.set_benchmark`` writes it; FAKE_BM_MODE/FAKE_BM_FAIL/FAKE_BM_US are fallbacks):
  mode            "litert": really runs the model with the host's LiteRT; "synthetic": made-up times
  us              synthetic mean inference time (µs) at full frequency, 1 thread
  parallel_fraction  share of that time that threads divide (0: threads do not help)
  fail            "", "missing" (model not found), "crash" (SIGSEGV), "delegate" (NNAPI failure)
  version         "new": LiteRT/TF >= 2.16 (INFO: prefixes, p5/median/p95, per-XNNPACK-operator
                  profiles); "old": TF 2.5-2.9 (no prefixes on tool lines, no percentiles, a single
                  TfLiteXNNPackDelegate node in profiles, no --xnnpack_force_fp16)
  gpu, nnapi      "ok" | "partial" | "none" | "fail" | "absent" (the binary lacks that delegate's flags)
  gpu_us, nnapi_us   synthetic times with that delegate (default: us * 0.5, us * 0.7)
  unknown_flags   "warn" (current builds: WARN line, goes on), "ignore" (TF 1.x: silent), "error"
                  (not a real release: ERROR line, exit 1; for testing strict hosts)
  missing_flags   flags this binary does not know
  vanish_at_run, vanish_into_s   the phone vanishes vanish_into_s seconds into benchmark_model run
                  number vanish_at_run (1-based, counted per phone), or before that run prints its
                  results, whichever comes first
Everything it does on the phone is visible there: it is in the process table (ps/kill/pidof), its
timed loops heat the phone and load its cores (phone_state.py), and throttled cores slow it down.
When the host's adb client goes away it keeps running (adbd only hangs up the shell) and dies, as
the real binary does, of SIGPIPE when it next writes its output.
"""
from __future__ import annotations

import json
import os
import random
import resource
import signal
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_bm_flags as flags  # noqa: E402
import fake_op_profile as prof  # noqa: E402
import phone_state  # noqa: E402
from fake_bm_delegates import apply_delegates  # noqa: E402
from fake_bm_output import Log, Stat, fail, g  # noqa: E402

ROOT = os.environ.get("FAKE_ADBD_ROOT", "")
DEFAULTS: Dict[str, Any] = {"us": 1500.0, "version": "new", "gpu": "ok", "nnapi": "ok", "unknown_flags": "warn",
                            "missing_flags": [], "gpu_us": None, "nnapi_us": None, "parallel_fraction": 0.0,
                            "vanish_at_run": None, "vanish_into_s": 0.2}


def settings() -> Dict[str, Any]:
    """benchmark.json over the defaults; mode/fail/us fall back to FAKE_BM_* when not set there."""
    stored: Dict[str, Any] = {}
    try:
        with open(os.path.join(ROOT, ".fakephone", "benchmark.json")) as fh:
            stored = json.load(fh)
    except (OSError, ValueError):
        pass
    cfg = dict(DEFAULTS, **stored)
    cfg["mode"] = stored.get("mode") or os.environ.get("FAKE_BM_MODE", "litert")
    cfg["fail"] = stored["fail"] if "fail" in stored else os.environ.get("FAKE_BM_FAIL", "")
    if "us" not in stored and os.environ.get("FAKE_BM_US"):
        cfg["us"] = float(os.environ["FAKE_BM_US"])
    return cfg


def unroot(text: str) -> str:
    """fake_adbd rewrote device paths to host paths; show them as the phone would."""
    return text.replace(ROOT + "/", "/") if ROOT else text


class Phone:
    """This run's place on the phone: registration, heat, throttling, vanishing."""

    def __init__(self, cfg: Dict[str, Any], argv: List[str]) -> None:
        self.pid = os.getpid()
        self.cfg = cfg
        self.slow, self.slow_at = 1.0, 0.0
        if not ROOT:
            self.run_no = 0
            return
        target = os.environ.get("FAKE_ADBD_SHIM_TARGET", sys.argv[0])
        phone_state.register_process(ROOT, self.pid, [target] + argv, "benchmark")
        self.run_no = phone_state.count_run(ROOT)
        self.vanishing = cfg.get("vanish_at_run") is not None and int(cfg["vanish_at_run"]) == self.run_no
        if self.vanishing:
            timer = threading.Timer(float(cfg.get("vanish_into_s") or 0.0), self.vanish)
            timer.daemon = True
            timer.start()

    def vanish(self) -> None:
        """Stop this phone's adbd: it kills every command it started, this one included."""
        try:
            with open(os.path.join(ROOT, ".fakephone", "adbd.pid")) as fh:
                os.kill(int(fh.read()), signal.SIGTERM)
        except (OSError, ValueError):
            return
        time.sleep(30)  # the daemon kills this process group

    def begin(self, threads: int, cpus: Optional[List[int]], kind: str) -> None:
        if ROOT:
            phone_state.begin_run(ROOT, self.pid, threads, cpus, kind)

    def slowdown(self) -> float:
        """Throttling factor, sampled every 50 ms."""
        now = time.monotonic()
        if ROOT and now - self.slow_at > 0.05:
            with phone_state.state_at_now(ROOT) as state:
                self.slow = phone_state.slowdown(state, self.pid)
            self.slow_at = now
        return self.slow

    def end(self) -> None:
        if ROOT:
            phone_state.end_run(ROOT, self.pid)
            if self.vanishing:
                self.vanish()

    def done(self) -> None:
        if ROOT:
            phone_state.unregister_process(ROOT, self.pid)


def run_loop(log: Log, invoke: Callable[[], float], min_runs: int, min_secs: float, max_secs: float,
             percentiles: bool) -> Stat:
    """BenchmarkModel::Run: at least min_runs and min_secs, no new run after max_secs."""
    log.tool("Running benchmark for at least %d iterations and at least %s seconds but terminate if "
             "exceeding %s seconds." % (min_runs, g(min_secs), g(max_secs)))
    st = Stat(percentiles)
    now = time.perf_counter()
    t_min, t_max = now + min_secs, now + max_secs
    while (len(st.v) < min_runs or now < t_min) and now <= t_max:
        st.v.append(int(invoke()))
        now = time.perf_counter()
    log.tool(st.line() + "\n")
    return st


def main() -> int:
    """Behave like benchmark_model with the given flags; returns its exit status."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed output kills it, as the C++ binary
    cfg = settings()
    version = cfg["version"]
    log = Log(version)
    argv = [unroot(a) for a in sys.argv[1:]]
    phone = Phone(cfg, argv)
    try:
        return benchmark(cfg, log, argv, phone)
    finally:
        phone.done()


def benchmark(cfg: Dict[str, Any], log: Log, argv: List[str], phone: Phone) -> int:
    version = cfg["version"]
    log.tool("STARTING!")
    missing = list(cfg.get("missing_flags") or [])
    missing += sorted(flags.GPU_FLAGS) if cfg["gpu"] == "absent" else []
    missing += sorted(flags.NNAPI_FLAGS) if cfg["nnapi"] == "absent" else []
    missing += ["xnnpack_force_fp16", "signature_to_run_for"] if version == "old" else []
    values, unconsumed, errors = flags.parse(argv, missing)
    if errors:
        return fail(log, *[e for e in errors if e], flags.usage(os.environ.get("FAKE_ADBD_SHIM_TARGET", "benchmark_model"), missing))
    if unconsumed and cfg["unknown_flags"] == "error":
        return fail(log, "Unconsumed cmdline flags: " + " ".join(unconsumed))
    if unconsumed and cfg["unknown_flags"] == "warn":
        log.tool("Unconsumed cmdline flags: " + " ".join(unconsumed), "WARN")
    for line in flags.log_lines(values, version):
        log.tool(line)
    graph = values.get("graph", "")
    if not graph:
        return fail(log, "Please specify the name of your TF Lite input file with --graph")
    host_graph = os.path.join(ROOT, graph.lstrip("/")) if ROOT else graph
    if cfg["fail"] == "missing" or not os.path.isfile(host_graph):
        return fail(log, "Could not open '%s'." % graph, "Failed to mmap model %s" % graph)
    log.tool("Loaded model %s" % graph)
    log.runtime("Initialized TensorFlow Lite runtime.")
    if cfg["fail"] == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    ops = prof.model_ops(host_graph)
    kind, node_type, unsupported = apply_delegates(cfg, log, values, argv, ops)
    if kind == "failed":
        return 1
    return timed_runs(cfg, log, values, phone, host_graph, graph, ops, kind, node_type, unsupported)


def mask_cpus() -> Optional[List[int]]:
    """The CPUs of the taskset mask this process was started under (None: no taskset)."""
    mask = os.environ.get("FAKEPHONE_TASKSET_MASK")
    if not mask:
        return None
    value = int(mask, 16)
    return [c for c in range(value.bit_length()) if value >> c & 1]


def make_invoke(cfg: Dict[str, Any], values: Dict[str, Any], host_graph: str, kind: str, phone: Phone,
                busy: int) -> Callable[[], float]:
    """One inference, returning its time in µs (throttling and the delegate taken into account)."""
    threads = int(values.get("num_threads", -1))
    rnd = random.Random(42)
    factor = 1.04 if values.get("enable_op_profiling") else 1.0
    if kind == "cpu":
        p = float(cfg.get("parallel_fraction") or 0.0)
        factor *= (1.0 - p) + p / max(1, busy)
        factor *= 0.85 if values.get("xnnpack_force_fp16") else 1.0
    mean_us = float(cfg["us"]) if kind == "cpu" else float(cfg.get(kind + "_us") or float(cfg["us"]) * (0.5 if kind == "gpu" else 0.7))
    real = None
    if cfg["mode"] == "litert" and kind == "cpu":
        real = litert_invoke(host_graph, threads, values.get("use_xnnpack", True))

    def invoke() -> float:
        slow = phone.slowdown() if kind == "cpu" else 1.0  # sampled outside the timed part
        t0 = time.perf_counter()
        if real is not None:
            real()
            spent = (time.perf_counter() - t0) * factor * slow
        else:
            spent = max(0.0, rnd.gauss(mean_us, mean_us * 0.03)) * factor * slow / 1e6
        left = spent - (time.perf_counter() - t0)
        if left > 0:
            time.sleep(left)
        return (time.perf_counter() - t0) * 1e6
    return invoke


def litert_invoke(host_graph: str, threads: int, use_xnnpack: bool) -> Optional[Callable[[], Any]]:
    """The host's LiteRT Interpreter on the model, or None (then times are synthetic)."""
    try:
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        rt = OpResolverType.AUTO if use_xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        it = Interpreter(model_path=host_graph, num_threads=max(threads, 1), experimental_op_resolver_type=rt)
        it.allocate_tensors()
        for d in it.get_input_details():
            it.set_tensor(d["index"], np.random.default_rng(0).random(d["shape"]).astype(d["dtype"]))
        return it.invoke
    except Exception as e:  # noqa: BLE001 - fall back to synthetic timings
        sys.stderr.write("WARN: fake_benchmark_model: litert unavailable (%s); synthetic timings\n" % e)
        return None


def timed_runs(cfg: Dict[str, Any], log: Log, values: Dict[str, Any], phone: Phone, host_graph: str, graph: str,
               ops: List[Dict[str, Any]], kind: str, node_type: Optional[str], unsupported: tuple) -> int:
    new = cfg["version"] != "old"
    size_mb = os.path.getsize(host_graph) / 1e6
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpus = mask_cpus()
    all_cpus = phone_state.refresh(ROOT)["cpus"] if ROOT else list(range(8))
    threads = int(values.get("num_threads", -1))
    busy = len(phone_state.busy_cpus({"threads": threads, "cpus": cpus}, all_cpus)) if all_cpus else 1
    t0 = time.perf_counter()
    invoke = make_invoke(cfg, values, host_graph, kind, phone, busy)
    init_us = int((time.perf_counter() - t0) * 1e6) + int(2000 + 400 * size_mb) * (40 if kind == "gpu" else 1)
    log.tool("The input model file size (MB): %s" % g(size_mb))
    log.tool("Initialized session in %sms." % g(init_us / 1e3))
    dry = bool(values.get("dry_run"))
    phone.begin(busy if kind == "cpu" else 1, cpus, {"cpu": "cpu", "gpu": "gpu"}.get(kind, "npu"))
    try:
        warm = run_loop(log, invoke, 0 if dry else flags.get(values, "warmup_runs"),
                        -1.0 if dry else flags.get(values, "warmup_min_secs"), flags.get(values, "max_secs"), new)
        reg = run_loop(log, invoke, 0 if dry else flags.get(values, "num_runs"),
                       -1.0 if dry else flags.get(values, "min_secs"), flags.get(values, "max_secs"), new)
    finally:
        phone.end()
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log.tool("Inference timings in us: Init: %d, First inference: %d, Warmup (avg): %s, Inference (avg): %s"
             % (init_us, warm.v[0] if warm.v else 0, g(warm.avg()), g(reg.avg())))
    log.tool("Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to "
             "the actual memory footprint of the model at runtime. Take the information at your discretion.")
    grown = max(0, rss_end - rss0) / 1024.0
    log.tool("Memory footprint delta from the start of the tool (MB): init=%s overall=%s"
             % (g(1.5 + 2.0 * size_mb + grown * 0.5), g(5.5 + 2.6 * size_mb + grown)))
    if values.get("report_peak_memory_footprint"):
        rss_mb = rss_end // 1024
        log.tool("Overall peak memory footprint (MB) via periodic monitoring: %s" % g(rss_end / 1024.0 + size_mb * 1.3))
        log.tool("Memory status at the end of exeution:")
        log.tool("- VmRSS              : %d MB" % (rss_mb + int(size_mb)))
        log.tool("+ RssAnnon           : %d MB" % rss_mb)
        log.tool("+ RssFile + RssShmem : %d MB" % int(size_mb))
    if values.get("enable_op_profiling"):
        write_profile(log, values, ops, reg.v, init_us, new, kind, node_type, unsupported)
    return 0


def write_profile(log: Log, values: Dict[str, Any], ops: List[Dict[str, Any]], run_us: List[int], init_us: int,
                  new: bool, kind: str, node_type: Optional[str], unsupported: tuple) -> None:
    """ProfilingListener::OnBenchmarkEnd with the default (stdout) formatter."""
    width = 40 if new else 24
    form = "per_op" if new and node_type == "TfLiteXNNPackDelegate" else "delegate_node"
    rows, totals = prof.rows_for_runs(ops, run_us, form, node_type, unsupported)
    init_text = prof.init_tables(init_us, width)
    run_text = prof.render_tables(rows, totals, width)
    target = values.get("op_profiling_output_file", "")
    if target:  # written to a file instead of the log
        path = os.path.join(ROOT, target.lstrip("/")) if ROOT else target
        with open(path, "w") as fh:
            fh.write("Profiling Info for Benchmark Initialization:\n%s\n\n" % init_text)
            fh.write("Operator-wise Profiling Info for Regular Benchmark Runs:\n%s\n\n" % run_text)
        return
    log.tool("Profiling Info for Benchmark Initialization:\n%s\n\n" % init_text)
    log.tool("Operator-wise Profiling Info for Regular Benchmark Runs:\n%s\n\n" % run_text)


if __name__ == "__main__":
    sys.exit(main())
