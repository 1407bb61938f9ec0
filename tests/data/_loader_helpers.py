"""Picklable, importable datasets and transforms for the DataLoader randomness tests (spawn workers
import them by module name, so they cannot live inside a test function)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from skelaug.augment import RandomRotate


def clip(t: int = 4, v: int = 20) -> np.ndarray:
    """One small 3D clip ``(1, t, v, 3)`` away from the origin (so rotations move it)."""
    return (np.random.default_rng(0).normal(size=(1, t, v, 3)) + 2.0).astype(np.float32)


class SameClip(torch.utils.data.Dataset[Any]):
    """``n`` copies of one clip. ``mode="getitem"`` augments each item with an unseeded rotation in
    ``__getitem__``; ``mode="raw"`` returns ``(x, length, index)`` for a collate function to augment.
    Since every item is the same clip, two outputs are equal exactly when their parameters are."""

    def __init__(self, n: int = 8, mode: str = "getitem") -> None:
        self.n, self.mode, self.x = n, mode, clip()
        self.aug = RandomRotate(degrees=60)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if self.mode == "raw":
            return self.x, self.x.shape[1], i
        # the NumPy executor: spawned workers need no numba compilation (sampling is the same for all)
        return torch.from_numpy(self.aug(self.x, backend="numpy")), self.x.shape[1], i


class AddUniform:
    """A dataset transform ``(x, length, generator) -> (x + u, length)``, ``u ~ U(0, 1)`` from the stream."""

    def __call__(self, x: np.ndarray, length: int, generator: np.random.Generator) -> tuple[np.ndarray, int]:
        return x + np.float32(generator.uniform()), length
