"""Results as JSON lines (schema ``ghostedge.bench/1``), appended and fsync'ed as each run ends.

A file holds one or more sessions. Each session starts with a ``session`` record (provenance:
device facts, runtime/binary, affinity, plan, command line, versions), then one ``run`` record per
benchmark invocation, an ``error`` record if it failed, and an ``end`` record. A cut cable or a
killed process loses at most the line being written; the reader skips such a torn last line.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ghostedge.errors import ReportError

log = logging.getLogger(__name__)

SCHEMA = "ghostedge.bench/1"
KINDS = ("session", "run", "error", "end")
RESULTS_NAME = "results.jsonl"


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


class ResultsWriter:
    """Appends records to a JSONL file; each line is flushed and fsync'ed before returning."""

    def __init__(self, path: Union[str, "os.PathLike[str]"]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")

    def append(self, record: Dict[str, Any]) -> None:
        """Write one record (``schema`` is added) as a single line, durably."""
        if record.get("kind") not in KINDS:
            raise ValueError(f"unknown record kind {record.get('kind')!r}")
        line = json.dumps({"schema": SCHEMA, **record}, sort_keys=False, default=str)
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class Session:
    """One ``ghostedge bench`` invocation as read back: its header and its run records."""

    header: Dict[str, Any]
    runs: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[Dict[str, Any]] = field(default_factory=list)
    end: Optional[Dict[str, Any]] = None

    @property
    def session_id(self) -> str:
        return str(self.header.get("session_id", ""))

    @property
    def status(self) -> str:
        """"ok", "failed", "interrupted", or "incomplete" when the file ends without an end record."""
        return str(self.end.get("status")) if self.end else "incomplete"


def resolve_results_path(path: Union[str, "os.PathLike[str]"]) -> Path:
    """A results.jsonl file, or a folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_NAME
    if not path.is_file():
        raise ReportError(f"No benchmark results at {path}", "the file does not exist",
                          "Pass the results.jsonl (or the folder) written by `ghostedge bench`")
    return path


def read_results(path: Union[str, "os.PathLike[str]"]) -> List[Session]:
    """Read every session of a results file; a torn final line is skipped with a warning."""
    path = resolve_results_path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    sessions: Dict[str, Session] = {}
    order: List[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            is_last = all(not rest.strip() for rest in lines[number:])
            if is_last and order:  # a torn tail after real records: an interrupted write
                log.warning("%s: line %d is incomplete (interrupted write); skipped", path, number)
                continue
            raise ReportError(f"Cannot read {path}", f"line {number} is not JSON",
                              "Pass a results.jsonl written by `ghostedge bench`") from None
        schema = record.get("schema") if isinstance(record, dict) else None
        if schema != SCHEMA:
            raise ReportError(f"Cannot read {path}", f"line {number} has schema {schema!r}, "
                              f"this ghostedge reads {SCHEMA!r}",
                              "Use the ghostedge version that wrote it, or re-run the benchmark")
        kind = record.get("kind")
        sid = str(record.get("session_id", ""))
        if kind == "session":
            if sid not in sessions:
                order.append(sid)
            sessions[sid] = Session(record)
            continue
        session = sessions.get(sid)
        if session is None:
            raise ReportError(f"Cannot read {path}", f"line {number} belongs to session {sid!r} "
                              "whose header is missing", "Pass an unedited results.jsonl")
        if kind == "run":
            session.runs.append(record)
        elif kind == "error":
            session.errors.append(record)
        elif kind == "end":
            session.end = record
    if not order:
        raise ReportError(f"No benchmark sessions in {path}", "the file holds no session record",
                          "Pass a results.jsonl written by `ghostedge bench`")
    return [sessions[s] for s in order]
