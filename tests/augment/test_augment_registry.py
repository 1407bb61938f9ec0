"""Generic contract tests generated from the augmentation registry (kornia's CommonTests, torchvision's
check_kernel): every augmentation, every layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _factory import GEOMETRIC, MASKS, NAMES, make

from skelaug import augment as A
from skelaug import layouts
from skelaug.augment.base import AUGMENTATIONS
from skelaug.testing import (
    assert_missing_preserved,
    assert_not_mutated,
    assert_padding_zero,
    skeleton_batch_numpy,
)

LAYOUTS = layouts.names()


def batch(layout: str, seed: int = 0, n: int = 3, m: int = 2, t: int = 12):
    return skeleton_batch_numpy(np.random.default_rng(seed), layout, n=n, m=m, t=t)


def test_registry_covers_every_public_augmentation():
    public = {n for n in A.__all__ if n.startswith("Random") or n in ("Compose", "OneOf", "SomeOf", "MultiView")}
    assert public <= set(AUGMENTATIONS)
    assert len([n for n in AUGMENTATIONS if n.startswith("Random")]) >= 22


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", NAMES)
def test_smoke_every_layout(name, layout):
    x, lengths = batch(layout)
    before = x.copy()
    aug = make(name, layout)
    y, out_len = aug(x, lengths, generator=1)
    assert_not_mutated(before, x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.isfinite(y).all()
    assert out_len.shape == lengths.shape and (out_len >= 1).all() and (out_len <= x.shape[2]).all()
    assert_padding_zero(y, out_len)
    dims = layouts.get(layout).dim
    if name == "RandomMirror":                  # joints are relabelled: compare with the relabelled input
        assert_missing_preserved(x[..., list(layouts.get(layout).mirror), :], y, dims)
    elif name in GEOMETRIC:
        assert_missing_preserved(x, y, dims)
    if name in MASKS:
        assert_missing_preserved(x, y, dims, allow_dropped=True)
        # a mask only ever zeroes: every value is either kept or zero
        assert np.all((y == x) | (y == 0))


@pytest.mark.parametrize("name", NAMES)
def test_p0_is_identity(name):
    x, lengths = batch("ntu25", seed=2)
    aug = make(name, "ntu25", p=0.0)
    y, out_len = aug(x, lengths, generator=0)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(out_len, lengths)


@pytest.mark.parametrize("name", NAMES)
def test_replay_and_same_seed(name):
    x, lengths = batch("openpose25", seed=3)
    aug = make(name, "openpose25")
    y1, l1 = aug(x, lengths, generator=7)
    y2, l2 = aug(x, lengths, params=aug.last_params)
    y3, l3 = aug(x, lengths, generator=7)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(y1, y3)
    np.testing.assert_array_equal(l1, l3)
    # a numpy Generator and a torch.Generator are accepted too, and different seeds differ
    y4, _ = aug(x, lengths, generator=np.random.default_rng(8))
    g = torch.Generator().manual_seed(9)
    y5, _ = aug(x, lengths, generator=g)
    assert y4.shape == y5.shape == x.shape


@pytest.mark.parametrize("name", NAMES)
def test_serialisation_round_trip(name):
    aug = make(name, "imigue22")
    d = aug.to_dict()
    text = json.dumps(d)                       # plain JSON data
    back = A.from_dict(json.loads(text))
    assert back == aug
    assert type(back) is type(aug)
    x, lengths = batch("imigue22", seed=4)
    np.testing.assert_array_equal(aug(x, lengths, generator=5)[0], back(x, lengths, generator=5)[0])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_and_torch_backends_agree(name, dtype):
    x, lengths = batch("ntu25", seed=5)
    x = x.astype(dtype)
    aug = make(name, "ntu25")
    y_np, l_np = aug(x, lengths, generator=11, backend="numpy")
    y_t, l_t = aug(torch.from_numpy(x), torch.from_numpy(lengths), generator=11, backend="torch")
    assert isinstance(y_t, torch.Tensor) and y_t.dtype == torch.from_numpy(x).dtype
    tol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(y_t.numpy(), y_np, rtol=tol, atol=tol)
    np.testing.assert_array_equal(l_t.numpy(), l_np)


@pytest.mark.parametrize("name", [n for n in NAMES if not AUGMENTATIONS[n].batch_dependent
                                  and n not in ("Compose", "OneOf", "SomeOf", "RandomApply")]
                         + ["Compose", "OneOf", "SomeOf", "RandomApply"])
def test_batched_equals_per_sample(name):
    x, lengths = batch("coco17", seed=6, n=4)
    aug = make(name, "coco17")
    if aug.batch_dependent:
        pytest.skip("output depends on other samples of the batch by design")
    y, out_len = aug(x, lengths, generator=3)
    program = aug.last_params
    for i in range(x.shape[0]):
        yi, li = aug(x[i:i + 1], lengths[i:i + 1], params=program.take(i))
        np.testing.assert_allclose(yi[0], y[i], rtol=1e-6, atol=1e-6)
        assert li[0] == out_len[i]


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(name):
    x = np.zeros((0, 1, 10, 25, 3), dtype=np.float32)
    aug = make(name, "ntu25")
    y = aug(x, generator=0)
    assert y.shape == x.shape
    yt = aug(torch.from_numpy(x), generator=0)
    assert tuple(yt.shape) == x.shape


@pytest.mark.parametrize("name", ["RandomRotate", "RandomCropResize", "Compose", "RandomGaussianNoise"])
def test_single_sample_ranks_round_trip(name):
    x, lengths = batch("ntu25", seed=7, n=1, m=1)
    aug = make(name, "ntu25")
    y5 = aug(x, generator=2)
    y4 = aug(x[0], generator=2)
    y3 = aug(x[0, 0], generator=2)
    assert y4.shape == x[0].shape and y3.shape == x[0, 0].shape
    np.testing.assert_allclose(y4, y5[0], rtol=1e-6)
    np.testing.assert_allclose(y3, y5[0, 0], rtol=1e-6)
    y, n_len = aug(x[0, 0], int(lengths[0]), generator=2)
    assert isinstance(n_len, int)


@pytest.mark.parametrize("name", NAMES)
def test_torch_input_not_mutated_and_keeps_dtype(name):
    x, lengths = batch("mediapipe33", seed=8)
    xt = torch.from_numpy(x.astype(np.float64))
    before = xt.clone()
    y, _ = make(name, "mediapipe33")(xt, torch.from_numpy(lengths), generator=0)
    assert torch.equal(before, xt)
    assert y.dtype == torch.float64 and y.device == xt.device


def test_multiview_returns_independent_views():
    x, lengths = batch("imigue22", seed=9)
    mv = make("MultiView", "imigue22")
    (a, la), (b, lb) = mv(x, lengths, generator=0)
    assert a.shape == b.shape == x.shape
    assert not np.array_equal(a, b)
    (a2, _), (b2, _) = mv(x, lengths, params=mv.last_params)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert A.from_dict(mv.to_dict()) == mv


def test_torch_backend_is_differentiable():
    x, lengths = batch("ntu25", seed=10, n=2)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    aug = A.Compose([A.RandomRotate(), A.RandomShear(), A.RandomCropResize(), A.RandomGaussianBlur(),
                     A.RandomPerturb()], layout="ntu25")
    y, _ = aug(xt, torch.from_numpy(lengths), generator=0)
    y.sum().backward()
    assert xt.grad is not None and torch.isfinite(xt.grad).all()
    # the torch kernels pass torch.autograd.gradcheck for a fixed program
    prog = aug.last_params
    # gradcheck away from the missing-joint code (a zero joint is a discontinuity by definition)
    full = np.random.default_rng(1).normal(size=(2, 1, 4, 25, 3)) + 3.0
    small = torch.from_numpy(full).requires_grad_(True)
    rot = A.RandomRotate(layout="ntu25")
    rot(small.detach(), generator=1)
    p = rot.last_params
    assert torch.autograd.gradcheck(lambda z: rot(z, params=p), (small,))
    assert prog is not None


def test_numpy_backend_refuses_grad_input():
    xt = torch.ones((1, 1, 4, 25, 3), dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError, match="backend='torch'"):
        A.RandomRotate()(xt, backend="numpy")
