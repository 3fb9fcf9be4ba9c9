"""INT8 options: one frozen type, checked once, used by the CLI, the Python API and the pipeline."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ghostedge.errors import UsageError

IO_TYPES = ("uint8", "int8", "float32")
DEFAULT_SAMPLES = 500
MAX_SAMPLES = 100_000


@dataclass(frozen=True)
class Int8Options:
    """How the full-integer INT8 model is made.

    ``io``: input/output type — ``uint8`` (raw pixels in, quantized probabilities out: what
    MediaPipe and the Task Library accept), ``int8`` or ``float32`` (float I/O, integer inside).
    ``calib``: ImageNet samples (ImageFolder tree, ILSVRC2012 val folder or list file); None uses
    the bundled photos with a warning. ``samples``/``seed``: the seeded class-balanced draw.
    ``explain``: also produce the per-layer error table.
    """

    io: str = "uint8"
    calib: Optional[Path] = None
    samples: int = DEFAULT_SAMPLES
    seed: int = 0
    explain: bool = False

    def __post_init__(self) -> None:
        if self.io not in IO_TYPES:
            raise UsageError(f"Unknown INT8 I/O type {self.io!r}", f"choose one of {', '.join(IO_TYPES)}",
                             "Pass --int8-io uint8 (app-friendly), int8 or float32")
        if not isinstance(self.samples, int) or isinstance(self.samples, bool) or \
                not 1 <= self.samples <= MAX_SAMPLES:
            raise UsageError(f"--calib-samples {self.samples} is not usable",
                             f"it must be a whole number from 1 to {MAX_SAMPLES}",
                             f"Pass --calib-samples {DEFAULT_SAMPLES}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise UsageError(f"--calib-seed {self.seed} is not usable", "it must be a whole number >= 0",
                             "Pass --calib-seed 0")
        if self.calib is not None:
            object.__setattr__(self, "calib", Path(self.calib))
            if not self.calib.exists():
                raise UsageError(f"Calibration data {self.calib} does not exist", "no such file or folder",
                                 "Pass an ImageNet folder or list file to --calib")

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["calib"] = str(self.calib) if self.calib is not None else None
        return data

    @classmethod
    def of(cls, value: Union["Int8Options", bool, None], **overrides: Any) -> Optional["Int8Options"]:
        """``True`` → defaults, ``False``/``None`` → no INT8, an Int8Options → itself."""
        if value is None or value is False:
            return None
        if value is True:
            return cls(**overrides)
        if isinstance(value, cls):
            return value
        raise UsageError(f"int8={value!r} is not usable", "pass True, False or an Int8Options",
                         "e.g. ghostedge.convert(int8=True) or int8=Int8Options(io='float32')")
