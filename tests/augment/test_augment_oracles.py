"""Each augmentation against an independent oracle: closed forms, hand-written loops, known indices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelaug import augment as A
from skelaug import layouts
from skelaug.augment._rng import gaussian_field_numpy, gaussian_field_torch
from skelaug.augment.ops import Op, Program
from skelaug.augment.spatial import rotation_matrices


def body(layout="ntu25", t=6, seed=0, m=1, dims=None):
    lay = layouts.get(layout)
    d = dims or lay.dim
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(1, m, t, lay.num_joints, d)) + 5.0).astype(np.float64)


def test_rotation_90_degrees_in_plane_closed_form():
    x = body("openpose25")
    y = A.RandomRotate(degrees=(90, 90), layout="openpose25")(x, generator=0)
    c = x[0, :, :, 1].mean(axis=(0, 1))             # the layout centre: the neck, averaged over frames
    rel = x[..., :2] - c
    expected = np.stack([-rel[..., 1], rel[..., 0]], axis=-1) + c
    np.testing.assert_allclose(y, expected, atol=1e-9)


def test_rotation_matrices_are_proper_rotations():
    angles = np.random.default_rng(0).uniform(-180, 180, size=(50, 3))
    r = rotation_matrices(angles, 3)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
    # x first, then y, then z
    rx = rotation_matrices(np.array([[30.0, 0, 0]]), 3)[0]
    ry = rotation_matrices(np.array([[0, 40.0, 0]]), 3)[0]
    rz = rotation_matrices(np.array([[0, 0, 50.0]]), 3)[0]
    np.testing.assert_allclose(rotation_matrices(np.array([[30.0, 40.0, 50.0]]), 3)[0], rz @ ry @ rx, atol=1e-12)
    np.testing.assert_allclose(rz @ [1, 0, 0], [np.cos(np.deg2rad(50)), np.sin(np.deg2rad(50)), 0], atol=1e-12)


def test_mirror_swaps_named_twins_and_reflects_about_centre():
    lay = layouts.get("ntu25")
    x = body("ntu25")
    y = A.RandomMirror("ntu25", p=1.0)(x, generator=0)
    c = x[0, :, :, lay.centre[0], 0].mean()
    ls, rs = lay.index("left_shoulder"), lay.index("right_shoulder")
    np.testing.assert_allclose(y[..., ls, 0], 2 * c - x[..., rs, 0])
    np.testing.assert_allclose(y[..., ls, 1:], x[..., rs, 1:])
    np.testing.assert_allclose(y[..., lay.index("head"), 0], 2 * c - x[..., lay.index("head"), 0])


def test_shear_matrix_has_unit_diagonal():
    x = body("ntu25")
    aug = A.RandomShear(0.3, layout="ntu25")
    aug(x, generator=4)
    a = aug.last_params.ops[0].params["matrix"][0]
    np.testing.assert_allclose(np.diag(a), 1.0)
    assert np.all(np.abs(a - np.eye(3)) <= 0.3)


def test_scale_and_translate_closed_form():
    x = body("coco17")
    y = A.RandomScale((2.0, 2.0), layout="coco17")(x, generator=0)
    lay = layouts.get("coco17")
    c = x[0, :, :, list(lay.centre), :2].mean(axis=(0, 1, 2))
    np.testing.assert_allclose(y[..., :2], 2 * (x[..., :2] - c) + c)
    tr = A.RandomTranslate((0.5, 0.5), layout="coco17")
    y2 = tr(x, generator=0)
    frames = []                                    # body size: median over person-frames of the extent
    for pose in x[0].reshape(-1, x.shape[3], x.shape[4]):
        pts = pose[np.any(pose[:, :2] != 0, axis=-1), :2].astype(np.float64)
        if len(pts) and np.ptp(pts, axis=0).max() > 0:
            frames.append(np.ptp(pts, axis=0).max())
    np.testing.assert_allclose(y2 - x, 0.5 * np.median(frames))


def test_crop_resize_full_window_is_identity_and_window_is_linear():
    x = body("ntu25", t=20)
    lengths = np.array([20])
    y, out = A.RandomCropResize(scale=(1.0, 1.0))(x, lengths, generator=0)
    np.testing.assert_allclose(y, x)
    aug = A.RandomCropResize(scale=(0.5, 0.5), size=10, min_length=1)
    y, out = aug(x, lengths, generator=3)
    src = aug.last_params.ops[0].params["src"][0, :10]
    assert out[0] == 10
    np.testing.assert_allclose(np.diff(src), 1.0)        # a 10-frame window resized to 10 frames
    np.testing.assert_allclose(y[0, :, :10], x[0, :, src.astype(int)].swapaxes(0, 1))
    assert not y[0, :, 10:].any()


def test_crop_respects_min_length_on_short_clips():
    x = body("ntu25", t=40)
    lengths = np.array([40])
    aug = A.RandomCropResize(scale=(0.05, 0.05), min_length=12)
    aug(x, lengths, generator=0)
    src = aug.last_params.ops[0].params["src"][0, :40]
    assert src.max() - src.min() == pytest.approx(11.0)
    aug(x, np.array([5]), generator=0)                 # clip shorter than min_length: whole clip
    src = aug.last_params.ops[0].params["src"][0, :5]
    assert src.min() == 0 and src.max() == pytest.approx(4.0)


def test_reverse_posterize_repeat_speed_known_indices():
    x = body("ntu25", t=12)
    lengths = np.array([9])
    x[:, :, 9:] = 0
    y, out = A.RandomReverse(p=1.0)(x, lengths, generator=0)
    np.testing.assert_array_equal(y[0, :, :9], x[0, :, 8::-1])
    y, out = A.RandomPosterize(stride=3)(x, lengths, generator=0)
    np.testing.assert_array_equal(y[0, :, :9], x[0, :, [0, 0, 0, 3, 3, 3, 6, 6, 6]].swapaxes(0, 1))
    aug = A.RandomRepeat(times=2)
    y, out = aug(x, lengths, generator=0)
    src = aug.last_params.ops[0].params["src"][0, :9]
    phase = src[0]
    expected = np.minimum(np.mod(phase + 2 * np.arange(9), 9), 8)
    np.testing.assert_allclose(src, expected)
    assert out[0] == 9
    y, out = A.RandomSpeed((2.0, 2.0))(x, lengths, generator=0)
    assert out[0] == 5                                   # (9 - 1) / 2 + 1 frames
    np.testing.assert_allclose(y[0, :, :5], x[0, :, 0:9:2])
    assert not y[0, :, 5:].any()


def test_frame_drop_keeps_order_and_counts():
    x = body("ntu25", t=30)
    aug = A.RandomFrameDrop(rate=(0.5, 0.5))
    y, out = aug(x, np.array([30]), generator=1)
    kept = aug.last_params.ops[0].params["src"][0, : out[0]].astype(int)
    assert np.all(np.diff(kept) > 0) and 1 <= out[0] < 30
    np.testing.assert_array_equal(y[0, :, : out[0]], x[0][:, kept])


def test_linear_resample_does_not_blend_with_missing_frames():
    x = np.zeros((1, 1, 4, 25, 3))
    x[0, 0, 0, 0] = [1, 1, 1]
    x[0, 0, 1, 0] = [3, 3, 3]                          # joint 0 present in frames 0, 1; missing in 2
    prog = Program((Op("resample", {"src": np.array([[0.5, 1.25, 1.75, 0.0]]), "out_len": np.array([3])},
                       {"mode": "linear"}),), 1, np.array([4]), np.array([3]), 4)
    aug = A.RandomReverse()
    for backend in ("numpy", "torch"):
        y = aug(torch.from_numpy(x) if backend == "torch" else x, params=prog, backend=backend)
        y = y.numpy() if backend == "torch" else y
        np.testing.assert_allclose(y[0, 0, 0, 0], [2, 2, 2])    # both present: interpolated
        np.testing.assert_allclose(y[0, 0, 1, 0], [3, 3, 3])    # nearer frame 1 present
        np.testing.assert_allclose(y[0, 0, 2, 0], [0, 0, 0])    # nearer frame 2 missing: stays missing


def test_children_take_part_names_from_the_enclosing_layout():
    lay = layouts.get("imigue22")
    x = body("imigue22", t=8, dims=3)
    aug = A.Compose([A.RandomPerturb(sigma=(0.05, 0.05), parts=["left_hand"], temporal="constant")],
                    layout="imigue22")
    d = aug(x, generator=0) - x
    others = [j for j in range(22) if j not in lay.part("left_hand")]
    assert not d[..., others, :].any() and d[..., list(lay.part("left_hand")), :2].any()


def test_blur_of_constant_signal_is_constant_and_kernel_normalised():
    x = np.ones((2, 1, 10, 25, 3)) * 4.0
    aug = A.RandomGaussianBlur(sigma=(1.0, 2.0), kernel_size=7)
    y, _ = aug(x, np.array([10, 6]), generator=0)
    k = aug.last_params.ops[0].params["kernel"]
    np.testing.assert_allclose(k.sum(axis=1), 1.0)
    np.testing.assert_allclose(y[0], 4.0)
    np.testing.assert_allclose(y[1, :, :6], 4.0)
    assert not y[1, :, 6:].any()


def test_blur_matches_direct_convolution_loop():
    x = body("ntu25", t=15, seed=3)
    aug = A.RandomGaussianBlur(sigma=(1.5, 1.5), kernel_size=5)
    y = aug(x, generator=0)
    w = aug.last_params.ops[0].params["kernel"][0]
    expected = np.zeros_like(x)
    for t in range(15):
        num, den = 0.0, 0.0
        for k in range(5):
            s = t + k - 2
            if 0 <= s < 15:
                num = num + w[k] * x[0, 0, s]
                den += w[k]
        expected[0, 0, t] = num / den
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_gaussian_field_is_standard_normal_and_backend_independent():
    seeds = np.array([0, 1, 2**32 - 1, 123456789], dtype=np.int64)
    g = gaussian_field_numpy(seeds, 20000)
    assert abs(g.mean()) < 0.02 and abs(g.std() - 1) < 0.02
    # rows are decorrelated and depend only on their own seed
    assert abs(np.corrcoef(g[0], g[1])[0, 1]) < 0.03
    np.testing.assert_array_equal(gaussian_field_numpy(seeds[1:2], 50)[0], g[1, :50])
    gt = gaussian_field_torch(torch.from_numpy(seeds), 20000, torch.float64).numpy()
    np.testing.assert_allclose(gt, g, rtol=1e-12, atol=1e-12)


def test_noise_statistics_match_sigma():
    x = np.ones((1, 1, 400, 25, 3))
    aug = A.RandomGaussianNoise(sigma=(0.1, 0.1), layout="ntu25")
    y = aug(x + np.arange(25)[None, None, None, :, None], generator=0)
    # every frame's extent is 24 (joint offsets 0..24), so the body size is 24 and the noise std 2.4
    diff = y - (x + np.arange(25)[None, None, None, :, None])
    assert abs(diff.std() - 2.4) < 0.05 and abs(diff.mean()) < 0.05


def test_perturb_constant_in_time_and_restricted_to_parts():
    lay = layouts.get("imigue22")
    x = body("imigue22", t=8, dims=3)
    aug = A.RandomPerturb(sigma=(0.05, 0.05), parts=["left_hand"], temporal="constant", layout="imigue22")
    y = aug(x, generator=0)
    d = y - x
    hand = list(lay.part("left_hand"))
    others = [j for j in range(22) if j not in hand]
    assert not d[..., others, :2].any()
    assert np.abs(d[..., hand, :2]).min() > 0
    np.testing.assert_allclose(d[:, :, 1:, hand], d[:, :, :1, hand].repeat(7, axis=2))
    np.testing.assert_array_equal(d[..., 2], 0)          # the score channel is untouched


def test_bone_length_scaling_closed_form_and_missing_joint_skip():
    lay = layouts.get("ntu25")
    x = body("ntu25", t=3)
    aug = A.RandomBoneLength("ntu25", scale=(2.0, 2.0))
    y = aug(x, generator=0)
    root = lay.root
    np.testing.assert_allclose(y[..., root, :], x[..., root, :])
    for child, parent in lay.bones:                     # every bone doubled
        np.testing.assert_allclose(y[..., child, :] - y[..., parent, :], 2 * (x[..., child, :] - x[..., parent, :]))
    # with the elbow missing, the wrist hangs from the shoulder
    x2 = x.copy()
    e, w, s = lay.index("left_elbow"), lay.index("left_wrist"), lay.index("left_shoulder")
    x2[..., e, :] = 0
    y2 = aug(x2, params=aug.last_params)
    assert not y2[..., e, :].any()
    np.testing.assert_allclose(y2[..., w, :] - y2[..., s, :], 2 * (x2[..., w, :] - x2[..., s, :]))


def test_part_transform_moves_only_the_part_about_its_root():
    lay = layouts.get("openpose25")
    x = body("openpose25", t=4)
    aug = A.RandomPartTransform("openpose25", parts=["left_arm"], degrees=(90, 90), scale=(1.0, 1.0))
    y = aug(x, generator=0)
    s = lay.index("left_shoulder")
    moved = [lay.index("left_elbow"), lay.index("left_wrist")]
    still = [j for j in range(25) if j not in moved]
    np.testing.assert_array_equal(y[..., still, :], x[..., still, :])
    rel = x[..., moved, :] - x[..., s:s + 1, :]
    np.testing.assert_allclose(y[..., moved, :] - x[..., s:s + 1, :], np.stack([-rel[..., 1], rel[..., 0]], -1))


def test_joint_mask_count_and_part_mask_part():
    x = body("ntu25", t=4)
    aug = A.RandomJointMask(ratio=(0.2, 0.2))
    y = aug(x, generator=0)
    dropped = ~np.any(y != 0, axis=(0, 1, 2, 4))
    assert dropped.sum() == 5
    lay = layouts.get("ntu25")
    pm = A.RandomPartMask("ntu25", parts=["right_hand"])
    y = pm(x, generator=0)
    assert not y[..., list(lay.part("right_hand")), :].any()
    other = [j for j in range(25) if j not in lay.part("right_hand")]
    np.testing.assert_array_equal(y[..., other, :], x[..., other, :])
    y = A.RandomAxisMask()(x, generator=0)
    assert sum(not y[..., d].any() for d in range(3)) == 1


def test_part_mix_takes_the_partner_part_shifted_by_centres():
    lay = layouts.get("ntu25")
    x = np.concatenate([body("ntu25", seed=1), body("ntu25", seed=2) + 10.0], axis=0)
    aug = A.RandomPartMix("ntu25", parts=["left_arm"])
    y = aug(x, generator=0)
    arm = list(lay.part("left_arm"))
    c = x[:, 0, :, lay.centre[0]].mean(axis=1)
    np.testing.assert_allclose(y[0][..., arm, :], x[1][..., arm, :] + (c[0] - c[1]))
    np.testing.assert_allclose(y[1][..., arm, :], x[0][..., arm, :] + (c[1] - c[0]))
    other = [j for j in range(25) if j not in arm]
    np.testing.assert_array_equal(y[..., other, :], x[..., other, :])
    # a batch of one is unchanged
    np.testing.assert_array_equal(aug(x[:1], generator=0), x[:1])


def test_segment_mix_replaces_one_contiguous_segment():
    x = np.concatenate([body("ntu25", t=20, seed=1), body("ntu25", t=20, seed=2)], axis=0)
    aug = A.RandomSegmentMix(ratio=(0.25, 0.25))
    y = aug(x, generator=0)
    changed = np.any(y[0] != x[0], axis=(0, 2, 3))
    idx = np.flatnonzero(changed)
    assert len(idx) == 5 and np.all(np.diff(idx) == 1)


def test_oneof_chooses_exactly_one_per_sample():
    x = body("ntu25", t=6)
    x = np.repeat(x, 64, axis=0)
    aug = A.OneOf([A.RandomScale((2.0, 2.0)), A.RandomScale((3.0, 3.0))], weights=[1, 3])
    aug(x, generator=0)
    s = np.stack([op.params["matrix"][:, 0, 0] for op in aug.last_params.ops], axis=1)   # (N, 2)
    applied = s != 1.0
    assert np.all(applied.sum(axis=1) == 1)
    assert 0.6 < applied[:, 1].mean() < 0.9


def test_someof_subset_sizes():
    x = np.repeat(body("ntu25", t=6), 50, axis=0)
    aug = A.SomeOf([A.RandomScale((2.0, 2.0)), A.RandomScale((3.0, 3.0)), A.RandomScale((5.0, 5.0))], n=2)
    aug(x, generator=0)
    s = np.stack([op.params["matrix"][:, 0, 0] for op in aug.last_params.ops], axis=1)
    assert np.all((s != 1.0).sum(axis=1) == 2)


def test_same_on_batch_shares_parameters():
    x = np.repeat(body("ntu25"), 5, axis=0)
    aug = A.RandomRotate(degrees=40, same_on_batch=True)
    y = aug(x, generator=0)
    np.testing.assert_allclose(y, np.repeat(y[:1], 5, axis=0))


def test_compose_tracks_lengths_and_centre():
    x = body("ntu25", t=20)
    aug = A.Compose([A.RandomSpeed((2.0, 2.0)), A.RandomTranslate((0.2, 0.2)), A.RandomRotate((90, 90))],
                    layout="ntu25")
    y, out = aug(x, np.array([20]), generator=0)
    assert out[0] == 11
    # the rotation pivots about the centre moved by the translation: compare with sequential calls
    y1, l1 = A.RandomSpeed((2.0, 2.0))(x, np.array([20]), generator=0)
    tr = A.RandomTranslate((0.2, 0.2), layout="ntu25")
    y2, l2 = tr(y1, l1, params=Program((aug.last_params.ops[1],), 1, l1, l1, 20))
    op = aug.last_params.ops[2]
    shift = tr.last_params.ops[0].params["offset"][0]
    c0 = x[0, :, :20, 20].mean(axis=(0, 1))
    c = c0 + shift
    expected = np.einsum("ij,mtvj->mtvi", op.params["matrix"][0], y2[0, :, :11] - c) + c
    np.testing.assert_allclose(y[0, :, :11], expected, rtol=1e-10)
