"""Prove that a .tflite file is a complete, well-formed TFLite flatbuffer before LiteRT reads it.

LiteRT's Python interpreter trusts the flatbuffer: a file cut short or with a damaged offset makes
it read outside the file and crash the process (SIGSEGV). :func:`verify_tflite_file` walks every
table, vector and string of TFLite's schema (``schema.fbs``: Model, OperatorCode, SubGraph, Tensor,
QuantizationParameters, SparsityParameters, VariantSubType, Operator and both builtin-options
unions, Buffer, Metadata, SignatureDef, TensorMap, ExternalBuffer) with the flatbuffers verifier's
rules (:mod:`ghostedge.tflite.flatbuf`), then what the runtime trusts (:mod:`.verify_tables`):
tensor, buffer, opcode and subgraph indices; known types, operator codes and union types; constant
data exactly the size of its shape and type; quantization scales and zero points the kernels can
use; inputs an operator always reads; operands some input, constant, variable or earlier operator
provides. Standard library only: a 21 MB GhostNet takes ~10-20 ms (the tables, not the weights).
What no structural check sees is left to :func:`ghostedge.tflite.probe.probe_load`.
"""
from __future__ import annotations

import mmap
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

from ghostedge.errors import InvalidModelError
from ghostedge.tflite.flatbuf import FIX, I8, I32, U32, U64, Reader, Table
from ghostedge.tflite.verify_tables import (CUSTOM_CODE, MAX_BUILTIN_CODE, REQUIRED_INPUTS, SCHEMA_VERSION,
                                            UNIONS, check_index, check_tensor, check_union)

READ_WHOLE = 256 << 20


@dataclass(frozen=True)
class TFLiteLayout:
    """What a verified .tflite holds, and where its flatbuffer ends."""

    source: str
    file_size: int
    schema_version: int
    subgraph_count: int
    tensor_count: int  # over all subgraphs
    operator_count: int  # over all subgraphs
    operator_code_count: int
    buffer_count: int
    signature_count: int
    metadata_names: Tuple[str, ...]
    flatbuffer_end: int  # one past the last byte of the flatbuffer's objects
    trailing_bytes: int  # file bytes after flatbuffer_end (padding, appended zip, external data)
    external_data_bytes: int  # constant data stored outside the flatbuffer (models over 2 GB)
    appended_zip: bool  # an archive (TFLite Metadata's associated files) ends the file

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["metadata_names"] = list(self.metadata_names)
        return d


def verify_tflite_file(path: Union[str, "os.PathLike[str]"]) -> TFLiteLayout:
    """Verify the .tflite file at ``path`` (read whole up to 256 MiB, memory-mapped above); raise
    :class:`InvalidModelError` for a missing, empty, non-regular or damaged file."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InvalidModelError(f"Model {p} does not exist", "no such file", "Check the path") from None
    except OSError as exc:
        raise InvalidModelError(f"Cannot read model {p}", exc.strerror or str(exc),
                                "Check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidModelError(f"{p} is a folder, not a .tflite model", "",
                                "Pass the path of a .tflite file")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidModelError(f"{p} is not a regular file", "a .tflite model is a file",
                                "Pass the path of a .tflite file")
    if st.st_size == 0:
        raise InvalidModelError(f"{p} is not a .tflite model", "the file is empty (0 bytes)", FIX)
    try:
        with open(p, "rb") as fh:
            if st.st_size <= READ_WHOLE:  # a copy: a file cut short meanwhile cannot SIGBUS us
                return verify_tflite_bytes(fh.read(), str(p))
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return verify_tflite_bytes(mm, str(p))
    except (OSError, ValueError) as exc:
        raise InvalidModelError(f"Cannot read model {p}", getattr(exc, "strerror", None) or str(exc),
                                "Check the file and its permissions") from None


def verify_tflite_bytes(data: Any, source: str = "the model") -> TFLiteLayout:
    """Verify a .tflite held in ``data`` (bytes, bytearray, memoryview or mmap)."""
    size = len(data)
    if size < 8 or bytes(data[4:8]) != b"TFL3":
        why = ("the file is empty" if size == 0 else f"it has only {size} bytes" if size < 8
               else "the file lacks the TFL3 identifier at bytes 4-7")
        raise InvalidModelError(f"{source} is not a .tflite model", why,
                                "Pass a .tflite file written by `ghostedge convert` or a TFLite converter")
    r = Reader(data, source)
    model = r.table(r.offset(0, "the root offset"), "the model", 0)
    version = model.scalar(4, U32, "version")
    if version != SCHEMA_VERSION:
        r.damaged("the model", f"declares schema version {version:,}; TFLite models are version 3 "
                               "(is it a TFLite model?)")
    buffers = [_buffer(r, b) for b in model.tables(12, "buffers")]
    if not buffers:
        r.damaged("the model", "has no buffers table (is it a TFLite model?)")
    codes = [_operator_code(c) for c in model.tables(6, "operator codes")]
    subgraphs = model.tables(8, "subgraphs")
    if not subgraphs:
        r.damaged("the model", "has no subgraphs (is it a TFLite model?)")
    model.string(10, "description")
    tensor_counts, operators = [], 0
    for sg in subgraphs:
        nt, nops = _subgraph(sg, buffers, codes, len(subgraphs))
        tensor_counts.append(nt)
        operators += nops
    for i, b in enumerate(model.numbers(14, "i", "metadata_buffer")):
        check_index(r, "the model's metadata_buffer", i, b, len(buffers), "buffers")
    names = []
    for m in model.tables(16, "metadata"):
        m.string(4, "name")
        check_index(r, m.where, "buffer", m.scalar(6, U32, "buffer"), len(buffers), "buffers")
        names.append(m.text(4))
    signatures = model.tables(18, "signature defs")
    for sig in signatures:
        _signature(sig, tensor_counts)
    for g in model.tables(20, "external buffer groups"):
        g.string(4, "name")
    for e in model.tables(22, "external buffers"):
        for slot, fmt, name in ((4, U32, "id"), (6, U32, "group"), (8, U64, "offset"), (10, U64, "length")):
            e.scalar(slot, fmt, name)
        e.string(12, "packing")
    return _layout(r, version, subgraphs, tensor_counts, operators, codes, buffers, signatures, names)


def _layout(r: Reader, version: int, subgraphs: List[Table], tensor_counts: List[int],
            operators: int, codes: List[int], buffers: List[Tuple[int, bool]],
            signatures: List[Table], names: List[str]) -> TFLiteLayout:
    end = min(r.end, r.file_size)
    external = sum(n for n, ext in buffers if ext)
    tail = bytes(r.data[max(end, r.file_size - 65_557):r.file_size]) if r.file_size > end else b""
    return TFLiteLayout(r.source, r.file_size, version, len(subgraphs), sum(tensor_counts),
                        operators, len(codes), len(buffers), len(signatures), tuple(names), end,
                        r.file_size - end, external, tail.rfind(b"PK\x05\x06") >= 0)


def _buffer(r: Reader, b: Table) -> Tuple[int, bool]:
    """(bytes of data, stored outside the flatbuffer?) of one Buffer."""
    _, n = b.vector(4, 1, "data")
    offset, size = b.scalar(6, U64, "offset"), b.scalar(8, U64, "size")
    if offset > 1 and not n:  # models over 2 GB keep data after the flatbuffer (schema.fbs)
        if offset + size > r.file_size:
            r.outside(f"{b.where}'s external data ({size:,} bytes at byte {offset:,})", offset,
                       offset + size)
        return size, True
    return n, False


def _operator_code(c: Table) -> int:
    deprecated = c.scalar(4, I8, "deprecated_builtin_code")
    custom = c.string(6, "custom_code")
    c.scalar(8, I32, "version", 1)
    code = max(deprecated, c.scalar(10, I32, "builtin_code"))
    if deprecated < 0:
        c.r.damaged(c.where, f"has deprecated_builtin_code {deprecated} (operator codes are not negative)")
    if not 0 <= code <= MAX_BUILTIN_CODE:
        c.r.damaged(c.where, f"names builtin operator {code}, unknown to TFLite (0-{MAX_BUILTIN_CODE})")
    if code == CUSTOM_CODE and custom is None:
        c.r.damaged(c.where, "is a custom operator without a custom_code name")
    return code


def _subgraph(sg: Table, buffers: List[Tuple[int, bool]], codes: List[int], nsub: int) -> Tuple[int, int]:
    r = sg.r
    tensors = sg.tables(4, "tensors")
    provided = [check_tensor(t, buffers) for t in tensors]
    nt = len(tensors)
    available = set()
    for field, slot in (("inputs", 6), ("outputs", 8)):
        for i, t in enumerate(sg.numbers(slot, "i", field)):
            check_index(r, f"{sg.where}'s {field}", i, t, nt, "tensors")
            if field == "inputs":
                available.add(t)
    operators = sg.tables(10, "operators")
    for op in operators:
        ins, outs = _operator(op, nt, codes, nsub)
        code = codes[op.scalar(4, U32, "opcode_index")]
        name, required = REQUIRED_INPUTS.get(code, (f"builtin operator {code}", 1))
        if code != CUSTOM_CODE and -1 in ins[:required]:
            r.damaged(f"{op.where} ({name})", f"lacks input {ins.index(-1)} (-1), which it always "
                                              "reads")
        for t in ins:
            if t >= 0 and not provided[t] and t not in available:
                r.damaged(f"{op.where} ({name})",
                          f"reads tensor {t} '{tensors[t].text(10)}', which holds no data and which "
                          "no subgraph input or earlier operator writes (its weights are missing?)")
        available.update(outs)
    sg.string(12, "name")
    sg.scalar(14, I32, "debug_metadata_index")
    return nt, len(operators)


def _operator(op: Table, nt: int, codes: List[int], nsub: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    r = op.r
    check_index(r, op.where, "opcode_index", op.scalar(4, U32, "opcode_index"), len(codes), "operator codes")
    operands = {}
    for slot, field in ((6, "inputs"), (8, "outputs"), (20, "intermediates")):
        operands[field] = op.numbers(slot, "i", field)
        for i, t in enumerate(operands[field]):
            check_index(r, f"{op.where}'s {field}", i, t, nt, "tensors", optional=True)
    for name, (type_slot, value_slot) in (("builtin_options", (10, 12)), ("builtin_options_2", (26, 28))):
        top, spec = UNIONS[name]
        check_union(op, type_slot, value_slot, name, spec, top, nsub)
    op.vector(14, 1, "custom_options")
    op.scalar(16, I8, "custom_options_format")
    op.vector(18, 1, "mutating_variable_inputs")
    offset = op.scalar(22, U64, "large_custom_options_offset")
    size = op.scalar(24, U64, "large_custom_options_size")
    if offset > 1 and offset + size > r.file_size:
        r.outside(f"{op.where}'s large custom options ({size:,} bytes at byte {offset:,})", offset,
                   offset + size)
    op.scalar(30, I32, "debug_metadata_index")
    return operands["inputs"], operands["outputs"]


def _signature(sig: Table, tensor_counts: List[int]) -> None:
    r = sig.r
    index = sig.scalar(12, U32, "subgraph_index")
    check_index(r, sig.where, "subgraph_index", index, len(tensor_counts), "subgraphs")
    sig.string(8, "signature_key")
    for maps in (sig.tables(4, "inputs"), sig.tables(6, "outputs")):
        for m in maps:
            m.string(4, "name")
            check_index(r, m.where, "tensor_index", m.scalar(6, U32, "tensor_index"), tensor_counts[index],
                   f"tensors in subgraph {index}")
