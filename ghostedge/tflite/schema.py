"""Access to the TFLite flatbuffer schema: the generated module (shipped by ai-edge-litert, else
TensorFlow), enum names, and the object-API round trip (unpack a model, pack it again with 16-byte
aligned constant buffers, as TensorFlow's converter writes them)."""
from __future__ import annotations

from typing import Any, Dict

from ghostedge.errors import GhostEdgeError, InvalidModelError

TFLITE_IDENTIFIER = b"TFL3"
BUFFER_ALIGNMENT = 16


def tflite_schema(error: type = GhostEdgeError, action: str = "Cannot read .tflite flatbuffers") -> Any:
    """The generated TFLite schema module that ships with ai-edge-litert (never TensorFlow's: the
    light commands must not import TensorFlow)."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        raise error(action, "the TFLite schema module is missing (it ships with ai-edge-litert)",
                    "pip install ai-edge-litert") from None
    return schema


def require_flatbuffers(error: type = GhostEdgeError, action: str = "Cannot read or write .tflite files"
                        ) -> None:
    """Fail clearly where the ``flatbuffers`` package (a dependency of ai-edge-litert) is missing."""
    try:
        import flatbuffers  # noqa: F401  (only whether it imports)
    except ImportError:
        raise error(action, "the flatbuffers package is missing",
                    "pip install flatbuffers (ai-edge-litert installs it)") from None


def enum_names(enum_cls: Any) -> Dict[int, str]:
    """{value: NAME} of a generated flatbuffers enum class."""
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def check_identifier(data: bytes, source: str = "the model") -> None:
    """Refuse bytes without the TFL3 file identifier."""
    if len(data) < 8 or bytes(data[4:8]) != TFLITE_IDENTIFIER:
        raise InvalidModelError(f"{source} is not a .tflite model", "the TFL3 file identifier is missing",
                                "Pass a .tflite file written by `ghostedge convert` or a TFLite converter")


def unpack(data: bytes, error: type = GhostEdgeError, source: str = "the model") -> Any:
    """The model as the schema's object tree (``ModelT``)."""
    check_identifier(data, source)
    schema = tflite_schema(error)
    try:
        return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # a corrupt flatbuffer raises anything from struct/index
        raise InvalidModelError(f"Cannot read {source}'s flatbuffer", f"{type(exc).__name__}: {exc}",
                                "Check that the file is a complete .tflite model") from exc


def _pack_aligned_bytes(builder: Any, payload: bytes, alignment: int) -> int:
    """A uint8 vector whose data starts on an ``alignment``-byte boundary."""
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


def aligned_buffer(schema: Any, data: bytes) -> Any:
    """A new buffer object whose data will be packed 16-byte aligned."""
    return _aligned_buffer_class(schema)(data=data)


def pack(tree: Any, error: type = GhostEdgeError, size_hint: int = 1 << 20) -> bytes:
    """Serialize a ``ModelT`` tree (constant buffers 16-byte aligned) with the TFL3 identifier."""
    require_flatbuffers(error)
    import flatbuffers

    schema = tflite_schema(error)
    aligned = _aligned_buffer_class(schema)
    for buf in tree.buffers or []:
        if isinstance(buf, schema.BufferT):
            buf.__class__ = aligned
    builder = flatbuffers.Builder(size_hint)
    builder.Finish(tree.Pack(builder), TFLITE_IDENTIFIER)
    return bytes(builder.Output())
