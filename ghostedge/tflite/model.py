"""Read a .tflite file without running it: tensors and I/O, operators (histogram, per-operator
tensors), signatures, the integer-only check, MACs, named metadata buffers.

Every file is checked structurally first (``ghostedge.tflite.verify``), so a damaged model is a
clear :class:`~ghostedge.errors.InvalidModelError`, never a crash.
"""
from __future__ import annotations

import collections
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ghostedge.errors import InvalidModelError
from ghostedge.tflite.schema import check_identifier, enum_names, tflite_schema

FLOAT_TYPES = {"float32", "float16", "float64", "bfloat16"}
PathArg = Union[str, "os.PathLike[str]"]


@dataclass
class TensorInfo:
    """One tensor, as an app developer needs to know it (first channel's quantization)."""

    name: str
    index: int
    shape: List[int]
    dtype: str
    scale: float
    zero_point: int
    channels_quantized: int = 0

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data.pop("channels_quantized")
        return data


@dataclass(frozen=True)
class OperatorInfo:
    """One operator of subgraph 0: its index, builtin (or ``CUSTOM:<code>``) name and tensors."""

    index: int
    name: str
    inputs: Tuple[int, ...]
    outputs: Tuple[int, ...]


def check_tflite_file(path: PathArg, error: type = InvalidModelError) -> Path:
    """``path`` if it is an existing file with the TFL3 identifier, else raise ``error``."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path} is a folder, not a .tflite model", "a model is one file",
                    "Pass a .tflite file")
    if not path.is_file():
        raise error(f"Model {path} does not exist", "no such file", "Check the path")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise error(f"Cannot read {path}", exc.strerror or str(exc), "Check the file's permissions") from exc
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise error(f"{path} is not a .tflite model", "the file lacks the TFL3 identifier",
                    "Pass a .tflite file written by `ghostedge convert` or a TFLite converter")
    return path


class TFLiteModel:
    """A parsed .tflite (read lazily through the generated schema's accessors)."""

    def __init__(self, data: bytes, source: str = "the model", path: Optional[Path] = None,
                 verify: bool = True) -> None:
        check_identifier(data, source)
        if verify:
            from ghostedge.tflite.verify import verify_tflite_bytes

            verify_tflite_bytes(data, source)
        self.data = bytes(data)
        self.source = source
        self.path = path
        self.schema = tflite_schema(InvalidModelError)
        try:
            self.root = self.schema.Model.GetRootAs(self.data, 0)
            self._types = enum_names(self.schema.TensorType)
            self._opcodes = self._read_opcodes()
        except InvalidModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - a corrupt flatbuffer raises anything
            raise self._invalid(exc) from exc

    @classmethod
    def from_file(cls, path: PathArg, verify: bool = True) -> "TFLiteModel":
        """Read and check ``path``."""
        path = check_tflite_file(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidModelError(f"Cannot read {path}", exc.strerror or str(exc), "Check the path") from exc
        return cls(data, str(path), path, verify)

    def _invalid(self, exc: Exception) -> InvalidModelError:
        return InvalidModelError(f"Cannot read {self.source}", f"damaged flatbuffer ({type(exc).__name__}: {exc})",
                                 "Check that the file is a complete .tflite model; re-export it")

    def _read_opcodes(self) -> List[str]:
        names = enum_names(self.schema.BuiltinOperator)
        codes = []
        for i in range(self.root.OperatorCodesLength()):
            code = self.root.OperatorCodes(i)
            builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
            name = names.get(builtin, str(builtin))
            if name == "CUSTOM" and code.CustomCode():
                name = "CUSTOM:" + code.CustomCode().decode("utf-8", "replace")
            codes.append(name)
        return codes

    # -- tensors and I/O --
    @property
    def subgraph_count(self) -> int:
        return int(self.root.SubgraphsLength())

    def _graph(self, subgraph: int) -> Any:
        if not 0 <= subgraph < self.subgraph_count:
            raise InvalidModelError(f"{self.source} has no subgraph {subgraph}",
                                    f"it has {self.subgraph_count}", "Pass a complete .tflite model")
        return self.root.Subgraphs(subgraph)

    def tensor(self, index: int, subgraph: int = 0) -> TensorInfo:
        """One tensor of ``subgraph``."""
        t = self._graph(subgraph).Tensors(index)
        q = t.Quantization()
        scales = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else []
        zeros = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else []
        return TensorInfo(t.Name().decode("utf-8", "replace") if t.Name() else "", int(index),
                          [int(v) for v in t.ShapeAsNumpy()] if t.ShapeLength() else [],
                          self._types.get(t.Type(), str(t.Type())).lower(),
                          float(scales[0]) if len(scales) else 0.0, int(zeros[0]) if len(zeros) else 0,
                          int(len(scales)))

    def tensors(self, subgraph: int = 0) -> List[TensorInfo]:
        """Every tensor of ``subgraph``."""
        return [self.tensor(i, subgraph) for i in range(self._graph(subgraph).TensorsLength())]

    def _indices(self, getter: Any, length: int) -> List[int]:
        return [int(v) for v in getter()] if length else []

    @property
    def inputs(self) -> List[TensorInfo]:
        g = self._graph(0)
        return [self.tensor(i) for i in self._indices(g.InputsAsNumpy, g.InputsLength())]

    @property
    def outputs(self) -> List[TensorInfo]:
        g = self._graph(0)
        return [self.tensor(i) for i in self._indices(g.OutputsAsNumpy, g.OutputsLength())]

    @property
    def num_classes(self) -> Optional[int]:
        """The last dimension of the first output (a classifier's class count), if static."""
        outs = self.outputs
        return int(outs[0].shape[-1]) if outs and outs[0].shape and outs[0].shape[-1] > 0 else None

    # -- operators --
    def operators(self, subgraph: int = 0) -> List[OperatorInfo]:
        """The operators of ``subgraph`` in execution order."""
        g = self._graph(subgraph)
        ops = []
        for o in range(g.OperatorsLength()):
            op = g.Operators(o)
            ops.append(OperatorInfo(o, self._opcodes[op.OpcodeIndex()],
                                    tuple(self._indices(op.InputsAsNumpy, op.InputsLength())),
                                    tuple(self._indices(op.OutputsAsNumpy, op.OutputsLength()))))
        return ops

    def op_counts(self) -> Dict[str, int]:
        """Operators by name over every subgraph, most frequent first (before any delegate)."""
        counts = collections.Counter(op.name for s in range(self.subgraph_count) for op in self.operators(s))
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def custom_ops(self) -> List[str]:
        """Custom operator codes (``CUSTOM:FlexConv2D`` ...) the model uses."""
        return sorted({name for name in self._opcodes if name.startswith("CUSTOM")})

    def signatures(self) -> Dict[str, Dict[str, List[str]]]:
        """``{signature_key: {"inputs": [names], "outputs": [names]}}`` as stored in the model."""
        found: Dict[str, Dict[str, List[str]]] = {}
        for i in range(self.root.SignatureDefsLength()):
            sig = self.root.SignatureDefs(i)
            key = (sig.SignatureKey() or b"").decode("utf-8", "replace")
            found[key] = {"inputs": [(sig.Inputs(j).Name() or b"").decode("utf-8", "replace")
                                     for j in range(sig.InputsLength())],
                          "outputs": [(sig.Outputs(j).Name() or b"").decode("utf-8", "replace")
                                      for j in range(sig.OutputsLength())]}
        return found

    # -- derived facts --
    def integer_report(self) -> Tuple[Dict[str, Any], List[str]]:
        """Operators and tensor types, plus the operators that compute on float tensors. Float
        tensors are allowed only at the edges of a float-I/O model: the input of a QUANTIZE fed by
        a model input and the output of a DEQUANTIZE that is a model output."""
        return integer_report(self)

    def macs(self) -> int:
        """Multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (subgraph 0)."""
        tensors = self.tensors(0)
        total = 0
        for op in self.operators(0):
            if op.name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or len(op.inputs) < 2:
                continue
            out, w = tensors[op.outputs[0]].shape, tensors[op.inputs[1]].shape
            n_out = 1
            for v in out:
                n_out *= max(int(v), 1)
            per = {"CONV_2D": w[1] * w[2] * w[3] if len(w) == 4 else 0,        # [Cout, kh, kw, Cin]
                   "DEPTHWISE_CONV_2D": w[1] * w[2] if len(w) == 4 else 0,    # [1, kh, kw, Cout]
                   "FULLY_CONNECTED": w[1] if len(w) == 2 else 0}[op.name]    # [Cout, Cin]
            total += n_out * per
        return total

    def metadata_buffers(self) -> Dict[str, bytes]:
        """The model's named metadata buffers (``TFLITE_METADATA``, ``min_runtime_version``...)."""
        found: Dict[str, bytes] = {}
        count = self.root.BuffersLength()
        for i in range(self.root.MetadataLength()):
            entry = self.root.Metadata(i)
            name = (entry.Name() or b"").decode("utf-8", "replace")
            index = int(entry.Buffer())
            if 0 <= index < count:
                found[name] = self._buffer_bytes(self.root.Buffers(index))
        return found

    def _buffer_bytes(self, buf: Any) -> bytes:
        offset = int(buf.Offset()) if hasattr(buf, "Offset") else 0
        if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
            return bytes(self.data[offset:offset + int(buf.Size())])
        return buf.DataAsNumpy().tobytes() if buf.DataLength() else b""


def integer_report(model: TFLiteModel) -> Tuple[Dict[str, Any], List[str]]:
    """See :meth:`TFLiteModel.integer_report`."""
    op_counts: collections.Counter = collections.Counter()
    dtype_counts: collections.Counter = collections.Counter()
    violations: List[str] = []
    boundary: List[str] = []
    summary: Dict[str, Any] = {}
    for s in range(model.subgraph_count):
        infos = model.tensors(s)
        for info in infos:
            dtype_counts[info.dtype] += 1
        g = model._graph(s)
        graph_inputs = set(model._indices(g.InputsAsNumpy, g.InputsLength()))
        graph_outputs = set(model._indices(g.OutputsAsNumpy, g.OutputsLength()))
        for op in model.operators(s):
            op_counts[op.name] += 1
            float_in = [t for t in op.inputs if t >= 0 and infos[t].dtype in FLOAT_TYPES]
            float_out = [t for t in op.outputs if t >= 0 and infos[t].dtype in FLOAT_TYPES]
            if not float_in and not float_out:
                continue
            if op.name == "QUANTIZE" and not float_out and s == 0 and all(t in graph_inputs for t in float_in):
                boundary.append(f"QUANTIZE of input {infos[float_in[0]].name}")
                continue
            if op.name == "DEQUANTIZE" and s == 0 and all(t in graph_outputs for t in float_out) and not float_in:
                boundary.append(f"DEQUANTIZE to output {infos[float_out[0]].name}")
                continue
            tensor = infos[(float_out or float_in)[0]]
            violations.append(f"{op.name} #{op.index} ({tensor.dtype} tensor {tensor.name[:60]})")
        if s == 0:
            def summ(t: TensorInfo) -> Dict[str, Any]:
                return {**t.to_dict(), "channels_quantized": t.channels_quantized}

            summary["inputs"] = [summ(infos[t]) for t in sorted(graph_inputs)]
            summary["outputs"] = [summ(infos[t]) for t in sorted(graph_outputs)]
            summary["per_channel_tensors"] = sum(1 for i in infos if i.channels_quantized > 1)
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


def read_model(source: Union[PathArg, bytes, TFLiteModel], verify: bool = True) -> TFLiteModel:
    """A :class:`TFLiteModel` from a path, bytes, or an already parsed model."""
    if isinstance(source, TFLiteModel):
        return source
    if isinstance(source, (bytes, bytearray)):
        return TFLiteModel(bytes(source), verify=verify)
    return TFLiteModel.from_file(source, verify=verify)
