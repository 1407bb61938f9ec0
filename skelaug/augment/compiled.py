"""Compiled pipelines: parameter sampling, planning and the fused kernel in one numba call.

An ordinary call of an augmentation pays a fixed Python cost before its fused kernel runs: input
checks, generator creation, parameter sampling step by step (small NumPy arrays), then folding and
packing the sampled ops (:func:`skelaug.augment.fusion.plan`). On one short clip that cost is several
times the kernel's. :func:`compile_pipeline` removes it: the returned :class:`CompiledPipeline`
samples every step's parameters with a numba port of NumPy's PCG64 generator
(:mod:`skelaug.augment._pcg64`, bit for bit), folds and packs them into the fused kernel's tables
with the rules of :mod:`skelaug.augment.fusion`, and runs the kernel of
:mod:`skelaug.augment.numba_cpu`, all inside compiled code.

The draws are the ordinary call's, in the same order, so ``compiled(x, lengths, generator=g)``
equals ``aug(x, lengths, generator=g)``: the same parameters (up to the last bits of a matrix product:
NumPy's goes through BLAS), the same output (up to float rounding; usually bit for bit), a NumPy generator left in
the same state. Input the compiled path does not take (torch tensors, dtypes other than float32 /
float64, empty batches, non-finite values, a default backend other than numba, ...) runs the
ordinary call instead, transparently.

Supported steps (inside :class:`~skelaug.augment.Compose` with ``p=1``, nested or not):
:class:`~skelaug.augment.RandomCropResize`, :class:`~skelaug.augment.RandomRepeat`,
:class:`~skelaug.augment.RandomPosterize`, :class:`~skelaug.augment.RandomReverse`,
:class:`~skelaug.augment.RandomSpeed`, :class:`~skelaug.augment.RandomRotate`,
:class:`~skelaug.augment.RandomShear`, :class:`~skelaug.augment.RandomScale`,
:class:`~skelaug.augment.RandomTranslate`, :class:`~skelaug.augment.RandomMirror`,
:class:`~skelaug.augment.RandomPerturb` (without ``parts``),
:class:`~skelaug.augment.RandomGaussianNoise`, :class:`~skelaug.augment.RandomGaussianBlur`
(``kernel_size <= 128``), :class:`~skelaug.augment.RandomJointMask`,
:class:`~skelaug.augment.RandomAxisMask` and :class:`~skelaug.augment.RandomFrameMask`, each with
any ``p`` and ``same_on_batch``. That covers all four presets (``micro_gesture``, ``aimclr_normal``,
``aimclr_extreme``, ``isc``); other steps (part, bone-length, frame-drop and mixing steps,
``OneOf`` / ``SomeOf`` / ``RandomApply``, a ``Compose`` with ``p < 1``) make :func:`compile_pipeline`
raise ``ValueError``.

Example:
    >>> import numpy as np
    >>> from skelaug.augment import compile_pipeline, presets
    >>> aug = presets.micro_gesture("ntu25")
    >>> fast = compile_pipeline(aug)
    >>> x = np.random.default_rng(0).normal(size=(2, 32, 25, 3)).astype(np.float32)  # (M, T, V, C)
    >>> y, new_len = fast(x, 30, generator=5)
    >>> y.shape, new_len
    ((2, 32, 25, 3), 30)
    >>> y2, _ = aug(x, 30, generator=5)
    >>> bool(np.allclose(y, y2, rtol=1e-6, atol=1e-6))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import torch
from numba import njit

from skelaug import layouts as _layouts
from skelaug.augment import _pcg64, backends, base, config, fusion, numba_cpu
from skelaug.augment._pcg64 import integers as _integers
from skelaug.augment._pcg64 import next_double as _random
from skelaug.augment._pcg64 import uniform as _uniform
from skelaug.augment.base import Augmentation, _like
from skelaug.augment.containers import Compose, MultiView
from skelaug.augment.noise import (
    RandomAxisMask,
    RandomFrameMask,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomJointMask,
    RandomPerturb,
)
from skelaug.augment.ops import Op, Program
from skelaug.augment.spatial import RandomMirror, RandomRotate, RandomScale, RandomShear, RandomTranslate
from skelaug.augment.temporal import RandomCropResize, RandomPosterize, RandomRepeat, RandomReverse, RandomSpeed
from skelaug.layouts import SkeletonLayout

__all__ = ["SUPPORTED", "CompiledPipeline", "compile_pipeline"]

# sampler codes (column 0 of the integer configuration)
_CROP, _REPEAT, _POSTERIZE, _ROTATE, _SHEAR, _PERTURB, _JMASK, _SCALE, _TRANSLATE, _REVERSE, _SPEED, \
    _GNOISE, _AXMASK, _FMASK, _MIRROR, _GBLUR = range(16)
#: Largest blur kernel compiled (NumPy's pairwise sum of the kernel weights is reproduced up to 128 terms).
MAX_KERNEL = 128

#: The step classes :func:`compile_pipeline` compiles, with their sampler codes.
SUPPORTED: dict[type[Augmentation], int] = {
    RandomCropResize: _CROP, RandomRepeat: _REPEAT, RandomPosterize: _POSTERIZE, RandomRotate: _ROTATE,
    RandomShear: _SHEAR, RandomPerturb: _PERTURB, RandomJointMask: _JMASK, RandomScale: _SCALE,
    RandomTranslate: _TRANSLATE, RandomReverse: _REVERSE, RandomSpeed: _SPEED, RandomGaussianNoise: _GNOISE,
    RandomAxisMask: _AXMASK, RandomFrameMask: _FMASK, RandomMirror: _MIRROR, RandomGaussianBlur: _GBLUR,
}
_KIND = {_CROP: "resample", _REPEAT: "resample", _POSTERIZE: "resample", _REVERSE: "resample",
         _SPEED: "resample", _ROTATE: "affine", _SHEAR: "affine", _SCALE: "affine", _TRANSLATE: "affine",
         _MIRROR: "affine", _PERTURB: "noise", _GNOISE: "noise", _JMASK: "mask", _AXMASK: "mask",
         _FMASK: "mask", _GBLUR: "blur"}
_NEAREST = (_POSTERIZE, _REVERSE)
#: Sampler codes of the steps that read the body size (their class's ``uses_body_size``).
_READS_SIZE = np.array(sorted(code for cls, code in SUPPORTED.items() if cls.uses_body_size), dtype=np.int64)
_RES, _AFF, _NOI, _MSK, _BLR = fusion.RESAMPLE, fusion.AFFINE, fusion.NOISE, fusion.MASK, fusion.BLUR
_FUSION_CODE = {"resample": _RES, "affine": _AFF, "noise": _NOI, "mask": _MSK, "blur": _BLR}

_J = njit(cache=True, error_model="numpy")


# ------------------------------------------------------------------------------ sampling
@_J
def _centre(cum_a: Any, cum_b: Any, centre0: Any, has_cum: bool, n: int, d: int, c: Any) -> None:
    """``Context.centre`` of sample ``n`` into ``c`` ``(D,)``: the input centre carried by the affine ops so far."""
    for i in range(d):
        if has_cum:
            s = 0.0
            for j in range(d):
                s += cum_a[n, i, j] * centre0[n, j]
            c[i] = s + cum_b[n, i]
        else:
            c[i] = centre0[n, i]


@_J
def _about_centre(mat: Any, off: Any, c: Any, t_add: Any, d: int) -> None:
    """``offset = c - A c + t`` of ``affine_about_centre`` (``mat`` is ``A``, ``(D, D)``)."""
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += mat[i, j] * c[j]
        off[i] = (c[i] - s) + t_add[i]


@_J
def _rotation(ang: Any, d: int, out: Any) -> None:
    """``rotation_matrices`` for one sample: ``ang`` in degrees (``(1,)`` in 2D, ``(3,)`` x, y, z in 3D)."""
    if d == 2:
        a = ang[0] * (np.pi / 180.0)
        c, s = np.cos(a), np.sin(a)
        out[0, 0], out[0, 1], out[1, 0], out[1, 1] = c, -s, s, c
        return
    r = np.zeros((3, 3, 3))
    for axis in range(3):
        a = ang[axis] * (np.pi / 180.0)
        c, s = np.cos(a), np.sin(a)
        i, j = (1, 2) if axis == 0 else ((0, 2) if axis == 1 else (0, 1))
        sign = 1.0 if axis == 1 else -1.0
        r[axis, axis, axis] = 1.0
        r[axis, i, i] = c
        r[axis, j, j] = c
        r[axis, i, j] = sign * s
        r[axis, j, i] = -sign * s
    tmp = np.zeros((3, 3))
    for i in range(3):                             # R_y R_x, then R_z (R_y R_x)
        for j in range(3):
            s0 = 0.0
            for k in range(3):
                s0 += r[1, i, k] * r[0, k, j]
            tmp[i, j] = s0
    for i in range(3):
        for j in range(3):
            s0 = 0.0
            for k in range(3):
                s0 += r[2, i, k] * tmp[k, j]
            out[i, j] = s0


@_J
def _draw_uniform(st: Any, k: int, count: int, lo: float, hi: float) -> Any:
    """``Draw.uniform(lo, hi, (count,))`` before broadcasting: ``(k, count)``."""
    out = np.empty((k, count))
    for i in range(k):
        for j in range(count):
            out[i, j] = _uniform(st, lo, hi)
    return out


@_J
def _draw_random(st: Any, k: int, count: int) -> Any:
    out = np.empty((k, count))
    for i in range(k):
        for j in range(count):
            out[i, j] = _random(st)
    return out


@_J
def _draw_integers(st: Any, k: int, lo: int, hi: int) -> Any:
    out = np.empty(k, dtype=np.int64)
    for i in range(k):
        out[i] = _integers(st, lo, hi)
    return out


@_J
def _scan_input(x: Any, xi: Any, lens0: Any, dims: int, joints: Any, has_layout: bool, icfg: Any, low: Any,
                high: Any, sign: int, expo: Any) -> tuple[bool, Any, Any]:
    """The ordinary call's ``scan_batch`` and ``Context``: (non-finite?, body centre ``(N, D)``, body size
    ``(N,)``), with the same fallbacks (all present joints where the centre joints are missing, size 1
    where no person-frame has an extent). The body size is measured only when a step of ``icfg`` reads
    it (``_READS_SIZE``: the classes' ``uses_body_size``); otherwise it is 1, unused."""
    want_size = False
    for s in range(icfg.shape[0]):
        for code in _READS_SIZE:
            want_size = want_size or icfg[s, 0] == code
    n, _, _, v, _ = x.shape
    size, tcnt = np.zeros(n), np.zeros(n)
    total = np.zeros((n, dims))
    bad = np.zeros(n, dtype=np.bool_)
    numba_cpu._scan(x, xi, lens0, dims, joints, want_size, size, total, tcnt, bad, low, high, sign, expo, 0, n)
    if bad.any():
        return True, total, size
    centre = np.empty((n, dims))
    found = tcnt > 0 if has_layout else np.zeros(n, dtype=np.bool_)
    for i in range(n):
        for e in range(dims):
            centre[i, e] = total[i, e] / max(tcnt[i], 1.0)
    if not found.all():
        cnt2 = np.zeros(n)
        tot2 = np.zeros((n, dims))
        numba_cpu._mean(x, lens0, dims, np.arange(v), tot2, cnt2, 0, n)
        for i in range(n):
            if not found[i]:
                for e in range(dims):
                    centre[i, e] = tot2[i, e] / max(cnt2[i], 1.0)
    extent = np.empty(n)
    for i in range(n):
        extent[i] = size[i] if size[i] > 0 else 1.0
    return False, centre, extent


@_J
def _pairwise_sum(a: Any, count: int) -> float:
    """NumPy's pairwise sum of ``a[:count]`` for ``count <= 128`` (one block: eight partial sums)."""
    if count < 8:
        res = 0.0
        for i in range(count):
            res += a[i]
        return res
    r = a[:8].copy()
    i = 8
    while i < count - (count % 8):
        for j in range(8):
            r[j] += a[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < count:
        res += a[i]
        i += 1
    return float(res)


@_J
def _sample(st: Any, num_s: int, icfg: Any, fcfg: Any, statics: Any, lens0: Any, centre0: Any, extent: Any, n: int,
            t: int, v: int, d: int, counts: Any) -> tuple[Any, ...]:
    """Sample every step as ``Augmentation.sample`` does (same draws, same order, same arithmetic).

    Returns ``present (S,)`` (False: no sample applied the step, so the ordinary call emits no op),
    the raw per-step tables (one slot per step of each kind, in step order) and the output lengths.
    """
    present = np.zeros(icfg.shape[0], dtype=np.bool_)
    n_res, n_aff, n_noi, n_msk, n_blr, kb = counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    res_src = np.empty((n_res, n, t))
    res_len = np.empty((n_res, n), dtype=np.int64)
    aff_matrix = np.empty((n_aff, n, d, d))
    aff_offset = np.empty((n_aff, n, d))
    aff_perm = np.empty((n_aff, n, v), dtype=np.int64)
    noi_sigma = np.empty((n_noi, n))
    noi_weight = np.ones((n_noi, n, v))
    noi_seed = np.empty((n_noi, n), dtype=np.int64)
    msk_joint = np.ones((n_msk, n, v), dtype=np.bool_)
    msk_frame = np.ones((n_msk, n, t), dtype=np.bool_)
    msk_axis = np.ones((n_msk, n, d), dtype=np.bool_)
    blr_kernel = np.zeros((n_blr, n, kb))
    blr_size = np.zeros(n_blr, dtype=np.int64)
    wrow = np.empty(max(kb, 1))
    lens = lens0.copy()
    cum_a = np.zeros((n, d, d))
    cum_b = np.zeros((n, d))
    has_cum = False
    applied = np.empty(n, dtype=np.bool_)
    c = np.empty(d)
    t_add = np.zeros(d)
    for s in range(num_s):
        code, sob, slot = icfg[s, 0], icfg[s, 1], icfg[s, 2]
        p = fcfg[s, 0]
        k = min(n, 1) if sob else n
        if p < 1.0:
            u = _draw_random(st, k, 1)
            for i in range(n):
                applied[i] = u[i if k == n else 0, 0] < p
            if not applied.any():
                continue
        else:
            applied[:] = True
        present[s] = True
        lo, hi = fcfg[s, 1], fcfg[s, 2]
        if code == _CROP:
            r = _draw_uniform(st, k, 1, lo, hi)
            q = _draw_random(st, k, 1)
            min_len, size = icfg[s, 3], icfg[s, 4]
            for i in range(n):
                ii = i if k == n else 0
                ln = lens[i]
                win = np.int64(min(max(np.rint(r[ii, 0] * ln), float(min(min_len, ln))), float(ln)))
                start = np.int64(np.floor(q[ii, 0] * (ln - win + 1)))
                out_len = min(size, t) if size > 0 else ln
                step = (win - 1) / max(out_len - 1, 1)
                for tt in range(t):
                    res_src[slot, i, tt] = start + tt * step
                if out_len == 1:
                    res_src[slot, i, :] = start + (win - 1) / 2
                res_len[slot, i] = out_len
        elif code == _REPEAT:
            kk = _draw_integers(st, k, icfg[s, 3], icfg[s, 4] + 1)
            ph = _draw_random(st, k, 1)
            for i in range(n):
                ii = i if k == n else 0
                ln = float(lens[i])
                times = float(kk[ii])
                phase = ph[ii, 0] * ln
                for tt in range(t):
                    a = phase + tt * times
                    res_src[slot, i, tt] = min(a - np.floor(a / ln) * ln, ln - 1)
                res_len[slot, i] = lens[i]
        elif code == _POSTERIZE:
            stride = _draw_integers(st, k, icfg[s, 3], icfg[s, 4] + 1)
            for i in range(n):
                sv = stride[i if k == n else 0]
                for tt in range(t):
                    res_src[slot, i, tt] = (tt // sv) * sv
                res_len[slot, i] = lens[i]
        elif code == _REVERSE:
            for i in range(n):
                for tt in range(t):
                    res_src[slot, i, tt] = (lens[i] - 1) - tt
                res_len[slot, i] = lens[i]
        elif code == _SPEED:
            r = _draw_uniform(st, k, 1, lo, hi)
            for i in range(n):
                rr = r[i if k == n else 0, 0]
                res_len[slot, i] = np.int64(min(max(np.rint((lens[i] - 1) / rr) + 1, 1.0), float(t)))
                for tt in range(t):
                    res_src[slot, i, tt] = tt * rr
        elif code == _PERTURB or code == _GNOISE:
            sig = _draw_uniform(st, k, 1, lo, hi)
            seeds = _draw_integers(st, k, 0, 1 << 32)
            for i in range(n):
                ii = i if k == n else 0
                noi_sigma[slot, i] = sig[ii, 0] * extent[i]
                noi_seed[slot, i] = seeds[ii]
        elif code == _JMASK:
            cnt = _draw_uniform(st, k, 1, lo, hi)
            u = _draw_random(st, k, v)
            for i in range(n):
                ii = i if k == n else 0
                count = np.int64(np.floor(cnt[ii, 0] * v))
                order = np.argsort(u[ii])
                for r_ in range(v):
                    msk_joint[slot, i, order[r_]] = r_ >= count
        elif code == _AXMASK:
            ax = _draw_integers(st, k, 0, d)
            for i in range(n):
                for e in range(d):
                    msk_axis[slot, i, e] = e != ax[i if k == n else 0]
        elif code == _GBLUR:
            size = icfg[s, 3]
            blr_size[slot] = size
            sig = _draw_uniform(st, k, 1, lo, hi)
            for i in range(n):
                sg = sig[i if k == n else 0, 0]
                den = 2 * sg ** 2
                for q in range(size):
                    kq = q - size // 2
                    wrow[q] = np.exp(-(kq * kq) / den)
                total = _pairwise_sum(wrow, size)
                for q in range(size):
                    blr_kernel[slot, i, q] = wrow[q] / total
        elif code == _FMASK:
            rate = _draw_uniform(st, k, 1, lo, hi)
            u = _draw_random(st, k, t)
            for i in range(n):
                ii = i if k == n else 0
                for tt in range(t):
                    msk_frame[slot, i, tt] = u[ii, tt] >= rate[ii, 0]
        else:                                      # the affine steps
            mat = aff_matrix[slot]
            mat[:] = 0.0
            t_add[:] = 0.0
            for i in range(n):
                for e in range(d):
                    mat[i, e, e] = 1.0
                for j in range(v):
                    aff_perm[slot, i, j] = j
            if code == _ROTATE:
                if d == 2:
                    ang = _draw_uniform(st, k, 1, fcfg[s, 5], fcfg[s, 6])
                else:
                    ang = np.empty((k, 3))
                    for axis in range(3):
                        ang[:, axis] = _draw_uniform(st, k, 1, fcfg[s, 1 + 2 * axis], fcfg[s, 2 + 2 * axis])[:, 0]
                for i in range(n):
                    _rotation(ang[i if k == n else 0], d, mat[i])
            elif code == _SHEAR:
                sh = _draw_uniform(st, k, d * d, lo, hi)
                for i in range(n):
                    ii = i if k == n else 0
                    for e in range(d):
                        for f in range(d):
                            mat[i, e, f] = 1.0 if e == f else sh[ii, e * d + f]
            elif code == _SCALE:
                fac = _draw_uniform(st, k, 1 if icfg[s, 3] else d, lo, hi)
                for i in range(n):
                    ii = i if k == n else 0
                    for e in range(d):
                        mat[i, e, e] = fac[ii, 0 if icfg[s, 3] else e]
            elif code == _MIRROR:
                for i in range(n):
                    mat[i, icfg[s, 3], icfg[s, 3]] = -1.0
                    for j in range(v):
                        aff_perm[slot, i, j] = statics[s, j]
            tr = _draw_uniform(st, k, d, lo, hi) if code == _TRANSLATE else np.zeros((1, d))
            for i in range(n):
                _centre(cum_a, cum_b, centre0, has_cum, i, d, c)
                if code == _TRANSLATE:
                    for e in range(d):
                        t_add[e] = tr[i if k == n else 0, e] * extent[i]
                _about_centre(mat[i], aff_offset[slot, i], c, t_add, d)
        kind = icfg[s, 5]
        if not applied.all():                      # where_applied: the identity where not applied
            for i in range(n):
                if applied[i]:
                    continue
                if kind == _RES:
                    for tt in range(t):
                        res_src[slot, i, tt] = tt
                    res_len[slot, i] = lens[i]
                elif kind == _AFF:
                    for e in range(d):
                        for f in range(d):
                            aff_matrix[slot, i, e, f] = 1.0 if e == f else 0.0
                        aff_offset[slot, i, e] = 0.0
                    for j in range(v):
                        aff_perm[slot, i, j] = j
                elif kind == _NOI:
                    noi_sigma[slot, i] = 0.0
                    noi_seed[slot, i] = 0
                    noi_weight[slot, i] = 1.0
                elif kind == _BLR:
                    blr_kernel[slot, i] = 0.0
                    blr_kernel[slot, i, icfg[s, 3] // 2] = 1.0
                else:
                    msk_joint[slot, i] = True
                    msk_frame[slot, i] = True
                    msk_axis[slot, i] = True
        if kind == _RES:                           # Context.advance
            lens[:] = res_len[slot]
        elif kind == _AFF:
            for i in range(n):
                for e in range(d):
                    b = 0.0
                    for f in range(d):
                        b += aff_matrix[slot, i, e, f] * cum_b[i, f]
                    c[e] = b + aff_offset[slot, i, e]
                new_a = np.empty((d, d))
                for e in range(d):
                    for f in range(d):
                        a = 0.0
                        for g in range(d):
                            a += aff_matrix[slot, i, e, g] * (cum_a[i, g, f] if has_cum else (1.0 if g == f else 0.0))
                        new_a[e, f] = a
                cum_a[i] = new_a
                cum_b[i] = c
            has_cum = True
    return (present, res_src, res_len, aff_matrix, aff_offset, aff_perm, noi_sigma, noi_weight, noi_seed,
            msk_joint, msk_frame, msk_axis, blr_kernel, blr_size, lens)


# ------------------------------------------------------------------------------ planning
@_J
def _nearest_row(src: Any, length: int, j: Any) -> None:
    """``fusion.nearest_index`` of one sample."""
    hi = float(length - 1)
    for tt in range(src.shape[0]):
        j[tt] = np.int64(np.floor(min(max(src[tt], 0.0), hi) + 0.5))


@_J
def _plan(num_s: int, icfg: Any, present: Any, lens0: Any, n: int, t: int, v: int, d: int, res_src: Any, res_len: Any,
          res_nearest: Any, aff_matrix: Any, aff_offset: Any, aff_perm: Any, noi_sigma: Any, noi_weight: Any,
          msk_joint: Any, msk_frame: Any, msk_axis: Any, blr_kernel: Any, blr_size: Any) -> tuple[Any, Any, Any]:
    """``fusion.plan`` of the sampled steps (no ``mix``, so one segment): hoist nearest resamples past
    frame-local ops, fold affine into affine, mask into mask, nearest resample into resample (in place,
    in the tables of the first op), then the steps table, the per-sample skip flags and the
    ``aff_permuted`` table of the packed :class:`~skelaug.augment.fusion.Segment`."""
    order = np.empty(icfg.shape[0], dtype=np.int64)
    m = 0
    lens = lens0.copy()
    j = np.empty(t, dtype=np.int64)
    row = np.empty(t, dtype=np.bool_)
    srow = np.empty(t)
    for s in range(num_s):                          # _hoist_nearest
        if not present[s]:
            continue
        kind, slot = icfg[s, 5], icfg[s, 2]
        if kind == _RES and res_nearest[slot]:
            k = m
            while k > 0 and (icfg[order[k - 1], 5] == _AFF or icfg[order[k - 1], 5] == _MSK):
                k -= 1
            for q in range(k, m):
                if icfg[order[q], 5] == _MSK:      # frame'[t] = frame[j(t)]
                    ms = icfg[order[q], 2]
                    for i in range(n):
                        _nearest_row(res_src[slot, i], lens[i], j)
                        for tt in range(t):
                            row[tt] = msk_frame[ms, i, j[tt]]
                        msk_frame[ms, i] = row
            for q in range(m, k, -1):
                order[q] = order[q - 1]
            order[k] = s
        else:
            order[m] = s
        m += 1
        if kind == _RES:
            lens[:] = res_len[slot]
    folded = np.empty(m, dtype=np.int64)
    f = 0
    for q in range(m):                              # fold
        s = order[q]
        kind, slot = icfg[s, 5], icfg[s, 2]
        if f > 0:
            ps = folded[f - 1]
            pkind, pslot = icfg[ps, 5], icfg[ps, 2]
            if pkind == _AFF and kind == _AFF:
                a1 = np.empty((d, d))
                for i in range(n):
                    a1[:] = aff_matrix[pslot, i]
                    for e in range(d):
                        b = 0.0
                        for g in range(d):
                            b += aff_matrix[slot, i, e, g] * aff_offset[pslot, i, g]
                        srow[e] = b + aff_offset[slot, i, e]
                        for h in range(d):
                            a = 0.0
                            for g in range(d):
                                a += aff_matrix[slot, i, e, g] * a1[g, h]
                            aff_matrix[pslot, i, e, h] = a
                    for e in range(d):
                        aff_offset[pslot, i, e] = srow[e]
                    p1 = aff_perm[pslot, i].copy()
                    for w in range(v):
                        aff_perm[pslot, i, w] = p1[aff_perm[slot, i, w]]
                continue
            if pkind == _MSK and kind == _MSK:
                for i in range(n):
                    for w in range(v):
                        msk_joint[pslot, i, w] = msk_joint[pslot, i, w] & msk_joint[slot, i, w]
                    for tt in range(t):
                        msk_frame[pslot, i, tt] = msk_frame[pslot, i, tt] & msk_frame[slot, i, tt]
                    for e in range(d):
                        msk_axis[pslot, i, e] = msk_axis[pslot, i, e] & msk_axis[slot, i, e]
                continue
            if pkind == _RES and kind == _RES and res_nearest[slot]:
                for i in range(n):
                    _nearest_row(res_src[slot, i], res_len[pslot, i], j)
                    for tt in range(t):
                        srow[tt] = res_src[pslot, i, j[tt]]
                    res_src[pslot, i] = srow[:t]
                    res_len[pslot, i] = res_len[slot, i]
                continue
        folded[f] = s
        f += 1
    steps = np.empty((f, 2), dtype=np.int64)
    skip = np.zeros((f, n), dtype=np.bool_)
    aff_permuted = np.zeros((aff_matrix.shape[0], n), dtype=np.bool_)
    lens[:] = lens0
    for q in range(f):                              # pack: steps and fusion._identity_flags
        s = folded[q]
        kind, slot = icfg[s, 5], icfg[s, 2]
        steps[q, 0], steps[q, 1] = kind, slot
        for i in range(n):
            ident = True
            if kind == _RES:
                ol = res_len[slot, i]
                for tt in range(t):
                    ident = ident and (res_src[slot, i, tt] == tt or tt >= ol)
                ident = ident and ol == lens[i]
            elif kind == _AFF:
                for e in range(d):
                    for h in range(d):
                        ident = ident and aff_matrix[slot, i, e, h] == (1.0 if e == h else 0.0)
                    ident = ident and aff_offset[slot, i, e] == 0.0
                perm_id = True
                for w in range(v):
                    perm_id = perm_id and aff_perm[slot, i, w] == w
                aff_permuted[slot, i] = not perm_id
                ident = ident and perm_id
            elif kind == _NOI:
                for w in range(v):
                    ident = ident and not (noi_sigma[slot, i] * noi_weight[slot, i, w] != 0.0)
            elif kind == _BLR:                     # a unit delta
                size = blr_size[slot]
                for w in range(size):
                    ident = ident and blr_kernel[slot, i, w] == (1.0 if w == size // 2 else 0.0)
            else:
                for w in range(v):
                    ident = ident and msk_joint[slot, i, w]
                for e in range(d):
                    ident = ident and msk_axis[slot, i, e]
                for tt in range(t):
                    ident = ident and (msk_frame[slot, i, tt] or tt >= lens[i])
            skip[q, i] = ident
        if kind == _RES:
            lens[:] = res_len[slot]
    return steps, skip, aff_permuted


@_J
def _prepare(x: Any, xi: Any, lens0: Any, st: Any, icfg: Any, fcfg: Any, statics: Any, res_nearest: Any,
             dims: int, joints: Any, has_layout: bool, low: Any, high: Any, sign: int, expo: Any,
             counts: Any) -> tuple[Any, ...]:
    """Scan, sample and plan: everything of a call before the kernel. ``counts`` are the table slots
    per kind ``(resample, affine, noise, mask)``. Returns ``(status, tables...)``; status 1: non-finite
    input (nothing drawn)."""
    n, _, t, v, _ = x.shape
    bad, centre0, extent = _scan_input(x, xi, lens0, dims, joints, has_layout, icfg, low, high, sign, expo)
    num_s = 0 if bad else icfg.shape[0]
    sampled = _sample(st, num_s, icfg, fcfg, statics, lens0, centre0, extent, n, t, v, dims, counts)
    (present, res_src, res_len, aff_matrix, aff_offset, aff_perm, noi_sigma, noi_weight, noi_seed,
     msk_joint, msk_frame, msk_axis, blr_kernel, blr_size, lens_out) = sampled
    steps, skip, aff_permuted = _plan(num_s, icfg, present, lens0, n, t, v, dims, res_src,
                                      res_len, res_nearest, aff_matrix, aff_offset, aff_perm, noi_sigma,
                                      noi_weight, msk_joint, msk_frame, msk_axis, blr_kernel, blr_size)
    return (1 if bad else 0, steps, skip, res_src, res_len, aff_matrix, aff_offset, aff_perm, aff_permuted,
            noi_sigma, noi_weight, noi_seed, msk_joint, msk_frame, msk_axis, blr_kernel, blr_size, lens_out)


@_J
def _seed(st: Any, words: Any, count: int) -> None:
    if count > 0:
        _pcg64.seed_state(st, words, count)


@njit(cache=True, error_model="numpy", nogil=True)
def _call_serial(x: Any, xi: Any, out: Any, lens0: Any, st: Any, words: Any, nwords: int, icfg: Any,
                 fcfg: Any, statics: Any, res_nearest: Any, noise_stride: Any, dims: int, joints: Any,
                 has_layout: bool, low: Any, high: Any, sign: int, expo: Any, counts: Any, empty: Any,
                 lens_out: Any) -> Any:
    """A whole call on one thread: seed (``nwords > 0``), scan, sample, plan, run the fused kernel into
    ``out``; ``lens_out`` receives the output lengths. Returns 1 for non-finite input (nothing drawn)."""
    _seed(st, words, nwords)
    r = _prepare(x, xi, lens0, st, icfg, fcfg, statics, res_nearest, dims, joints, has_layout, low, high,
                 sign, expo, counts)
    (status, steps, skip, res_src, res_len, aff_matrix, aff_offset, aff_perm, aff_permuted, noi_sigma,
     noi_weight, noi_seed, msk_joint, msk_frame, msk_axis, blur_kernel, blur_size, lens) = r
    if status:
        return status
    lens_out[:] = lens
    n, m, t = x.shape[0], x.shape[1], x.shape[2]
    if steps.shape[0] == 0:                         # no op at all: the ordinary path copies the input
        out.reshape(-1)[:] = x.reshape(-1)
        return 0
    (la_matrix, la_moved, la_pivot, bs_scale, bs_parent, bs_order) = empty
    knots = t + 1 if noise_stride.shape[0] else 1
    numba_cpu._run_slabs(x, xi, out, lens0, dims, steps, skip, res_src, res_len, res_nearest, blur_kernel,
                         blur_size, la_matrix, la_moved, la_pivot, bs_scale, bs_parent, bs_order, aff_matrix,
                         aff_offset, aff_perm, aff_permuted, noi_sigma, noi_weight, noi_seed, noise_stride,
                         msk_joint, msk_frame, msk_axis, knots, 0, n * m)
    return 0


@njit(cache=True, error_model="numpy")
def _prepare_seeded(x: Any, xi: Any, lens0: Any, st: Any, words: Any, nwords: int, icfg: Any, fcfg: Any,
                    statics: Any, res_nearest: Any, dims: int, joints: Any, has_layout: bool, low: Any,
                    high: Any, sign: int, expo: Any, counts: Any) -> tuple[Any, ...]:
    """:func:`_prepare` after seeding, for the multi-threaded kernel run from Python."""
    _seed(st, words, nwords)
    return _prepare(x, xi, lens0, st, icfg, fcfg, statics, res_nearest, dims, joints, has_layout, low, high,
                    sign, expo, counts)


@njit(cache=True, error_model="numpy")
def _sample_seeded(x: Any, xi: Any, lens0: Any, st: Any, words: Any, nwords: int, icfg: Any, fcfg: Any,
                   statics: Any, dims: int, joints: Any, has_layout: bool, low: Any, high: Any, sign: int,
                   expo: Any, counts: Any) -> tuple[Any, ...]:
    """Scan and sample only (no planning): the raw per-step parameters, for :meth:`CompiledPipeline.sample`."""
    _seed(st, words, nwords)
    n, _, t, v, _ = x.shape
    bad, centre0, extent = _scan_input(x, xi, lens0, dims, joints, has_layout, icfg, low, high, sign, expo)
    num_s = 0 if bad else icfg.shape[0]
    return (1 if bad else 0,) + _sample(st, num_s, icfg, fcfg, statics, lens0, centre0, extent, n,
                                        t, v, dims, counts)


# ------------------------------------------------------------------------------ Python side
_EMPTY = (np.zeros((0, 1, 1, 1)), np.zeros((0, 1, 1), dtype=np.bool_), np.zeros((0, 1), dtype=np.int64),
          np.zeros((0, 1, 1)), np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1), dtype=np.int64))
_KEYS = {np.dtype(np.float32): numba_cpu._key_type(np.dtype(np.float32)),
         np.dtype(np.float64): numba_cpu._key_type(np.dtype(np.float64))}
_EXPO = {np.dtype(np.float32): np.int32(0x7F800000), np.dtype(np.float64): np.int64(0x7FF0000000000000)}
_NO_WORDS = np.zeros(4, dtype=np.uint64)


def _flatten(aug: Augmentation, out: list[Augmentation]) -> None:
    if isinstance(aug, Compose):
        if aug.p < 1.0:
            raise ValueError(f"compile_pipeline: a Compose with p={aug.p} cannot be compiled (only p=1); "
                             f"call the augmentation itself (aug(x, ...)) for it")
        for child in aug.transforms:
            _flatten(child, out)
        return
    if type(aug) not in SUPPORTED:
        raise ValueError(
            f"compile_pipeline cannot compile step {type(aug).__name__} (supported: "
            f"{', '.join(sorted(c.__name__ for c in SUPPORTED))}, inside Compose with p=1); use the "
            f"ordinary call aug(x, ...) for this pipeline")
    if isinstance(aug, RandomGaussianBlur) and aug.kernel_size > MAX_KERNEL:
        raise ValueError(f"compile_pipeline compiles RandomGaussianBlur up to kernel_size={MAX_KERNEL}, got "
                         f"{aug.kernel_size}; use the ordinary call aug(x, ...) for this pipeline")
    if isinstance(aug, RandomPerturb) and aug.parts is not None:
        raise ValueError("compile_pipeline cannot compile RandomPerturb with parts=...; use the ordinary call "
                         "aug(x, ...) for this pipeline")
    out.append(aug)


@dataclass(frozen=True)
class _Config:
    icfg: np.ndarray          # (S, 8) int64: code, same_on_batch, slot, i0, i1, fusion kind, -, -
    fcfg: np.ndarray          # (S, 8) float64: p, then ranges
    statics: np.ndarray       # (S, V) int64: the mirror permutation of RandomMirror steps
    res_nearest: np.ndarray   # (R,) bool
    noise_stride: np.ndarray  # (Z,) int64
    counts: np.ndarray        # (6,) int64: slots per kind (resample, affine, noise, mask, blur), widest kernel


def _configure(steps: list[Augmentation], layout: SkeletonLayout | None) -> _Config:
    num = len(steps)
    icfg = np.zeros((max(num, 0), 8), dtype=np.int64)
    fcfg = np.zeros((max(num, 0), 8))
    width = layout.num_joints if layout is not None else 1
    statics = np.zeros((num, width), dtype=np.int64)
    slots = {"resample": 0, "affine": 0, "noise": 0, "mask": 0, "blur": 0}
    widest = 0
    nearest: list[bool] = []
    strides: list[int] = []
    for s, a in enumerate(steps):
        code = SUPPORTED[type(a)]
        kind = _KIND[code]
        icfg[s, :3] = code, int(a.same_on_batch), slots[kind]
        icfg[s, 5] = _FUSION_CODE[kind]
        slots[kind] += 1
        fcfg[s, 0] = a.p
        if isinstance(a, RandomRotate):
            fcfg[s, 1:7] = np.asarray(a._ranges, dtype=np.float64).ravel()
        elif isinstance(a, RandomCropResize | RandomShear | RandomScale | RandomTranslate | RandomSpeed
                        | RandomGaussianNoise | RandomPerturb | RandomJointMask | RandomFrameMask
                        | RandomGaussianBlur):
            fcfg[s, 1:3] = a._range
        if isinstance(a, RandomCropResize):
            icfg[s, 3:5] = a.min_length, a.size or 0
        elif isinstance(a, RandomRepeat):
            icfg[s, 3:5] = a._times
        elif isinstance(a, RandomPosterize):
            icfg[s, 3:5] = a._stride
        elif isinstance(a, RandomScale):
            icfg[s, 3] = int(a.isotropic)
        elif isinstance(a, RandomGaussianBlur):
            icfg[s, 3] = a.kernel_size
            widest = max(widest, a.kernel_size)
        elif isinstance(a, RandomMirror):
            lay = a.layout if a.layout is not None else layout
            if lay is None:
                raise ValueError("RandomMirror needs layout=...; pass it to the step or the enclosing Compose")
            icfg[s, 3] = a.axis
            statics[s] = np.asarray(lay.mirror, dtype=np.int64)
        if kind == "resample":
            nearest.append(code in _NEAREST)
        elif kind == "noise":
            strides.append(1 if isinstance(a, RandomGaussianNoise) else
                           {"constant": 0, "white": 1, "smooth": a.knot_stride}[a.temporal])  # type: ignore[attr-defined]
    return _Config(icfg, fcfg, statics, np.asarray(nearest, dtype=np.bool_).reshape(-1),
                   np.asarray(strides, dtype=np.int64).reshape(-1),
                   np.asarray([*(slots[k] for k in ("resample", "affine", "noise", "mask", "blur")), widest],
                              dtype=np.int64))


class CompiledPipeline:
    """A pipeline whose calls sample, plan and run in compiled code (see :func:`compile_pipeline`).

    Call it as the augmentation: ``y = fast(x)``, ``y, new_lengths = fast(x, lengths)``, with
    ``generator=`` an int seed, a NumPy ``Generator`` (PCG64; advanced exactly as the ordinary call
    advances it), a ``torch.Generator`` or ``None`` (the augmentation's ``seed`` stream, else torch's
    generator, as the ordinary call). ``x`` is ``(N, M, T, V, C)``, ``(M, T, V, C)`` or ``(T, V, C)``;
    the output has its shape and dtype, and ``lengths`` ``(N,)`` (or an int) become the output valid
    lengths.

    The augmentation's settings are read once, by :func:`compile_pipeline`: compile again after
    changing them. ``aug.last_params`` is not updated by compiled calls; :meth:`sample` gives the
    parameters a call draws.

    Attributes:
        aug: The compiled augmentation (its ordinary call is the fallback).
        steps: The compiled steps, in sampling order.
    """

    # ``base.Augmentation``, not ``Augmentation``: autodoc keeps a class's __init__ annotations as written, and
    # the bare name matches both skelaug.augment.Augmentation and skelaug.augment.base.Augmentation.
    def __init__(self, aug: base.Augmentation, steps: list[base.Augmentation], layout: SkeletonLayout | None,
                 dims: int | None) -> None:
        self.aug = aug
        self.steps = tuple(steps)
        self._layout = layout
        self._dims = dims
        self._cfg = _configure(steps, layout)
        self._joints = np.asarray(layout.centre if layout is not None else [], dtype=np.int64)
        self._min_dims = 1 + max([a.axis for a in steps if isinstance(a, RandomMirror)], default=-1)

    def __repr__(self) -> str:
        return f"CompiledPipeline({self.aug!r})"

    # ---------------------------------------------------------------- input checks
    def _inputs(self, x: Any, lengths: Any) -> tuple[np.ndarray, int, int, np.ndarray] | None:
        """``(x5 contiguous, rank, dims, lengths int64)``, or ``None`` when the ordinary call must run."""
        if type(x) is not np.ndarray or x.dtype not in _KEYS or not 3 <= x.ndim <= 5:
            return None
        default = backends.get_default_backend("numpy")
        if default is not None and default != "numba":
            return None
        rank = x.ndim
        x5 = x if rank == 5 else (x[None] if rank == 4 else x[None, None])
        n, _, t, v, c = x5.shape
        if n == 0 or t == 0 or v == 0 or x5.size == 0:
            return None
        if self._layout is not None and v != self._layout.num_joints:
            return None
        dims = self._dims if self._dims is not None else (self._layout.dim if self._layout is not None else c)
        if dims not in (2, 3) or c < dims or dims < self._min_dims:
            return None
        if lengths is None:
            lens = np.full(n, t, dtype=np.int64)
        elif isinstance(lengths, int | np.integer) and not isinstance(lengths, bool):
            if not 1 <= int(lengths) <= t:
                return None
            lens = np.full(n, int(lengths), dtype=np.int64)
        elif type(lengths) is np.ndarray and lengths.shape == (n,) and lengths.dtype.kind in "iu":
            lens = lengths.astype(np.int64)
            if lens.min() < 1 or lens.max() > t:
                return None
        else:
            return None
        return np.ascontiguousarray(x5), rank, dims, lens

    def _stream(self, generator: Any) -> tuple[np.ndarray, np.ndarray, int, np.random.Generator | None, Any] | None:
        """``(state array, seed words, word count, NumPy generator to write back, fallback generator)``
        for ``generator``, or ``None`` when the ordinary call must run. Consumes a torch generator's draw."""
        if generator is None and self.aug._rng is not None:
            generator = self.aug._rng
        if generator is None or isinstance(generator, torch.Generator):
            gen = torch.default_generator if generator is None else generator
            seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device).item())
            words = _pcg64.seed_words(seed)
            if words is None:
                return None
            return np.empty(_pcg64.STATE_WORDS, dtype=np.uint64), words[0], words[1], None, seed
        if isinstance(generator, np.random.Generator):
            if type(generator.bit_generator) is not np.random.PCG64:
                return None
            return _pcg64.state_of(generator), _NO_WORDS, 0, generator, generator
        if isinstance(generator, int | np.integer) and not isinstance(generator, bool):
            words = _pcg64.seed_words(int(generator))
            if words is None:
                return None
            return np.empty(_pcg64.STATE_WORDS, dtype=np.uint64), words[0], words[1], None, generator
        return None

    # ---------------------------------------------------------------- call
    def __call__(self, x: Any, lengths: Any = None, *, generator: Any = None) -> Any:
        """Augment ``x`` as ``aug(x, lengths, generator=generator)`` does (see the class docstring)."""
        inputs = self._inputs(x, lengths)
        stream = self._stream(generator) if inputs is not None else None
        if inputs is None or stream is None:
            return self.aug(x, lengths, generator)
        xb, rank, dims, lens = inputs
        st, words, nwords, back, fallback = stream
        cfg = self._cfg
        ints, low, high, sign = _KEYS[xb.dtype]
        xi = xb.view(ints)
        out = np.empty_like(xb)
        lens_out = np.empty_like(lens)
        total = xb.shape[0] * xb.shape[1]
        threads = max(1, min(numba.get_num_threads(), total))
        if threads == 1 or xb.size < config.CPU_PARALLEL_MIN_WORK:
            status = int(_call_serial(xb, xi, out, lens, st, words, nwords, cfg.icfg, cfg.fcfg, cfg.statics,
                                  cfg.res_nearest, cfg.noise_stride, dims, self._joints, self._layout is not None,
                                  low, high, sign, _EXPO[xb.dtype], cfg.counts, _EMPTY, lens_out))
        else:
            r = _prepare_seeded(xb, xi, lens, st, words, nwords, cfg.icfg, cfg.fcfg, cfg.statics,
                                cfg.res_nearest, dims, self._joints, self._layout is not None, low, high, sign,
                                _EXPO[xb.dtype], cfg.counts)
            status = int(r[0])
            if not status:
                (steps, skip, res_src, res_len, aff_matrix, aff_offset, aff_perm, aff_permuted, noi_sigma,
                 noi_weight, noi_seed, msk_joint, msk_frame, msk_axis, bk, bsz, lens_out) = r[1:]
                if steps.shape[0] == 0:
                    out[...] = xb
                else:
                    lam, lamv, lap, bss, bsp, bso = _EMPTY
                    knots = xb.shape[2] + 1 if cfg.noise_stride.size else 1
                    numba_cpu._parallel(numba_cpu._run_slabs, (
                        xb, xi, out, lens, dims, steps, skip, res_src, res_len, cfg.res_nearest, bk, bsz, lam,
                        lamv, lap, bss, bsp, bso, aff_matrix, aff_offset, aff_perm, aff_permuted, noi_sigma,
                        noi_weight, noi_seed, cfg.noise_stride, msk_joint, msk_frame, msk_axis, knots),
                        total, xb.size)
        if status:                                  # non-finite input: the ordinary call names the index
            return self.aug(x, lengths, fallback)
        if back is not None:
            _pcg64.write_state(back, st)
        y = out if rank == 5 else (out[0] if rank == 4 else out[0, 0])
        if lengths is None:
            return y
        return y, _like(lens_out, lengths)

    def sample(self, x: Any, lengths: Any = None, *, generator: Any = None) -> Program:
        """The parameters a call with these arguments draws, as the ordinary call's
        :class:`~skelaug.augment.ops.Program` (``aug.last_params``); the generator advances as in a call.

        Raises ``ValueError`` for input the compiled path does not take (see :func:`compile_pipeline`).
        """
        inputs = self._inputs(x, lengths)
        stream = self._stream(generator) if inputs is not None else None
        if inputs is None or stream is None:
            raise ValueError("CompiledPipeline.sample: this input or generator runs the ordinary call; use "
                             "aug(x, ...) and aug.last_params")
        xb, _, dims, lens = inputs
        st, words, nwords, back, _ = stream
        cfg = self._cfg
        ints, low, high, sign = _KEYS[xb.dtype]
        r = _sample_seeded(xb, xb.view(ints), lens, st, words, nwords, cfg.icfg, cfg.fcfg, cfg.statics, dims,
                           self._joints, self._layout is not None, low, high, sign, _EXPO[xb.dtype], cfg.counts)
        if r[0]:
            raise ValueError("x holds NaN or Inf; call aug(x, ...) to have the offending index named")
        if back is not None:
            _pcg64.write_state(back, st)
        (present, res_src, res_len, aff_matrix, aff_offset, aff_perm, noi_sigma, noi_weight, noi_seed,
         msk_joint, msk_frame, msk_axis, blr_kernel, _, lens_out) = r[1:]
        ops = []
        for s in range(len(self.steps)):
            if not present[s]:
                continue
            code, slot = int(cfg.icfg[s, 0]), int(cfg.icfg[s, 2])
            kind = _KIND[code]
            if kind == "resample":
                ops.append(Op(kind, {"src": res_src[slot].copy(), "out_len": res_len[slot].copy()},
                              {"mode": "nearest" if code in _NEAREST else "linear"}))
            elif kind == "affine":
                ops.append(Op(kind, {"matrix": aff_matrix[slot].copy(), "offset": aff_offset[slot].copy(),
                                     "perm": aff_perm[slot].copy()}))
            elif kind == "blur":
                size = int(cfg.icfg[s, 3])
                ops.append(Op(kind, {"kernel": blr_kernel[slot, :, :size].copy()}, {"kernel_size": size}))
            elif kind == "noise":
                ops.append(Op(kind, {"sigma": noi_sigma[slot].copy(), "seed": noi_seed[slot].copy(),
                                     "weight": noi_weight[slot].copy()},
                              {"stride": int(cfg.noise_stride[int(cfg.icfg[s, 2])])}))
            else:
                ops.append(Op(kind, {"joint": msk_joint[slot].copy(), "frame": msk_frame[slot].copy(),
                                     "axis": msk_axis[slot].copy()}))
        return Program(tuple(ops), int(xb.shape[0]), lens, lens_out, int(xb.shape[2]))


def compile_pipeline(aug: Augmentation) -> CompiledPipeline:
    """Compile ``aug`` (a supported step or a ``Compose`` of them) into a :class:`CompiledPipeline`.

    Use it where the fixed per-call cost matters: augmenting one clip (or a few) per call, as in a
    dataset's ``__getitem__``. The compiled call draws the same parameters as ``aug(x, ...)`` and
    returns the same output; input it cannot take runs ``aug(x, ...)`` itself. The first call of a
    process loads the compiled code from numba's on-disk cache (about a second); with an empty cache
    (a fresh install) it compiles it first, which took about 45 s here.

    Args:
        aug: The augmentation: one of :data:`SUPPORTED` or a :class:`~skelaug.augment.Compose` (``p=1``)
            of them, nested or not.

    Returns:
        The compiled pipeline; ``fast(x, lengths, generator=...)`` as ``aug(x, lengths, generator=...)``.

    Raises:
        ValueError: naming a step that cannot be compiled (use the ordinary call for that pipeline),
            or a pipeline mixing layouts or coordinate dimensionalities.
    """
    if not isinstance(aug, Augmentation):
        raise TypeError(f"aug must be an skelaug augmentation, got {type(aug).__name__}")
    if isinstance(aug, MultiView):
        raise ValueError("compile_pipeline cannot compile MultiView (it returns several views); compile its "
                         "transform and call it once per view, or use the ordinary call")
    steps: list[Augmentation] = []
    _flatten(aug, steps)
    lays = {lay.name: lay for lay in aug._layouts()}
    if len(lays) > 1:
        raise ValueError(f"{type(aug).__name__} mixes layouts {sorted(lays)}; use one layout per pipeline")
    layout = next(iter(lays.values()), None)
    if layout is None and aug._layout_needers():
        raise ValueError(f"{', '.join(aug._layout_needers())} needs layout=...; pass a layout name (known: "
                         f"{', '.join(_layouts.names())}) to it or to the enclosing Compose")
    hints = set(aug._dims_hint())
    if len(hints) > 1:
        raise ValueError(f"{type(aug).__name__} mixes dims {sorted(hints)}; use one coordinate dimensionality")
    return CompiledPipeline(aug, steps, layout, hints.pop() if hints else None)
