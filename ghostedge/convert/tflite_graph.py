"""Small edits and checks on .tflite flatbuffers: name the I/O, add the ``serving_default``
signature, count operators without running the model.

Uses the TFLite schema that ``ai-edge-litert`` ships (``ai_edge_litert.schema_py_generated``,
falling back to TensorFlow's copy) and the ``flatbuffers`` package: no TensorFlow import needed.
"""
from __future__ import annotations

import collections
import logging
from typing import Any, Dict

from ghostedge.errors import ConversionError

log = logging.getLogger(__name__)

SIGNATURE_KEY = "serving_default"


def _schema() -> Any:
    from ghostedge.runtime import tflite_schema

    return tflite_schema(ConversionError)


def read_model(model_bytes: bytes) -> Any:
    """Parse a .tflite flatbuffer into the schema's mutable object tree (``ModelT``)."""
    schema = _schema()
    if len(model_bytes) < 8 or model_bytes[4:8] != b"TFL3":
        raise ConversionError("Cannot edit the converted model", "it lacks the TFL3 identifier",
                              "This is a bug: rerun with --debug and report it")
    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(model_bytes), 0))


def _write(model: Any) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _name(raw: Any) -> str:
    return raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)


def name_io(model_bytes: bytes, input_name: str, output_name: str) -> bytes:
    """Rename the single input/output tensors and set one ``serving_default`` signature mapping
    ``input_name`` → ``output_name``. Weights and operators are untouched.

    A model with more than one subgraph, input or output is refused (GhostNet has one of each).
    """
    schema = _schema()
    model = read_model(model_bytes)
    if len(model.subgraphs) != 1:
        raise ConversionError("Cannot name the model's inputs and outputs",
                              f"it has {len(model.subgraphs)} subgraphs, expected 1")
    graph = model.subgraphs[0]
    inputs, outputs = list(graph.inputs), list(graph.outputs)
    if len(inputs) != 1 or len(outputs) != 1:
        raise ConversionError("Cannot name the model's inputs and outputs",
                              f"it has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1")
    graph.tensors[inputs[0]].name = input_name.encode("utf-8")
    graph.tensors[outputs[0]].name = output_name.encode("utf-8")

    def tensor_map(name: str, index: int) -> Any:
        tmap = schema.TensorMapT()
        tmap.name = name.encode("utf-8")
        tmap.tensorIndex = int(index)
        return tmap

    signature = schema.SignatureDefT()
    signature.signatureKey = SIGNATURE_KEY.encode("utf-8")
    signature.subgraphIndex = 0
    signature.inputs = [tensor_map(input_name, inputs[0])]
    signature.outputs = [tensor_map(output_name, outputs[0])]
    model.signatureDefs = [signature]
    log.debug("named I/O %s -> %s and set the %s signature", input_name, output_name, SIGNATURE_KEY)
    return _write(model)


def op_counts(model_bytes: bytes) -> Dict[str, int]:
    """Operators by builtin name, read from the flatbuffer (before any delegate is applied)."""
    schema = _schema()
    model = read_model(model_bytes)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for opcode in model.operatorCodes:
        code = max(int(opcode.builtinCode), int(opcode.deprecatedBuiltinCode))
        codes.append(_name(opcode.customCode) if opcode.customCode else names.get(code, str(code)))
    counts = collections.Counter(codes[op.opcodeIndex] for g in model.subgraphs for op in g.operators)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def signatures(model_bytes: bytes) -> Dict[str, Dict[str, list]]:
    """``{signature_key: {"inputs": [names], "outputs": [names]}}`` as stored in the model."""
    model = read_model(model_bytes)
    result: Dict[str, Dict[str, list]] = {}
    for sig in model.signatureDefs or []:
        result[_name(sig.signatureKey)] = {"inputs": [_name(t.name) for t in sig.inputs or []],
                                           "outputs": [_name(t.name) for t in sig.outputs or []]}
    return result
