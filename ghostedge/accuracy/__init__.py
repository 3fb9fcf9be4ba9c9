"""Top-1/top-5 of TFLite (FP32/FP16/INT8) and PyTorch GhostNets over labeled image folders, and
the seed-format accuracy table. Nothing heavy at import."""
