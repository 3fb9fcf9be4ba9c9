"""Read PyTorch checkpoints into plain state dicts.

A checkpoint is a .pth/.pt/.bin torch pickle (loaded with ``weights_only=True`` only) or a
.safetensors file, or a downloaded Hugging Face folder holding ``model.safetensors`` /
``pytorch_model.bin``. The state dict may be wrapped in ``state_dict`` / ``model`` / ... keys and
prefixed with ``module.``-style prefixes; ``normalize_state_dict`` unwraps and strips those.
Unreadable files (empty, truncated, TFLite, arbitrary pickles) raise ``WeightsError`` saying why
(``read_cached_checkpoint`` also removes such a file from the download cache);
Paddle inference models (.pdmodel/.pdiparams, a folder or ``*_infer.tar`` of them) get
``ghostedge.models.pdparams``' error saying what they are and what to pass instead.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from ghostedge.errors import WeightsError
from ghostedge.fileio import is_all_zero

_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema", "net")
_PREFIXES = ("module.", "_orig_mod.", "model.")
_SHOWN = 3  # keys named in "holds no tensors" errors
_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt")


def refuse_paddle_inference(path: Path) -> None:
    """Raise ``paddle_pickle.paddle_inference_error(path)`` for a Paddle inference model (.pdmodel,
    .pdiparams, a folder or *_infer.tar of them). Files with a PyTorch suffix are not examined (a
    zero-filled .pth is a broken download, not a .pdiparams)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in _TORCH_SUFFIXES:
        return
    from ghostedge.models.paddle_pickle import paddle_inference_error

    refused = paddle_inference_error(path)
    if refused is not None:
        raise refused


def looks_like_checkpoint(path: Path) -> bool:
    """Whether ``path`` is shaped like a checkpoint: a zip (torch >= 1.6), a pickle (older torch,
    .pdparams) or a safetensors file (8-byte header length, then a JSON header)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
        size = Path(path).stat().st_size
    except OSError:
        return False
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        return True
    return len(head) == 9 and 0 < int.from_bytes(head[:8], "little") < size and head[8:9] == b"{"


def checkpoint_file(path: Path) -> Path:
    """``path`` itself, or the model.safetensors / pytorch_model.bin inside a downloaded HF folder."""
    path = Path(path)
    if not path.is_dir():
        return path
    inner = [path / n for n in ("model.safetensors", "pytorch_model.bin") if (path / n).is_file()]
    if not inner:
        raise WeightsError(f"{path} is a folder", "no model.safetensors or pytorch_model.bin in it",
                           "Pass the checkpoint file itself")
    return inner[0]


def read_checkpoint(path: Path) -> Tuple[Dict[str, Any], List[str]]:
    """Read a state dict (torch pickle with ``weights_only=True``, or safetensors) and normalize it.

    Returns ``(state_dict, notes)``; notes say what was unwrapped, stripped or dropped.
    """
    refuse_paddle_inference(path)
    path = checkpoint_file(path)
    if not path.is_file():
        raise WeightsError(f"Weights file {path} does not exist", "no such file", "Check the path")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(16)
    if size == 0:
        raise WeightsError(f"Cannot read weights {path}", "the file is empty", "Download it again")
    if head[4:8] == b"TFL3":
        raise WeightsError(f"{path} is a TFLite model, not a checkpoint",
                           "--weights takes PyTorch/safetensors weights", "Pass the .pth/.safetensors file")
    header_len = int.from_bytes(head[:8], "little") if len(head) >= 9 else 0
    if head[8:9] == b"{" and 0 < header_len < (1 << 27):
        loaded = _read_safetensors(path, size, header_len)
    elif path.suffix.lower() == ".safetensors":
        raise WeightsError(f"Cannot read weights {path}", "it is not a safetensors file (bad header)",
                           "Download it again or check the file")
    else:
        loaded = _read_torch(path, head)
    return normalize_state_dict(loaded, str(path))


def read_cached_checkpoint(path: Path) -> Tuple[Dict[str, Any], List[str]]:
    """``read_checkpoint`` for a file from the download cache (``hub.fetch``): a file that cannot
    be read is removed from the cache with its provenance, so a rerun downloads it again, and the
    error says so (a bad download is never reused)."""
    try:
        return read_checkpoint(path)
    except WeightsError as exc:
        from ghostedge.models import hub

        problem = hub.evict(path)
        if problem:
            raise WeightsError(exc.what, f"{exc.why}; it could not be removed from the cache ({problem})",
                               f"Delete {path} and {hub.provenance_path(path).name}, then rerun") from exc
        raise WeightsError(exc.what, f"{exc.why}; removed from the cache; rerun to download it again",
                           "If it fails again, check the URL or pass a local file with --weights") from exc


def _read_safetensors(path: Path, size: int, header_len: int) -> Dict[str, Any]:
    from safetensors.torch import load_file

    if 8 + header_len > size:
        raise WeightsError(f"Cannot read weights {path}", "the safetensors file is truncated",
                           "Download it again")
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own SafetensorError (not exported stably)
        raise WeightsError(f"Cannot read weights {path}", f"broken safetensors file ({exc})",
                           "Download it again") from exc


def _read_torch(path: Path, head: bytes) -> Any:
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4"
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        is_pickle = head[:2] == b"PK" or head[:1] == b"\x80"
        if not is_pickle or ("Weights only load failed" not in text and "Unsupported global" not in text):
            raise _not_a_checkpoint(path, head, text) from None
        found = re.search(r"GLOBAL ([\w.]+)", text)
        culprit = found.group(1) if found else ""
        hint = " (a PaddleClas .pdparams? name it *.pdparams)" if culprit.startswith("numpy") else ""
        raise WeightsError(
            f"Refused to load {path}",
            "the pickle holds Python objects or instructions other than plain tensors"
            + (f" ({culprit})" if culprit else "") + hint
            + "; weights_only=True refused it and nothing in it was executed",
            "If you trust the file, re-save only the weights: "
            "torch.save(model.state_dict(), 'weights.pth')") from None
    except Exception as exc:  # noqa: BLE001 - torch's unpickler raises KeyError, EOFError, RuntimeError...
        raise _not_a_checkpoint(path, head, f"{type(exc).__name__}: {exc}") from None


def _not_a_checkpoint(path: Path, head: bytes, detail: str) -> WeightsError:
    if head[:2] == b"PK" or head[:1] == b"\x80":  # zip (torch >= 1.6) or legacy pickle
        first = (detail.strip().splitlines() or [""])[0].split(". ")[0][:120]
        why = "it looks truncated or damaged" + (f" ({first})" if first else "")
    elif is_all_zero(path):
        why = "it holds only zero bytes (a failed or preallocated download)"
    else:
        why = "it is not a PyTorch (.pth/.pt/.bin) or safetensors checkpoint"
    return WeightsError(f"Cannot read weights {path}", why,
                        "Download it again, or pass a .pth/.pt/.bin state dict or .safetensors file")


def normalize_state_dict(obj: Any, label: str = "checkpoint") -> Tuple[Dict[str, Any], List[str]]:
    """Unwrap ``state_dict``/``model`` wrappers, strip ``module.``-style prefixes, drop non-tensors
    and thop counters, and apply timm's GhostNet key renames. Returns ``(state_dict, notes)``."""
    import torch

    notes: List[str] = []
    for _ in range(3):
        if not isinstance(obj, Mapping):
            break
        key = next((k for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if key is None:
            break
        notes.append(f"unwrapped {key!r}")
        obj = obj[key]
    if not isinstance(obj, Mapping):
        raise WeightsError(f"Cannot use weights {label}", f"it holds a {type(obj).__name__}, not a state dict",
                           "Save model.state_dict() with torch.save")
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise WeightsError(f"Cannot use weights {label}",
                           f"it holds no tensors (keys: {', '.join(map(str, list(obj)[:_SHOWN]))})",
                           "Pass a checkpoint that contains the model's state dict")
    if len(state) < len(obj):
        notes.append(f"ignored {len(obj) - len(state)} non-tensor entries")
    for prefix in _PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
            notes.append(f"stripped {prefix!r} prefix")
    counters = [k for k in state if k.rsplit(".", 1)[-1] in ("total_ops", "total_params")]
    for k in counters:
        del state[k]
    if counters:
        notes.append(f"dropped {len(counters)} thop counters")
    # timm's checkpoint_filter_fn: 'bn.' -> 'bn1.' inside ghost modules (GhostNet v2/v3 exports)
    return {(k.replace("bn.", "bn1.") if "bn." in k and ".ghost" in k else k): v
            for k, v in state.items()}, notes
