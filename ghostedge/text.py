"""Small wording helpers shared by messages and tables."""
from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """``1 image``, ``2 images`` (regular plurals)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
