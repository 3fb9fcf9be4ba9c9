"""Dataset layouts, sampling and pixel loading with generated JPEG/PNG files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ghostedge.data import folders, sampling
from ghostedge.data.preprocess import get_preset
from ghostedge.errors import DataError

TENCH, GOLDFISH, TABBY = "n01440764", "n01443537", "n02123045"


def _image(path: Path, seed: int = 0, size=(40, 30), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(arr).convert(mode)
    img.save(path, quality=90) if path.suffix.lower() in (".jpg", ".jpeg") else img.save(path)
    return path


def _tree(root: Path, classes, per_class=3, ext=".JPEG") -> Path:
    for c, name in enumerate(classes):
        for i in range(per_class):
            _image(root / name / f"{name}_{i}{ext}", seed=c * 100 + i)
    return root


def test_imagefolder_with_wnids_and_junk(tmp_path):
    root = _tree(tmp_path / "data", [TENCH, GOLDFISH])
    (root / TENCH / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / TENCH / "readme.txt").write_text("not an image")
    (root / GOLDFISH / ".hidden.jpg").write_text("hidden")
    _image(root / GOLDFISH / "nested" / "deep.png", seed=9)
    ds = folders.load_dataset(root)
    assert ds.layout == "imagefolder" and ds.labeled and ds.imagenet
    assert ds.num_classes == 1000 and ds.class_names[1] == "goldfish"
    assert len(ds.samples) == 3 + 1 + 3 + 1  # broken.jpg is listed (skipped at load time)
    assert {label for _, label in ds.samples} == {0, 1}
    assert all(p.parent.name == TENCH for p, label in ds.samples if label == 0)
    pixels, labels, skipped = sampling.load_pixels_skipping(ds.samples, "torchvision")
    assert pixels.shape == (7, 224, 224, 3) and pixels.dtype == np.uint8
    assert [p.name for p, _ in skipped] == ["broken.jpg"] and skipped[0][1]
    assert labels.tolist() == [lb for p, lb in ds.samples if p.name != "broken.jpg"]


def test_val_and_train_children(tmp_path):
    _tree(tmp_path / "imagenet" / "train", [TENCH])
    _tree(tmp_path / "imagenet" / "val", [GOLDFISH])
    ds = folders.load_dataset(tmp_path / "imagenet")
    assert ds.root == tmp_path / "imagenet" / "val" and {lb for _, lb in ds.samples} == {1}
    assert "val/" in ds.notes[0]
    _tree(tmp_path / "only_train" / "train", [TABBY])
    assert {lb for _, lb in folders.load_dataset(tmp_path / "only_train").samples} == {281}


def test_integer_class_folders(tmp_path):
    ds = folders.load_dataset(_tree(tmp_path / "ints", ["0", "281", "999"], per_class=1))
    assert sorted(lb for _, lb in ds.samples) == [0, 281, 999] and ds.imagenet
    _tree(tmp_path / "ints", ["1000"], per_class=1)
    with pytest.raises(DataError, match="outside ImageNet's 0..999"):
        folders.load_dataset(tmp_path / "ints")


def test_arbitrary_class_names_map_in_sorted_order(tmp_path):
    ds = folders.load_dataset(_tree(tmp_path / "pets", ["dog", "cat", "ant"], per_class=2, ext=".png"))
    assert ds.num_classes == 3 and ds.class_names == ["ant", "cat", "dog"] and not ds.imagenet
    assert all(ds.class_names[lb] == p.parent.name for p, lb in ds.samples)


def test_unknown_or_mixed_wnids_are_refused(tmp_path):
    _tree(tmp_path / "a", [TENCH, "n99999999"], per_class=1)
    with pytest.raises(DataError, match="n99999999 is not an ImageNet-1k class"):
        folders.load_dataset(tmp_path / "a")
    _tree(tmp_path / "b", [TENCH, "cats"], per_class=1)
    with pytest.raises(DataError, match="mix WordNet ids and other names"):
        folders.load_dataset(tmp_path / "b")


def _val_folder(root: Path, n=4) -> Path:
    for i in range(1, n + 1):
        _image(root / f"ILSVRC2012_val_{i:08d}.JPEG", seed=i)
    return root


def test_flat_val_with_loc_solution_csv(tmp_path):
    root = _val_folder(tmp_path / "val")
    (root / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\n"
        f"ILSVRC2012_val_00000001,{TABBY} 1 2 3 4 {TABBY} 5 6 7 8\n"
        f"ILSVRC2012_val_00000002,{TENCH} 1 2 3 4\n"
        f"ILSVRC2012_val_00000003,{GOLDFISH} 1 2 3 4\n"
        f"ILSVRC2012_val_00000099,{GOLDFISH} 1 2 3 4\n")
    ds = folders.load_dataset(root)
    assert ds.layout == "imagenet-val" and ds.imagenet and ds.labeled
    assert [(p.name[-10:], lb) for p, lb in ds.samples] == [
        ("00001.JPEG", 281), ("00002.JPEG", 0), ("00003.JPEG", 1)]
    assert any("without ground truth" in n for n in ds.notes)  # image 4 is not in the csv


def test_flat_val_with_val_txt_in_parent(tmp_path):
    """PaddleClas layout: ILSVRC2012/val/*.JPEG and ILSVRC2012/val_list.txt with 'val/<file> <index>'."""
    root = tmp_path / "ILSVRC2012"
    _val_folder(root / "val", n=2)
    (root / "val_list.txt").write_text("val/ILSVRC2012_val_00000001.JPEG 65\n"
                                       "val/ILSVRC2012_val_00000002.JPEG 970\n")
    ds = folders.load_dataset(root)  # val/ is picked, ground truth found beside it
    assert [lb for _, lb in ds.samples] == [65, 970]


def test_flat_val_bad_ground_truth(tmp_path):
    root = _val_folder(tmp_path / "val", n=1)
    (root / "val.txt").write_text("ILSVRC2012_val_00000001.JPEG 1000\n")
    with pytest.raises(DataError, match="Label 1000 on line 1 .* outside 0..999"):
        folders.load_dataset(root)
    (root / "val.txt").unlink()
    (root / "LOC_val_solution.csv").write_text("ImageId,PredictionString\nILSVRC2012_val_00000001,n00000001 1 2\n")
    with pytest.raises(DataError, match="n00000001 is not an ImageNet-1k class"):
        folders.load_dataset(root)


def test_flat_val_without_ground_truth_is_unlabeled(tmp_path):
    (tmp_path / "ILSVRC2012_validation_ground_truth.txt").write_text("490\n361\n")
    ds = folders.load_dataset(_val_folder(tmp_path / "val", n=2))
    assert ds.layout == "imagenet-val" and not ds.labeled and ds.num_classes is None
    assert any("devkit ids" in n for n in ds.notes)
    with pytest.raises(DataError, match="has no labels"):
        folders.load_labeled_dataset(tmp_path / "val")


def test_list_file(tmp_path):
    _image(tmp_path / "imgs" / "a b.jpg", 1)
    _image(tmp_path / "imgs" / "c.png", 2)
    lst = tmp_path / "val_list.txt"
    lst.write_text("# comment\nimgs/a b.jpg 3\n\nimgs/c.png 7\nimgs/missing.jpg 7\n")
    ds = folders.load_dataset(lst)
    assert ds.layout == "list" and ds.labeled and ds.num_classes == 8
    assert [(p.name, lb) for p, lb in ds.samples] == [("a b.jpg", 3), ("c.png", 7), ("missing.jpg", 7)]
    assert any("missing" in n for n in ds.notes)
    _, labels, skipped = sampling.load_pixels_skipping(ds.samples, "torchvision")
    assert labels.tolist() == [3, 7] and [p.name for p, _ in skipped] == ["missing.jpg"]


@pytest.mark.parametrize("text,match", [("imgs/x.jpg 1000\n", "outside 0..999"),
                                        ("imgs/x.jpg -1\n", "outside 0..999"),
                                        ("imgs/x.jpg\n", "Bad line 1"),
                                        ("imgs/x.jpg cat\n", "Bad line 1"),
                                        ("\n# nothing\n", "empty"),
                                        ("imgs/gone.jpg 1\n", "No image listed")])
def test_bad_list_files(tmp_path, text, match):
    _image(tmp_path / "imgs" / "x.jpg")
    (tmp_path / "list.txt").write_text(text)
    with pytest.raises(DataError, match=match):
        folders.load_dataset(tmp_path / "list.txt")


def test_flat_folder_is_unlabeled_and_converts_modes(tmp_path):
    _image(tmp_path / "f" / "gray.png", 1, mode="L")
    _image(tmp_path / "f" / "cmyk.jpg", 2, mode="CMYK")
    _image(tmp_path / "f" / "alpha.png", 3, mode="RGBA")
    _image(tmp_path / "f" / "pal.png", 4, mode="P")
    ds = folders.load_dataset(tmp_path / "f")
    assert ds.layout == "flat" and not ds.labeled and len(ds.samples) == 4
    pixels, labels, skipped = sampling.load_pixels_skipping(ds.samples, get_preset("torchvision"))
    assert pixels.shape == (4, 224, 224, 3) and not skipped and (labels == -1).all()
    with pytest.raises(DataError, match="has no labels"):
        folders.load_labeled_dataset(tmp_path / "f")


def test_layout_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        folders.load_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty"):
        folders.load_dataset(tmp_path / "empty")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    (tmp_path / "docs" / "sub").mkdir()
    with pytest.raises(DataError, match="No images"):
        folders.load_dataset(tmp_path / "docs")
    with pytest.raises(DataError, match="single file"):
        folders.load_dataset(_image(tmp_path / "one.jpg"))


def _labeled(tmp_path, classes=("c0", "c1", "c2"), per_class=5):
    return folders.load_dataset(_tree(tmp_path / "ds", list(classes), per_class=per_class, ext=".png"))


def test_sample_is_seeded_and_class_balanced(tmp_path):
    ds = _labeled(tmp_path)
    a = sampling.sample(ds, 6, seed=1)
    assert a == sampling.sample(ds, 6, seed=1)
    assert sorted(lb for _, lb in a) == [0, 0, 1, 1, 2, 2]
    assert {tuple(sampling.sample(ds, 6, seed=s)) for s in range(5)} != {tuple(a)}
    assert sampling.sample(ds, 15, seed=3) != sampling.sample(ds, 15, seed=4)
    assert sorted(sampling.sample(ds, 15, seed=3)) == sorted(ds.samples)
    rest = sampling.sample(ds, 9, seed=1, exclude=[p for p, _ in a])
    assert not {p for p, _ in rest} & {p for p, _ in a}
    assert sorted(lb for _, lb in rest) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_sample_unlabeled_and_errors(tmp_path):
    ds = folders.load_dataset(_val_folder(tmp_path / "val", n=5))
    assert len(set(sampling.sample(ds, 5, seed=0))) == 5
    for n in (0, -3):
        with pytest.raises(DataError, match="at least 1"):
            sampling.sample(ds, n)
    with pytest.raises(DataError, match="only 5 were found"):
        sampling.sample(ds, 6)
    with pytest.raises(DataError, match="only 3 were found .2 excluded"):
        sampling.sample(ds, 4, exclude=ds.samples[:2])


def test_file_list_sha256_is_location_independent(tmp_path):
    ds = _labeled(tmp_path, per_class=2)
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(tmp_path / "ds", copy)
    other = folders.load_dataset(copy)
    picked = sampling.sample(ds, 4, seed=2)
    assert sampling.file_list_sha256(picked) == sampling.file_list_sha256(sampling.sample(other, 4, seed=2))
    assert sampling.file_list_sha256(picked) != sampling.file_list_sha256(picked[::-1])
    assert len(sampling.file_list_sha256(picked)) == 64


def test_load_sample_pixels_replaces_unreadable_files(tmp_path):
    ds = _labeled(tmp_path, classes=("a", "b"), per_class=3)
    for p, _ in ds.samples[:2]:
        p.write_bytes(b"garbage")
    pixels, labels, used, skipped = sampling.load_sample_pixels(ds, 4, "torchvision", seed=0)
    assert pixels.shape == (4, 224, 224, 3) and len(used) == 4 and len(skipped) <= 2
    assert labels.tolist() == [lb for _, lb in used]
    with pytest.raises(DataError, match="Only 4 usable images .* 5 asked"):
        sampling.load_sample_pixels(ds, 5, "torchvision", seed=0)


def _photo(path: Path) -> None:
    from ghostedge.data.preprocess import bundled_photos

    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundled_photos()[0], path)


def test_a_folder_link_loop_counts_each_image_once(tmp_path):
    """A link from a class folder back to the dataset root must not make one image count as many."""
    root = tmp_path / "ds"
    _photo(root / "cat" / "a.png")
    (root / "cat" / "loop").symlink_to(root, target_is_directory=True)
    (root / "cat" / "self").symlink_to(root / "cat", target_is_directory=True)
    ds = folders.load_dataset(root)
    assert len(ds.samples) == 1
    assert any("loop back" in note for note in ds.notes), ds.notes


def test_links_to_one_image_count_once_and_are_named(tmp_path):
    root = tmp_path / "ds"
    _photo(root / "cat" / "a.png")
    _photo(root / "dog" / "b.png")
    (root / "cat" / "a_again.png").symlink_to(root / "cat" / "a.png")
    (root / "dog" / "stolen.png").symlink_to(root / "cat" / "a.png")   # the same image under another class
    ds = folders.load_dataset(root)
    assert sorted(p.name for p, _ in ds.samples) == ["a.png", "b.png"]
    assert any("2 path(s) leading to an image already listed" in n for n in ds.notes), ds.notes
    assert any("another class" in n for n in ds.notes), ds.notes


def test_a_flat_folder_and_a_list_file_never_repeat_an_image(tmp_path):
    flat = tmp_path / "flat"
    _photo(flat / "a.png")
    (flat / "b.png").symlink_to(flat / "a.png")
    assert len(folders.load_dataset(flat).samples) == 1
    listed = tmp_path / "list"
    _photo(listed / "img" / "a.png")
    (listed / "train.txt").write_text("img/a.png 3\nimg/../img/a.png 3\n")
    ds = folders.load_dataset(listed / "train.txt")
    assert len(ds.samples) == 1 and any("already listed" in n for n in ds.notes)
