"""numba CUDA executor: the twin of :mod:`skelaug.augment.numba_cpu` on NVIDIA GPUs.

The same packed program (:class:`~skelaug.augment.fusion.Segment`) is interpreted by one generic
kernel: a **block runs one** ``(n, m)`` **slab at a time** (grid-stride over slabs) and its threads
stride over the slab's positions. The slab is loaded once into scratch -- dynamic shared memory when
two channel-planar copies fit in :data:`~skelaug.augment.config.CUDA_MAX_SHARED_BYTES`, else a
per-block region of a global array --, every step runs there with a barrier between steps, and the
slab is stored once with zero padding: one pass over device memory per segment. ``mix`` reads other
samples and runs as its own grid-stride kernel between segments. Launch sizes come from
:mod:`skelaug.augment.config`.

Torch CUDA tensors are used **zero-copy** through ``__cuda_array_interface__`` and kernels are
launched on torch's current stream; NumPy input (or CPU tensors, when asked for this backend
explicitly) is copied to the device and back. The step device functions have the names of their CPU
twins and follow the NumPy reference operation for operation (noise uses CUDA's ``log``/``cos``).

Without a GPU, or without numba's CUDA target, the module still imports and the backend reports
itself unavailable with what to install; ``NUMBA_ENABLE_CUDASIM=1`` (set before numba is imported)
runs the kernels on numba's CUDA simulator, which is how the test-suite checks them on CPU.

Example:
    >>> import numpy as np
    >>> from skelaug.augment import RandomRotate, numba_cuda
    >>> x = np.ones((2, 1, 8, 25, 3), np.float32)
    >>> backend = "numba_cuda" if numba_cuda.available() else "numba"      # same API either way
    >>> RandomRotate(10)(x, generator=0, backend=backend).shape
    (2, 1, 8, 25, 3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import torch

from skelaug.augment import _rng, backends, config, fusion
from skelaug.augment.ops import Op

__all__ = [
    "REQUIREMENT",
    "available",
    "gaussian_field",
    "mix",
    "run_op",
    "run_program",
]

#: What the ``numba_cuda`` backend needs, as reported when it is asked for but unavailable.
REQUIREMENT = (
    "an NVIDIA GPU with a working CUDA driver and numba's CUDA target (numba >= 0.61 ships it separately: "
    "pip install numba-cuda); set NUMBA_ENABLE_CUDASIM=1 before importing numba to run the kernels on the "
    "CPU simulator instead"
)

cuda: Any
_IMPORT_ERROR: str | None = None
try:                                    # numba's CUDA target may be absent (newer numba without numba-cuda)
    from numba import cuda
    from numba import from_dtype as _nb_dtype
except Exception as err:  # pragma: no cover - depends on the installation
    cuda = None
    _IMPORT_ERROR = f"{type(err).__name__}: {err}"

_RESAMPLE, _BLUR, _LOCAL_AFFINE, _BONE_SCALE, _AFFINE, _NOISE, _MASK = (
    fusion.RESAMPLE, fusion.BLUR, fusion.LOCAL_AFFINE, fusion.BONE_SCALE, fusion.AFFINE, fusion.NOISE, fusion.MASK)
_TINY = float(np.finfo(np.float32).tiny)
_GOLDEN = 0x1E3779B9
_MAXD = 4                               # coordinate channels a thread holds in registers


def available() -> bool:
    """Whether the CUDA kernels can run here (a GPU, or the simulator)."""
    if cuda is None:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # pragma: no cover - broken driver installs
        return False


def _unavailable_reason() -> str:
    if _IMPORT_ERROR is not None:
        return f"{REQUIREMENT} (importing numba.cuda failed: {_IMPORT_ERROR})"
    return REQUIREMENT


_F = TypeVar("_F", bound=Callable[..., Any])


def _cuda_jit(**options: Any) -> Callable[[_F], _F]:
    """``cuda.jit`` for device functions, with a typed signature (numba is untyped)."""
    return cast(Callable[[_F], _F], cuda.jit(**options))


def _cuda_kernel() -> Callable[[Callable[..., None]], Any]:
    """``cuda.jit`` for kernels (launched as ``kernel[blocks, threads, stream, shared](...)``)."""
    return cast(Callable[[Callable[..., None]], Any], cuda.jit())


if cuda is not None:
    _dev = _cuda_jit(device=True, inline=True)

    # -------------------------------------------------------------------------- counter-based noise
    _hash32 = _dev(_rng._hash32)       # the NumPy/torch mixer (skelaug.augment._rng) as a device function

    @_dev
    def _gauss(sh: int, idx: int) -> float:
        """Element ``idx`` of the field with hashed seed ``sh`` (see :mod:`skelaug.augment._rng`)."""
        a = _hash32(sh + idx * 2 * _GOLDEN)
        b = _hash32(sh + (idx * 2 + 1) * _GOLDEN)
        u1 = ((a >> 8) + 1.0) / 16777216.0
        u2 = (b >> 8) / 16777216.0
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    @_cuda_kernel()
    def _gaussian_kernel(seeds: Any, out: Any) -> None:
        size = out.shape[1]
        start = cuda.grid(1)
        step = cuda.gridsize(1)
        for k in range(start, out.shape[0] * size, step):
            n = k // size
            out[n, k - n * size] = _gauss(_hash32(seeds[n] ^ _GOLDEN), k - n * size)

    # -------------------------------------------------------------------------- steps on one slab
    # ``sc`` is the block's scratch: channel planes ``sc[off + c * S + j]``, ``j = t * V + v``.
    # ``cur`` / ``nxt`` are the offsets of the two slab copies; each step strides its threads over
    # positions (``tid``, ``nth``) and returns after its last write (the caller synchronises).
    @_dev
    def _present(sc: Any, off: int, size: int, j: int, dims: int) -> bool:
        for d in range(dims):
            if sc[off + d * size + j] != 0.0:
                return True
        return False

    @_dev
    def _store_coords(sc: Any, off: int, size: int, j: int, dims: int, val: Any, present: bool) -> None:
        """Write coordinates ``val``; a present joint that landed exactly on zero is nudged."""
        land = present
        for d in range(dims):
            land = land and val[d] == 0.0
        for d in range(dims):
            sc[off + d * size + j] = val[d]
        if land:
            sc[off + j] = _TINY

    @_dev
    def resample(sc: Any, cur: int, nxt: int, size: int, nv: int, nc: int, dims: int, length: int,
                 out_len: int, src: Any, nearest: bool, tid: int, nth: int) -> None:
        hi = float(length - 1)
        for j in range(tid, out_len * nv, nth):
            t = j // nv
            v = j - t * nv
            s = min(max(src[t], 0.0), hi)
            if nearest:
                s = math.floor(s + 0.5)
            i0 = math.floor(s)
            i1 = min(i0 + 1, length - 1)
            f = s - i0
            a = i0 * nv + v
            b = i1 * nv + v
            if f != 0.0 and _present(sc, cur, size, a, dims) and _present(sc, cur, size, b, dims):
                for c in range(nc):
                    sc[nxt + c * size + j] = (1.0 - f) * sc[cur + c * size + a] + f * sc[cur + c * size + b]
            else:
                k = a if f <= 0.5 else b
                for c in range(nc):
                    sc[nxt + c * size + j] = sc[cur + c * size + k]

    @_dev
    def affine(sc: Any, cur: int, nxt: int, size: int, nv: int, nc: int, dims: int, length: int, matrix: Any,
               offset: Any, perm: Any, permuted: bool, tid: int, nth: int) -> None:
        """In place, or into ``nxt`` when ``permuted`` (the caller then swaps)."""
        dst = nxt if permuted else cur
        xv = cuda.local.array(_MAXD, np.float64)
        yv = cuda.local.array(_MAXD, np.float64)
        for j in range(tid, length * nv, nth):
            t = j // nv
            p = t * nv + perm[j - t * nv] if permuted else j
            if permuted:
                for c in range(dims, nc):
                    sc[dst + c * size + j] = sc[cur + c * size + p]
            present = _present(sc, cur, size, p, dims)
            for d in range(dims):
                xv[d] = sc[cur + d * size + p]
            for e in range(dims):
                acc = 0.0
                for d in range(dims):
                    acc += xv[d] * matrix[e, d]
                yv[e] = acc + offset[e] if present else 0.0
            _store_coords(sc, dst, size, j, dims, yv, present)

    @_dev
    def noise(sc: Any, cur: int, size: int, nv: int, dims: int, length: int, num_t: int, m: int, sigma: float,
              weight: Any, seed: int, stride: int, knots: Any, tid: int, nth: int) -> None:
        """In place. ``stride > 1`` reads the knots the caller filled; otherwise values are computed here."""
        row = nv * dims
        total = 1 if stride == 0 else (num_t - 1) // stride + 2
        sh = _hash32(seed ^ _GOLDEN)
        base = m * total * row
        yv = cuda.local.array(_MAXD, np.float64)
        for j in range(tid, length * nv, nth):
            if not _present(sc, cur, size, j, dims):
                continue
            t = j // nv
            v = j - t * nv
            amp = sigma * weight[v]
            for d in range(dims):
                if stride == 0:
                    g = _gauss(sh, base + v * dims + d)
                elif stride == 1:
                    g = _gauss(sh, base + t * row + v * dims + d)
                else:
                    pos = t / stride
                    k0 = math.floor(pos)
                    f = pos - k0
                    g = (1 - f) * knots[k0 * row + v * dims + d] + f * knots[(k0 + 1) * row + v * dims + d]
                yv[d] = sc[cur + d * size + j] + amp * g
            _store_coords(sc, cur, size, j, dims, yv, True)

    @_dev
    def mask(sc: Any, cur: int, size: int, nv: int, nc: int, dims: int, length: int, joint: Any, frame: Any,
             axis: Any, tid: int, nth: int) -> None:
        for j in range(tid, length * nv, nth):
            t = j // nv
            keep = frame[t] and joint[j - t * nv]
            for c in range(nc):
                if not keep or (c < dims and not axis[c]):
                    sc[cur + c * size + j] = 0.0

    @_dev
    def blur(sc: Any, cur: int, nxt: int, size: int, nv: int, nc: int, dims: int, length: int, kernel: Any,
             ksize: int, tid: int, nth: int) -> None:
        half = ksize // 2
        acc = cuda.local.array(_MAXD, np.float64)
        for j in range(tid, length * nv, nth):
            for c in range(nc):
                sc[nxt + c * size + j] = sc[cur + c * size + j]
            if not _present(sc, cur, size, j, dims):
                continue
            t = j // nv
            v = j - t * nv
            wsum = 0.0
            for d in range(dims):
                acc[d] = 0.0
            for i in range(ksize):
                s = t + i - half
                if 0 <= s < length:
                    k = s * nv + v
                    if _present(sc, cur, size, k, dims):
                        w = kernel[i]
                        wsum += w
                        for d in range(dims):
                            acc[d] += w * sc[cur + d * size + k]
            if wsum > 0.0:
                for d in range(dims):
                    acc[d] = acc[d] / wsum
                _store_coords(sc, nxt, size, j, dims, acc, True)

    @_dev
    def local_affine(sc: Any, cur: int, nxt: int, size: int, nv: int, nc: int, dims: int, length: int,
                     matrix: Any, moved: Any, pivot: int, tid: int, nth: int) -> None:
        yv = cuda.local.array(_MAXD, np.float64)
        for j in range(tid, length * nv, nth):
            for c in range(nc):
                sc[nxt + c * size + j] = sc[cur + c * size + j]
            t = j // nv
            r = t * nv + pivot
            if not (moved[j - t * nv] and _present(sc, cur, size, j, dims) and _present(sc, cur, size, r, dims)):
                continue
            for e in range(dims):
                acc = 0.0
                for d in range(dims):
                    acc += (sc[cur + d * size + j] - sc[cur + d * size + r]) * matrix[e, d]
                yv[e] = sc[cur + e * size + r] + acc
            _store_coords(sc, nxt, size, j, dims, yv, True)

    @_dev
    def bone_scale(sc: Any, cur: int, nxt: int, size: int, nv: int, nc: int, dims: int, length: int, scale: Any,
                   parent: Any, order: Any, tid: int, nth: int) -> None:
        """One thread per frame walks the tree (parents first); anchors are nearest present ancestors."""
        yv = cuda.local.array(_MAXD, np.float64)
        for t in range(tid, length, nth):
            o = t * nv
            for k in range(order.shape[0]):
                j = order[k]
                for c in range(nc):
                    sc[nxt + c * size + o + j] = sc[cur + c * size + o + j]
                a = parent[j]
                while a >= 0 and not _present(sc, cur, size, o + a, dims):
                    a = parent[a]
                if a >= 0 and _present(sc, cur, size, o + j, dims):
                    for d in range(dims):
                        sc[nxt + d * size + o + j] = sc[nxt + d * size + o + a] + scale[j] * (
                            sc[cur + d * size + o + j] - sc[cur + d * size + o + a])
            for v in range(nv):
                if _present(sc, cur, size, o + v, dims):
                    for d in range(dims):
                        yv[d] = sc[nxt + d * size + o + v]
                    _store_coords(sc, nxt, size, o + v, dims, yv, True)

    # -------------------------------------------------------------------------- the fused kernel
    @_dev
    def _body(sc: Any, knots: Any, x2: Any, out2: Any, lengths: Any, dims: int, num_m: int, num_t: int, nv: int,
              nc: int, steps: Any, skip: Any, res_src: Any, res_len: Any, res_nearest: Any, blur_kernel: Any,
              blur_size: Any, la_matrix: Any, la_moved: Any, la_pivot: Any, bs_scale: Any, bs_parent: Any,
              bs_order: Any, aff_matrix: Any, aff_offset: Any, aff_perm: Any, aff_permuted: Any, noise_sigma: Any,
              noise_weight: Any, noise_seed: Any, noise_stride: Any, mask_joint: Any, mask_frame: Any,
              mask_axis: Any) -> None:
        tid = cuda.threadIdx.x
        nth = cuda.blockDim.x
        size = num_t * nv
        for slab in range(cuda.blockIdx.x, x2.shape[0], cuda.gridDim.x):
            n = slab // num_m
            m = slab - n * num_m
            length = lengths[n]
            xs = x2[slab]
            for k in range(tid, length * nv * nc, nth):           # load: channels-last -> planes
                j = k // nc
                sc[(k - j * nc) * size + j] = xs[k]
            cuda.syncthreads()
            cur = 0
            nxt = nc * size
            for s in range(steps.shape[0]):
                kind = steps[s, 0]
                i = steps[s, 1]
                swap = False
                if kind == _RESAMPLE:
                    if not skip[s, n]:
                        resample(sc, cur, nxt, size, nv, nc, dims, length, res_len[i, n], res_src[i, n],
                                 res_nearest[i], tid, nth)
                        swap = True
                    length = res_len[i, n]
                elif skip[s, n]:
                    pass
                elif kind == _AFFINE:
                    affine(sc, cur, nxt, size, nv, nc, dims, length, aff_matrix[i, n], aff_offset[i, n],
                           aff_perm[i, n], aff_permuted[i, n], tid, nth)
                    swap = aff_permuted[i, n]
                elif kind == _NOISE:
                    stride = noise_stride[i]
                    if stride > 1:                                  # knots shared by `stride` frames
                        row = nv * dims
                        total = (num_t - 1) // stride + 2
                        need = min(total, (length - 1) // stride + 2) * row
                        sh = _hash32(noise_seed[i, n] ^ _GOLDEN)
                        for k in range(tid, need, nth):
                            knots[k] = _gauss(sh, m * total * row + k)
                        cuda.syncthreads()
                    noise(sc, cur, size, nv, dims, length, num_t, m, noise_sigma[i, n], noise_weight[i, n],
                          noise_seed[i, n], stride, knots, tid, nth)
                elif kind == _MASK:
                    mask(sc, cur, size, nv, nc, dims, length, mask_joint[i, n], mask_frame[i, n],
                         mask_axis[i, n], tid, nth)
                elif kind == _BLUR:
                    blur(sc, cur, nxt, size, nv, nc, dims, length, blur_kernel[i, n], blur_size[i], tid, nth)
                    swap = True
                elif kind == _LOCAL_AFFINE:
                    local_affine(sc, cur, nxt, size, nv, nc, dims, length, la_matrix[i, n], la_moved[i, n],
                                 la_pivot[i, n], tid, nth)
                    swap = True
                else:
                    bone_scale(sc, cur, nxt, size, nv, nc, dims, length, bs_scale[i, n], bs_parent[i],
                               bs_order[i], tid, nth)
                    swap = True
                if swap:
                    cur, nxt = nxt, cur
                cuda.syncthreads()
            os = out2[slab]
            for k in range(tid, size * nc, nth):                  # store: planes -> channels-last, zero pad
                j = k // nc
                os[k] = sc[cur + (k - j * nc) * size + j] if j < length * nv else 0.0
            cuda.syncthreads()

    _KERNELS: dict[tuple[str, bool], Any] = {}

    def _kernel(dtype: np.dtype[Any], shared: bool) -> Any:
        """The fused kernel for scratch ``dtype`` in shared (dynamic) or global memory (compiled lazily)."""
        key = (str(dtype), shared)
        if key in _KERNELS:
            return _KERNELS[key]
        nbt = _nb_dtype(dtype)
        if shared:
            @_cuda_kernel()
            def fused(x2: Any, out2: Any, gscratch: Any, gknots: Any, lengths: Any, dims: int, num_m: int,
                      num_t: int, nv: int, nc: int, steps: Any, skip: Any, res_src: Any, res_len: Any,
                      res_nearest: Any, blur_kernel: Any, blur_size: Any, la_matrix: Any, la_moved: Any,
                      la_pivot: Any, bs_scale: Any, bs_parent: Any, bs_order: Any, aff_matrix: Any,
                      aff_offset: Any, aff_perm: Any, aff_permuted: Any, noise_sigma: Any, noise_weight: Any,
                      noise_seed: Any, noise_stride: Any, mask_joint: Any, mask_frame: Any, mask_axis: Any) -> None:
                sc = cuda.shared.array(0, nbt)
                _body(sc, gknots[cuda.blockIdx.x], x2, out2, lengths, dims, num_m, num_t, nv, nc, steps, skip,
                      res_src, res_len, res_nearest, blur_kernel, blur_size, la_matrix, la_moved, la_pivot,
                      bs_scale, bs_parent, bs_order, aff_matrix, aff_offset, aff_perm, aff_permuted,
                      noise_sigma, noise_weight, noise_seed, noise_stride, mask_joint, mask_frame, mask_axis)
        else:
            @_cuda_kernel()
            def fused(x2: Any, out2: Any, gscratch: Any, gknots: Any, lengths: Any, dims: int, num_m: int,
                      num_t: int, nv: int, nc: int, steps: Any, skip: Any, res_src: Any, res_len: Any,
                      res_nearest: Any, blur_kernel: Any, blur_size: Any, la_matrix: Any, la_moved: Any,
                      la_pivot: Any, bs_scale: Any, bs_parent: Any, bs_order: Any, aff_matrix: Any,
                      aff_offset: Any, aff_perm: Any, aff_permuted: Any, noise_sigma: Any, noise_weight: Any,
                      noise_seed: Any, noise_stride: Any, mask_joint: Any, mask_frame: Any, mask_axis: Any) -> None:
                _body(gscratch[cuda.blockIdx.x], gknots[cuda.blockIdx.x], x2, out2, lengths, dims, num_m,
                      num_t, nv, nc, steps, skip, res_src, res_len, res_nearest, blur_kernel, blur_size,
                      la_matrix, la_moved, la_pivot, bs_scale, bs_parent, bs_order, aff_matrix, aff_offset,
                      aff_perm, aff_permuted, noise_sigma, noise_weight, noise_seed, noise_stride, mask_joint,
                      mask_frame, mask_axis)
        _KERNELS[key] = fused
        return fused

    @_cuda_kernel()
    def _mix_kernel(x: Any, out: Any, lengths: Any, dims: int, partner: Any, joints: Any, frames: Any,
                    offset: Any) -> None:
        num_n, num_m, num_t, nv, nc = x.shape
        yv = cuda.local.array(_MAXD, np.float64)
        for k in range(cuda.grid(1), num_n * num_m * num_t * nv, cuda.gridsize(1)):
            v = k % nv
            t = (k // nv) % num_t
            m = (k // (nv * num_t)) % num_m
            n = k // (nv * num_t * num_m)
            length = lengths[n]
            if t >= length:
                for c in range(nc):
                    out[n, m, t, v, c] = 0.0
                continue
            q = partner[n]
            lq = lengths[q]
            tq = math.floor(t * (lq - 1) / max(length - 1, 1) + 0.5)
            px = False
            po = False
            for d in range(dims):
                px = px or x[n, m, t, v, d] != 0.0
                po = po or x[q, m, tq, v, d] != 0.0
            if frames[n, t] and joints[n, v] and px and po:
                land = True
                for d in range(dims):
                    yv[d] = x[q, m, tq, v, d] + offset[n, d]
                    land = land and yv[d] == 0.0
                for c in range(nc):
                    out[n, m, t, v, c] = yv[c] if c < dims else x[q, m, tq, v, c]
                if land:
                    out[n, m, t, v, 0] = _TINY
            else:
                for c in range(nc):
                    out[n, m, t, v, c] = x[n, m, t, v, c]


# ------------------------------------------------------------------------------ host side
def _require() -> None:
    if not available():
        raise RuntimeError(f"backend 'numba_cuda' is not available here: {_unavailable_reason()}")


def _stream_for(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and x.is_cuda:
        return cuda.external_stream(torch.cuda.current_stream(x.device).cuda_stream)
    return cuda.stream()


def _grid(units: int) -> int:
    return max(1, min(units, config.CUDA_MAX_BLOCKS))


def _tables_to_device(seg: fusion.Segment, stream: Any) -> list[Any]:
    """Copy ``steps``, ``skip`` and the parameter tables with one transfer per dtype."""
    arrays = [seg.steps, seg.skip, *seg.tables()]
    groups: dict[str, list[int]] = {}
    for k, a in enumerate(arrays):
        groups.setdefault(a.dtype.str, []).append(k)
    out: list[Any] = [None] * len(arrays)
    for _, idx in groups.items():
        flat = np.concatenate([arrays[k].ravel() for k in idx]) if idx else np.zeros(0)
        dev = cuda.to_device(np.ascontiguousarray(flat), stream=stream)
        start = 0
        for k in idx:
            a = arrays[k]
            out[k] = dev[start:start + a.size].reshape(a.shape) if a.size else cuda.to_device(a, stream=stream)
            start += a.size
    return out


_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
                 np.dtype(np.int64): torch.int64}


def _empty(shape: tuple[int, ...], dtype: Any, device: torch.device | None, stream: Any) -> tuple[Any, Any]:
    """A device array (and its owning tensor when ``device`` is a torch CUDA device, so that memory
    comes from torch's caching allocator and the result can be returned zero-copy)."""
    if device is not None:
        t = torch.empty(shape, dtype=_TORCH_DTYPES[np.dtype(dtype)], device=device)
        return cuda.as_cuda_array(t), t
    return cuda.device_array(shape, dtype=dtype, stream=stream), None


def _run_segment(xd: Any, seg: fusion.Segment, dims: int, stream: Any,
                 device: torch.device | None) -> tuple[Any, Any]:
    num_n, num_m, num_t, nv, nc = (int(s) for s in xd.shape)
    dtype = np.dtype(xd.dtype)
    size = num_t * nv
    out, owner = _empty(tuple(xd.shape), dtype, device, stream)
    if num_n * num_m == 0:
        return out, owner
    blocks = _grid(num_n * num_m)
    threads = int(config.CUDA_THREADS_PER_BLOCK)
    scratch_bytes = 2 * nc * size * dtype.itemsize
    shared = scratch_bytes <= config.CUDA_MAX_SHARED_BYTES
    gscratch, _s = _empty((1, 1) if shared else (blocks, 2 * nc * size), dtype, device, stream)
    knot_len = ((num_t - 1) // 2 + 2) * nv * dims if seg.noise_stride.size and (seg.noise_stride > 1).any() else 1
    gknots, _k = _empty((blocks, knot_len), np.float64, device, stream)
    lengths = cuda.to_device(np.ascontiguousarray(seg.lengths_in, dtype=np.int64), stream=stream)
    tables = _tables_to_device(seg, stream)
    kernel = _kernel(dtype, shared)
    launch = kernel[blocks, threads, stream, scratch_bytes if shared else 0]
    launch(xd.reshape(num_n * num_m, size * nc), out.reshape(num_n * num_m, size * nc), gscratch, gknots, lengths,
           dims, num_m, num_t, nv, nc, *tables)
    return out, owner


def mix(xd: Any, lengths: np.ndarray, dims: int, op: Op, stream: Any = 0,
        device: torch.device | None = None) -> tuple[Any, Any]:
    """Cross-sample mixing on device arrays (its own kernel: it reads the partner sample)."""
    out, owner = _empty(tuple(xd.shape), np.dtype(xd.dtype), device, stream)
    total = int(np.prod(xd.shape[:4]))
    threads = int(config.CUDA_THREADS_PER_BLOCK)
    if total:
        p = op.params
        args = [cuda.to_device(np.ascontiguousarray(a), stream=stream) for a in (
            np.asarray(lengths, np.int64), np.asarray(p["partner"], np.int64), np.asarray(p["joints"], np.bool_),
            np.asarray(p["frames"], np.bool_), np.asarray(p["offset"], np.float64))]
        _mix_kernel[_grid(-(-total // threads)), threads, stream](xd, out, args[0], dims, *args[1:])
    return out, owner


def run_program(x: Any, lengths: Any, dims: int, ops: Sequence[Op], *, folding: bool = True) -> Any:
    """Run a whole program on the GPU: folded, split at ``mix``, one pass over memory per segment.

    ``x`` is a torch tensor (CUDA: zero-copy, on torch's current stream) or a NumPy array (copied
    to the device and back). Returns the input's type.
    """
    _require()
    if dims > _MAXD:
        raise ValueError(f"dims={dims}: the CUDA kernels hold at most {_MAXD} coordinate channels per joint")
    is_torch = isinstance(x, torch.Tensor)
    if is_torch and x.requires_grad:
        raise ValueError("backend='numba_cuda' cannot propagate gradients; x requires grad, so use backend='torch'")
    lens = np.ascontiguousarray(lengths.detach().cpu().numpy() if isinstance(lengths, torch.Tensor) else lengths,
                                dtype=np.int64)
    if not ops:
        return x.clone() if is_torch else np.array(x, copy=True)
    orig_dtype = x.dtype
    on_gpu = is_torch and x.is_cuda
    stream = _stream_for(x)
    if on_gpu:
        work_t = x.detach()
        if work_t.dtype not in (torch.float32, torch.float64):
            work_t = work_t.to(torch.float64)
        work_t = work_t.contiguous()
        xd = cuda.as_cuda_array(work_t)
    else:
        host = x.detach().cpu().numpy() if is_torch else np.asarray(x)
        if host.dtype not in (np.float32, np.float64):
            host = host.astype(np.float64)
        xd = cuda.to_device(np.ascontiguousarray(host), stream=stream)
    shape = tuple(int(s) for s in xd.shape)
    device = x.device if on_gpu else None
    owner: Any = None
    for step in fusion.plan(ops, lens, shape, dims, folding=folding):  # type: ignore[arg-type]
        if isinstance(step, Op):
            xd, owner = mix(xd, lens, dims, step, stream, device)
        else:
            xd, owner = _run_segment(xd, step, dims, stream, device)
            lens = step.lengths_out
    if on_gpu:
        return owner.to(orig_dtype) if owner.dtype != orig_dtype else owner
    host_out = xd.copy_to_host(stream=stream)
    stream.synchronize()
    if is_torch:
        return torch.from_numpy(host_out).to(orig_dtype)
    return host_out.astype(orig_dtype, copy=False)


def run_op(x: Any, lengths: Any, dims: int, op: Op) -> Any:
    """Apply one primitive on the GPU (same contract as :func:`skelaug.augment.reference.run_op`)."""
    return run_program(x, lengths, dims, [op], folding=False)


def gaussian_field(seeds: np.ndarray, size: int) -> np.ndarray:
    """CUDA twin of :func:`skelaug.augment._rng.gaussian_field_numpy` (``(N, size)`` float64, on the host)."""
    _require()
    s = np.ascontiguousarray(seeds, dtype=np.int64).reshape(-1)
    out = cuda.device_array((s.shape[0], int(size)), dtype=np.float64)
    if out.size:
        threads = int(config.CUDA_THREADS_PER_BLOCK)
        _gaussian_kernel[_grid(-(-out.size // threads)), threads](cuda.to_device(s), out)
    return out.copy_to_host()  # type: ignore[no-any-return]


backends.register_backend(backends.Backend(
    "numba_cuda", "torch", run_op, run_program, available=available, requirement=_unavailable_reason(),
))
