"""From saved run records to the seed table's numbers: per (device, model) rows, per (delegate,
threads) cells with their statistics and marks, storage sizes, memory, per-part profiles, and —
on an SD855 — PaddleClas's published figures beside ours."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.device_bench.options import protocol_changes
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
    """The device section of the first session (the table's label when there is one device)."""
    devices = [s.header.get("device", {}) for s in sessions]
    return devices[0] if devices else {}


def _device_key(device: Dict[str, Any]) -> str:
    return str(device.get("serial") or device.get("label") or "device")


def column_name(col: Dict[str, Any]) -> str:
    """``thread=4`` for a CPU column, ``GPU``/``NNAPI`` for a delegate's."""
    return f"thread={col['threads']}" if col["delegate"] == "cpu" else col["delegate"].upper()


def _columns(sessions: Sequence[Session]) -> List[Dict[str, Any]]:
    threads: List[int] = []
    delegates: List[str] = []
    for session in sessions:
        plan = session.header.get("plan", {})
        threads += [int(t) for t in plan.get("threads", []) if int(t) not in threads]
        delegates += [d for d in plan.get("delegates", ["cpu"]) if d not in delegates]
        for run in session.runs:
            d = run.get("delegate", "cpu")
            delegates += [d] if d not in delegates else []
            if d == "cpu" and int(run["threads"]) not in threads:
                threads.append(int(run["threads"]))
    cols = []
    for d in delegates:
        if d == "cpu":
            cols += [{"key": str(t), "delegate": "cpu", "threads": t} for t in sorted(threads)]
        else:
            cols.append({"key": d, "delegate": d, "threads": None})
    for col in cols:
        col["label"] = column_name(col)
    return cols


def _device_entry(session: Session) -> Dict[str, Any]:
    device = dict(session.header.get("device", {}))
    device["status"] = session.status
    device["errors"] = [e.get("message") for e in session.errors]
    device["thermal"] = session.header.get("thermal")
    device["deployment"] = session.header.get("deployment")
    device["runtime"] = session.header.get("runtime")
    device["cooldown_waited_s"] = (session.end or {}).get("cooldown_waited_s", 0.0)
    device["adaptive"] = (session.end or {}).get("adaptive", [])
    return device


def _row(device: Dict[str, Any], model: Dict[str, Any], multi: bool) -> Dict[str, Any]:
    return {"label": model["label"], "device": device.get("serial"), "device_label": device.get("label"),
            "row_label": f"{device.get('label')} ({device.get('serial')}) {model['label']}" if multi else model["label"],
            "display_name": model.get("display_name"), "precision": model.get("precision"),
            "registry_name": model.get("registry_name"), "path": model.get("path"), "sha256": model.get("sha256"),
            "size_bytes": model.get("size_bytes"),
            "size_mb": (model["size_bytes"] / 1e6) if model.get("size_bytes") else None,
            "reference": model.get("reference"), "num_classes": model.get("num_classes"),
            "imagenet": _imagenet(model), "device_status": device.get("status"),
            "device_error": (device.get("errors") or [None])[-1], "cells": {}, "memory": {}}


def build_summary(sessions: Sequence[Session]) -> Dict[str, Any]:
    """Every (device, model) row with every (delegate, threads) cell over all sessions' records
    (``cells.cell_summary``), plus memory, per-part profiles, devices and warnings."""
    from ghostedge.device_bench.cells import cell_summary, mark_text

    columns = _columns(sessions)
    devices: Dict[str, Dict[str, Any]] = {}
    rows: Dict[tuple, Dict[str, Any]] = {}
    records: Dict[tuple, List[Dict[str, Any]]] = {}
    profiles: List[Dict[str, Any]] = []
    keys = {_device_key(s.header.get("device", {})) for s in sessions}
    plan0 = sessions[0].header.get("plan", {}) if sessions else {}
    headline = plan0.get("headline", "median")
    for session in sessions:
        device = devices.setdefault(_device_key(session.header.get("device", {})), _device_entry(session))
        if session.status != "ok":
            device["status"] = session.status
        for model in session.header.get("plan", {}).get("models", []) + [r["model"] for r in session.runs]:
            rows.setdefault((_device_key(device), model["label"]), _row(device, model, len(keys) > 1))
        for run in session.runs:
            key = str(run["threads"]) if run.get("delegate", "cpu") == "cpu" else run["delegate"]
            records.setdefault((_device_key(device), run["model"]["label"], key), []).append(run)
        for mem in session.memory:
            row = rows.get((_device_key(device), mem["model"]["label"]))
            if row is not None:
                row["memory"][mem.get("delegate", "cpu")] = (mem.get("peak_mb") if mem.get("status") == "ok"
                                                            else {"failed": (mem.get("failure") or {}).get("reason")})
        for prof in session.profiles:
            profiles.append({"device": device.get("serial"), "device_label": device.get("label"),
                             "model": prof["model"]["label"], "threads": prof.get("threads"),
                             "status": prof.get("status"), "failure": prof.get("failure"),
                             "part_profile": prof.get("part_profile")})
    warnings: List[str] = []
    missing: List[str] = []
    for (dev, label), row in rows.items():
        where = f"{row['device']}: {label}" if len(keys) > 1 else label
        for col in columns:
            cell = cell_summary(records.get((dev, label, col["key"]), []), headline)
            row["cells"][col["key"]] = cell
            name = _threads(col["threads"]) if col["delegate"] == "cpu" else col["delegate"].upper()
            if cell is None:
                missing.append(f"{where} at {name}")
            elif cell["status"] == "failed":
                warnings.append(f"{where} at {name}: not measured — {cell['reason']}")
            elif mark_text(cell):
                warnings.append(f"{where} at {name}: {mark_text(cell)}" + "".join(f"; {n}" for n in cell["notes"]
                                                                                if "left out" in n))
    row_list = list(rows.values())
    threads = [c["threads"] for c in columns if c["delegate"] == "cpu"]
    reference = []
    if any(d.get("is_sd855") for d in devices.values()):
        reference = _reference_rows(row_list, threads)
    for dev in devices.values():
        if dev["status"] not in ("ok",):
            warnings.insert(0, f"{dev.get('serial')} ended {dev['status']}"
                               + (f": {dev['errors'][-1]}" if dev.get("errors") else "") + " (its rows are marked)")
    if missing:
        warnings.append("not measured: " + ", ".join(missing))
    phones = all(d.get("kind") != "local" for d in devices.values())
    return {"schema": SUMMARY_SCHEMA, "protocol": plan0.get("protocol", "strict"), "headline": headline,
            "protocol_changes": protocol_changes(plan0, phones),
            "device": device_of(sessions), "devices": list(devices.values()), "threads": threads,
            "delegates": sorted({c["delegate"] for c in columns}, key=["cpu", "gpu", "nnapi"].index),
            "columns": columns,
            "sessions": [{"session_id": s.session_id, "status": s.status, "device": s.header.get("device", {}).get("serial"),
                          "started_at": s.header.get("started_at"), "runs": len(s.runs),
                          "errors": [e.get("message") for e in s.errors]} for s in sessions],
            "rows": row_list, "reference": reference, "profiles": profiles, "warnings": warnings}


def column_prefix(device: Dict[str, Any]) -> str:
    """"SD855" on a Snapdragon 855, else the SoC/platform name, "local CPU (<model>)" locally."""
    return str(device.get("label") or "device")


def latency_ms(row: Dict[str, Any], key: Any) -> Optional[float]:
    """The headline of a cell (None when not measured or failed)."""
    cell = row["cells"].get(str(key))
    return cell.get("headline_ms") if cell else None
