"""Explicit random generators and a counter-based Gaussian field shared by every backend.

Parameters are drawn from an explicit :class:`numpy.random.Generator` (never global NumPy state;
without ``seed``/``generator`` it is seeded from torch's generator, see :func:`torch_stream`). Dense
noise is not drawn from a stateful generator at all: each value is a pure function of
``(seed[n], element index)`` computed with 32-bit integer hashing and the Box-Muller transform, so
the NumPy, torch (CPU/GPU) and numba executors produce the same numbers, for any batch split.

The hash is a xorshift-multiply mixer whose multipliers are below ``2**31``; every product of a
32-bit value with such a constant fits in a signed 64-bit integer, so torch (which lacks full
unsigned 32-bit arithmetic) computes exactly the same bits as NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "GeneratorLike", "as_generator", "gaussian_field_numpy", "gaussian_field_torch", "hash32_numpy",
    "torch_stream",
]

GeneratorLike = int | np.random.Generator | torch.Generator | None

_M32 = 0xFFFFFFFF
_C1, _C2, _C3 = 0x7FEB352D, 0x2C1B3C6D, 0x297A2D39
_GOLDEN = 0x1E3779B9  # odd, < 2**31


def as_generator(generator: Any, fallback: np.random.Generator | None = None) -> np.random.Generator:
    """Turn ``generator`` (int seed, numpy Generator, torch.Generator or None) into a numpy Generator.

    ``None`` returns ``fallback`` when given, else :func:`torch_stream`: a generator seeded by one
    draw from torch's default CPU generator at call time (see the randomness contract there).
    A ``torch.Generator`` is consumed by one draw of a 62-bit seed.
    """
    if generator is None:
        return fallback if fallback is not None else torch_stream()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, torch.Generator):
        return _from_torch(generator)
    if isinstance(generator, bool) or not isinstance(generator, int | np.integer):
        raise TypeError(
            f"generator must be an int seed, numpy.random.Generator, torch.Generator or None; "
            f"got {type(generator).__name__}"
        )
    if int(generator) < 0:
        raise ValueError(f"generator seed must be non-negative, got {int(generator)}")
    return np.random.default_rng(int(generator))


def _from_torch(generator: torch.Generator) -> np.random.Generator:
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
    return np.random.default_rng(seed)


def torch_stream() -> np.random.Generator:
    """A fresh numpy Generator seeded by one draw from torch's default CPU generator.

    This is the default stream of every augmentation built without ``seed=`` and called without
    ``generator=``, and of the datasets and collate functions built without ``seed=``. It follows
    torch's own randomness, as torch's transforms do:

    * in the main process, it advances with torch's global generator, so ``torch.manual_seed(s)``
      makes a run reproducible and every call draws new parameters;
    * in a ``DataLoader`` worker, torch has seeded the process with ``base_seed + worker_id``,
      ``base_seed`` drawn anew for each epoch's iterator from ``DataLoader(generator=...)`` (or torch's
      global generator), so workers never share parameters, each epoch draws new ones (with
      ``persistent_workers=True`` the workers' streams simply continue), and the same torch seed
      gives the same epoch, bit for bit, with fork or spawn workers;
    * nothing is made once and copied into forked workers, which is what makes AimCLR-style feeders
      repeat the same augmentations in every worker and epoch.

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> a = torch_stream().integers(1000, size=3)
        >>> _ = torch.manual_seed(0)
        >>> b, c = torch_stream().integers(1000, size=3), torch_stream().integers(1000, size=3)
        >>> bool((a == b).all()), bool((b == c).all())
        (True, False)
    """
    return _from_torch(torch.default_generator)


def _hash32(h: Any) -> Any:
    """Mix 32-bit values held in int64 (NumPy arrays and torch tensors share these operators)."""
    h = h & _M32
    h = h ^ (h >> 16)
    h = (h * _C1) & _M32
    h = h ^ (h >> 15)
    h = (h * _C2) & _M32
    h = h ^ (h >> 12)
    h = (h * _C3) & _M32
    h = h ^ (h >> 15)
    return h


def hash32_numpy(h: np.ndarray) -> np.ndarray:
    """Mix 32-bit values held in int64 (pure, vectorised)."""
    return np.asarray(_hash32(np.asarray(h, dtype=np.int64)))


def gaussian_field_numpy(seeds: np.ndarray, size: int) -> np.ndarray:
    """Standard normal values ``(N, size)`` float64; row ``n`` depends only on ``seeds[n]``.

    Element ``i`` of row ``n`` is ``sqrt(-2 ln u1) cos(2 pi u2)`` with ``u1, u2`` from
    ``hash(hash(seed) + 2 i (+1))``.
    """
    s = hash32_numpy(np.asarray(seeds, dtype=np.int64).reshape(-1, 1) ^ _GOLDEN)
    idx = np.arange(size, dtype=np.int64).reshape(1, -1)
    a = hash32_numpy(s + idx * 2 * _GOLDEN)
    b = hash32_numpy(s + (idx * 2 + 1) * _GOLDEN)
    u1 = ((a >> 8).astype(np.float64) + 1.0) / 16777216.0
    u2 = (b >> 8).astype(np.float64) / 16777216.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def gaussian_field_torch(seeds: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    """Torch twin of :func:`gaussian_field_numpy` (same values to float rounding), on ``seeds.device``."""
    s = _hash32(seeds.to(torch.int64).reshape(-1, 1) ^ _GOLDEN)
    idx = torch.arange(size, dtype=torch.int64, device=seeds.device).reshape(1, -1)
    a = _hash32(s + idx * 2 * _GOLDEN)
    b = _hash32(s + (idx * 2 + 1) * _GOLDEN)
    work = torch.float64 if dtype == torch.float64 or seeds.device.type == "cpu" else torch.float32
    u1 = ((a >> 8).to(work) + 1.0) / 16777216.0
    u2 = (b >> 8).to(work) / 16777216.0
    return (torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)).to(dtype)
