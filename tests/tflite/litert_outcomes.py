"""What the real LiteRT runtime does with .tflite files, found safely in child processes.

:func:`runtime_outcomes` loads the files in turn in one child (load, allocate, one invoke on zeros);
when a file kills it, a new child goes on with the next file. The child may use 4 GiB of address
space at most, so that a damaged shape cannot eat the machine.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

_CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
import numpy as np
from ai_edge_litert.interpreter import Interpreter
for i, path in enumerate(sys.argv[2:], int(sys.argv[1])):
    print(json.dumps({"begin": i}), flush=True)
    try:
        it = Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
        for d in it.get_input_details():
            it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        it.invoke()
        out = "ok"
    except Exception as exc:
        out = "error: " + (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    print(json.dumps({"end": i, "outcome": out}), flush=True)
"""


def runtime_outcomes(paths: Sequence[Path], timeout_s: float = 300) -> List[str]:
    """For each file: "ok", "error: <LiteRT's last line>" or "crash (SIGSEGV)" (the signal)."""
    outcomes: List[str] = []
    while len(outcomes) < len(paths):
        start = len(outcomes)
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(start), *map(str, paths[start:])],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout_s)
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            if "end" in record:
                outcomes.append(record["outcome"])
        if len(outcomes) < len(paths):  # the file after the last one reported killed the child
            code = proc.returncode
            outcomes.append(f"crash ({signal.Signals(-code).name})" if code < 0
                            else f"crash (exit code {code})")
    return outcomes
