"""Parse benchmark_model's per-operator profile (``--enable_op_profiling=true``), across versions.

The text comes from LiteRT/TFLite's ProfilingListener: a ``Profiling Info for Benchmark
Initialization:`` section and an ``Operator-wise Profiling Info for Regular Benchmark Runs:``
section, each holding StatsCalculator tables (``Run Order``, ``Top by Computation Time``,
``Summary by node type``) and a short summary (``Timings (microseconds): count=…``). Columns are
tab-separated (``"\\t" + setw(width)``); copies that lost their tabs (logcat, issue trackers) are read
by the header's column names. Layouts handled: TF <= 2.4 (a ``[start]`` column), TF 2.5–2.12
(24-wide type column), LiteRT (40-wide); per-subgraph blocks (``Primary graph …``, ``Subgraph
(index: N…)``) and the ``Delegate internal:`` block.

Row names say what a row is: ``Delegate/<XNNPACK operator>:<index in its partition>`` (current
builds: one row per XNNPACK operator, ``form == "per_operator"``), ``[<output tensors>]:<node index>``
(a TFLite node: an operator the delegate did not take, or — in older builds — the whole delegate
kernel, typed ``TfLiteXNNPackDelegate``, ``form == "delegate_node"``).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

_LOGCAT = re.compile(r"^\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*?\s*:\s?")
_LEVEL = re.compile(r"^(INFO|WARN|WARNING|ERROR|FATAL|VERBOSE|DEBUG):\s?")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SECTIONS = {"Profiling Info for Benchmark Initialization:": "init",
             "Operator-wise Profiling Info for Regular Benchmark Runs:": "runs"}
_GRAPH = re.compile(r"^(?:Primary graph(?: \(name: (?P<pname>.*)\))?|Subgraph \(index: (?P<index>\d+)"
                    r"(?:, name: (?P<name>.*?))?\)) (?:profile|summary):$")
_TITLE = re.compile(r"^=+ (.+?) =+$")
_TIMINGS = re.compile(r"Timings \(microseconds\): (count=\d+.*)$")
_DELEGATE_KERNEL = re.compile(r"^(?:TfLite\w*Delegate\w*|DELEGATE|\w+DelegateV?\d*)$")
_NOT_KERNELS = ("DelegateOpInvoke", "ModifyGraphWithDelegate")


@dataclass
class OpRow:
    """One row of a Run Order / Top by Computation Time table (times in ms)."""

    node_type: str
    name: str
    first_ms: float
    avg_ms: float
    percent: float
    cdf_percent: float
    mem_kb: float
    times_called: int
    start_ms: Optional[float] = None  # TF <= 2.4 only
    index: Optional[int] = None  # ":N": TFLite node index, or index within the XNNPACK partition
    delegated: bool = False  # a "Delegate/…" row: an operator inside a delegate
    outputs: List[str] = field(default_factory=list)  # "[a, b]:N" rows: output tensor names

    @property
    def per_run_ms(self) -> float:
        """Time per inference (``avg_ms`` is per call; a name can be called several times a run)."""
        return self.avg_ms * max(1, self.times_called)

    @property
    def is_delegate_kernel(self) -> bool:
        """A whole delegate kernel (``TfLiteXNNPackDelegate``, ``TfLiteGpuDelegateV2``, …)."""
        return self.node_type not in _NOT_KERNELS and bool(_DELEGATE_KERNEL.match(self.node_type))


@dataclass
class NodeTypeRow:
    """One row of ``Summary by node type``."""

    node_type: str
    count: int
    avg_ms: float
    percent: float
    cdf_percent: float
    mem_kb: float
    times_called: Optional[int] = None


@dataclass
class ProfileTables:
    """One StatsCalculator's output: a subgraph, or the ``Delegate internal`` breakdown."""

    subgraph: Optional[int] = 0
    subgraph_name: Optional[str] = None
    run_order: List[OpRow] = field(default_factory=list)
    top_by_time: List[OpRow] = field(default_factory=list)
    by_node_type: List[NodeTypeRow] = field(default_factory=list)
    nodes_executed: Optional[int] = None
    timings_us: Dict[str, float] = field(default_factory=dict)  # count, first, curr, min, max, avg, std
    nodes_observed: Optional[int] = None

    @property
    def total_ms(self) -> Optional[float]:
        """Profiled time per run: the short summary's average, else the rows' sum."""
        if "avg" in self.timings_us:
            return self.timings_us["avg"] / 1000.0
        if "curr" in self.timings_us:  # "count=N curr=X" (one run, or all the same)
            return self.timings_us["curr"] / 1000.0
        return sum(r.per_run_ms for r in self.run_order) if self.run_order else None


@dataclass
class OpProfile:
    """Everything read from one profiled run. ``runs[0]`` is the primary graph of the timed runs."""

    init: List[ProfileTables] = field(default_factory=list)
    runs: List[ProfileTables] = field(default_factory=list)
    delegate_internal: Optional[ProfileTables] = None
    has_start_column: bool = False

    @property
    def primary(self) -> Optional[ProfileTables]:
        """The timed runs' primary graph (subgraph 0), if profiled."""
        return next((t for t in self.runs if t.subgraph == 0), self.runs[0] if self.runs else None)

    @property
    def operators(self) -> List[OpRow]:
        """The timed runs' rows in execution order (Run Order of the primary graph)."""
        return self.primary.run_order if self.primary else []

    @property
    def form(self) -> str:
        """``per_operator`` (XNNPACK operators as rows), ``delegate_node`` (a delegate is one opaque
        row; ``delegate_internal`` may break it down), ``no_delegate`` (TFLite kernels only), ``empty``."""
        rows = self.operators
        if not rows:
            return "empty"
        if any(r.delegated and r.node_type not in _NOT_KERNELS for r in rows):
            return "per_operator"
        if any(r.is_delegate_kernel for r in rows):
            return "delegate_node"
        return "no_delegate"

    @property
    def delegate_nodes(self) -> List[OpRow]:
        """Rows that are whole delegate kernels."""
        return [r for r in self.operators if r.is_delegate_kernel]

    @property
    def total_ms(self) -> Optional[float]:
        """Profiled time per run of the primary graph (ms)."""
        return self.primary.total_ms if self.primary else None

    def type_totals_ms(self) -> Dict[str, float]:
        """Per-run time by node type, summed from the Run Order rows."""
        out: Dict[str, float] = {}
        for row in self.operators:
            out[row.node_type] = out.get(row.node_type, 0.0) + row.per_run_ms
        return out

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["form"] = self.form
        data["total_ms"] = self.total_ms
        return data


def _unprefix(line: str) -> str:
    """Drop a logcat and a log-level prefix; keep the tabs and spaces of table rows."""
    line = _LOGCAT.sub("", line.rstrip("\r\n"), count=1)
    return _LEVEL.sub("", line, count=1)


def _columns(header: str) -> List[str]:
    return [c.strip().lower() for c in re.findall(r"\[([^\]]+)\]", header)]


def _split_row(line: str, columns: List[str]) -> Optional[List[str]]:
    """The row's cells by the header's columns: tab-separated, else by a pattern of them."""
    cells = [c.strip() for c in line.split("\t")]
    if cells and cells[0] == "":
        cells = cells[1:]
    if len(cells) == len(columns):
        return cells
    parts = []
    for i, col in enumerate(columns):
        if i == 0:
            parts.append(r"(.+?)")
        elif col == "name":
            parts.append(r"(.*?)")
        else:
            parts.append(r"(%s)%%?" % _NUM)
    found = re.match(r"^\s*" + r"\s+".join(parts) + r"\s*$", line)
    return [g.strip() for g in found.groups()] if found else None


def _name_details(row: OpRow) -> None:
    delegated = re.match(r"^Delegate/(.*):(\d+)$", row.name)
    if delegated:
        row.delegated, row.index = True, int(delegated.group(2))
        return
    node = re.match(r"^\[(.*)\]:(\d+)$", row.name)
    if node:
        row.index = int(node.group(2))
        row.outputs = [t for t in node.group(1).split(", ") if t]


def _f(cells: Dict[str, str], key: str, default: str = "nan") -> float:
    return float(cells.get(key, default).rstrip("%"))


def _op_row(cells: Dict[str, str]) -> OpRow:
    row = OpRow(node_type=cells["node type"], name=cells.get("name", ""), first_ms=_f(cells, "first"),
                avg_ms=_f(cells, "avg ms"), percent=_f(cells, "%"), cdf_percent=_f(cells, "cdf%"),
                mem_kb=_f(cells, "mem kb", "0"), times_called=int(_f(cells, "times called", "1")),
                start_ms=_f(cells, "start") if "start" in cells else None)
    _name_details(row)
    return row


def _type_row(cells: Dict[str, str]) -> NodeTypeRow:
    return NodeTypeRow(node_type=cells["node type"], count=int(_f(cells, "count", "0")), avg_ms=_f(cells, "avg ms"),
                       percent=_f(cells, "avg %"), cdf_percent=_f(cells, "cdf %"), mem_kb=_f(cells, "mem kb", "0"),
                       times_called=int(_f(cells, "times called")) if "times called" in cells else None)


def _stat_values(body: str) -> Dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"\b(\w+)=(%s)" % _NUM, body)}


class _Reader:
    def __init__(self) -> None:
        self.profile = OpProfile()
        self.section: Optional[List[ProfileTables]] = None
        self.graph: Optional[ProfileTables] = None
        self.table: Optional[str] = None
        self.columns: List[str] = []

    def current(self) -> ProfileTables:
        if self.graph is None:
            assert self.section is not None
            self.graph = ProfileTables()
            self.section.append(self.graph)
        return self.graph

    def feed(self, raw: str) -> None:
        line = _unprefix(raw)
        text = line.strip()
        if text in _SECTIONS:
            self.section = self.profile.init if _SECTIONS[text] == "init" else self.profile.runs
            self.graph, self.table = None, None
            return
        if self.section is None:
            return
        graph = _GRAPH.match(text)
        if graph:
            index = int(graph.group("index")) if graph.group("index") else 0
            self.graph = ProfileTables(subgraph=index, subgraph_name=graph.group("name") or graph.group("pname"))
            self.section.append(self.graph)
            self.table = None
        elif text.startswith("Delegate internal:"):
            self.graph = ProfileTables(subgraph=None, subgraph_name="delegate internal")
            if self.section is self.profile.runs:
                self.profile.delegate_internal = self.graph
            self.table = None
        elif _TITLE.match(text):
            self.table, self.columns = _TITLE.match(text).group(1), []  # type: ignore[union-attr]
        elif self.table and "[node type]" in text.lower():
            self.columns = _columns(text)
            self.profile.has_start_column |= "start" in self.columns
        elif text.startswith("Number of nodes executed:"):
            self.current().nodes_executed = int(re.findall(r"\d+", text)[0])
        elif _TIMINGS.search(text):
            self.current().timings_us = _stat_values(_TIMINGS.search(text).group(1))  # type: ignore[union-attr]
            self.table = None
        elif re.match(r"^\d+ nodes observed$", text):
            self.current().nodes_observed = int(text.split()[0])
            self.graph = None  # this calculator's output is complete
        elif not text:
            self.table = None
        elif self.table and self.columns:
            self._row(line)
        elif _LEVEL.match(_LOGCAT.sub("", raw.strip(), count=1)) and not text.startswith("Memory (bytes)"):
            self.section, self.graph, self.table = None, None, None  # the profile has ended

    def _row(self, line: str) -> None:
        cells = _split_row(line, self.columns)
        if cells is None:
            return
        mapped = dict(zip(self.columns, cells))
        try:
            if self.table == "Summary by node type":
                self.current().by_node_type.append(_type_row(mapped))
            elif self.table == "Run Order":
                self.current().run_order.append(_op_row(mapped))
            elif self.table == "Top by Computation Time":
                self.current().top_by_time.append(_op_row(mapped))
        except (KeyError, ValueError):
            return


def has_op_profile(text: str) -> bool:
    """Whether benchmark_model's output holds a per-operator profile."""
    return any(header in text for header in _SECTIONS)


def parse_op_profile(text: str) -> OpProfile:
    """Read the per-operator profile out of benchmark_model's output. Never raises on odd input;
    an output without a profile gives an empty ``OpProfile`` (``form == "empty"``)."""
    reader = _Reader()
    for raw in text.splitlines():
        reader.feed(raw)
    return reader.profile
