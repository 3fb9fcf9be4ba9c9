"""Make damaged .tflite files from a valid one, one function per class of damage.

Fields are located with the flatbuffers package and LiteRT's own generated schema (its object API
for the "wrong value" classes), never with ghostedge's verifier, so each damage hits what it says.
``DAMAGES`` lists every named case: (source model, function, a phrase the refusal must contain).
"""
from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import Callable, Dict, Tuple

DATA = Path(__file__).resolve().parents[1] / "data"
TINY_FP32 = DATA / "device_bench" / "tiny_conv.fp32.tflite"
TINY_INT8 = DATA / "device_bench" / "tiny_conv.int8.tflite"
TINY_APP = DATA / "appexport" / "tiny_app.fp32.tflite"  # has a signature def and metadata


def model(data: bytes):
    """The root Model of LiteRT's generated schema (flatbuffers' reader) over ``data``."""
    from ai_edge_litert import schema_py_generated as schema

    return schema.Model.GetRootAsModel(data, 0)


def field_pos(obj, slot: int) -> int:
    """Absolute position of a present field of a generated-schema table."""
    off = obj._tab.Offset(slot)
    assert off, f"field {slot} absent"
    return obj._tab.Pos + off


def vector_len_pos(obj, slot: int) -> int:
    """Absolute position of the length prefix of a vector (or string) field."""
    return obj._tab.Vector(obj._tab.Offset(slot)) - 4


def put(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<" + fmt, out, pos, value)
    return bytes(out)


def _first(data: bytes, kind: str, has: Callable) -> object:
    sg = model(data).Subgraphs(0)
    items = map(getattr(sg, kind), range(getattr(sg, kind + "Length")()))
    return next(x for x in items if has(x))


def shaped(data: bytes):  # the first tensor with a shape vector
    return _first(data, "Tensors", lambda t: t._tab.Offset(4))


def optioned(data: bytes):  # the first operator with builtin options
    return _first(data, "Operators", lambda op: op._tab.Offset(12))


def constant(data: bytes):  # the first tensor whose buffer holds data
    m = model(data)
    return _first(data, "Tensors", lambda t: t.Buffer() and m.Buffers(t.Buffer()).DataLength())


# -- byte-level damage ------------------------------------------------------------------------
def zero_tail(data: bytes, fraction: float) -> bytes:
    cut = int(len(data) * (1 - fraction))
    return data[:cut] + bytes(len(data) - cut)


def mutate(data: bytes, seed: int) -> bytes:
    """Seeded random damage of one of four kinds: a few random bytes, a 16- or 32-bit word set to
    a random/extreme/in-file value (hits offsets, lengths, vtables), or a cut."""
    rng = random.Random(seed)
    out = bytearray(data)
    kind = seed % 4
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif kind == 1:
        pos = rng.randrange(len(out) - 4) & ~3
        struct.pack_into("<I", out, pos, rng.choice(
            [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, rng.randrange(1 << 32), rng.randrange(len(out))]))
    elif kind == 2:
        struct.pack_into("<H", out, rng.randrange(len(out) - 2) & ~1, rng.randrange(1 << 16))
    else:
        del out[rng.randrange(8, len(out)):]
    return bytes(out)


def _offset_into_root(d: bytes) -> bytes:
    """A tensor's shape offset points at the model's root table (read as a vector length)."""
    pos = field_pos(shaped(d), 4)
    return put(d, pos, "I", (struct.unpack_from("<I", d, 0)[0] - pos) % (1 << 32))


def _vtable(d: bytes) -> int:
    """Position of operator 0's vtable."""
    op = model(d).Subgraphs(0).Operators(0)
    return op._tab.Pos - struct.unpack_from("<i", d, op._tab.Pos)[0]


def _vtable_size(d: bytes, vsize: int) -> bytes:
    return put(d, _vtable(d), "H", vsize)


def _options_table(d: bytes) -> int:
    pos = field_pos(optioned(d), 12)
    return pos + struct.unpack_from("<I", d, pos)[0]


def _name_unterminated(d: bytes) -> bytes:
    t = shaped(d)
    start = t._tab.Vector(t._tab.Offset(10))
    return put(d, start + struct.unpack_from("<I", d, start - 4)[0], "B", ord("x"))


def _reshape_vector_huge(d: bytes) -> bytes:
    d = repack(d, lambda m: set_options(m, 17, _table("ReshapeOptionsT", newShape=[1, -1])))
    return put(d, vector_len_pos(_options_table_obj(d), 4), "I", 0x3FFFFFFF)


def _options_table_obj(d: bytes):
    from ai_edge_litert import schema_py_generated as schema

    t = schema.ReshapeOptions()
    t.Init(d, _options_table(d))
    return t


# -- wrong values in a well-formed flatbuffer (LiteRT's object API) ------------------------------
def repack(data: bytes, change: Callable[[object], None]) -> bytes:
    """Unpack ``data`` into LiteRT's ModelT, ``change`` it, pack it again."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(data, 0)
    change(m)
    b = flatbuffers.Builder(len(data))
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _table(name: str, **fields) -> object:
    from ai_edge_litert import schema_py_generated as schema

    obj = getattr(schema, name)()
    _set(obj, **fields)
    return obj


def _set(obj, **values) -> None:
    for key, value in values.items():
        setattr(obj, key, value)


def _const(m):  # object API: the first tensor whose buffer holds data
    return next(t for t in m.subgraphs[0].tensors
                if t.buffer and m.buffers[t.buffer].data is not None and len(m.buffers[t.buffer].data))


def _op(m, i: int = 0):
    return m.subgraphs[0].operators[i]


def set_options(m, kind: int, table: object) -> None:
    op = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType)
    _set(op, builtinOptionsType=kind, builtinOptions=table)


def _quant(m, **fields) -> None:
    t = next(t for t in m.subgraphs[0].tensors if t.quantization is not None
             and t.quantization.scale is not None and len(t.quantization.scale) == 1)
    _set(t.quantization, **fields)


def _per_channel(m, scales: int, zero_points: int, dim: int) -> None:
    _const(m).quantization = _table("QuantizationParametersT", scale=[0.1] * scales,
                                    zeroPoint=[0] * zero_points, quantizedDimension=dim)


def _shrink(m) -> None:
    buf = m.buffers[_const(m).buffer]
    buf.data = buf.data[:-4]


def _grow(m) -> None:
    t = _const(m)
    t.shape = [t.shape[0] * 2, *t.shape[1:]]


def not_a_model() -> bytes:
    """A valid flatbuffer with the TFL3 identifier whose root table is not a Model."""
    import flatbuffers

    b = flatbuffers.Builder(64)
    name = b.CreateString("not a model, just a flatbuffer")
    b.StartObject(3)
    b.PrependUOffsetTRelativeSlot(1, name, 0)
    b.PrependInt32Slot(0, 7, 0)
    b.PrependFloat32Slot(2, 1.5, 0.0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    return bytes(b.Output())


Damage = Tuple[Path, Callable[[bytes], bytes], str]
A, Q = TINY_APP, TINY_INT8
DAMAGES: Dict[str, Damage] = {
    # cut short / zero-filled
    "truncated_at_half": (A, lambda d: d[:len(d) // 2], "cut short"),
    "truncated_at_100": (A, lambda d: d[:100], "cut short"),
    "truncated_after_header": (A, lambda d: d[:8], "cut short"),
    "truncated_by_one_byte": (A, lambda d: d[:-1], "cut short"),
    "zero_tail_quarter": (A, lambda d: zero_tail(d, 0.25), "vtable"),
    "zeros_after_header": (A, lambda d: d[:8] + bytes(len(d) - 8), "vtable"),
    # offsets outside the file, into other objects, to themselves, misaligned
    "offset_outside": (A, lambda d: put(d, field_pos(model(d).Subgraphs(0), 4), "I", 1 << 30),
                       "tensors offset"),
    "offset_into_other": (A, _offset_into_root, "shape offset"),
    "offset_zero": (A, lambda d: put(d, field_pos(model(d).Subgraphs(0).Operators(0), 6), "I", 0),
                    "may not point to itself"),
    "offset_misaligned": (A, lambda d: put(d, field_pos(model(d).Subgraphs(0), 4), "I", struct.unpack_from(
        "<I", d, field_pos(model(d).Subgraphs(0), 4))[0] + 2), "not aligned"),
    # huge declared lengths
    "huge_shape_vector": (A, lambda d: put(d, vector_len_pos(shaped(d), 4), "I", 0x7FFFFFF0),
                          "more than a flatbuffer can hold"),
    "huge_shape_vector_0xffffffff": (A, lambda d: put(d, vector_len_pos(shaped(d), 4), "I", 0xFFFFFFFF),
                                     "more than a flatbuffer can hold"),
    "huge_tensor_count": (A, lambda d: put(d, vector_len_pos(model(d).Subgraphs(0), 4), "I", 1 << 28),
                          "268,435,456 elements"),
    "huge_buffer_data": (A, lambda d: put(d, vector_len_pos(model(d).Buffers(constant(d).Buffer()), 4),
                                          "I", 0x7FFFFF00), "data vector"),
    "name_not_null_terminated": (A, _name_unterminated, "not null-terminated"),
    # vtables
    "vtable_after_end": (A, lambda d: put(d, model(d).Subgraphs(0).Tensors(0)._tab.Pos, "i", -(1 << 28)),
                         "vtable"),
    "vtable_before_start": (A, lambda d: put(d, model(d).Subgraphs(0).Tensors(0)._tab.Pos, "i",
                                             0x7FFFFFF0), "before the start of the file"),
    "vtable_odd_size": (A, lambda d: _vtable_size(d, 7), "vtable of 7 bytes"),
    "vtable_huge_size": (A, lambda d: _vtable_size(d, 0xFFF0), "vtable ends at byte"),
    "field_outside_its_table": (A, lambda d: put(d, _vtable(d) + 4, "H", 0xFF00), "outside its"),
    # unions and option tables
    "options_type_unknown": (A, lambda d: put(d, field_pos(optioned(d), 10), "B", 250), "union type 250"),
    "options_offset_outside": (A, lambda d: put(d, field_pos(optioned(d), 12), "I", 0x7FFF0000),
                               "builtin_options offset"),
    "options_vtable_outside": (A, lambda d: put(d, _options_table(d), "i", -(1 << 28)),
                               "builtin_options's vtable"),
    "options_vector_huge": (A, _reshape_vector_huge, "builtin_options's field 0 vector"),
    "call_subgraph_out_of_range": (A, lambda d: repack(d, lambda m: set_options(m, 16, _table(
        "CallOptionsT", subgraph=5))), "1 subgraphs"),
    # indices out of range
    "operator_input_out_of_range": (A, lambda d: repack(d, lambda m: _set(
        _op(m), inputs=[9999, *_op(m).inputs[1:]])), "9,999"),
    "operator_input_negative": (A, lambda d: repack(d, lambda m: _set(
        _op(m), inputs=[-7, *_op(m).inputs[1:]])), "index -7"),
    "operator_needed_input_missing": (A, lambda d: repack(d, lambda m: _set(
        _op(m, 3), inputs=[_op(m, 3).inputs[0], -1, *_op(m, 3).inputs[2:]])), "always reads"),
    "subgraph_output_out_of_range": (A, lambda d: repack(d, lambda m: _set(m.subgraphs[0], outputs=[9999])),
                                     "outputs entry 0"),
    "tensor_buffer_out_of_range": (A, lambda d: repack(d, lambda m: _set(_const(m), buffer=9999)),
                                   "buffers"),
    "opcode_index_out_of_range": (A, lambda d: repack(d, lambda m: _set(_op(m), opcodeIndex=200)),
                                  "operator codes"),
    "signature_subgraph_out_of_range": (A, lambda d: repack(d, lambda m: _set(
        m.signatureDefs[0], subgraphIndex=5)), "subgraph_index"),
    "signature_tensor_out_of_range": (A, lambda d: repack(d, lambda m: _set(
        m.signatureDefs[0].inputs[0], tensorIndex=999)), "tensor_index"),
    "metadata_buffer_out_of_range": (A, lambda d: repack(d, lambda m: _set(m.metadata[0], buffer=999)),
                                     "metadata 0's buffer"),
    # codes and types
    "builtin_code_unknown": (A, lambda d: repack(d, lambda m: _set(m.operatorCodes[0], builtinCode=5000)),
                             "builtin operator 5000"),
    "deprecated_code_negative": (A, lambda d: repack(d, lambda m: _set(
        m.operatorCodes[0], deprecatedBuiltinCode=-3)), "deprecated_builtin_code -3"),
    "tensor_type_unknown": (A, lambda d: repack(d, lambda m: _set(m.subgraphs[0].tensors[0], type=99)),
                            "type 99"),
    # constant data against shape and type
    "buffer_smaller_than_shape": (A, lambda d: repack(d, _shrink), "holds"),
    "shape_bigger_than_buffer": (A, lambda d: repack(d, _grow), "holds"),
    "shape_with_zero_dimension": (A, lambda d: repack(d, lambda m: _set(
        _const(m), shape=[0, *_const(m).shape[1:]])), "holds"),
    "weights_missing": (A, lambda d: repack(d, lambda m: _set(m.buffers[_const(m).buffer], data=None)),
                        "holds no data"),
    "activation_of_absurd_size": (A, lambda d: repack(d, lambda m: _set(
        m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]], shape=[1, 11534400, 64, 3])), "bytes, over"),
    # quantization
    "scales_without_matching_zero_points": (A, lambda d: repack(d, lambda m: _per_channel(m, 16, 3, 0)),
                                            "zero points"),
    "quantized_dimension_out_of_range": (A, lambda d: repack(d, lambda m: _per_channel(m, 16, 16, 9)),
                                         "dimension 9"),
    "scale_zero": (Q, lambda d: repack(d, lambda m: _quant(m, scale=[0.0])), "has scale 0;"),
    "scale_negative": (Q, lambda d: repack(d, lambda m: _quant(m, scale=[-0.1])), "has scale"),
    "scale_nan": (Q, lambda d: repack(d, lambda m: _quant(m, scale=[float("nan")])), "has scale nan"),
    "zero_point_out_of_range": (Q, lambda d: repack(d, lambda m: _quant(m, zeroPoint=[300])),
                                "zero point 300"),
    # not a TFLite model at all
    "schema_version_wrong": (A, lambda d: repack(d, lambda m: _set(m, version=7)), "schema version 7"),
    "valid_flatbuffer_not_a_model": (A, lambda d: not_a_model(), "is it a TFLite model?"),
}
