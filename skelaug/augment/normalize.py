"""Normalisation transforms (pyskl / 2s-AGCN pre-processing) and pyskl's uniform temporal sampling.

These are deterministic (or, for :class:`UniformSampleFrames` in training, randomly sampled) steps that
the skeleton-recognition code bases run before augmentation. Here they are augmentations like any other:
they compose in :class:`~skelaug.augment.Compose`, replay with ``params=``, serialise with ``to_dict``,
run on every backend, and each one emits a single existing primitive:

============================  ============  =============================================================
class                         primitive     what it does
============================  ============  =============================================================
:class:`CentreBody`           ``affine``    subtract the body centre (first valid frame, or clip mean)
:class:`AlignView`            ``affine``    rotate: spine along ``+z``, shoulders along ``+x`` (3D);
                                            shoulder line horizontal (2D)
:class:`NormalizeScale`       ``affine``    scale so a body length (shoulder width, spine, extent) is 1
:class:`UniformSampleFrames`  ``resample``  one frame from each of ``k`` equal segments of the valid clip
============================  ============  =============================================================

pyskl's ``PreNormalize3D`` on NTU RGB+D is ``Compose([CentreBody(joints="spine_mid"), AlignView(
method="pyskl")], layout="ntu25")``.

**Reference frame.** The centre, the spine and the shoulders are read in the *first valid frame* of the
clip: the earliest frame ``t < L`` in which some person has all the joints needed (the lowest person
index among those). They are measured on the input of the call and carried through the global affine
ops sampled before them in the same pipeline (as :meth:`~skelaug.augment.Context.centre` is); temporal
ops earlier in a pipeline do not move the reference, so a normalisation gives the same transform
wherever it stands relative to them. Put normalisations before the augmentations that deform the body.
A clip in which the needed joints never appear is left unchanged.

**Missing joints stay missing** (all-zero, affine semantics) and padded frames stay zero. A present
joint that lands exactly on the origin (the centre joint after :class:`CentreBody`) is moved by the
smallest float32 (``1e-38``) so that it still counts as present.

Example:
    >>> import numpy as np
    >>> from skelaug.augment import AlignView, CentreBody, Compose, UniformSampleFrames
    >>> x = np.random.default_rng(0).normal(size=(2, 1, 40, 25, 3)).astype(np.float32) + 2.0
    >>> pre = Compose([CentreBody(), AlignView(), UniformSampleFrames(16, mode="test")], layout="ntu25")
    >>> y, lengths = pre(x, np.array([40, 12]))
    >>> y.shape, lengths.tolist()
    ((2, 1, 40, 25, 3), [16, 16])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

from skelaug.augment.base import Augmentation, Context, Draw, _reduce_present
from skelaug.augment.ops import Op
from skelaug.layouts import SkeletonLayout

__all__ = ["AlignView", "CentreBody", "NormalizeScale", "UniformSampleFrames"]

JointSpec = str | Sequence[str]


# ------------------------------------------------------------------------------ helpers
def _input_lengths(ctx: Context) -> np.ndarray:
    """Valid lengths of the call's input (``ctx.x``), before any temporal op of the pipeline."""
    return np.asarray(getattr(ctx, "_lengths0", ctx.lengths))


def _carry_points(ctx: Context, p: np.ndarray) -> np.ndarray:
    """Map points ``(N, ..., D)`` measured on ``ctx.x`` through the affine ops sampled so far."""
    a, b = ctx._cum_a, ctx._cum_b
    if a is None or b is None:
        return p
    shape = p.shape
    q = p.reshape(shape[0], -1, shape[-1])
    return np.asarray(np.einsum("nij,nkj->nki", a, q) + b[:, None, :]).reshape(shape)


def _carry_vectors(ctx: Context, u: np.ndarray) -> np.ndarray:
    """Map vectors ``(N, ..., D)`` through the linear part of the affine ops sampled so far."""
    a = ctx._cum_a
    if a is None:
        return u
    shape = u.shape
    q = u.reshape(shape[0], -1, shape[-1])
    return np.asarray(np.einsum("nij,nkj->nki", a, q)).reshape(shape)


def _gather(ctx: Context, joints: Sequence[int]) -> np.ndarray:
    """Coordinates of ``joints`` on the input: float64 ``(N, M, T, J, D)`` in host memory."""
    xs = ctx.x[:, :, :, list(joints), : ctx.dims]
    if isinstance(xs, torch.Tensor):
        return np.asarray(xs.detach().to("cpu", torch.float64).numpy())
    return np.asarray(xs, dtype=np.float64)


def _first_frame(ctx: Context, joints: Sequence[int], require: Literal["all", "any"] = "all"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates ``(N, J, D)`` and presence ``(N, J)`` of ``joints`` in each sample's reference frame,
    and whether one was found ``(N,)``: the earliest valid frame where some person has ``require`` of
    the joints present (lowest person index on ties)."""
    xs = _gather(ctx, joints)                                     # (N, M, T, J, D)
    n, m, t = xs.shape[:3]
    pres = np.any(xs != 0, axis=-1)                               # (N, M, T, J)
    ok = pres.all(axis=-1) if require == "all" else pres.any(axis=-1)
    ok &= (np.arange(t)[None, :] < _input_lengths(ctx)[:, None])[:, None, :]
    flat = ok.transpose(0, 2, 1).reshape(n, t * m)                # frame-major, then person
    found = flat.any(axis=1)
    k = flat.argmax(axis=1)
    ti, mi = k // max(m, 1), k % max(m, 1)
    rows = np.arange(n)
    return xs[rows, mi, ti], pres[rows, mi, ti], found


def _indices(lay: SkeletonLayout, spec: JointSpec, who: str, role: str) -> list[int]:
    names = [spec] if isinstance(spec, str) else list(spec)
    missing = [j for j in names if j not in lay.joint_names]
    if missing or not names:
        raise ValueError(
            f"{who}: layout {lay.name!r} has no joint(s) {missing or names} needed for the {role}; pass "
            f"{role}= with joints it has (its joints: {', '.join(lay.joint_names)})"
        )
    return [lay.joint_names.index(j) for j in names]


def _spec(value: Any, name: str, size: int) -> list[Any] | None:
    """Validate a ``(a, b)`` pair of joint specs (each a name or a list of names, averaged)."""
    if value is None:
        return None
    ok = isinstance(value, Sequence) and not isinstance(value, str) and len(value) == size and all(
        isinstance(v, str) or (isinstance(v, Sequence) and len(v) > 0 and all(isinstance(s, str) for s in v))
        for v in value)
    if not ok:
        raise ValueError(
            f"{name}={value!r}; give a pair of joint names (each a name or a list of names that are averaged), "
            f"e.g. ('spine_base', 'spine_mid') or (['left_hip', 'right_hip'], ['left_shoulder', 'right_shoulder'])"
        )
    return [v if isinstance(v, str) else list(v) for v in value]


def _default_spine(lay: SkeletonLayout) -> list[Any]:
    have = set(lay.joint_names)
    if {"spine_base", "spine_mid"} <= have:
        return ["spine_base", "spine_mid"]                        # NTU / Kinect v2: pyskl's zaxis [0, 1]
    if {"hip_center", "spine"} <= have:
        return ["hip_center", "spine"]                            # Kinect v1 (kinect20): the same joints
    if {"mid_hip", "neck"} <= have:
        return ["mid_hip", "neck"]
    return [["left_hip", "right_hip"], ["left_shoulder", "right_shoulder"]]


def _check_about(about: Any) -> str:
    if about not in ("origin", "centre"):
        raise ValueError(f"about={about!r}; use 'origin' (x' = A x) or 'centre' (about the body centre)")
    return str(about)


def _affine(ctx: Context, matrix: np.ndarray, about: str, offset: np.ndarray | None = None) -> Op:
    """``x' = A x + offset`` (``about="origin"``) or ``x' = A (x - c) + c`` about the body centre."""
    if about == "centre":
        c = ctx.centre()
        shift = c - np.einsum("nij,nj->ni", matrix, c)
    else:
        shift = np.zeros((ctx.n, ctx.dims))
    if offset is not None:
        shift = shift + offset
    perm = np.tile(np.arange(ctx.v, dtype=np.int64), (ctx.n, 1))
    return Op("affine", {"matrix": matrix, "offset": shift, "perm": perm})


def _eye(ctx: Context) -> np.ndarray:
    return np.broadcast_to(np.eye(ctx.dims), (ctx.n, ctx.dims, ctx.dims)).copy()


# ------------------------------------------------------------------------------ centre
class CentreBody(Augmentation):
    """Translate each clip so its body centre is at the origin.

    .. math:: x' = x - c, \\quad c = \\begin{cases}
              \\bar x_{J}(t^*, m^*) & \\text{mode = "first"} \\\\
              \\operatorname{mean}_{m,\\, t < L,\\, j \\in J,\\ \\text{present}} x_j(t, m) & \\text{mode = "clip"}
              \\end{cases}

    with ``J`` the centre joints and ``(t*, m*)`` the first valid frame where they are present (see the
    module docstring; in ``"clip"`` mode a clip without them is centred on all its present joints).
    The *same* translation is applied to every frame and person, so the motion of the body through
    space is kept (only where the clip starts changes): ``"first"`` is pyskl's and
    2s-AGCN's choice, ``"clip"`` is less sensitive to a noisy first frame. Per-frame centring
    (subtracting each frame's own centre) removes the body's trajectory; it is not a translation of the
    whole clip, so no primitive expresses it and it is not offered here.

    Args:
        mode: ``"first"`` (default) or ``"clip"``.
        joints: Centre joint name(s), averaged; default the layout's ``centre`` (NTU-25:
            ``spine_shoulder``; pyskl uses ``"spine_mid"``). Without a layout and without ``joints``,
            the mean of all present joints is the centre.

    Example:
        >>> import numpy as np
        >>> from skelaug.augment import CentreBody
        >>> x = np.random.default_rng(0).normal(size=(1, 1, 5, 25, 3)) + 3.0
        >>> y = CentreBody(joints="spine_mid", layout="ntu25")(x)
        >>> bool(np.abs(y[0, 0, 0, 1]).max() < 1e-12)           # spine_mid of frame 0 is the origin
        True
    """

    primitives = ("affine",)

    def __init__(self, mode: Literal["first", "clip"] = "first", joints: JointSpec | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("first", "clip"):
            raise ValueError(f"mode={mode!r}; use 'first' (first valid frame) or 'clip' (mean over the clip)")
        self.mode = mode
        if joints is not None and not (isinstance(joints, str) or (
                isinstance(joints, Sequence) and len(joints) > 0 and all(isinstance(j, str) for j in joints))):
            raise ValueError(f"joints={joints!r}; give a joint name or a non-empty list of names")
        self.joints: Any = joints if joints is None or isinstance(joints, str) else list(joints)
        if self.layout is not None and self.joints is not None:
            _indices(self.layout, self.joints, type(self).__name__, "joints")

    def _centre_joints(self, ctx: Context) -> list[int] | None:
        lay = self.layout if self.layout is not None else ctx.layout
        if self.joints is None:
            return list(lay.centre) if lay is not None else None
        if lay is None:
            raise ValueError(f"{type(self).__name__}(joints={self.joints!r}) needs layout=... to find the joints")
        return _indices(lay, self.joints, type(self).__name__, "joints")

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        joints = self._centre_joints(ctx)
        if self.mode == "clip":
            lens = _input_lengths(ctx)
            c, found = _reduce_present(ctx.x, lens, ctx.dims, joints, "mean")
            if joints is not None and not np.all(found):         # as Context.centre: all present joints
                c_all, found_all = _reduce_present(ctx.x, lens, ctx.dims, None, "mean")
                c, found = np.where(found[:, None], c, c_all), found | found_all
            c = np.asarray(c, dtype=np.float64).reshape(ctx.n, ctx.dims)
        else:
            idx = joints if joints is not None else list(range(ctx.v))
            pts, pres, found = _first_frame(ctx, idx, "all" if joints is not None else "any")
            w = pres[..., None].astype(np.float64)
            c = (pts * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1.0)
        c = np.where(np.asarray(found)[:, None], _carry_points(ctx, c), 0.0)
        return [_affine(ctx, _eye(ctx), "origin", -c)]


# ------------------------------------------------------------------------------ view alignment
def _rodrigues(axis: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Rotations ``(N, 3, 3)`` by ``theta`` about ``axis`` (identity where either is ~0, as pyskl)."""
    n = axis.shape[0]
    out = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    norm = np.linalg.norm(axis, axis=-1)
    ok = (np.abs(axis).sum(-1) >= 1e-6) & (np.abs(theta) >= 1e-6)
    k = axis / np.where(norm > 0, norm, 1.0)[:, None]
    kx = np.zeros((n, 3, 3))
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    kx[:, 1, 0], kx[:, 2, 0], kx[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    rot = np.eye(3)[None] + s * kx + (1 - c) * (kx @ kx)
    return np.where(ok[:, None, None], rot, out)


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
    deg = (np.abs(u).sum(-1) < 1e-6) | (np.abs(v).sum(-1) < 1e-6)
    cos = (u * v).sum(-1) / np.where(deg, 1.0, nu * nv)
    return np.where(deg, 0.0, np.arccos(np.clip(cos, -1.0, 1.0)))


def _align_to(u: np.ndarray, axis: int) -> np.ndarray:
    """Smallest rotations ``(N, 3, 3)`` taking each vector ``u`` onto the ``+axis`` direction."""
    e = np.zeros(3)
    e[axis] = 1.0
    target = np.broadcast_to(e, u.shape)
    return _rodrigues(np.cross(u, target), _angle(u, target))


class AlignView(Augmentation):
    """Rotate each clip to a canonical view: spine along ``+z`` and shoulders along ``+x`` (pyskl's
    ``PreNormalize3D`` alignment, 2s-AGCN's pre-normalisation).

    In 3D, with ``s`` the spine vector (``spine[1] - spine[0]``) and ``h`` the shoulder vector
    (``shoulders[0] - shoulders[1]``, pyskl's ``xaxis = [right, left]``) in the first valid frame:

    * ``method="orthogonal"`` (default): the rotation whose rows are the orthonormal frame

      .. math:: e_3 = \\frac{s}{\\lVert s \\rVert}, \\quad
                e_1 = \\frac{h - (h \\cdot e_3) e_3}{\\lVert h - (h \\cdot e_3) e_3 \\rVert}, \\quad
                e_2 = e_3 \\times e_1, \\qquad x' = [e_1; e_2; e_3]\\, x

      so the spine is exactly ``+z`` and the shoulder line lies in the ``x z`` plane pointing ``+x``
      (exactly ``+x`` when it is perpendicular to the spine).
    * ``method="pyskl"``: pyskl's two smallest rotations in turn, ``s`` onto ``+z`` then the rotated
      ``h`` onto ``+x`` (the second may tilt the spine off ``z`` again when ``h`` and ``s`` are not
      perpendicular). Degenerate vectors leave that rotation out, as pyskl does.

    In 2D the spine is not used: the clip is rotated in the image plane, by the smallest angle, so that
    the shoulder line is horizontal (whichever way the person faces).

    Args:
        layout: Required (names the joints).
        spine: ``(bottom, top)``, each a joint name or a list of names that are averaged. Default:
            ``("spine_base", "spine_mid")`` where the layout has them (NTU-25, as pyskl),
            ``("hip_center", "spine")`` (Kinect v1), ``("mid_hip", "neck")`` (OpenPose-25), else the
            hip midpoint to the shoulder midpoint.
        shoulders: ``(a, b)`` joint names; ``a - b`` is aligned with ``+x``.
        method: ``"orthogonal"`` or ``"pyskl"`` (3D only).
        about: ``"origin"`` (default, as pyskl: use after :class:`CentreBody`) or ``"centre"`` (rotate
            about the body centre, as :class:`~skelaug.augment.RandomRotate` does).

    Raises:
        ValueError: the layout lacks a needed joint (naming the layout and the joints).

    Example:
        >>> import numpy as np
        >>> from skelaug.augment import AlignView
        >>> x = np.random.default_rng(0).normal(size=(1, 1, 5, 25, 3))
        >>> y = AlignView(layout="ntu25")(x)
        >>> s = y[0, 0, 0, 1] - y[0, 0, 0, 0]                   # spine_mid - spine_base, frame 0
        >>> np.round(s / np.linalg.norm(s), 6).tolist()
        [0.0, 0.0, 1.0]
    """

    needs_layout = True
    primitives = ("affine",)

    def __init__(self, layout: str | SkeletonLayout | None = None, spine: Any = None,
                 shoulders: Any = ("right_shoulder", "left_shoulder"),
                 method: Literal["orthogonal", "pyskl"] = "orthogonal",
                 about: Literal["origin", "centre"] = "origin", **kwargs: Any) -> None:
        super().__init__(layout=layout, **kwargs)
        self.spine = _spec(spine, "spine", 2)
        sh = _spec(shoulders, "shoulders", 2)
        if sh is None or not all(isinstance(s, str) for s in sh):
            raise ValueError(f"shoulders={shoulders!r}; give two joint names, e.g. ('right_shoulder', 'left_shoulder')")
        self.shoulders = sh
        if method not in ("orthogonal", "pyskl"):
            raise ValueError(f"method={method!r}; use 'orthogonal' or 'pyskl'")
        self.method = method
        self.about = _check_about(about)
        if self.layout is not None:
            self._joints(self.layout, self.layout.dim)          # name the missing joints now

    def _joints(self, lay: SkeletonLayout, dims: int) -> tuple[list[int], list[int], list[int], list[int]]:
        who = type(self).__name__
        a = _indices(lay, self.shoulders[0], who, "shoulders")
        b = _indices(lay, self.shoulders[1], who, "shoulders")
        if dims == 2:
            return [], [], a, b
        spine = self.spine if self.spine is not None else _default_spine(lay)
        return (_indices(lay, spine[0], who, "spine"), _indices(lay, spine[1], who, "spine"), a, b)

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        lo, hi, a, b = self._joints(self.layout_for(ctx), ctx.dims)
        groups = [lo, hi, a, b]
        flat = [j for g in groups for j in g]
        pts, _, found = _first_frame(ctx, flat)
        pts = _carry_points(ctx, pts)
        means: list[np.ndarray] = []
        k = 0
        for g in groups:
            means.append(pts[:, k:k + len(g)].mean(axis=1) if g else np.zeros((ctx.n, ctx.dims)))
            k += len(g)
        h = means[2] - means[3]
        if ctx.dims == 2:
            theta = np.arctan2(h[:, 1], h[:, 0])
            theta = np.where(theta > np.pi / 2, theta - np.pi, np.where(theta <= -np.pi / 2, theta + np.pi, theta))
            c, s = np.cos(-theta), np.sin(-theta)
            rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
        else:
            sp = means[1] - means[0]
            if self.method == "pyskl":
                r1 = _align_to(sp, 2)
                rot = _align_to(np.einsum("nij,nj->ni", r1, h), 0) @ r1
            else:
                rot = _frame(sp, h)
        rot = np.where(found[:, None, None], rot, np.eye(ctx.dims)[None])
        return [_affine(ctx, rot, self.about)]


def _frame(s: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Rotations with rows ``e1, e2, e3`` (Gram-Schmidt of ``h`` against ``s``); identity if degenerate."""
    ns = np.linalg.norm(s, axis=-1, keepdims=True)
    e3 = s / np.where(ns > 0, ns, 1.0)
    hp = h - (h * e3).sum(-1, keepdims=True) * e3
    nh = np.linalg.norm(hp, axis=-1, keepdims=True)
    e1 = hp / np.where(nh > 0, nh, 1.0)
    e2 = np.cross(e3, e1)
    rot = np.stack([e1, e2, e3], axis=-2)
    ok = (ns[:, 0] > 1e-12) & (nh[:, 0] > 1e-9 * np.maximum(ns[:, 0], 1.0))
    return np.where(ok[:, None, None], rot, np.eye(3)[None])


# ------------------------------------------------------------------------------ scale
class NormalizeScale(Augmentation):
    """Scale each clip so a body length becomes ``target`` (removes the performer's size and distance).

    .. math:: x' = \\frac{\\text{target}}{\\ell}\\, x \\quad (\\text{about}=\\text{"origin"}), \\qquad
              x' = \\frac{\\text{target}}{\\ell} (x - c) + c \\quad (\\text{about}=\\text{"centre"})

    with ``l`` (per sample) the mean over persons and valid frames, where both ends are present, of

    * ``by="shoulders"``: the shoulder width ``|shoulders[0] - shoulders[1]|`` (every layout has it);
    * ``by="spine"``: the spine length (joints as in :class:`AlignView`);
    * ``by="extent"``: the largest coordinate range of the present joints over the clip.

    A clip without the needed joints is left unchanged. ``"shoulders"`` and ``"spine"`` need a layout
    (here or on the enclosing container); ``"extent"`` does not.

    Args:
        by: ``"shoulders"`` (default), ``"spine"`` or ``"extent"``.
        target: The length after scaling (> 0).
        about: ``"origin"`` (default: use after :class:`CentreBody`) or ``"centre"``.
        spine, shoulders: Joint names, as for :class:`AlignView`.

    Example:
        >>> import numpy as np
        >>> from skelaug.augment import NormalizeScale
        >>> x = np.random.default_rng(0).normal(size=(1, 1, 5, 25, 3))
        >>> y = NormalizeScale(layout="ntu25")(x)
        >>> w = np.linalg.norm(y[0, 0, :, 8] - y[0, 0, :, 4], axis=-1)   # shoulder widths per frame
        >>> round(float(w.mean()), 6)
        1.0
    """

    needs_layout = True                 # except by="extent" (see _layout_needers)
    primitives = ("affine",)

    def __init__(self, by: Literal["shoulders", "spine", "extent"] = "shoulders", target: float = 1.0,
                 about: Literal["origin", "centre"] = "origin", spine: Any = None,
                 shoulders: Any = ("right_shoulder", "left_shoulder"), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if by not in ("shoulders", "spine", "extent"):
            raise ValueError(f"by={by!r}; use 'shoulders', 'spine' or 'extent'")
        self.by = by
        if isinstance(target, bool) or not isinstance(target, int | float) or not (np.isfinite(target) and target > 0):
            raise ValueError(f"target={target!r}; give a positive length")
        self.target = float(target)
        self.about = _check_about(about)
        self.spine = _spec(spine, "spine", 2)
        sh = _spec(shoulders, "shoulders", 2)
        if sh is None or not all(isinstance(s, str) for s in sh):
            raise ValueError(f"shoulders={shoulders!r}; give two joint names, e.g. ('right_shoulder', 'left_shoulder')")
        self.shoulders = sh
        if self.layout is not None and by != "extent":
            self._ends(self.layout)

    def _layout_needers(self) -> list[str]:
        return [type(self).__name__] if self.by != "extent" and self.layout is None else []

    def _ends(self, lay: SkeletonLayout) -> tuple[list[int], list[int]]:
        who = type(self).__name__
        if self.by == "spine":
            spine = self.spine if self.spine is not None else _default_spine(lay)
            return _indices(lay, spine[0], who, "spine"), _indices(lay, spine[1], who, "spine")
        return _indices(lay, self.shoulders[0], who, "shoulders"), _indices(lay, self.shoulders[1], who, "shoulders")

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        if self.by == "extent":
            size, found = _reduce_present(ctx.x, _input_lengths(ctx), ctx.dims, None, "extent")
            size = np.asarray(size, dtype=np.float64)
            if ctx._cum_a is not None:                 # earlier affine ops: their mean scale factor
                size = size * np.abs(np.linalg.det(ctx._cum_a)) ** (1.0 / ctx.dims)
        else:
            a, b = self._ends(self.layout_for(ctx))
            xa, xb = _gather(ctx, a), _gather(ctx, b)                        # (N, M, T, J, D)
            ok = np.any(xa != 0, -1).all(-1) & np.any(xb != 0, -1).all(-1)  # (N, M, T)
            ok &= (np.arange(ctx.t)[None, :] < _input_lengths(ctx)[:, None])[:, None, :]
            u = _carry_vectors(ctx, xa.mean(axis=-2) - xb.mean(axis=-2))     # (N, M, T, D)
            length = np.linalg.norm(u, axis=-1)
            cnt = ok.sum(axis=(1, 2))
            size = np.where(ok, length, 0.0).sum(axis=(1, 2)) / np.maximum(cnt, 1)
            found = (cnt > 0) & (size > 0)
        s = np.where(np.asarray(found) & (size > 0), self.target / np.where(size > 0, size, 1.0), 1.0)
        return [_affine(ctx, _eye(ctx) * s[:, None, None], self.about)]


# ------------------------------------------------------------------------------ temporal
class UniformSampleFrames(Augmentation):
    """pyskl's ``UniformSampleFrames``: ``k`` frames, one from each of ``k`` equal segments of the valid clip.

    For a clip of valid length ``L`` the output has exactly ``k = clip_len`` valid frames (padding after
    them stays zero), ``src[t]`` being the source frame of output frame ``t``:

    * ``mode="train"`` (pyskl's training rule, drawn per sample):

      - ``L >= 2k``: segment bounds ``b_i = floor(i L / k)``, ``src[i] = b_i + U\\{0, b_{i+1} - b_i - 1\\}``;
      - ``k <= L < 2k``: ``L - k`` of the ``k + 1`` gaps between consecutive frames ``0..k-1`` are
        drawn without replacement and each widens by one frame (a random increasing subset);
      - ``L < k``: the clip loops from a random start, ``src[t] = (s + t) mod L``, ``s ~ U\\{0, L-1\\}``.

    * ``mode="test"`` (deterministic): the centre of each equal segment,
      ``src[t] = floor((2t + 1) L / (2k))`` for ``L >= k``, and ``src[t] = t mod L`` for ``L < k``
      (pyskl loops from frame 0 too; for ``L >= k`` it draws with a fixed seed instead of centring).

    Args:
        clip_len: ``k``, the number of output frames; at most the padded length ``T`` of the input.
        mode: ``"train"`` or ``"test"``.

    The input keeps its padded length ``T``; crop the result to ``y[..., :clip_len, :, :]`` for a
    ``(…, k, V, C)`` array.

    Example:
        >>> import numpy as np
        >>> from skelaug.augment import UniformSampleFrames
        >>> x = np.arange(1, 21, dtype=np.float32)[None, None, :, None, None] * np.ones((1, 1, 20, 2, 3))
        >>> y, n = UniformSampleFrames(4, mode="test")(x, np.array([20]))
        >>> y[0, 0, :4, 0, 0].tolist(), n.tolist()                # frames 2, 7, 12, 17 (1-based values)
        ([3.0, 8.0, 13.0, 18.0], [4])
    """

    primitives = ("resample",)

    def __init__(self, clip_len: int = 32, mode: Literal["train", "test"] = "train", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(clip_len, bool) or not isinstance(clip_len, int | np.integer) or clip_len < 1:
            raise ValueError(f"clip_len={clip_len!r}; give a positive number of frames")
        self.clip_len = int(clip_len)
        if mode not in ("train", "test"):
            raise ValueError(f"mode={mode!r}; use 'train' (random offsets) or 'test' (segment centres)")
        self.mode = mode

    def _sample(self, ctx: Context, draw: Draw) -> list[Op]:
        k = self.clip_len
        if k > ctx.t:
            raise ValueError(
                f"UniformSampleFrames(clip_len={k}) cannot place {k} frames in clips padded to T={ctx.t}; "
                f"pad the clips to at least {k} frames (e.g. the dataset's num_frames={k}) or lower clip_len"
            )
        lens = ctx.lengths.astype(np.int64)
        src = np.zeros((ctx.n, ctx.t))
        src[:, :k] = uniform_sample_indices(lens, k, self.mode, draw.random(), draw.random((k + 1,)),
                                            draw.random((k,)))
        return [Op("resample", {"src": src, "out_len": np.full(ctx.n, k, dtype=np.int64)}, {"mode": "nearest"})]


def uniform_sample_indices(lengths: np.ndarray, k: int, mode: str, u_start: np.ndarray, u_gaps: np.ndarray,
                           u_offset: np.ndarray) -> np.ndarray:
    """Source frames ``(N, k)`` of :class:`UniformSampleFrames` from uniform draws in ``[0, 1)``:
    ``u_start`` ``(N,)`` (loop start), ``u_gaps`` ``(N, k + 1)`` (which gaps widen) and ``u_offset``
    ``(N, k)`` (offsets within segments). Vectorised over the batch."""
    lens = np.maximum(np.asarray(lengths, dtype=np.int64), 1)[:, None]
    t = np.arange(k)[None, :]
    if mode == "test":
        return np.where(lens < k, t % lens, ((2 * t + 1) * lens) // (2 * k)).astype(np.float64)
    start = np.floor(u_start[:, None] * lens).astype(np.int64)
    loop = (start + t) % lens
    # k <= L < 2k: the L - k smallest keys pick the widened gaps (uniform, without replacement)
    ranks = np.argsort(np.argsort(u_gaps, axis=1), axis=1)
    widen = ranks < (lens - k)
    mid = t + np.cumsum(widen, axis=1)[:, :k]
    # L >= 2k: a uniform offset inside each segment [b_i, b_{i+1})
    bounds = (np.arange(k + 1)[None, :] * lens) // k
    size = np.diff(bounds, axis=1)
    big = bounds[:, :k] + np.minimum(np.floor(u_offset * size).astype(np.int64), size - 1)
    out = np.where(lens < k, loop, np.where(lens < 2 * k, mid, big))
    return out.astype(np.float64)
