"""The canonical data model: ``(N, M, T, V, C)`` skeleton tensors, validation and layout conversion.

* ``N`` samples, ``M`` persons, ``T`` frames, ``V`` joints, ``C`` channels (channels last).
* The first ``D`` channels are coordinates (``D = 2`` image plane, ``D = 3`` world); any further
  channel (typically a confidence score) is carried along but never transformed geometrically.
* A **missing joint** has all-zero coordinates. A **padded frame** (index ``>= lengths[n]``) is all zero.

Single samples ``(M, T, V, C)`` and ``(T, V, C)`` are accepted everywhere and returned at the same rank;
:func:`as_batch` / :func:`restore_rank` do that bookkeeping.

Example:
    >>> import numpy as np
    >>> from skelaug.tensors import from_stgcn, to_stgcn
    >>> x = np.zeros((4, 3, 64, 25, 2), dtype=np.float32)   # ST-GCN (N, C, T, V, M)
    >>> y = from_stgcn(x)
    >>> y.shape                                              # canonical (N, M, T, V, C)
    (4, 2, 64, 25, 3)
    >>> to_stgcn(y).shape
    (4, 3, 64, 25, 2)
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "Array",
    "as_batch",
    "check_finite",
    "check_lengths",
    "check_skeleton",
    "from_stgcn",
    "presence",
    "restore_rank",
    "to_stgcn",
]

#: A NumPy array or a torch tensor: functions return the type they were given.
Array = TypeVar("Array", np.ndarray, torch.Tensor)


def _shape_str(x: Any) -> str:
    return "(" + ", ".join(str(int(s)) for s in x.shape) + ")"


def as_batch(x: Array, name: str = "x") -> tuple[Array, int]:
    """View ``x`` as ``(N, M, T, V, C)``; also return the original rank (3, 4 or 5).

    Raises:
        TypeError: if ``x`` is neither a NumPy array nor a torch tensor, or not floating point.
        ValueError: if the rank is not 3, 4 or 5.
    """
    if not isinstance(x, np.ndarray | torch.Tensor):
        raise TypeError(f"{name} must be a numpy.ndarray or torch.Tensor, got {type(x).__name__}")
    floating = x.dtype.is_floating_point if isinstance(x, torch.Tensor) else np.issubdtype(x.dtype, np.floating)
    if not floating:
        raise TypeError(
            f"{name} has dtype {x.dtype}; skeleton coordinates must be floating point "
            f"(convert with .astype(np.float32) or .float())"
        )
    rank = x.ndim
    if rank == 5:
        return x, rank
    if rank == 4:
        return x[None], rank
    if rank == 3:
        return x[None, None], rank
    raise ValueError(
        f"{name} has shape {_shape_str(x)} (rank {rank}); expected (N, M, T, V, C), (M, T, V, C) or "
        f"(T, V, C). ST-GCN-style (N, C, T, V, M) arrays must be converted with skelaug.tensors.from_stgcn"
    )


def restore_rank(x: Array, rank: int) -> Array:
    """Inverse of :func:`as_batch`."""
    if rank == 5:
        return x
    if rank == 4:
        return x[0]  # type: ignore[no-any-return]
    return x[0, 0]  # type: ignore[no-any-return]


_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


def check_finite(x: Array, name: str = "x") -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or Inf, naming the first offending index."""
    xs: np.ndarray | torch.Tensor = x
    if isinstance(x, torch.Tensor) and x.device.type == "cpu" and x.dtype in _NUMPY_FLOATS:
        xs = x.detach().numpy()     # a view; NumPy's check is 20x faster than torch's on CPU here
    bad = ~torch.isfinite(xs) if isinstance(xs, torch.Tensor) else ~np.isfinite(xs)
    if bool(bad.any()):
        idx = tuple(int(i) for i in (bad.nonzero()[0] if isinstance(xs, torch.Tensor) else np.argwhere(bad)[0]))
        raise ValueError(
            f"{name} contains NaN or Inf (first at index {idx}); missing joints must be encoded as all-zero "
            f"coordinates, e.g. x = np.nan_to_num(x, nan=0.0)"
        )


def check_skeleton(
    x: Array,
    *,
    num_joints: int | None = None,
    dims: int | None = None,
    layout_name: str | None = None,
    name: str = "x",
    finite: bool = True,
) -> tuple[Array, int]:
    """Validate a skeleton tensor and return its ``(N, M, T, V, C)`` view and original rank.

    Checks rank, joint count against a layout, ``C >= D`` and (optionally) finiteness.
    """
    xb, rank = as_batch(x, name)
    v, c = int(xb.shape[3]), int(xb.shape[4])
    if num_joints is not None and v != num_joints:
        lay = f"layout {layout_name!r}" if layout_name else "the layout"
        raise ValueError(
            f"{name} has {v} joints (shape {_shape_str(x)}, joints on axis -2) but {lay} has {num_joints} "
            f"joints; pass the matching layout or select joints first"
        )
    if dims is not None and c < dims:
        raise ValueError(
            f"{name} has C={c} channels (shape {_shape_str(x)}) but {dims} coordinate dimensions are needed; "
            f"channels are last: (..., V, C) with the first D channels as coordinates"
            + stgcn_hint(xb.shape, rank, dims, name)
        )
    if finite:
        check_finite(xb, name)
    return xb, rank


def stgcn_hint(shape: tuple[int, ...] | Any, rank: int, dims: int | None, name: str = "x") -> str:
    """A sentence for errors about the channel count when the batch ``shape`` ``(N, M, T, V, C)`` looks
    like an ST-GCN-style ``(N, C, T, V, M)`` array (persons last, a channel count on axis 1), else ``""``.

    ``rank`` is the caller's rank (5, or 4 for one sample ``(C, T, V, M)``); ``dims`` the coordinate
    channels needed (``None``: 2).
    """
    if rank not in (4, 5):
        return ""
    c_guess, m_guess = int(shape[1]), int(shape[4])
    if not (dims or 2) <= c_guess <= 4 or m_guess == c_guess:
        return ""
    fix = f"skelaug.tensors.from_stgcn({name})" if rank == 5 else f"skelaug.tensors.from_stgcn({name}[None])[0]"
    layout = "(N, C, T, V, M)" if rank == 5 else "(C, T, V, M)"
    return (f". It looks like an ST-GCN-style {layout} array (C={c_guess} channels before the frames, "
            f"M={m_guess} persons last); convert it to channels-last with {fix}")


def check_lengths(lengths: Any, n: int, t: int, name: str = "lengths") -> np.ndarray:
    """Validate valid lengths ``(N,)`` (ints in ``1..T``) and return them as an int64 NumPy array."""
    if isinstance(lengths, torch.Tensor):
        arr = lengths.detach().cpu().numpy()
    else:
        arr = np.asarray(lengths)
    if arr.ndim == 0:
        arr = np.full((n,), arr)
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape}; expected ({n},), one valid length per sample")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole frame counts, got {arr.tolist()[:8]}")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n and (arr.min() < 1 or arr.max() > t):
        bad = int(arr[(arr < 1) | (arr > t)][0])
        raise ValueError(
            f"{name} contains {bad}, outside 1..T={t}; each valid length must count at least one frame and "
            f"at most the padded length T"
        )
    return arr


def presence(x: Array, dims: int) -> Array:
    """Boolean mask ``(..., V)``: a joint is present when any of its first ``dims`` coordinates is non-zero."""
    coords = x[..., :dims]
    if isinstance(coords, torch.Tensor):
        return (coords != 0).any(dim=-1)
    return np.asarray(np.any(coords != 0, axis=-1))


def from_stgcn(x: Array) -> Array:
    """Convert an ST-GCN-style ``(N, C, T, V, M)`` array to canonical ``(N, M, T, V, C)`` (a copy)."""
    if x.ndim != 5:
        raise ValueError(f"x has shape {_shape_str(x)}; from_stgcn expects (N, C, T, V, M)")
    if isinstance(x, torch.Tensor):
        return x.permute(0, 4, 2, 3, 1).contiguous()
    return np.ascontiguousarray(x.transpose(0, 4, 2, 3, 1))


def to_stgcn(x: Array) -> Array:
    """Convert canonical ``(N, M, T, V, C)`` to ST-GCN-style ``(N, C, T, V, M)`` (a copy)."""
    if x.ndim != 5:
        raise ValueError(f"x has shape {_shape_str(x)}; to_stgcn expects (N, M, T, V, C)")
    if isinstance(x, torch.Tensor):
        return x.permute(0, 4, 2, 3, 1).contiguous()
    return np.ascontiguousarray(x.transpose(0, 4, 2, 3, 1))
