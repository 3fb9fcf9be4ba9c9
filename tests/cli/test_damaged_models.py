"""Damaged .tflite files given to every command that reads one (inspect, predict, eval, bench
--device local, check): each ends with one `error:` line and a non-zero exit — never a crash — and
leaves no output behind. The files (tests/data/tflite/damaged, made by make_damaged.py there) crash
the real LiteRT interpreter when loaded in-process; more are cut from a good model here."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
DAMAGED = sorted((DATA / "tflite" / "damaged").glob("*.tflite"))
GOOD = DATA / "device_bench" / "tiny_conv.fp32.tflite"


def _cut(tmp_path: Path, fraction: float) -> Path:
    """The good tiny model cut short: it still starts with a valid TFL3 header."""
    data = GOOD.read_bytes()
    path = tmp_path / f"cut_{int(fraction * 100)}.tflite"
    path.write_bytes(data[:int(len(data) * fraction)])
    return path


def _run(argv, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a child process, so a crash would show as a signal exit code, not kill pytest."""
    return subprocess.run([sys.executable, "-m", "ghostedge", *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "GHOSTEDGE_NO_PROGRESS": "1"})


def _one_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode not in (0, -11, 139, -7, 135, -6, 134), (proc.returncode, proc.stderr[-2000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "report it" not in errors[0]
    return errors[0]


@pytest.fixture()
def photo_folder(tmp_path) -> Path:
    from ghostedge.data.preprocess import bundled_photos

    folder = tmp_path / "data" / "n01440764"
    folder.mkdir(parents=True)
    shutil.copyfile(bundled_photos()[0], folder / "a.png")
    return tmp_path / "data"


def _cases(tmp_path: Path):
    cases = [tmp_path / p.name for p in DAMAGED]
    for src, dest in zip(DAMAGED, cases):
        shutil.copyfile(src, dest)
    return cases + [_cut(tmp_path, f) for f in (0.3, 0.75, 0.99)]


def test_the_damaged_files_are_there():
    assert len(DAMAGED) >= 5


@pytest.mark.slow
def test_inspect_predict_eval_and_local_bench_refuse_damaged_models(tmp_path, photo_folder):
    from ghostedge.data.preprocess import bundled_photos

    photo = bundled_photos()[0]
    for model in _cases(tmp_path):
        before = sorted(p.name for p in tmp_path.iterdir())
        line = _one_error(_run(["inspect", model], tmp_path))
        assert model.name in line and ("complete" in line or "valid" in line or "damaged" in line), line
        _one_error(_run(["predict", photo, "--model", model], tmp_path))
        _one_error(_run(["eval", "--data", photo_folder, model], tmp_path))
        _one_error(_run(["bench", model, "--device", "local", "--threads", "1", "--output", tmp_path / "b"],
                        tmp_path))
        assert sorted(p.name for p in tmp_path.iterdir()) == before, "left files behind"


def test_inspect_in_process_raises_the_one_error(tmp_path):
    import ghostedge

    for model in _cases(tmp_path):
        with pytest.raises(ghostedge.GhostEdgeError, match=r"not a (complete|valid) \.tflite model"):
            ghostedge.inspect(model)
