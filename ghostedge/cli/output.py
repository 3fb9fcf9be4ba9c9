"""The CLI's one output sink: human text or ``--json`` data on stdout, diagnostics on stderr."""
from __future__ import annotations

import json
import sys
from typing import Any, Callable, Optional, TextIO, Union


class Output:
    """Where every command writes its result. Library code never prints; commands call this."""

    def __init__(self, json_mode: bool = False, quiet: bool = False,
                 stream: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr

    def print(self, text: str = "") -> None:
        """Human text (suppressed in --json mode and with --quiet)."""
        if not self.json_mode and not self.quiet:
            print(text, file=self.stream)

    def result(self, data: Any, human: Union[str, Callable[[], str], None] = None) -> None:
        """The command's result: JSON document in --json mode, else the human rendering."""
        if self.json_mode:
            json.dump(data, self.stream, indent=2, default=str)
            self.stream.write("\n")
        elif human is not None and not self.quiet:
            print(human() if callable(human) else human, file=self.stream)

    def warn(self, text: str) -> None:
        """A warning on stderr (kept in --json mode so stdout stays machine-readable)."""
        print(f"warning: {text}", file=self.err)
