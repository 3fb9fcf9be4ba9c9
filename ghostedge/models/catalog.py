"""The catalog behind ``ghostedge models``: the registered GhostNet variants, their sizes, weight
sources and reference figures, and the named weight sources (``--weights``) with their own
figures (``paddle:GhostNet_x1_3_ssld`` is not x1_3's plain checkpoint)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


def _cached_sources(spec: Any, cache_dir: Any) -> List[str]:
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    cached = []
    for name in spec.weight_sources:
        sources = NAMED_SOURCES.get(name, ())
        if any(hub.cache_path_for_url(s.url, cache_dir).is_file() for s in sources):
            cached.append(name)
    if any(name.startswith("paddle:") for name in spec.weight_sources):
        from ghostedge.models.pdparams import source_rows as paddle_rows

        cached += [r["source"] for r in paddle_rows(cache_dir)
                   if r.get("cached") and r["source"] in spec.weight_sources]
    return cached


def model_rows(cache_dir: Any = None) -> List[Dict[str, Any]]:
    """One JSON-friendly record per registered variant."""
    from ghostedge.models.registry import list_specs

    rows = []
    for spec in list_specs():
        ref = dict(spec.reference)
        rows.append({
            "name": spec.name, "display_name": spec.display_name, "family": spec.family,
            "width": spec.width, "params": spec.params, "macs": spec.macs,
            "macs_m": round(spec.macs / 1e6, 1),
            "weight_sources": list(spec.weight_sources), "cached_sources": _cached_sources(spec, cache_dir),
            "preprocessing": spec.preprocessing,
            "reference": _reference(ref),
            "notes": spec.notes,
        })
    return rows


def _reference(ref: Dict[str, Any]) -> Dict[str, Any]:
    return {"top1": ref.get("top1"), "top5": ref.get("top5"),
            "sd855_ms": {str(k): v for k, v in (ref.get("sd855_ms") or {}).items()},
            "storage_mb": ref.get("storage_mb")}


def source_rows(cache_dir: Any = None) -> List[Dict[str, Any]]:
    """One JSON-friendly record per named weights source: the model it fits, its table name,
    preprocessing, its own reference figures and whether it is already in the cache."""
    from ghostedge.models import hub
    from ghostedge.models.registry import list_specs
    from ghostedge.models.weights import NAMED_SOURCES

    rows = []
    for name, sources in NAMED_SOURCES.items():
        spec = next((s for s in list_specs() if name in s.weight_sources), None)
        if spec is None:
            continue
        rows.append({
            "source": name, "model": spec.name, "display_name": spec.display_name,
            "urls": [s.url for s in sources], "preprocessing": spec.preprocessing,
            "reference": _reference(spec.reference),
            "cached": any(hub.cache_path_for_url(s.url, cache_dir).is_file() for s in sources)})
    from ghostedge.models import pdparams

    for r in pdparams.source_rows(cache_dir):
        rows.append({"source": r["source"], "model": r["model"], "display_name": r["display_name"],
                     "urls": [r["url"]], "preprocessing": r["preprocessing"],
                     "reference": _reference(r["reference"]), "cached": bool(r["cached"])})
    return rows


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}" if isinstance(value, (int, float)) else "-"


def _columns(lines: List[List[str]]) -> List[str]:
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return text


def _ms(ref: Dict[str, Any]) -> str:
    ms = ref["sd855_ms"]
    return "/".join(f"{ms[t]:.2f}" for t in ("1", "2", "4") if t in ms) or "-"


def render_sources(sources: List[Dict[str, Any]]) -> List[str]:
    """The named weights sources, one line each (``*`` = already in the cache)."""
    lines = [["weights (--weights)", "model", "table name", "preprocessing", "top1", "top5",
              "SD855 ms 1/2/4 thr"]]
    for r in sources:
        ref = r["reference"]
        lines.append([r["source"] + ("*" if r["cached"] else ""), r["model"], r["display_name"],
                      r["preprocessing"], _pct(ref["top1"]), _pct(ref["top5"]), _ms(ref)])
    return _columns(lines)


def render_table(rows: List[Dict[str, Any]], sources: Optional[List[Dict[str, Any]]] = None) -> str:
    """The human table (models, then the named weights sources when given)."""
    header = ["model", "table name", "width", "params(M)", "MACs(M)", "weights (--weights)",
              "preprocessing", "top1", "top5", "SD855 ms 1/2/4 thr"]
    lines = [header]
    for r in rows:
        named = [s + ("*" if s in r["cached_sources"] else "") for s in r["weight_sources"]]
        lines.append([
            r["name"], r["display_name"], f"{r['width']:g}", f"{r['params'] / 1e6:.2f}",
            f"{r['macs_m']:.1f}", ", ".join(named) or "(none: file, URL or random)",
            r["preprocessing"], _pct(r["reference"]["top1"]), _pct(r["reference"]["top5"]),
            _ms(r["reference"])])
    text = _columns(lines)
    if sources:
        text += ["", *render_sources(sources)]
    text += ["",
             "weights: named sources (* = already in the cache); every model also takes a local "
             ".pth/.pt/.bin/.safetensors file (paddle_* models: .pdparams), an http(s) URL "
             "(#sha256=<hex> pins it) or `random`.",
             "top1/top5: published ImageNet-1k figures (each named source its own); SD855: "
             "PaddleClas (Paddle Lite, FP32, bs=1)."]
    return "\n".join(text)


@dataclass
class ModelCatalog:
    """Every registered variant and every named weights source."""

    models: List[Dict[str, Any]] = field(default_factory=list)
    sources: List[Dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge models --json`` prints."""
        return {"models": self.models, "sources": self.sources}

    def table(self) -> str:
        return render_table(self.models, self.sources)


def list_models(cache_dir: Any = None) -> ModelCatalog:
    """The GhostNet variants (width, params, MACs, weight sources, preprocessing, published
    top-1/top-5 and SD855 latency) and the named weights sources (``*`` marks cached ones)."""
    return ModelCatalog(model_rows(cache_dir), source_rows(cache_dir))
