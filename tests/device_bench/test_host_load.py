"""Host load around a local run: /proc parsing from fixture texts, verdicts computed by hand."""
from __future__ import annotations

import os
import sys

import pytest

from ghostedge.device_bench.host_load import (CpuTimes, HostSample, ProcTimes, Thresholds, assess,
                                              cpu_usage, descendants, oversubscribed,
                                              parse_loadavg, parse_pid_stat, parse_proc_stat,
                                              process_loads, read_host_sample)

# Texts as a 2-vCPU Linux VM prints them (trimmed intr/ctxt lines are ignored by the parser).
PROC_STAT = """cpu  27778 0 7856 1452106 1115 0 143 21 0 0
cpu0 8890 0 2614 732605 254 0 26 10 0 0
cpu1 18887 0 5241 719501 861 0 117 11 0 0
intr 481321 0 0 0 0 0
ctxt 909414
"""
PID_STAT = ("1 (process_api) S 0 0 0 0 -1 4194560 27881 1478146 0 894 159 1099 11420 3350 10 -10 "
            "16 0 25 49696768 3424 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0")


def _cpu(user, idle, steal=0, iowait=0, system=0):
    return CpuTimes(user, 0, system, idle, iowait, 0, 0, steal)


def _proc(pid, ppid, name, ticks, started=1):
    return ProcTimes(pid, ppid, name, ticks, started)


def _sample(at, cpus, procs, load1=0.5):
    return HostSample(at, parse_loadavg(f"{load1} 0.4 0.3 1/90 999"), cpus,
                      {p.pid: p for p in procs})


# --- parsing ---------------------------------------------------------------------------------

def test_parse_loadavg():
    load = parse_loadavg("0.99 0.72 0.34 1/95 9750\n")
    assert (load.load1, load.load5, load.load15, load.runnable, load.tasks) == (0.99, 0.72, 0.34, 1, 95)
    assert parse_loadavg("") is None and parse_loadavg("a b c d e") is None


def test_parse_proc_stat_lines_and_old_kernels():
    cpus = parse_proc_stat(PROC_STAT)
    assert sorted(cpus) == ["cpu", "cpu0", "cpu1"]
    assert cpus["cpu1"] == CpuTimes(18887, 0, 5241, 719501, 861, 0, 117, 11)
    assert cpus["cpu1"].busy == 18887 + 5241 + 117 and cpus["cpu1"].total == 18887 + 5241 + 117 + 719501 + 861 + 11
    old = parse_proc_stat("cpu  10 1 5 100\n")          # 2.4 kernels: 4 columns
    assert old["cpu"] == CpuTimes(10, 1, 5, 100, 0, 0, 0, 0)


def test_parse_pid_stat_fields_and_awkward_names():
    proc = parse_pid_stat(PID_STAT)
    assert proc == ProcTimes(1, 0, "process_api", 159 + 1099, 25)
    odd = parse_pid_stat("77 (tmux: a) b) R 5 " + " ".join(["0"] * 9) + " 30 12 0 0 0 0 1 0 4242")
    assert (odd.pid, odd.ppid, odd.name, odd.ticks, odd.started) == (77, 5, "tmux: a) b", 42, 4242)
    assert parse_pid_stat("garbage") is None and parse_pid_stat("1 (x) S") is None


# --- arithmetic ------------------------------------------------------------------------------

def test_cpu_usage_over_the_usable_cpus():
    before = {"cpu": _cpu(100, 1800), "cpu0": _cpu(100, 900), "cpu1": _cpu(0, 900)}
    after = {"cpu": _cpu(250, 1840, steal=10), "cpu0": _cpu(150, 940, steal=10),
             "cpu1": _cpu(100, 900)}
    # cpu0 alone: busy 50, idle 40, steal 10 of 100 ticks
    assert cpu_usage(before, after, [0]) == {"busy": 0.5, "steal": 0.1, "iowait": 0.0, "cpus": 1.0}
    # both: busy 150 of 200 ticks
    both = cpu_usage(before, after, [0, 1])
    assert both["busy"] == 0.75 and both["cpus"] == 2.0
    # a CPU without its line: the all-CPU line, counted over the 2 cpuN lines
    assert cpu_usage(before, after, [5]) == {"busy": 0.75, "steal": 0.05, "iowait": 0.0, "cpus": 2.0}
    assert cpu_usage({}, after) is None and cpu_usage(before, before) is None


def test_process_loads_and_reused_pids():
    before = {10: _proc(10, 1, "busy", 300), 11: _proc(11, 1, "idle", 50),
              12: _proc(12, 1, "old", 1000, started=5)}
    after = {10: _proc(10, 1, "busy", 400), 11: _proc(11, 1, "idle", 50),
             12: _proc(12, 1, "new", 20, started=900), 13: _proc(13, 1, "born", 10)}
    loads = process_loads(before, after, interval_s=2.0, clk_tck=100)
    # 100 ticks in 2 s = 0.5 CPU; pid 12 is a new process (other start time): 20 ticks = 0.1
    assert [(p.pid, p.cpu) for p in loads] == [(10, 0.5), (12, 0.1), (13, 0.05)]
    assert process_loads(before, after, interval_s=0.0) == []


def test_descendants_follow_the_parent_chain():
    procs = {p.pid: p for p in [_proc(1, 0, "init", 0), _proc(5, 1, "us", 0),
                                _proc(6, 5, "child", 0), _proc(7, 6, "grandchild", 0),
                                _proc(8, 1, "other", 0)]}
    assert descendants(procs, 5) == {5, 6, 7}


# --- verdicts --------------------------------------------------------------------------------

def _run(own_ticks, other_ticks, other_name="hog", steal=0, load1=0.5, seconds=1.0):
    """A 1-s run on 2 CPUs (200 ticks): we use ``own_ticks``, another process ``other_ticks``."""
    before = _sample(0.0, {"cpu0": _cpu(0, 0), "cpu1": _cpu(0, 0)},
                     [_proc(100, 1, "python", 0), _proc(200, 1, other_name, 0)], load1)
    busy = own_ticks + other_ticks
    idle = 200 - busy - steal
    after = _sample(seconds, {"cpu0": _cpu(busy // 2, idle // 2, steal // 2),
                              "cpu1": _cpu(busy - busy // 2, idle - idle // 2, steal - steal // 2)},
                    [_proc(100, 1, "python", own_ticks), _proc(200, 1, other_name, other_ticks)],
                    load1)
    return before, after


def test_quiet_run():
    load = assess(*_run(own_ticks=100, other_ticks=5), [0, 1], own_pid=100, own_threads=1)
    assert load.verdict == "quiet" and load.reasons == []
    assert load.own_cpu == 1.0 and load.other_cpu == pytest.approx(0.05)
    assert [p.name for p in load.top] == ["hog"]
    assert load.to_dict()["other_cpu"] == 0.05


def test_busy_when_others_use_a_fifth_of_a_cpu():
    load = assess(*_run(own_ticks=100, other_ticks=20, other_name="pytest"), [0, 1], own_pid=100)
    assert load.verdict == "busy" and load.other_cpu == pytest.approx(0.2)
    assert load.reasons == ["other processes used 0.20 CPU (>= 0.2): pytest 0.20"]


def test_busy_when_unseen_work_fills_the_cpus():
    # busy time that no visible process accounts for (another container, interrupts) still counts
    before, after = _run(own_ticks=100, other_ticks=0)
    after.cpus = {"cpu0": _cpu(100, 0), "cpu1": _cpu(90, 10)}
    load = assess(before, after, [0, 1], own_pid=100)
    assert load.verdict == "busy" and load.other_cpu == pytest.approx(0.9) and load.top == []


def test_busy_on_steal_and_on_load():
    stolen = assess(*_run(own_ticks=100, other_ticks=0, steal=10), [0, 1], own_pid=100)
    assert stolen.steal == pytest.approx(0.05) and stolen.reasons[0].startswith("steal 5.0%")
    # load 4.2 with 1 thread of ours on 2 CPUs: (4.2 - 1) / 2 = 1.6 per CPU >= 1.5
    loaded = assess(*_run(own_ticks=100, other_ticks=0, load1=4.2), [0, 1], own_pid=100,
                    own_threads=1)
    assert loaded.verdict == "busy" and "1.60 per usable CPU" in loaded.reasons[0]
    lenient = assess(*_run(own_ticks=100, other_ticks=0, load1=4.2), [0, 1], own_pid=100,
                     own_threads=1, thresholds=Thresholds(load_per_cpu=2.0))
    assert lenient.verdict == "quiet"


def test_unknown_without_proc():
    load = assess(None, None, [0])
    assert load.verdict == "unknown" and "not readable" in load.reasons[0] and not load.quiet


def test_oversubscribed():
    assert oversubscribed(4, 2) and not oversubscribed(2, 2) and not oversubscribed(1, 0)


# --- the thin reader -------------------------------------------------------------------------

def test_read_host_sample_from_a_proc_tree(tmp_path):
    (tmp_path / "stat").write_text(PROC_STAT)
    (tmp_path / "loadavg").write_text("0.99 0.72 0.34 1/95 9750\n")
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "stat").write_text(PID_STAT)
    (tmp_path / "2").mkdir()                       # a process that ended while being read
    (tmp_path / "self").mkdir()
    sample = read_host_sample(str(tmp_path), clock=lambda: 42.0)
    assert sample.at == 42.0 and sample.loadavg.load1 == 0.99
    assert sorted(sample.cpus) == ["cpu", "cpu0", "cpu1"] and list(sample.procs) == [1]
    assert read_host_sample(str(tmp_path / "missing")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc exists on Linux only")
def test_read_host_sample_on_this_linux_host_sees_this_process():
    sample = read_host_sample()
    assert os.getpid() in sample.procs and "cpu" in sample.cpus
