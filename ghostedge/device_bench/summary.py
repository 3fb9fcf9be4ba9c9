"""From saved run records to the seed table's numbers: per (model, threads) statistics, storage
sizes, and — on an SD855 — PaddleClas's published figures beside ours."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.device_bench.stats import HIGH_CV, cell_stats
from ghostedge.device_bench.store import Session

log = logging.getLogger(__name__)

SUMMARY_SCHEMA = "ghostedge.bench.summary/1"
REFERENCE_SOURCE = "PaddleClas, Paddle Lite"


def _reference_rows(rows: Sequence[Dict[str, Any]], threads: Sequence[int]) -> List[Dict[str, Any]]:
    """PaddleClas's SD855 figures for each measured model: its weights source's own (from the
    report beside the file, e.g. GhostNet_x1_3_ssld: 19.16/17.85/10.18 ms) when it has them, else
    its registry variant's. Without any known model: the seed's headline row (GhostNet_x1_0).
    Those figures are ImageNet-1k models': rows whose class count is not 1000 (or unknown) get none."""
    from ghostedge.models import registry

    wanted: Dict[str, tuple] = {}   # table name -> (registry name, reference dict)
    for row in rows:
        if not row.get("imagenet"):
            continue
        name = row.get("registry_name")
        spec = registry.MODEL_SPECS.get(name) if name else None
        own = row.get("reference") if isinstance(row.get("reference"), dict) else {}
        if own.get("sd855_ms"):
            wanted.setdefault(str(row.get("display_name") or (spec.display_name if spec else name)), (name, own))
        elif spec is not None:
            wanted.setdefault(spec.display_name, (name, spec.reference))
    # so an SD855 table of ImageNet models always has its anchor
    if not wanted and all(r.get("imagenet") for r in rows) and "ghostnet_100" in registry.MODEL_SPECS:
        spec = registry.MODEL_SPECS["ghostnet_100"]
        wanted[spec.display_name] = ("ghostnet_100", spec.reference)
    out = []
    for display, (name, reference) in wanted.items():
        published = reference.get("sd855_ms") or {}
        if not published:
            continue
        out.append({"label": f"{display} ({REFERENCE_SOURCE})",
                    "registry_name": name,
                    "ms": {str(t): published.get(t, published.get(str(t))) for t in threads},
                    "storage_mb": reference.get("storage_mb"),
                    "source": "PaddleClas docs (SD855, Paddle Lite, FP32, bs=1)"})
    return out


def _threads(n: int) -> str:
    return "1 thread" if n == 1 else f"{n} threads"


def _imagenet(model: Dict[str, Any]) -> bool:
    """Whether ImageNet-1k reference figures may stand beside this model: its recorded class count
    is 1000 (records written before class counts were recorded have none and keep their figures)."""
    return "num_classes" not in model or model["num_classes"] == 1000


def device_of(sessions: Sequence[Session]) -> Dict[str, Any]:
    """The device section of the (first) session; warns when sessions come from different devices."""
    devices = [s.header.get("device", {}) for s in sessions]
    labels = {(d.get("label"), d.get("serial")) for d in devices}
    if len(labels) > 1:
        log.warning("results come from %d different devices; the table is labelled after the first",
                    len(labels))
    return devices[0] if devices else {}


def build_summary(sessions: Sequence[Session]) -> Dict[str, Any]:
    """Statistics of every (model, threads) cell over all sessions' run records."""
    device = device_of(sessions)
    models: Dict[str, Dict[str, Any]] = {}
    values: Dict[str, Dict[int, List[float]]] = {}
    threads_seen: List[int] = []
    for session in sessions:
        plan = session.header.get("plan", {})
        for t in plan.get("threads", []):
            if int(t) not in threads_seen:
                threads_seen.append(int(t))
        for model in plan.get("models", []):
            models.setdefault(model["label"], dict(model))
            values.setdefault(model["label"], {})
        for run in session.runs:
            label = run["model"]["label"]
            models.setdefault(label, dict(run["model"]))
            threads = int(run["threads"])
            if threads not in threads_seen:
                threads_seen.append(threads)
            avg_us = (run.get("result") or {}).get("avg_us")
            if avg_us is not None:
                values.setdefault(label, {}).setdefault(threads, []).append(float(avg_us) / 1000.0)
    threads = sorted(threads_seen)
    rows, warnings = [], []
    for label, model in models.items():
        cells = {}
        for t in threads:
            stats = cell_stats(values.get(label, {}).get(t, []))
            cells[str(t)] = stats.to_dict() if stats else None
            if stats and stats.high_variance:
                warnings.append(f"{label} at {_threads(t)}: repeats vary by CV {stats.cv:.1%} "
                                f"(> {HIGH_CV:.0%}); the device may be throttling or busy — "
                                "use --cooldown-temp, more --repeats, or close other apps")
        rows.append({"label": label, "display_name": model.get("display_name"),
                     "precision": model.get("precision"), "registry_name": model.get("registry_name"),
                     "path": model.get("path"), "sha256": model.get("sha256"),
                     "size_bytes": model.get("size_bytes"),
                     "size_mb": (model["size_bytes"] / 1e6) if model.get("size_bytes") else None,
                     "reference": model.get("reference"), "num_classes": model.get("num_classes"),
                     "imagenet": _imagenet(model), "cells": cells})
    reference = []
    if device.get("is_sd855"):
        reference = _reference_rows(rows, threads)
    missing = [f"{r['label']} at {_threads(t)}" for r in rows for t in threads if not r["cells"][str(t)]]
    if missing:
        warnings.append("not measured: " + ", ".join(missing))
    return {"schema": SUMMARY_SCHEMA, "device": device, "threads": threads,
            "sessions": [{"session_id": s.session_id, "status": s.status,
                          "started_at": s.header.get("started_at"), "runs": len(s.runs),
                          "errors": [e.get("message") for e in s.errors]} for s in sessions],
            "rows": rows, "reference": reference, "warnings": warnings}


def column_prefix(device: Dict[str, Any]) -> str:
    """"SD855" on a Snapdragon 855, else the SoC/platform name, "local CPU (<model>)" locally."""
    return str(device.get("label") or "device")


def latency_ms(row: Dict[str, Any], threads: int) -> Optional[float]:
    cell = row["cells"].get(str(threads))
    return cell["median_ms"] if cell else None
