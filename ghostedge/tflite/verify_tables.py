"""Checks of single TFLite tables for :mod:`ghostedge.tflite.verify` (tensors, quantization,
sparsity, unions, indices), and the facts of TFLite's ``schema.fbs`` (as shipped with
ai-edge-litert 2.1) and of the LiteRT kernels that trust them which they check against.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ghostedge.tflite.flatbuf import I8, I32, U8, U32, Reader, Table

SCHEMA_VERSION = 3
MAX_BUILTIN_CODE = 209  # STABLEHLO_CASE, the last operator of ai-edge-litert 2.1's schema
CUSTOM_CODE = 32
MAX_TENSOR_BYTES = 2**32  # no tensor of a phone model nears this; damaged shapes do
# Tensor type -> (numerator, denominator) bytes per element; None: no fixed size (string,
# resource, variant). INT4 and INT2 constants are packed two and four to a byte (older
# converters wrote them a byte each: both are accepted).
ELEMENT_BYTES: Tuple[Any, ...] = (
    (4, 1), (2, 1), (4, 1), (1, 1), (8, 1), None, (1, 1), (2, 1), (8, 1), (1, 1), (8, 1), (16, 1),
    (8, 1), None, None, (4, 1), (2, 1), (1, 2), (2, 1), (1, 4))
TYPE_NAMES = ("FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16",
              "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT",
              "UINT32", "UINT16", "INT4", "BFLOAT16", "INT2")
# Integer tensor types whose quantization LiteRT computes with: zero point range per type.
QUANTIZED_RANGE = {3: (0, 255), 9: (-128, 127), 7: (-32768, 32767), 16: (0, 65535), 17: (-8, 7),
                   19: (-2, 1)}
MIN_NORMAL, MAX_FLOAT = 2.0**-126, 3.4028234663852886e38  # float32's normal range
# Union members (1-based) whose tables hold vectors, strings or subgraph indices, by field slot:
# i/q/f/I/B/? a vector of int32/int64/float/uint32/ubyte/bool, s a string, g a subgraph index,
# G a vector of subgraph indices. Every other member is checked as a table of scalars.
OPTIONS: Dict[int, Tuple[Tuple[int, str], ...]] = {
    3: ((6, "i"), (8, "i")), 16: ((4, "g"),), 17: ((4, "i"),), 30: ((4, "i"),),
    92: ((4, "g"), (6, "g")), 93: ((4, "g"), (6, "g")), 103: ((4, "g"),),
    111: ((4, "s"), (6, "s")), 115: ((4, "f"),)}
OPTIONS_2: Dict[int, Tuple[Tuple[int, str], ...]] = {
    2: ((4, "q"),), 3: ((4, "q"), (6, "q"), (8, "q")),
    4: ((4, "q"), (6, "q"), (8, "q"), (10, "q"), (12, "?"), (18, "q"), (24, "q"), (30, "q"),
        (36, "I")),
    5: ((4, "s"), (8, "s"), (12, "G"), (14, "B")), 6: ((4, "q"), (6, "g")),
    7: ((6, "q"), (8, "q"), (10, "q"), (16, "g")), 9: ((4, "q"),), 10: ((4, "q"), (6, "q"), (8, "q")),
    12: ((4, "q"), (6, "q"), (8, "q"), (10, "q"), (12, "I")),
    13: ((4, "q"), (6, "q"), (8, "q"), (10, "q"), (12, "q"), (14, "g")), 14: ((8, "g"),),
    15: ((4, "g"), (6, "g")), 16: ((4, "q"), (6, "q"), (8, "q"), (12, "q")), 17: ((4, "q"),),
    21: ((4, "s"), (6, "g"), (8, "B")), 23: ((4, "G"),)}
UNIONS = {"builtin_options": (126, OPTIONS), "builtin_options_2": (23, OPTIONS_2)}
# Inputs that builtin operators read unconditionally: (name, how many leading inputs may not be
# -1, the "optional operand" marker). LiteRT's kernels dereference these without a check
# (FULLY_CONNECTED with weights -1 crashes it). Any other builtin operator: its first input.
REQUIRED_INPUTS: Dict[int, Tuple[str, int]] = {
    0: ("ADD", 2), 1: ("AVERAGE_POOL_2D", 1), 3: ("CONV_2D", 2), 4: ("DEPTHWISE_CONV_2D", 2),
    9: ("FULLY_CONNECTED", 2), 17: ("MAX_POOL_2D", 1), 18: ("MUL", 2), 22: ("RESHAPE", 1),
    23: ("RESIZE_BILINEAR", 2), 25: ("SOFTMAX", 1), 34: ("PAD", 2), 36: ("GATHER", 2),
    39: ("TRANSPOSE", 2), 40: ("MEAN", 2), 41: ("SUB", 2), 42: ("DIV", 2), 45: ("STRIDED_SLICE", 4),
    54: ("PRELU", 2), 55: ("MAXIMUM", 2), 57: ("MINIMUM", 2), 60: ("PADV2", 3),
    67: ("TRANSPOSE_CONV", 3), 74: ("SUM", 2), 126: ("BATCH_MATMUL", 2)}


def check_index(r: Reader, where: str, what: Any, value: int, count: int, of: str,
                optional: bool = False) -> None:
    """Refuse an index outside 0..count-1 (-1 too if ``optional``): ``what`` names the field, or
    is the entry's position in a vector."""
    if not (-1 if optional else 0) <= value < count:
        r.damaged(f"{where}'s {what}" if isinstance(what, str) else f"{where} entry {what}",
                  f"refers to index {value:,}, but there are {count:,} {of}")


def check_tensor(t: Table, buffers: List[Tuple[int, bool]]) -> bool:
    """Verify a tensor; True if it needs no producer (constant data, variable or zero elements)."""
    r = t.r
    shape = t.numbers(4, "i", "shape")
    ttype = t.scalar(6, I8, "type")
    if not 0 <= ttype < len(TYPE_NAMES):
        r.damaged(t.where, f"has type {ttype}, unknown to TFLite (0-{len(TYPE_NAMES) - 1})")
    buffer = t.scalar(8, U32, "buffer")
    check_index(r, t.where, "buffer", buffer, len(buffers), "buffers")
    t.string(10, "name")
    if any(d < -1 for d in shape):
        r.damaged(t.where, f"has shape {list(shape)}, with a dimension below -1")
    quant = t.child(12, "quantization")
    if quant is not None:
        _quantization(quant, shape, ttype)
    variable = t.scalar(14, U8, "is_variable")
    sparsity = t.child(16, "sparsity")
    if sparsity is not None:
        _sparsity(sparsity)
    t.numbers(18, "i", "shape_signature")
    t.scalar(20, U8, "has_rank")
    for v in t.tables(22, "variant tensors"):
        v.numbers(4, "i", "shape")
        v.scalar(6, I8, "type")
        v.scalar(8, U8, "has_rank")
    t.scalar(24, U32, "external_buffer")
    nbytes = buffers[buffer][0]
    count = 1
    for d in shape:
        count *= d
    per = ELEMENT_BYTES[ttype]
    static = all(d >= 0 for d in shape)
    need = -(-count * per[0] // per[1]) if per and static else 0
    if need > MAX_TENSOR_BYTES:
        r.damaged(f"{t.where} '{t.text(10)}'", f"has shape {list(shape)} of {TYPE_NAMES[ttype]} "
                                                f"({need:,} bytes, over {MAX_TENSOR_BYTES:,})")
    if nbytes and per and static and sparsity is None and nbytes not in (need, count * (per[1] > 1)):
        r.damaged(f"{t.where} '{t.text(10)}'",
                  f"has shape {list(shape)} of {TYPE_NAMES[ttype]} ({need:,} bytes), but its "
                  f"buffer {buffer} holds {nbytes:,} bytes")
    return bool(nbytes or variable or (static and count == 0))


def _quantization(q: Table, shape: Tuple[int, ...], ttype: int) -> None:
    q.numbers(4, "f", "min")
    q.numbers(6, "f", "max")
    scales = q.numbers(8, "f", "scale")
    zero_points = q.numbers(10, "q", "zero_point")
    details = check_union(q, 12, 14, "details", {1: ((4, "B"),), 2: ()}, 2, 0)
    dim = q.scalar(16, I32, "quantized_dimension")
    if details:
        return
    if ttype in QUANTIZED_RANGE:  # LiteRT's kernels crash on these (bad multipliers, lookups)
        low, high = QUANTIZED_RANGE[ttype]
        bad = next((v for v in scales if not MIN_NORMAL <= v <= MAX_FLOAT), None)
        if bad is not None:
            q.r.damaged(q.where, f"has scale {bad:g}; scales are positive, normal floats")
        bad = next((v for v in zero_points if not low <= v <= high), None)
        if bad is not None:
            q.r.damaged(q.where, f"has zero point {bad:,}, outside {TYPE_NAMES[ttype]}'s {low}..{high}")
    if len(scales) <= 1:
        return
    if zero_points and len(zero_points) != len(scales):
        q.r.damaged(q.where, f"has {len(scales)} scales but {len(zero_points)} zero points")
    if shape and not 0 <= dim < len(shape):
        q.r.damaged(q.where, f"quantizes along dimension {dim} of a rank-{len(shape)} tensor")
    if shape and shape[dim] >= 0 and shape[dim] != len(scales):
        q.r.damaged(q.where, f"has {len(scales)} scales for a dimension of size {shape[dim]}")


def _sparsity(s: Table) -> None:
    s.numbers(4, "i", "traversal_order")
    s.numbers(6, "i", "block_map")
    for d in s.tables(8, "dim metadata"):
        d.scalar(4, I8, "format")
        d.scalar(6, I32, "dense_size")
        index_vectors = {1: ((4, "i"),), 2: ((4, "H"),), 3: ((4, "B"),)}
        check_union(d, 8, 10, "array_segments", index_vectors, 3, 0)
        check_union(d, 12, 14, "array_indices", index_vectors, 3, 0)


def check_union(t: Table, type_slot: int, value_slot: int, name: str,
           spec: Dict[int, Tuple[Tuple[int, str], ...]], top: int, nsub: int) -> int:
    """Verify a union field (its type within 1..top, its table and known vectors); return its type."""
    kind = t.scalar(type_slot, U8, f"{name}_type")
    pos = t.ref(value_slot, name)
    if kind > top:
        t.r.damaged(f"{t.where}'s {name}", f"has union type {kind}, unknown to TFLite (1-{top})")
    if not (kind and pos):
        return kind
    table = t.r.table(pos, f"{t.where}'s {name}", t.depth + 1)
    for voff in table.voffs:  # fields of unknown type: any scalar (up to 8 bytes) stays in the file
        if voff and pos + voff + 8 > t.r.size:
            table.r.outside(f"{table.where}'s field at offset {voff}", pos + voff, pos + voff + 8)
    for slot, code in spec.get(kind, ()):
        label = f"field {(slot - 4) // 2}"
        if code == "s":
            table.string(slot, label)
        elif code == "g":
            check_index(t.r, table.where, label, table.scalar(slot, I32, label), nsub, "subgraphs")
        elif code == "G":
            for i, v in enumerate(table.numbers(slot, "i", label)):
                check_index(t.r, f"{table.where}'s {label}", i, v, nsub, "subgraphs")
        else:
            table.numbers(slot, code, label)
    return kind
