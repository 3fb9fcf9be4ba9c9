"""Output of the fake benchmark_model: log prefixes and streams by version, stat lines."""
from __future__ import annotations

import sys
from typing import List


def g(x: float) -> str:
    """C++ std::ostream default formatting of a double."""
    return format(x, ".6g")


class Log:
    """tflite/tools/logging.h: current builds prefix tool lines (INFO/WARN to stdout, ERROR to
    stderr); old builds print tool lines bare, to stderr. Runtime lines ("INFO: Initialized
    TensorFlow Lite runtime.", "VERBOSE: Replacing ...") are prefixed and go to stderr in both."""

    def __init__(self, version: str) -> None:
        self.new = version != "old"

    def tool(self, msg: str = "", level: str = "INFO") -> None:
        if self.new:
            stream = sys.stderr if level in ("ERROR", "FATAL") else sys.stdout
            stream.write("%s: %s\n" % (level, msg))
        else:
            sys.stderr.write(msg + "\n")
        stream = sys.stdout if self.new and level not in ("ERROR", "FATAL") else sys.stderr
        stream.flush()

    def runtime(self, msg: str, level: str = "INFO") -> None:
        sys.stderr.write("%s: %s\n" % (level, msg))
        sys.stderr.flush()


class Stat:
    """tsl::Stat / StatWithPercentiles over per-run times (µs)."""

    def __init__(self, percentiles: bool) -> None:
        self.v: List[int] = []
        self.percentiles = percentiles

    def avg(self) -> float:
        return sum(self.v) / len(self.v) if self.v else float("nan")

    def line(self) -> str:
        v = self.v
        if not v:
            return "count=0"
        n, s = len(v), sorted(v)
        if s[0] == s[-1]:
            text = "count=%d curr=%d%s" % (n, v[-1], "(all same)" if n > 1 else "")
        else:
            var = int(sum(x * x for x in v) / n - self.avg() ** 2)
            text = "count=%d first=%d curr=%d min=%d max=%d avg=%s std=%d" % (
                n, v[0], v[-1], s[0], s[-1], g(self.avg()), int(max(0, var) ** 0.5))
        if self.percentiles:
            text += " p5=%d median=%d p95=%d" % (s[n * 5 // 100], s[n * 50 // 100], s[n * 95 // 100])
        return text


def fail(log: Log, *lines: str) -> int:
    for line in lines:
        log.tool(line, "ERROR")
    log.tool("Benchmarking failed.", "ERROR")
    return 1
