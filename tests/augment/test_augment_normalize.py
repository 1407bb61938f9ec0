"""Normalisation transforms and UniformSampleFrames against independent NumPy oracles (loops, pyskl's
rules restated, real NTU RGB+D clips)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from skelaug import augment as A
from skelaug import io as sio
from skelaug import layouts
from skelaug.augment.normalize import uniform_sample_indices
from skelaug.testing import assert_missing_preserved, assert_padding_zero, skeleton_batch_numpy

NTU = layouts.get("ntu25")
SB, SM, RS, LS = (NTU.index(j) for j in ("spine_base", "spine_mid", "right_shoulder", "left_shoulder"))


def first_frame(x: np.ndarray, length: int, joints: list[int]) -> tuple[int, int] | None:
    """Oracle: earliest valid frame, then lowest person, where all ``joints`` are present."""
    for t in range(length):
        for m in range(x.shape[0]):
            if all(np.any(x[m, t, j, :3] != 0) for j in joints):
                return m, t
    return None


def batch(seed: int, layout: str = "ntu25", n: int = 4, m: int = 2, t: int = 12, missing: float = 0.3):
    return skeleton_batch_numpy(np.random.default_rng(seed), layout, n=n, m=m, t=t, missing=missing,
                                dtype=np.float64)


# ------------------------------------------------------------------------------ CentreBody
@given(seed=st.integers(0, 2**31 - 1), mode=st.sampled_from(["first", "clip"]))
def test_centre_body_matches_loop_oracle(seed, mode):
    x, lengths = batch(seed)
    y, out = A.CentreBody(mode=mode, layout="ntu25")(x, lengths, backend="numpy")
    np.testing.assert_array_equal(out, lengths)
    c_joint = NTU.centre[0]
    for n in range(x.shape[0]):
        L = lengths[n]
        if mode == "first":
            hit = first_frame(x[n], L, [c_joint])
            c = np.zeros(3) if hit is None else x[n, hit[0], hit[1], c_joint, :3]
        else:
            pts = [x[n, m, t, c_joint, :3] for m in range(x.shape[1]) for t in range(L)
                   if np.any(x[n, m, t, c_joint, :3] != 0)]
            c = np.mean(pts, axis=0) if pts else None
            if c is None:                                  # falls back to all present joints
                allp = x[n, :, :L, :, :3].reshape(-1, 3)
                allp = allp[np.any(allp != 0, axis=1)]
                c = allp.mean(axis=0) if len(allp) else np.zeros(3)
        pres = np.any(x[n, :, :L, :, :3] != 0, axis=-1)
        want = np.where(pres[..., None], x[n, :, :L, :, :3] - c, 0.0)
        np.testing.assert_allclose(y[n, :, :L, :, :3], want, atol=1e-12)
        np.testing.assert_array_equal(y[n, :, :L, :, 3], x[n, :, :L, :, 3])     # score untouched
    assert_missing_preserved(x, y, 3)
    assert_padding_zero(y, lengths)


def test_centre_joint_becomes_origin_but_stays_present():
    x, lengths = batch(1, missing=0.0)
    y = A.CentreBody(joints="spine_mid", layout="ntu25")(x)
    first = y[:, 0, 0, SM, :3]
    assert np.abs(first).max() < 1e-30 and np.all(np.any(first != 0, axis=-1))


# ------------------------------------------------------------------------------ AlignView
@given(seed=st.integers(0, 2**31 - 1))
def test_align_view_spine_along_z_and_shoulders_along_x(seed):
    x, lengths = batch(seed)
    aug = A.AlignView(layout="ntu25")
    y, _ = aug(x, lengths, backend="numpy")
    for n in range(x.shape[0]):
        hit = first_frame(x[n], lengths[n], [SB, SM, RS, LS])
        if hit is None:
            np.testing.assert_array_equal(y[n], x[n])
            continue
        m, t = hit
        s = y[n, m, t, SM, :3] - y[n, m, t, SB, :3]
        h = y[n, m, t, RS, :3] - y[n, m, t, LS, :3]
        np.testing.assert_allclose(s / np.linalg.norm(s), [0, 0, 1], atol=1e-9)
        assert abs(h[1]) < 1e-9 and h[0] > 0                      # in the x-z plane, pointing +x
        # a rotation: every pairwise distance of the clip is kept
        a, b = x[n, :, : lengths[n], :, :3].reshape(-1, 3), y[n, :, : lengths[n], :, :3].reshape(-1, 3)
        keep = np.any(a != 0, axis=1)
        da = np.linalg.norm(a[keep][:, None] - a[keep][None], axis=-1)
        db = np.linalg.norm(b[keep][:, None] - b[keep][None], axis=-1)
        np.testing.assert_allclose(db, da, atol=1e-9)
    assert_missing_preserved(x, y, 3)
    assert_padding_zero(y, lengths)


def _pyskl_rotation(axis: np.ndarray, theta: float) -> np.ndarray:
    """Euler-Rodrigues (quaternion) form of a rotation, as 2s-AGCN/pyskl write it (restated)."""
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    axis = axis / np.sqrt(axis @ axis)
    a = np.cos(theta / 2)
    b, c, d = -axis * np.sin(theta / 2)
    return np.array([[a * a + b * b - c * c - d * d, 2 * (b * c + a * d), 2 * (b * d - a * c)],
                     [2 * (b * c - a * d), a * a + c * c - b * b - d * d, 2 * (c * d + a * b)],
                     [2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - b * b - c * c]])


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    if np.abs(u).sum() < 1e-6 or np.abs(v).sum() < 1e-6:
        return 0.0
    return float(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))


def pre_normalize_3d(kp: np.ndarray) -> np.ndarray:
    """pyskl PreNormalize3D restated for one (M, T, V, 3) clip whose person 0, frame 0 is complete."""
    sk = kp.copy()
    centre = sk[0, 0, 1].copy()
    mask = (sk != 0).sum(-1) > 0
    sk = (sk - centre) * mask[..., None]
    for (i, j), e in (((0, 1), np.array([0.0, 0, 1])), ((8, 4), np.array([1.0, 0, 0]))):
        if (i, j) == (0, 1):
            v = sk[0, 0, j] - sk[0, 0, i]
        else:
            v = sk[0, 0, i] - sk[0, 0, j]
        r = _pyskl_rotation(np.cross(v, e), _angle(v, e))
        sk = np.einsum("ab,mtvb->mtva", r, sk)
    return sk


def test_pyskl_pipeline_matches_prenormalize3d():
    x, lengths = batch(3, missing=0.2, t=10)
    x[:, 0, 0, :, :3] = np.where(x[:, 0, 0, :, :3] == 0, 0.5, x[:, 0, 0, :, :3])   # complete first frame
    x = x[..., :3]
    pre = A.Compose([A.CentreBody(joints="spine_mid"), A.AlignView(method="pyskl")], layout="ntu25")
    y = pre(x, backend="numpy")
    for n in range(x.shape[0]):
        want = pre_normalize_3d(x[n])
        np.testing.assert_allclose(y[n], want, atol=1e-9)
    h = y[:, 0, 0, RS] - y[:, 0, 0, LS]
    np.testing.assert_allclose(h / np.linalg.norm(h, axis=-1, keepdims=True), np.tile([1.0, 0, 0], (len(y), 1)),
                               atol=1e-9)


def test_align_view_2d_makes_shoulders_horizontal_without_flipping():
    x, lengths = batch(5, layout="coco17", missing=0.0)
    lay = layouts.get("coco17")
    r, l_ = lay.index("right_shoulder"), lay.index("left_shoulder")
    y = A.AlignView(layout="coco17")(x, backend="numpy")
    h0, h1 = x[:, 0, 0, r, :2] - x[:, 0, 0, l_, :2], y[:, 0, 0, r, :2] - y[:, 0, 0, l_, :2]
    np.testing.assert_allclose(h1[:, 1], 0.0, atol=1e-9)
    np.testing.assert_array_equal(np.sign(h1[:, 0]), np.sign(h0[:, 0]))    # smallest rotation: no flip


def test_real_ntu_clip_is_aligned(shared_dir):
    seq = sio.read(shared_dir / "fixtures" / "ntu_skeleton" / "S001C001P001R001A001.skeleton")
    x = seq.data[None, :, :, :, :3].astype(np.float32)
    pre = A.Compose([A.CentreBody(), A.AlignView(), A.NormalizeScale()], layout="ntu25")
    y = pre(x)
    hit = first_frame(x[0], x.shape[2], [SB, SM, RS, LS])
    assert hit is not None
    s = y[0, hit[0], hit[1], SM] - y[0, hit[0], hit[1], SB]
    np.testing.assert_allclose(s / np.linalg.norm(s), [0, 0, 1], atol=1e-5)
    assert abs(y[0, hit[0], hit[1], NTU.centre[0]]).max() < 1e-6
    pres = np.any(x[0] != 0, axis=-1)
    w = np.linalg.norm(y[0, :, :, RS] - y[0, :, :, LS], axis=-1)[pres[:, :, RS] & pres[:, :, LS]]
    assert abs(w.mean() - 1.0) < 1e-5
    assert_missing_preserved(x, y, 3)


# ------------------------------------------------------------------------------ NormalizeScale
@given(seed=st.integers(0, 2**31 - 1), by=st.sampled_from(["shoulders", "spine", "extent"]),
       about=st.sampled_from(["origin", "centre"]))
def test_normalize_scale_reaches_target(seed, by, about):
    x, lengths = batch(seed)
    y = A.NormalizeScale(by=by, target=2.0, about=about, layout="ntu25")(x, lengths, backend="numpy")[0]
    for n in range(x.shape[0]):
        L = lengths[n]
        xs, ys = x[n, :, :L, :, :3], y[n, :, :L, :, :3]
        pres = np.any(xs != 0, axis=-1)
        if by == "extent":
            pts = xs[pres]
            size = (pts.max(0) - pts.min(0)).max() if len(pts) else 0.0
        else:
            a, b = (RS, LS) if by == "shoulders" else (SM, SB)
            ok = pres[:, :, a] & pres[:, :, b]
            size = np.linalg.norm(xs[:, :, a] - xs[:, :, b], axis=-1)[ok].mean() if ok.any() else 0.0
        s = 2.0 / size if size > 0 else 1.0
        if about == "origin":
            want = np.where(pres[..., None], s * xs, 0.0)
            np.testing.assert_allclose(ys, want, rtol=1e-9, atol=1e-12)
        else:                                        # distances scale by s
            p, q = xs[pres], ys[pres]
            np.testing.assert_allclose(np.linalg.norm(q[1:] - q[:-1], axis=-1),
                                       s * np.linalg.norm(p[1:] - p[:-1], axis=-1), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------ UniformSampleFrames
def pyskl_train(L: int, k: int, u_start: float, u_gaps: np.ndarray, u_off: np.ndarray) -> np.ndarray:
    """pyskl's training rule restated with loops, driven by the same uniform draws."""
    if L < k:
        start = int(u_start * L)
        return np.array([(start + i) % L for i in range(k)])
    if L < 2 * k:
        chosen = set(np.argsort(u_gaps)[: L - k].tolist())
        off, out = 0, []
        for i in range(k):
            off += i in chosen
            out.append(i + off)
        return np.array(out)
    bids = [i * L // k for i in range(k + 1)]
    return np.array([bids[i] + min(int(u_off[i] * (bids[i + 1] - bids[i])), bids[i + 1] - bids[i] - 1)
                     for i in range(k)])


def pyskl_test(L: int, k: int) -> np.ndarray:
    if L < k:
        return np.array([i % L for i in range(k)])
    return np.array([int(np.floor((i + 0.5) * L / k)) for i in range(k)])


@given(L=st.integers(1, 90), k=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_uniform_sample_indices_match_pyskl_rule(L, k, seed):
    rng = np.random.default_rng(seed)
    us, ug, uo = rng.random(1), rng.random((1, k + 1)), rng.random((1, k))
    got = uniform_sample_indices(np.array([L]), k, "train", us, ug, uo)[0]
    np.testing.assert_array_equal(got, pyskl_train(L, k, us[0], ug[0], uo[0]))
    assert got.min() >= 0 and got.max() <= L - 1
    if L >= k:                                            # one frame from each segment, increasing
        assert np.all(np.diff(got) > 0)
        bounds = np.arange(k + 1) * L // k
        if L >= 2 * k:
            assert np.all((got >= bounds[:-1]) & (got < bounds[1:]))
    test = uniform_sample_indices(np.array([L]), k, "test", us, ug, uo)[0]
    np.testing.assert_array_equal(test, pyskl_test(L, k))


def test_uniform_sample_frames_picks_those_frames_and_respects_lengths():
    t, k = 40, 8
    lengths = np.array([40, 13, 5, 8])
    frame_id = np.arange(1, t + 1, dtype=np.float64)
    x = np.broadcast_to(frame_id[None, None, :, None, None], (4, 1, t, 3, 3)).copy()
    x[np.arange(t)[None, None, :] >= lengths[:, None, None]] = 0.0
    for mode in ("train", "test"):
        aug = A.UniformSampleFrames(k, mode=mode)
        y, out = aug(x, lengths, generator=3)
        np.testing.assert_array_equal(out, k)
        src = aug.last_params.ops[0].params["src"]
        for n, L in enumerate(lengths):
            np.testing.assert_array_equal(y[n, 0, :k, 0, 0], src[n, :k] + 1)
            assert src[n, :k].max() < L
            if mode == "test":
                np.testing.assert_array_equal(src[n, :k], pyskl_test(int(L), k))
        assert_padding_zero(y, out)
        y2, _ = aug(torch.from_numpy(x), torch.from_numpy(lengths), params=aug.last_params)
        np.testing.assert_array_equal(y2.numpy(), y)
    a = A.UniformSampleFrames(k)
    assert not np.array_equal(a(x, lengths, generator=0)[0], a(x, lengths, generator=1)[0])


def test_uniform_sample_frames_too_long_names_the_fix():
    with pytest.raises(ValueError, match=r"clip_len=50.*T=40"):
        A.UniformSampleFrames(50)(np.ones((1, 1, 40, 25, 3)))


# ------------------------------------------------------------------------------ API, errors, serialisation
def test_missing_joints_named_with_the_layout():
    with pytest.raises(ValueError, match=r"layout 'imigue22'.*'left_hip'"):
        A.NormalizeScale(by="spine", layout="imigue22")
    with pytest.raises(ValueError, match=r"layout 'ntu25'.*'r_sh'"):
        A.AlignView(layout="ntu25", shoulders=("r_sh", "left_shoulder"))
    with pytest.raises(ValueError, match=r"layout 'ntu25'.*'pelvis'"):
        A.AlignView(layout="ntu25", spine=("pelvis", "neck"))
    with pytest.raises(ValueError, match="needs layout"):
        A.AlignView()(np.ones((1, 1, 4, 25, 3)))
    with pytest.raises(ValueError, match="mode="):
        A.CentreBody(mode="frame")     # type: ignore[arg-type]


def test_pipeline_serialises_and_replays():
    pre = A.Compose([A.CentreBody(mode="clip"), A.AlignView(spine=(["left_hip", "right_hip"], "spine_mid")),
                     A.NormalizeScale(by="spine", target=0.5), A.UniformSampleFrames(6), A.RandomRotate(10)],
                    layout="ntu25")
    back = A.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert back == pre
    x, lengths = batch(11)
    y, out = pre(x, lengths, generator=4)
    np.testing.assert_array_equal(back(x, lengths, generator=4)[0], y)
    np.testing.assert_array_equal(pre(x, lengths, params=pre.last_params)[0], y)
    np.testing.assert_array_equal(out, 6)


def test_scale_by_extent_needs_no_layout_but_shoulders_do():
    x, lengths = batch(12)
    y = A.NormalizeScale(by="extent")(x[..., :3], lengths)[0]
    pres = np.any(x[0, :, : lengths[0], :, :3] != 0, axis=-1)
    pts = y[0, :, : lengths[0]][pres]
    assert abs((pts.max(0) - pts.min(0)).max() - 1.0) < 1e-9
    with pytest.raises(ValueError, match="NormalizeScale needs layout"):
        A.NormalizeScale()(x[..., :3], lengths)


def test_default_spine_per_layout():
    from skelaug.augment.normalize import _default_spine

    assert _default_spine(layouts.get("ntu25")) == ["spine_base", "spine_mid"]
    assert _default_spine(layouts.get("kinect20")) == ["hip_center", "spine"]
    hips, shoulders = ["left_hip", "right_hip"], ["left_shoulder", "right_shoulder"]
    assert _default_spine(layouts.get("mediapipe33")) == [hips, shoulders]
    x, lengths = batch(13, layout="kinect20", missing=0.0)
    y = A.AlignView(layout="kinect20")(x, lengths)[0]
    k20 = layouts.get("kinect20")
    s = y[:, 0, 0, k20.index("spine")] - y[:, 0, 0, k20.index("hip_center")]
    np.testing.assert_allclose(s[:, :3] / np.linalg.norm(s[:, :3], axis=-1, keepdims=True),
                               np.tile([0.0, 0, 1], (len(s), 1)), atol=1e-9)
