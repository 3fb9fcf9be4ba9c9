"""ghostedge: GhostNet from PyTorch to phones (TFLite FP32/FP16/INT8, verified and benchmarked)."""
from __future__ import annotations

__version__ = "0.1.0"

from ghostedge.errors import GhostEdgeError  # noqa: E402  (light, no heavy imports)

__all__ = ["__version__", "GhostEdgeError"]
