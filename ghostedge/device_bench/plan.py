"""What a benchmark measures: models × delegates × threads × repeats, interleaved so thermal drift
spreads over every cell."""
from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.device_bench.options import MAX_SECS
from ghostedge.errors import UsageError
from ghostedge.fileio import sha256_file
from ghostedge.model_report import ModelIdentity

log = logging.getLogger(__name__)

DEFAULT_THREADS = (1, 2, 4)
DEFAULT_REPEATS = 3
DEFAULT_WARMUP_RUNS = 10   # PaddleClas's benchmark.sh used 10 warm-up runs
DEFAULT_NUM_RUNS = 50      # benchmark_model's own default
DEFAULT_MIN_SECS = 1.0     # benchmark_model: keep running until num_runs AND min_secs are reached
DEFAULT_WARMUP_MIN_SECS = 0.5


@dataclass(frozen=True, kw_only=True)
class BenchModel(ModelIdentity):
    """One .tflite file to measure: its identity in tables (display name, precision, reference
    figures, class count) and the file itself."""

    path: str
    sha256: str
    size_bytes: int

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        if data.get("reference") is None:
            data.pop("reference")
        data["label"] = self.label
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "BenchModel":
        reference = data.get("reference")
        classes = data.get("num_classes")
        return cls(path=str(data["path"]), display_name=str(data["display_name"]),
                   registry_name=data.get("registry_name"), precision=data.get("precision"),
                   sha256=str(data["sha256"]), size_bytes=int(data["size_bytes"]),
                   reference=dict(reference) if isinstance(reference, dict) else None,
                   num_classes=int(classes) if isinstance(classes, int) else None)


IMAGENET_CLASSES = 1000


def _output_classes(path: Path) -> Optional[int]:
    """The model's class count from its flatbuffer, or None where the TFLite schema module (it
    ships with ai-edge-litert) is not installed: bench runs on the base install too."""
    from ghostedge.errors import GhostEdgeError
    from ghostedge.tflite import read_model

    try:
        return read_model(path, verify=False).num_classes
    except GhostEdgeError as exc:
        log.debug("no class count for %s: %s", path, exc.one_line())
        return None


def describe_model(path: "os.PathLike[str] | str") -> BenchModel:
    """Check, hash and name a .tflite file (the name comes from its report or its file name).

    The report's ImageNet reference figures are kept only for a 1000-class model."""
    from ghostedge.errors import UsageError as _Usage
    from ghostedge.model_report import find_report, identity_for
    from ghostedge.tflite.model import check_tflite_file
    from ghostedge.tflite.verify import verify_tflite_file

    path = check_tflite_file(path, _Usage)
    verify_tflite_file(path)
    report = find_report(path)
    identity = identity_for(path, report)
    classes = (report.num_classes if report is not None and report.num_classes else None) or _output_classes(path)
    reference = identity.reference if classes == IMAGENET_CLASSES else None
    return BenchModel(path=str(path.resolve()), display_name=identity.display_name,
                      registry_name=identity.registry_name, precision=identity.precision,
                      sha256=sha256_file(path), size_bytes=path.stat().st_size, reference=reference,
                      num_classes=classes)


def disambiguate(models: Sequence[BenchModel]) -> List[BenchModel]:
    """Give models that would share a table row distinct names (their files in brackets)."""
    from ghostedge.model_report import distinct_labels

    labels = [m.label for m in models]
    out = []
    for model, label in zip(models, distinct_labels(labels, [m.path for m in models])):
        if label != model.label:
            model = replace(model, display_name=model.display_name + label[len(model.label):])
        out.append(model)
    return out


@dataclass(frozen=True)
class PlannedRun:
    """One invocation of the benchmark: a (model, delegate, threads) cell in repeat ``repeat``."""

    index: int
    repeat: int
    model: BenchModel
    threads: int
    delegate: str = "cpu"

    @property
    def cell(self) -> str:
        return cell_key(self.delegate, self.threads)


def cell_key(delegate: str, threads: int) -> str:
    """Column key: the thread count for the CPU (``"4"``, as summary.json always had), else the
    delegate's name (``"gpu"``): the thread axis applies to the CPU only."""
    return str(int(threads)) if delegate == "cpu" else delegate


@dataclass
class BenchPlan:
    """Models × delegates × threads × repeats, with warm-up/run counts, the cool-down, the
    adaptive repeats and the extra runs (op profile, memory). Defaults are the bare plan (no
    cool-down, no adaptive repeats); ``bench()`` fills them in from the protocol."""

    models: List[BenchModel]
    threads: List[int] = field(default_factory=lambda: list(DEFAULT_THREADS))
    repeats: int = DEFAULT_REPEATS
    warmup_runs: int = DEFAULT_WARMUP_RUNS
    num_runs: int = DEFAULT_NUM_RUNS
    cooldown_temp_c: Optional[float] = None
    cooldown_max_wait_s: float = 120.0
    min_secs: float = DEFAULT_MIN_SECS
    warmup_min_secs: float = DEFAULT_WARMUP_MIN_SECS
    delegates: List[str] = field(default_factory=lambda: ["cpu"])
    protocol: str = "strict"
    headline: str = "median"            # "mean" for the paddlelite protocol
    cooldown_delta_c: Optional[float] = None   # gate at the starting temperature + this
    adaptive_budget_s: float = 0.0
    max_repeats: int = 20
    min_repeats: int = 6                # adaptive: the fewest runs whose interval reaches 95 %
    wait_quiet_s: float = 0.0
    op_profile: bool = False
    memory: bool = False
    delegate_threads: int = 1           # --num_threads of GPU/NNAPI runs (CPU fallback operators)

    def __post_init__(self) -> None:
        from ghostedge.device_bench.options import check_delegates, number

        validate_plan(self.models, self.threads, self.repeats, self.warmup_runs, self.num_runs)
        self.delegates = check_delegates(self.delegates)
        if self.cooldown_temp_c is not None and not 0 < self.cooldown_temp_c < 150:
            raise UsageError(f"Invalid --cooldown-temp {self.cooldown_temp_c:g}",
                             "it must be a temperature above 0 and below 150 °C", "Use e.g. --cooldown-temp 40")
        number("--cooldown-max-wait", self.cooldown_max_wait_s, 0, 3600, example="120")
        for flag, value in (("--min-secs", self.min_secs), ("--warmup-min-secs", self.warmup_min_secs)):
            number(flag, value, 0, MAX_SECS, example="1 (0 = exactly the given number of runs)")
        if self.cooldown_delta_c is not None:
            number("--cooldown-delta", self.cooldown_delta_c, 0, 50, low_open=True, example="3")
        number("--adaptive-budget", self.adaptive_budget_s, 0, 86400, example="60")
        number("--max-repeats", self.max_repeats, self.repeats, 1000, integer=True, example="20")
        number("--wait-quiet", self.wait_quiet_s, 0, 3600, example="30")

    @property
    def cooldown_mode(self) -> str:
        """"temp" (wait under ``cooldown_temp_c``), "baseline" (within ``cooldown_delta_c`` of the
        starting temperature) or "off"."""
        if self.cooldown_temp_c is not None:
            return "temp"
        return "baseline" if self.cooldown_delta_c is not None else "off"

    def cells(self) -> List[tuple]:
        """(model, delegate, threads) of every cell, in plan order."""
        out = []
        for model in self.models:
            for delegate in self.delegates:
                for threads in (self.threads if delegate == "cpu" else [self.delegate_threads]):
                    out.append((model, delegate, threads))
        return out

    def runs(self) -> List[PlannedRun]:
        """Every invocation in order: repeat r covers every cell before r+1."""
        order: List[PlannedRun] = []
        for repeat in range(self.repeats):
            for model, delegate, threads in self.cells():
                order.append(PlannedRun(len(order), repeat, model, threads, delegate))
        return order

    def to_dict(self) -> Dict[str, Any]:
        return {"models": [m.to_dict() for m in self.models], "threads": list(self.threads),
                "repeats": self.repeats, "warmup_runs": self.warmup_runs, "num_runs": self.num_runs,
                "cooldown_temp_c": self.cooldown_temp_c,
                "cooldown_max_wait_s": self.cooldown_max_wait_s, "min_secs": self.min_secs,
                "warmup_min_secs": self.warmup_min_secs, "delegates": list(self.delegates),
                "delegate_threads": self.delegate_threads, "protocol": self.protocol,
                "headline": self.headline, "cooldown": {"mode": self.cooldown_mode,
                                                        "delta_c": self.cooldown_delta_c},
                "adaptive": {"budget_s": self.adaptive_budget_s, "max_runs": self.max_repeats,
                             "min_runs": self.min_repeats},
                "wait_quiet_s": self.wait_quiet_s, "op_profile": self.op_profile, "memory": self.memory}


def validate_plan(models: Sequence[BenchModel], threads: Sequence[int], repeats: int,
                  warmup_runs: int, num_runs: int) -> None:
    """Refuse plans that cannot produce a table, with the option to change."""
    from ghostedge.device_bench.options import MAX_THREADS, number

    if not models:
        raise UsageError("Nothing to benchmark", "no models were given",
                         "Pass one or more .tflite files")
    if not threads:
        raise UsageError(f"Invalid --threads {list(threads)}", "at least one thread count is needed",
                         "Use e.g. --threads 1 2 4")
    for t in threads:
        number("--threads", t, 1, MAX_THREADS, integer=True, example="1 2 4")
    if len(set(threads)) != len(threads):
        raise UsageError(f"Invalid --threads {list(threads)}", "a thread count is repeated",
                         "List each thread count once")
    number("--repeats", repeats, 1, 1000, integer=True, example="6")
    number("--warmup-runs", warmup_runs, 0, 100000, integer=True, example="10")
    number("--num-runs", num_runs, 1, 1000000, integer=True, example="50")
    labels = [m.label for m in models]
    paths = [m.path for m in models]
    if len(set(paths)) != len(paths):
        twice = sorted({x for x in paths if paths.count(x) > 1})
        raise UsageError(f"The same model file was given more than once: {', '.join(twice)}",
                         "each model is measured once per cell", "List each .tflite once")
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise UsageError(f"Two models would share the table row {dup[0]!r}",
                         "rows are named from .report.json or the file name",
                         "Rename one of the files so that their names differ")
