"""Reports are written all or nothing; a write that fails says which path and what to do, and
leaves no report file (and no staged file) behind."""
from __future__ import annotations

import errno

import pytest

from ghostedge.cli.main import main
from ghostedge.device_bench import reportfiles
from ghostedge.device_bench.plan import BenchPlan, describe_model
from ghostedge.device_bench.runner import run_plan
from ghostedge.errors import DiskFullError


@pytest.fixture()
def saved(tmp_path, tiny_models, scripted_backend):
    folder = tmp_path / "bench"
    run_plan(BenchPlan([describe_model(m) for m in tiny_models], threads=[1, 2], repeats=2),
             scripted_backend(), folder / "results.jsonl")
    return folder


def _fail_on(monkeypatch, name):
    real = reportfiles._writers

    def writers(summary, plot):
        out = real(summary, plot)
        key = next(k for k, (n, _) in out.items() if n == name)

        def full(path, _name=out[key][0]):
            path.write_bytes(b"x" * 10)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        out[key] = (out[key][0], full)
        return out

    monkeypatch.setattr(reportfiles, "_writers", writers)


@pytest.mark.parametrize("failing", ["table.csv", "latency.png", "summary.json"])
def test_a_full_disk_leaves_no_report_file(saved, monkeypatch, capsys, failing):
    _fail_on(monkeypatch, failing)
    before = sorted(p.name for p in saved.iterdir())
    assert main(["report", str(saved)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: Cannot write the report files in") and "is full" in err[0]
    assert sorted(p.name for p in saved.iterdir()) == before == ["results.jsonl"]


def test_all_files_are_written_together(saved):
    files = reportfiles.write_reports({"schema": "x", "rows": [], "threads": [], "device": {}, "reference": []},
                                      saved, plot=False)
    assert sorted(p.name for p in files.values()) == ["summary.json", "table.csv", "table.md"]
    assert not list(saved.glob(".*staged"))


def test_os_error_is_one_line_with_the_path(saved, monkeypatch):
    _fail_on(monkeypatch, "table.md")
    with pytest.raises(DiskFullError, match="Free some space"):
        reportfiles.write_reports({"schema": "x", "rows": [], "threads": [], "device": {}, "reference": []}, saved)
