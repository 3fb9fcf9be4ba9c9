"""One error tree for ghostedge: every error says what failed, why, and what to do."""
from __future__ import annotations

from typing import Optional, Sequence


class GhostEdgeError(Exception):
    """Base of every error ghostedge raises on purpose.

    ``what`` is what failed, ``why`` the cause, ``fix`` what the user can do.
    ``str(err)`` is one line meant for the CLI.
    """

    exit_code = 1

    def __init__(self, what: str, why: str = "", fix: str = "") -> None:
        self.what = what
        self.why = why
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [self.what.rstrip(".")]
        if self.why:
            parts.append(self.why.rstrip("."))
        text = ": ".join(parts)
        if self.fix:
            text += ". " + self.fix.rstrip(".") + "."
        return " ".join(text.split())


class UsageError(GhostEdgeError):
    """Bad command-line arguments or option combinations."""

    exit_code = 2


class OutputExistsError(GhostEdgeError):
    """An output path exists and --force was not given."""


class DiskFullError(GhostEdgeError):
    """A file system without the room (or quota) that an output needs."""


class ModelError(GhostEdgeError):
    """Unknown model name, unsupported variant or architecture mismatch."""


class InvalidModelError(ModelError):
    """A model file that is damaged or not what it claims to be (checked before any native
    library reads it)."""


class WeightsError(GhostEdgeError):
    """A checkpoint that cannot be read or does not fit the model."""


class DownloadError(GhostEdgeError):
    """A download failed, was refused, or did not match its SHA-256."""


class DataError(GhostEdgeError):
    """Images, image folders, label files or datasets that cannot be used."""


class ConversionError(GhostEdgeError):
    """torch → ONNX → TFLite conversion failed."""


class VerificationError(GhostEdgeError):
    """A converted model does not compute what the source model computes."""


class QuantizationError(GhostEdgeError):
    """INT8 calibration or quantization failed or is not fully integer."""


class RuntimeMissingError(GhostEdgeError):
    """No TFLite runtime (ai-edge-litert or tflite-runtime) is installed."""


class DeviceError(GhostEdgeError):
    """A device that is missing, unauthorized, offline, ambiguous or vanished."""


class AdbError(DeviceError):
    """An adb command failed. Carries the command, its output, exit code and serial
    (after mobly's AdbError)."""

    def __init__(
        self,
        cmd: Sequence[str],
        stdout: str = "",
        stderr: str = "",
        ret_code: Optional[int] = None,
        serial: Optional[str] = None,
        what: str = "",
        why: str = "",
        fix: str = "",
    ) -> None:
        self.cmd = list(cmd)
        self.stdout = stdout
        self.stderr = stderr
        self.ret_code = ret_code
        self.serial = serial
        if not what:
            what = f"adb command failed on {serial or 'the host'}: {' '.join(self.cmd)}"
        if not why:
            detail = (stderr or stdout or "").strip().splitlines()
            why = f"exit code {ret_code}" + (f", {detail[-1]}" if detail else "")
        super().__init__(what, why, fix)


class BenchmarkError(GhostEdgeError):
    """The on-device (or local) benchmark failed or its output could not be read."""


class ReportError(GhostEdgeError):
    """Saved results that cannot be read or rendered."""


class MetadataError(GhostEdgeError):
    """TFLite metadata or labels that cannot be written or read."""
