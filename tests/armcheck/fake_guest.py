"""A guest script for the runner tests (run by the fake qemu with the host Python): the real
guest, except that a task with "crash" kills the process with SIGSEGV (what LiteRT does on a bad
cpuinfo), one with "hang" starts a child process and then stops reporting, and one with
"perturb" changes its saved output by ``perturb`` (an ARM build that computes otherwise)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np

from ghostedge.armcheck import guest

_real_run_task = guest.run_task


def run_task(task, np_module):
    if task.get("crash"):
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    if task.get("hang"):
        child = subprocess.Popen(["sleep", "300"])
        with open(task["hang"], "w") as fh:
            fh.write(f"{os.getpid()} {child.pid}\n")
        time.sleep(300)
    result = _real_run_task(task, np_module)
    if task.get("perturb") and result.get("ok"):
        y = np.load(task["output"])
        flat = y.reshape(-1)
        if y.dtype.kind in "iu":
            flat[1] = flat[1] + int(task["perturb"])
        else:
            flat[1] = flat[1] + np.float32(task["perturb"])
        np.save(task["output"], y)
    return result


guest.run_task = run_task

if __name__ == "__main__":
    guest.main()
