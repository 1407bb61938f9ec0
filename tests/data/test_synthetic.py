"""Tests of the synthetic micro-gesture generator (shapes, determinism, semantics, difficulty)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelaug import layouts
from skelaug.data.synthetic import _TAIL_ORDER, CLASSES, SyntheticMGDataset, generate


@pytest.fixture(scope="module")
def ds2d():
    return generate(2400, "imigue22", num_frames=64, seed=0)


def test_shapes_dtypes_and_padding(ds2d):
    d = ds2d
    assert d.data.shape == (2400, 1, 64, 22, 3) and d.data.dtype == np.float32
    assert d.lengths.dtype == np.int64 and d.labels.dtype == np.int64 and d.subjects.dtype == np.int64
    assert d.layout == "imigue22" and layouts.get(d.layout).num_joints == 22
    assert len(d.class_names) >= 13 and d.class_names[-1] == "illustrative"
    assert d.class_names == [c.name for c in CLASSES]
    assert d.lengths.min() >= 16 and d.lengths.max() <= 64
    t = np.arange(64)
    pad = t[None, :] >= d.lengths[:, None]  # (N, T)
    assert not d.data[:, 0][pad].any()
    valid = d.data[:, 0][~pad]  # (frames, V, C)
    present = np.any(valid[..., :2] != 0, axis=-1)
    # missing joints are all zero (score included); present joints lie in the 1280x720 image
    assert not valid[~present].any()
    xy = valid[present]
    assert (xy[:, 0] > 0).all() and (xy[:, 0] < 1280).all()
    assert (xy[:, 1] > 0).all() and (xy[:, 1] < 720).all()
    assert (xy[:, 2] > 0).all() and (xy[:, 2] <= 1).all()
    frac_missing = 1 - present.mean()
    assert 0.005 < frac_missing < 0.2  # dropped joints exist, but are rare


def test_deterministic_and_prefix_stable():
    a = generate(40, seed=7, num_frames=48)
    b = generate(40, seed=7, num_frames=48)
    c = generate(12, seed=7, num_frames=48)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data[:12], c.data)
    np.testing.assert_array_equal(a.labels[:12], c.labels)
    assert not np.array_equal(a.data, generate(40, seed=8, num_frames=48).data)


def test_balanced_blocks_and_long_tail():
    k = len(CLASSES)
    d = generate(3 * k, seed=1, num_frames=20)
    for blk in range(3):
        assert sorted(d.labels[blk * k : (blk + 1) * k].tolist()) == list(range(k))
    lt = generate(2000, seed=2, num_frames=16, long_tail=20.0, noise=0.0)
    counts = np.bincount(lt.labels, minlength=k)
    ranked = [counts[d.class_names.index(n)] for n in _TAIL_ORDER]
    # expected p_k proportional to 20^(-k/15): head ~ 20 x tail; check monotone trend and the ratio
    assert ranked[0] > ranked[5] > ranked[10] > ranked[15] > 0
    assert 8 < ranked[0] / max(ranked[-1], 1) < 50
    assert ranked[0] == max(ranked)


def test_clip_length_distribution_matches_imigue():
    d = generate(600, seed=3, num_frames=400, min_frames=6, noise=0.0)
    med = float(np.median(d.lengths))
    q75 = float(np.percentile(d.lengths, 75))
    assert 34 <= med <= 46 and 55 <= q75 <= 90  # iMiGUE: median 40, 75th pct 73


def test_ntu25_rigid_bones_and_face_contact():
    """3D, noise off: bones keep their length over time; face-touch classes bring a hand to the head."""
    d = generate(160, "ntu25", seed=4, num_frames=64, noise=0.0, dropout=0.0)
    lay = layouts.get("ntu25")
    assert d.data.shape == (160, 1, 64, 25, 3)
    names = d.class_names
    face = {"touching_jaw", "rubbing_eyes", "touching_face", "touching_ear", "scratching_head"}
    still = {"turtle_neck", "head_up", "deep_breath", "shaking_shoulders"}
    for i in range(len(d)):
        x = d.data[i, 0, : d.lengths[i]].astype(np.float64)
        assert (x != 0).any(-1).all()  # dropout=0: every joint present
        for child, parent in [(5, 4), (6, 5), (9, 8), (10, 9)]:  # upper arms and forearms
            bone = np.linalg.norm(x[:, child] - x[:, parent], axis=-1)
            assert bone.max() - bone.min() < 1e-4
        tips = x[:, [21, 23]]  # left/right hand tips
        dist = np.linalg.norm(tips - x[:, None, 3], axis=-1).min()  # closest approach to the head joint
        name = names[d.labels[i]]
        if name in face:
            assert dist < 0.2, (i, name, dist)
        if name in still:
            assert dist > 0.25, (i, name, dist)
    assert lay.num_joints == 25


def test_shoulder_movements_are_subtle():
    """Shaking shoulders moves the shoulders by centimetres only (3D, noise off)."""
    d = generate(320, "ntu25", seed=5, num_frames=64, noise=0.0, dropout=0.0)
    k = d.class_names.index("shaking_shoulders")
    idx = np.flatnonzero(d.labels == k)
    assert idx.size >= 15
    for i in idx:
        x = d.data[i, 0, : d.lengths[i]]
        rel = x[:, [4, 8], 1] - x[:, [20], 1]  # shoulder height above spine_shoulder
        span = rel.max(0) - rel.min(0)
        assert 0.003 < span.max() < 0.05


def _ridge_accuracy(xtr, ytr, xte, yte, lams, k):
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    a, b = (xtr - mu) / sd, (xte - mu) / sd
    y = np.eye(k)[ytr]
    gram = a @ a.T if a.shape[1] > a.shape[0] else a.T @ a
    accs = []
    for lam in lams:
        if a.shape[1] > a.shape[0]:
            w = a.T @ np.linalg.solve(gram + lam * np.eye(len(gram)), y)
        else:
            w = np.linalg.solve(gram + lam * np.eye(len(gram)), a.T @ y)
        accs.append(float(((b @ w).argmax(1) == yte).mean()))
    return accs


def _temporal_features(d):
    """Neck-centred, shoulder-width-normalised statistics + motion energy + hand-to-face distances."""
    out = []
    for i in range(len(d)):
        x = d.data[i, 0, : d.lengths[i], :, :2].astype(np.float64)
        pres = np.any(x != 0, -1)
        for j in range(x.shape[1]):  # fill missing joints with their mean
            if pres[:, j].any():
                x[~pres[:, j], j] = x[pres[:, j], j].mean(0)
        sw = np.median(np.linalg.norm(x[:, 5] - x[:, 2], axis=-1)) + 1e-6
        z = (x - x[:, 1:2]) / sw
        v, acc = np.abs(np.diff(z, axis=0)).mean(0), np.abs(np.diff(z, 2, axis=0)).mean(0)
        f = [z.mean(0), z.std(0), z.min(0), z.max(0), v, acc]
        f = [a.ravel() for a in f]
        for hand in (slice(12, 17), slice(17, 22)):
            hc = z[:, hand].mean(1)
            dd = np.linalg.norm(z[:, [0, 8, 9, 10, 11]] - hc[:, None], axis=-1)
            f += [dd.min(0), dd.mean(0)]
        out.append(np.concatenate(f))
    return np.array(out)


def test_linear_probe_does_not_solve_it_but_temporal_features_do(ds2d):
    """Cross-subject split; the raw probe gets its best ridge penalty on the test set (optimistic)."""
    tr, te = ds2d.cross_subject_split(0.4, seed=0)
    assert not set(tr.subjects) & set(te.subjects)
    k = len(ds2d.class_names)
    lams = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5]
    raw = max(
        _ridge_accuracy(
            tr.data.reshape(len(tr), -1), tr.labels, te.data.reshape(len(te), -1), te.labels, lams, k
        )
    )
    feat = _ridge_accuracy(_temporal_features(tr), tr.labels, _temporal_features(te), te.labels, [1.0], k)[0]
    print(f"raw linear probe {raw:.3f}, temporal features {feat:.3f}, chance {1 / k:.3f}")
    assert raw < 0.45  # far from solved (measured 0.25)
    assert feat > raw + 0.25 and feat > 0.55  # learnable (measured 0.65)


def test_dataset_items_and_transform_stream():
    calls = []

    def transform(x, length, generator):
        calls.append(length)
        return x + generator.normal(size=x.shape).astype(np.float32), length

    ds = SyntheticMGDataset(10, num_frames=32, seed=1, transform=transform, transform_seed=3)
    a, b = ds[2], ds[2]
    assert a["data"].shape == (1, 32, 22, 3) and a["data"].dtype == torch.float32
    assert a["label"] == int(ds.source.labels[2]) and a["length"] == int(ds.source.lengths[2])
    torch.testing.assert_close(a["data"], b["data"])  # same (epoch, index) -> same draw
    ds.set_epoch(1)
    assert not torch.equal(ds[2]["data"], a["data"])  # a new epoch -> new draw
    torch.testing.assert_close(ds[(2, 0)]["data"], a["data"])  # explicit (index, epoch) key
    assert not np.shares_memory(ds.source.data, ds[0]["data"].numpy())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layout": "coco17"}, "layout"),
        ({"num_frames": 8}, "num_frames"),
        ({"long_tail": 0.5}, "long_tail"),
        ({"seed": -1}, "seed"),
        ({"noise": -1.0}, "noise"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(4, **kwargs)


def test_left_right_and_axes_follow_the_real_formats():
    """imigue22: the subject's right shoulder is image-left (as in iMiGUE's OpenPose output);
    ntu25: Kinect camera space, the left shoulder has the smaller x (as in the NTU fixture), y up."""
    d2 = generate(64, "imigue22", seed=6, num_frames=32, dropout=0.0)
    x = d2.data[:, 0, 0]  # first frame of every clip
    assert (x[:, 2, 0] < x[:, 5, 0]).all()  # right_shoulder left of left_shoulder
    assert (x[:, 0, 1] < x[:, 1, 1]).all()  # nose above neck (image y down)
    d3 = generate(64, "ntu25", seed=6, num_frames=32, dropout=0.0)
    y = d3.data[:, 0, 0]
    assert (y[:, 4, 0] < y[:, 8, 0]).all() and (y[:, 3, 1] > y[:, 0, 1]).all()
    assert (y[..., 2] > 1.5).all() and (y[..., 2] < 4.5).all()
    import os
    from pathlib import Path

    shared = Path(os.environ.get("SKELAUG_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
    ntu = shared / "fixtures" / "ntu_skeleton" / "S001C001P001R001A001.skeleton"
    if ntu.exists():
        import skelaug.io as sio

        real = sio.read(ntu).data[0, 0]
        assert real[4, 0] < real[8, 0] and real[3, 1] > real[0, 1]
