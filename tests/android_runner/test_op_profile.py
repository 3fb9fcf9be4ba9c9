"""Per-operator profiles (``--enable_op_profiling=true``) on the fixtures in tests/data/benchmark_model:
the current per-XNNPACK-operator form, the older single-delegate-node forms, layouts with and
without the ``[start]`` column, copies that lost their tabs or carry logcat prefixes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostedge.android_runner.op_profile import has_op_profile, parse_op_profile

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "benchmark_model"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_current_form_one_row_per_xnnpack_operator() -> None:
    prof = parse_op_profile(text("11_op_profiling_xnnpack_per_op.txt"))
    assert prof.form == "per_operator" and not prof.has_start_column
    rows = prof.operators
    assert len(rows) == 14 and prof.primary.nodes_executed == prof.primary.nodes_observed == 14
    first, stem, last = rows[0], rows[1], rows[-1]
    assert (first.node_type, first.index, first.outputs, first.delegated) == ("QUANTIZE", 0, ["tfl.quantize"], False)
    assert (stem.node_type, stem.name) == ("Convolution (NHWC, QC8) IGEMM", "Delegate/Convolution (NHWC, QC8) IGEMM:0")
    assert (stem.delegated, stem.index, stem.first_ms, stem.avg_ms, stem.percent, stem.times_called) == (
        True, 0, 0.412, 0.398, 31.167, 1)
    assert (last.node_type, last.index, last.outputs) == ("SOFTMAX", 11, ["StatefulPartitionedCall:0"])
    assert [r.index for r in rows if r.delegated] == list(range(12))
    assert rows[-1].cdf_percent == 100.0
    # the rows add up to the profiled run: 1277 µs in the short summary; cells have 3 decimals
    assert prof.total_ms == pytest.approx(1.277)
    assert sum(r.per_run_ms for r in rows) == pytest.approx(1.277, abs=0.0005 * len(rows))
    assert sum(r.percent for r in rows) == pytest.approx(100.0, abs=0.0005 * len(rows))
    assert prof.primary.timings_us == {"count": 768, "first": 1360, "curr": 1194, "min": 1194, "max": 1360,
                                       "avg": 1277, "std": 4}


def test_top_by_time_and_summary_by_node_type() -> None:
    prof = parse_op_profile(text("11_op_profiling_xnnpack_per_op.txt"))
    top = prof.primary.top_by_time
    assert len(top) == 10 and [r.avg_ms for r in top] == sorted((r.avg_ms for r in top), reverse=True)
    summary = {r.node_type: r for r in prof.primary.by_node_type}
    assert sum(r.count for r in summary.values()) == 14
    assert summary["Copy (NC, X8)"].count == 4 and summary["Copy (NC, X8)"].avg_ms == 0.098
    assert summary["Convolution (NHWC, QC8) DWConv"].times_called == 2
    for node_type, total in prof.type_totals_ms().items():  # rows and summary agree (3-decimal cells)
        assert total == pytest.approx(summary[node_type].avg_ms, abs=0.0005 * summary[node_type].count)


def test_initialization_section() -> None:
    prof = parse_op_profile(text("11_op_profiling_xnnpack_per_op.txt"))
    (init,) = prof.init
    assert [(r.node_type, r.name, r.times_called) for r in init.run_order] == [
        ("ModifyGraphWithDelegate", "ModifyGraphWithDelegate/0", 1), ("AllocateTensors", "AllocateTensors/0", 2)]
    assert init.run_order[1].per_run_ms == pytest.approx(1.392)
    assert init.total_ms == pytest.approx(18.707)  # "count=1 curr=18707"


def test_older_form_one_delegate_node() -> None:
    prof = parse_op_profile(text("12_op_profiling_delegate_node.txt"))
    assert prof.form == "delegate_node"
    (node,) = prof.operators
    assert (node.node_type, node.index, node.outputs, node.is_delegate_kernel) == (
        "TfLiteXNNPackDelegate", 178, ["probabilities"], True)
    assert prof.delegate_nodes == [node] and node.percent == 100.0
    assert prof.total_ms == pytest.approx(6.987)


def test_start_column_layout_and_gpu_node() -> None:
    prof = parse_op_profile(text("16_gpu_delegate_op_profiling_start_column.txt"))
    assert prof.has_start_column and prof.form == "delegate_node"
    (node,) = prof.operators
    assert (node.node_type, node.start_ms, node.first_ms, node.avg_ms) == ("TfLiteGpuDelegateV2", 0.0, 5.117, 4.263)
    assert [r.start_ms for r in prof.init[0].run_order] == [0.0, 1.702]


@pytest.mark.parametrize("damage", ["expandtabs", "logcat"])
def test_copies_without_tabs_or_with_logcat_prefixes(damage: str) -> None:
    original = text("11_op_profiling_xnnpack_per_op.txt")
    if damage == "expandtabs":
        copy = original.expandtabs(8)
    else:
        copy = "".join(f"05-30 13:04:39.021 25935 25935 I tflite  : {line}\n" for line in original.splitlines())
    assert "\t" not in copy or damage == "logcat"
    want, got = parse_op_profile(original), parse_op_profile(copy)
    assert got.to_dict() == want.to_dict()


def test_tf1_layout_names_without_index() -> None:
    sample = """Operator-wise Profiling Info for Regular Benchmark Runs:
============================== Run Order ==============================
                     [node type]                  [start]         [first]        [avg ms]            [%]          [cdf%]          [mem KB]      [times called]  [Name]
                        DELEGATE                    0.000          21.227          21.287        91.329%         91.329%             0.000              1       [rnn/cell_0/BiasAdd]
                           SPLIT                   21.287           0.015           0.013         0.056%         91.385%             0.000              1       [rnn/split, rnn/split:1]
"""
    prof = parse_op_profile(sample)
    assert prof.has_start_column and prof.form == "delegate_node"
    assert [(r.node_type, r.start_ms, r.index, r.name) for r in prof.operators] == [
        ("DELEGATE", 0.0, None, "[rnn/cell_0/BiasAdd]"), ("SPLIT", 21.287, None, "[rnn/split, rnn/split:1]")]


def test_subgraphs_and_delegate_internal() -> None:
    header = "\t             [node type]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]"
    sample = "\n".join([
        "INFO: Operator-wise Profiling Info for Regular Benchmark Runs:",
        "Primary graph (name: main) profile:",
        "============================== Run Order ==============================", header,
        "\t                   WHILE\t    2.000\t    2.000\t100.000%\t100.000%\t     0.000\t        1\t[out]:3", "",
        "Timings (microseconds): count=4 first=2000 curr=2000 min=1990 max=2010 avg=2000 std=7",
        "Memory (bytes): count=0", "1 nodes observed", "",
        "Subgraph (index: 1, name: body) profile:",
        "============================== Run Order ==============================", header,
        "\t                 CONV_2D\t    1.500\t    1.400\t100.000%\t100.000%\t     0.000\t        3\t[h]:0", "",
        "Subgraph (index: 1, name: body) Timings (microseconds): count=4 curr=4200(all same)",
        "Memory (bytes): count=0", "1 nodes observed", "",
        "Delegate internal: ",
        "============================== Run Order ==============================", header,
        "\t        DelegateOpInvoke\t    0.900\t    0.800\t100.000%\t100.000%\t     0.000\t        1\tDelegate/Convolution (NHWC, F32) GEMM:0",
        "", "Timings (microseconds): count=4 first=900 curr=800 min=780 max=900 avg=830 std=40",
        "Memory (bytes): count=0", "1 nodes observed", "", "", "INFO: Saving benchmark result to: /x"])
    prof = parse_op_profile(sample)
    assert [(g.subgraph, g.subgraph_name) for g in prof.runs] == [(0, "main"), (1, "body")]
    assert prof.primary.subgraph_name == "main" and prof.form == "no_delegate"
    assert prof.runs[1].run_order[0].per_run_ms == pytest.approx(4.2) and prof.runs[1].total_ms == pytest.approx(4.2)
    internal = prof.delegate_internal
    assert internal is not None and internal.run_order[0].delegated and internal.total_ms == pytest.approx(0.83)


@pytest.mark.parametrize("sample", [
    "", "\n\n", "\x00\xff garbage", "Operator-wise Profiling Info for Regular Benchmark Runs:\n",
    "Operator-wise Profiling Info for Regular Benchmark Runs:\n== Run Order ==\n\t[node type]\t[first]\n\tX\tnot-a-number\n",
    text("04_tf2.16plus_android_info_prefix_percentiles.txt"),
])
def test_no_or_broken_profile_never_raises(sample: str) -> None:
    prof = parse_op_profile(sample)
    assert prof.form == "empty" and prof.operators == [] and prof.total_ms is None


def test_cut_short_keeps_what_was_printed() -> None:
    full = text("11_op_profiling_xnnpack_per_op.txt")
    row_start = full.rindex("\n", 0, full.index("Delegate/Copy (NC, X8):3")) + 1
    cut = full[:row_start + 60]  # ends inside the 5th row's numbers
    prof = parse_op_profile(cut)
    assert [r.index for r in prof.operators if r.delegated] == [0, 1, 2]  # the partial row is dropped
    assert prof.primary.by_node_type == [] and prof.primary.timings_us == {}


def test_has_op_profile_and_to_dict() -> None:
    assert has_op_profile(text("12_op_profiling_delegate_node.txt"))
    assert not has_op_profile(text("13_unknown_flag.txt"))
    data = json.loads(json.dumps(parse_op_profile(text("11_op_profiling_xnnpack_per_op.txt")).to_dict()))
    assert data["form"] == "per_operator" and data["total_ms"] == pytest.approx(1.277)
    assert data["runs"][0]["run_order"][1]["name"] == "Delegate/Convolution (NHWC, QC8) IGEMM:0"
