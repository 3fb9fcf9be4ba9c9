"""GhostNet definitions, variants and weight loading. Importing this package does not import torch."""
from ghostedge.models.registry import ModelSpec, create_model, get_spec, list_specs

__all__ = ["ModelSpec", "create_model", "get_spec", "list_specs"]
