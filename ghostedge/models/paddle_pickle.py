"""Reading PaddleClas ``.pdparams`` files without Paddle: a restricted unpickler and the checks
that name files which are plainly not a ``.pdparams`` (Paddle inference models, zips, tars, ...).

A ``.pdparams`` is a pickle (protocol 2-4) of ``{structured_name: numpy array}`` plus a
``"StructuredToParameterName@@"`` table (skipped); some Paddle versions store ``(name, array)``
tuples. Unpickling admits only numpy's array/dtype/scalar reconstruction and plain containers:
any other global (``os.system``, ``builtins.eval``, ...) is refused before it is called.
Name mapping and named sources live in ``ghostedge.models.pdparams``.
"""
from __future__ import annotations

import logging
import pickle
import tarfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ghostedge.errors import WeightsError
from ghostedge.fileio import is_all_zero

log = logging.getLogger(__name__)

NAME_TABLE_KEY = "StructuredToParameterName@@"


class _RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


def _numpy_global(name: str) -> Any:
    if name in ("ndarray", "dtype"):
        return getattr(np, name)
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 1.26
        from numpy.core import multiarray  # type: ignore[no-redef]
    return getattr(multiarray, name)


# What unpickling may look up: numpy's array/dtype/scalar reconstruction (numpy 1.x and 2.x module
# names), OrderedDict, and _codecs.encode (bytes in protocol-2 pickles). Nothing else, ever.
_ALLOWED_GLOBALS = {
    **{(mod, name): (lambda n=name: _numpy_global(n)) for mod, names in (
        ("numpy", ("ndarray", "dtype")), ("numpy.core.multiarray", ("_reconstruct", "scalar")),
        ("numpy._core.multiarray", ("_reconstruct", "scalar"))) for name in names},
    ("collections", "OrderedDict"): lambda: __import__("collections").OrderedDict,
    ("_codecs", "encode"): lambda: __import__("_codecs").encode,
}


class _PlainDataUnpickler(pickle.Unpickler):
    """Admits plain containers, str, numbers and numpy arrays/dtypes/scalars; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise _RefusedGlobal(module, name)
        return factory()

    def persistent_load(self, pid: Any) -> Any:
        raise _RefusedGlobal("persistent_id", repr(pid)[:40])


def describe_non_pdparams(path: Path) -> Optional[Tuple[str, str]]:
    """``(what it is, what to pass instead)`` when ``path`` is plainly not a pickled .pdparams."""
    to_pass = ("Pass the training checkpoint (.pdparams) instead, e.g. --weights "
               "paddle:GhostNet_x1_0 (downloads GhostNet_x1_0_pretrained.pdparams)")
    names = [p.name for p in path.iterdir()] if path.is_dir() else [path.name]
    if any(n.endswith((".pdmodel", ".pdiparams", ".pdiparams.info")) for n in names) or (
            path.is_dir() and "inference.json" in names):
        return "a Paddle inference model (.pdmodel/.pdiparams: a compiled program and unnamed " \
               "parameters, not a .pdparams checkpoint)", to_pass
    if path.is_dir():
        return "a folder, not a .pdparams file", "Pass the .pdparams file inside it"
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not head:
        return "an empty file", "Download the .pdparams again"
    if head[:1] == b"\x80":
        return None
    if is_all_zero(path):
        return "a file of zero bytes only (a failed or preallocated download)", \
               "Download it again, or pass a .pdparams checkpoint"
    if head == bytes(16):  # .pdiparams: uint32 version 0, uint64 LoD level 0, uint32 version 0
        return "Paddle inference model parameters (.pdiparams content: unnamed tensors, not a " \
               ".pdparams checkpoint)", to_pass
    if head[:4] == b"PK\x03\x04":
        return "a zip archive (e.g. a PyTorch .pth checkpoint), not a .pdparams pickle", \
               "Pass .pth/.safetensors files with a timm-layout model (e.g. --model ghostnet_100)"
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            members = tar.getnames()
        if any(m.endswith((".pdiparams", ".pdmodel")) for m in members):
            return "a tar of a Paddle inference model (*_infer.tar)", to_pass
        return "a tar archive, not a .pdparams pickle", "Extract the .pdparams file and pass it"
    return "not a pickle (a .pdparams file starts with the pickle protocol byte 0x80)", to_pass


def paddle_inference_error(path: Union[str, Path]) -> Optional[WeightsError]:
    """The error for a Paddle inference model (.pdmodel/.pdiparams, a folder or *_infer.tar of
    them) given as weights, else None: for checkpoint readers that route by file name."""
    path = Path(path)
    odd = describe_non_pdparams(path) if path.exists() else None
    if odd is None or "inference model" not in odd[0]:
        return None
    return WeightsError(f"{path} is {odd[0]}", "", odd[1])


def read_pdparams(path: Union[str, Path]) -> Dict[str, np.ndarray]:
    """Unpickle a ``.pdparams`` safely: ``{structured_name: float array}`` (name table dropped)."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"Weights file {path} does not exist", "no such file", "Check the path")
    odd = describe_non_pdparams(path)
    if odd is not None:
        raise WeightsError(f"{path} is {odd[0]}", "", odd[1])
    try:
        with open(path, "rb") as fh:
            obj = _PlainDataUnpickler(fh, encoding="latin1").load()
    except _RefusedGlobal as exc:
        raise WeightsError(
            f"Refused to load {path}",
            f"its pickle asks for {exc.qualname}, which a .pdparams of plain arrays never does "
            "(nothing from the file was run)",
            "Use a checkpoint from a trusted source, e.g. --weights paddle:GhostNet_x1_0") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, OverflowError, MemoryError, UnicodeDecodeError) as exc:
        raise WeightsError(f"Cannot read {path}",
                           f"truncated or corrupt pickle ({type(exc).__name__}: {exc})",
                           "Download the .pdparams again (a partial download looks like this)") from exc
    return _arrays_from(obj, path)


def _arrays_from(obj: Any, path: Path) -> Dict[str, np.ndarray]:
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} is not a .pdparams state dict",
                           f"its pickle holds a {type(obj).__name__}, not a dict of arrays",
                           "Pass a checkpoint written by paddle.save(model.state_dict(), ...)")
    arrays: Dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if key == NAME_TABLE_KEY:
            continue
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            value = value[1]                      # (ParamAttr name, array), older/newer Paddle
        if not isinstance(key, str) or not isinstance(value, np.ndarray) \
                or value.dtype.kind not in "fiub":
            raise WeightsError(f"{path} is not a .pdparams state dict",
                               f"entry {key!r} holds {type(value).__name__} "
                               f"{getattr(value, 'dtype', '')}, not a numeric array",
                               "Pass a checkpoint written by paddle.save(model.state_dict(), ...)")
        arrays[key] = value
    return arrays
