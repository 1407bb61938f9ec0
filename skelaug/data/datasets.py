"""Dataset plumbing shared by every skelaug dataset: fixed-length sampling and reproducible streams.

Seeding (why not the usual ``worker_init_fn``): the random stream an item's transform receives is a
:class:`numpy.random.Generator` keyed by ``(seed, epoch, index)``. It does not depend on which worker
loads the item or how many workers there are, so the same seed gives the same augmented items with
``num_workers=0`` or ``8``, and a new epoch gives new draws. The epoch reaches the workers either
through :meth:`ItemStream.set_epoch` (set before creating the DataLoader iterator; not seen by
``persistent_workers``) or, robustly, inside each index: :class:`EpochSampler` yields
``(index, epoch)`` keys that every skelaug dataset's ``__getitem__`` accepts. The epoch *order* comes
from the sampler, seeded by ``(seed, epoch)``. No global random state is touched.

Example:
    >>> import numpy as np
    >>> s = EpochSampler(5, seed=0)
    >>> s.set_epoch(1)
    >>> keys = list(s)
    >>> sorted(k[0] for k in keys), {k[1] for k in keys}
    ([0, 1, 2, 3, 4], {1})
    >>> x, n = fixed_length(np.ones((1, 7, 2, 3), np.float32), 7, 4, mode="start")
    >>> x.shape, n
    ((1, 4, 2, 3), 4)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray

__all__ = ["ClipDataset", "EpochSampler", "ItemStream", "fixed_length"]


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < lo:
        raise ValueError(f"{name}={value!r}; expected an integer >= {lo}")
    return int(value)


class ItemStream:
    """Per-item random streams and transform application for a dataset.

    Args:
        transform: ``None`` or a callable ``transform(x, length, generator)`` returning ``(x, length)``
            (the skelaug augmentation call convention) or just ``x``. ``x`` is a fresh ``(M, T, V, C)``
            float32 array (the dataset's own data is never handed out).
        seed: Base seed of the streams.
    """

    def __init__(self, transform: Any = None, seed: int = 0) -> None:
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.transform = transform
        self.seed = _check_int("seed", seed, 0)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = _check_int("epoch", epoch, 0)

    def resolve(self, key: Any, n: int) -> tuple[int, int]:
        """``key`` (an index, or ``(index, epoch)`` from :class:`EpochSampler`) -> ``(index, epoch)``."""
        if isinstance(key, tuple):
            if len(key) != 2:
                raise TypeError(f"dataset key {key!r}: expected an index or an (index, epoch) pair")
            index, epoch = key
            epoch = _check_int("epoch", epoch, 0)
        else:
            index, epoch = key, self.epoch
        if isinstance(index, torch.Tensor):
            index = int(index.item())
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"dataset index must be an integer, got {type(index).__name__}")
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {int(index)} is out of range for a dataset of {n} items")
        return i, epoch

    def generator(self, index: int, epoch: int) -> np.random.Generator:
        """The stream of item ``index`` in ``epoch``: ``default_rng([seed, epoch, index])``."""
        return np.random.default_rng([self.seed, epoch, index])

    def apply(self, x: NDArray[np.float32], length: int, index: int, epoch: int) -> tuple[Any, int]:
        """Run the transform (if any) on a copy of ``x``; returns ``(x, length)``."""
        x = np.array(x, dtype=np.float32, copy=True)
        if self.transform is None:
            return x, length
        out = self.transform(x, length, self.generator(index, epoch))
        if isinstance(out, tuple):
            y, new_len = out
            if isinstance(new_len, np.ndarray | torch.Tensor):
                new_len = (
                    int(np.asarray(new_len).reshape(-1)[0])
                    if not isinstance(new_len, torch.Tensor)
                    else int(new_len.reshape(-1)[0].item())
                )
            return y, int(new_len)
        return out, length


class EpochSampler(torch.utils.data.Sampler[tuple[int, int]]):
    """Shuffled (or sequential) order per epoch, yielding ``(index, epoch)`` keys.

    The order of epoch ``e`` is ``default_rng([seed, e]).permutation(n)``; the same for any number of
    workers. Call :meth:`set_epoch` before each epoch (as with ``DistributedSampler``).
    """

    def __init__(self, n: int | Any, *, shuffle: bool = True, seed: int = 0) -> None:
        self.n = _check_int("n", n if isinstance(n, int | np.integer) else len(n), 0)
        self.shuffle = bool(shuffle)
        self.seed = _check_int("seed", seed, 0)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = _check_int("epoch", epoch, 0)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        else:
            order = np.arange(self.n)
        for i in order:
            yield int(i), self.epoch


def fixed_length(
    x: NDArray[np.float32],
    length: int,
    num_frames: int,
    *,
    mode: Literal["start", "centre", "random"] = "centre",
    generator: np.random.Generator | None = None,
) -> tuple[NDArray[np.float32], int]:
    """Crop or zero-pad a clip ``(M, L', V, C)`` (``length`` valid frames) to ``num_frames`` frames.

    A clip longer than ``num_frames`` is cropped to a window of ``num_frames`` frames starting at 0
    (``"start"``), in the middle (``"centre"``) or at a position drawn from ``generator``
    (``"random"``); a shorter one is copied and zero-padded. Returns the new array and valid length
    ``min(length, num_frames)``. No resampling: MG clips are short and their speed is informative.
    """
    num_frames = _check_int("num_frames", num_frames, 1)
    length = _check_int("length", length, 0)
    if length > x.shape[1]:
        raise ValueError(f"length={length} exceeds the clip's {x.shape[1]} frames")
    m, _, v, c = x.shape
    out = np.zeros((m, num_frames, v, c), dtype=np.float32)
    if length <= num_frames:
        out[:, :length] = x[:, :length]
        return out, length
    extra = length - num_frames
    if mode == "start":
        a = 0
    elif mode == "centre":
        a = extra // 2
    elif mode == "random":
        if generator is None:
            raise ValueError("mode='random' needs a numpy.random.Generator in generator=")
        a = int(generator.integers(0, extra + 1))
    else:
        raise ValueError(f"mode={mode!r}; use 'start', 'centre' or 'random'")
    out[:] = x[:, a : a + num_frames]
    return out, num_frames


class ClipDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Base of the skelaug datasets: labelled clips at a fixed length with reproducible streams.

    Subclasses implement :meth:`load` (clip ``(M, L, V, C)`` float32 and its valid length) and
    :meth:`meta` (extra item fields), and set ``labels`` (int64 ``(N,)``), ``class_names`` and
    ``layout``. Items are dicts: ``data`` float32 tensor ``(M, T, V, C)`` with ``T = num_frames``
    (cropped by ``sampling`` or zero-padded; persons padded/cut to ``max_persons``), ``length`` (valid
    frames after cropping and transform), ``label``, ``index`` and the subclass's fields.

    Args:
        num_frames: Fixed length ``T``.
        max_persons: Fixed person count ``M``.
        sampling: Crop position for clips longer than ``T``: ``"centre"``, ``"start"`` or ``"random"``
            (drawn from the item's stream, so it is reproducible too).
        transform: ``transform(x, length, generator) -> (x, length)`` (see :class:`ItemStream`).
        seed: Base seed of the item streams.
    """

    labels: NDArray[np.int64]
    class_names: list[str]
    layout: str

    def __init__(
        self,
        *,
        num_frames: int,
        max_persons: int,
        sampling: str = "centre",
        transform: Any = None,
        seed: int = 0,
    ) -> None:
        self.num_frames = _check_int("num_frames", num_frames, 1)
        self.max_persons = _check_int("max_persons", max_persons, 1)
        if sampling not in ("centre", "start", "random"):
            raise ValueError(f"sampling={sampling!r}; use 'centre', 'start' or 'random'")
        self.sampling = sampling
        self._stream = ItemStream(transform, seed)
        self.counts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of the item streams (or use :class:`EpochSampler` keys)."""
        self._stream.set_epoch(epoch)

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        raise NotImplementedError

    def meta(self, index: int) -> dict[str, Any]:
        return {}

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, epoch = self._stream.resolve(key, len(self))
        x, length = self.load(index)
        m = x.shape[0]
        if m != self.max_persons:
            y = np.zeros((self.max_persons, *x.shape[1:]), dtype=np.float32)
            y[: min(m, self.max_persons)] = x[: self.max_persons]
            x = y
        g = self._stream.generator(index, epoch)
        mode: Literal["start", "centre", "random"] = self.sampling  # type: ignore[assignment]
        x, length = fixed_length(x, length, self.num_frames, mode=mode, generator=g)
        if self._stream.transform is not None:
            out = self._stream.transform(x, length, g)
            if isinstance(out, tuple):
                x, new_len = out
                length = int(
                    np.asarray(new_len.cpu() if isinstance(new_len, torch.Tensor) else new_len).reshape(-1)[0]
                )
            else:
                x = out
        data = (
            x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        )
        return {
            "data": data,
            "length": int(length),
            "label": int(self.labels[index]),
            "index": index,
            **self.meta(index),
        }
