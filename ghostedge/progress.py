"""Progress bars for long work (stderr, hidden when not a terminal or when disabled)."""
from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars are shown on a terminal unless GHOSTEDGE_NO_PROGRESS is set."""
    return sys.stderr.isatty() and not os.environ.get("GHOSTEDGE_NO_PROGRESS")


def progress(iterable: Iterable[T], total: Optional[int] = None, desc: str = "",
             unit: str = "it") -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr when enabled; otherwise yield it unchanged."""
    if not progress_enabled():
        yield from iterable
        return
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a base dependency, but never fail for a bar
        yield from iterable
        return
    yield from tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, file=sys.stderr)
