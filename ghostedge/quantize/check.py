"""Prove that a .tflite is full-integer: every operator reads and writes integer tensors.

Reads the flatbuffer directly (LiteRT's ``schema_py_generated``), so no interpreter, delegate or
TensorFlow is involved. Float tensors are allowed only where a model with float I/O needs them:
the input of a QUANTIZE fed by a model input and the output of a DEQUANTIZE that is a model output.
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

from ghostedge.errors import QuantizationError

FLOAT_TYPES = {"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16"}


def _schema() -> Any:
    from ghostedge.runtime import tflite_schema

    return tflite_schema(QuantizationError)


def _enum_names(enum_cls: Any) -> Dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def _tensor_summary(schema_tensor: Any, type_names: Dict[int, str]) -> Dict[str, Any]:
    q = schema_tensor.Quantization()
    scales = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else []
    zeros = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else []
    return {
        "name": schema_tensor.Name().decode("utf-8", "replace"),
        "shape": [int(v) for v in schema_tensor.ShapeAsNumpy()] if schema_tensor.ShapeLength() else [],
        "dtype": type_names.get(schema_tensor.Type(), str(schema_tensor.Type())).lower(),
        "scale": float(scales[0]) if len(scales) else 0.0,
        "zero_point": int(zeros[0]) if len(zeros) else 0,
        "channels_quantized": int(len(scales)),
    }


def read_model(path: Union[str, Path]) -> Any:
    """Parse a .tflite file into the flatbuffer ``Model`` object (raises on non-tflite files)."""
    from ghostedge.runtime import check_tflite_file

    data = check_tflite_file(path).read_bytes()
    return _schema().Model.GetRootAs(data, 0)


def integer_report(path: Union[str, Path]) -> Tuple[Dict[str, Any], List[str]]:
    """Summary of a model's operators and tensor types, plus the list of float violations."""
    schema = _schema()
    model = read_model(path)
    type_names = _enum_names(schema.TensorType)
    op_names = _enum_names(schema.BuiltinOperator)
    opcodes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        name = op_names.get(builtin, str(builtin))
        if name == "CUSTOM" and code.CustomCode():
            name = "CUSTOM:" + code.CustomCode().decode("utf-8", "replace")
        opcodes.append(name)
    op_counts: collections.Counter = collections.Counter()
    dtype_counts: collections.Counter = collections.Counter()
    violations: List[str] = []
    boundary: List[str] = []
    summary: Dict[str, Any] = {}
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        tensors = [sg.Tensors(t) for t in range(sg.TensorsLength())]
        infos = [_tensor_summary(t, type_names) for t in tensors]
        for info in infos:
            dtype_counts[info["dtype"]] += 1
        graph_inputs = set(int(v) for v in sg.InputsAsNumpy()) if sg.InputsLength() else set()
        graph_outputs = set(int(v) for v in sg.OutputsAsNumpy()) if sg.OutputsLength() else set()
        for o in range(sg.OperatorsLength()):
            op = sg.Operators(o)
            name = opcodes[op.OpcodeIndex()]
            op_counts[name] += 1
            ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else []
            float_in = [t for t in ins if t >= 0 and infos[t]["dtype"].upper() in FLOAT_TYPES]
            float_out = [t for t in outs if t >= 0 and infos[t]["dtype"].upper() in FLOAT_TYPES]
            if not float_in and not float_out:
                continue
            if (name == "QUANTIZE" and not float_out and s == 0
                    and all(t in graph_inputs for t in float_in)):
                boundary.append(f"QUANTIZE of input {infos[float_in[0]]['name']}")
                continue
            if (name == "DEQUANTIZE" and s == 0 and all(t in graph_outputs for t in float_out)
                    and not float_in):
                boundary.append(f"DEQUANTIZE to output {infos[float_out[0]]['name']}")
                continue
            tensor = infos[(float_out or float_in)[0]]
            violations.append(f"{name} #{o} ({tensor['dtype']} tensor {tensor['name'][:60]})")
        if s == 0:
            summary["inputs"] = [infos[t] for t in sorted(graph_inputs)]
            summary["outputs"] = [infos[t] for t in sorted(graph_outputs)]
            summary["per_channel_tensors"] = sum(1 for i in infos if i["channels_quantized"] > 1)
    summary.update({
        "ops": dict(sorted(op_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "operators": int(sum(op_counts.values())),
        "tensor_dtypes": dict(sorted(dtype_counts.items())),
        "float_boundary_ops": boundary,
        "io": {"input": [t["dtype"] for t in summary.get("inputs", [])],
               "output": [t["dtype"] for t in summary.get("outputs", [])]},
        "fully_integer": not violations,
    })
    return summary, violations


def assert_fully_integer(path: Union[str, Path]) -> Dict[str, Any]:
    """Return the integer summary of ``path``; raise QuantizationError naming the float ops."""
    summary, violations = integer_report(path)
    if violations:
        counts = collections.Counter(v.split(" ", 1)[0] for v in violations)
        kinds = ", ".join(f"{name}×{n}" for name, n in counts.most_common())
        raise QuantizationError(
            f"{Path(path).name} is not a full-integer INT8 model",
            f"{len(violations)} operators use float tensors ({kinds}; first: {violations[0]})",
            "Quantize with `ghostedge convert --int8` (TFLITE_BUILTINS_INT8 only, no float fallback)")
    return summary
