"""PysklDataset and the memory-mapped STGCNDataset, on small files written into tmp_path."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest
import torch

from skelaug import augment as A
from skelaug.data import PysklDataset, STGCNDataset
from skelaug.io import SkeletonSequence
from skelaug.io._base import SkeletonFormatError
from skelaug.io.convert import save_pyskl, save_stgcn


def sequences(rng: np.random.Generator, n: int, layout: str = "ntu25", v: int = 25, d: int = 3,
              score: bool = True) -> list[SkeletonSequence]:
    out = []
    for _ in range(n):
        m, t = int(rng.integers(1, 4)), int(rng.integers(3, 20))
        kp = rng.normal(size=(m, t, v, d)).astype(np.float32)
        kp[rng.random((m, t, v)) < 0.1] = 0.0
        conf = rng.random((m, t, v)).astype(np.float32) if score else None
        data = np.concatenate([kp, conf[..., None]], -1) if conf is not None else kp
        out.append(SkeletonSequence(data, layout, confidence=conf))
    return out


def oracle_item(data: np.ndarray, length: int, t: int, m: int) -> tuple[np.ndarray, int]:
    """Persons cut/padded to m, frames centre-cropped or zero-padded to t (ClipDataset's rule)."""
    out = np.zeros((m, t, *data.shape[2:]), np.float32)
    k = min(m, data.shape[0])
    if length <= t:
        out[:k, :length] = data[:k, :length]
        return out, length
    a = (length - t) // 2
    out[:k] = data[:k, a:a + t]
    return out, t


# ------------------------------------------------------------------------------ pyskl
@pytest.fixture()
def pyskl_file(tmp_path):
    seqs = sequences(np.random.default_rng(0), 6)
    names = [f"S001C00{i}P001R001A00{i}" for i in range(6)]
    path = tmp_path / "ntu.pkl"
    save_pyskl(path, seqs, [0, 3, 1, 2, 3, 0], names=names,
               split={"xsub_train": names[:4], "xsub_val": names[4:]})
    return path, seqs, names


def test_pyskl_dataset_split_and_items_match_the_file(pyskl_file):
    path, seqs, names = pyskl_file
    ds = PysklDataset(path, split="xsub_train", num_frames=12, max_persons=2)
    assert len(ds) == 4 and ds.names == names[:4] and ds.layout == "ntu25"
    assert ds.labels.tolist() == [0, 3, 1, 2] and len(ds.class_names) == 4
    for i in range(4):
        item = ds[i]
        want, n = oracle_item(seqs[i].data, seqs[i].num_frames, 12, 2)
        assert item["data"].dtype == torch.float32 and item["data"].shape == (2, 12, 25, 4)
        np.testing.assert_array_equal(item["data"].numpy(), want)
        assert item["length"] == n and item["label"] == ds.labels[i] and item["frame_dir"] == names[i]
        assert item["index"] == i
    val = PysklDataset(path, split="xsub_val", with_score=False, num_frames=30)
    assert val.names == names[4:]
    np.testing.assert_array_equal(val[0]["data"].numpy()[..., :3].shape, (2, 30, 25, 3))
    assert val[0]["data"].shape[-1] == 3
    assert len(PysklDataset(path, split=None)) == 6


def test_pyskl_dataset_reads_a_plain_pyskl_pickle_and_guesses_the_layout(tmp_path):
    rng = np.random.default_rng(1)
    anns = [{"frame_dir": f"v{i}", "label": i % 2, "img_shape": (480, 640), "original_shape": (480, 640),
             "total_frames": 9, "keypoint": rng.normal(size=(1, 9, 17, 2)).astype(np.float16),
             "keypoint_score": rng.random((1, 9, 17)).astype(np.float16)} for i in range(3)]
    path = tmp_path / "k400.pkl"
    with open(path, "wb") as f:
        pickle.dump({"split": {"train": ["v0", "v2"]}, "annotations": anns}, f)
    ds = PysklDataset(path, split="train", num_frames=9, max_persons=1)
    assert ds.layout == "coco17" and ds.names == ["v0", "v2"]
    x = ds[1]["data"].numpy()
    want = np.concatenate([anns[2]["keypoint"], anns[2]["keypoint_score"][..., None]], -1).astype(np.float32)
    np.testing.assert_array_equal(x, want)


def test_pyskl_dataset_errors_name_the_fix(pyskl_file, tmp_path):
    path, _, _ = pyskl_file
    with pytest.raises(ValueError, match=r"split='xview_train'.*\['xsub_train', 'xsub_val'\]"):
        PysklDataset(path, split="xview_train")
    bad = tmp_path / "odd.pkl"
    with open(bad, "wb") as f:
        pickle.dump({"annotations": [{"frame_dir": "a", "label": 0, "keypoint": np.ones((1, 3, 7, 2))}]}, f)
    with pytest.raises(ValueError, match="7 joints x 2 dims; pass layout="):
        PysklDataset(bad)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"annotations": [], "x": pickle.PickleError}))
    with pytest.raises(SkeletonFormatError, match="refusing"):
        PysklDataset(evil)


def test_pyskl_dataset_transform_receives_item_streams(pyskl_file):
    path, _, _ = pyskl_file
    pre = A.Compose([A.CentreBody(), A.AlignView(), A.UniformSampleFrames(8)], layout="ntu25")
    ds = PysklDataset(path, split="xsub_train", num_frames=20, transform=pre)
    a, b = ds[(0, 0)], ds[(0, 0)]
    np.testing.assert_array_equal(a["data"].numpy(), b["data"].numpy())
    assert a["length"] == 8


# ------------------------------------------------------------------------------ ST-GCN
@pytest.fixture()
def stgcn_file(tmp_path):
    seqs = sequences(np.random.default_rng(2), 7, score=False)
    data = tmp_path / "train_data.npy"
    lengths = save_stgcn(data, seqs, [5, 1, 2, 0, 4, 3, 1], names=[f"s{i}" for i in range(7)], num_frames=16,
                         max_persons=2, label_path=tmp_path / "train_label.pkl")
    return data, seqs, lengths


def _is_memmap_backed(a: np.ndarray) -> bool:
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base  # type: ignore[assignment]
    return False


def test_stgcn_dataset_equals_a_full_load(stgcn_file):
    data, seqs, lengths = stgcn_file
    ds = STGCNDataset(data)                                  # finds train_label.pkl, guesses ntu25
    assert ds.layout == "ntu25" and len(ds) == 7 and ds.num_frames == 16 and ds.max_persons == 2
    assert ds.label_path.name == "train_label.pkl"
    full = np.load(data).transpose(0, 4, 2, 3, 1)             # (N, M, T, V, C), read whole
    assert _is_memmap_backed(ds.array) and not _is_memmap_backed(full)
    for i in range(7):
        item = ds[i]
        np.testing.assert_array_equal(item["data"].numpy(), full[i])
        assert item["length"] == lengths[i] and item["label"] == [5, 1, 2, 0, 4, 3, 1][i]
        assert item["name"] == f"s{i}"
    short = STGCNDataset(data, num_frames=6, max_persons=1, lengths=lengths)
    for i in range(7):
        want, n = oracle_item(full[i], int(lengths[i]), 6, 1)
        np.testing.assert_array_equal(short[i]["data"].numpy(), want)
        assert short[i]["length"] == n


def test_stgcn_dataset_does_not_read_the_whole_file(tmp_path):
    n, c, t, v, m = 120, 3, 100, 25, 2                       # 7.2 MB of float32
    big = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(n, c, t, v, m))
    big[:] = 1.0
    big.flush()
    del big
    with open(tmp_path / "big_label.pkl", "wb") as f:
        pickle.dump(([f"s{i}" for i in range(n)], [i % 3 for i in range(n)]), f)
    tracemalloc.start()
    try:
        ds = STGCNDataset(tmp_path / "big.npy", transform=None)
        for i in range(0, n, 10):
            ds.load(i)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_sample = c * t * v * m * 4
    assert peak < 10 * one_sample < n * c * t * v * m * 4 / 10
    state = pickle.dumps(ds)                                   # workers get the path, not the array
    assert len(state) < one_sample
    back = pickle.loads(state)
    np.testing.assert_array_equal(back[3]["data"].numpy(), ds[3]["data"].numpy())


def test_stgcn_dataset_errors(stgcn_file, tmp_path):
    data, _, _ = stgcn_file
    lone = tmp_path / "lone.npy"
    np.save(lone, np.zeros((2, 3, 4, 25, 1), np.float32))
    with pytest.raises(FileNotFoundError, match=r"lone_label\.pkl; pass label_path="):
        STGCNDataset(lone)
    odd = tmp_path / "odd_data.npy"
    np.save(odd, np.zeros((2, 3, 4, 7, 1), np.float32))
    with open(tmp_path / "odd_label.pkl", "wb") as f:
        pickle.dump((["a", "b"], [0, 1]), f)
    with pytest.raises(ValueError, match="7 joints x 3 channels; pass layout="):
        STGCNDataset(odd)
    with pytest.raises(ValueError, match="lengths must be 7 integers"):
        STGCNDataset(data, lengths=[1, 2])
