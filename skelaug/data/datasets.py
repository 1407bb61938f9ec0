"""Dataset plumbing shared by every skelaug dataset: fixed-length sampling and item random streams.

Randomness contract. Each item's crop and ``transform`` draw from one
:class:`numpy.random.Generator`, the item's *stream*:

* **Default** (``seed=None``): the stream is seeded by one draw from torch's per-process generator
  when the item is loaded, exactly as torch's own transforms draw. With a plain ``DataLoader`` every
  epoch and every worker get new augmentations (torch seeds each worker with ``base_seed +
  worker_id`` and draws ``base_seed`` anew for each epoch; ``persistent_workers=True`` workers just
  continue their streams), and a run is reproducible bit for bit from torch's seed
  (``torch.manual_seed`` before the loop, or ``DataLoader(generator=...)`` when ``num_workers > 0``),
  with fork or spawn workers. The draws depend on which worker loads an item, so runs with
  different ``num_workers`` differ (as with torch's transforms).
* **Exact control** (``seed=<int>``): the stream of item ``index`` in epoch ``e`` is
  ``default_rng([seed, e, index])``, independent of torch, of the worker that loads the item and of
  the number of workers. The epoch reaches the workers through :meth:`ItemStream.set_epoch` (set
  before creating the DataLoader iterator; not seen by ``persistent_workers``) or, robustly, inside
  each index: :class:`EpochSampler` yields ``(index, epoch)`` keys that every skelaug dataset's
  ``__getitem__`` accepts. Without either, every epoch repeats epoch 0's draws.

The epoch *order* of :class:`EpochSampler` is seeded by ``(seed, epoch)``. No global random state is
touched.

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

from skelaug.augment.normalize import uniform_sample_indices

__all__ = ["ClipDataset", "EpochSampler", "ItemStream", "fixed_length"]


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < lo:
        raise ValueError(f"{name}={value!r}; expected an integer >= {lo}")
    return int(value)


def _torch_stream() -> np.random.Generator:
    """A generator seeded by one draw from torch's default CPU generator (as
    :func:`skelaug.augment.torch_stream`, without importing the augmentations)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))


class ItemStream:
    """Per-item random streams and transform application for a dataset (see the module docstring).

    Args:
        transform: ``None`` or a callable ``transform(x, length, generator)`` returning ``(x, length)``
            (the skelaug augmentation call convention), just ``x``, or a tuple of views
            ``((x1, length1), (x2, length2), ...)`` as :class:`~skelaug.augment.MultiView` returns.
            ``x`` is a fresh ``(M, T, V, C)`` float32 array (the dataset's own data is never handed
            out).
        seed: ``None`` (default): streams drawn from torch's per-process generator (new every epoch
            and worker, reproducible from torch's seed). An int: streams keyed by
            ``(seed, epoch, index)``, with the epoch from :meth:`set_epoch` or :class:`EpochSampler`.
    """

    def __init__(self, transform: Any = None, seed: int | None = None) -> None:
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.transform = transform
        self.seed = None if seed is None else _check_int("seed", seed, 0)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of keyed streams (``seed`` given); torch-drawn streams need no epoch."""
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
        """The stream of item ``index`` in ``epoch``: ``default_rng([seed, epoch, index])`` when the
        stream has a seed, else a new generator seeded from torch's per-process generator."""
        if self.seed is None:
            return _torch_stream()
        return np.random.default_rng([self.seed, epoch, index])

    def apply(
        self,
        x: NDArray[np.float32],
        length: int,
        index: int,
        epoch: int,
        generator: np.random.Generator | None = None,
    ) -> tuple[Any, Any]:
        """Run the transform (if any) on a copy of ``x``; returns ``(x, length)``.

        ``generator`` defaults to :meth:`generator` ``(index, epoch)``; pass one to continue a stream
        already used (e.g. by a random crop). A transform that returns views (a tuple of ``(x, length)``
        pairs, as :class:`~skelaug.augment.MultiView` does) gives a tuple of views and a tuple of
        lengths.
        """
        x = np.array(x, dtype=np.float32, copy=True)
        if self.transform is None:
            return x, length
        g = self.generator(index, epoch) if generator is None else generator
        out = self.transform(x, length, g)
        if isinstance(out, tuple) and out and all(isinstance(o, tuple) and len(o) == 2 for o in out):
            return tuple(o[0] for o in out), tuple(_int_length(o[1]) for o in out)
        if isinstance(out, tuple):
            y, new_len = out
            return y, _int_length(new_len)
        return out, length


def _int_length(length: Any) -> int:
    if isinstance(length, torch.Tensor):
        length = length.detach().cpu().numpy()
    return int(np.asarray(length).reshape(-1)[0])


def _as_tensor(x: Any) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


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
    mode: Literal["start", "centre", "random", "uniform"] = "centre",
    generator: np.random.Generator | None = None,
) -> tuple[NDArray[np.float32], int]:
    r"""Crop, subsample or zero-pad a clip ``(M, L', V, C)`` (``length`` valid frames) to ``num_frames`` frames.

    A clip longer than ``num_frames`` (``T``) is cropped to a window of ``T`` frames starting at 0
    (``"start"``), in the middle (``"centre"``) or at a position drawn from ``generator``
    (``"random"``), or subsampled over its whole duration (``"uniform"``: the centre frame of each of
    ``T`` equal segments, :math:`i_t = \lfloor (2t + 1) L / 2T \rfloor`, :math:`t = 0 \dots T-1`, pyskl's
    test-time ``UniformSampleFrames``, :class:`skelaug.augment.UniformSampleFrames` with ``mode="test"``;
    the speed changes by :math:`L / T`, so use it for actions, not for micro-gestures whose speed is
    informative). A shorter clip is copied and zero-padded in every mode. Returns the new array and
    valid length ``min(length, num_frames)``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(12, dtype=np.float32).reshape(1, 12, 1, 1)
        >>> y, n = fixed_length(x, 12, 4, mode="uniform")
        >>> y[0, :, 0, 0].tolist(), n
        ([1.0, 4.0, 7.0, 10.0], 4)
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
    if mode == "uniform":
        none = np.zeros((1, 0))  # the test rule draws nothing
        idx = uniform_sample_indices(np.array([length]), num_frames, "test", np.zeros(1), none, none)[0]
        out[:] = x[:, idx.astype(np.int64)]
        return out, num_frames
    if mode == "start":
        a = 0
    elif mode == "centre":
        a = extra // 2
    elif mode == "random":
        if generator is None:
            raise ValueError("mode='random' needs a numpy.random.Generator in generator=")
        a = int(generator.integers(0, extra + 1))
    else:
        raise ValueError(f"mode={mode!r}; use 'start', 'centre', 'random' or 'uniform'")
    out[:] = x[:, a : a + num_frames]
    return out, num_frames


class ClipDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Base of the skelaug datasets: labelled clips at a fixed length with reproducible streams.

    Subclasses implement :meth:`load` (clip ``(M, L, V, C)`` float32 and its valid length) and
    :meth:`meta` (extra item fields), and set ``labels`` (int64 ``(N,)``), ``class_names`` and
    ``layout``. Items are dicts: ``data`` float32 tensor ``(M, T, V, C)`` with ``T = num_frames``
    (cropped by ``sampling`` or zero-padded; persons padded/cut to ``max_persons``), ``length`` (valid
    frames after cropping and transform), ``label``, ``index`` and the subclass's fields. With a
    multi-view transform (:class:`~skelaug.augment.MultiView`), ``data`` is a tuple of ``views``
    tensors ``(M, T, V, C)`` and ``length`` a tuple of ``views`` ints; the default ``collate_fn``
    turns them into lists of ``(B, M, T, V, C)`` tensors and ``(B,)`` lengths, one per view.

    Args:
        num_frames: Fixed length ``T``.
        max_persons: Fixed person count ``M``.
        sampling: Clips longer than ``T``: crop position ``"centre"``, ``"start"`` or ``"random"``
            (drawn from the item's stream, so it is reproducible too), or ``"uniform"``: ``T`` frames
            evenly spaced over the whole clip (see :func:`fixed_length`).
        transform: ``transform(x, length, generator) -> (x, length)`` (see :class:`ItemStream`).
        seed: ``None`` (default): each item's stream is drawn from torch's per-process generator,
            so every epoch and worker get new augmentations with a plain ``DataLoader`` and
            ``torch.manual_seed`` reproduces a run. An int: streams keyed by ``(seed, epoch,
            index)`` for exact control, identical for any number of workers; then call
            :meth:`set_epoch` each epoch or feed :class:`EpochSampler` keys.
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
        seed: int | None = None,
    ) -> None:
        self.num_frames = _check_int("num_frames", num_frames, 1)
        self.max_persons = _check_int("max_persons", max_persons, 1)
        if sampling not in ("centre", "start", "random", "uniform"):
            raise ValueError(f"sampling={sampling!r}; use 'centre', 'start', 'random' or 'uniform'")
        self.sampling = sampling
        self._stream = ItemStream(transform, seed)
        self.counts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of keyed item streams (``seed`` given; or use :class:`EpochSampler` keys).

        Unseeded datasets draw new streams every epoch without it (the call is then harmless)."""
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
        # a stream only where something draws from it (an unseeded one would advance torch's generator)
        g = self._stream.generator(index, epoch) \
            if self.sampling == "random" or self._stream.transform is not None else None
        mode: Literal["start", "centre", "random", "uniform"] = self.sampling  # type: ignore[assignment]
        x, length = fixed_length(x, length, self.num_frames, mode=mode, generator=g)
        x, length = self._stream.apply(x, length, index, epoch, generator=g)
        data = tuple(_as_tensor(v) for v in x) if isinstance(x, tuple) else _as_tensor(x)
        return {
            "data": data,
            "length": length if isinstance(length, tuple) else int(length),
            "label": int(self.labels[index]),
            "index": index,
            **self.meta(index),
        }
