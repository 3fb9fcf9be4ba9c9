"""torch → ONNX → onnx2tf → verified TFLite (FP32, FP16; INT8 through ``ghostedge.quantize``).

Entry point: ``ghostedge.convert.pipeline.convert``. Importing this package loads nothing heavy.
"""
