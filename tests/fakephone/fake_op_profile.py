"""``--enable_op_profiling=true`` output of the fake benchmark_model, reconstructed from the
profiler's source (LiteRT tflite/profiling/profile_summarizer.cc, profile_summary_formatter.cc,
tflite/tools/benchmark/profiling_listener.cc, and xla/tsl/util/stats_calculator.cc, whose
``InitField`` is ``"\\t" << right << setw(width) << fixed << setprecision(3)``).

The rows follow the real model's operators, read from the .tflite with the flatbuffer schema in
``ai_edge_litert.schema_py_generated``. Per-operator times are made up but plausible: each op gets a
share of the run's time from a cost estimate (MACs of convolutions and fully connected layers,
weighted up for depthwise ones; elements moved for the rest; a fixed per-op overhead), and the
operators of a run add up to 98.5 % of that run's inference time.

Forms (``form``):
  ``per_op``        current LiteRT: every XNNPACK operator is a row, type = XNNPACK's operator name
                    (``Convolution (NHWC, F32) GEMM``), name ``Delegate/<type>:<index in its
                    partition>``; operators XNNPACK does not take stay TFLite rows
                    (``SOFTMAX``, name ``[output tensors]:<node index>``);
  ``delegate_node`` older builds (before XNNPACK's per-operator profiling, TF <= 2.9): one row per
                    delegate kernel, type ``TfLiteXNNPackDelegate`` (or ``TfLiteGpuDelegateV2``,
                    ``TfLiteNnapiDelegate`` for GPU/NNAPI runs in any version), node index after the
                    model's last node.
Mapping used to expand a TFLite operator into XNNPACK operators (in node order): CONV_2D -> one
Convolution (GEMM when 1x1 stride 1, else IGEMM), DEPTHWISE_CONV_2D -> DWConv, CONCATENATION -> one
``Copy`` per input, MEAN -> Global Average Pooling, RESHAPE -> Copy, DEQUANTIZE of a constant (FP16
weights) -> nothing, INT8 SOFTMAX -> not delegated.
"""
from __future__ import annotations

import random
from typing import Any, Dict, List, Optional, Tuple

OP_SHARE_OF_RUN = 0.985


def _schema():
    try:
        from ai_edge_litert import schema_py_generated as schema  # type: ignore
        return schema
    except Exception:  # noqa: BLE001 - any failure: generic operators
        return None


def model_ops(path: str) -> List[Dict[str, Any]]:
    """The operators of subgraph 0: index, type, outputs, cost, dtype and XNNPACK expansion."""
    schema = _schema()
    if schema is None:
        return [_generic_op()]
    try:
        with open(path, "rb") as fh:
            buf = fh.read()
        model = schema.Model.GetRootAsModel(buf, 0)
        graph = model.Subgraphs(0)
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        ops = []
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            ins = [graph.Tensors(op.Inputs(j)) if op.Inputs(j) >= 0 else None for j in range(op.InputsLength())]
            outs = [graph.Tensors(op.Outputs(j)) for j in range(op.OutputsLength())]
            ops.append(_describe(i, kind, ins, outs, model, schema, op))
        return ops or [_generic_op()]
    except Exception:  # noqa: BLE001 - a model the schema cannot read: generic operators
        return [_generic_op()]


def _generic_op() -> Dict[str, Any]:
    return {"index": 0, "type": "CONV_2D", "outputs": ["output"], "cost": 1.0, "int8": False,
            "xnn": ["Convolution (NHWC, F32) IGEMM"]}


def _shape(t: Any) -> List[int]:
    return [t.Shape(k) for k in range(t.ShapeLength())] if t is not None else []


def _count(shape: List[int]) -> int:
    n = 1
    for d in shape:
        n *= max(1, d)
    return n


def _describe(i: int, kind: str, ins: List[Any], outs: List[Any], model: Any, schema: Any, op: Any) -> Dict[str, Any]:
    out_shape = _shape(outs[0]) if outs else []
    out_elems = _count(out_shape)
    int8 = bool(outs) and outs[0].Type() in (schema.TensorType.INT8, schema.TensorType.UINT8)
    q = "QC8" if int8 else "F32"
    ew = "QS8" if int8 else "F32"
    x = "X8" if int8 else "X32"
    w_shape = _shape(ins[1]) if len(ins) > 1 and ins[1] is not None else []
    macs = 0.0
    if kind == "CONV_2D" and len(w_shape) == 4:
        macs = out_elems * w_shape[1] * w_shape[2] * w_shape[3]
        opts = schema.Conv2DOptions()
        table = op.BuiltinOptions()
        stride = 1
        if table is not None:
            opts.Init(table.Bytes, table.Pos)
            stride = max(opts.StrideH(), opts.StrideW())
        gemm = w_shape[1] == w_shape[2] == 1 and stride == 1
        xnn = ["Convolution (NHWC, %s) %s" % (q, "GEMM" if gemm else "IGEMM")]
    elif kind == "DEPTHWISE_CONV_2D" and len(w_shape) == 4:
        macs = out_elems * w_shape[1] * w_shape[2] * 3.0  # memory bound: worse than its MACs say
        xnn = ["Convolution (NHWC, %s) DWConv" % q]
    elif kind == "FULLY_CONNECTED" and len(w_shape) == 2:
        macs = _count(out_shape[:-1]) * w_shape[0] * w_shape[1]
        xnn = ["Fully Connected (NC, %s) GEMM" % ("QS8" if int8 else "F32")]
    else:
        xnn = _elementwise(kind, ins, model, int8, ew, x)
    in_elems = _count(_shape(ins[0])) if ins and ins[0] is not None else out_elems
    cost = macs + 4.0 * max(out_elems, in_elems if kind == "MEAN" else 0) + 20000.0
    outputs = [t.Name().decode("utf-8", "replace") for t in outs]
    return {"index": i, "type": kind, "outputs": outputs, "cost": cost, "int8": int8, "xnn": xnn}


def _elementwise(kind: str, ins: List[Any], model: Any, int8: bool, ew: str, x: str) -> Optional[List[str]]:
    simple = {"ADD": "Add (ND, %s)" % ew, "MUL": "Multiply (ND, %s)" % ew, "SUB": "Subtract (ND, %s)" % ew,
              "PAD": "Constant Pad (ND, %s)" % x, "MEAN": "Global Average Pooling (NWC, %s)" % ew,
              "RESHAPE": "Copy (NC, %s)" % x, "HARD_SWISH": "HardSwish (NC, %s)" % ew,
              "LOGISTIC": "Sigmoid (NC, %s)" % ew, "RELU": "Clamp (NC, %s)" % ew,
              "RELU6": "Clamp (NC, %s)" % ew, "AVERAGE_POOL_2D": "Average Pooling (NHWC, %s)" % ew,
              "MAX_POOL_2D": "Max Pooling (NHWC, %s)" % ("S8" if int8 else "F32"),
              "TRANSPOSE": "Transpose (ND, %s)" % x}
    if kind == "QUANTIZE":  # float -> int8, or an int8 requantization
        from_float = ins and ins[0] is not None and ins[0].Type() == 0
        return ["Convert (NC, F32, QS8)" if from_float else "Convert (NC, QS8)"]
    if kind == "CONCATENATION":
        return ["Copy (NC, %s)" % x] * max(1, len(ins))
    if kind == "SOFTMAX":
        return None if int8 else ["Softmax (NC, F32)"]
    if kind == "DEQUANTIZE":
        const = ins and ins[0] is not None and model.Buffers(ins[0].Buffer()).DataLength() > 0
        return [] if const else ["Convert (NC, QS8, F32)"]
    name = simple.get(kind)
    return [name] if name else None


def delegated(ops: List[Dict[str, Any]], delegate_type: Optional[str], unsupported: Tuple[str, ...] = ()
              ) -> Tuple[int, int]:
    """(nodes taken by the delegate, delegate kernels/partitions)."""
    events = _events(ops, "delegate_node", delegate_type, unsupported)
    kernels = sum(1 for _, typ, _ in events if typ == delegate_type)
    taken = len(ops) - sum(1 for _, typ, _ in events if typ != delegate_type)
    return taken, kernels


def rows_for_runs(ops: List[Dict[str, Any]], run_us: List[float], form: str, delegate_type: Optional[str],
                  unsupported: Tuple[str, ...] = (), seed: int = 7) -> Tuple[List[Dict[str, Any]], List[int]]:
    """Aggregate per-run events like StatsCalculator: rows (name, type, first, sum, count, order)
    and each run's total (µs)."""
    rnd = random.Random(seed)
    events = _events(ops, form, delegate_type, unsupported)
    total_cost = sum(cost for _, _, cost in events) or 1.0
    details: Dict[str, Dict[str, Any]] = {}
    totals = []
    for run in run_us:
        run_total = 0
        for order, (name, typ, cost) in enumerate(events):
            us = max(0, int(run * OP_SHARE_OF_RUN * cost / total_cost * rnd.gauss(1.0, 0.02)))
            d = details.setdefault(name, {"name": name, "type": typ, "order": order, "first": us,
                                          "sum": 0, "calls": 0})
            d["sum"] += us
            d["calls"] += 1
            run_total += us
        totals.append(run_total)
    return sorted(details.values(), key=lambda d: d["order"]), totals


def _events(ops: List[Dict[str, Any]], form: str, delegate_type: Optional[str],
            unsupported: Tuple[str, ...] = ()) -> List[Tuple[str, str, float]]:
    """(name, type, cost) of one run, in execution order."""
    events: List[Tuple[str, str, float]] = []
    n_nodes = len(ops)
    kernel: List[Dict[str, Any]] = []
    partition = xnn_index = 0

    def close_kernel() -> None:
        nonlocal partition, kernel
        if kernel:
            outputs = kernel[-1]["outputs"]
            events.append(("[%s]:%d" % (", ".join(outputs), n_nodes + partition), delegate_type,
                           sum(o["cost"] for o in kernel)))
            partition += 1
            kernel = []
    for op in ops:
        if delegate_type is None:
            xnn = None
        elif delegate_type == "TfLiteXNNPackDelegate":
            xnn = op["xnn"]
        else:
            xnn = None if op["type"] in unsupported else [op["type"]]
        if xnn is None:  # not delegated: a TFLite node
            close_kernel()
            xnn_index = 0
            events.append(("[%s]:%d" % (", ".join(op["outputs"]), op["index"]), op["type"], op["cost"]))
        elif form == "per_op" and delegate_type == "TfLiteXNNPackDelegate":
            for name in xnn:
                events.append(("Delegate/%s:%d" % (name, xnn_index), name, op["cost"] / max(1, len(xnn))))
                xnn_index += 1
        elif xnn:
            kernel.append(op)
    close_kernel()
    return events


def _field(value: Any, width: int) -> str:
    text = "%.3f" % value if isinstance(value, float) else str(value)
    return "\t" + text.rjust(width)


def render_tables(rows: List[Dict[str, Any]], totals: List[int], type_width: int) -> str:
    """StatsCalculator::GetOutputString (run order, top 10 by time, summary by node type) and
    GetShortSummary, without the memory table (the formatter turns it off)."""
    runs = max(1, len(totals))
    total = sum(totals) or 1
    out = []
    header = (_field("[node type]", type_width) + _field("[first]", 9) + _field("[avg ms]", 9) + _field("[%]", 8)
              + _field("[cdf%]", 8) + _field("[mem KB]", 10) + _field("[times called]", 9) + "\t[Name]")
    for title, ordered in (("Run Order", rows),
                           ("Top by Computation Time", sorted(rows, key=lambda d: -d["sum"] / d["calls"])[:10])):
        out.append("============================== %s ==============================" % title)
        out.append(header)
        cumulative = 0
        for d in ordered:
            cumulative += d["sum"]
            out.append(_field(d["type"], type_width) + _field(d["first"] / 1000.0, 9)
                       + _field(d["sum"] / d["calls"] / 1000.0, 9) + _field(d["sum"] * 100.0 / total, 7) + "%"
                       + _field(cumulative * 100.0 / total, 7) + "%" + _field(0.0, 10)
                       + _field(d["calls"] // runs, 9) + "\t" + d["name"])
        out.append("")
    by_type: Dict[str, List[int]] = {}
    for d in rows:
        entry = by_type.setdefault(d["type"], [0, 0, 0])
        entry[0] += 1
        entry[1] += d["sum"] // runs
        entry[2] += d["calls"] // runs
    accumulated = sum(v[1] for v in by_type.values()) or 1
    out.append("Number of nodes executed: %d" % len(rows))
    out.append("============================== Summary by node type ==============================")
    out.append(_field("[Node type]", type_width) + _field("[count]", 9) + _field("[avg ms]", 10)
               + _field("[avg %]", 11) + _field("[cdf %]", 11) + _field("[mem KB]", 10) + _field("[times called]", 10))
    cdf = 0.0
    for node_type, (count, us, calls) in sorted(by_type.items(), key=lambda kv: (-kv[1][1], kv[0])):
        pct = us * 100.0 / accumulated
        cdf += pct
        out.append(_field(node_type, type_width) + _field(count, 9) + _field(us / 1000.0, 10)
                   + _field(pct, 10) + "%" + _field(cdf, 10) + "%" + _field(0.0, 10) + _field(calls, 9))
    out.append("")
    out.append("Timings (microseconds): " + short_stat(totals))
    out.append("Memory (bytes): count=0")
    out.append("%d nodes observed" % len(rows))
    out.append("")
    return "\n".join(out)


def short_stat(values: List[int]) -> str:
    """tsl::Stat::OutputToStream (no percentiles)."""
    if not values:
        return "count=0"
    if min(values) == max(values):
        return "count=%d curr=%d%s" % (len(values), values[-1], "(all same)" if len(values) > 1 else "")
    n = len(values)
    avg = sum(values) / n
    std = int((sum(v * v for v in values) / n - avg * avg) ** 0.5)
    return "count=%d first=%d curr=%d min=%d max=%d avg=%s std=%d" % (
        n, values[0], values[-1], min(values), max(values), format(avg, ".6g"), std)


def init_tables(init_us: int, type_width: int) -> str:
    """The 'Profiling Info for Benchmark Initialization' body: ModifyGraphWithDelegate, AllocateTensors."""
    rows = [{"name": "ModifyGraphWithDelegate/0", "type": "ModifyGraphWithDelegate", "order": 0,
             "first": int(init_us * 0.55), "sum": int(init_us * 0.55), "calls": 1},
            {"name": "AllocateTensors/0", "type": "AllocateTensors", "order": 1,
             "first": int(init_us * 0.45), "sum": int(init_us * 0.45), "calls": 1}]
    return render_tables(rows, [rows[0]["sum"] + rows[1]["sum"]], type_width)
