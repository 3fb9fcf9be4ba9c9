"""Put benchmark_model and a model on a fake phone and run it there through the real adb client,
as ghostedge does (``taskset MASK BINARY --graph=MODEL FLAGS 2>&1``): for tests of the fake itself
and for quick checks by hand."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

from fakephone.harness import FakePhone, write_fake_benchmark_binary

REMOTE = "/data/local/tmp/ghostedge"


def deploy(phone: FakePhone, workdir: Path, model: Path, remote_dir: str = REMOTE) -> str:
    """Push a placeholder benchmark_model (chmod 755) and ``model`` as ``model.tflite``; returns the
    device path of the model."""
    binary = write_fake_benchmark_binary(Path(workdir) / "bin" / "benchmark_model")
    adb = phone.sandbox.adb
    adb("-s", phone.serial, "push", str(binary), f"{remote_dir}/benchmark_model")
    adb("-s", phone.serial, "push", str(model), f"{remote_dir}/model.tflite")
    adb("-s", phone.serial, "shell", "chmod", "755", f"{remote_dir}/benchmark_model")
    return f"{remote_dir}/model.tflite"


def run_benchmark(phone: FakePhone, flags: str, mask: str = "f0", remote_dir: str = REMOTE,
                  timeout: float = 60) -> Tuple[str, int]:
    """benchmark_model's merged output and exit status. Raises ValueError when the output ends
    without the exit status (the phone vanished) and RuntimeError when adb itself fails."""
    script = (f"taskset {mask} {remote_dir}/benchmark_model --graph={remote_dir}/model.tflite {flags} 2>&1; "
              f"echo FAKEPHONE_RC=$?")
    text = phone.sandbox.adb("-s", phone.serial, "shell", script, timeout=timeout).stdout
    body, marker, rc = text.rpartition("FAKEPHONE_RC=")
    if not marker:
        raise ValueError(f"no exit status from {phone.serial}: the output ends with {text[-200:]!r}")
    return body, int(rc.strip())
