"""Hand-built .tflite flatbuffers for tests (no TensorFlow needed): a tiny image classifier
(MEAN over H, W → FULLY_CONNECTED → SOFTMAX) in float32, full-integer and half-quantized forms."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _tensor(s, name: str, shape: Sequence[int], ttype: int, buffer: int = 0,
            scale: Optional[float] = None, zero: int = 0):
    t = s.TensorT()
    t.name = name.encode()
    t.shape = list(shape)
    t.type = ttype
    t.buffer = buffer
    if scale is not None:
        q = s.QuantizationParametersT()
        q.scale = [float(scale)]
        q.zeroPoint = [int(zero)]
        t.quantization = q
    return t


def build_classifier(path: Path, weights: np.ndarray, size: int = 16, mode: str = "float",
                     softmax: bool = True, mean_range: Optional[tuple] = None) -> Path:
    """Write a classifier ``scores = softmax(W · mean_hw(image) + 0)`` with ``W`` [classes, 3].

    ``mode``: ``float`` (float32 everywhere, runnable), ``int8`` (uint8 input, every op integer,
    structure only), ``float_io`` (QUANTIZE / DEQUANTIZE at float I/O, integer inside),
    ``hybrid`` (integer ops with a DEQUANTIZE feeding an internal float op: not full-integer).
    ``mean_range``: (min, max) calibration statistics recorded on the float ``mean`` tensor.
    """
    import flatbuffers

    s = _schema()
    tt, ops = s.TensorType, s.BuiltinOperator
    weights = np.asarray(weights, np.float32)
    classes = int(weights.shape[0])
    buffers: List = [s.BufferT()]

    def const(data: np.ndarray) -> int:
        b = s.BufferT()
        b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
        buffers.append(b)
        return len(buffers) - 1

    axes = const(np.array([1, 2], np.int32))
    integer = mode != "float"
    act = tt.INT8 if integer else tt.FLOAT32
    qa = dict(scale=1.0, zero=-128) if integer else {}
    tensors = [
        _tensor(s, "image", [1, size, size, 3], tt.UINT8 if mode in ("int8", "hybrid") else tt.FLOAT32,
                **(dict(scale=1.0, zero=0) if mode in ("int8", "hybrid") else {})),
        _tensor(s, "quantized_image", [1, size, size, 3], act, **qa),
        _tensor(s, "axes", [2], tt.INT32, axes),
        _tensor(s, "mean", [1, 3], act, **qa),
        _tensor(s, "fc_weights", [classes, 3], tt.INT8 if integer else tt.FLOAT32,
                const(np.clip(np.round(weights * 64), -127, 127).astype(np.int8) if integer else weights),
                **(dict(scale=1 / 64) if integer else {})),
        _tensor(s, "fc_bias", [classes], tt.INT32 if integer else tt.FLOAT32,
                const(np.zeros(classes, np.int32 if integer else np.float32)),
                **(dict(scale=1 / 64) if integer else {})),
        _tensor(s, "logits", [1, classes], act, **(dict(scale=0.5, zero=0) if integer else {})),
        _tensor(s, "probabilities", [1, classes], act, **(dict(scale=1 / 256, zero=-128) if integer else {})),
        _tensor(s, "output", [1, classes], tt.UINT8 if mode == "int8" else tt.FLOAT32,
                **(dict(scale=1 / 256, zero=0) if mode == "int8" else {})),
    ]
    if mean_range is not None:
        q = s.QuantizationParametersT()
        q.min, q.max = [float(mean_range[0])], [float(mean_range[1])]
        tensors[3].quantization = q
    if mode == "hybrid":
        tensors.append(_tensor(s, "dequantized_mean", [1, 3], tt.FLOAT32))
    codes: List[int] = []

    def op(code: int, inputs: Sequence[int], outputs: Sequence[int], options=None, options_type=0):
        if code not in codes:
            codes.append(code)
        o = s.OperatorT()
        o.opcodeIndex = codes.index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options is not None:
            o.builtinOptionsType, o.builtinOptions = options_type, options
        return o

    reducer = s.ReducerOptionsT()
    reducer.keepDims = False
    fc_options = s.FullyConnectedOptionsT()
    sm_options = s.SoftmaxOptionsT()
    sm_options.beta = 1.0
    first = 1 if integer else 0
    graph_ops = []
    if integer:
        graph_ops.append(op(ops.QUANTIZE, [0], [1]))
    graph_ops.append(op(ops.MEAN, [first, 2], [3], reducer, s.BuiltinOptions.ReducerOptions))
    fc_input = 3
    if mode == "hybrid":
        graph_ops.append(op(ops.DEQUANTIZE, [3], [9]))
        fc_input = 9
    last = 6
    graph_ops.append(op(ops.FULLY_CONNECTED, [fc_input, 4, 5], [6], fc_options,
                        s.BuiltinOptions.FullyConnectedOptions))
    if softmax:
        graph_ops.append(op(ops.SOFTMAX, [6], [7], sm_options, s.BuiltinOptions.SoftmaxOptions))
        last = 7
    if mode == "int8":
        graph_ops.append(op(ops.QUANTIZE, [last], [8]))
        last = 8
    elif mode in ("float_io", "hybrid"):
        graph_ops.append(op(ops.DEQUANTIZE, [last], [8]))
        last = 8
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = tensors, [0], [last], graph_ops
    sg.name = b"main"
    model = s.ModelT()
    model.version = 3
    model.subgraphs = [sg]
    model.buffers = buffers
    model.description = b"ghostedge test classifier"
    model.operatorCodes = []
    for code in codes:
        c = s.OperatorCodeT()
        c.builtinCode = code
        c.deprecatedBuiltinCode = min(code, 127)
        c.version = 1
        model.operatorCodes.append(c)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = Path(path)
    path.write_bytes(bytes(builder.Output()))
    return path
