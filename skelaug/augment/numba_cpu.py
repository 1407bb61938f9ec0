"""numba CPU executor: every primitive, and whole folded pipelines in one pass over memory.

One generic kernel runs a packed program (:class:`~skelaug.augment.fusion.Segment`) over chunks of
``(n, m)`` slabs, in parallel on ``numba.get_num_threads()`` threads: each slab ``(T, V, C)`` is loaded
once into a channel-planar scratch buffer that stays in cache, every step of the program is applied
there in order (steps that are the identity on that sample are skipped), and the slab is stored once,
cast back to the input dtype, with zero padding. A slab whose bits are all zero (a person absent from
the clip, as the second person of most NTU samples) is stored as zeros without running the steps,
which would leave it so. ``mix`` reads other samples and runs as its own kernel between segments.

The step functions (:func:`resample`, :func:`blur`, :func:`local_affine`, :func:`bone_scale`,
:func:`affine`, :func:`noise`, :func:`mask`, and :func:`mix`) have twins of the same name in
:mod:`skelaug.augment.numba_cuda`. Each follows the NumPy reference
(:mod:`skelaug.augment.reference`) operation for operation, so results agree with it to rounding;
``resample``, ``blur`` and ``mask`` match it bit for bit on float64 input.

Dense noise comes from the counter-based field of :mod:`skelaug.augment._rng`: the integer hashes are
the same bits, and ``log`` / ``cos`` of the Box-Muller transform are evaluated with branch-free
polynomials (vectorisable; within ``1e-15`` of NumPy's ``log``/``cos``).

Kernels compile once per input dtype (float32, float64; others run in float64) and are cached on
disk (``cache=True``).

Example:
    >>> import numpy as np
    >>> from skelaug.augment import RandomRotate
    >>> x = np.random.default_rng(0).normal(size=(4, 1, 16, 25, 3)).astype(np.float32)
    >>> aug = RandomRotate(30)
    >>> y = aug(x, generator=0, backend="numba")
    >>> bool(np.allclose(y, aug(x, params=aug.last_params, backend="numpy"), atol=1e-5))
    True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import njit, types
from numba.cpython.unsafe.numbers import leading_zeros
from numba.extending import intrinsic

from skelaug.augment import _rng, backends, config, fusion
from skelaug.augment.ops import Op

__all__ = [
    "BatchScan",
    "affine",
    "blur",
    "bone_scale",
    "gaussian_field",
    "local_affine",
    "mask",
    "mix",
    "noise",
    "reduce_present",
    "resample",
    "run_op",
    "run_program",
    "scan_batch",
]

_RESAMPLE, _BLUR, _LOCAL_AFFINE, _BONE_SCALE, _AFFINE, _NOISE, _MASK = (
    fusion.RESAMPLE, fusion.BLUR, fusion.LOCAL_AFFINE, fusion.BONE_SCALE, fusion.AFFINE, fusion.NOISE, fusion.MASK)
_TINY = float(np.finfo(np.float32).tiny)
_GOLDEN = 0x1E3779B9
_LN2_HI = 6.93147180369123816490e-01       # ln 2 split so that e * _LN2_HI is exact for |e| < 2**20
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_TWO_PI_2_24 = 2.0 * np.pi / 16777216.0


# ------------------------------------------------------------------------------ counter-based noise
# The same mixer as the NumPy/torch one (skelaug.augment._rng), compiled for scalars.
_hash32 = njit(cache=True, inline="always", error_model="numpy")(_rng._hash32)


@njit(cache=True, inline="always", error_model="numpy")
def _log_u(k: int) -> float:
    """``log(k / 2**24)`` for an integer ``1 <= k <= 2**24`` (branch-free, within 2 ulp of ``np.log``).

    ``k = 2**e m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``; ``log m = 2 atanh(z)``, ``z = (m-1)/(m+1)``,
    ``|z| < 0.172``, summed to ``z**25`` (Estrin's scheme: short dependency chains vectorise well).
    """
    e = 63 - leading_zeros(k)  # type: ignore[call-arg]
    m = float(k << (24 - e)) * (1.0 / 16777216.0)       # k / 2**e in [1, 2), exact
    big = m > _SQRT2
    m = m * 0.5 if big else m
    ef = float(e) + 1.0 if big else float(e)
    z = (m - 1.0) / (m + 1.0)
    y = z * z
    y2 = y * y
    y4 = y2 * y2
    r0 = (1.0 / 3.0 + y * (1.0 / 5.0)) + y2 * (1.0 / 7.0 + y * (1.0 / 9.0))
    r1 = (1.0 / 11.0 + y * (1.0 / 13.0)) + y2 * (1.0 / 15.0 + y * (1.0 / 17.0))
    r2 = (1.0 / 19.0 + y * (1.0 / 21.0)) + y2 * (1.0 / 23.0 + y * (1.0 / 25.0))
    p = (r0 + y4 * r1) + (y4 * y4) * r2
    n = ef - 24.0
    return n * _LN2_HI + (n * _LN2_LO + (2.0 * z + 2.0 * z * y * p))


@njit(cache=True, inline="always", error_model="numpy")
def _cos_u(j: int) -> float:
    """``cos(2 pi j / 2**24)`` for an integer ``0 <= j < 2**24`` (quadrant-reduced, ~1 ulp)."""
    q = (j + (1 << 21)) >> 22                  # nearest quarter turn, 0..4
    r = j - (q << 22)                          # exact, |r| <= 2**21
    th = r * _TWO_PI_2_24                      # |th| <= pi / 4
    y = th * th
    y2 = y * y
    y4 = y2 * y2
    c = (((1.0 - 0.5 * y) + y2 * (1.0 / 24.0 - y * (1.0 / 720.0)))
         + y4 * ((1.0 / 40320.0 - y * (1.0 / 3628800.0)) + y2 * (1.0 / 479001600.0 - y * (1.0 / 87178291200.0)))
         + (y4 * y4) * (1.0 / 20922789888000.0 - y * (1.0 / 6402373705728000.0)))
    s = th * (((1.0 - y * (1.0 / 6.0)) + y2 * (1.0 / 120.0 - y * (1.0 / 5040.0)))
              + y4 * ((1.0 / 362880.0 - y * (1.0 / 39916800.0)) + y2 * (1.0 / 6227020800.0
                                                                      - y * (1.0 / 1307674368000.0)))
              + (y4 * y4) * (1.0 / 355687428096000.0 - y * (1.0 / 121645100408832000.0)))
    qm = q & 3
    out = c if qm == 0 else -s
    out = -c if qm == 2 else out
    out = s if qm == 3 else out
    return out


_BLOCK = 256


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _fill_gaussian(out: Any, seed: int, start: int, count: int, tmp: Any) -> None:
    """``out[i] = g(seed; start + i)`` for ``i < count`` (the field of :func:`gaussian_field`).

    Computed in blocks of ``_BLOCK`` (``tmp`` is ``(2, _BLOCK)`` scratch), one simple loop per factor,
    which vectorises better than one long loop body. Fused multiply-adds are allowed here only: the
    field is float-close, not bit-equal, to NumPy's.
    """
    sh = _hash32(seed ^ _GOLDEN)
    ta, tb = tmp[0], tmp[1]
    for blk in range(0, count, _BLOCK):
        nb = min(_BLOCK, count - blk)
        base = start + blk
        for i in range(nb):
            ta[i] = _log_u((_hash32(sh + (base + i) * 2 * _GOLDEN) >> 8) + 1)
        for i in range(nb):
            tb[i] = _cos_u(_hash32(sh + ((base + i) * 2 + 1) * _GOLDEN) >> 8)
        o = out[blk:blk + nb]
        for i in range(nb):
            o[i] = np.sqrt(-2.0 * ta[i]) * tb[i]


@njit(cache=True, error_model="numpy")
def _gaussian_rows(seeds: Any, size: int) -> Any:
    out = np.empty((seeds.shape[0], size))
    tmp = np.empty((2, _BLOCK))
    for n in range(seeds.shape[0]):
        _fill_gaussian(out[n], seeds[n], 0, size, tmp)
    return out


def gaussian_field(seeds: np.ndarray, size: int) -> np.ndarray:
    """numba twin of :func:`skelaug.augment._rng.gaussian_field_numpy` (``(N, size)`` float64).

    Example:
        >>> import numpy as np
        >>> from skelaug.augment._rng import gaussian_field_numpy
        >>> s = np.array([0, 7, 2**32 - 1])
        >>> bool(np.allclose(gaussian_field(s, 100), gaussian_field_numpy(s, 100), rtol=0, atol=1e-12))
        True
    """
    return _gaussian_rows(np.ascontiguousarray(seeds, dtype=np.int64), int(size))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ steps on one slab
# The scratch slab is channel-planar: ``buf[c, t * V + v]`` (dtype of the input), so that every loop
# below runs over contiguous memory and vectorises. Each step computes in float64 (``acc`` holds
# float64 intermediates) and rounds once when it stores, as the reference does per op; the reference
# function of the same name defines the semantics. ``pres[j]`` holds the presence of position ``j``.
_J = njit(cache=True, error_model="numpy")


@_J
def _presence(buf: Any, count: int, dims: int, pres: Any) -> None:
    """``pres[j] = any(buf[d, j] != 0 for d < dims)`` for ``j < count``."""
    b0 = buf[0]
    for j in range(count):
        pres[j] = b0[j] != 0.0
    for d in range(1, dims):
        bd = buf[d]
        for j in range(count):
            pres[j] = pres[j] | (bd[j] != 0.0)


@_J
def _finish(acc: Any, cur: Any, count: int, dims: int, pres: Any, land: Any) -> None:
    """Store the float64 coordinates ``acc`` into ``cur``; joints present in the step's input
    (``pres``) that landed exactly on zero (checked in float64, as the reference does) are nudged to
    the smallest normal float32."""
    for j in range(count):
        land[j] = pres[j]
    for d in range(dims):
        ad = acc[d]
        for j in range(count):
            land[j] = land[j] & (ad[j] == 0.0)
    for d in range(dims):
        ad = acc[d]
        cd = cur[d]
        for j in range(count):
            cd[j] = ad[j]
    c0 = cur[0]
    for j in range(count):
        c0[j] = _TINY if land[j] else c0[j]


@_J
def _copy_planes(src: Any, dst: Any, first: int, count: int) -> None:
    for c in range(first, src.shape[0]):
        s = src[c]
        d = dst[c]
        for j in range(count):
            d[j] = s[j]


@_J
def resample(cur: Any, nxt: Any, nv: int, length: int, out_len: int, src: Any, nearest: bool, dims: int,
             pres: Any) -> None:
    """``nxt[t] = cur(src[t])`` for ``t < out_len`` (linear or nearest; a joint missing in either
    neighbour frame takes the nearer frame, ties to the earlier)."""
    nc, num_t = cur.shape[0], cur.shape[1] // nv
    _presence(cur, length * nv, dims, pres)
    c3, n3, p2 = cur.reshape((nc, num_t, nv)), nxt.reshape((nc, num_t, nv)), pres.reshape((num_t, nv))
    hi = float(length - 1)
    for t in range(out_len):
        s = min(max(src[t], 0.0), hi)
        if nearest:
            s = np.floor(s + 0.5)
        i0 = int(np.floor(s))
        i1 = min(i0 + 1, length - 1)
        f = s - i0
        if f == 0.0:                               # (1 - 0) x0 + 0 x1 == x0: a frame copy
            for c in range(nc):
                for v in range(nv):
                    n3[c, t, v] = c3[c, i0, v]
            continue
        g = 1.0 - f
        k = i0 if f <= 0.5 else i1
        for c in range(nc):
            for v in range(nv):
                lerp = g * c3[c, i0, v] + f * c3[c, i1, v]
                n3[c, t, v] = lerp if p2[i0, v] & p2[i1, v] else c3[c, k, v]


@_J
def _affine_pass(src: Any, cur: Any, count: int, matrix: Any, offset: Any, dims: int) -> None:
    """One sweep of ``x'[j] = A x[j] + b`` from ``src`` into the coordinate planes of ``cur`` (another
    buffer: in place, LLVM's alias check fails and the loop runs scalar, 4x slower) over positions
    ``j < count``, for ``dims`` 2 or 3: presence, the product (float64, the reference's order of
    operations), zero for missing joints, and the nudge of present joints landing on zero, all in
    registers (vectorises)."""
    s0, s1, c0, c1 = src[0], src[1], cur[0], cur[1]
    m00, m01, m10, m11, b0, b1 = matrix[0, 0], matrix[0, 1], matrix[1, 0], matrix[1, 1], offset[0], offset[1]
    if dims == 3:
        s2, c2 = src[2], cur[2]
        m02, m12, m20, m21, m22, b2 = matrix[0, 2], matrix[1, 2], matrix[2, 0], matrix[2, 1], matrix[2, 2], offset[2]
        for j in range(count):
            x0, x1, x2 = float(s0[j]), float(s1[j]), float(s2[j])
            p = (x0 != 0.0) | (x1 != 0.0) | (x2 != 0.0)
            a0 = (((x0 * m00) + x1 * m01) + x2 * m02) + b0
            a1 = (((x0 * m10) + x1 * m11) + x2 * m12) + b1
            a2 = (((x0 * m20) + x1 * m21) + x2 * m22) + b2
            a0 = a0 if p else 0.0
            a1 = a1 if p else 0.0
            a2 = a2 if p else 0.0
            land = p & (a0 == 0.0) & (a1 == 0.0) & (a2 == 0.0)
            c0[j] = _TINY if land else a0
            c1[j] = a1
            c2[j] = a2
    else:
        for j in range(count):
            x0, x1 = float(s0[j]), float(s1[j])
            p = (x0 != 0.0) | (x1 != 0.0)
            a0 = ((x0 * m00) + x1 * m01) + b0
            a1 = ((x0 * m10) + x1 * m11) + b1
            a0 = a0 if p else 0.0
            a1 = a1 if p else 0.0
            land = p & (a0 == 0.0) & (a1 == 0.0)
            c0[j] = _TINY if land else a0
            c1[j] = a1


@_J
def affine(cur: Any, nxt: Any, nv: int, length: int, matrix: Any, offset: Any, perm: Any, permuted: bool,
           dims: int, acc: Any, pres: Any, land: Any) -> bool:
    """``x'[v] = A x[perm[v]] + b`` on present joints; returns True when the result is in ``nxt``
    (else in ``cur``)."""
    count = length * nv
    src = cur
    if permuted:                                   # gather whole joints (all channels) first
        c3, n3 = cur.reshape((cur.shape[0], -1, nv)), nxt.reshape((nxt.shape[0], -1, nv))
        for c in range(cur.shape[0]):
            for t in range(length):
                for v in range(nv):
                    n3[c, t, v] = c3[c, t, perm[v]]
        src = nxt
        _copy_planes(nxt, cur, dims, count)
    if dims == 2 or dims == 3:
        if permuted:
            _affine_pass(nxt, cur, count, matrix, offset, dims)
            return False
        _affine_pass(cur, nxt, count, matrix, offset, dims)
        _copy_planes(cur, nxt, dims, count)
        return True
    _presence(src, count, dims, pres)
    for e in range(dims):
        ae = acc[e]
        s0 = src[0]
        a0 = matrix[e, 0]
        for j in range(count):
            ae[j] = s0[j] * a0
        for d in range(1, dims):
            sd = src[d]
            ad = matrix[e, d]
            for j in range(count):
                ae[j] = ae[j] + sd[j] * ad
        be = offset[e]
        for j in range(count):
            ae[j] = ae[j] + be
    for d in range(dims):                          # missing joints: zero coordinates
        ad = acc[d]
        for j in range(count):
            ad[j] = ad[j] if pres[j] else 0.0
    _finish(acc, cur, count, dims, pres, land)
    return False


@_J
def _noise_pass(cur: Any, out: Any, nv: int, length: int, stride: int, step: int, g3: Any, amp: Any,
                dims: int, acc: Any) -> None:
    """The noise step from ``cur`` into the coordinate planes of ``out`` (another buffer, so the loops
    vectorise) over frames ``t < length``, for ``dims`` 2 or 3 (``g3[k, d, v]`` are the knots): the
    offsets ``amp[v] g`` (knot-interpolated) into ``acc`` frame by frame, then one flat sweep for
    presence, the sum and the nudge of present joints landing on zero, with the reference's float64
    order of operations."""
    for t in range(length):
        pos = t / stride if stride > 0 else 0.0
        k0 = int(np.floor(pos))
        f = pos - k0
        k1 = k0 + step
        o = t * nv
        for d in range(dims):
            ad, ga, gb = acc[d], g3[k0, d], g3[k1, d]
            for v in range(nv):
                ad[o + v] = amp[v] * ((1 - f) * ga[v] + f * gb[v])     # == amp ga exactly when f == 0
    count = length * nv
    s0, s1, w0, w1, e0, e1 = cur[0], cur[1], out[0], out[1], acc[0], acc[1]
    if dims == 3:
        s2, w2, e2 = cur[2], out[2], acc[2]
        for j in range(count):
            x0, x1, x2 = float(s0[j]), float(s1[j]), float(s2[j])
            p = (x0 != 0.0) | (x1 != 0.0) | (x2 != 0.0)
            a0 = x0 + e0[j]
            a1 = x1 + e1[j]
            a2 = x2 + e2[j]
            a0 = a0 if p else x0
            a1 = a1 if p else x1
            a2 = a2 if p else x2
            land = p & (a0 == 0.0) & (a1 == 0.0) & (a2 == 0.0)
            w0[j] = _TINY if land else a0
            w1[j] = a1
            w2[j] = a2
    else:
        for j in range(count):
            x0, x1 = float(s0[j]), float(s1[j])
            p = (x0 != 0.0) | (x1 != 0.0)
            a0 = x0 + e0[j]
            a1 = x1 + e1[j]
            a0 = a0 if p else x0
            a1 = a1 if p else x1
            land = p & (a0 == 0.0) & (a1 == 0.0)
            w0[j] = _TINY if land else a0
            w1[j] = a1


@_J
def noise(cur: Any, nxt: Any, nv: int, length: int, m: int, sigma: float, weight: Any, seed: int, stride: int,
          dims: int, knots: Any, gtmp: Any, amp: Any, acc: Any, pres: Any, land: Any) -> bool:
    """``x += sigma w[v] g(seed; m, t, v, d)`` on present joints (``g`` constant, white or knot-interpolated);
    returns True when the result is in ``nxt`` (else in ``cur``)."""
    num_t = cur.shape[1] // nv
    count = length * nv
    row = nv * dims
    if stride == 0:
        total, need = 1, 1
    else:
        total = (num_t - 1) // stride + 2
        need = length if stride == 1 else min(total, (length - 1) // stride + 2)
    flat = knots[0]
    _fill_gaussian(flat, seed, m * total * row, need * row, gtmp)
    f3 = flat.reshape((-1, nv, dims))              # as generated: knot, joint, axis
    g3 = knots[1].reshape((-1, dims, nv))          # planar: knot, axis, joint
    for k in range(need):
        for d in range(dims):
            for v in range(nv):
                g3[k, d, v] = f3[k, v, d]
    for v in range(nv):
        amp[v] = sigma * weight[v]
    step = 1 if stride > 1 else 0                  # constant / white: f == 0 and the second knot is unused
    if dims == 2 or dims == 3:
        _noise_pass(cur, nxt, nv, length, stride, step, g3, amp, dims, acc)
        _copy_planes(cur, nxt, dims, count)
        return True
    _presence(cur, count, dims, pres)
    c3, a3, p2 = cur.reshape((cur.shape[0], num_t, nv)), acc.reshape((dims, num_t, nv)), pres.reshape((num_t, nv))
    for t in range(length):
        pos = t / stride if stride > 0 else 0.0
        k0 = int(np.floor(pos))
        f = pos - k0
        k1 = k0 + step
        for d in range(dims):
            for v in range(nv):
                g = (1 - f) * g3[k0, d, v] + f * g3[k1, d, v]    # == g3[k0] exactly when f == 0
                moved = c3[d, t, v] + amp[v] * g
                a3[d, t, v] = moved if p2[t, v] else c3[d, t, v]
    _finish(acc, cur, count, dims, pres, land)
    return False


@_J
def mask(cur: Any, nv: int, length: int, joint: Any, frame: Any, axis: Any, dims: int) -> None:
    """Zero dropped joints / frames (all channels) and dropped coordinate axes, in place."""
    c3 = cur.reshape((cur.shape[0], cur.shape[1] // nv, nv))
    for c in range(cur.shape[0]):
        chan = axis[c] if c < dims else True
        for t in range(length):
            if frame[t] & chan:
                for v in range(nv):
                    c3[c, t, v] = c3[c, t, v] if joint[v] else 0.0
            else:
                for v in range(nv):
                    c3[c, t, v] = 0.0


@_J
def blur(cur: Any, nxt: Any, nv: int, length: int, kernel: Any, size: int, dims: int, acc: Any, wsum: Any,
         pres: Any, land: Any) -> None:
    """Normalised temporal filter over valid frames where the joint is present."""
    count = length * nv
    half = size // 2
    _presence(cur, count, dims, pres)
    for j in range(count):
        wsum[j] = 0.0
    for d in range(dims):
        ad = acc[d]
        for j in range(count):
            ad[j] = 0.0
    for i in range(size):
        shift = i - half
        lo, hi = max(0, -shift) * nv, min(length, length - shift) * nv
        if lo >= hi:
            continue
        k = kernel[i]
        so = shift * nv
        pr, ws = pres[lo + so:hi + so], wsum[lo:hi]
        for j in range(hi - lo):
            ws[j] += k if pr[j] else 0.0
        for d in range(dims):
            ad, cd = acc[d, lo:hi], cur[d, lo + so:hi + so]
            for j in range(hi - lo):
                ad[j] += (k if pr[j] else 0.0) * cd[j]
    for d in range(dims):
        ad, cd = acc[d], cur[d]
        for j in range(count):
            ok = pres[j] & (wsum[j] > 0.0)
            ad[j] = ad[j] / (wsum[j] if ok else 1.0) if ok else cd[j]
    _copy_planes(cur, nxt, 0, count)
    _finish(acc, nxt, count, dims, pres, land)


@_J
def local_affine(cur: Any, nv: int, length: int, matrix: Any, moved: Any, pivot: int, dims: int, acc: Any,
                 pres: Any, land: Any) -> None:
    """``x[v] <- x[r] + A (x[v] - x[r])`` for moved joints, pivoting on joint ``r`` of the same frame."""
    count = length * nv
    _presence(cur, count, dims, pres)
    for e in range(dims):
        ae, ce = acc[e], cur[e]
        for t in range(length):
            o = t * nv
            pe = ce[o + pivot]
            for v in range(nv):
                s = 0.0
                for d in range(dims):
                    s += (cur[d, o + v] - cur[d, o + pivot]) * matrix[e, d]
                ae[o + v] = pe + s
    for t in range(length):                        # only moved joints with a present pivot change
        o = t * nv
        pp = pres[o + pivot]
        for v in range(nv):
            ok = pres[o + v] & pp & moved[v]
            for d in range(dims):
                acc[d, o + v] = acc[d, o + v] if ok else cur[d, o + v]
    _finish(acc, cur, count, dims, pres, land)


@_J
def bone_scale(cur: Any, nv: int, length: int, scale: Any, parent: Any, order: Any, dims: int, acc: Any,
               anchor: Any, has: Any, pres: Any, land: Any) -> None:
    """Forward kinematics ``x'[j] = x'[a] + s[j] (x[j] - x[a])``, ``a`` the nearest present ancestor."""
    count = length * nv
    _presence(cur, count, dims, pres)
    for d in range(dims):
        for j in range(count):
            acc[d, j] = cur[d, j]
    for t in range(length):
        o = t * nv
        for k in range(order.shape[0]):
            j = order[k]
            p = parent[j]
            if p >= 0:
                pp = pres[o + p]
                for d in range(dims):
                    anchor[j, 0, d] = cur[d, o + p] if pp else anchor[p, 0, d]
                    anchor[j, 1, d] = acc[d, o + p] if pp else anchor[p, 1, d]
                has[j] = pp or has[p]
            else:
                for d in range(dims):
                    anchor[j, 0, d] = 0.0
                    anchor[j, 1, d] = 0.0
                has[j] = False
            if pres[o + j] and has[j]:
                for d in range(dims):
                    acc[d, o + j] = anchor[j, 1, d] + scale[j] * (cur[d, o + j] - anchor[j, 0, d])
    _finish(acc, cur, count, dims, pres, land)


@_J
def _load(xs: Any, buf: Any, count: int) -> None:
    """Slab ``(T * V * C)`` channels-last -> channel planes, for positions ``j < count``."""
    nc = buf.shape[0]
    if nc == 3:
        b0, b1, b2 = buf[0], buf[1], buf[2]
        for j in range(count):
            b0[j] = xs[3 * j]
            b1[j] = xs[3 * j + 1]
            b2[j] = xs[3 * j + 2]
    elif nc == 2:
        b0, b1 = buf[0], buf[1]
        for j in range(count):
            b0[j] = xs[2 * j]
            b1[j] = xs[2 * j + 1]
    else:
        for c in range(nc):
            bc = buf[c]
            for j in range(count):
                bc[j] = xs[nc * j + c]


@_J
def _store(buf: Any, os: Any, count: int) -> None:
    """Channel planes -> channels-last slab; positions ``j >= count`` (padding) are zeroed."""
    nc = buf.shape[0]
    if nc == 3:
        b0, b1, b2 = buf[0], buf[1], buf[2]
        for j in range(count):
            os[3 * j] = b0[j]
            os[3 * j + 1] = b1[j]
            os[3 * j + 2] = b2[j]
    elif nc == 2:
        b0, b1 = buf[0], buf[1]
        for j in range(count):
            os[2 * j] = b0[j]
            os[2 * j + 1] = b1[j]
    else:
        for c in range(nc):
            bc = buf[c]
            for j in range(count):
                os[nc * j + c] = bc[j]
    for k in range(count * nc, os.shape[0]):
        os[k] = 0.0


@_J
def _all_zero(xs: Any) -> bool:
    """Every element of the integer view ``xs`` is 0 (an absent person's slab: all bits zero, so no
    ``-0.0``). Checked in blocks of :data:`_BLOCK` with an exit at the first non-zero block, which for a
    present person is the first. The blocks are slices of constant length: with a run-time trip count
    (``range(start, min(start + _BLOCK, size))``) the OR did not vectorise and took 6x as long."""
    size = xs.shape[0]
    full = size // _BLOCK * _BLOCK
    for start in range(0, full, _BLOCK):
        blk = xs[start:start + _BLOCK]
        acc = blk[0]
        for k in range(1, _BLOCK):
            acc = acc | blk[k]
        if acc != 0:
            return False
    acc = 0
    for k in range(full, size):
        acc |= xs[k]
    return bool(acc == 0)


# ------------------------------------------------------------------------------ the fused kernel
@njit(cache=True, error_model="numpy", nogil=True)
def _run_slabs(x: Any, xi: Any, out: Any, lengths: Any, dims: int, steps: Any, skip: Any, res_src: Any, res_len: Any,
               res_nearest: Any, blur_kernel: Any, blur_size: Any, la_matrix: Any, la_moved: Any, la_pivot: Any,
               bs_scale: Any, bs_parent: Any, bs_order: Any, aff_matrix: Any, aff_offset: Any, aff_perm: Any,
               aff_permuted: Any, noise_sigma: Any, noise_weight: Any, noise_seed: Any, noise_stride: Any,
               mask_joint: Any, mask_frame: Any, mask_axis: Any, knot_rows: int, first: int, stop: int) -> None:
    """Run the program on slabs ``first <= n * M + m < stop`` (one chunk; scratch allocated once).

    ``xi`` is ``x`` viewed as integers of its width. A slab whose bits are all zero (a person absent
    from the clip, as the second person of most NTU samples) is stored as zeros without running the
    steps: every step keeps missing joints at exactly ``+0.0`` (no step reads another slab)."""
    num_n, num_m, num_t, nv, nc = x.shape
    total = num_n * num_m
    size = num_t * nv
    xf = x.reshape(total, size * nc)
    xif = xi.reshape(total, size * nc)
    of = out.reshape(total, size * nc)
    a = np.empty((nc, size), dtype=x.dtype)
    b = np.empty((nc, size), dtype=x.dtype)
    acc = np.empty((dims, size))
    wsum = np.empty(size)
    pres = np.empty(size, dtype=np.bool_)
    land = np.empty(size, dtype=np.bool_)
    knots = np.empty((2, knot_rows * nv * dims))
    anchor = np.empty((nv, 2, dims))
    has = np.empty(nv, dtype=np.bool_)
    amp = np.empty(nv)
    gtmp = np.empty((2, _BLOCK))
    for slab in range(first, stop):
        n = slab // num_m
        m = slab - n * num_m
        length = lengths[n]
        if _all_zero(xif[slab]):
            of[slab][:] = 0.0
            continue
        _load(xf[slab], a, length * nv)
        cur, nxt = a, b
        for s in range(steps.shape[0]):
            kind, i = steps[s, 0], steps[s, 1]
            if kind == _RESAMPLE:
                out_len = res_len[i, n]
                if not skip[s, n]:
                    resample(cur, nxt, nv, length, out_len, res_src[i, n], res_nearest[i], dims, pres)
                    cur, nxt = nxt, cur
                length = out_len
            elif skip[s, n]:
                continue
            elif kind == _AFFINE:
                if affine(cur, nxt, nv, length, aff_matrix[i, n], aff_offset[i, n], aff_perm[i, n],
                          aff_permuted[i, n], dims, acc, pres, land):
                    cur, nxt = nxt, cur
            elif kind == _NOISE:
                if noise(cur, nxt, nv, length, m, noise_sigma[i, n], noise_weight[i, n], noise_seed[i, n],
                         noise_stride[i], dims, knots, gtmp, amp, acc, pres, land):
                    cur, nxt = nxt, cur
            elif kind == _MASK:
                mask(cur, nv, length, mask_joint[i, n], mask_frame[i, n], mask_axis[i, n], dims)
            elif kind == _BLUR:
                blur(cur, nxt, nv, length, blur_kernel[i, n], blur_size[i], dims, acc, wsum, pres, land)
                cur, nxt = nxt, cur
            elif kind == _LOCAL_AFFINE:
                local_affine(cur, nv, length, la_matrix[i, n], la_moved[i, n], la_pivot[i, n], dims, acc,
                             pres, land)
            else:
                bone_scale(cur, nv, length, bs_scale[i, n], bs_parent[i], bs_order[i], dims, acc, anchor,
                           has, pres, land)
        _store(cur, of[slab], length * nv)


@njit(cache=True, error_model="numpy", nogil=True)
def _mix(x: Any, out: Any, lengths: Any, dims: int, partner: Any, joints: Any, frames: Any, offset: Any,
         first: int, stop: int) -> None:
    num_n, num_m, num_t, nv, nc = x.shape
    for slab in range(first, stop):
        n = slab // num_m
        m = slab - n * num_m
        length = lengths[n]
        q = partner[n]
        lq = lengths[q]
        den = max(length - 1, 1)
        for t in range(length):
            tq = int(np.floor(t * (lq - 1) / den + 0.5))
            for v in range(nv):
                px = False
                po = False
                for d in range(dims):
                    px = px or x[n, m, t, v, d] != 0.0
                    po = po or x[q, m, tq, v, d] != 0.0
                if frames[n, t] and joints[n, v] and px and po:
                    land = True
                    for c in range(nc):
                        val = float(x[q, m, tq, v, c])
                        if c < dims:
                            val = val + offset[n, c]
                            land = land and val == 0.0
                        out[n, m, t, v, c] = val
                    if land:
                        out[n, m, t, v, 0] = _TINY
                else:
                    for c in range(nc):
                        out[n, m, t, v, c] = x[n, m, t, v, c]
        for t in range(length, num_t):
            for v in range(nv):
                for c in range(nc):
                    out[n, m, t, v, c] = 0.0


def mix(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    """Cross-sample mixing (its own kernel: it reads the partner sample)."""
    out = np.empty_like(x)
    p = op.params
    _parallel(_mix, (x, out, np.ascontiguousarray(lengths, np.int64), dims,
                     np.ascontiguousarray(p["partner"], np.int64), np.ascontiguousarray(p["joints"], np.bool_),
                     np.ascontiguousarray(p["frames"], np.bool_), np.ascontiguousarray(p["offset"], np.float64)),
              x.shape[0] * x.shape[1], x.size)
    return out


# ------------------------------------------------------------------------------ public entry points
def _work(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype in (np.float32, np.float64):
        return np.ascontiguousarray(arr)
    return np.ascontiguousarray(arr, dtype=np.float64)


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _forget_pool() -> None:
    """A forked child (e.g. a DataLoader worker) inherits the pool object but not its threads."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL[0] != workers:
        if _POOL is not None:
            _POOL[1].shutdown(wait=False)
        _POOL = (workers, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skelaug-numba"))
    return _POOL[1]


def _parallel(kernel: Any, args: tuple[Any, ...], total: int, work: int) -> None:
    """Run ``kernel(*args, first, stop)`` over ``[0, total)`` split in chunks, on ``numba.get_num_threads()``
    threads: the calling thread and a pool (chunk kernels are compiled ``nogil``, so they run in
    parallel). Small jobs (``work`` elements below ``config.CPU_PARALLEL_MIN_WORK``) run inline.

    This plays the role of ``prange`` over ``(n, m)``: a ``prange`` wrapper around the fused interpreter
    makes numba re-optimise the whole linked interpreter (about 3x the cold compile time), and an
    OpenMP team spinning next to other work is slow on small machines.
    """
    threads = max(1, min(numba.get_num_threads(), total))
    if threads == 1 or work < config.CPU_PARALLEL_MIN_WORK:
        kernel(*args, 0, total)
        return
    chunks = max(1, min(total, threads * config.CPU_CHUNKS_PER_THREAD))
    todo = iter([(c * total // chunks, (c + 1) * total // chunks) for c in range(chunks)])
    lock = threading.Lock()

    def worker() -> None:                      # every thread (the caller too) takes chunks until none is left
        while True:
            with lock:
                bounds = next(todo, None)
            if bounds is None:
                return
            kernel(*args, *bounds)

    futures = [_pool(threads - 1).submit(worker) for _ in range(threads - 1)]
    worker()
    for f in futures:
        f.result()


def run_segment(x: np.ndarray, seg: fusion.Segment, dims: int) -> np.ndarray:
    """Run one packed segment on a contiguous float32/float64 batch; returns a new array."""
    out = np.empty_like(x)
    xi = x.view(_key_type(x.dtype)[0])            # the same memory as signed integers, for _all_zero
    _parallel(_run_slabs, (x, xi, out, seg.lengths_in, dims, seg.steps, seg.skip, *seg.tables(), seg.max_knots),
              x.shape[0] * x.shape[1], x.size)
    return out


def run_program(x: Any, lengths: Any, dims: int, ops: Sequence[Op], *, folding: bool = True) -> np.ndarray:
    """Run a whole program: folded, split at ``mix`` ops, each segment in one pass over memory."""
    arr = np.asarray(x)
    if not ops:
        return np.array(arr, copy=True)
    work = _work(arr)
    lens = np.ascontiguousarray(lengths, dtype=np.int64)
    shape = tuple(int(s) for s in work.shape)
    for step in fusion.plan(ops, lens, shape, dims, folding=folding):  # type: ignore[arg-type]
        if isinstance(step, Op):
            work = mix(work, lens, dims, step)
        else:
            work = run_segment(work, step, dims)
            lens = step.lengths_out
    return work.astype(arr.dtype, copy=False)


def run_op(x: Any, lengths: Any, dims: int, op: Op) -> np.ndarray:
    """Apply one primitive (same contract as :func:`skelaug.augment.reference.run_op`)."""
    return run_program(x, lengths, dims, [op], folding=False)


# ------------------------------------------------------------------------------ batch statistics
@njit(cache=True, error_model="numpy", nogil=True)
def _mean(x: Any, lengths: Any, dims: int, joints: Any, total: Any, cnt: Any, first: int, stop: int) -> None:
    """Samples ``first..stop-1``: sum ``total[n]`` and count ``cnt[n]`` of present joints among ``joints``."""
    num_n, num_m, num_t, nv, nc = x.shape
    xf = x.reshape(num_n, num_m, num_t * nv * nc)
    for n in range(first, stop):
        c = 0.0
        for m in range(num_m):
            c += _joint_sums(xf[n, m], lengths[n], nv, nc, dims, joints, total[n])
        cnt[n] = c


@njit(cache=True, error_model="numpy", inline="always")
def _joint_sums(xs: Any, length: int, nv: int, nc: int, dims: int, joints: Any, total: Any) -> float:
    """Add the coordinates of the present ``joints`` in frames ``t < length`` of a channels-last slab
    to ``total`` ``(D,)`` (in frame, then joint order); returns how many were present. Three
    coordinates accumulate in registers (the same additions in the same order: the same sums)."""
    c = 0.0
    if dims == 3:
        s0, s1, s2 = total[0], total[1], total[2]
        for t in range(length):
            for k in range(joints.shape[0]):
                o = (t * nv + joints[k]) * nc
                x0, x1, x2 = xs[o], xs[o + 1], xs[o + 2]
                if (x0 != 0.0) | (x1 != 0.0) | (x2 != 0.0):
                    c += 1.0
                    s0 += x0
                    s1 += x1
                    s2 += x2
        total[0], total[1], total[2] = s0, s1, s2
        return c
    for t in range(length):
        for k in range(joints.shape[0]):
            o = (t * nv + joints[k]) * nc
            present = False
            for d in range(dims):
                present = present or xs[o + d] != 0.0
            if present:
                c += 1.0
                for d in range(dims):
                    total[d] += xs[o + d]
    return c


@njit(cache=True, error_model="numpy", inline="always")
def _extent_rows(xs: Any, count: int, nc: int, dims: int, low: Any, high: Any, sign: int) -> Any:
    """The extremes of positions ``j < count`` of a channels-last slab: ``(c, h0, l0, h1, l1, h2, l2)``,
    ``c`` how many were present, ``h_d`` / ``l_d`` the largest / smallest key of coordinate ``d``
    (``low`` / ``high`` when none is present).

    ``xs`` is the slab's float bits as signed integers (``int32`` for float32, ``int64`` for float64),
    and the extremes are taken over *order keys* ``k = b ^ ((b >> sign) & high)``, which sort exactly
    as the floats do (a monotone bijection on finite values and infinities; inputs are validated
    finite first). Integer max/min reductions vectorise; float compare-and-select reductions do not
    (numba's LLVM keeps them scalar even with fast-math flags: 1.2 ms vs 0.23 ms per batch here).
    Presence is ``(b0 | b1 | b2) & high != 0``: some coordinate is not +-0, as ``x != 0.0`` says
    (``high``, the integer type's largest value, masks off the sign bit).
    """
    h0, l0, h1, l1, h2, l2 = low, high, low, high, low, high
    c = 0
    for j in range(count):
        o = j * nc
        b0 = xs[o]
        b1 = xs[o + 1 if dims > 1 else o]
        b2 = xs[o + 2 if dims > 2 else o]
        p = ((b0 | b1 | b2) & high) != 0
        c += 1 if p else 0
        k0 = b0 ^ ((b0 >> sign) & high)
        k1 = b1 ^ ((b1 >> sign) & high)
        k2 = b2 ^ ((b2 >> sign) & high)
        h0 = max(h0, k0 if p else low)
        l0 = min(l0, k0 if p else high)
        h1 = max(h1, k1 if p else low)
        l1 = min(l1, k1 if p else high)
        h2 = max(h2, k2 if p else low)
        l2 = min(l2, k2 if p else high)
    return c, h0, l0, h1, l1, h2, l2


@intrinsic
def _as_float(typingctx: Any, bits: Any, like: Any) -> Any:
    """The float of type ``like``'s type whose bits are the low 32 (float32) or 64 (float64) bits of the
    integer ``bits`` (a reinterpretation, no conversion), for the order keys of :func:`_extent_rows`."""
    if not isinstance(bits, types.Integer) or like not in (types.float32, types.float64):
        return None
    same = types.int32 if like == types.float32 else types.int64

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        value, target = args[0], context.get_value_type(same)
        if value.type.width > target.width:
            value = builder.trunc(value, target)
        elif value.type.width < target.width:
            value = builder.sext(value, target)
        return builder.bitcast(value, context.get_value_type(like))

    return like(bits, like), codegen


@njit(cache=True, error_model="numpy", inline="always")
def _key_range(hk: Any, lk: Any, high: Any, sign: int, like: Any) -> float:
    """``float(max) - float(min)`` in float64 from the order keys ``hk`` / ``lk`` of :func:`_extent_rows`
    (the key map is an involution: applied again it gives the float bits back)."""
    hi: float = _as_float(hk ^ ((hk >> sign) & high), like)  # type: ignore[call-arg]
    lo: float = _as_float(lk ^ ((lk >> sign) & high), like)
    return np.float64(hi) - np.float64(lo)


@njit(cache=True, error_model="numpy", nogil=True)
def _size(x: Any, xi: Any, lengths: Any, dims: int, size: Any, low: Any, high: Any, sign: int,
          first: int, stop: int) -> None:
    """Samples ``first..stop-1``: the body size ``size[n]`` of :func:`_size_sample`. ``x`` is the
    batch and ``xi`` the same memory as signed integers of its width (the extremes are exact: no
    arithmetic on the values); ``low`` / ``high`` are that integer type's extremes and ``sign`` its
    width minus one."""
    num_n, num_m, num_t, nv, nc = xi.shape
    xf = xi.reshape(num_n, num_m * num_t, nv * nc)
    ext = np.empty(num_m * num_t)
    like = x.dtype.type(0)
    for n in range(first, stop):
        size[n] = _size_sample(xf[n], num_t, lengths[n], nv, nc, dims, ext, low, high, sign, like)


@njit(cache=True, error_model="numpy", inline="always")
def _size_sample(xs: Any, num_t: int, length: int, nv: int, nc: int, dims: int, ext: Any,
                 low: Any, high: Any, sign: int, like: Any) -> float:
    """Body size of one sample ``xs`` ``(M * T, V * C)`` (float bits as integers, one row per
    person-frame): the median over the person-frames ``(m, t < length)`` with a positive extent of that
    extent, ``max_d (max_v x_d - min_v x_d)`` over the frame's present joints (0 when there is none); see
    ``skelaug.augment.base.Context.extent``. ``ext`` ``(M * T,)`` is scratch;
    ``like`` is a zero of the batch's float type.

    Three coordinates in three channels (the common case) run :func:`_extent_rows` with constant
    strides, the extremes in registers; the median is a selection (``np.median``: the mean of the
    two middle values, as the sorted formula) rather than a sort (0.35 against 1.13 ms for 256 samples
    of 128 person-frames here)."""
    k = 0
    for m in range(xs.shape[0] // num_t):
        for t in range(length):
            r = xs[m * num_t + t]
            if nc == 3 and dims == 3:                # constant strides for the common case
                c, h0, l0, h1, l1, h2, l2 = _extent_rows(r, nv, 3, 3, low, high, sign)
            else:
                c, h0, l0, h1, l1, h2, l2 = _extent_rows(r, nv, nc, dims, low, high, sign)
            if c == 0:
                continue
            e = max(0.0, _key_range(h0, l0, high, sign, like))
            if dims > 1:
                e = max(e, _key_range(h1, l1, high, sign, like))
            if dims > 2:
                e = max(e, _key_range(h2, l2, high, sign, like))
            if e > 0.0:
                ext[k] = e
                k += 1
    if k == 0:
        return 0.0
    return float(np.median(ext[:k]))


@njit(cache=True, error_model="numpy", nogil=True)
def _scan(x: Any, xi: Any, lengths: Any, dims: int, joints: Any, want_size: bool, size: Any, total: Any,
          tcnt: Any, bad: Any, low: Any, high: Any, sign: int, expo: Any, first: int, stop: int) -> None:
    """Samples ``first..stop-1`` in one read: ``bad[n]`` (some element of the sample, padding and
    extra channels included, is NaN or Inf: its exponent bits ``expo`` are all set), the body size
    ``size[n]`` of :func:`_size` (if ``want_size``), and the sums ``total[n]`` / counts ``tcnt[n]`` of
    the present ``joints`` of :func:`_mean` (same order of additions, so the same float64 sums).
    ``x`` is the batch and ``xi`` the same memory as signed integers of its width."""
    num_n, num_m, num_t, nv, nc = xi.shape
    sz = num_t * nv * nc
    xf = x.reshape(num_n, num_m, sz)
    xif = xi.reshape(num_n, num_m, sz)
    xrows = xi.reshape(num_n, num_m * num_t, nv * nc)
    ext = np.empty(num_m * num_t)
    like = x.dtype.type(0)
    for n in range(first, stop):
        length = lengths[n]
        if want_size:
            size[n] = _size_sample(xrows[n], num_t, length, nv, nc, dims, ext, low, high, sign, like)
        nonfinite = False
        for m in range(num_m):                     # the slabs are in cache now
            xs = xif[n, m]
            for k in range(sz):
                nonfinite |= (xs[k] & expo) == expo
        bad[n] = nonfinite
        tc = 0.0
        for m in range(num_m):                     # as _mean
            tc += _joint_sums(xf[n, m], length, nv, nc, dims, joints, total[n])
        tcnt[n] = tc


@dataclass(frozen=True)
class BatchScan:
    """What :func:`scan_batch` found in one read of a batch.

    ``finite``: no NaN or Inf anywhere. ``size`` ``(N,)``: the body size of
    ``skelaug.augment.base.Context.extent`` (median person-frame extent; 0 where no person-frame has
    one, ``size_found``), or ``None`` when it was not asked for. ``centre`` ``(N, D)``: the mean of
    the present ``joints`` in valid frames (``centre_found``), or ``None`` when no joints were asked
    for. The values are those of :func:`reduce_present`, bit for bit.
    """

    finite: bool
    size: np.ndarray | None
    size_found: np.ndarray | None
    centre: np.ndarray | None
    centre_found: np.ndarray | None


def scan_batch(x: np.ndarray, lengths: np.ndarray, dims: int, joints: Sequence[int] | None, *,
               size: bool = True) -> BatchScan:
    """Finiteness, body size and body centre of a NumPy batch ``(N, M, T, V, C)`` in one parallel pass.

    Replaces three reads of the batch (:func:`skelaug.tensors.check_finite`, then
    :func:`reduce_present` for the size and for the centre) by one. ``dims`` must be 2 or 3;
    ``joints``: the centre joints (``None``: no centre is computed); ``size=False`` skips the body
    size (most of the scan's work: a per-frame extent of every person and a median per sample), for
    callers whose samplers do not use it.

    Example:
        >>> import numpy as np
        >>> x = np.zeros((1, 1, 2, 3, 3), np.float32)
        >>> x[0, 0, :, 1] = [[1, 2, 3], [3, 2, 1]]
        >>> x[0, 0, :, 2] = [[1, 5, 3], [3, 6, 1]]
        >>> s = scan_batch(x, np.array([2]), 3, [1])
        >>> s.finite, s.size.tolist(), s.centre.tolist()
        (True, [3.5], [[2.0, 2.0, 2.0]])
        >>> scan_batch(x, np.array([2]), 3, None, size=False).size is None
        True
    """
    if dims not in (2, 3):
        raise ValueError(f"dims={dims!r}; scan_batch handles 2 or 3 coordinate dimensions")
    work = _work(x)
    lens = np.ascontiguousarray(lengths, dtype=np.int64)
    n = work.shape[0]
    ints, low, high, sign = _key_type(work.dtype)
    finfo = np.finfo(work.dtype)
    expo = ints(((1 << finfo.nexp) - 1) << finfo.nmant)
    sizes, tcnt, bad = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.bool_)
    idx = np.asarray([] if joints is None else list(joints), dtype=np.int64)
    total = np.zeros((n, dims))
    _parallel(_scan, (work, work.view(ints), lens, dims, idx, bool(size), sizes, total, tcnt, bad, low, high, sign,
                      expo), n, work.size)
    centre = None if joints is None else total / np.maximum(tcnt, 1.0)[:, None]
    return BatchScan(not bool(bad.any()), sizes if size else None, sizes > 0 if size else None, centre,
                     None if joints is None else tcnt > 0)


def _key_type(dtype: np.dtype[Any]) -> tuple[Any, Any, Any, int]:
    """The signed integer type of the float ``dtype``'s width for :func:`_extent_rows`: the type, its
    smallest and largest values, and its width minus one."""
    ints = np.int32 if dtype == np.float32 else np.int64
    info = np.iinfo(ints)
    return ints, ints(info.min), ints(info.max), info.bits - 1


def reduce_present(x: np.ndarray, lengths: np.ndarray, dims: int, joints: Sequence[int] | None,
                   what: str) -> tuple[np.ndarray, np.ndarray]:
    """numba twin of ``skelaug.augment.base._reduce_present`` for NumPy input (one read of the joints used).

    Returns the per-sample mean ``(N, D)`` (``what="mean"``) of the present joints in valid frames,
    or the body size ``(N,)`` (``"size"``, ``dims <= 3``), and whether any was found ``(N,)``.
    """
    work = _work(x)
    lens = np.ascontiguousarray(lengths, dtype=np.int64)
    n = work.shape[0]
    idx = np.arange(work.shape[3], dtype=np.int64) if joints is None else np.asarray(list(joints), dtype=np.int64)
    if what == "mean":
        cnt = np.zeros(n)
        total = np.zeros((n, dims))
        _parallel(_mean, (work, lens, dims, idx, total, cnt), n, n * work.shape[1] * work.shape[2] * idx.size)
        return total / np.maximum(cnt, 1.0)[:, None], cnt > 0
    if not 1 <= dims <= 3:
        raise ValueError(f"dims={dims!r}; the body size is measured on 1 to 3 coordinate dimensions")
    sub = work if joints is None else np.ascontiguousarray(work[:, :, :, idx, :dims])
    ints, low, high, sign = _key_type(sub.dtype)
    size = np.zeros(n)
    _parallel(_size, (sub, sub.view(ints), lens, dims, size, low, high, sign), n, sub.size)
    return size, size > 0


backends.register_backend(backends.Backend(
    "numba", "numpy", run_op, run_program,
    requirement="numba (a dependency of skelaug: pip install numba)",
))
backends.numpy_reducer = reduce_present
backends.numpy_scanner = scan_batch
