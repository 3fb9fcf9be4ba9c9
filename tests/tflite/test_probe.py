"""The child-process load probe: a crash, a refusal or a hang of the native runtime becomes one
clear InvalidModelError; the child never outlives the probe (timeout, Ctrl-C, SIGTERM); each file
is probed once per process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ghostedge.errors import InvalidModelError
from ghostedge.tflite import probe
from ghostedge.tflite.probe import clear_probe_cache, probe_load
from tflite.damage import DAMAGES, TINY_APP, TINY_FP32, TINY_INT8

ROOT = Path(__file__).resolve().parents[2]
ENDLESS = ROOT / "tests" / "data" / "tflite" / "endless_while.tflite"  # a WHILE that never ends


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_probe_cache()
    yield
    clear_probe_cache()


@pytest.fixture()
def children(monkeypatch):
    """The Popen objects the probe starts."""
    started = []
    real = subprocess.Popen

    def record(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(probe.subprocess, "Popen", record)
    return started


def damaged(name: str, tmp_path: Path) -> Path:
    source, damage, _ = DAMAGES[name]
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(damage(source.read_bytes()))
    return path


def gone(pid: int, within_s: float = 10) -> bool:
    """True once ``pid`` has exited (a zombie not yet reaped by its new parent counts as exited)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def test_valid_models_load_and_run_and_are_probed_once(children):
    for path in (TINY_FP32, TINY_INT8, TINY_APP):
        probe_load(path)
        probe_load(path, invoke=False)  # covered by the run that invoked it
        probe_load(str(path))
    assert len(children) == 3
    assert all(c.returncode == 0 for c in children)


def test_a_crash_of_the_runtime_becomes_an_error_naming_the_signal(tmp_path, children):
    """A subgraph's tensors offset pointing 1 GB past the file: LiteRT 2.1 dies of SIGSEGV."""
    path = damaged("offset_outside", tmp_path)
    with pytest.raises(InvalidModelError) as info:
        probe_load(path, verify=False)
    text = str(info.value)
    assert text.startswith(f"{path} cannot be loaded: the TFLite runtime (ai-edge-litert")
    assert "crashed (SIG" in text and "while loading it" in text and "\n" not in text
    with pytest.raises(InvalidModelError, match="crashed"):
        probe_load(path, verify=False)  # the cached verdict
    assert len(children) == 1


def test_the_structural_check_comes_first_and_names_the_damage(tmp_path, children):
    path = damaged("truncated_at_half", tmp_path)
    with pytest.raises(InvalidModelError, match="cut short"):
        probe_load(path)
    assert children == []


def test_a_refusal_of_the_runtime_is_its_own_last_line(tmp_path):
    """Structurally sound, but the convolution has no options (stride 0): LiteRT says so."""
    from tflite.damage import repack, set_options

    path = tmp_path / "no_options.tflite"
    path.write_bytes(repack(TINY_FP32.read_bytes(), lambda m: set_options(m, 0, None)))
    with pytest.raises(InvalidModelError) as info:
        probe_load(path)
    assert "refused it while allocating its tensors: " in str(info.value)
    assert "stride" in str(info.value)


def test_a_replaced_file_is_probed_again(tmp_path, children):
    path = tmp_path / "m.tflite"
    path.write_bytes(TINY_FP32.read_bytes())
    probe_load(path)
    path.write_bytes(DAMAGES["offset_outside"][1](TINY_APP.read_bytes()))
    with pytest.raises(InvalidModelError, match="crashed"):
        probe_load(path, verify=False)
    assert len(children) == 2


def test_a_hang_is_killed_at_the_timeout(children):
    """A valid model whose WHILE loop never ends on zeros: the runtime hangs in invoke."""
    started = time.monotonic()
    with pytest.raises(InvalidModelError, match="did not finish loading and running it within 2 s"):
        probe_load(ENDLESS, timeout_s=2)
    assert time.monotonic() - started < 30
    assert children[0].returncode == -signal.SIGKILL and gone(children[0].pid)
    probe_load(ENDLESS, invoke=False)  # a timeout is not cached; loading alone is fine


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.tflite"
    os.mkfifo(fifo)
    with pytest.raises(InvalidModelError, match="not a regular file"):
        probe_load(fifo, verify=False)


PARENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from ghostedge.tflite.probe import probe_load
    print("probing", flush=True)
    probe_load(sys.argv[1], timeout_s=120)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_no_child_outlives_a_stopped_parent(sig):
    """Ctrl-C makes the parent kill the child; SIGTERM and SIGKILL (no Python handler runs) leave
    it to the kernel (PR_SET_PDEATHSIG)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(root=str(ROOT)), str(ENDLESS)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert parent.stdout.readline().strip() == b"probing"
        child = None
        deadline = time.monotonic() + 30
        while child is None and time.monotonic() < deadline:
            found = [int(pid) for task in Path(f"/proc/{parent.pid}/task").iterdir()
                     for pid in (task / "children").read_text().split()]
            child = found[0] if found else time.sleep(0.05)
        assert child, "the probe started no child"
        time.sleep(1.0)  # let the child reach its endless invoke
        parent.send_signal(sig)
        parent.wait(timeout=30)
        assert gone(child), f"child {child} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
