"""Every numeric option of bench is range-checked and refused with one line, never replaced; the
protocols' defaults; delegates."""
from __future__ import annotations

import pytest

from ghostedge.cli.main import main
from ghostedge.device_bench.options import PROTOCOLS, check_delegates, number, protocol_changes, resolve_options
from ghostedge.errors import UsageError

# (flag, bad values): 0/negative/NaN/inf/words/fractions where a whole number is needed, above the top
BAD = [
    ("--run-timeout", ["0", "-5", "nan", "inf", "abc", "86401"]),
    ("--repeats", ["0", "-1", "1.5", "nan", "1001"]),
    ("--warmup-runs", ["-1", "2.5", "nan"]),
    ("--num-runs", ["0", "-3", "1e3x", "nan"]),
    ("--min-secs", ["-0.1", "nan", "151", "inf"]),
    ("--warmup-min-secs", ["-1", "nan", "500"]),
    ("--cooldown-temp", ["0", "-10", "150", "nan"]),
    ("--cooldown-delta", ["0", "-2", "51", "nan"]),
    ("--cooldown-max-wait", ["-1", "3601", "nan"]),
    ("--adaptive-budget", ["-1", "nan", "inf"]),
    ("--max-repeats", ["0", "1.5", "nan", "2"]),   # 2 < the 6 repeats of the strict protocol
    ("--wait-quiet", ["-1", "3601", "nan"]),
    ("--threads", ["0", "-2", "257"]),
]


@pytest.mark.parametrize("flag, value", [(f, v) for f, values in BAD for v in values])
def test_bench_refuses_out_of_range_numbers_with_one_line(flag, value, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)   # nothing may be written anywhere
    monkeypatch.setenv("ANDROID_SERIAL", "NOPHONE")   # never reached: options are checked first
    code = main(["bench", "model.tflite", "--device", "local", flag, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: Invalid " + flag) or err[0].startswith("error: Invalid --threads"), err
    assert list(tmp_path.iterdir()) == []


def test_number_bounds_and_kinds():
    assert number("--x", "3", 0, 10, integer=True) == 3
    assert number("--x", 2.5, 0, 10) == 2.5
    assert number("--x", "0", 0, 10) == 0.0
    for bad in (True, None, "1,5", float("nan"), float("-inf")):
        with pytest.raises(UsageError):
            number("--x", bad, 0, 10)
    with pytest.raises(UsageError, match="more than 0"):
        number("--x", 0, 0, 10, low_open=True)
    with pytest.raises(UsageError, match="whole number"):
        number("--x", "2.0", 0, 10, integer=True)


def test_protocol_defaults_fill_only_what_is_not_given():
    strict = resolve_options()
    assert (strict.repeats, strict.num_runs, strict.min_secs, strict.adaptive_budget) == (6, 50, 1.0, 60.0)
    assert strict.threads == [1, 2, 4] and strict.protocol.headline == "median"
    paddle = resolve_options("paddlelite")
    assert (paddle.warmup_runs, paddle.num_runs, paddle.repeats, paddle.min_secs) == (10, 30, 1, 0.0)
    assert paddle.protocol.affinity == "none" and not paddle.protocol.cooldown and paddle.adaptive_budget == 0
    assert paddle.protocol.headline == "mean" and PROTOCOLS["paddlelite"].threads == (1, 2, 4)
    given = resolve_options("paddlelite", repeats="3", num_runs=40)
    assert (given.repeats, given.num_runs) == (3, 40)
    with pytest.raises(UsageError, match="Unknown protocol"):
        resolve_options("fast")
    with pytest.raises(UsageError, match="contradict"):
        resolve_options(cooldown=False, cooldown_temp=40)


def test_tables_say_where_the_plan_departs_from_its_protocol():
    strict = {"protocol": "strict", "repeats": 6, "warmup_runs": 10, "num_runs": 50, "min_secs": 1.0,
              "warmup_min_secs": 0.5, "adaptive": {"budget_s": 60.0}, "cooldown": {"mode": "baseline"}}
    assert protocol_changes(strict) == []
    changed = dict(strict, repeats=1, min_secs=0, adaptive={"budget_s": 0}, cooldown={"mode": "off"})
    assert protocol_changes(changed) == ["repeats 1 (protocol: 6)", "min secs 0 (protocol: 1)",
                                         "adaptive budget 0 s (protocol: 60 s)", "no cool-down"]
    assert "no cool-down" not in protocol_changes(changed, phones=False)   # no thermal gate on a host
    paddle = {"protocol": "paddlelite", "repeats": 1, "warmup_runs": 10, "num_runs": 30, "min_secs": 0.0,
              "warmup_min_secs": 0.0, "adaptive": {"budget_s": 0.0}, "cooldown": {"mode": "off"}}
    assert protocol_changes(paddle) == [] and protocol_changes(dict(paddle, num_runs=100)) == [
        "num runs 100 (protocol: 30)"]
    assert protocol_changes({"protocol": "unknown", "repeats": 3}) == []


def test_delegates():
    assert check_delegates(["CPU", "gpu"]) == ["cpu", "gpu"]
    with pytest.raises(UsageError, match="Unknown delegate 'hexagon'"):
        check_delegates(["cpu", "hexagon"])
    with pytest.raises(UsageError, match="repeated"):
        check_delegates(["gpu", "gpu"])


def test_unknown_delegate_on_the_command_line_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "m.tflite", "--device", "SERIAL", "--delegate", "cpu", "tpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Unknown delegate 'tpu'" in err[0] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, words", [
    (["--delegate", "gpu"], "needs a phone"), (["--op-profile"], "--op-profile needs a phone"),
    (["--memory"], "--memory needs a phone"), (["--device", "SERIAL"], "cannot be combined"),
])
def test_phone_only_options_on_local_are_refused(tiny_models, tmp_path, capsys, args, words):
    extra = ["--device", "local"] + (["SERIAL"] if args == ["--device", "SERIAL"] else args)
    assert main(["bench", str(tiny_models[0]), *extra, "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and not (tmp_path / "o").exists()
