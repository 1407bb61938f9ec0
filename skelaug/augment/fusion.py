"""Compose folding: rewrite a sampled program into an equivalent shorter one, and pack it as data.

A sampled pipeline is a list of primitive ops (:mod:`skelaug.augment.ops`). The fused executors
(:mod:`skelaug.augment.numba_cpu`, :mod:`skelaug.augment.numba_cuda`) run a whole pipeline as **one
pass over memory**: each ``(n, m)`` slab ``(T, V, C)`` of the batch is read once into a small scratch
buffer, every op is applied there in program order, and the slab is written once. The ops are not
compiled into code; the program is *data* (:class:`Segment`): a list of ``(kind, table index)`` steps
and one parameter table per kind, interpreted by one generic kernel.

Folding (:func:`fold`) shortens the list first. Only rewrites that are **exact** -- the folded
program computes what sequential application computes, up to floating-point rounding -- are made:

========================================  ===================================================
rewrite                                   why it is exact
========================================  ===================================================
``affine ; affine -> affine``             :math:`A_2(A_1 x_{p_1[p_2[v]]} + b_1) + b_2`: matrix
                                          :math:`A_2A_1`, offset :math:`A_2b_1+b_2`, joint
                                          permutation ``perm1[perm2]`` (extra channels move
                                          with the joints). Presence is preserved by both.
``mask ; mask -> mask``                   separable masks multiply: AND of the joint, frame
                                          and axis factors.
``resample ; resample(nearest)``          the outer op reads single frames ``j(t)`` of the
                                          inner output, so it is the inner op sampled at
                                          ``src1[j(t)]`` (inner mode, outer length).
``op ; resample(nearest)`` moved left     a nearest resample copies whole frames, so it
                                          commutes with every frame-local, time-independent op
                                          (``affine``, ``local_affine``, ``bone_scale``, joint
                                          and axis masks); a frame mask is re-indexed
                                          ``frame'[t] = frame[j(t)]``.
========================================  ===================================================

Two *linear* resamples are **not** folded: the composition of two linear interpolations (with
the missing-joint rule of ``resample``) is not one linear interpolation. They stay two steps of the
same fused pass, which costs one extra sweep over a cache-resident slab, not over memory.

``mix`` reads other samples, so it splits a program into segments (:func:`plan`); everything else
runs inside a segment.

Example:
    >>> import numpy as np
    >>> from skelaug.augment import Compose, RandomRotate, RandomShear
    >>> from skelaug.augment.fusion import fold
    >>> aug = Compose([RandomRotate(10), RandomShear(0.1)])
    >>> _ = aug(np.ones((2, 1, 8, 25, 3)), generator=0)
    >>> [op.kind for op in fold(aug.last_params.ops, aug.last_params.lengths_in)]
    ['affine']
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skelaug.augment.ops import Op

__all__ = [
    "AFFINE",
    "BLUR",
    "BONE_SCALE",
    "LOCAL_AFFINE",
    "MASK",
    "NOISE",
    "RESAMPLE",
    "Segment",
    "fold",
    "nearest_index",
    "pack",
    "plan",
]

#: Step kind code of ``resample`` in :attr:`Segment.steps` (the codes are what the fused kernels read).
RESAMPLE = 0
#: Step kind code of ``blur``.
BLUR = 1
#: Step kind code of ``local_affine``.
LOCAL_AFFINE = 2
#: Step kind code of ``bone_scale``.
BONE_SCALE = 3
#: Step kind code of ``affine``.
AFFINE = 4
#: Step kind code of ``noise``.
NOISE = 5
#: Step kind code of ``mask``.
MASK = 6
_CODES = {"resample": RESAMPLE, "blur": BLUR, "local_affine": LOCAL_AFFINE, "bone_scale": BONE_SCALE,
          "affine": AFFINE, "noise": NOISE, "mask": MASK}
_FRAME_LOCAL = ("affine", "local_affine", "bone_scale", "mask")


def _lengths_after(op: Op, lengths: np.ndarray) -> np.ndarray:
    return np.asarray(op.params["out_len"], dtype=np.int64) if op.kind == "resample" else lengths


def nearest_index(src: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Frames read by a ``nearest`` resample: ``floor(clip(src, 0, L - 1) + 0.5)`` as ``(N, T')`` int64."""
    s = np.minimum(np.maximum(src, 0.0), (lengths - 1).astype(np.float64)[:, None])
    return np.asarray(np.floor(s + 0.5), dtype=np.int64)


def _take_rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``np.take_along_axis(a, idx, axis=1)`` for 2-D ``a`` and in-range ``idx``, as one flat ``take``
    (about 4x faster at ``(256, 64)``: these folds run on every call)."""
    a = np.ascontiguousarray(a)
    return np.asarray(a.ravel().take(idx + (np.arange(a.shape[0]) * a.shape[1])[:, None]))


def _is_nearest(op: Op) -> bool:
    return op.kind == "resample" and op.static.get("mode", "linear") == "nearest"


def _compose_affine(first: Op, second: Op) -> Op:
    a1, b1, p1 = (np.asarray(first.params[k]) for k in ("matrix", "offset", "perm"))
    a2, b2, p2 = (np.asarray(second.params[k]) for k in ("matrix", "offset", "perm"))
    return Op("affine", {"matrix": a2 @ a1, "offset": np.einsum("nij,nj->ni", a2, b1) + b2,
                         "perm": _take_rows(p1, p2)})


def _compose_mask(first: Op, second: Op) -> Op:
    return Op("mask", {k: np.asarray(first.params[k], bool) & np.asarray(second.params[k], bool)
                       for k in ("joint", "frame", "axis")})


def _compose_resample(first: Op, second: Op) -> Op:
    """``second`` (nearest) after ``first`` (any mode) as one resample."""
    j = nearest_index(np.asarray(second.params["src"], np.float64), np.asarray(first.params["out_len"]))
    src = _take_rows(np.asarray(first.params["src"], np.float64), j)
    return Op("resample", {"src": src, "out_len": np.asarray(second.params["out_len"], np.int64)},
              {"mode": first.static.get("mode", "linear")})


def _reindex_frames(op: Op, near: Op, lengths: np.ndarray) -> Op:
    """A mask moved after the nearest resample ``near`` (whose input lengths are ``lengths``)."""
    frame = np.asarray(op.params["frame"], bool)
    if frame.all():
        return op
    j = nearest_index(np.asarray(near.params["src"], np.float64), lengths)
    return Op("mask", {"joint": op.params["joint"], "frame": _take_rows(frame, j),
                       "axis": op.params["axis"]})


def _hoist_nearest(ops: list[Op], lengths: np.ndarray) -> list[Op]:
    """Move every nearest resample left past frame-local, time-independent ops (exact).

    The ops it passes keep their lengths (they change none), so a frame mask among them is
    re-indexed with the resample's input lengths ``lens``.
    """
    out: list[Op] = []
    lens = np.asarray(lengths, dtype=np.int64)
    for op in ops:
        if _is_nearest(op):
            k = len(out)
            while k > 0 and out[k - 1].kind in _FRAME_LOCAL:
                k -= 1
            out[k:] = [op, *(_reindex_frames(o, op, lens) if o.kind == "mask" else o for o in out[k:])]
        else:
            out.append(op)
        lens = _lengths_after(op, lens)
    return out


def fold(ops: Sequence[Op], lengths: np.ndarray) -> list[Op]:
    """Fold a sampled op list into an equivalent shorter one (see the module docstring).

    Args:
        ops: The program's ops, in order.
        lengths: Valid lengths ``(N,)`` at the input of the first op.

    Returns:
        A new list; parameters of the inputs are not modified.
    """
    out: list[Op] = []
    for op in _hoist_nearest(list(ops), np.asarray(lengths, dtype=np.int64)):
        prev = out[-1] if out else None
        if prev is not None and prev.kind == op.kind == "affine":
            out[-1] = _compose_affine(prev, op)
        elif prev is not None and prev.kind == op.kind == "mask":
            out[-1] = _compose_mask(prev, op)
        elif prev is not None and prev.kind == "resample" and _is_nearest(op):
            out[-1] = _compose_resample(prev, op)
        else:
            out.append(op)
    return out


# ------------------------------------------------------------------------------ packing
@dataclass(frozen=True)
class Segment:
    """A run of ops (no ``mix``) packed as plain arrays for the fused kernels.

    ``steps[i] = (kind, index)`` names the parameter table of step ``i``; ``skip[i, n]`` marks steps
    that are the identity on sample ``n`` (not applied there by a probability ``p``, or ``OneOf``).
    ``lengths_in`` / ``lengths_out`` are the valid lengths at the segment's ends.
    """

    steps: np.ndarray              # (S, 2) int64
    skip: np.ndarray               # (S, N) bool
    lengths_in: np.ndarray         # (N,) int64
    lengths_out: np.ndarray        # (N,) int64
    res_src: np.ndarray            # (R, N, T) float64
    res_len: np.ndarray            # (R, N) int64
    res_nearest: np.ndarray        # (R,) bool
    blur_kernel: np.ndarray        # (B, N, K) float64
    blur_size: np.ndarray          # (B,) int64
    la_matrix: np.ndarray          # (LA, N, D, D) float64
    la_moved: np.ndarray           # (LA, N, V) bool
    la_pivot: np.ndarray           # (LA, N) int64
    bs_scale: np.ndarray           # (BS, N, V) float64
    bs_parent: np.ndarray          # (BS, V) int64
    bs_order: np.ndarray           # (BS, V) int64
    aff_matrix: np.ndarray         # (A, N, D, D) float64
    aff_offset: np.ndarray         # (A, N, D) float64
    aff_perm: np.ndarray           # (A, N, V) int64
    aff_permuted: np.ndarray       # (A, N) bool: perm is not the identity
    noise_sigma: np.ndarray        # (Z, N) float64
    noise_weight: np.ndarray       # (Z, N, V) float64
    noise_seed: np.ndarray         # (Z, N) int64
    noise_stride: np.ndarray       # (Z,) int64
    mask_joint: np.ndarray         # (K, N, V) bool
    mask_frame: np.ndarray         # (K, N, T) bool
    mask_axis: np.ndarray          # (K, N, D) bool

    def tables(self) -> tuple[np.ndarray, ...]:
        """The parameter tables in kernel-argument order (everything after ``skip``)."""
        return (self.res_src, self.res_len, self.res_nearest, self.blur_kernel, self.blur_size,
                self.la_matrix, self.la_moved, self.la_pivot, self.bs_scale, self.bs_parent, self.bs_order,
                self.aff_matrix, self.aff_offset, self.aff_perm, self.aff_permuted, self.noise_sigma,
                self.noise_weight, self.noise_seed, self.noise_stride, self.mask_joint, self.mask_frame,
                self.mask_axis)

    @property
    def max_knots(self) -> int:
        """Knot-buffer rows the noise steps need (``T + 1`` covers every stride)."""
        return int(self.res_src.shape[2] + 1) if self.noise_stride.size else 1


@functools.lru_cache(maxsize=512)
def _no_table(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """The empty ``(0, *shape)`` table of a kind the segment does not use: one shared array per shape and
    dtype (it has no elements, so nothing can write into it), instead of a new one on every call."""
    return np.zeros((0, *shape), dtype=dtype)


def _stack(arrays: list[np.ndarray], shape: tuple[int, ...], dtype: type) -> np.ndarray:
    if not arrays:
        return _no_table(shape, dtype)
    if len(arrays) == 1:                 # the usual case after folding: np.stack's checks cost ~5 us a table
        return np.array(np.asarray(arrays[0], dtype=dtype)[None], order="C")
    return np.ascontiguousarray(np.stack([np.asarray(a, dtype=dtype) for a in arrays]))


def _identity_flags(op: Op, lens: np.ndarray, n: int, t: int, v: int, d: int) -> np.ndarray:
    """Per sample: is ``op`` the identity there (so a kernel may skip it)?"""
    p = op.params
    ar_t = np.arange(t)
    flags: Any = np.zeros(n, dtype=bool)
    if op.kind == "resample":
        out_len = np.asarray(p["out_len"])
        in_valid = ar_t[None, :] < out_len[:, None]
        same = ((np.asarray(p["src"]) == ar_t[None, :]) | ~in_valid).all(axis=1)
        flags = same & (out_len == lens)
    elif op.kind == "affine":
        eye = np.eye(d)
        flags = ((np.asarray(p["matrix"]) == eye).all(axis=(1, 2)) & (np.asarray(p["offset"]) == 0).all(axis=1)
                 & (np.asarray(p["perm"]) == np.arange(v)[None, :]).all(axis=1))
    elif op.kind == "noise":
        flags = ~(np.asarray(p["sigma"])[:, None] * np.asarray(p["weight"]) != 0).any(axis=1)
    elif op.kind == "mask":
        valid = ar_t[None, :] < lens[:, None]
        flags = (np.asarray(p["joint"], bool).all(axis=1) & np.asarray(p["axis"], bool).all(axis=1)
                 & (np.asarray(p["frame"], bool) | ~valid).all(axis=1))
    elif op.kind == "blur":                       # a unit delta: (1 * x) / 1 == x exactly
        k = np.asarray(p["kernel"])
        off = np.ones(k.shape[1], dtype=bool)
        off[k.shape[1] // 2] = False
        flags = (k[:, off] == 0).all(axis=1) & (k[:, k.shape[1] // 2] == 1)
    elif op.kind == "local_affine":
        flags = ~np.asarray(p["moved"], bool).any(axis=1)
    elif op.kind == "bone_scale":                  # identity up to rounding of x_a + (x_j - x_a)
        flags = (np.asarray(p["scale"]) == 1).all(axis=1)
    return np.asarray(flags, dtype=bool)


def pack(ops: Sequence[Op], lengths: np.ndarray, shape: tuple[int, int, int, int, int], dims: int) -> Segment:
    """Pack ``ops`` (no ``mix``) for a batch of ``shape`` ``(N, M, T, V, C)`` into a :class:`Segment`."""
    n, _, t, v, _ = shape
    d = dims
    tables: dict[str, list[np.ndarray]] = {}
    kb = 1
    for op in ops:
        if op.kind == "blur":
            kb = max(kb, int(np.asarray(op.params["kernel"]).shape[1]))

    def put(name: str, arr: np.ndarray) -> int:
        tables.setdefault(name, []).append(arr)
        return len(tables[name]) - 1

    steps, skips = [], []
    lens = np.asarray(lengths, dtype=np.int64)
    for op in ops:
        if op.kind not in _CODES:
            raise ValueError(f"op kind {op.kind!r} cannot run inside a fused segment; split the program with plan()")
        p = op.params
        if op.kind == "resample":
            idx = put("res_src", np.asarray(p["src"], np.float64))
            put("res_len", np.asarray(p["out_len"], np.int64))
            put("res_nearest", np.asarray(op.static.get("mode", "linear") == "nearest"))
        elif op.kind == "blur":
            k = np.asarray(p["kernel"], np.float64)
            idx = put("blur_kernel", np.pad(k, ((0, 0), (0, kb - k.shape[1]))))
            put("blur_size", np.asarray(k.shape[1]))
        elif op.kind == "local_affine":
            idx = put("la_matrix", p["matrix"])
            put("la_moved", p["moved"])
            put("la_pivot", p["pivot"])
        elif op.kind == "bone_scale":
            idx = put("bs_scale", p["scale"])
            put("bs_parent", np.asarray(op.static["parent"], np.int64))
            put("bs_order", np.asarray(op.static["order"], np.int64))
        elif op.kind == "affine":
            idx = put("aff_matrix", p["matrix"])
            put("aff_offset", p["offset"])
            put("aff_perm", p["perm"])
            put("aff_permuted", ~(np.asarray(p["perm"]) == np.arange(v)[None, :]).all(axis=1))
        elif op.kind == "noise":
            idx = put("noise_sigma", p["sigma"])
            put("noise_weight", p["weight"])
            put("noise_seed", p["seed"])
            put("noise_stride", np.asarray(int(op.static.get("stride", 1))))
        else:
            idx = put("mask_joint", p["joint"])
            put("mask_frame", p["frame"])
            put("mask_axis", p["axis"])
        steps.append((_CODES[op.kind], idx))
        skips.append(_identity_flags(op, lens, n, t, v, d))
        lens = _lengths_after(op, lens)

    def get(name: str, shp: tuple[int, ...], dtype: type) -> np.ndarray:
        return _stack(tables.get(name, []), shp, dtype)

    return Segment(
        steps=np.asarray(steps, dtype=np.int64).reshape(-1, 2),
        skip=np.asarray(skips, dtype=np.bool_).reshape(len(steps), n),
        lengths_in=np.asarray(lengths, dtype=np.int64),
        lengths_out=lens,
        res_src=get("res_src", (n, t), np.float64),
        res_len=get("res_len", (n,), np.int64),
        res_nearest=get("res_nearest", (), np.bool_),
        blur_kernel=get("blur_kernel", (n, kb), np.float64),
        blur_size=get("blur_size", (), np.int64),
        la_matrix=get("la_matrix", (n, d, d), np.float64),
        la_moved=get("la_moved", (n, v), np.bool_),
        la_pivot=get("la_pivot", (n,), np.int64),
        bs_scale=get("bs_scale", (n, v), np.float64),
        bs_parent=get("bs_parent", (v,), np.int64),
        bs_order=get("bs_order", (v,), np.int64),
        aff_matrix=get("aff_matrix", (n, d, d), np.float64),
        aff_offset=get("aff_offset", (n, d), np.float64),
        aff_perm=get("aff_perm", (n, v), np.int64),
        aff_permuted=get("aff_permuted", (n,), np.bool_),
        noise_sigma=get("noise_sigma", (n,), np.float64),
        noise_weight=get("noise_weight", (n, v), np.float64),
        noise_seed=get("noise_seed", (n,), np.int64),
        noise_stride=get("noise_stride", (), np.int64),
        mask_joint=get("mask_joint", (n, v), np.bool_),
        mask_frame=get("mask_frame", (n, t), np.bool_),
        mask_axis=get("mask_axis", (n, d), np.bool_),
    )


def plan(ops: Sequence[Op], lengths: np.ndarray, shape: tuple[int, int, int, int, int], dims: int,
         *, folding: bool = True) -> list[Segment | Op]:
    """Split a program at its ``mix`` ops, fold each run and pack it.

    Returns a list whose items are either a :class:`Segment` (run by the fused kernel) or a ``mix``
    :class:`~skelaug.augment.ops.Op` (run on its own; it reads other samples of the batch).
    """
    out: list[Segment | Op] = []
    run: list[Op] = []
    lens = run_lens = np.asarray(lengths, dtype=np.int64)
    for op in [*ops, None]:
        if op is not None and op.kind != "mix":
            if not run:
                run_lens = lens
            run.append(op)
            lens = _lengths_after(op, lens)
            continue
        if run:
            out.append(pack(fold(run, run_lens) if folding else run, run_lens, shape, dims))
            run = []
        if op is not None:
            out.append(op)
    return out
