"""Turn a ``--weights`` argument into a ready torch model.

``weights`` is a local checkpoint (.pth/.pt/.bin state dict, plain or wrapped in ``state_dict`` /
``model`` / ``module.`` forms, or .safetensors), an http(s) URL (optionally ``#sha256=<hex>``), a
named source (``imagenet``, ``timm``, ``huawei``; ``paddle:*`` and ``*.pdparams`` go to
``ghostedge.models.pdparams``) or ``random`` (seeded: the same network every run). Pickles load
with ``weights_only=True`` only; an unreadable download is removed from the cache. Reading
checkpoint files is ``ghostedge.models.checkpoints`` (its public names are re-exported here).
Paddle inference models (.pdmodel/.pdiparams, their folders, ``*_infer.tar``) are refused with an
error that says what to pass instead. ``default_model_for(weights)`` is the registry model for
commands whose ``--model`` is not given.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ghostedge.fileio import sha256_file
from ghostedge.errors import DownloadError, GhostEdgeError, ModelError, WeightsError
from ghostedge.models import hub
from ghostedge.models.checkpoints import (checkpoint_file, read_cached_checkpoint, read_checkpoint,
                                          refuse_paddle_inference)
from ghostedge.models.registry import ModelSpec, get_spec, list_specs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightSource:
    """A file behind a named weights source."""

    url: str
    sha256: Optional[str]
    description: str


_TIMM_HF = WeightSource(
    "https://huggingface.co/timm/ghostnet_100.in1k/resolve/main/model.safetensors", None,
    "timm ghostnet_100.in1k on the Hugging Face hub (Apache-2.0; Huawei's weights, top-1 73.98)")
_HUAWEI = WeightSource(
    "https://github.com/huawei-noah/ghostnet/raw/master/ghostnet_pytorch/models/state_dict_73.98.pth",
    None, "Huawei Noah's Ark official GhostNet 1.0x state_dict_73.98.pth (top-1 73.98)")

# Named sources, tried in order (the first that downloads and loads wins).
NAMED_SOURCES: Dict[str, Tuple[WeightSource, ...]] = {
    "imagenet": (_TIMM_HF, _HUAWEI),
    "timm": (_TIMM_HF,),
    "huawei": (_HUAWEI,),
}
_SHOWN = 3  # keys named per category in fit errors
RANDOM_SEED = 0  # torch seed of ``--weights random`` (the same network every run)


@dataclass
class LoadedModel:
    """A torch model in eval mode with what is known about its weights."""

    model: Any
    spec: ModelSpec
    weights_info: Dict[str, Any] = field(default_factory=dict)
    preprocessing: str = "torchvision"


def load_model(name: str, weights: str, num_classes: Optional[int] = None,
               cache_dir: Optional[Path] = None) -> LoadedModel:
    """Build registry model ``name`` and load ``weights`` into it (see module docstring).

    ``num_classes=None`` takes the class count from the checkpoint (1000 for ``random``).
    """
    spec = get_spec(name)
    weights = (weights or "").strip()
    if num_classes is not None and num_classes < 1:
        raise WeightsError(f"Invalid number of classes {num_classes}", "it must be at least 1")
    if not weights:
        raise WeightsError("No weights given", "--weights is empty",
                           "Pass a checkpoint file, a URL, a named source (imagenet) or random")
    if weights == "random":
        return _random_model(spec, num_classes)
    if weights.startswith("paddle:") or weights.lower().endswith(".pdparams"):
        state, info = _paddle_state(weights, spec, cache_dir)
    elif weights in NAMED_SOURCES:
        state, info = _named_state(weights, spec, cache_dir)
    elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", weights):
        path, record = hub.fetch(weights, cache_dir=cache_dir)
        state, notes = read_cached_checkpoint(path)  # an unreadable download leaves the cache
        info = {"kind": "url", "source": weights, "path": str(path), "sha256": record["sha256"],
                "url": record["url"], "sha256_verified": record.get("sha256_verified", False),
                "notes": notes}
    else:
        local = _local_path(weights)
        refuse_paddle_inference(local)
        path = checkpoint_file(local)
        state, notes = read_checkpoint(path)
        info = {"kind": "file", "source": weights, "path": str(path), "sha256": sha256_file(path),
                "notes": notes}
    model = _fit_and_load(spec, state, num_classes, info.get("path") or weights)
    info["num_classes"] = _classifier(model)[1].out_features
    preprocessing = info.pop("preprocessing", None) or spec.preprocessing
    info["preprocessing"] = preprocessing
    log.info("loaded %s weights into %s (%d classes)", info["kind"], spec.name, info["num_classes"])
    return LoadedModel(model, spec, info, preprocessing)


def default_model_for(weights: Optional[str]) -> str:
    """The registry model that fits ``weights``, for commands whose ``--model`` is not given.

    ``paddle:<name>`` → its ``paddle_ghostnet_*`` model; a ``.pdparams`` file → the
    ``paddle_ghostnet_*`` model of its width (told from its stem conv: the file is unpickled, which
    the load that follows does anyway); anything else, or a width that cannot be told,
    ``ghostnet_100`` (whose load then says what is wrong). Never raises.
    """
    weights = (weights or "").strip()
    from ghostedge.models import pdparams

    if pdparams.is_paddle_weights(weights):
        try:
            found = pdparams.model_for_weights(weights)
        except (GhostEdgeError, OSError) as exc:
            log.debug("cannot tell the model of %s: %s", weights, exc)
            found = None
        if found is not None:
            return found
    return "ghostnet_100"


def _random_model(spec: ModelSpec, num_classes: Optional[int]) -> LoadedModel:
    import torch

    from ghostedge.models.bn_recalib import recalibrate_batchnorm, spread_logits

    with torch.random.fork_rng(devices=[]):  # seeded, and the caller's global RNG state untouched
        torch.manual_seed(RANDOM_SEED)
        model = spread_logits(recalibrate_batchnorm(spec.build(num_classes=num_classes or 1000)))
    log.warning("%s has random weights (BatchNorm statistics re-estimated on the bundled photos): "
                "it is untrained and its predictions are meaningless", spec.name)
    info = {"kind": "random", "source": "random", "path": None, "sha256": None,
            "num_classes": num_classes or 1000, "preprocessing": spec.preprocessing,
            "seed": RANDOM_SEED,
            "notes": [f"untrained: random init (torch seed {RANDOM_SEED}), BatchNorm statistics re-estimated on bundled photos, "
                      "classifier scaled to a trained network's logit spread (std 3)"]}
    return LoadedModel(model, spec, info, spec.preprocessing)


def _local_path(weights: str) -> Path:
    path = Path(weights).expanduser()
    if path.exists():
        return path
    if "/" in weights or "\\" in weights or path.suffix:
        raise WeightsError(f"Weights file {weights} does not exist", "no such file",
                           "Check the path, or pass a URL, a named source (imagenet) or random")
    known = ", ".join([*NAMED_SOURCES, "random", "paddle:<name>"])
    raise WeightsError(f"Unknown weights {weights!r}",
                       f"it is not a file, a URL or a named source ({known})",
                       "Run `ghostedge models` to see each model's sources")


def _other_family_hint(spec: ModelSpec, family: str) -> str:
    twins = [s for s in list_specs() if s.family == family and s.width == spec.width]
    if twins:
        src = twins[0].weight_sources[0] if twins[0].weight_sources else "..."
        return f"Use --model {twins[0].name} --weights {src}"
    return "See `ghostedge models` for the variants that have trained weights"


def _named_state(name: str, spec: ModelSpec, cache_dir: Optional[Path]):
    if spec.family == "paddle" and name in spec.weight_sources:
        return _paddle_state(name, spec, cache_dir)
    if name not in spec.weight_sources:
        available = ", ".join(spec.weight_sources) or "none"
        raise WeightsError(
            f"{spec.name} has no {name!r} weights",
            f"its named sources are: {available}; timm and Huawei publish trained weights only for "
            f"GhostNet 1.0x (ghostnet_100), PaddleClas also for 0.5x and 1.3x",
            _other_family_hint(spec, "paddle") + ", or pass your own checkpoint, or random")
    failures: List[Tuple[WeightSource, Any]] = []
    for source in NAMED_SOURCES[name]:
        try:
            path, record = hub.fetch(source.url, source.sha256, cache_dir)
            state, notes = read_cached_checkpoint(path)
        except (DownloadError, WeightsError) as exc:
            log.info("weights source %s failed: %s", source.url, exc.one_line())
            failures.append((source, exc))
            continue
        if failures:
            log.warning("%s failed (%s); using the fallback %s", failures[0][0].url,
                        failures[0][1].why or failures[0][1].what, source.url)
        info = {"kind": "named", "source": name, "path": str(path), "sha256": record["sha256"],
                "url": record["url"], "sha256_verified": bool(source.sha256),
                "description": source.description, "notes": notes}
        return state, info
    places = " or ".join(f"{hub.cache_path_for_url(s.url, cache_dir)}" for s, _ in failures)
    raise DownloadError(f"Cannot get the {name!r} weights for {spec.name}",
                        "; ".join(f"{s.url}: {e.why or e.what}" for s, e in failures),
                        f"Put the file at {places} (or pass a local file with --weights)")


def _paddle_state(weights: str, spec: ModelSpec, cache_dir: Optional[Path]):
    from ghostedge.models import pdparams

    if spec.family != "paddle":
        # model_for_weights reads a file's stem width (its read errors are the real problem then)
        target = pdparams.model_for_weights(weights)
        if target is not None or not weights.lower().startswith("paddle:"):
            raise WeightsError(
                f"{weights} holds PaddleClas weights, which do not fit {spec.name}",
                "PaddleClas GhostNet differs from the timm/Huawei layout (SE widths, gate, head)",
                f"Use --model {target}" if target else _other_family_hint(spec, "paddle"))
        # unknown paddle:<name>: load_named_or_file names the known ones
    state, info = pdparams.load_named_or_file(weights, spec, cache_dir)
    return state, {"kind": "named" if weights.startswith("paddle:") else "file", "source": weights,
                   **info}


def _classifier(model) -> Tuple[str, Any]:
    import torch

    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ModelError("Model has no Linear classifier", "unexpected architecture")
    return linears[-1]


def _fit_and_load(spec: ModelSpec, state: Dict[str, Any], num_classes: Optional[int], label: str):
    model = spec.build(num_classes=num_classes or 1000)
    head_name, head = _classifier(model)
    ckpt_head = state.get(f"{head_name}.weight")
    if ckpt_head is not None and ckpt_head.dim() == 2 and ckpt_head.shape[1] == head.in_features:
        classes = int(ckpt_head.shape[0])
        if num_classes is not None and classes != num_classes:
            raise WeightsError(f"Checkpoint {label} has {classes} classes, not {num_classes}",
                               f"its {head_name}.weight is {tuple(ckpt_head.shape)}",
                               "Omit --num-classes to take the class count from the checkpoint")
        if classes != head.out_features:
            model = spec.build(num_classes=classes)
    check_fit(model, state, spec, label)
    model.load_state_dict(state, strict=False)
    return model.eval()


def check_fit(model, state: Dict[str, Any], spec: ModelSpec, label: str = "checkpoint") -> None:
    """Raise WeightsError naming missing / unexpected / mis-shaped keys (BatchNorm
    ``num_batches_tracked`` counters may be absent). Fills those counters in ``state``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    for k in [k for k in missing if k.endswith("num_batches_tracked")]:
        state[k] = expected[k].clone()
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    misshaped = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in expected.items()
                 if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if not (missing or unexpected or misshaped):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({_first(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({_first(unexpected)})")
    if misshaped:
        shown = ", ".join(f"{k}: checkpoint {list(a)} vs model {list(b)}" for k, a, b in misshaped[:_SHOWN])
        parts.append(f"{len(misshaped)} mis-shaped ({shown}{', ...' if len(misshaped) > _SHOWN else ''})")
    raise WeightsError(f"Checkpoint {label} does not fit {spec.name}", "; ".join(parts),
                       _guess_checkpoint(state, spec))


def _first(keys: List[str]) -> str:
    return ", ".join(keys[:_SHOWN]) + (", ..." if len(keys) > _SHOWN else "")


def _guess_checkpoint(state: Dict[str, Any], spec: ModelSpec) -> str:
    """What the checkpoint probably is, as advice."""
    from ghostedge.models.ghostnet import make_divisible

    if any("_ghostbottleneck_" in k for k in state):
        hint = _other_family_hint(spec, "paddle")
        return "It looks like a PaddleClas GhostNet: " + hint[0].lower() + hint[1:]
    stem = state.get("conv_stem.weight")
    if stem is not None and stem.dim() == 4 and "blocks.9.0.conv.weight" in state:
        for other in list_specs():
            if other.family == "timm" and make_divisible(16 * other.width, 4) == stem.shape[0]:
                if other.name != spec.name:
                    return f"It looks like a {other.name} (width {other.width}) checkpoint: use --model {other.name}"
        return "It looks like a GhostNet of another configuration"
    return "It is not a GhostNet checkpoint in the timm/Huawei layout (another network?)"
