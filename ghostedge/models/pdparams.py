"""PaddleClas ``.pdparams`` checkpoints without Paddle: the name/layout mapping onto
``ghostedge.models.paddle_ghostnet`` and the named sources ``paddle:GhostNet_*``.

Files are read safely by ``ghostedge.models.paddle_pickle`` (a restricted unpickler that admits
plain containers and numpy arrays only, and names files that are plainly not a ``.pdparams``);
its names are re-exported here. Imports torch only inside ``to_torch_state_dict`` /
``load_named_or_file``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ghostedge.errors import GhostEdgeError, ModelError, WeightsError
from ghostedge.models.paddle_pickle import read_pdparams

log = logging.getLogger(__name__)

_URL = "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/{}.pdparams"
_SD855 = {0.5: {1: 5.28, 2: 3.95, 4: 3.29}, 1.0: {1: 12.89, 2: 8.66, 4: 6.72},
          1.3: {1: 19.16, 2: 12.25, 4: 9.40}}


@dataclass(frozen=True)
class PaddleSource:
    """A PaddleClas checkpoint published at a fixed URL (no SHA-256 is published for any)."""

    name: str                       # as PaddleClas and the seed tables write it
    width: float
    url: str
    sha256: Optional[str] = None    # None: recorded on first download (hub provenance)
    reference: Dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The ghostedge registry name of the matching architecture."""
        return _model_for(self.width)


def _model_for(width: float) -> str:
    """Registry name of the PaddleClas-layout GhostNet at ``width`` (1.3 → paddle_ghostnet_x1_3)."""
    return "paddle_ghostnet_x" + f"{width:.1f}".replace(".", "_")


def _source(name: str, width: float, file_stem: str, top1: float, top5: float,
            sd855: Dict[int, float], storage_mb: float) -> PaddleSource:
    ref = {"top1": top1, "top5": top5, "sd855_ms": sd855, "storage_mb": storage_mb}
    return PaddleSource(name, width, _URL.format(file_stem), None, ref)


# Reference figures as the seed (PaddleClas GhostNet.md) writes them; the ssld row's SD855 times
# differ from the plain x1_3 row in GhostNet.md (17.85 / 10.18 ms at 2 / 4 threads).
PADDLE_SOURCES: Dict[str, PaddleSource] = {s.name: s for s in (
    _source("GhostNet_x0_5", 0.5, "GhostNet_x0_5_pretrained", 0.668, 0.869, _SD855[0.5], 10.0),
    _source("GhostNet_x1_0", 1.0, "GhostNet_x1_0_pretrained", 0.740, 0.916, _SD855[1.0], 20.0),
    _source("GhostNet_x1_3", 1.3, "GhostNet_x1_3_pretrained", 0.757, 0.925, _SD855[1.3], 29.0),
    _source("GhostNet_x1_3_ssld", 1.3, "GhostNet_x1_3_ssld_pretrained", 0.794, 0.945,
            {1: 19.16, 2: 17.85, 4: 10.18}, 29.0),
)}

_STEM_WIDTH = {8: 0.5, 16: 1.0, 20: 1.3}   # conv1 output channels → width


def is_paddle_weights(weights: str) -> bool:
    """True for ``paddle:<name>`` sources and ``*.pdparams`` files (what this module loads)."""
    return weights.lower().startswith("paddle:") or weights.lower().endswith(".pdparams")


def model_for_weights(weights: str) -> Optional[str]:
    """The registry model that fits ``paddle:<name>`` or a PaddleClas GhostNet ``.pdparams`` file
    (from its stem conv width), for commands whose --model is not given; None when unknown."""
    if weights.lower().startswith("paddle:"):
        name = re.sub(r"_pretrained$", "", weights.split(":", 1)[1].strip().lower())
        source = {k.lower(): v for k, v in PADDLE_SOURCES.items()}.get(name)
        return source.model if source else None
    width = guess_width(read_pdparams(weights)) if weights.lower().endswith(".pdparams") else None
    return _model_for(width) if width is not None else None


def source_rows(cache_dir: Any = None) -> List[Dict[str, Any]]:
    """One record per named source ``paddle:<name>`` (model, table name, URL, reference, cached)."""
    from ghostedge.models import hub

    return [{"source": f"paddle:{s.name}", "model": s.model, "display_name": s.name, "url": s.url,
             "preprocessing": "paddle", "reference": dict(s.reference),
             "cached": hub.cache_path_for_url(s.url, cache_dir).is_file()}
            for s in PADDLE_SOURCES.values()]


def _few(names: List[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def guess_width(arrays: Dict[str, np.ndarray]) -> Optional[float]:
    """Width of a PaddleClas GhostNet checkpoint from its stem conv (8/16/20 channels)."""
    stem = arrays.get("conv1._conv.weight", arrays.get("conv1_weights"))
    return _STEM_WIDTH.get(int(stem.shape[0])) if stem is not None and stem.ndim == 4 else None


def num_classes_of(arrays: Dict[str, np.ndarray]) -> Optional[int]:
    """Classes of the checkpoint's classifier (``fc_1.bias``), if it has one."""
    bias = arrays.get("fc_1.bias", arrays.get("fc_1_offset"))
    return int(bias.shape[0]) if bias is not None and bias.ndim == 1 else None


def to_torch_state_dict(arrays: Dict[str, np.ndarray], model: Any, label: str = "checkpoint"
                        ) -> Dict[str, Any]:
    """Map PaddleClas names/layouts onto ``model`` (a PaddleGhostNet). Raises WeightsError naming
    every missing, unexpected and mis-shaped key."""
    import torch

    from ghostedge.models.paddle_ghostnet import paddle_param_name, paddle_structured_name

    by_param_name = any(k.endswith(("_weights", "_offset", "_bn_scale")) for k in arrays) and \
        "conv1._conv.weight" not in arrays
    out: Dict[str, Any] = {}
    used, missing, mismatched = set(), [], []
    for tkey, tval in model.state_dict().items():
        if tkey.endswith("num_batches_tracked"):
            out[tkey] = torch.zeros((), dtype=torch.long)
            continue
        pkey, transpose = paddle_structured_name(tkey)
        if by_param_name:
            pkey = paddle_param_name(pkey)
        if pkey not in arrays:
            missing.append(f"{pkey} (for {tkey})")
            continue
        used.add(pkey)
        arr = arrays[pkey].T if transpose else arrays[pkey]
        if tuple(arr.shape) != tuple(tval.shape):
            shown = f"{list(arrays[pkey].shape)}" + (" transposed" if transpose else "")
            mismatched.append(f"{pkey} is {shown}, model {tkey} needs {list(tval.shape)}")
            continue
        out[tkey] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    unexpected = sorted(set(arrays) - used)
    if missing or mismatched or unexpected:
        problems = [f"{len(found)} {what}: {_few(found, 3 if what[0] == 's' else 4)}" for what, found in (
            ("shape mismatches", mismatched), ("missing keys", missing), ("unexpected keys", unexpected))
            if found]
        width = guess_width(arrays)
        fix = "Pass a PaddleClas GhostNet .pdparams that matches --model"
        if width is not None and width != getattr(model, "width", None):
            fix = f"The file looks like GhostNet width {width}: use --model {_model_for(width)}"
        raise WeightsError(f"{label} does not fit {type(model).__name__} width "
                           f"{getattr(model, 'width', '?')}", "; ".join(problems), fix)
    return out


def _resolve_named(weights: str, spec: Any) -> PaddleSource:
    name = weights.split(":", 1)[1].strip()
    lookup = {k.lower(): v for k, v in PADDLE_SOURCES.items()}
    source = lookup.get(name.lower()) or lookup.get(re.sub(r"_pretrained$", "", name.lower()))
    if source is None:
        raise WeightsError(f"Unknown PaddleClas weights {weights!r}",
                           f"known: {', '.join('paddle:' + k for k in PADDLE_SOURCES)}",
                           "Pick one of those, or pass a .pdparams file")
    if spec.family != "paddle" or abs(spec.width - source.width) > 1e-6:
        raise ModelError(f"paddle:{source.name} does not fit model {spec.name}",
                         f"it is PaddleClas's GhostNet width {source.width} "
                         f"(PaddleClas layout), {spec.name} is {spec.family} width {spec.width}",
                         f"Use --model {source.model}")
    return source


def load_named_or_file(weights: str, spec: Any, cache_dir: Any = None
                       ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """``paddle:<name>`` or a ``.pdparams`` path → (state dict for ``spec``'s torch model, info).

    ``info`` has ``source``, ``display_name`` (e.g. ``GhostNet_x1_3_ssld``, for tables),
    ``preprocessing`` ("paddle"), ``num_classes``, ``path``, ``sha256`` and, for named sources,
    ``url``, ``sha256_verified`` (False: none is published, the hash is recorded on first
    download) and ``reference`` (seed top-1/top-5, SD855 ms, storage MB).
    """
    from ghostedge.fileio import sha256_file

    info: Dict[str, Any] = {"format": "pdparams", "preprocessing": "paddle", "family": "paddle"}
    named = weights.lower().startswith("paddle:")
    source = _resolve_named(weights, spec) if named else None
    if spec.family != "paddle":
        raise ModelError(f"{weights} is a PaddleClas checkpoint but {spec.name} has the "
                         f"{spec.family} layout", "the two GhostNets differ (SE width and gate, head)",
                         f"Use --model {_model_for(spec.width)}")
    if source is not None:
        from ghostedge.models import hub

        path, record = hub.fetch(source.url, source.sha256, cache_dir)
        if not source.sha256 and not record.get("cached"):
            log.warning("PaddleClas publishes no SHA-256 for %s: recorded %s on this first download "
                        "(%s); later runs check the cached file against it", source.url,
                        record.get("sha256"), hub.provenance_path(path))
        info.update(source=f"paddle:{source.name}", display_name=source.name, url=source.url,
                    sha256=record.get("sha256"), sha256_verified=bool(source.sha256),
                    reference=dict(source.reference), path=str(path))
        label = f"paddle:{source.name} ({path})"
    else:
        path = Path(weights).expanduser()
        label = str(path)
        info.update(source=str(path), path=str(path), display_name=_display_name_for_file(path, spec))
        if info["display_name"] in PADDLE_SOURCES:
            info["reference"] = dict(PADDLE_SOURCES[info["display_name"]].reference)
    try:
        arrays = read_pdparams(path)
    except GhostEdgeError as exc:
        if source is None:
            raise
        from ghostedge.models import hub

        failed = hub.evict(path)  # a broken download must not be reused forever
        fix = ("It was removed from the cache; rerun to download it again" if failed is None
               else f"Delete {path} and its .provenance.json by hand, then rerun")
        raise WeightsError(exc.what, exc.why, fix) from exc
    if "sha256" not in info:
        info["sha256"] = sha256_file(path)
    classes = num_classes_of(arrays) or 1000
    model = spec.build(num_classes=classes)
    state = to_torch_state_dict(arrays, model, label)
    info.update(num_classes=classes, tensors=len(arrays))
    log.info("loaded %s: %d arrays mapped onto %s", label, len(arrays), spec.name)
    return state, info


def _display_name_for_file(path: Path, spec: Any) -> str:
    """``GhostNet_x1_3_ssld_pretrained.pdparams`` → ``GhostNet_x1_3_ssld`` when the width fits."""
    stem = re.sub(r"(_pretrained)?\.pdparams$", "", path.name, flags=re.I).lower()
    source = {k.lower(): v for k, v in PADDLE_SOURCES.items()}.get(stem)
    return source.name if source and abs(source.width - spec.width) < 1e-6 else spec.display_name
