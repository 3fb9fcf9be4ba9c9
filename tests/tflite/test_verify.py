"""The structural .tflite verifier: valid models pass with their layout, every class of damaged
file is a one-line InvalidModelError, and the real LiteRT runtime never crashes on a file the
verifier passed (it does crash, in a child process, on many that the verifier refuses)."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from ghostedge.errors import InvalidModelError
from ghostedge.tflite import flatbuf
from ghostedge.tflite.probe import probe_load
from ghostedge.tflite.verify import verify_tflite_bytes, verify_tflite_file
from tflite.damage import DAMAGES, TINY_APP, TINY_FP32, TINY_INT8, model, mutate, repack, zero_tail
from tflite.litert_outcomes import runtime_outcomes

DATA = Path(__file__).resolve().parents[1] / "data"
VALID = sorted(p for p in DATA.rglob("*.tflite") if p.parent.name != "damaged")
DAMAGED = sorted((DATA / "tflite" / "damaged").glob("*.tflite"))
SMALL = [TINY_FP32, TINY_INT8, TINY_APP, DATA / "adb" / "tiny_fc.tflite"]


def refusal(path: Path) -> str:
    with pytest.raises(InvalidModelError) as info:
        verify_tflite_file(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path)), text
    return text


# -- valid models ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_model_of_the_project_passes_with_its_counts(path):
    layout = verify_tflite_file(path)
    m = model(path.read_bytes())
    sg = [m.Subgraphs(i) for i in range(m.SubgraphsLength())]
    assert layout.subgraph_count == len(sg)
    assert layout.tensor_count == sum(s.TensorsLength() for s in sg)
    assert layout.operator_count == sum(s.OperatorsLength() for s in sg)
    assert layout.buffer_count == m.BuffersLength()
    assert layout.operator_code_count == m.OperatorCodesLength()
    assert layout.signature_count == m.SignatureDefsLength()
    assert 0 < layout.flatbuffer_end <= layout.file_size == path.stat().st_size
    assert layout.to_dict()["file_size"] == layout.file_size


def test_a_model_with_control_flow_passes():
    """WHILE with its condition and body subgraphs (their indices in WhileOptions are checked)."""
    layout = verify_tflite_file(DATA / "tflite" / "endless_while.tflite")
    assert (layout.subgraph_count, layout.operator_count) == (3, 4)


@pytest.mark.parametrize("path", DAMAGED, ids=lambda p: p.name)
def test_the_committed_damaged_fixtures_are_refused(path):
    assert "Re-export or re-download the model" in refusal(path)


def test_bytes_of_any_kind_verify_alike():
    data = TINY_INT8.read_bytes()
    layouts = {verify_tflite_bytes(x, "m") for x in (data, bytearray(data), memoryview(data))}
    assert len(layouts) == 1


def test_appended_zip_of_associated_files_is_reported_not_refused(tmp_path):
    """TFLite Metadata appends a zip of labels after the flatbuffer."""
    data = TINY_APP.read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("labels.txt", "cat\ndog\n")
    path = tmp_path / "with_labels.tflite"
    path.write_bytes(data + archive.getvalue())
    layout = verify_tflite_file(path)
    assert (layout.flatbuffer_end, layout.appended_zip) == (len(data), True)
    assert layout.trailing_bytes == len(archive.getvalue())
    assert layout.metadata_names == ("min_runtime_version", "CONVERSION_METADATA")
    assert verify_tflite_file(TINY_APP).appended_zip is False


def external_data_model(cut: int = 0) -> bytes:
    """TINY_APP with its constant data stored after the flatbuffer (Buffer.offset/size, the layout
    of models over 2 GB), the file then cut by ``cut`` bytes."""
    moved = {}

    def take(m):
        for i, b in enumerate(m.buffers):
            if b.data is not None and len(b.data):
                moved[i] = bytes(bytearray(b.data))
                b.data, b.offset, b.size = None, 2, 2  # placeholders of the final width

    flat = repack(TINY_APP.read_bytes(), take)
    base, blob, where = (len(flat) + 15) // 16 * 16, bytearray(), {}
    for i, data in moved.items():
        blob += bytes(-(base + len(blob)) % 16)
        where[i] = (base + len(blob), len(data))
        blob += data

    def place(m):
        for i, (offset, size) in where.items():
            m.buffers[i].offset, m.buffers[i].size = offset, size

    flat = repack(flat, place)
    full = flat + bytes(base - len(flat)) + bytes(blob)
    return full[:len(full) - cut]


def test_constant_data_outside_the_flatbuffer(tmp_path):
    full = external_data_model()
    layout = verify_tflite_bytes(full)
    assert layout.external_data_bytes > 0 and layout.flatbuffer_end < len(full)
    cut = tmp_path / "external_cut.tflite"
    cut.write_bytes(external_data_model(cut=10))
    assert "external data" in refusal(cut) and "cut short" in refusal(cut)


# -- files that are not models at all ---------------------------------------------------------------
def test_missing_folder_empty_special_short_and_foreign_files(tmp_path):
    with pytest.raises(InvalidModelError, match="does not exist"):
        verify_tflite_file(tmp_path / "nope.tflite")
    with pytest.raises(InvalidModelError, match="is a folder"):
        verify_tflite_file(tmp_path)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    assert "empty" in refusal(empty)
    fifo = tmp_path / "fifo.tflite"
    os.mkfifo(fifo)
    with pytest.raises(InvalidModelError, match="not a regular file"):
        verify_tflite_file(fifo)  # never opened: reading a FIFO would block
    short = tmp_path / "short.tflite"
    short.write_bytes(b"\x1c\x00\x00")
    assert "only 3 bytes" in refusal(short)
    text = tmp_path / "notes.tflite"
    text.write_text("these are not the weights you are looking for\n")
    assert "TFL3 identifier" in refusal(text)


def test_huge_files_of_zeros_are_refused_without_reading_them(tmp_path):
    """Sparse 3 GiB files (beyond what 32-bit flatbuffer offsets address): all zeros, and zeros
    behind a TFL3 header."""
    zeros = tmp_path / "zeros.tflite"
    with open(zeros, "wb") as fh:
        fh.truncate(3 << 30)
    assert "TFL3 identifier" in refusal(zeros)
    headed = tmp_path / "headed.tflite"
    with open(headed, "wb") as fh:
        fh.write(b"\x00\x00\x00\x00TFL3")
        fh.truncate(3 << 30)
    assert "may not point to itself" in refusal(headed)


# -- damaged models ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_each_class_of_damage_is_one_clear_line(name, tmp_path):
    source, damage, phrase = DAMAGES[name]
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(damage(source.read_bytes()))
    text = refusal(path)
    assert phrase in text, text
    assert text.endswith("Re-export or re-download the model.") or "TFL3" in text, text


@pytest.mark.parametrize("source", SMALL, ids=lambda p: p.name)
def test_cut_at_every_point_and_zero_filled_from_every_point(source, tmp_path):
    data = source.read_bytes()
    for n in range(0, len(data), 7):
        with pytest.raises(InvalidModelError):
            verify_tflite_bytes(data[:n], "cut")
    for n in range(8, len(data) - 16, 7):  # the last bytes may be padding: zeros there are valid
        zeroed = data[:n] + bytes(len(data) - n)
        if zeroed != data:
            with pytest.raises(InvalidModelError):
                verify_tflite_bytes(zeroed, "zeroed")
    assert verify_tflite_bytes(zero_tail(data, 0)).file_size == len(data)


def test_every_table_counts_against_the_verifier_limit(monkeypatch):
    """flatbuffers' Verifier stops after max_tables tables (1,000,000) to bound its work."""
    assert verify_tflite_bytes(TINY_FP32.read_bytes()).tensor_count == 11
    monkeypatch.setattr(flatbuf, "MAX_TABLES", 20)
    with pytest.raises(InvalidModelError, match="more than the 20"):
        verify_tflite_bytes(TINY_FP32.read_bytes())


def test_the_runtime_crashes_only_on_files_the_verifier_refuses(tmp_path):
    """Every named damage, run through the real LiteRT in child processes. The printed table shows
    which would have killed ghostedge (SIGSEGV/SIGBUS in ai-edge-litert 2.1.0; see
    tests/data/tflite/README.md); none of them is accepted by the verifier."""
    paths = []
    for name, (source, damage, _) in sorted(DAMAGES.items()):
        paths.append(tmp_path / f"{name}.tflite")
        paths[-1].write_bytes(damage(source.read_bytes()))
    paths.append(tmp_path / "external_cut.tflite")
    paths[-1].write_bytes(external_data_model(cut=10))
    outcomes = runtime_outcomes(paths)
    for path, outcome in zip(paths, outcomes):
        print(f"{path.stem:40s} {outcome[:70]}")
        if outcome.startswith("crash"):
            refusal(path)
    assert len(outcomes) == len(paths)


@pytest.mark.slow
@pytest.mark.parametrize("source", SMALL, ids=lambda p: p.name)
def test_random_damage_that_passes_the_verifier_is_caught_by_the_probe(source, tmp_path):
    """600 seeded random damages per model. Those the verifier passes run in LiteRT; a few of them
    still crash it (a graph inconsistent in ways no structural check sees, e.g. an input whose rank
    was changed): for these the probe (the second line of defence) must give a clear error.
    Earlier findings of this search became verifier checks (scales and zero points, required
    inputs, constant sizes, absurd shapes)."""
    data, passed = source.read_bytes(), []
    for seed in range(600):
        bad = mutate(data, seed)
        try:
            verify_tflite_bytes(bad)
        except InvalidModelError:
            continue
        passed.append(tmp_path / f"{seed}.tflite")
        passed[-1].write_bytes(bad)
    outcomes = runtime_outcomes(passed)
    crashed = [p for p, o in zip(passed, outcomes) if o.startswith("crash")]
    print(f"{len(passed)} of 600 passed the verifier; {len(crashed)} of those crashed LiteRT")
    for path in crashed:
        with pytest.raises(InvalidModelError, match="crashed"):
            probe_load(path)
    assert len(outcomes) == len(passed)


def test_the_verifier_s_schema_facts_match_litert_s_generated_schema():
    """The hand-kept tables of verify_tables against ai-edge-litert's schema_py_generated, so that
    an upgrade of LiteRT that changes the schema shows here."""
    import inspect

    from ai_edge_litert import schema_py_generated as schema

    from ghostedge.tflite import verify_tables as facts

    def enum(cls):
        return {v: k for k, v in vars(cls).items() if not k.startswith("_")}

    types = enum(schema.TensorType)
    assert facts.TYPE_NAMES == tuple(types[i] for i in range(len(types)))
    ops = enum(schema.BuiltinOperator)
    assert facts.MAX_BUILTIN_CODE == max(ops) and ops[facts.CUSTOM_CODE] == "CUSTOM"
    assert all(ops[code] == name for code, (name, _) in facts.REQUIRED_INPUTS.items())
    for union, (top, spec) in (("BuiltinOptions", facts.UNIONS["builtin_options"]),
                               ("BuiltinOptions2", facts.UNIONS["builtin_options_2"])):
        members = enum(getattr(schema, union))
        assert top == max(members)
        for index, fields in spec.items():
            source = inspect.getsource(getattr(schema, members[index]))
            for slot, code in fields:
                reader = source.split(f"self._tab.Offset({slot}))", 1)[1].split("def ", 1)[0]
                expected = "String(" if code == "s" else "Get(" if code == "g" else "Vector("
                assert expected in reader, (members[index], slot, code)
