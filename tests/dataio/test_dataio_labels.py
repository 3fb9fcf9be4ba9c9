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


def test_read_labels_file(tmp_path):
    f = tmp_path / "labels.txt"
    f.write_text("\ufeffcat\n\n  dog  \r\nbird\n", encoding="utf-8")
    assert labels.read_labels_file(f) == ["cat", "dog", "bird"]
    f.write_text("größe\nçà\n", encoding="utf-8")
    assert labels.read_labels_file(f) == ["größe", "çà"]


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"\n  \n", "empty"),
                                           (b"caf\xe9\n", "not UTF-8")])
def test_bad_labels_files(tmp_path, content, match):
    f = tmp_path / "labels.txt"
    f.write_bytes(content)
    with pytest.raises(DataError, match=match):
        labels.read_labels_file(f)


def test_missing_labels_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        labels.read_labels_file(tmp_path / "none.txt")
    with pytest.raises(DataError, match="not a file"):
        labels.read_labels_file(tmp_path)
