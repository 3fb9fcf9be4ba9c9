"""The one place that captures what native code writes to file descriptor 2.

Keep TensorFlow/LiteRT's C-level stderr noise (``E0000 ... Unable to register cuDNN factory``,
``computation placer already registered``, ``fully_quantize: 0, inference_type: 6 ...``) off the
user's terminal: file descriptor 2 is pointed at a log file while the block runs.

Python-level output keeps going to the real stderr: ``sys.stderr`` and ghostedge's log handlers
are pointed at a duplicate of the original descriptor for the duration, so warnings and progress
bars still show. The captured text is replayed through ``logging`` at INFO (shown with ``-v``)
and, when the block fails, kept in a file that the log names.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, List, Tuple

log = logging.getLogger(__name__)


def _retarget_handlers(stream: Any) -> List[Tuple[logging.StreamHandler, Any]]:
    """Point every logging StreamHandler writing to the process's stderr at ``stream``."""
    changed: List[Tuple[logging.StreamHandler, Any]] = []
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if type(handler) is not logging.StreamHandler:  # FileHandler etc. keep their files
                continue
            try:
                if handler.stream.fileno() != 2:
                    continue
            except (AttributeError, OSError, ValueError):
                continue
            changed.append((handler, handler.setStream(stream)))
    return changed


@contextlib.contextmanager
def captured_stderr(label: str, level: int = logging.INFO, keep_on_failure: bool = True,
                    logger: logging.Logger = log) -> Iterator[Path]:
    """Send C-level writes to file descriptor 2 into a temporary log file while the block runs.

    Yields the log file's path. After the block the lines are logged at ``level`` (INFO: shown
    with ``-v``); on an exception the file is kept when ``keep_on_failure`` (its path logged at
    WARNING) and the exception propagates.
    Child processes started in the block inherit the redirection.
    """
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable stderr: nothing to hide
        yield Path(os.devnull)
        return
    fd, name = tempfile.mkstemp(prefix=f"ghostedge-{label}-", suffix=".log")
    path = Path(name)
    real = os.fdopen(os.dup(saved_fd), "w", buffering=1, encoding="utf-8", errors="replace")
    old_stderr = sys.stderr
    changed = _retarget_handlers(real)
    failed = False
    try:
        os.dup2(fd, 2)
        sys.stderr = real
        yield path
    except Exception:  # an interruption (Ctrl-C, SIGTERM) is no failure worth a kept log
        failed = True
        raise
    finally:
        with contextlib.suppress(Exception):
            real.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(fd)
        sys.stderr = old_stderr
        for handler, previous in changed:
            handler.setStream(previous)
        with contextlib.suppress(Exception):
            real.close()
        _report(path, label, failed and keep_on_failure, level, logger)


def native_stderr_to_log() -> "contextlib.AbstractContextManager[Path]":
    """Route what native code writes to fd 2 (e.g. LiteRT's "INFO: Created TensorFlow Lite
    XNNPACK delegate for CPU.") into debug log lines instead of the user's terminal."""
    return captured_stderr("native", level=logging.DEBUG, keep_on_failure=False)


def _report(path: Path, label: str, keep: bool, level: int, logger: logging.Logger) -> None:
    try:
        lines = [ln.rstrip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    if lines and logger.isEnabledFor(level):
        logger.log(level, "%s stderr (%d lines, hidden without -v):", label, len(lines))
        for line in lines:
            logger.log(level, "  %s", line)
    if keep and lines:
        kept = Path(tempfile.gettempdir()) / f"ghostedge-{label}-failed.log"
        with contextlib.suppress(OSError):
            shutil.copyfile(path, kept)
            log.warning("%s wrote %d stderr lines before failing; they are kept in %s", label,
                        len(lines), kept)
    with contextlib.suppress(OSError):
        path.unlink()
