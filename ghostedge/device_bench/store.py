"""Results as JSON lines (schema ``ghostedge.bench/1``), appended and fsync'ed as each run ends.

A file holds one or more sessions. Each session starts with a ``session`` record (provenance:
device facts, runtime/binary, affinity, plan, command line, versions), then one ``run`` record per
benchmark invocation, an ``error`` record if it failed, and an ``end`` record. A cut cable or a
killed process loses at most the line being written; the reader skips such a torn last line.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ghostedge.errors import ReportError

log = logging.getLogger(__name__)

SCHEMA = "ghostedge.bench/1"
KINDS = ("session", "run", "error", "end", "profile", "memory")
RESULTS_NAME = "results.jsonl"


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


class ResultsWriter:
    """Appends records to a JSONL file; each line is flushed and fsync'ed before returning, under
    a lock (several devices' workers share one file). Every record is also kept in memory
    (``records``): when the file cannot be written (disk full, folder gone) nothing measured is
    lost — ``error`` says why, ``save()`` writes everything again later or elsewhere."""

    def __init__(self, path: Union[str, "os.PathLike[str]"]) -> None:
        self.path = Path(path)
        self.records: List[Dict[str, Any]] = []
        self.error: Optional[OSError] = None
        self._lock = threading.Lock()
        self._fh: Optional[Any] = None
        self._prefix = self.path.stat().st_size if self.path.is_file() else 0   # earlier sessions

    def append(self, record: Dict[str, Any]) -> None:
        """Write one record (``schema`` is added) as a single line, durably (else keep it in memory)."""
        if record.get("kind") not in KINDS:
            raise ValueError(f"unknown record kind {record.get('kind')!r}")
        full = {"schema": SCHEMA, **record}
        line = json.dumps(full, sort_keys=False, default=str)
        with self._lock:
            self.records.append(full)
            if self.error is not None:
                return
            try:
                if self._fh is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fh = open(self.path, "a", encoding="utf-8")
                self._fh.write(line + "\n")
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.error = exc
        log.warning("cannot write %s (%s): measured results are kept in memory", self.path, exc.strerror or exc)
        with contextlib.suppress(OSError):
            if self._fh is not None:
                self._fh.close()
        self._fh = None
        with contextlib.suppress(OSError):   # never leave an empty results file behind
            if self._prefix == 0 and self.path.is_file() and self.path.stat().st_size == 0:
                self.path.unlink()

    def lines(self) -> str:
        return "".join(json.dumps(r, default=str) + "\n" for r in self.records)

    def save(self, path: Optional[Path] = None) -> Path:
        """Write every record again (after an earlier failure), atomically, to ``path`` (default:
        the results file, keeping what earlier sessions wrote there)."""
        from ghostedge.fileio import atomic_write_bytes

        target = Path(path) if path is not None else self.path
        prefix = b""
        if target == self.path and self._prefix and self.path.is_file():
            with open(self.path, "rb") as fh:
                prefix = fh.read(self._prefix)
        atomic_write_bytes(target, prefix + self.lines().encode("utf-8"))
        if target == self.path:
            self.error = None
        return target

    def close(self) -> None:
        with self._lock:
            if self._fh is not None and not self._fh.closed:
                with contextlib.suppress(OSError):
                    self._fh.close()
            self._fh = None

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class Session:
    """One device's part of a ``ghostedge bench`` invocation as read back: its header and its
    run, profile and memory records."""

    header: Dict[str, Any]
    runs: List[Dict[str, Any]] = field(default_factory=list)
    errors: List[Dict[str, Any]] = field(default_factory=list)
    end: Optional[Dict[str, Any]] = None
    profiles: List[Dict[str, Any]] = field(default_factory=list)
    memory: List[Dict[str, Any]] = field(default_factory=list)

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
        problem = _add(record, sessions, order)
        if problem:
            raise ReportError(f"Cannot read {path}", f"line {number} {problem}",
                              "Pass an unedited results.jsonl")
    if not order:
        raise ReportError(f"No benchmark sessions in {path}", "the file holds no session record",
                          "Pass a results.jsonl written by `ghostedge bench`")
    return [sessions[s] for s in order]


def _add(record: Dict[str, Any], sessions: Dict[str, Session], order: List[str]) -> Optional[str]:
    """File one record under its session; the problem in words, if any. Unknown kinds (from a
    newer ghostedge) are skipped."""
    kind = record.get("kind")
    sid = str(record.get("session_id", ""))
    if kind == "session":
        if sid not in sessions:
            order.append(sid)
        sessions[sid] = Session(record)
        return None
    session = sessions.get(sid)
    if session is None:
        return f"belongs to session {sid!r} whose header is missing"
    target = {"run": session.runs, "error": session.errors, "profile": session.profiles,
              "memory": session.memory}.get(str(kind))
    if target is not None:
        target.append(record)
    elif kind == "end":
        session.end = record
    return None


def sessions_from_records(records: Sequence[Dict[str, Any]]) -> List[Session]:
    """Sessions from records held in memory (``ResultsWriter.records``), as ``read_results`` reads them."""
    sessions: Dict[str, Session] = {}
    order: List[str] = []
    for record in records:
        _add(record, sessions, order)
    return [sessions[s] for s in order]
