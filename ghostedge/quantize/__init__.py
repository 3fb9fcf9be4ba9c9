"""Full-integer INT8: calibration sets, quantization with TFLiteConverter, the integer check and
the INT8-vs-FP32 fidelity report (with a per-layer error table). Nothing heavy at import."""
