"""Plain NumPy reference executor: one readable loop per primitive, the oracle of every other backend.

Each function takes a batch ``x`` ``(N, M, T, V, C)``, the valid ``lengths`` ``(N,)``, the number of
coordinate channels ``dims`` and an :class:`~skelaug.augment.ops.Op`; it returns a new array of the
same dtype (computed in float64) and never writes to ``x``. See :mod:`skelaug.augment.ops` for the
semantics of each primitive.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skelaug.augment.ops import Op

__all__ = ["KERNELS", "run_op"]


def _present(xs: np.ndarray, dims: int) -> np.ndarray:
    return np.asarray(np.any(xs[..., :dims] != 0, axis=-1))


def _nudge(out: np.ndarray, present: np.ndarray, dims: int) -> None:
    """A present joint must never land exactly on the all-zero 'missing' code."""
    landed = present & ~np.any(out[..., :dims] != 0, axis=-1)
    if landed.any():
        out[..., 0][landed] = np.finfo(np.float32).tiny


def affine(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    out = np.zeros(x.shape, dtype=np.float64)
    a, b, perm = op.params["matrix"], op.params["offset"], op.params["perm"]
    for n in range(x.shape[0]):
        L = lengths[n]
        src = x[n, :, :L][:, :, perm[n]].astype(np.float64)        # (M, L, V, C) joints gathered
        pres = _present(src, dims)
        moved = src[..., :dims] @ a[n].T + b[n]                     # (M, L, V, D)
        res = src.copy()
        res[..., :dims] = np.where(pres[..., None], moved, 0.0)
        _nudge(res, pres, dims)
        out[n, :, :L] = res
    return out.astype(x.dtype)


def local_affine(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    out = np.zeros(x.shape, dtype=np.float64)
    a, moved_set, pivot = op.params["matrix"], op.params["moved"], op.params["pivot"]
    for n in range(x.shape[0]):
        L = lengths[n]
        xs = x[n, :, :L].astype(np.float64)
        pres = _present(xs, dims)
        piv = xs[:, :, pivot[n], :dims][:, :, None, :]                 # (M, L, 1, D)
        ok = pres & pres[:, :, pivot[n]][:, :, None] & moved_set[n][None, None, :]
        moved = piv + (xs[..., :dims] - piv) @ a[n].T
        res = xs.copy()
        res[..., :dims] = np.where(ok[..., None], moved, xs[..., :dims])
        _nudge(res, pres, dims)
        out[n, :, :L] = res
    return out.astype(x.dtype)


def bone_scale(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    parent, order = op.static["parent"], op.static["order"]
    scale = op.params["scale"]
    out = np.zeros(x.shape, dtype=np.float64)
    for n in range(x.shape[0]):
        L = lengths[n]
        xs = x[n, :, :L].astype(np.float64)
        pres = _present(xs, dims)
        res = xs.copy()
        anchor_old = np.zeros(xs.shape[:2] + (xs.shape[2], dims))
        anchor_new = np.zeros_like(anchor_old)
        has_anchor = np.zeros(xs.shape[:3], dtype=bool)
        for j in order:                                   # parents before children
            p = parent[j]
            if p >= 0:
                pp = pres[:, :, p, None]
                anchor_old[:, :, j] = np.where(pp, xs[:, :, p, :dims], anchor_old[:, :, p])
                anchor_new[:, :, j] = np.where(pp, res[:, :, p, :dims], anchor_new[:, :, p])
                has_anchor[:, :, j] = pres[:, :, p] | has_anchor[:, :, p]
            ok = (pres[:, :, j] & has_anchor[:, :, j])[..., None]
            new = anchor_new[:, :, j] + scale[n, j] * (xs[:, :, j, :dims] - anchor_old[:, :, j])
            res[:, :, j, :dims] = np.where(ok, new, xs[:, :, j, :dims])
        _nudge(res, pres, dims)
        out[n, :, :L] = res
    return out.astype(x.dtype)


def resample(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    nearest = op.static.get("mode", "linear") == "nearest"
    src_all, out_len = op.params["src"], op.params["out_len"]
    out = np.zeros(x.shape, dtype=np.float64)
    for n in range(x.shape[0]):
        L, Lo = lengths[n], out_len[n]
        xs = x[n, :, :L].astype(np.float64)
        pres = _present(xs, dims)
        s = np.clip(src_all[n, :Lo], 0.0, L - 1)
        if nearest:
            s = np.floor(s + 0.5)
        i0 = np.floor(s).astype(np.int64)
        i1 = np.minimum(i0 + 1, L - 1)
        f = (s - i0)[None, :, None, None]
        both = pres[:, i0] & pres[:, i1]                      # (M, Lo, V)
        lerp = (1.0 - f) * xs[:, i0] + f * xs[:, i1]
        near = np.where(f <= 0.5, xs[:, i0], xs[:, i1])      # ties go to the earlier frame
        out[n, :, :Lo] = np.where(both[..., None], lerp, near)
    return out.astype(x.dtype)


def mask(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    joint, frame, axis = op.params["joint"], op.params["frame"], op.params["axis"]
    out = np.zeros(x.shape, dtype=x.dtype)
    for n in range(x.shape[0]):
        L = lengths[n]
        keep = frame[n, :L][None, :, None, None] & joint[n][None, None, :, None]   # (1, L, V, 1)
        chan = np.ones(x.shape[-1], dtype=bool)
        chan[:dims] = axis[n]
        out[n, :, :L] = np.where(keep & chan, x[n, :, :L], 0)
    return out


def noise_field(op: Op, shape: tuple[int, int, int, int, int]) -> np.ndarray:
    """The (unscaled) Gaussian field ``(N, M, T, V, D)`` of a ``noise`` op."""
    from skelaug.augment._rng import gaussian_field_numpy

    n, m, t, v, d = shape
    stride = int(op.static.get("stride", 1))
    if stride == 0:                                   # constant in time
        g = gaussian_field_numpy(op.params["seed"], m * v * d).reshape(n, m, 1, v, d)
        return np.broadcast_to(g, shape).copy()
    knots = (t - 1) // stride + 2
    g = gaussian_field_numpy(op.params["seed"], m * knots * v * d).reshape(n, m, knots, v, d)
    if stride == 1:
        return g[:, :, :t]
    pos = np.arange(t) / stride
    k0 = np.floor(pos).astype(np.int64)
    f = (pos - k0)[None, None, :, None, None]
    return np.asarray((1 - f) * g[:, :, k0] + f * g[:, :, k0 + 1])


def noise(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    n_, m, t, v, _ = x.shape
    field = noise_field(op, (n_, m, t, v, dims))
    sigma, weight = op.params["sigma"], op.params["weight"]
    out = np.zeros(x.shape, dtype=np.float64)
    for n in range(n_):
        L = lengths[n]
        xs = x[n, :, :L].astype(np.float64)
        pres = _present(xs, dims)
        amp = sigma[n] * weight[n][None, None, :, None]
        res = xs.copy()
        res[..., :dims] = np.where(pres[..., None], xs[..., :dims] + amp * field[n, :, :L], 0.0)
        _nudge(res, pres, dims)
        out[n, :, :L] = res
    return out.astype(x.dtype)


def blur(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    kernel = op.params["kernel"]
    k = kernel.shape[1]
    half = k // 2
    out = np.zeros(x.shape, dtype=np.float64)
    for n in range(x.shape[0]):
        L = lengths[n]
        xs = x[n, :, :L].astype(np.float64)
        pres = _present(xs, dims)
        acc = np.zeros(xs.shape[:3] + (dims,))
        wsum = np.zeros(xs.shape[:3])
        for i in range(k):
            shift = i - half
            lo, hi = max(0, -shift), min(L, L - shift)      # frames t with 0 <= t + shift < L
            if lo >= hi:
                continue
            w = kernel[n, i] * pres[:, lo + shift:hi + shift]
            acc[:, lo:hi] += w[..., None] * xs[:, lo + shift:hi + shift, :, :dims]
            wsum[:, lo:hi] += w
        res = xs.copy()
        ok = pres & (wsum > 0)
        res[..., :dims] = np.where(ok[..., None], acc / np.where(wsum > 0, wsum, 1.0)[..., None], xs[..., :dims])
        _nudge(res, pres, dims)
        out[n, :, :L] = res
    return out.astype(x.dtype)


def mix(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    partner, joints, frames, offset = (op.params[k] for k in ("partner", "joints", "frames", "offset"))
    out = np.zeros(x.shape, dtype=np.float64)
    for n in range(x.shape[0]):
        L, q = lengths[n], partner[n]
        Lq = lengths[q]
        xs = x[n, :, :L].astype(np.float64)
        tq = np.floor(np.arange(L) * (Lq - 1) / max(L - 1, 1) + 0.5).astype(np.int64)
        other = x[q][:, tq].astype(np.float64)              # (M, L, V, C): partner, time-normalised
        pres = _present(xs, dims)
        sel = frames[n, :L][None, :, None] & joints[n][None, None, :] & pres & _present(other, dims)
        other[..., :dims] += offset[n]
        res = np.where(sel[..., None], other, xs)
        _nudge(res, pres, dims)
        out[n, :, :L] = res
    return out.astype(x.dtype)


#: The reference kernel of each primitive kind.
KERNELS: dict[str, Callable[[np.ndarray, np.ndarray, int, Op], np.ndarray]] = {
    "affine": affine,
    "local_affine": local_affine,
    "bone_scale": bone_scale,
    "resample": resample,
    "mask": mask,
    "noise": noise,
    "blur": blur,
    "mix": mix,
}


def run_op(x: np.ndarray, lengths: np.ndarray, dims: int, op: Op) -> np.ndarray:
    """Apply one op with the reference kernels."""
    return KERNELS[op.kind](x, lengths, dims, op)
