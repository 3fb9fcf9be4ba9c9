"""Low-level access to the .tflite flatbuffer: read named metadata buffers (with the ``flatbuffers``
runtime only) and rewrite a model with one named metadata buffer set (through the TFLite schema's
generated object API, shipped by ai-edge-litert and TensorFlow)."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Tuple

from ghostedge.errors import MetadataError

log = logging.getLogger(__name__)

TFLITE_IDENTIFIER = b"TFL3"
BUFFER_ALIGNMENT = 16  # what TensorFlow's converter uses for constant buffers

# Field slots (vtable offsets) of the tables read here, from TFLite's schema.fbs.
_MODEL_BUFFERS, _MODEL_METADATA = 12, 16
_METADATA_NAME, _METADATA_BUFFER = 4, 6
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 4, 6, 8


def require_flatbuffers() -> None:
    """Fail clearly where the ``flatbuffers`` package (a dependency of ai-edge-litert) is missing."""
    try:
        import flatbuffers  # noqa: F401
    except ImportError:
        raise MetadataError("Cannot read or write TFLite metadata", "the flatbuffers package is missing",
                            "pip install flatbuffers (ai-edge-litert installs it)") from None


def check_tflite_bytes(model: bytes, source: str = "the model") -> None:
    """Refuse bytes that are not a TFLite flatbuffer."""
    if len(model) < 8 or bytes(model[4:8]) != TFLITE_IDENTIFIER:
        raise MetadataError(f"{source} is not a .tflite model", "the TFL3 file identifier is missing",
                            "Pass a .tflite file written by `ghostedge convert` or a TFLite converter")


def _root_table(model: bytes) -> Any:
    require_flatbuffers()
    from flatbuffers import encode, number_types, table

    check_tflite_bytes(model)
    return table.Table(model, encode.Get(number_types.UOffsetTFlags.packer_type, model, 0))


def _tables(tab: Any, slot: int) -> List[Any]:
    from flatbuffers import table

    off = tab.Offset(slot)
    if not off:
        return []
    start = tab.Vector(off)
    return [table.Table(tab.Bytes, tab.Indirect(start + 4 * i)) for i in range(tab.VectorLen(off))]


def _buffer_bytes(model: bytes, buf: Any) -> bytes:
    from flatbuffers import number_types as nt

    off = buf.Offset(_BUFFER_OFFSET)
    ext_offset = buf.Get(nt.Uint64Flags, off + buf.Pos) if off else 0
    if ext_offset > 1:  # data stored after the flatbuffer (models over 2 GB)
        size_off = buf.Offset(_BUFFER_SIZE)
        size = buf.Get(nt.Uint64Flags, size_off + buf.Pos) if size_off else 0
        return bytes(model[ext_offset:ext_offset + size])
    off = buf.Offset(_BUFFER_DATA)
    if not off:
        return b""
    start = buf.Vector(off)
    return bytes(model[start:start + buf.VectorLen(off)])


def read_metadata_buffers(model: bytes) -> Dict[str, bytes]:
    """The model's named metadata buffers (e.g. "TFLITE_METADATA", "min_runtime_version")."""
    require_flatbuffers()
    from flatbuffers import number_types as nt

    try:
        root = _root_table(model)
        buffers = _tables(root, _MODEL_BUFFERS)
        found: Dict[str, bytes] = {}
        for entry in _tables(root, _MODEL_METADATA):
            name_off = entry.Offset(_METADATA_NAME)
            name = entry.String(name_off + entry.Pos).decode("utf-8", "replace") if name_off else ""
            idx_off = entry.Offset(_METADATA_BUFFER)
            index = entry.Get(nt.Uint32Flags, idx_off + entry.Pos) if idx_off else 0
            if 0 <= index < len(buffers):
                found[name] = _buffer_bytes(model, buffers[index])
        return found
    except MetadataError:
        raise
    except Exception as exc:  # a truncated or corrupt flatbuffer raises anything from struct/index
        raise MetadataError("Cannot read the model's flatbuffer", f"{type(exc).__name__}: {exc}",
                            "Check that the file is a complete .tflite model") from exc


def _schema() -> Any:
    from ghostedge.runtime import tflite_schema

    return tflite_schema(MetadataError, "Cannot write TFLite metadata")


def _pack_aligned_bytes(builder: Any, payload: bytes, alignment: int) -> int:
    """A uint8 vector whose data starts on an ``alignment``-byte boundary (as TF's converter does)."""
    builder.StartVector(1, len(payload), alignment)
    builder.head = builder.head - len(payload)
    builder.Bytes[builder.head:builder.head + len(payload)] = payload
    return builder.EndVector()


def _aligned_buffer_class(schema: Any) -> Any:
    class AlignedBufferT(schema.BufferT):  # type: ignore[misc,name-defined]
        """BufferT packed with 16-byte aligned data, so constants stay aligned after a rewrite."""

        def Pack(self, builder: Any) -> int:  # noqa: N802 - flatbuffers' method name
            data = None
            if self.data is not None:
                payload = self.data.tobytes() if hasattr(self.data, "tobytes") else bytes(self.data)
                data = _pack_aligned_bytes(builder, payload, BUFFER_ALIGNMENT)
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    return AlignedBufferT


def unpack_model(model: bytes) -> Tuple[Any, Any]:
    """The model as the schema's object API tree (``ModelT``), and the schema module."""
    check_tflite_bytes(model)
    schema = _schema()
    try:
        tree = schema.ModelT.InitFromPackedBuf(model, 0)
    except Exception as exc:
        raise MetadataError("Cannot read the model's flatbuffer", f"{type(exc).__name__}: {exc}",
                            "Check that the file is a complete .tflite model") from exc
    return tree, schema


def with_metadata_buffer(model: bytes, name: str, data: bytes) -> bytes:
    """Rewrite ``model`` with the metadata entry ``name`` pointing to ``data`` (replaced if present).

    Everything else (tensors, operators, constants, signatures, other metadata) is carried over
    unchanged; anything appended after the flatbuffer (an old associated-files zip) is dropped.
    """
    import flatbuffers

    tree, schema = unpack_model(model)
    if any(b.offset and b.offset > 1 for b in tree.buffers or []):
        raise MetadataError("Cannot add metadata to this model", "its constants are stored outside "
                            "the flatbuffer (a model over 2 GB)", "Export a model under 2 GB")
    aligned = _aligned_buffer_class(schema)
    for buf in tree.buffers or []:
        buf.__class__ = aligned
    new_buffer = aligned(data=data)
    tree.metadata = list(tree.metadata or [])
    tree.buffers = list(tree.buffers or [])
    for entry in tree.metadata:
        entry_name = entry.name.decode("utf-8") if isinstance(entry.name, bytes) else entry.name
        if entry_name == name:
            tree.buffers[entry.buffer] = new_buffer
            break
    else:
        tree.buffers.append(new_buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(tree.buffers) - 1
        tree.metadata.append(entry)
    builder = flatbuffers.Builder(len(model) + len(data) + 4096)
    builder.Finish(tree.Pack(builder), TFLITE_IDENTIFIER)
    out = bytes(builder.Output())
    log.debug("rewrote model with metadata %r: %d -> %d bytes", name, len(model), len(out))
    return out
