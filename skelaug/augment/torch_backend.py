"""Torch executor: the primitives as batched tensor programs (CPU or GPU, differentiable in ``x``).

No Python loop runs over samples or frames; ``bone_scale`` loops over joints in topological order
(forward kinematics), vectorised over the batch. Results agree with :mod:`skelaug.augment.reference`
to floating-point tolerance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from skelaug.augment._rng import gaussian_field_torch
from skelaug.augment.ops import Op

__all__ = ["KERNELS", "run_op"]

Tensor = torch.Tensor


def _t(a: np.ndarray, x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), device=x.device, dtype=dtype)


def _valid(lengths: Tensor, t: int) -> Tensor:
    """(N, 1, T, 1, 1) mask of frames inside the valid length."""
    ar = torch.arange(t, device=lengths.device)
    return (ar[None, :] < lengths[:, None])[:, None, :, None, None]


def _present(x: Tensor, dims: int) -> Tensor:
    return (x[..., :dims] != 0).any(dim=-1)


def _finish(res_coords: Tensor, x_rest: Tensor, present: Tensor, valid: Tensor) -> Tensor:
    """Zero missing joints and padding, nudge present joints off the exact zero, re-attach extra channels."""
    coords = torch.where(present[..., None], res_coords, torch.zeros((), dtype=res_coords.dtype,
                                                                      device=res_coords.device))
    landed = present & ~(coords != 0).any(dim=-1)
    tiny = torch.tensor(np.finfo(np.float32).tiny, dtype=coords.dtype, device=coords.device)
    first = torch.where(landed, tiny, coords[..., 0])
    coords = torch.cat([first[..., None], coords[..., 1:]], dim=-1)
    out = torch.cat([coords, x_rest], dim=-1) if x_rest.shape[-1] else coords
    return out * valid.to(out.dtype)


def affine(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    perm = _t(op.params["perm"], x, torch.long)
    a = _t(op.params["matrix"], x, x.dtype)
    b = _t(op.params["offset"], x, x.dtype)
    idx = perm[:, None, None, :, None].expand(n, m, t, v, c)
    src = torch.gather(x, 3, idx)
    pres = _present(src, dims)
    moved = torch.einsum("nmtvd,ned->nmtve", src[..., :dims], a) + b[:, None, None, None, :]
    return _finish(moved, src[..., dims:], pres, _valid(lengths, t))


def local_affine(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    a = _t(op.params["matrix"], x, x.dtype)
    moved_set = _t(op.params["moved"], x, torch.bool)
    pivot = _t(op.params["pivot"], x, torch.long)
    pres = _present(x, dims)
    idx = pivot[:, None, None, None, None].expand(n, m, t, 1, c)
    piv = torch.gather(x, 3, idx)[..., :dims]
    piv_pres = torch.gather(pres, 3, pivot[:, None, None, None].expand(n, m, t, 1))
    ok = pres & piv_pres & moved_set[:, None, None, :]
    moved = piv + torch.einsum("nmtvd,ned->nmtve", x[..., :dims] - piv, a)
    res = torch.where(ok[..., None], moved, x[..., :dims])
    return _finish(res, x[..., dims:], pres, _valid(lengths, t))


def bone_scale(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    parent, order = op.static["parent"], op.static["order"]
    n, m, t, v, c = x.shape
    scale = _t(op.params["scale"], x, x.dtype)
    pres = _present(x, dims)
    coords = x[..., :dims]
    new: list[Tensor | None] = [None] * v
    a_old: list[Tensor | None] = [None] * v
    a_new: list[Tensor | None] = [None] * v
    has: list[Tensor | None] = [None] * v
    zero = torch.zeros_like(coords[:, :, :, 0])
    no = torch.zeros_like(pres[:, :, :, 0])
    for j in order:
        p = parent[j]
        if p < 0:
            a_old[j], a_new[j], has[j] = zero, zero, no
        else:
            pp = pres[:, :, :, p, None]
            a_old[j] = torch.where(pp, coords[:, :, :, p], a_old[p])
            a_new[j] = torch.where(pp, new[p], a_new[p])
            has[j] = pres[:, :, :, p] | has[p]
        ok = (pres[:, :, :, j] & has[j])[..., None]
        moved = a_new[j] + scale[:, j, None, None, None] * (coords[:, :, :, j] - a_old[j])
        new[j] = torch.where(ok, moved, coords[:, :, :, j])
    res = torch.stack(new, dim=3)  # type: ignore[arg-type]
    return _finish(res, x[..., dims:], pres, _valid(lengths, t))


def resample(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    src = _t(op.params["src"], x, torch.float64)
    out_len = _t(op.params["out_len"], x, torch.long)
    hi = (lengths - 1).to(torch.float64)[:, None]
    s = torch.minimum(torch.clamp(src, min=0.0), hi)
    if op.static.get("mode", "linear") == "nearest":
        s = torch.floor(s + 0.5)
    i0 = torch.floor(s).to(torch.long)
    i1 = torch.minimum(i0 + 1, (lengths - 1)[:, None])
    f = (s - i0.to(torch.float64)).to(x.dtype)[:, None, :, None, None]
    tt = src.shape[1]

    def gather(i: Tensor) -> Tensor:
        return torch.gather(x, 2, i[:, None, :, None, None].expand(n, m, tt, v, c))

    x0, x1 = gather(i0), gather(i1)
    p0, p1 = _present(x0, dims), _present(x1, dims)
    lerp = (1 - f) * x0 + f * x1
    near = torch.where(f <= 0.5, x0, x1)
    out = torch.where((p0 & p1)[..., None], lerp, near)
    return out * _valid(out_len, tt).to(out.dtype)


def mask(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    joint = _t(op.params["joint"], x, torch.bool)
    frame = _t(op.params["frame"], x, torch.bool)
    axis = _t(op.params["axis"], x, torch.bool)
    chan = torch.cat([axis, torch.ones((n, c - dims), dtype=torch.bool, device=x.device)], dim=1)
    keep = frame[:, None, :, None, None] & joint[:, None, None, :, None] & chan[:, None, None, None, :]
    keep = keep & _valid(lengths, t)
    return x * keep.to(x.dtype)


def noise(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    seeds = _t(op.params["seed"], x, torch.int64)
    stride = int(op.static.get("stride", 1))
    if stride == 0:
        field = gaussian_field_torch(seeds, m * v * dims, x.dtype).reshape(n, m, 1, v, dims)
    else:
        knots = (t - 1) // stride + 2
        g = gaussian_field_torch(seeds, m * knots * v * dims, x.dtype).reshape(n, m, knots, v, dims)
        if stride == 1:
            field = g[:, :, :t]
        else:
            pos = torch.arange(t, device=x.device, dtype=torch.float64) / stride
            k0 = torch.floor(pos).to(torch.long)
            f = (pos - k0.to(torch.float64)).to(x.dtype)[None, None, :, None, None]
            field = (1 - f) * g[:, :, k0] + f * g[:, :, k0 + 1]
    sigma = _t(op.params["sigma"], x, x.dtype)
    weight = _t(op.params["weight"], x, x.dtype)
    amp = sigma[:, None, None, None, None] * weight[:, None, None, :, None]
    pres = _present(x, dims)
    return _finish(x[..., :dims] + amp * field, x[..., dims:], pres, _valid(lengths, t))


def blur(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    kernel = _t(op.params["kernel"], x, x.dtype)
    k = kernel.shape[1]
    half = k // 2
    valid = _valid(lengths, t)
    pres = _present(x, dims) & valid[..., 0]
    w_in = pres.to(x.dtype)
    coords = x[..., :dims] * w_in[..., None]
    pad_c = torch.nn.functional.pad(coords, (0, 0, 0, 0, half, half))     # pad the frame axis
    pad_w = torch.nn.functional.pad(w_in, (0, 0, half, half))
    acc = torch.zeros_like(coords)
    wsum = torch.zeros_like(w_in)
    for i in range(k):                                                    # K taps, vectorised over all else
        wi = kernel[:, i, None, None, None]
        acc = acc + wi[..., None] * pad_c[:, :, i:i + t]
        wsum = wsum + wi * pad_w[:, :, i:i + t]
    ok = (wsum > 0)[..., None]
    res = torch.where(ok, acc / torch.where(wsum > 0, wsum, torch.ones_like(wsum))[..., None], x[..., :dims])
    return _finish(res, x[..., dims:], pres, valid)


def mix(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    n, m, t, v, c = x.shape
    partner = _t(op.params["partner"], x, torch.long)
    joints = _t(op.params["joints"], x, torch.bool)
    frames = _t(op.params["frames"], x, torch.bool)
    offset = _t(op.params["offset"], x, x.dtype)
    lq = lengths[partner]
    tt = torch.arange(t, device=x.device, dtype=torch.float64)[None, :]
    denom = torch.clamp(lengths - 1, min=1).to(torch.float64)[:, None]
    tq = torch.floor(tt * (lq - 1).to(torch.float64)[:, None] / denom + 0.5).to(torch.long)
    tq = torch.minimum(tq, (lq - 1)[:, None])
    other = torch.gather(x[partner], 2, tq[:, None, :, None, None].expand(n, m, t, v, c))
    pres = _present(x, dims)
    sel = frames[:, None, :, None] & joints[:, None, None, :] & pres & _present(other, dims)
    shifted = torch.cat([other[..., :dims] + offset[:, None, None, None, :], other[..., dims:]], dim=-1)
    res = torch.where(sel[..., None], shifted, x)
    return _finish(res[..., :dims], res[..., dims:], pres, _valid(lengths, t))


#: The torch kernel of each primitive kind.
KERNELS: dict[str, Callable[[Tensor, Tensor, int, Op], Tensor]] = {
    "affine": affine,
    "local_affine": local_affine,
    "bone_scale": bone_scale,
    "resample": resample,
    "mask": mask,
    "noise": noise,
    "blur": blur,
    "mix": mix,
}


def run_op(x: Tensor, lengths: Tensor, dims: int, op: Op) -> Tensor:
    """Apply one op with the torch kernels."""
    return KERNELS[op.kind](x, lengths, dims, op)
