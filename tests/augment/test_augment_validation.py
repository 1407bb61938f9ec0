"""Bad input raises ValueError/TypeError that names the argument, the value and the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelaug import augment as A
from skelaug import layouts


def x5(v=25, c=3, t=8):
    return np.random.default_rng(0).normal(size=(2, 1, t, v, c)).astype(np.float32)


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"rank 2.*\(N, M, T, V, C\).*from_stgcn"):
        A.RandomRotate()(np.zeros((4, 3), dtype=np.float32))


def test_wrong_joint_count_names_layout():
    with pytest.raises(ValueError, match=r"18 joints.*layout 'ntu25' has 25 joints"):
        A.RandomMirror("ntu25")(x5(v=18))


def test_fewer_channels_than_dims():
    with pytest.raises(ValueError, match=r"C=2 channels.*3 coordinate"):
        A.RandomRotate(layout="ntu25")(x5(c=2))


def test_ambiguous_channels_without_layout():
    with pytest.raises(ValueError, match=r"C=4.*dims=2 or dims=3"):
        A.RandomRotate()(x5(c=4))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf_rejected_with_index(bad):
    x = x5()
    x[1, 0, 3, 7, 2] = bad
    with pytest.raises(ValueError, match=r"NaN or Inf \(first at index \(1, 0, 3, 7, 2\)\)"):
        A.RandomRotate()(x)
    idx = r"NaN or Inf \(first at index \(1, 0, 3, 7, 2\)\)"
    for t in (torch.from_numpy(x), torch.from_numpy(x).requires_grad_(), torch.from_numpy(x).to(torch.bfloat16)):
        with pytest.raises(ValueError, match=idx):      # CPU tensors (checked through NumPy when it can)
            A.RandomRotate()(t)


@pytest.mark.parametrize("lengths,match", [([0, 3], "outside 1..T=8"), ([9, 3], "outside 1..T=8"),
                                           ([1, 2, 3], r"expected \(2,\)"), ([1.5, 2], "whole frame")])
def test_lengths_out_of_range(lengths, match):
    with pytest.raises(ValueError, match=match):
        A.RandomCropResize()(x5(), np.asarray(lengths))


def test_integer_input_rejected():
    with pytest.raises(TypeError, match="floating point"):
        A.RandomRotate()(np.zeros((1, 1, 4, 25, 3), dtype=np.int64))


def test_unknown_layout_and_part():
    with pytest.raises(ValueError, match=r"layout='ntu26' is unknown; known layouts: .*ntu25"):
        A.RandomMirror("ntu26")
    with pytest.raises(ValueError, match=r"part='tail' is not a part of layout 'ntu25'"):
        A.RandomPartMask("ntu25", parts=["tail"])
    x = np.ones((1, 1, 4, 25, 3), dtype=np.float32)
    for aug in (A.RandomMirror(), A.RandomBoneLength(), A.RandomPartMask(), A.RandomPartMix(),
                A.RandomPartTransform(), A.Compose([A.RandomRotate(), A.RandomMirror()])):
        with pytest.raises(ValueError, match=r"needs layout=.*or to the enclosing Compose"):
            aug(x)
    with pytest.raises(ValueError, match=r"part='tail' is not a part of layout 'ntu25'"):
        A.Compose([A.RandomPartMask(parts=["tail"])], layout="ntu25")(x)


@pytest.mark.parametrize("make", [
    lambda lay: A.RandomMirror(lay, p=1.0),
    lambda lay: A.RandomBoneLength(lay),
    lambda lay: A.RandomPartMask(lay),
    lambda lay: A.RandomPartMix(lay),
    lambda lay: A.RandomPartTransform(lay),
])
def test_topology_aware_augmentations_take_the_enclosing_layout(make):
    """Built without a layout inside a Compose that has one, they behave exactly as with their own."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 1, 6, 25, 3)).astype(np.float32)
    own = A.Compose([A.RandomRotate(10), make("ntu25")])
    inherited = A.Compose([A.RandomRotate(10), make(None)], layout="ntu25")
    np.testing.assert_array_equal(inherited(x, generator=3), own(x, generator=3))
    lay = make(None)                                        # one instance serves several layouts
    y = A.Compose([lay], layout="openpose25")(rng.normal(size=(2, 1, 5, 25, 2)), generator=0)
    z = A.Compose([lay], layout="coco17")(rng.normal(size=(2, 1, 5, 17, 2)), generator=0)
    assert y.shape == (2, 1, 5, 25, 2) and z.shape == (2, 1, 5, 17, 2)


@pytest.mark.parametrize("make,match", [
    (lambda: A.RandomRotate(p=1.5), r"p=1.5 is not a probability"),
    (lambda: A.RandomRotate(degrees=(10, -10)), r"degrees=\(10, -10\).*low <= high"),
    (lambda: A.RandomScale(scale=(0.0, 1.0)), r"scale=.*> 0"),
    (lambda: A.RandomCropResize(scale=(0.5, 1.5)), r"high must be <= 1"),
    (lambda: A.RandomCropResize(min_length=0), r"min_length=0"),
    (lambda: A.RandomPosterize(stride=0), r"stride=0"),
    (lambda: A.RandomGaussianBlur(kernel_size=4), r"kernel_size=4.*odd"),
    (lambda: A.RandomJointMask(ratio=(0.1, 1.0)), r"ratio=.*\[0, 1\)"),
    (lambda: A.RandomPerturb(temporal="bumpy"), r"temporal='bumpy'"),
    (lambda: A.RandomPerturb(parts=["left_hand"])(np.ones((1, 1, 4, 22, 3))), r"need layout"),
    (lambda: A.RandomPerturb(parts=["tail"], layout="imigue22"), r"'tail' is not a joint of layout"),
    (lambda: A.OneOf([A.RandomRotate()], weights=[-1]), r"weights="),
    (lambda: A.SomeOf([A.RandomRotate()], n=3), r"n=3"),
    (lambda: A.Compose([lambda x: x]), r"transforms\[0\] is a function"),
    (lambda: A.MultiView(A.RandomRotate(), views=0), r"views=0"),
    (lambda: A.RandomRotate(seed=-1), r"seed=-1"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_generator_and_backend():
    with pytest.raises(TypeError, match="generator must be"):
        A.RandomRotate()(x5(), generator="seed")
    with pytest.raises(ValueError, match=r"backend='jax' is unknown"):
        A.RandomRotate()(x5(), backend="jax")


def test_replay_with_wrong_shape():
    aug = A.RandomRotate()
    aug(x5(), generator=0)
    with pytest.raises(ValueError, match=r"params were sampled for N=2.*params.take"):
        aug(x5()[:1], params=aug.last_params)


def test_mixed_layouts_rejected():
    aug = A.Compose([A.RandomMirror("ntu25"), A.RandomMirror("openpose25")])
    with pytest.raises(ValueError, match="mixes layouts"):
        aug(x5())


def test_layout_validation():
    lay = layouts.get("ntu25")
    d = lay.to_dict()
    d["name"] = "broken"
    d["mirror"] = list(range(25))
    d["mirror"][4] = 8                                      # not an involution
    with pytest.raises(ValueError, match="not an involution"):
        layouts.SkeletonLayout.from_dict(d)
    d = lay.to_dict()
    d["bones"] = d["bones"] + [[1, 2]]
    with pytest.raises(ValueError, match="two parents"):
        layouts.SkeletonLayout.from_dict(d)


@pytest.mark.parametrize("m", [1, 2])
def test_stgcn_layout_input_points_to_from_stgcn(m):
    """(N, C, T, V, M) read as (N, M, T, V, C) has C=M channels: the error names the likely transposition."""
    from skelaug.tensors import from_stgcn

    stgcn = np.random.default_rng(0).normal(size=(2, 3, 8, 25, m)).astype(np.float32)
    with pytest.raises(ValueError, match=rf"C={m} channels.*ST-GCN-style \(N, C, T, V, M\).*C=3.*"
                                         rf"M={m} persons.*from_stgcn\(x\)"):
        A.RandomRotate(layout="ntu25")(stgcn)
    if m == 1:                                          # no layout: the 'how many coordinates' error
        with pytest.raises(ValueError, match=r"C=1 channels.*no layout.*from_stgcn\(x\)"):
            A.RandomRotate()(stgcn)
    with pytest.raises(ValueError, match=r"\(C, T, V, M\).*from_stgcn\(x\[None\]\)\[0\]"):
        A.RandomRotate(layout="ntu25")(stgcn[0])
    y = A.RandomRotate(layout="ntu25")(from_stgcn(stgcn), generator=0)      # the fix it names works
    assert y.shape == (2, m, 8, 25, 3)


def test_channel_error_without_stgcn_shape_has_no_hint():
    with pytest.raises(ValueError) as err:
        A.RandomRotate(layout="ntu25")(x5(c=2))
    assert "from_stgcn" not in str(err.value)
