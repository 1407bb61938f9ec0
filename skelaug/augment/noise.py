"""Noise, smoothing, masking and cross-sample mixing.

Noise amplitudes are fractions of the body size (the median extent of one person in one frame,
:meth:`~skelaug.augment.base.Context.extent`), so one setting works for metres (NTU) and pixels
(OpenPose) alike, and means the same on a runner crossing the image or a crowd as on one still body.
Noise values come from a counter-based generator keyed by a per-sample seed, identical on every
backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from skelaug.augment.base import Augmentation, Context, Draw
from skelaug.augment.ops import Op
from skelaug.augment.spatial import _range
from skelaug.layouts import SkeletonLayout

__all__ = [
    "RandomAxisMask",
    "RandomFrameMask",
    "RandomGaussianBlur",
    "RandomGaussianNoise",
    "RandomJointMask",
    "RandomPartMask",
    "RandomPartMix",
    "RandomPerturb",
    "RandomSegmentMix",
]


def _fraction_range(value: Any, name: str) -> tuple[float, float]:
    """A ``(low, high)`` range of fractions in ``[0, 1)``."""
    rng = _range(value, name, symmetric=False)
    if rng[0] < 0 or rng[1] >= 1:
        raise ValueError(f"{name}={value!r}: fractions must lie in [0, 1)")
    return rng


def _mask_op(ctx: Context, joint: np.ndarray | None = None, frame: np.ndarray | None = None,
             axis: np.ndarray | None = None) -> Op:
    return Op("mask", {
        "joint": np.ones((ctx.n, ctx.v), dtype=bool) if joint is None else joint,
        "frame": np.ones((ctx.n, ctx.t), dtype=bool) if frame is None else frame,
        "axis": np.ones((ctx.n, ctx.dims), dtype=bool) if axis is None else axis,
    })


class RandomGaussianNoise(Augmentation):
    """Independent Gaussian noise on every present coordinate of every valid frame.

    .. math:: x' = x + \\sigma\\, e\\, z, \\quad z \\sim \\mathcal{N}(0, 1),\\; \\sigma \\sim U(lo, hi)

    with ``e`` the body size (:meth:`~skelaug.augment.base.Context.extent`: the median over
    person-frames of a person's extent in one frame). Missing joints and padding stay zero.
    """

    primitives = ("noise",)
    uses_body_size = True

    def __init__(self, sigma: Any = (0.005, 0.02), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _range(sigma, "sigma", symmetric=False)
        if self._range[0] < 0:
            raise ValueError(f"sigma={sigma!r} must be >= 0")
        self.sigma = sigma if isinstance(sigma, int | float) else list(self._range)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        sigma = draw.uniform(*self._range) * ctx.extent()
        return [Op("noise", {"sigma": sigma, "seed": draw.seeds(), "weight": np.ones((ctx.n, ctx.v))},
                   {"stride": 1})]


class RandomPerturb(Augmentation):
    """Coordinate perturbation: small per-joint offsets, optionally restricted to parts and smooth in time.

    Micro-gestures are subtle: a few pixels of a hand near the jaw decide the class, so perturbations
    are small offsets of individual joints rather than large global transforms.

    Args:
        sigma: Offset scale as a fraction of the body size (:meth:`~skelaug.augment.base.Context.extent`).
        parts: Restrict to these parts/joints (names or indices); needs a layout for names.
        temporal: ``"constant"`` (one offset per joint for the whole clip), ``"smooth"`` (offsets
            interpolated linearly between random knots every ``knot_stride`` frames) or ``"white"``.
        knot_stride: Frames between knots for ``"smooth"``.
    """

    primitives = ("noise",)
    uses_body_size = True

    def __init__(self, sigma: Any = (0.005, 0.02), parts: Sequence[str | int] | None = None,
                 temporal: Literal["constant", "smooth", "white"] = "smooth", knot_stride: int = 8,
                 layout: str | SkeletonLayout | None = None, **kwargs: Any) -> None:
        super().__init__(layout=layout, **kwargs)
        self._range = _range(sigma, "sigma", symmetric=False)
        if self._range[0] < 0:
            raise ValueError(f"sigma={sigma!r} must be >= 0")
        self.sigma = sigma if isinstance(sigma, int | float) else list(self._range)
        if temporal not in ("constant", "smooth", "white"):
            raise ValueError(f"temporal={temporal!r}; choose 'constant', 'smooth' or 'white'")
        self.temporal = temporal
        if isinstance(knot_stride, bool) or not isinstance(knot_stride, int) or knot_stride < 1:
            raise ValueError(f"knot_stride={knot_stride!r}; give a positive number of frames")
        self.knot_stride = knot_stride
        if parts is not None and self.layout is not None:
            self.layout.joints_of(parts)                  # validate names now when the layout is known
        self.parts = list(parts) if parts is not None else None

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        weight = np.ones((ctx.n, ctx.v))
        if self.parts is not None:
            layout = self.layout or ctx.layout             # a container's layout serves its children
            if layout is None and any(isinstance(p, str) for p in self.parts):
                raise ValueError(f"parts={self.parts!r} uses names, which need layout=... (here or on the "
                                 f"enclosing Compose)")
            joints = (layout.joints_of(self.parts) if layout is not None
                      else sorted({int(j) for j in self.parts}))
            if any(not 0 <= j < ctx.v for j in joints):
                raise ValueError(f"parts={self.parts!r} refers to joints outside 0..{ctx.v - 1}")
            weight[:] = 0.0
            weight[:, list(joints)] = 1.0
        sigma = draw.uniform(*self._range) * ctx.extent()
        stride = {"constant": 0, "white": 1, "smooth": self.knot_stride}[self.temporal]
        return [Op("noise", {"sigma": sigma, "seed": draw.seeds(), "weight": weight}, {"stride": stride})]


class RandomGaussianBlur(Augmentation):
    """Temporal Gaussian blur with a normalised kernel (AimCLR's ``gaus_filter``).

    .. math:: x'_t = \\frac{\\sum_k w_k x_{t+k}}{\\sum_k w_k},\\quad w_k = e^{-k^2 / 2\\sigma^2},
              |k| \\le K/2

    Sums run over valid frames where the joint is present, so clip ends and gaps are not pulled to zero.
    """

    primitives = ("blur",)

    def __init__(self, sigma: Any = (0.1, 2.0), kernel_size: int = 15, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _range(sigma, "sigma", symmetric=False, positive=True)
        self.sigma = sigma if isinstance(sigma, int | float) else list(self._range)
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 \
                or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={kernel_size!r}; give a positive odd number of frames")
        self.kernel_size = kernel_size

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        sigma = draw.uniform(*self._range)
        k = np.arange(self.kernel_size) - self.kernel_size // 2
        w = np.exp(-(k[None, :] ** 2) / (2 * sigma[:, None] ** 2))
        return [Op("blur", {"kernel": w / w.sum(axis=1, keepdims=True)}, {"kernel_size": self.kernel_size})]


class RandomJointMask(Augmentation):
    """Drop random joints (all channels, all frames): they become missing.

    Args:
        ratio: Range of the fraction of joints dropped per sample (at least one joint is kept).
    """

    primitives = ("mask",)

    def __init__(self, ratio: Any = (0.05, 0.2), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _fraction_range(ratio, "ratio")
        self.ratio = ratio if isinstance(ratio, int | float) else list(self._range)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        count = np.floor(draw.uniform(*self._range) * ctx.v).astype(np.int64)
        order = np.argsort(draw.random((ctx.v,)), axis=1)
        joint = np.empty((ctx.n, ctx.v), dtype=bool)       # joint order[n, r] is kept when r >= count[n]
        np.put_along_axis(joint, order, np.arange(ctx.v)[None, :] >= count[:, None], axis=1)
        return [_mask_op(ctx, joint=joint)]


class _PartChoice(Augmentation):
    """Base of the augmentations that pick one body part per sample from ``parts`` (default: those of
    ``default_parts`` the layout has); the part tables are built per layout and cached."""

    needs_layout = True
    default_parts: ClassVar[tuple[str, ...]] = ()

    def __init__(self, layout: str | SkeletonLayout | None = None, parts: Sequence[str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(layout=layout, **kwargs)
        if parts is not None and (isinstance(parts, str) or not len(parts)):
            raise ValueError(f"parts={parts!r}; give a non-empty list of part names")
        self.parts = list(parts) if parts is not None else None
        self._members: dict[SkeletonLayout, np.ndarray] = {}
        if self.layout is not None:
            self._part_members(self.layout)           # validate part names now when the layout is known

    def _part_members(self, lay: SkeletonLayout) -> np.ndarray:
        """``(P, V)`` bool: row ``i`` marks the joints of candidate part ``i`` on ``lay``."""
        if lay not in self._members:
            parts = self.parts
            if parts is None:
                parts = [p for p in self.default_parts if p in lay.parts]
                if not parts:
                    raise ValueError(f"layout {lay.name!r} has none of the parts {self.default_parts}; "
                                     f"pass parts=[...]")
            table = np.zeros((len(parts), lay.num_joints), dtype=bool)
            for i, name in enumerate(parts):
                table[i, list(lay.part(name))] = True
            self._members[lay] = table
        return self._members[lay]


class RandomPartMask(_PartChoice):
    """Drop one whole body part per sample (e.g. a hand), chosen from ``parts``."""

    primitives = ("mask",)
    default_parts = ("left_arm", "right_arm", "left_hand", "right_hand", "head", "left_leg", "right_leg")

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        members = self._part_members(self.layout_for(ctx))
        which = draw.integers(0, len(members))
        return [_mask_op(ctx, joint=~members[which])]


class RandomAxisMask(Augmentation):
    """Zero one random coordinate axis of the whole clip (AimCLR's ``axis_mask``)."""

    primitives = ("mask",)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        axis = draw.integers(0, ctx.dims)
        keep = np.arange(ctx.dims)[None, :] != axis[:, None]
        return [_mask_op(ctx, axis=keep)]


class RandomFrameMask(Augmentation):
    """Zero a random fraction of frames (they stay in place, all joints missing)."""

    primitives = ("mask",)

    def __init__(self, ratio: Any = (0.05, 0.2), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _fraction_range(ratio, "ratio")
        self.ratio = ratio if isinstance(ratio, int | float) else list(self._range)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        rate = draw.uniform(*self._range)
        return [_mask_op(ctx, frame=draw.random((ctx.t,)) >= rate[:, None])]


def _partners(ctx: Context, draw: Draw) -> np.ndarray:
    if ctx.n < 2:
        return np.arange(ctx.n, dtype=np.int64)
    shift = draw.integers(1, ctx.n)
    return np.asarray((np.arange(ctx.n) + shift) % ctx.n, dtype=np.int64)


class RandomPartMix(_PartChoice):
    """Cross-sample part mixing: one body part of each sample is taken from another sample of the batch.

    The partner's part is moved by the difference of the two body centres and time-normalised to the
    sample's valid length; joints are replaced only where both samples have them. The output depends
    on the batch (a batch of one is unchanged).
    """

    primitives = ("mix",)
    batch_dependent = True
    default_parts = ("left_arm", "right_arm", "left_hand", "right_hand", "head")

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        mixed = self._part_members(self.layout_for(ctx))
        partner = _partners(ctx, draw)
        which = draw.integers(0, len(mixed))
        c = ctx.centre()
        return [Op("mix", {"partner": partner, "joints": mixed[which],
                           "frames": np.ones((ctx.n, ctx.t), dtype=bool), "offset": c - c[partner]})]


class RandomSegmentMix(Augmentation):
    """Cross-sample segment mixing: a random time segment of each clip comes from another sample.

    Args:
        ratio: Range of the segment length as a fraction of the valid length.
    """

    primitives = ("mix",)
    batch_dependent = True

    def __init__(self, ratio: Any = (0.1, 0.4), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _range(ratio, "ratio", symmetric=False)
        if self._range[0] < 0 or self._range[1] > 1:
            raise ValueError(f"ratio={ratio!r}: fractions must lie in [0, 1]")
        self.ratio = ratio if isinstance(ratio, int | float) else list(self._range)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        partner = _partners(ctx, draw)
        seg = np.round(draw.uniform(*self._range) * ctx.lengths).astype(np.int64)
        start = np.floor(draw.random() * (ctx.lengths - seg + 1)).astype(np.int64)
        t = np.arange(ctx.t)[None, :]
        frames = (t >= start[:, None]) & (t < (start + seg)[:, None])
        c = ctx.centre()
        return [Op("mix", {"partner": partner, "joints": np.ones((ctx.n, ctx.v), dtype=bool),
                           "frames": frames, "offset": c - c[partner]})]
