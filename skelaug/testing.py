"""Invariant assertions and hypothesis strategies for skeleton tensors, for testing your own augmentations.

The assertions raise :class:`AssertionError` with a message saying which sample/frame/joint broke the
invariant; the strategies generate valid ``(N, M, T, V, C)`` batches with missing joints, padding and
valid lengths.

Example:
    >>> import numpy as np
    >>> from skelaug.augment import RandomRotate
    >>> from skelaug.testing import assert_missing_preserved, skeleton_batch_numpy
    >>> x, lengths = skeleton_batch_numpy(np.random.default_rng(0), "ntu25", n=2, t=8)
    >>> y, _ = RandomRotate(layout="ntu25")(x, lengths, generator=0)
    >>> assert_missing_preserved(x, y, dims=3)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from skelaug import layouts as _layouts
from skelaug.layouts import SkeletonLayout

__all__ = [
    "CONTAINERS",
    "assert_bone_lengths_preserved",
    "assert_missing_preserved",
    "assert_not_mutated",
    "assert_padding_zero",
    "assert_replay_exact",
    "example_augmentation",
    "skeleton_batch_numpy",
    "skeleton_batches",
]


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _present(x: np.ndarray, dims: int) -> np.ndarray:
    return np.asarray(np.any(x[..., :dims] != 0, axis=-1))


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def assert_missing_preserved(x: Any, y: Any, dims: int, *, allow_dropped: bool = False) -> None:
    """Missing joints of ``x`` are missing in ``y``; present ones stay present (unless ``allow_dropped``).

    Only for augmentations that keep frames in place (not temporal resampling).
    """
    px, py = _present(_np(x), dims), _present(_np(y), dims)
    created = ~px & py
    if created.any():
        raise AssertionError(f"a missing joint became present at index {_first(created)}")
    if not allow_dropped:
        lost = px & ~py
        if lost.any():
            raise AssertionError(f"a present joint became missing (all-zero) at index {_first(lost)}")


def assert_padding_zero(y: Any, lengths: Any) -> None:
    """Frames at or beyond ``lengths[n]`` are all zero in the ``(N, M, T, V, C)`` batch ``y``."""
    yy, ll = _np(y), _np(lengths)
    t = np.arange(yy.shape[2])
    pad = t[None, :] >= ll[:, None]
    bad = pad[:, None, :, None, None] & (yy != 0)
    if bad.any():
        raise AssertionError(f"padding frame is not zero at index {_first(bad)} (lengths={ll.tolist()})")


def bone_lengths(x: Any, layout: str | SkeletonLayout, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Bone lengths ``(..., B)`` over the layout's kinematic bones, and where both ends are present."""
    lay = _layouts.get(layout)
    xx = _np(x).astype(np.float64)
    child = np.array([c for c, _ in lay.bones])
    parent = np.array([p for _, p in lay.bones])
    vec = xx[..., child, :dims] - xx[..., parent, :dims]
    ok = _present(xx[..., child, :], dims) & _present(xx[..., parent, :], dims)
    return np.linalg.norm(vec, axis=-1), ok


def assert_bone_lengths_preserved(x: Any, y: Any, layout: str | SkeletonLayout, dims: int, *,
                                  rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Every bone with both ends present has the same length in ``x`` and ``y`` (rigid transforms)."""
    lx, ok = bone_lengths(x, layout, dims)
    ly, _ = bone_lengths(y, layout, dims)
    bad = ok & ~np.isclose(lx, ly, rtol=rtol, atol=atol)
    if bad.any():
        i = _first(bad)
        raise AssertionError(f"bone length changed at index {i}: {lx[i]:.6g} -> {ly[i]:.6g}")


def assert_not_mutated(before: Any, after: Any) -> None:
    """The caller's array is unchanged (compare a copy taken before the call with the array after it)."""
    if not np.array_equal(_np(before), _np(after)):
        raise AssertionError("the input array was modified in place")


def assert_replay_exact(aug: Any, x: Any, lengths: Any = None, generator: Any = 0) -> None:
    """``aug(x, params=aug.last_params)`` reproduces ``aug(x)`` exactly."""
    first = aug(x, lengths, generator)
    again = aug(x, lengths, params=aug.last_params)
    a = first[0] if lengths is not None else first
    b = again[0] if lengths is not None else again
    if not np.array_equal(_np(a), _np(b)):
        raise AssertionError("replaying last_params did not reproduce the output")


def skeleton_batch_numpy(rng: np.random.Generator, layout: str | SkeletonLayout, *, n: int = 2, m: int = 1,
                         t: int = 16, score: bool = True, missing: float = 0.1,
                         dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A random plausible batch for ``layout``: a body built along its kinematic tree with random bone
    vectors, small motion, a fraction ``missing`` of absent joints, random valid lengths and zero padding.

    Returns ``(x, lengths)`` with ``x`` of shape ``(n, m, t, V, D + score)``.
    """
    lay = _layouts.get(layout)
    d, v = lay.dim, lay.num_joints
    bone = rng.normal(size=(n, m, 1, v, d)) * 0.2
    drift = np.cumsum(rng.normal(size=(n, m, t, v, d)) * 0.01, axis=2)
    pos = np.zeros((n, m, t, v, d))
    root_pos = rng.normal(size=(n, m, 1, d)) + 2.0
    for j in lay.topological_order:
        p = lay.parent[j]
        pos[:, :, :, j] = (root_pos if p < 0 else pos[:, :, :, p]) + bone[:, :, :, j] + drift[:, :, :, j]
    x = pos
    if score:
        x = np.concatenate([x, rng.uniform(0.1, 1.0, size=(n, m, t, v, 1))], axis=-1)
    x[rng.random((n, m, t, v)) < missing] = 0.0
    lengths = rng.integers(1, t + 1, size=n).astype(np.int64)
    pad = np.broadcast_to(np.arange(t)[None, None, :] >= lengths[:, None, None], (n, m, t))
    x[pad] = 0.0
    return x.astype(dtype), lengths


def skeleton_batches(layouts: list[str] | None = None, *, max_n: int = 3, max_m: int = 2, max_t: int = 12,
                     dtypes: tuple[Any, ...] = (np.float32, np.float64)) -> Any:
    """Hypothesis strategy of ``(x, lengths, layout_name)`` batches (see :func:`skeleton_batch_numpy`)."""
    from hypothesis import strategies as st

    names = layouts or _layouts.names()

    @st.composite
    def build(draw: Any) -> tuple[np.ndarray, np.ndarray, str]:
        name = draw(st.sampled_from(names))
        n = draw(st.integers(0, max_n))
        m = draw(st.integers(1, max_m))
        t = draw(st.integers(1, max_t))
        seed = draw(st.integers(0, 2**32 - 1))
        missing = draw(st.sampled_from([0.0, 0.1, 0.5]))
        dtype = draw(st.sampled_from(list(dtypes)))
        score = draw(st.booleans())
        x, lengths = skeleton_batch_numpy(np.random.default_rng(seed), name, n=n, m=m, t=t, score=score,
                                          missing=missing, dtype=dtype)
        return x, lengths, name

    return build()


#: Containers, which need children to be instantiated.
CONTAINERS = ("Compose", "OneOf", "SomeOf", "RandomApply", "MultiView")


def example_augmentation(name: str, layout: str | SkeletonLayout, **kwargs: Any) -> Any:
    """An instance of the registered augmentation ``name`` for ``layout`` that visibly does something.

    Used by the generic test suite and the documentation gallery, so that every registered augmentation
    (including containers, built here with representative children) is enrolled in both. Mirror and
    reverse default to ``p=1`` here so that the example is never a no-op.

    Example:
        >>> from skelaug.testing import example_augmentation
        >>> example_augmentation("OneOf", "ntu25")
        OneOf(transforms=[RandomShear(), RandomReverse(p=1.0), RandomJointMask()], layout='ntu25')
    """
    from skelaug import augment as A
    from skelaug.augment.base import AUGMENTATIONS

    if name == "Compose":
        return A.Compose([A.RandomRotate(), A.RandomCropResize(), A.RandomPerturb()], layout=layout, **kwargs)
    if name == "OneOf":
        return A.OneOf([A.RandomShear(), A.RandomReverse(p=1.0), A.RandomJointMask()], layout=layout, **kwargs)
    if name == "SomeOf":
        return A.SomeOf([A.RandomScale(), A.RandomSpeed(), A.RandomGaussianBlur()], n=(1, 2), layout=layout,
                        **kwargs)
    if name == "RandomApply":
        kwargs.setdefault("p", 0.7)
        return A.RandomApply([A.RandomTranslate(), A.RandomPosterize()], layout=layout, **kwargs)
    if name == "MultiView":
        return A.MultiView(A.presets.micro_gesture(layout), views=2, **kwargs)
    if name in ("RandomMirror", "RandomReverse"):
        kwargs.setdefault("p", 1.0)
    if name == "UniformSampleFrames":               # fits the short padded clips of the generic tests
        kwargs.setdefault("clip_len", 8)
    if name not in AUGMENTATIONS:
        raise ValueError(f"name={name!r} is not a registered augmentation; known: {', '.join(sorted(AUGMENTATIONS))}")
    return AUGMENTATIONS[name](layout=layout, **kwargs)
