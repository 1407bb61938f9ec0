"""NW-UCLA (cross-view) and UTD-MHAD (cross-subject) datasets against the real files.

Oracles: the protocol sizes and class counts are counted here from the file names with plain Python;
clip values come from the json module / scipy.io.loadmat directly.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from skelaug.data import NWUCLA, UTDMHAD

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
UCLA_ROOT = SHARED / "data" / "nwucla"
UTD = SHARED / "fixtures" / "utd_mhad_mat"
needs_ucla = pytest.mark.skipif(
    not (UCLA_ROOT / "all_sqe").is_dir(), reason=f"NW-UCLA not found at {UCLA_ROOT} (set SKELAUG_SHARED)"
)
needs_utd = pytest.mark.skipif(not UTD.is_dir(), reason=f"UTD-MHAD fixtures not found at {UTD}")
UCLA_CODES = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 8: 6, 9: 7, 11: 8, 12: 9}


@pytest.fixture(scope="module")
def ucla(tmp_path_factory):
    cache = tmp_path_factory.mktemp("nwucla-cache")
    return {s: NWUCLA(UCLA_ROOT, split=s, cache_dir=cache) for s in ("train", "test")}, cache


@needs_ucla
def test_nwucla_cross_view_sizes_and_classes(ucla):
    ds, _ = ucla
    names = sorted(p.stem for p in (UCLA_ROOT / "all_sqe").glob("*.json"))
    view = {n: int(n.split("_")[3][1:]) for n in names}
    code = {n: int(n.split("_")[0][1:]) for n in names}
    assert len(ds["train"]) == 1020 and len(ds["test"]) == 464
    assert [f.stem for f in ds["train"].files] == [n for n in names if view[n] in (1, 2)]
    assert [f.stem for f in ds["test"].files] == [n for n in names if view[n] == 3]
    for split, views in (("train", (1, 2)), ("test", (3,))):
        expected = collections.Counter(UCLA_CODES[code[n]] for n in names if view[n] in views)
        assert dict(collections.Counter(ds[split].labels.tolist())) == dict(expected)
        assert set(ds[split].views.tolist()) == set(views)
        assert set(ds[split].subjects.tolist()) == set(range(1, 11))
    assert len(ds["train"].class_names) == 10 and ds["train"].layout == "kinect20"
    assert NWUCLA(UCLA_ROOT / "all_sqe", split="test", train_views=(1, 3)).views.tolist() == [2] * 504


@needs_ucla
def test_nwucla_validation_split_leaves_the_test_view_out(tmp_path):
    cache = tmp_path  # not the module's cache: another test counts its files
    names = sorted(p.stem for p in (UCLA_ROOT / "all_sqe").glob("*.json"))
    view = {n: int(n.split("_")[3][1:]) for n in names}
    tr = NWUCLA(UCLA_ROOT, split="train", train_views=(1,), test_views=(2,), cache_dir=cache)
    va = NWUCLA(UCLA_ROOT, split="test", train_views=(1,), test_views=(2,), cache_dir=cache)
    assert [f.stem for f in tr.files] == [n for n in names if view[n] == 1] and len(tr) == 516
    assert [f.stem for f in va.files] == [n for n in names if view[n] == 2] and len(va) == 504
    assert len(NWUCLA(UCLA_ROOT, split=None, train_views=(1,), test_views=(2,), cache_dir=cache)) == len(names)


@needs_ucla
def test_nwucla_items_match_json(ucla):
    ds, _ = ucla
    te = ds["test"]
    lengths = [len(json.loads(f.read_text())["skeletons"]) for f in te.files]
    np.testing.assert_array_equal(te.lengths, lengths)
    for i in (0, 17, int(np.argmax(te.lengths)), int(np.argmin(te.lengths))):
        obj = json.loads(te.files[i].read_text())
        ref = np.array(obj["skeletons"], dtype=np.float32)
        item = te[i]
        n = len(ref)
        assert item["data"].shape == (1, 64, 20, 3) and item["data"].dtype == torch.float32
        assert item["label"] == obj["label"] - 1 and item["view"] == 3
        assert item["subject"] == int(te.files[i].stem.split("_")[1][1:])
        if n <= 64:
            assert item["length"] == n
            np.testing.assert_array_equal(item["data"][0, :n].numpy(), ref)
            assert not item["data"][0, n:].any()
        else:  # centre crop
            a = (n - 64) // 2
            assert item["length"] == 64
            np.testing.assert_array_equal(item["data"][0].numpy(), ref[a : a + 64])


@needs_ucla
def test_nwucla_cache_is_used_and_keyed_by_files(ucla, tmp_path):
    ds, cache = ucla
    files = list(cache.glob("nwucla_json_*.npz"))
    assert len(files) == 2  # one per split
    again = NWUCLA(UCLA_ROOT, split="test", cache_dir=cache)
    for a, b in zip(again.clips, ds["test"].clips, strict=True):
        np.testing.assert_array_equal(a, b)
    # a copy with one edited clip gets a new cache entry and the edited values
    root = tmp_path / "ucla"
    (root / "all_sqe").mkdir(parents=True)
    for f in ds["test"].files[:3]:
        shutil.copy(f, root / "all_sqe" / f.name)
    first = NWUCLA(root, split="test", cache_dir=cache)
    obj = json.loads(first.files[0].read_text())
    obj["skeletons"][0][0] = [9.0, 9.0, 9.0]
    first.files[0].write_text(json.dumps(obj))
    edited = NWUCLA(root, split="test", cache_dir=cache)
    assert edited.clips[0][0, 0, 0].tolist() == [9.0, 9.0, 9.0]
    assert len(list(cache.glob("nwucla_json_*.npz"))) == 4


def test_nwucla_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="all_sqe"):
        NWUCLA(tmp_path)
    (tmp_path / "all_sqe").mkdir()
    (tmp_path / "all_sqe" / "a01_s01_e00_v01.json").write_text(
        json.dumps({"file_name": "a01_s01_e00_v01", "skeletons": [[[0.0, 1.0, 3.0]] * 20], "label": 2})
    )
    with pytest.raises(ValueError, match="disagrees with action a01"):
        NWUCLA(tmp_path)
    with pytest.raises(ValueError, match="train_views"):
        NWUCLA(tmp_path, train_views=(4,))
    for bad in ((1,), (), (4,)):
        with pytest.raises(ValueError, match=r"test_views=.*shares no view with train_views"):
            NWUCLA(tmp_path, train_views=(1, 2), test_views=bad)
    with pytest.raises(ValueError, match="split"):
        NWUCLA(tmp_path, split="val")  # type: ignore[arg-type]


@needs_utd
def test_utd_cross_subject_split_and_items(tmp_path):
    tr = UTDMHAD(UTD, split="train", cache_dir=tmp_path)
    te = UTDMHAD(UTD, split="test")
    # fixtures: a5_s2_t1, a12_s7_t3, a20_s4_t2, a27_s5_t1 -> odd subjects 7, 5 train; 2, 4 test
    assert [f.name for f in tr.files] == ["a12_s7_t3_skeleton.mat", "a27_s5_t1_skeleton.mat"]
    assert [f.name for f in te.files] == ["a5_s2_t1_skeleton.mat", "a20_s4_t2_skeleton.mat"]
    assert tr.labels.tolist() == [11, 26] and te.labels.tolist() == [4, 19]
    assert len(UTDMHAD(UTD, split=None)) == 4 and len(tr.class_names) == 27
    for ds in (tr, te):
        for i, f in enumerate(ds.files):
            raw = scipy.io.loadmat(f)["d_skel"]
            item = ds[i]
            n = raw.shape[2]
            assert item["length"] == n == ds.lengths[i] and item["data"].shape == (1, 128, 20, 3)
            # kinect20 head (3) is UTD row 0, hip_center (0) UTD row 3, left_elbow (5) unchanged
            for k20, utd in ((3, 0), (0, 3), (5, 5)):
                np.testing.assert_array_equal(item["data"][0, :n, k20].numpy(), raw[utd].T.astype(np.float32))
            assert item["trial"] == int(f.name.split("_")[2][1:])
    cached = UTDMHAD(UTD, split="train", cache_dir=tmp_path)
    np.testing.assert_array_equal(cached.clips[1], tr.clips[1])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no aA_sS_tT_skeleton\.mat"):
        UTDMHAD(empty)
