"""Hypothesis properties: invariants that hold for every batch, layout, dtype and seed."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from skelaug import augment as A
from skelaug import layouts
from skelaug.testing import (
    assert_bone_lengths_preserved,
    assert_missing_preserved,
    assert_padding_zero,
    skeleton_batches,
)

LAYOUTS_3D = [n for n in layouts.names() if layouts.get(n).dim == 3]
SEEDS = st.integers(0, 2**31 - 1)


@given(skeleton_batches(LAYOUTS_3D), SEEDS)
def test_rotation_keeps_bone_lengths_in_3d(batch, seed):
    x, lengths, name = batch
    y, _ = A.RandomRotate(degrees=180, layout=name)(x, lengths, generator=seed)
    tol = 1e-3 if x.dtype == np.float32 else 1e-9
    assert_bone_lengths_preserved(x, y, name, 3, rtol=tol, atol=tol)


@given(skeleton_batches(), SEEDS)
def test_in_plane_rotation_keeps_2d_bone_lengths(batch, seed):
    x, lengths, name = batch
    y, _ = A.RandomRotate(degrees=180, layout=name, dims=2)(x, lengths, generator=seed)
    tol = 1e-3 if x.dtype == np.float32 else 1e-9
    assert_bone_lengths_preserved(x, y, name, 2, rtol=tol, atol=tol)


@given(skeleton_batches(), SEEDS)
def test_mirror_twice_is_identity(batch, seed):
    x, lengths, name = batch
    aug = A.RandomMirror(name, p=1.0)
    y, l1 = aug(x, lengths, generator=seed)
    z, l2 = aug(y, l1, generator=seed)
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(z, x, rtol=tol, atol=tol * np.abs(x).max(initial=1.0))


SPATIAL = [
    lambda name: A.RandomRotate(degrees=45, layout=name),
    lambda name: A.RandomShear(0.5, layout=name),
    lambda name: A.RandomScale((0.5, 2.0), layout=name),
    lambda name: A.RandomTranslate(0.3, layout=name),
    lambda name: A.RandomBoneLength(name),
    lambda name: A.RandomPartTransform(name),
    lambda name: A.RandomGaussianNoise(layout=name),
    lambda name: A.RandomPerturb(layout=name),
    lambda name: A.RandomGaussianBlur(layout=name),
]


@given(skeleton_batches(), SEEDS, st.integers(0, len(SPATIAL) - 1))
def test_missing_joints_stay_missing_and_present_stay_present(batch, seed, k):
    x, lengths, name = batch
    aug = SPATIAL[k](name)
    y, out = aug(x, lengths, generator=seed)
    assert_missing_preserved(x, y, layouts.get(name).dim)
    assert_padding_zero(y, out)


TEMPORAL = [
    lambda name: A.RandomCropResize(layout=name, min_length=1),
    lambda name: A.RandomRepeat(layout=name),
    lambda name: A.RandomPosterize(layout=name),
    lambda name: A.RandomSpeed(layout=name),
    lambda name: A.RandomReverse(layout=name, p=1.0),
    lambda name: A.RandomFrameDrop(layout=name),
    lambda name: A.presets.micro_gesture(name, min_length=1),
    lambda name: A.presets.aimclr_extreme(name),
]


@given(skeleton_batches(), SEEDS, st.integers(0, len(TEMPORAL) - 1))
def test_padding_stays_zero_and_lengths_valid(batch, seed, k):
    x, lengths, name = batch
    y, out = TEMPORAL[k](name)(x, lengths, generator=seed)
    assert out.shape == lengths.shape
    assert np.all((out >= 1) & (out <= x.shape[2]))
    assert_padding_zero(y, out)


@given(skeleton_batches(), SEEDS, st.integers(0, len(TEMPORAL) - 1))
def test_temporal_ops_never_create_joints(batch, seed, k):
    """Every output joint is a copy/interpolation of present source joints: never made from nothing."""
    x, lengths, name = batch
    aug = TEMPORAL[k](name)
    if k >= 6:      # presets mix in spatial noise; skip
        return
    y, out = aug(x, lengths, generator=seed)
    d = layouts.get(name).dim
    present_any = np.any(x[..., :d] != 0, axis=(2, 4))           # (N, M, V) joint present somewhere in clip
    present_out = np.any(y[..., :d] != 0, axis=(2, 4))
    assert not np.any(present_out & ~present_any)


@given(skeleton_batches(max_n=2), SEEDS)
def test_same_seed_same_output_on_numpy_and_torch(batch, seed):
    x, lengths, name = batch
    aug = A.presets.micro_gesture(name, min_length=1)
    y1, l1 = aug(x, lengths, generator=seed, backend="numpy")
    y2, l2 = aug(torch.from_numpy(x), torch.from_numpy(lengths), generator=seed)
    tol = 1e-4 if x.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(y2.numpy(), y1, rtol=tol, atol=tol * max(1.0, float(np.abs(x).max(initial=0))))
    np.testing.assert_array_equal(l1, l2.numpy())


@given(skeleton_batches(max_n=3), SEEDS)
def test_non_contiguous_input_equals_contiguous(batch, seed):
    x, lengths, name = batch
    xt = np.asfortranarray(x)
    aug = A.presets.aimclr_extreme(name)
    # equal up to the summation order of the matrix products (BLAS may differ by memory layout)
    np.testing.assert_allclose(aug(xt, lengths, generator=seed)[0], aug(x, lengths, generator=seed)[0],
                               rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(x).max(initial=0))))
