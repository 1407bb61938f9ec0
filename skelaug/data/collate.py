"""Batched augmentation at collate time: pad one-clip items to a batch and augment it in one call.

Most datasets return one clip at a time. Augmenting each clip in ``__getitem__`` pays the per-call
overhead (validation, parameter sampling, a kernel launch) once per clip; :class:`AugmentedCollate`
is a ``collate_fn`` that stacks the items of a batch, zero-padding them to the longest clip, and runs
the augmentation once on the whole ``(N, M, T, V, C)`` batch, which the fused executors process in
about the time of a copy.

Randomness follows the library's contract (:func:`skelaug.augment.torch_stream`): an augmentation
built without ``seed=`` draws from torch's per-process generator where the collate runs, so in
``DataLoader`` workers each worker and epoch draw new parameters and ``torch.manual_seed`` (or
``DataLoader(generator=...)``) reproduces a run, with fork or spawn workers.

Example:
    >>> import numpy as np, torch
    >>> from skelaug.augment import RandomRotate
    >>> items = [(np.ones((1, n, 20, 3), np.float32), n, k) for k, n in enumerate((5, 8))]
    >>> x, lengths, labels = AugmentedCollate(RandomRotate(10))(items)
    >>> tuple(x.shape), lengths.tolist(), labels.tolist()
    ((2, 1, 8, 20, 3), [5, 8], [0, 1])
    >>> (q, k), (lq, lk), labels = AugmentedCollate(RandomRotate(10), views=2)(items)
    >>> tuple(q.shape) == tuple(k.shape) == (2, 1, 8, 20, 3)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

__all__ = ["AugmentedCollate", "pad_clips"]


def _length(value: Any, i: int, t: int) -> int:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"item {i}: length is a tensor of shape {tuple(value.shape)}; give one frame count")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"item {i}: length must be an integer frame count, got {type(value).__name__}")
    if not 0 <= int(value) <= t:
        raise ValueError(f"item {i}: length={int(value)} is outside 0..{t} (the clip's frames); "
                         f"give the number of valid frames of x")
    return int(value)


def pad_clips(clips: Sequence[Any], lengths: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack clips ``(M_i, T_i, V, C)`` (or ``(T_i, V, C)``) into a zero-padded batch.

    Returns ``x`` ``(N, max M_i, max T_i, V, C)`` (the first clip's dtype; clip ``i`` in
    ``x[i, :M_i, :T_i]``, zeros elsewhere: absent persons and padding frames) and ``lengths`` int64
    ``(N,)``. NumPy arrays and CPU tensors are accepted.

    Example:
        >>> import numpy as np
        >>> x, n = pad_clips([np.ones((3, 2, 2)), np.ones((1, 5, 2, 2))], [3, 4])
        >>> tuple(x.shape), n.tolist(), float(x[0, 0, 3:].abs().sum())
        ((2, 1, 5, 2, 2), [3, 4], 0.0)
    """
    if len(clips) != len(lengths):
        raise ValueError(f"got {len(clips)} clips and {len(lengths)} lengths; give one length per clip")
    if not clips:
        raise ValueError("clips is empty; a batch needs at least one clip")
    arrs: list[torch.Tensor] = []
    for i, c in enumerate(clips):
        if isinstance(c, tuple | list):
            raise TypeError(f"item {i}: the clip is a {type(c).__name__} of {len(c)} arrays (views of a MultiView "
                            f"dataset transform?); give one array per item, and views= to AugmentedCollate")
        a = c if isinstance(c, torch.Tensor) else torch.from_numpy(np.asarray(c))
        if a.ndim == 3:
            a = a.unsqueeze(0)
        if a.ndim != 4:
            raise ValueError(f"item {i}: clip has shape {tuple(a.shape)}; expected (M, T, V, C) or (T, V, C)")
        if arrs and a.shape[2:] != arrs[0].shape[2:]:
            raise ValueError(f"item {i}: clip has (V, C) = {tuple(a.shape[2:])} but item 0 has "
                             f"{tuple(arrs[0].shape[2:])}; all clips of a batch need the same layout")
        arrs.append(a)
    lens = torch.tensor([_length(n, i, int(a.shape[1])) for i, (n, a) in enumerate(zip(lengths, arrs, strict=True))],
                        dtype=torch.int64)
    m = max(int(a.shape[0]) for a in arrs)
    t = max(int(a.shape[1]) for a in arrs)
    x = torch.zeros((len(arrs), m, t, *arrs[0].shape[2:]), dtype=arrs[0].dtype)
    for i, a in enumerate(arrs):
        x[i, : a.shape[0], : a.shape[1]] = a
    return x, lens


class AugmentedCollate:
    """A ``collate_fn`` that pads ``(x, length, label)`` items and augments the batch in one call.

    Items are tuples ``(x, length, label, *extra)`` or mappings (the skelaug datasets' dicts) with
    ``x`` ``(M, T_i, V, C)`` or ``(T_i, V, C)`` (NumPy or CPU tensor) and ``length`` its valid frames.
    The batch is :func:`pad_clips` (zero-padded to the longest clip and the most persons), moved to
    ``device``, and augmented as ``aug(x, lengths, generator)``; labels and extra fields go through
    torch's ``default_collate``.

    Returns (tuples in): ``(x, lengths, labels, *extra)`` with ``x`` ``(N, M, T, V, C)`` and
    ``lengths`` int64 ``(N,)`` after augmentation; with ``views=k``, ``x`` and ``lengths`` are
    tuples of ``k`` independently augmented views. Mappings in: the same mapping with the ``data``
    and ``length`` keys replaced.

    Randomness: with ``generator=None`` the augmentation uses its default stream, which for an
    augmentation built without ``seed=`` is drawn from torch's per-process generator (new in every
    worker and epoch, reproducible from torch's seed: see :func:`skelaug.augment.torch_stream`). An
    augmentation with its own ``seed=`` would repeat the same stream in every worker: leave the seed
    out when it runs in a ``DataLoader``. ``collate(items, generator=g)`` draws from ``g`` instead.

    Where it runs: as ``DataLoader(..., collate_fn=AugmentedCollate(aug))`` it runs in the workers
    (CPU). To augment on the training device instead, either give ``device=`` and use
    ``num_workers=0`` (CUDA does not work in forked workers), or let the workers pad only
    (``AugmentedCollate(None)``) and call :meth:`augment` on the device in the training loop.

    Args:
        aug: An augmentation (or any ``aug(x, lengths, generator) -> (x, lengths)``); ``None``
            pads only.
        views: Number of independently augmented views (2 for contrastive training).
        device: Move the padded batch there before augmenting (``None``: stay on the CPU).
        keys: Names of the clip, length and label fields in mapping items.

    Example:
        >>> import torch
        >>> from skelaug.augment import RandomRotate
        >>> from skelaug.data import SyntheticMGDataset
        >>> ds = SyntheticMGDataset(4, "ntu25", num_frames=16)
        >>> loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=AugmentedCollate(RandomRotate(15)))
        >>> batch = next(iter(loader))
        >>> tuple(batch["data"].shape), batch["length"].dtype, batch["label"].shape
        ((4, 1, 16, 25, 3), torch.int64, torch.Size([4]))
    """

    def __init__(self, aug: Callable[..., Any] | None = None, *, views: int = 1,
                 device: str | torch.device | None = None,
                 keys: tuple[str, str, str] = ("data", "length", "label")) -> None:
        if aug is not None and not callable(aug):
            raise TypeError(f"aug must be an augmentation (a callable) or None, got {type(aug).__name__}")
        if isinstance(views, bool) or not isinstance(views, int) or views < 1:
            raise ValueError(f"views={views!r}; give a positive number of views (2 for contrastive training)")
        if aug is None and views != 1:
            raise ValueError(f"views={views} needs an augmentation; aug is None (pad only)")
        if len(keys) != 3 or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"keys={keys!r}; give the (clip, length, label) field names, "
                             f"e.g. ('data', 'length', 'label')")
        self.aug = aug
        self.views = views
        self.device = torch.device(device) if device is not None else None
        self.keys = tuple(keys)

    def __repr__(self) -> str:
        extra = "" if self.views == 1 else f", views={self.views}"
        extra += "" if self.device is None else f", device={str(self.device)!r}"
        return f"{type(self).__name__}({self.aug!r}{extra})"

    def augment(self, x: Any, lengths: Any, generator: Any = None) -> tuple[Any, Any]:
        """Augment a padded batch: ``(x, lengths)``, or a tuple of views and a tuple of lengths.

        With ``generator`` given, the views draw one after another from the same stream, as
        :class:`~skelaug.augment.MultiView` does.
        """
        if self.aug is None:
            return x, lengths
        if self.views == 1:
            out = self.aug(x, lengths, generator)
            return out[0], out[1]
        if generator is not None:
            from skelaug.augment._rng import as_generator  # the augmentations are imported by then

            generator = as_generator(generator)
        outs = [self.aug(x, lengths, generator) for _ in range(self.views)]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs)

    def __call__(self, batch: Sequence[Any], generator: Any = None) -> Any:
        """Collate ``batch`` (a list of items); ``generator`` overrides the default stream."""
        if not isinstance(batch, Sequence) or not batch:
            raise ValueError("batch must be a non-empty list of items, as a DataLoader passes to collate_fn")
        first = batch[0]
        ck, lk, yk = self.keys
        if isinstance(first, Mapping):
            for i, item in enumerate(batch):
                missing = [k for k in (ck, lk, yk) if not isinstance(item, Mapping) or k not in item]
                if missing:
                    raise KeyError(f"item {i} has no field(s) {missing}; set keys=(clip, length, label) to "
                                   f"the names your dataset uses")
            x, lengths = pad_clips([it[ck] for it in batch], [it[lk] for it in batch])
            rest = default_collate([{k: v for k, v in it.items() if k not in (ck, lk)} for it in batch])
        elif isinstance(first, tuple | list):
            for i, item in enumerate(batch):
                if not isinstance(item, tuple | list) or len(item) < 3 or len(item) != len(first):
                    raise ValueError(f"item {i} is not an (x, length, label, ...) tuple like item 0")
            x, lengths = pad_clips([it[0] for it in batch], [it[1] for it in batch])
            rest = default_collate([tuple(it[2:]) for it in batch])
        else:
            raise TypeError(f"items must be (x, length, label, ...) tuples or mappings, got {type(first).__name__}")
        if self.device is not None:
            x = x.to(self.device)
        y, new_lengths = self.augment(x, lengths, generator)
        if isinstance(first, Mapping):
            out = dict(rest)
            out[ck], out[lk] = y, new_lengths
            return out
        return (y, new_lengths, *rest)
