"""Errors of ``ghostedge check`` (subclasses of :class:`ghostedge.errors.GhostEdgeError`)."""
from __future__ import annotations

from ghostedge.errors import GhostEdgeError


class ArmCheckError(GhostEdgeError):
    """A model cannot be checked on ARM code (bad file, unsupported interface, guest failure)."""


class ArmSetupError(ArmCheckError):
    """The emulated ARM runtime cannot be prepared (offline, no apt, no disk space, unwritable
    cache, download or unpack failure)."""
