"""Spatial augmentations: global affine transforms about the body centre, mirror, body proportions, parts.

All global transforms act about the sample's body centre ``c`` (the mean of the layout's centre
joints over persons and valid frames; see :meth:`Context.centre`):

.. math:: x' = A (x - c) + c + t

so a rotation of a clip in pixel coordinates stays in the picture. Missing joints (all-zero) stay
missing; a confidence channel is carried along untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skelaug.augment.base import Augmentation, Context, Draw
from skelaug.augment.ops import Op
from skelaug.layouts import SkeletonLayout

__all__ = [
    "RandomBoneLength",
    "RandomMirror",
    "RandomPartTransform",
    "RandomRotate",
    "RandomScale",
    "RandomShear",
    "RandomTranslate",
]

Range = tuple[float, float]


def _range(value: Any, name: str, *, symmetric: bool = True, positive: bool = False) -> Range:
    """Normalise ``r`` -> ``(-r, r)`` (or ``(lo, hi)`` as given) and validate it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if symmetric:
            if value < 0:
                raise ValueError(f"{name}={value!r} must be >= 0 (it means the range (-{name}, {name}))")
            lo, hi = -float(value), float(value)
        else:
            lo = hi = float(value)
    elif isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        lo, hi = float(value[0]), float(value[1])
    else:
        raise ValueError(f"{name}={value!r}; give a number or a (low, high) pair")
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name}={value!r}: need finite low <= high")
    if positive and lo <= 0:
        raise ValueError(f"{name}={value!r}: values must be > 0")
    return lo, hi


def affine_about_centre(ctx: Context, matrix: np.ndarray, translation: np.ndarray | None = None,
                        perm: np.ndarray | None = None) -> Op:
    """An ``affine`` op for ``x' = A (x - c) + c + t`` with ``c`` the current body centre."""
    c = ctx.centre()
    t = np.zeros_like(c) if translation is None else translation
    offset = c - np.einsum("nij,nj->ni", matrix, c) + t
    if perm is None:
        perm = np.tile(np.arange(ctx.v, dtype=np.int64), (ctx.n, 1))
    return Op("affine", {"matrix": matrix, "offset": offset, "perm": perm})


def rotation_matrices(angles_deg: np.ndarray, dims: int) -> np.ndarray:
    """Rotation matrices ``(N, D, D)``; ``angles_deg`` is ``(N, 3)`` Euler angles (x, y, z) applied in
    that order (``R = R_z R_y R_x``) for ``D = 3``, or ``(N, 1)`` in-plane angles for ``D = 2``."""
    a = np.deg2rad(angles_deg)
    n = a.shape[0]
    if dims == 2:
        c, s = np.cos(a[:, 0]), np.sin(a[:, 0])
        return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    c, s = np.cos(a), np.sin(a)

    def about(axis: int) -> np.ndarray:
        r = np.zeros((n, 3, 3))
        r[:, axis, axis] = 1.0
        i, j = [k for k in range(3) if k != axis]
        r[:, i, i], r[:, j, j] = c[:, axis], c[:, axis]
        sign = -1.0 if axis != 1 else 1.0      # right-handed rotations about x, y, z
        r[:, i, j], r[:, j, i] = sign * s[:, axis], -sign * s[:, axis]
        return r

    return np.asarray(about(2) @ (about(1) @ about(0)))    # R_z R_y R_x


class RandomRotate(Augmentation):
    """Rotation about the body centre: a viewpoint change in 3D, an in-plane rotation in 2D.

    Args:
        degrees: Angle range in degrees. A number ``r`` means ``(-r, r)`` on every axis; a pair
            ``(lo, hi)`` is used on every axis; three pairs give separate ``x``, ``y``, ``z`` ranges
            (Euler angles, applied x then y then z). For 2D data the ``z`` range is the in-plane range.

    .. math:: x' = R(\\theta)(x - c) + c, \\quad \\theta_k \\sim U(lo_k, hi_k)

    Rotations keep every bone length (3D, and 2D in-plane).

    Example:
        >>> import numpy as np
        >>> from skelaug.augment import RandomRotate
        >>> x = np.random.default_rng(0).normal(size=(4, 1, 16, 25, 3)).astype(np.float32)
        >>> RandomRotate(degrees=30)(x, generator=0).shape
        (4, 1, 16, 25, 3)
    """

    primitives = ("affine",)

    def __init__(self, degrees: Any = 15.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(degrees, Sequence) and len(degrees) == 3 and all(isinstance(d, Sequence) for d in degrees):
            self._ranges = [_range(d, "degrees") for d in degrees]
            self.degrees: Any = [list(r) for r in self._ranges]
        else:
            r = _range(degrees, "degrees")
            self._ranges = [r, r, r]
            self.degrees = degrees if isinstance(degrees, int | float) else list(r)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        if ctx.dims == 2:
            lo, hi = self._ranges[2]
            angles = draw.uniform(lo, hi, (1,))
        else:
            angles = np.stack([draw.uniform(lo, hi) for lo, hi in self._ranges], axis=-1)
        return [affine_about_centre(ctx, rotation_matrices(angles, ctx.dims))]


class RandomShear(Augmentation):
    """Shear about the body centre (the AimCLR / CrosSCLR shear).

    Args:
        shear: Range of the off-diagonal entries: ``r`` means each ``s_ij ~ U(-r, r)``.

    .. math:: x' = S (x - c) + c, \\quad S_{ii} = 1,\\; S_{ij} = s_{ij}\\ (i \\ne j)
    """

    primitives = ("affine",)

    def __init__(self, shear: Any = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _range(shear, "shear")
        self.shear = shear if isinstance(shear, int | float) else list(self._range)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        d = ctx.dims
        s = draw.uniform(*self._range, (d, d))
        s[:, np.arange(d), np.arange(d)] = 1.0
        return [affine_about_centre(ctx, s)]


class RandomScale(Augmentation):
    """Scaling about the body centre.

    Args:
        scale: Factor range ``(lo, hi)`` (positive).
        isotropic: One factor for all axes (default) or one per axis.
    """

    primitives = ("affine",)

    def __init__(self, scale: Any = (0.9, 1.1), isotropic: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _range(scale, "scale", symmetric=False, positive=True)
        self.scale = list(self._range)
        self.isotropic = bool(isotropic)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        d = ctx.dims
        f = draw.uniform(*self._range, (1,)) if self.isotropic else draw.uniform(*self._range, (d,))
        mat = np.eye(d)[None] * np.broadcast_to(f, (ctx.n, d))[:, None, :]
        return [affine_about_centre(ctx, mat)]


class RandomTranslate(Augmentation):
    """Translation by a fraction of the body size (one person's median extent in a frame, see
    :meth:`~skelaug.augment.base.Context.extent`).

    Args:
        translate: Range of the shift per axis as a fraction of the body size; ``r`` means ``(-r, r)``.
    """

    primitives = ("affine",)
    uses_body_size = True

    def __init__(self, translate: Any = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._range = _range(translate, "translate")
        self.translate = translate if isinstance(translate, int | float) else list(self._range)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        t = draw.uniform(*self._range, (ctx.dims,)) * ctx.extent()[:, None]
        return [affine_about_centre(ctx, np.broadcast_to(np.eye(ctx.dims), (ctx.n, ctx.dims, ctx.dims)).copy(), t)]


class RandomMirror(Augmentation):
    """Left-right mirror: reflect the first coordinate about the centre AND swap left/right joints.

    Reflecting coordinates alone would give a body whose "left hand" is on its right; relabelling by
    the layout's mirror permutation keeps joint semantics. Mirroring twice is the identity.

    Args:
        layout: Required; its ``mirror`` permutation is used.
        axis: Coordinate axis to reflect (0 = x, the horizontal image axis).
    """

    needs_layout = True
    primitives = ("affine",)

    def __init__(self, layout: str | SkeletonLayout | None = None, p: float = 0.5, axis: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(layout=layout, p=p, **kwargs)
        if axis not in (0, 1, 2):
            raise ValueError(f"axis={axis!r}; give the coordinate axis to reflect (0, 1 or 2)")
        self.axis = axis

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        if self.axis >= ctx.dims:
            raise ValueError(f"axis={self.axis} but the data has {ctx.dims} coordinate dimensions")
        mat = np.broadcast_to(np.eye(ctx.dims), (ctx.n, ctx.dims, ctx.dims)).copy()
        mat[:, self.axis, self.axis] = -1.0
        perm = np.tile(np.asarray(self.layout_for(ctx).mirror, dtype=np.int64), (ctx.n, 1))
        return [affine_about_centre(ctx, mat, perm=perm)]


class RandomBoneLength(Augmentation):
    """Bone-length scaling: changes body proportions (an identity-free augmentation).

    Each bone ``j -> parent(j)`` of the layout's kinematic tree is scaled by ``s_j ~ U(lo, hi)``
    (the same factor for left/right twins when ``symmetric``); joints are re-placed by forward
    kinematics from the root, so children follow their parents:

    .. math:: x'_j = x'_{a(j)} + s_j (x_j - x_{a(j)})

    with ``a(j)`` the nearest present ancestor (a missing joint is skipped, never invented).
    """

    needs_layout = True
    primitives = ("bone_scale",)

    def __init__(self, layout: str | SkeletonLayout | None = None, scale: Any = (0.8, 1.2),
                 symmetric: bool = True, **kwargs: Any) -> None:
        super().__init__(layout=layout, **kwargs)
        self._range = _range(scale, "scale", symmetric=False, positive=True)
        self.scale = list(self._range)
        self.symmetric = bool(symmetric)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        lay = self.layout_for(ctx)
        s = draw.uniform(*self._range, (ctx.v,))
        if self.symmetric:
            mirror = np.asarray(lay.mirror)
            first = np.minimum(np.arange(ctx.v), mirror)
            s = s[:, first]
        return [Op("bone_scale", {"scale": s}, {"parent": lay.parent, "order": lay.topological_order})]


class RandomPartTransform(Augmentation):
    """Rotate and scale one body part about its root joint (e.g. an arm about its shoulder).

    Per sample one part is drawn from ``parts``; the moved joints are the part and everything below it
    in the kinematic tree, the pivot is the layout's ``part_roots[part]`` in the same frame:

    .. math:: x'_v = x_r + s R (x_v - x_r), \\quad v \\in \\text{part} \\cup \\text{descendants}

    Args:
        layout: Required.
        parts: Candidate part names (default: arms, hands where present, and head).
        degrees: Rotation range (in-plane for 2D; about each axis for 3D).
        scale: Scale range of the part.
    """

    needs_layout = True
    primitives = ("local_affine",)

    def __init__(self, layout: str | SkeletonLayout | None = None, parts: Sequence[str] | None = None,
                 degrees: Any = 20.0, scale: Any = (0.9, 1.1), **kwargs: Any) -> None:
        super().__init__(layout=layout, **kwargs)
        if parts is not None and (isinstance(parts, str) or not len(parts)):
            raise ValueError(f"parts={parts!r}; give a non-empty list of part names")
        self.parts = list(parts) if parts is not None else None
        self._deg = _range(degrees, "degrees")
        self.degrees = degrees if isinstance(degrees, int | float) else list(self._deg)
        self._scale = _range(scale, "scale", symmetric=False, positive=True)
        self.scale = list(self._scale)
        self._tables: dict[SkeletonLayout, tuple[np.ndarray, np.ndarray]] = {}
        if self.layout is not None:
            self._part_tables(self.layout)             # validate part names now when the layout is known

    def _part_tables(self, lay: SkeletonLayout) -> tuple[np.ndarray, np.ndarray]:
        """``(moved (P, V) bool, pivot (P,))`` of the candidate parts on ``lay`` (cached per layout)."""
        if lay not in self._tables:
            parts = self.parts if self.parts is not None else [
                p for p in ("left_arm", "right_arm", "left_hand", "right_hand", "head") if p in lay.parts]
            if not parts:
                raise ValueError(f"layout {lay.name!r} has none of the default parts; pass parts=[...]")
            moved, pivot = [], []
            for name in parts:
                lay.part(name)
                root = lay.part_roots[name]
                joints = set(lay.part(name))
                for j in list(joints):
                    joints.update(lay.descendants(j))
                joints.discard(root)
                mask = np.zeros(lay.num_joints, dtype=bool)
                mask[list(joints)] = True
                moved.append(mask)
                pivot.append(root)
            self._tables[lay] = (np.stack(moved), np.asarray(pivot, dtype=np.int64))
        return self._tables[lay]

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        moved_all, pivot_all = self._part_tables(self.layout_for(ctx))
        which = draw.integers(0, len(pivot_all))
        na = 1 if ctx.dims == 2 else 3
        rot = rotation_matrices(draw.uniform(*self._deg, (na,)), ctx.dims)
        s = draw.uniform(*self._scale)
        moved = moved_all[which]
        pivot = pivot_all[which]
        return [Op("local_affine", {"matrix": rot * s[:, None, None], "moved": moved, "pivot": pivot})]
