"""Small rewrites of a .tflite flatbuffer: name the single input/output and set the
``serving_default`` signature; set a named metadata buffer. Weights and operators are untouched."""
from __future__ import annotations

import logging

from ghostedge.errors import ConversionError, MetadataError
from ghostedge.tflite.schema import aligned_buffer, pack, tflite_schema, unpack

log = logging.getLogger(__name__)

SIGNATURE_KEY = "serving_default"


def _text(raw: object) -> str:
    return raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)


def name_io(model_bytes: bytes, input_name: str, output_name: str) -> bytes:
    """Rename the single input/output tensors and set one ``serving_default`` signature mapping
    ``input_name`` → ``output_name``. A model with more than one subgraph, input or output is
    refused (GhostNet has one of each)."""
    schema = tflite_schema(ConversionError)
    model = unpack(model_bytes, ConversionError, "the converted model")
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

    def tensor_map(name: str, index: int) -> object:
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
    return pack(model, ConversionError, len(model_bytes) + 4096)


def with_metadata_buffer(model_bytes: bytes, name: str, data: bytes) -> bytes:
    """Rewrite ``model_bytes`` with the metadata entry ``name`` pointing to ``data`` (replaced if
    present). Everything else is carried over; anything appended after the flatbuffer (an old
    associated-files zip) is dropped."""
    schema = tflite_schema(MetadataError, "Cannot write TFLite metadata")
    tree = unpack(model_bytes, MetadataError)
    if any(b.offset and b.offset > 1 for b in tree.buffers or []):
        raise MetadataError("Cannot add metadata to this model", "its constants are stored outside "
                            "the flatbuffer (a model over 2 GB)", "Export a model under 2 GB")
    new_buffer = aligned_buffer(schema, data)
    tree.metadata = list(tree.metadata or [])
    tree.buffers = list(tree.buffers or [])
    for entry in tree.metadata:
        if _text(entry.name) == name:
            tree.buffers[entry.buffer] = new_buffer
            break
    else:
        tree.buffers.append(new_buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(tree.buffers) - 1
        tree.metadata.append(entry)
    out = pack(tree, MetadataError, len(model_bytes) + len(data) + 4096)
    log.debug("rewrote model with metadata %r: %d -> %d bytes", name, len(model_bytes), len(out))
    return out
