"""A bounds-checked flatbuffer reader: the rules of the flatbuffers C++ ``Verifier``, in Python.

Every offset, vtable, vector and string is checked to lie inside the buffer before it is read,
with the verifier's alignment, depth and table-count limits, so that nothing later reads outside
the file. Stricter than the C++ verifier in two ways that builders always satisfy: a vtable holds
at least its two header fields, and every field a vtable lists starts inside its table.

A problem raises :class:`ghostedge.errors.InvalidModelError` naming the object, the byte and the
file size. Standard library only (``struct``); used by :mod:`ghostedge.tflite.verify`.
"""
from __future__ import annotations

import struct
from typing import Any, List, NoReturn, Optional, Tuple

from ghostedge.errors import InvalidModelError

MAX_BUFFER_SIZE = 2**31 - 1  # FLATBUFFERS_MAX_BUFFER_SIZE: what 32-bit offsets can address
MAX_DEPTH = 64  # flatbuffers::Verifier's default max_depth
MAX_TABLES = 1_000_000  # flatbuffers::Verifier's default max_tables
FIX = "Re-export or re-download the model"

U8, I8 = struct.Struct("<B"), struct.Struct("<b")
U16, I32, U32 = struct.Struct("<H"), struct.Struct("<i"), struct.Struct("<I")
U64, I64 = struct.Struct("<Q"), struct.Struct("<q")


class Reader:
    """The buffer being verified, its limits, and how far the verified objects reach."""

    def __init__(self, data: Any, source: str, kind: str = ".tflite model") -> None:
        self.data = data
        self.source = source
        self.kind = kind
        self.file_size = len(data)
        self.size = min(self.file_size, MAX_BUFFER_SIZE)
        self.end = 0  # one past the last byte of any verified object
        self.tables = 0

    # -- errors -------------------------------------------------------------------------------
    def damaged(self, where: str, problem: str) -> NoReturn:
        raise InvalidModelError(f"{self.source} is not a valid {self.kind}",
                                f"{where} {problem} (the file is damaged)", FIX)

    def outside(self, where: str, pos: int, end: int, verb: str = "ends at") -> NoReturn:
        """Raise for an object at [pos, end) that does not fit: before the start, past the end of
        the file (cut short), or past what 32-bit offsets address."""
        byte = end if verb == "ends at" else pos
        if pos < 0:
            self.damaged(where, f"{verb} byte {pos:,}, before the start of the file")
        if end > self.file_size:
            raise InvalidModelError(
                f"{self.source} is not a complete {self.kind}",
                f"{where} {verb} byte {byte:,}, beyond the file's {self.file_size:,} bytes "
                "(the file is cut short?)", FIX)
        self.damaged(where, f"{verb} byte {byte:,}, beyond the {MAX_BUFFER_SIZE:,} bytes a "
                            "flatbuffer can address")

    # -- primitives ---------------------------------------------------------------------------
    def span(self, pos: int, length: int, where: str) -> None:
        """Check that bytes [pos, pos + length) lie inside the buffer."""
        end = pos + length
        if pos < 0 or end > self.size:
            self.outside(where, pos, end)
        if end > self.end:
            self.end = end

    def align(self, pos: int, alignment: int, where: str) -> None:
        if pos % alignment:
            self.damaged(where, f"at byte {pos:,} is not aligned to {alignment} bytes")

    def offset(self, pos: int, where: str) -> int:
        """Follow the uoffset stored at ``pos``; return the absolute position it points to."""
        self.align(pos, 4, where)
        self.span(pos, 4, where)
        rel = U32.unpack_from(self.data, pos)[0]
        if rel == 0:
            self.damaged(where, f"at byte {pos:,} is 0 (an offset may not point to itself)")
        if rel >= 2**31:
            self.damaged(where, f"at byte {pos:,} is {rel:,}, larger than any flatbuffer offset")
        target = pos + rel
        if target >= self.size:
            self.outside(f"{where} at byte {pos:,}", target, target + 1, "points to")
        return target

    def table(self, pos: int, where: str, depth: int) -> "Table":
        """Verify the table starting at ``pos`` (its vtable and that its fields lie inside it)."""
        if depth > MAX_DEPTH:
            self.damaged(where, f"is nested deeper than {MAX_DEPTH} tables")
        self.tables += 1
        if self.tables > MAX_TABLES:
            self.damaged(where, f"is table number {self.tables:,}, more than the {MAX_TABLES:,} "
                                "a flatbuffer verifier walks")
        self.align(pos, 4, f"{where}'s table")
        self.span(pos, 4, f"{where}'s table")
        vt = pos - I32.unpack_from(self.data, pos)[0]
        if vt < 0 or vt + 4 > self.size:
            self.outside(f"{where}'s vtable (for the table at byte {pos:,})", vt, vt + 4, "lies at")
        self.align(vt, 2, f"{where}'s vtable")
        vsize, osize = struct.unpack_from("<HH", self.data, vt)
        if vsize < 4 or vsize % 2:
            self.damaged(where, f"has a vtable of {vsize} bytes (it must be even and at least 4)")
        if osize < 4:
            self.damaged(where, f"declares an inline size of {osize} bytes (at least 4)")
        self.span(vt, vsize, f"{where}'s vtable")
        self.span(pos, osize, f"{where}'s table")
        nfields = (vsize - 4) // 2
        voffs = struct.unpack_from(f"<{nfields}H", self.data, vt + 4) if nfields else ()
        for slot, voff in enumerate(voffs):
            if voff and not 4 <= voff < osize:
                self.damaged(where, f"field {slot} lies at offset {voff} outside its "
                                    f"{osize}-byte table")
        return Table(self, pos, voffs, osize, where, depth)


class Table:
    """A verified table: typed, bounds-checked access to its fields by vtable slot (4, 6, 8, ...)."""

    __slots__ = ("r", "pos", "voffs", "osize", "where", "depth")

    def __init__(self, r: Reader, pos: int, voffs: Tuple[int, ...], osize: int, where: str,
                 depth: int) -> None:
        self.r, self.pos, self.voffs, self.osize = r, pos, voffs, osize
        self.where, self.depth = where, depth

    def field(self, slot: int, size: int, name: str) -> int:
        """Absolute position of the field in vtable ``slot`` (0 if absent), checked to hold
        ``size`` bytes inside the table, aligned to its size."""
        i = (slot - 4) >> 1
        if i >= len(self.voffs) or not self.voffs[i]:
            return 0
        voff = self.voffs[i]
        if voff + size > self.osize:
            self.r.damaged(f"{self.where}'s {name}", f"({size} bytes at offset {voff}) runs past "
                                                     f"the end of its {self.osize}-byte table")
        pos = self.pos + voff
        if size in (2, 4, 8):
            self.r.align(pos, size, f"{self.where}'s {name}")
        return pos

    def scalar(self, slot: int, fmt: struct.Struct, name: str, default: int = 0) -> Any:
        pos = self.field(slot, fmt.size, name)
        return fmt.unpack_from(self.r.data, pos)[0] if pos else default

    def ref(self, slot: int, name: str) -> int:
        """Position of the object the offset field in ``slot`` points to (0 if absent)."""
        pos = self.field(slot, 4, name)
        return self.r.offset(pos, f"{self.where}'s {name} offset") if pos else 0

    def vector(self, slot: int, elem_size: int, name: str) -> Tuple[int, int]:
        """(first element's position, element count) of a vector field; (0, 0) if absent."""
        pos = self.ref(slot, name)
        return vector_at(self.r, pos, elem_size, f"{self.where}'s {name} vector") if pos else (0, 0)

    def numbers(self, slot: int, code: str, name: str) -> Tuple[Any, ...]:
        """The values of a vector of scalars (``code``: a struct letter such as "i", "q", "f")."""
        start, n = self.vector(slot, struct.calcsize(code), name)
        return struct.unpack_from(f"<{n}{code}", self.r.data, start) if n else ()

    def string(self, slot: int, name: str) -> Optional[Tuple[int, int]]:
        """(position, length) of a null-terminated string field; None if absent."""
        pos = self.ref(slot, name)
        return string_at(self.r, pos, f"{self.where}'s {name}") if pos else None

    def text(self, slot: int) -> str:
        """A string field decoded for messages (no checks: call :meth:`string` first)."""
        i = (slot - 4) >> 1
        if i >= len(self.voffs) or not self.voffs[i]:
            return ""
        pos = self.pos + self.voffs[i]
        start = pos + U32.unpack_from(self.r.data, pos)[0]
        n = U32.unpack_from(self.r.data, start)[0]
        return bytes(self.r.data[start + 4:start + 4 + min(n, 200)]).decode("utf-8", "replace")

    def tables(self, slot: int, name: str) -> List["Table"]:
        """The tables of a vector-of-tables field (each verified)."""
        start, n = self.vector(slot, 4, name)
        label = name[:-1] if name.endswith("s") else name
        return [self.r.table(self.r.offset(start + 4 * i, f"{self.where}'s {label} {i} offset"),
                             f"{self.where} {label} {i}" if self.depth else f"{label} {i}",
                             self.depth + 1) for i in range(n)]

    def child(self, slot: int, name: str) -> Optional["Table"]:
        """The table a table-typed (or union value) field points to; None if absent."""
        pos = self.ref(slot, name)
        return self.r.table(pos, f"{self.where}'s {name}", self.depth + 1) if pos else None


def vector_at(r: Reader, pos: int, elem_size: int, where: str) -> Tuple[int, int]:
    """Verify the vector whose length prefix is at ``pos``; return (first element, count)."""
    r.align(pos, 4, where)
    r.span(pos, 4, where)
    n = U32.unpack_from(r.data, pos)[0]
    if n >= MAX_BUFFER_SIZE // elem_size:
        r.damaged(where, f"at byte {pos:,} declares {n:,} elements, more than a flatbuffer can hold")
    if pos + 4 + n * elem_size > r.size:
        r.outside(f"{where} ({n:,} elements of {elem_size} bytes from byte {pos:,})", pos,
                   pos + 4 + n * elem_size)
    r.span(pos, 4 + n * elem_size, where)
    return pos + 4, n


def string_at(r: Reader, pos: int, where: str) -> Tuple[int, int]:
    """Verify the string at ``pos`` (in bounds and null-terminated); return (first byte, length)."""
    start, n = vector_at(r, pos, 1, f"{where} string")
    r.span(start + n, 1, f"{where} string's terminating zero")
    if r.data[start + n] != 0:
        r.damaged(f"{where} string", f"at byte {pos:,} is not null-terminated")
    return start, n
