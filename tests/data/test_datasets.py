"""Datasets: fixed-length sampling, worker-independent seeding, NTU / SMG / iMiGUE datasets."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import skelaug.io as sio
from skelaug.data import (
    EpochSampler,
    IMiGUEDataset,
    IMiGUEEmotionDataset,
    NTUDataset,
    SMGDataset,
    SyntheticMGDataset,
    fixed_length,
    generate,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
NTU_DIR = SHARED / "fixtures" / "ntu_skeleton"
IM = SHARED / "data" / "imigue"
needs_ntu = pytest.mark.skipif(not NTU_DIR.is_dir(), reason=f"NTU fixtures not found at {NTU_DIR}")
needs_imigue = pytest.mark.skipif(
    not (IM / "labels_20200831.csv").is_file(), reason=f"iMiGUE data not at {IM}"
)


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(0, 30),
    extra=st.integers(0, 5),
    t=st.integers(1, 25),
    mode=st.sampled_from(["start", "centre", "random"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_fixed_length_matches_slicing(length, extra, t, mode, seed):
    x = np.random.default_rng(seed).normal(size=(2, length + extra, 3, 2)).astype(np.float32)
    y, n = fixed_length(x, length, t, mode=mode, generator=np.random.default_rng(seed))
    assert y.shape == (2, t, 3, 2) and n == min(length, t)
    assert not y[:, n:].any()
    if length <= t:
        np.testing.assert_array_equal(y[:, :length], x[:, :length])
    else:
        starts = [a for a in range(length - t + 1) if np.array_equal(x[:, a : a + t], y)]
        assert starts
        if mode == "start":
            assert 0 in starts
        if mode == "centre":
            assert (length - t) // 2 in starts
    x0 = x.copy()
    fixed_length(x, length, t, mode=mode, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(x, x0)  # input untouched


@settings(max_examples=80, deadline=None)
@given(length=st.integers(0, 400), extra=st.integers(0, 3), t=st.integers(1, 64), seed=st.integers(0, 2**16))
def test_fixed_length_uniform_subsamples_the_whole_clip(length, extra, t, seed):
    x = np.random.default_rng(seed).normal(size=(2, length + extra, 3, 2)).astype(np.float32)
    x0 = x.copy()
    y, n = fixed_length(x, length, t, mode="uniform")
    np.testing.assert_array_equal(x, x0)  # input untouched
    assert y.shape == (2, t, 3, 2) and n == min(length, t) and not y[:, n:].any()
    if length <= t:  # shorter clips: copied and padded, as in every mode
        np.testing.assert_array_equal(y[:, :length], x[:, :length])
        return
    # oracle: the centre of each of t equal segments of the clip, in exact rational arithmetic
    from fractions import Fraction
    idx = [int((i + Fraction(1, 2)) * length / t) for i in range(t)]
    np.testing.assert_array_equal(y, x[:, idx])
    assert all(b > a for a, b in itertools.pairwise(idx))       # no frame twice, order kept


def test_sampling_uniform_in_a_dataset_and_bad_modes_named():
    from skelaug.data.datasets import ClipDataset

    class Ramp(ClipDataset):  # one clip of 50 frames whose values are the frame numbers
        def __init__(self, **kw):
            super().__init__(**kw)
            self.labels, self.class_names, self.layout = np.zeros(1, np.int64), ["ramp"], "kinect20"

        def load(self, index):
            return np.broadcast_to(np.arange(50, dtype=np.float32)[None, :, None, None], (1, 50, 20, 3)).copy(), 50

    item = Ramp(num_frames=8, max_persons=1, sampling="uniform")[0]
    assert item["length"] == 8
    assert item["data"][0, :, 0, 0].tolist() == [3, 9, 15, 21, 28, 34, 40, 46]
    with pytest.raises(ValueError, match=r"sampling='even'.*'uniform'"):
        Ramp(num_frames=8, max_persons=1, sampling="even")
    with pytest.raises(ValueError, match=r"mode='even'.*'uniform'"):
        fixed_length(np.zeros((1, 5, 2, 2), np.float32), 5, 3, mode="even")  # type: ignore[arg-type]


def _noisy_crop(x, length, generator):
    """A transform that uses its generator for a crop and for noise (an augmentation stand-in)."""
    keep = int(generator.integers(max(1, length // 2), length + 1))
    y = np.zeros_like(x)
    y[:, :keep] = x[:, :keep] + generator.normal(0, 1, x[:, :keep].shape).astype(np.float32)
    return y, keep


def _epochs(ds, workers, epochs=2):
    sampler = EpochSampler(len(ds), seed=5)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, sampler=sampler, num_workers=workers)
    out = []
    for e in range(epochs):
        sampler.set_epoch(e)
        out.append([(b["index"].clone(), b["data"].clone(), b["length"].clone()) for b in loader])
    return out


def test_same_seed_same_items_for_any_worker_count():
    ds = SyntheticMGDataset(12, num_frames=20, seed=2, transform=_noisy_crop, transform_seed=9)
    a, b = _epochs(ds, 0), _epochs(ds, 2)
    for ea, eb in zip(a, b, strict=True):
        for (ia, xa, la), (ib, xb, lb) in zip(ea, eb, strict=True):
            assert torch.equal(ia, ib) and torch.equal(la, lb)
            torch.testing.assert_close(xa, xb, rtol=0, atol=0)
    order0 = torch.cat([i for i, _, _ in a[0]])
    order1 = torch.cat([i for i, _, _ in a[1]])
    assert sorted(order0.tolist()) == list(range(12)) and not torch.equal(order0, order1)  # new epoch order
    by_index0 = {int(i): x for ib, xb, _ in a[0] for i, x in zip(ib, xb, strict=True)}
    by_index1 = {int(i): x for ib, xb, _ in a[1] for i, x in zip(ib, xb, strict=True)}
    assert not torch.equal(by_index0[3], by_index1[3])  # new epoch -> new draws
    c = _epochs(SyntheticMGDataset(12, num_frames=20, seed=2, transform=_noisy_crop, transform_seed=10), 0, 1)
    assert not torch.equal(c[0][0][1], a[0][0][1])  # another seed -> other draws


def test_item_stream_key_errors():
    ds = SyntheticMGDataset(3, num_frames=16)
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(TypeError, match="integer"):
        ds["a"]
    assert ds[-1]["index"] == 2 and ds[(1, 4)]["index"] == 1


@needs_ntu
def test_ntu_benchmarks_and_items():
    tr = NTUDataset(NTU_DIR, benchmark="xsub", split="train")
    te = NTUDataset(NTU_DIR, benchmark="xsub", split="test")
    assert len(tr) == 3 and len(te) == 1  # P003 is a test performer
    assert [f.name[:20] for f in te.files] == ["S002C001P003R001A003"]
    xv = NTUDataset(NTU_DIR, benchmark="xview", split="train")
    assert [f.name[:20] for f in xv.files] == ["S001C003P008R002A058"]  # camera 3 trains
    item = xv[0]
    assert item["data"].shape == (2, 300, 25, 3) and item["length"] == 70 and item["label"] == 57
    seq = sio.select_people(sio.read(xv.files[0]), 2, by="motion")
    np.testing.assert_array_equal(item["data"][:, :70].numpy(), seq.data[..., :3])
    assert not item["data"][:, 70:].any()
    assert NTUDataset(NTU_DIR, split=None, ignore=["S001C001P001R001A001"]).counts == {
        "ignored": 1,
        "files": 3,
    }


def _write_smg(root: Path, subject: int, clips, fps=30):
    """An SMG-style sample folder from synthetic ntu25 clips laid end to end with gaps."""
    d = root / f"Sample{subject:04d}"
    d.mkdir(parents=True)
    rows, labels, t = [], [], 0
    for x, n, y in clips:
        gap = np.zeros((5, 25, 3), np.float32)
        seq = np.concatenate([gap, x[:n]])
        for fr in seq:
            vals = np.zeros((25, 11))
            vals[:, :3] = fr
            rows.append(",".join(repr(float(v)) for v in vals.ravel()))
        labels.append(f"{y + 1},{t + 5},{t + 5 + n - 1}")
        t += len(seq)
    (d / f"{d.name}_skeleton.csv").write_text("\n".join(rows) + "\n")
    (d / f"{d.name}_finelabels.csv").write_text("\n".join(labels) + "\n")
    (d / f"{d.name}_data.csv").write_text(f"{t},{fps},4500\n")
    return d


def test_smg_dataset_on_synthetic_files(tmp_path):
    g = generate(6, "ntu25", num_frames=30, seed=3, noise=0.0)
    clips = [(g.data[i, 0], int(g.lengths[i]), int(g.labels[i]) % 17) for i in range(6)]
    _write_smg(tmp_path, 1, clips[:4])
    _write_smg(tmp_path, 37, clips[4:], fps=25)
    tr = SMGDataset(tmp_path, split="train", num_frames=40)
    te = SMGDataset(tmp_path, split="test", num_frames=40)
    assert len(tr) == 4 and len(te) == 2 and tr.subjects == [1] * 4
    for k in range(4):
        item = tr[k]
        x, n, y = clips[k]
        assert item["label"] == y and item["length"] == n
        np.testing.assert_allclose(item["data"][0, :n].numpy(), x[:n], rtol=1e-6)
    assert sio.read(tmp_path / "Sample0037" / "Sample0037_skeleton.csv").fps == 25.0
    bad = tmp_path / "Sample0037" / "Sample0037_skeleton.csv"
    lines = bad.read_text().splitlines()
    lines[3] = lines[3] + ",1.0"
    bad.write_text("\n".join(lines))
    with pytest.raises(sio.SkeletonFormatError, match="line 4: 276 columns, expected 275"):
        SMGDataset(tmp_path, split="test")


@needs_imigue
def test_imigue_dataset_video_298(tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "skelaug-imigue-cache"
    ds = IMiGUEDataset(
        IM / "labels_20200831.csv", IM, split="train", missing="skip", num_frames=64, cache_dir=cache
    )
    assert len(ds) == 56 and ds.counts["videos_missing"] > 0 and ds.counts["clips"] == 56
    assert ds.counts["clips_missing"] == 13935 - 56
    rows = [lab for lab in sio.read_imigue_labels(IM / "labels_20200831.csv") if lab.video == 298]
    np.testing.assert_array_equal(ds.labels, [lab.mg_class - 1 for lab in rows])
    k = int(np.argmax([lab.num_frames for lab in rows]))
    item = ds[k]
    assert item["data"].shape == (1, 64, 22, 3) and item["length"] == 64 and item["video"] == 298
    clip = ds.clips[k]
    a = (clip.shape[1] - 64) // 2  # centre crop
    np.testing.assert_array_equal(item["data"].numpy(), clip[:, a : a + 64])
    assert item["subject"] == 22 and item["win"] == 1
    with pytest.raises(FileNotFoundError, match="no OpenPose output for iMiGUE video"):
        IMiGUEDataset(IM / "labels_20200831.csv", IM, split="test")
    emo = IMiGUEEmotionDataset(IM / "labels_20200831.csv", split="test")
    assert len(emo) == 100 and sum(emo[i]["label"] for i in range(100)) == 50
    it = emo[0]
    assert it["segments"].shape == (len(it["mg_classes"]), 2)
    assert (it["segments"][1:, 0] >= it["segments"][:-1, 0]).all()
