"""Where a bench writes, checked before any slow work: the output folder (refused when it holds
results, unless ``force``; writable; room for results), and where measured results go when it
cannot take them after all (``rescue``)."""
from __future__ import annotations

import datetime as _dt
import errno
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Union

from ghostedge.errors import GhostEdgeError, OutputExistsError, UsageError

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]
DEFAULT_DIR = Path("ghostedge-out")
DEFAULT_MODELS = ("ghostnet_100.fp32.tflite", "ghostnet_100.int8.tflite")
MIN_FREE_BYTES = 2_000_000   # results.jsonl of a long session and its reports: a few MB at most


def default_models(base: Path = DEFAULT_DIR) -> List[Path]:
    """ghostedge's FP32 and INT8 GhostNet 1.0x, or an error saying how to make them."""
    paths = [base / name for name in DEFAULT_MODELS]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"No model to benchmark: {', '.join(missing)} not found",
                         "no MODEL.tflite was given, so the default FP32 and INT8 GhostNet 1.0x are used",
                         "Run `ghostedge convert --int8` first, or pass .tflite files")
    return paths


def folder_name(devices: Sequence[str]) -> str:
    """``bench-<serial>`` for one device, ``bench-<n>-devices`` for several."""
    name = devices[0] if len(devices) == 1 else f"{len(devices)}-devices"
    return f"bench-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}"


def output_folder(output: Optional[PathArg], device_name: str, force: bool) -> Path:
    """``output``, else ghostedge-out/<device_name>-<timestamp>; refuses old results without
    ``force``, and a folder that cannot be written or has no room. Nothing is created or removed."""
    from ghostedge.device_bench.store import RESULTS_NAME
    from ghostedge.fileio import check_free_space

    if output:
        folder = Path(output)
    else:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = DEFAULT_DIR / f"{device_name}-{stamp}"
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"Output {folder} is a file", "--output must be a folder",
                                "Choose another --output folder")
    results = folder / RESULTS_NAME
    if results.exists() and not force:
        raise OutputExistsError(f"Output {results} already exists",
                                "ghostedge does not overwrite results by default",
                                "Pass --force to replace them, or choose another --output folder")
    check_writable(folder)
    check_free_space(folder, MIN_FREE_BYTES, "the benchmark results")
    return folder


def check_writable(folder: Path) -> None:
    """The nearest existing folder must let us create files (and the name must fit)."""
    from ghostedge.fileio import os_error

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    for part in folder.absolute().parts:
        if len(part.encode()) > 255:
            raise os_error(OSError(errno.ENAMETOOLONG, "File name too long", str(folder)),
                           f"Cannot write to output folder {folder}", folder)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise GhostEdgeError(f"Cannot write to output folder {folder}", f"{existing} is not writable",
                             "Choose a writable --output folder")


def start_output(folder: Path) -> None:
    """Create the folder and remove earlier results and reports (only reached with ``force``)."""
    from ghostedge.device_bench.reportfiles import report_files
    from ghostedge.device_bench.store import RESULTS_NAME
    from ghostedge.fileio import os_error

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in [folder / RESULTS_NAME, *report_files(folder)]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        raise os_error(exc, f"Cannot write to output folder {folder}", folder) from exc


def rescue_dirs() -> List[Path]:
    """Where results go when their folder cannot take them: ``$GHOSTEDGE_RESCUE_DIR``, the
    ghostedge cache, the system's temporary folder (other disks, with luck)."""
    from ghostedge.android_runner.binary import cache_root

    dirs = [Path(os.environ["GHOSTEDGE_RESCUE_DIR"])] if os.environ.get("GHOSTEDGE_RESCUE_DIR") else []
    return dirs + [cache_root() / "unsaved-results", Path(tempfile.gettempdir())]


def rescue(writer: object, stem: str) -> Optional[Path]:
    """Write every record of ``writer`` (a ResultsWriter) where there is room; None if nowhere."""
    for folder in rescue_dirs():
        target = folder / f"{stem}.results.jsonl"
        try:
            return writer.save(target)  # type: ignore[attr-defined]
        except OSError as exc:
            log.debug("cannot save the results to %s: %s", target, exc)
    return None
