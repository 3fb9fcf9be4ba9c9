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


def _reference_rows(registry_names: Sequence[str], threads: Sequence[int]) -> List[Dict[str, Any]]:
    from ghostedge.models import registry

    names = [n for n in dict.fromkeys(registry_names) if n in registry.MODEL_SPECS]
    if not names:  # the seed's headline row, so an SD855 table always has its anchor
        names = ["ghostnet_100"] if "ghostnet_100" in registry.MODEL_SPECS else []
    rows = []
    for name in names:
        spec = registry.MODEL_SPECS[name]
        published = spec.reference.get("sd855_ms") or {}
        if not published:
            continue
        rows.append({"label": f"{spec.display_name} ({REFERENCE_SOURCE})",
                     "registry_name": name,
                     "ms": {str(t): published.get(t, published.get(str(t))) for t in threads},
                     "storage_mb": spec.reference.get("storage_mb"),
                     "source": "PaddleClas docs (SD855, Paddle Lite, FP32, bs=1)"})
    return rows


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
                warnings.append(f"{label} at {t} thread(s): repeats vary by CV {stats.cv:.1%} "
                                f"(> {HIGH_CV:.0%}); the device may be throttling or busy — "
                                "use --cooldown-temp, more --repeats, or close other apps")
        rows.append({"label": label, "display_name": model.get("display_name"),
                     "precision": model.get("precision"), "registry_name": model.get("registry_name"),
                     "path": model.get("path"), "sha256": model.get("sha256"),
                     "size_bytes": model.get("size_bytes"),
                     "size_mb": (model["size_bytes"] / 1e6) if model.get("size_bytes") else None,
                     "cells": cells})
    reference = []
    if device.get("is_sd855"):
        reference = _reference_rows([r["registry_name"] for r in rows if r.get("registry_name")],
                                    threads)
    missing = [f"{r['label']} at {t} thread(s)" for r in rows for t in threads if not r["cells"][str(t)]]
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
