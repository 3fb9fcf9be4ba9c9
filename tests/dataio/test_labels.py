"""ImageNet class names / WordNet ids package data and label files."""
from __future__ import annotations

import pytest

from ghostedge.data import labels
from ghostedge.errors import DataError


def test_imagenet_names_and_wnids_agree_with_known_classes():
    names, wnids = labels.imagenet_class_names(), labels.imagenet_wnids()
    assert len(names) == len(wnids) == 1000 == len(set(wnids))
    assert wnids == sorted(wnids)  # ILSVRC2012 class index order
    index = labels.wnid_to_index()
    # well-known anchors of the standard order
    for wnid, i, name in [("n01440764", 0, "tench"), ("n01443537", 1, "goldfish"),
                          ("n02123045", 281, "tabby"), ("n04592741", 908, "wing"),
                          ("n15075141", 999, "toilet tissue")]:
        assert index[wnid] == i and names[i] == name


def test_wnid_helpers():
    assert labels.looks_like_wnid("n01440764") and not labels.looks_like_wnid("cat")
    assert not labels.looks_like_wnid("n0144076")
    assert labels.imagenet_index_of_wnid("n02123045") == 281
    with pytest.raises(DataError, match="n99999999 is not an ImageNet-1k class"):
        labels.imagenet_index_of_wnid("n99999999")


def test_read_labels_one_rule(tmp_path):
    """One rule for every labels file: UTF-8 (BOM ignored), names trimmed, blank lines at the end
    ignored, a blank line before the last name refused (it would shift every later class)."""
    f = tmp_path / "labels.txt"
    f.write_text("\ufeffcat\n  dog  \r\nbird\n\n", encoding="utf-8")
    assert labels.read_labels(f) == ["cat", "dog", "bird"]
    f.write_text("größe\nçà", encoding="utf-8")
    assert labels.read_labels(f) == ["größe", "çà"]
    f.write_text("cat\n\ndog\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty line 2"):
        labels.read_labels(f)
    assert labels.parse_labels(b"a\r\nb\r\n") == ["a", "b"]


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"\n  \n", "empty"),
                                           (b"caf\xe9\n", "not UTF-8"),
                                           (b"cat\n\xff\xfedog\n", "not UTF-8.*line 2")])
def test_bad_labels_files(tmp_path, content, match):
    f = tmp_path / "labels.txt"
    f.write_bytes(content)
    with pytest.raises(DataError, match=match):
        labels.read_labels(f)


def test_missing_labels_file(tmp_path):
    with pytest.raises(DataError, match="Cannot read labels file"):
        labels.read_labels(tmp_path / "none.txt")
    with pytest.raises(DataError, match="is a folder"):
        labels.read_labels(tmp_path)


def test_validate_and_default_labels():
    assert labels.validate_labels(["x", "y"], 2) == ["x", "y"]
    with pytest.raises(DataError, match="3 labels for 2 classes"):
        labels.validate_labels(["x", "y", "z"], 2)
    with pytest.raises(DataError, match="Label 2 .* is empty"):
        labels.validate_labels(["x", " "], 2)
    names = labels.default_labels(1000)
    assert len(names) == 1000 and names[0] == "tench"
    assert labels.default_labels(3) == ["class_0", "class_1", "class_2"]
    assert labels.labels_file_bytes(["a", "b"]) == b"a\nb\n"
