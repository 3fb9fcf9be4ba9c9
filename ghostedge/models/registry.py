"""Registry of GhostNet variants (names, widths, reference figures). Light: no torch import
until a model is built."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ghostedge.errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    """What ghostedge knows about one variant before building it."""

    name: str                      # registry name, e.g. "ghostnet_100"
    width: float                   # width multiplier
    family: str                    # "timm" (timm/Huawei layout) or "paddle" (PaddleClas layout)
    display_name: str              # name used in tables, as the seeds write it
    params: int                    # parameters at 1000 classes
    macs: int                      # multiply-accumulates at 224x224
    builder: str                   # "module:function(width=..., num_classes=...)"
    preprocessing: str = "torchvision"   # name in ghostedge.data.preprocess.PRESETS
    weight_sources: Tuple[str, ...] = ()  # named sources in ghostedge.models.weights
    reference: Dict[str, Any] = field(default_factory=dict)  # published top1/top5, latency
    notes: str = ""

    def build(self, num_classes: int = 1000) -> Any:
        """Build the torch module (random weights, eval mode)."""
        module_name, func_name = self.builder.split(":")
        builder = getattr(importlib.import_module(module_name), func_name)
        model = builder(width=self.width, num_classes=num_classes)
        model.eval()
        return model


_TIMM_BUILDER = "ghostedge.models.ghostnet:ghostnet"
_PADDLE_BUILDER = "ghostedge.models.paddle_ghostnet:paddle_ghostnet"

# Reference figures: top-1/top-5 from the seeds (PaddleClas GhostNet.md / timm results CSV),
# SD855 latency (ms, bs=1, threads 1/2/4) and storage (MB) from PaddleClas's table.
_SD855 = {
    0.5: {"sd855_ms": {1: 5.28, 2: 3.95, 4: 3.29}, "storage_mb": 10.0},
    1.0: {"sd855_ms": {1: 12.89, 2: 8.66, 4: 6.72}, "storage_mb": 20.0},
    1.3: {"sd855_ms": {1: 19.16, 2: 12.25, 4: 9.40}, "storage_mb": 29.0},
}

MODEL_SPECS: Dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a variant to the registry (names are unique)."""
    if spec.name in MODEL_SPECS:
        raise ValueError(f"model {spec.name} registered twice")
    MODEL_SPECS[spec.name] = spec
    return spec


register(ModelSpec(
    "ghostnet_050", 0.5, "timm", "GhostNet_x0_5", 2_587_292, 42_328_152, _TIMM_BUILDER,
    weight_sources=(), reference={"top1": 0.662, "top5": 0.866, **_SD855[0.5]},
    notes="timm ships no trained weights for 0.5x (ghostnet_050.untrained)"))
register(ModelSpec(
    "ghostnet_100", 1.0, "timm", "GhostNet_x1_0", 5_182_508, 141_150_512, _TIMM_BUILDER,
    weight_sources=("imagenet", "timm", "huawei"),
    reference={"top1": 0.7398, "top5": 0.9146, **_SD855[1.0]}))
register(ModelSpec(
    "ghostnet_130", 1.3, "timm", "GhostNet_x1_3", 7_358_820, 227_003_256, _TIMM_BUILDER,
    weight_sources=(), reference={"top1": 0.757, "top5": 0.927, **_SD855[1.3]},
    notes="timm ships no trained weights for 1.3x (ghostnet_130.untrained)"))


def get_spec(name: str) -> ModelSpec:
    """Look a variant up by name, with a helpful error listing the known names."""
    try:
        return MODEL_SPECS[name]
    except KeyError:
        known = ", ".join(sorted(MODEL_SPECS))
        raise ModelError(f"Unknown model {name!r}", f"known models are {known}",
                         "Run `ghostedge models` to list them") from None


def list_specs() -> List[ModelSpec]:
    """All registered variants in a stable order."""
    return [MODEL_SPECS[k] for k in sorted(MODEL_SPECS)]


def create_model(name: str, num_classes: int = 1000) -> Any:
    """Build a registered variant with random weights (eval mode)."""
    return get_spec(name).build(num_classes=num_classes)


def spec_for_display_name(display_name: str, family: Optional[str] = None) -> Optional[ModelSpec]:
    """Find a variant by its table name (e.g. "GhostNet_x1_0"), or None.

    Table names are shared by the timm and PaddleClas variants of a width (``GhostNet_x1_0`` is
    both ghostnet_100 and paddle_ghostnet_x1_0): with ``family`` ("timm" or "paddle") the variant of
    that family is returned when there is one; otherwise (or when that family has no such name)
    the timm variant, else the first registered match.
    """
    matches = [spec for spec in MODEL_SPECS.values() if spec.display_name == display_name]
    for wanted in (family, "timm"):
        found = next((spec for spec in matches if wanted and spec.family == wanted), None)
        if found is not None:
            return found
    return matches[0] if matches else None


# --- PaddleClas GhostNet (paddle owner; ghostedge.models.paddle_ghostnet / pdparams) ---------------
# PaddleClas's own architecture (SE C//4 with Linear layers and a clip gate, BN in the head), for its
# .pdparams checkpoints. Params/MACs computed with ghostedge.models.ghostnet.count_params/count_macs
# (PaddleClas's "Params(M)" 2.60/5.21/7.38 also counts BN running statistics). Top-1/top-5 as the
# seed (PaddleClas GhostNet.md) writes them; GhostNet_x1_3_ssld is a weights source of x1_3 whose
# own reference figures live in ghostedge.models.pdparams.PADDLE_SOURCES.
for _name, _width, _display, _params, _macs, _top1, _top5, _sources in (
        ("paddle_ghostnet_x0_5", 0.5, "GhostNet_x0_5", 2_588_232, 42_327_816, 0.668, 0.869,
         ("paddle:GhostNet_x0_5",)),
        ("paddle_ghostnet_x1_0", 1.0, "GhostNet_x1_0", 5_183_016, 141_149_744, 0.740, 0.916,
         ("paddle:GhostNet_x1_0",)),
        ("paddle_ghostnet_x1_3", 1.3, "GhostNet_x1_3", 7_352_622, 226_995_784, 0.757, 0.925,
         ("paddle:GhostNet_x1_3", "paddle:GhostNet_x1_3_ssld"))):
    register(ModelSpec(
        _name, _width, "paddle", _display, _params, _macs, _PADDLE_BUILDER, preprocessing="paddle",
        weight_sources=_sources, reference={"top1": _top1, "top5": _top5, **_SD855[_width]},
        notes="PaddleClas layout; weights: " + ", ".join(_sources)
              + " (or a .pdparams file); cv2 resize preprocessing"))
del _name, _width, _display, _params, _macs, _top1, _top5, _sources
# --- end of PaddleClas GhostNet block -------------------------------------------------------------
