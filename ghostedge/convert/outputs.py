"""Before any slow work: the output folder must be usable and must not hold outputs of the same
name (unless ``force``); with ``force``, an earlier conversion's files that this one will not
rewrite are removed, so a folder never mixes two runs' models. Naming: ``ghostedge.model_report``."""
from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path
from typing import Dict, List

from ghostedge.errors import GhostEdgeError, UsageError
from ghostedge.fileio import check_output_path, os_error
from ghostedge.model_report import ArtifactNames

log = logging.getLogger(__name__)


def check_outputs(names: ArtifactNames, fp16: bool, int8: bool, force: bool) -> Dict[str, Path]:
    """Refuse existing outputs (without ``force``) and unusable folders, before any work.

    The folder is really tried: created if missing and a probe file written and removed there
    (``os.access`` says yes to root on /proc, for example). A folder created only for the probe is
    removed again, so a command that fails before writing a file leaves nothing behind."""
    output_dir = names.output_dir
    planned = names.planned(fp16, int8)
    for kind, path in planned.items():
        for target in (path, names.report(kind)):
            _check_name_length(target)
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"Output {output_dir} is a file", "--output must be a folder",
                         "Choose another --output folder")
    probe = output_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise GhostEdgeError(f"Cannot create output folder {output_dir}", f"{probe} is a file",
                             "Choose a writable --output folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise GhostEdgeError(f"Output folder {output_dir} is not writable",
                             f"permission denied on {probe}", "Choose a writable --output folder")
    probe_output_folder(output_dir)
    if output_dir.is_dir():
        for kind, path in planned.items():
            check_output_path(path, force)
            check_output_path(names.report(kind), force)
    return planned


def _check_name_length(path: Path) -> None:
    """A file name longer than the file system allows is a usage error, found before any work."""
    limit = 255
    for folder in path.absolute().parents:   # the nearest folder that exists tells its file system's limit
        try:
            limit = os.pathconf(folder, "PC_NAME_MAX")
            break
        except (OSError, ValueError):
            continue
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise UsageError(f"Output name {part[:40]}... is too long" if len(part) > 40 else
                             f"Output name {part} is too long",
                             f"{len(os.fsencode(part))} bytes; the file system allows {limit} per name",
                             "Choose a shorter --model name or --output folder")


def probe_output_folder(output_dir: Path) -> None:
    """Create ``output_dir`` (if missing), write and remove a probe file, then remove the folders
    this made. Raises GhostEdgeError (one line) when the folder cannot be created or written."""
    output_dir = Path(output_dir)
    missing: List[Path] = []
    p = output_dir.absolute()
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".ghostedge-probe-", dir=output_dir)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG, errno.EROFS):
            raise os_error(exc, f"Cannot write to output folder {output_dir}", output_dir) from None
        what = (f"Cannot create output folder {output_dir}" if missing
                else f"Output folder {output_dir} is not writable")
        raise GhostEdgeError(what, f"{type(exc).__name__}: {exc.strerror or exc}",
                             "Choose a writable --output folder") from None
    finally:
        for folder in missing:  # deepest first: only folders this probe made, and only if empty
            try:
                folder.rmdir()
            except OSError:
                break


def remove_stale_siblings(names: ArtifactNames, fp16: bool, int8: bool) -> List[Path]:
    """With ``force``: delete the earlier run's ``.fp16``/``.int8`` files that this run does not
    produce (so benchmarks and evaluations never mix models of two runs), with a warning."""
    stale = names.stale(fp16, int8)
    for path in stale:
        path.unlink()
    if stale:
        log.warning("--force: removed %d older output(s) of %s that this run does not produce "
                    "(they came from an earlier run): %s", len(stale), names.name,
                    ", ".join(p.name for p in stale))
    return stale
