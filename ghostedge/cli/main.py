"""``ghostedge`` entry point: a thin argparse layer over the library.

Each command lives in ``ghostedge/cli/<name>.py`` with ``register(subparsers, common)`` that adds
its parser and sets ``func`` to ``run(args, out) -> int``. Command modules import nothing heavy
at module level (torch/tensorflow load only inside ``run``).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import signal
import sys
import threading
import traceback
from typing import Any, Iterator, List, Optional

from ghostedge import __version__
from ghostedge.cli.output import Output
from ghostedge.errors import GhostEdgeError

EPILOG = """\
examples:
  ghostedge convert --int8 --calib ~/imagenet/val      # verified FP32 + INT8 .tflite in ./ghostedge-out
  ghostedge bench --device SERIAL --threads 1 2 4      # on-phone latency, PaddleClas-style table
  ghostedge eval --data ~/imagenet/val ghostedge-out/ghostnet_100.int8.tflite
  ghostedge predict photo.jpg --model ghostedge-out/ghostnet_100.int8.tflite
  ghostedge models --json

Run `ghostedge COMMAND --help` for a command's options. Errors are one line on stderr with a
non-zero exit code; --debug shows the traceback.
"""

_USER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG, errno.EROFS, errno.EACCES, errno.EPERM}
COMMANDS = ["models", "convert", "eval", "predict", "inspect", "check", "devices", "bench", "report"]


class _LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        return f"{level}: {record.getMessage()}"


def common_parser() -> argparse.ArgumentParser:
    """Options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more log lines (-vv: debug)")
    g.add_argument("-q", "--quiet", action="store_true", help="no human output; only errors and warnings")
    g.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghostedge",
        description="GhostNet from PyTorch to phones: convert to verified TFLite (FP32/FP16/INT8), "
                    "evaluate, and benchmark over adb.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ghostedge {__version__}")
    g = parser.add_argument_group("output (also accepted after the command)")
    g.add_argument("--json", dest="global_json", action="store_true",
                   help="print the result as JSON on stdout")
    g.add_argument("-v", "--verbose", dest="global_verbose", action="count", default=0,
                   help="more log lines (-vv: debug)")
    g.add_argument("-q", "--quiet", dest="global_quiet", action="store_true",
                   help="no human output; only errors and warnings")
    g.add_argument("--debug", dest="global_debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_parser()
    for name in COMMANDS:
        importlib.import_module(f"ghostedge.cli.{name}").register(sub, common)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING  # also with --quiet: warnings always show
    if quiet:
        pass
    elif verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    root = logging.getLogger("ghostedge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, treated as Ctrl-C is: temporary files and outputs cleaned up, finished
    results kept, the phone cleaned."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, _frame: Any) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP interrupt it like Ctrl-C (the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, _raise_terminated)
        except (OSError, ValueError):  # not settable here
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args.json = args.json or args.global_json
    args.verbose = max(args.verbose, args.global_verbose)
    args.quiet = args.quiet or args.global_quiet
    args.debug = args.debug or args.global_debug
    _setup_logging(args.verbose, args.quiet)
    # TensorFlow (INT8 step) prints CUDA/oneDNN start-up noise on a CPU-only machine.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3" if not args.debug else "0")
    out = Output(json_mode=args.json, quiet=args.quiet)
    try:
        with signals_as_interrupts():
            return int(args.func(args, out) or 0)
    except GhostEdgeError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `ghostedge models | head`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno not in _USER_ERRNOS:
            return _unexpected(exc, args.debug)
        from ghostedge.fileio import os_error

        err = os_error(exc, "Cannot read or write a file", exc.filename or ".")
        if args.debug:
            traceback.print_exc()
        print(f"error: {err.one_line()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        if args.debug:
            traceback.print_exc()
        print(f"error: interrupted ({name}); partial outputs were removed and finished results kept",
              file=sys.stderr)
        return 128 + int(signum)
    except Exception as exc:  # noqa: BLE001 - last line of defence for the one-line contract
        return _unexpected(exc, args.debug)


def _unexpected(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback, "
          "and report it)", file=sys.stderr)
    return 1
