"""Data for the reference model: datasets from the config, seeded loaders, batched views, normalisation.

Seeding: a batch's clips are fixed by ``(seed, epoch)`` (the epoch order) and the global step; its two
augmented views by ``numpy.random.default_rng([seed, VIEW, epoch, step, rank, view])``, their hard
negatives (``contrast.hard_negatives``) by ``default_rng([seed, HARD, epoch, step, rank, view])``. Nothing draws
from global state and nothing depends on the number of DataLoader workers, so a resumed run sees the
same batches and views as an uninterrupted one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from reference_models.mg_contrastive.config import AugmentPreset, Config, DataConfig, InputKind
from skelaug import layouts
from skelaug.augment import AUGMENTATIONS, Compose, from_dict, presets
from skelaug.data import NWUCLA, UTDMHAD, ClipDataset, IMiGUEDataset, NTUDataset, SMGDataset, SyntheticMGDataset

__all__ = [
    "Batch",
    "EpochBatchSampler",
    "build_augment",
    "build_datasets",
    "class_balanced_subset",
    "destroy_motion",
    "encoder_input",
    "hard_negative_views",
    "make_loader",
    "make_position_views",
    "noisy_labels",
    "normalize_batch",
    "stream_seed",
    "subject_ids",
    "subtract_clip_mean",
]

# purposes of the derived random streams (first entry after the seed)
VIEW, LOADER, INIT, QUEUE, PROBE, FINETUNE, SUBSET, HARD, NOISE, PRE = range(10)


def stream_seed(*key: int) -> int:
    """A 63-bit seed derived from integers (for ``torch.Generator.manual_seed``)."""
    return int(np.random.default_rng([int(k) for k in key]).integers(0, 2**63 - 1))


class _Subset(ClipDataset):
    """Selected items of a :class:`ClipDataset` (keeps its labels, layout and class names)."""

    def __init__(self, base: ClipDataset, index: NDArray[np.int64]) -> None:
        self.base = base
        self.index = np.asarray(index, dtype=np.int64)
        self.labels = base.labels[self.index]
        self.class_names = base.class_names
        self.layout = base.layout
        self.num_frames = base.num_frames
        self.counts = dict(base.counts)

    def __len__(self) -> int:
        return int(self.index.size)

    def set_epoch(self, epoch: int) -> None:
        self.base.set_epoch(epoch)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        if isinstance(key, tuple):
            i, epoch = key
            item = self.base[(int(self.index[int(i)]), epoch)]
        else:
            item = self.base[int(self.index[int(key)])]
        item["index"] = int(key[0] if isinstance(key, tuple) else key)
        return item


class _Preprocessed(ClipDataset):
    """The items of a :class:`ClipDataset` passed through ``pre`` (``data.preprocess``) as they load.

    ``pre`` draws (if at all) from ``default_rng([PRE, index, epoch])``: the same item of the same epoch
    is pre-processed the same way in every worker and after a resume. Per-clip metadata (``views``,
    ``subjects``, ``paths``, ...) is the base dataset's; ``lengths`` is not offered, since a temporal
    pre-processing step (``UniformSampleFrames``) changes it: read ``item["length"]``.
    """

    def __init__(self, base: ClipDataset, pre: Compose) -> None:
        self.base = base
        self.pre = pre
        self.labels = base.labels
        self.class_names = base.class_names
        self.layout = base.layout
        self.num_frames = base.num_frames
        self.counts = dict(base.counts)

    def __len__(self) -> int:
        return len(self.base)

    def __getattr__(self, name: str) -> Any:
        base = self.__dict__.get("base")  # absent while unpickling in a DataLoader worker
        if base is None or name.startswith("__") or name == "lengths":
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r}"
                + ("; after data.preprocess the valid length is per item: item['length']" if name == "lengths" else "")
            )
        return getattr(base, name)

    def set_epoch(self, epoch: int) -> None:
        self.base.set_epoch(epoch)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        item = self.base[key]
        index, epoch = (int(key[0]), int(key[1])) if isinstance(key, tuple) else (int(key), 0)
        x = item["data"].numpy()
        y, n = self.pre(x, np.array([item["length"]]), generator=np.random.default_rng([PRE, index, epoch]))
        item["data"] = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
        item["length"] = int(np.asarray(n).reshape(-1)[0])
        return item


def _stratified_holdout(labels: NDArray[np.int64], fraction: float, seed: int) -> NDArray[np.bool_]:
    """Boolean test mask holding out ``fraction`` of each class (classes with one clip stay in train)."""
    rng = np.random.default_rng([seed, SUBSET])
    test = np.zeros(labels.size, dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = round(fraction * idx.size) if idx.size > 1 else 0
        k = min(max(k, 1 if idx.size > 1 else 0), idx.size - 1)
        test[rng.choice(idx, size=k, replace=False)] = True
    return test


def build_datasets(cfg: DataConfig) -> tuple[ClipDataset, ClipDataset]:
    """The training and test datasets of ``cfg`` (the clips after ``cfg.preprocess``, no augmentation:
    views are made per batch)."""
    train, test = _raw_datasets(cfg)
    pre = build_augment("none", train.layout, pipeline=cfg.preprocess)
    if pre is None:
        return train, test
    return _Preprocessed(train, pre), _Preprocessed(test, pre)


def _raw_datasets(cfg: DataConfig) -> tuple[ClipDataset, ClipDataset]:
    common: dict[str, Any] = {"num_frames": cfg.num_frames}
    if cfg.kind == "synthetic":
        ds = SyntheticMGDataset(
            cfg.num_samples,
            cfg.layout,
            num_frames=cfg.num_frames,
            seed=cfg.generator_seed,
            num_subjects=cfg.num_subjects,
            long_tail=cfg.long_tail if cfg.long_tail >= 1.0 else None,
        )
        subj = ds.source.subjects
        ids = np.unique(subj)
        k = int(np.clip(round(cfg.test_fraction * ids.size), 1, ids.size - 1))
        test_ids = np.random.default_rng([cfg.split_seed, SUBSET]).choice(ids, size=k, replace=False)
        mask = np.isin(subj, test_ids)
        return _Subset(ds, np.flatnonzero(~mask)), _Subset(ds, np.flatnonzero(mask))

    def make(split: str) -> ClipDataset:
        sp = None if split == "all" else split
        # seed=0: a random crop comes from the (seed, epoch, index) stream our loader's keys select
        extra = {**common, "max_persons": cfg.max_persons, "sampling": cfg.sampling, "seed": 0}
        if cfg.kind == "imigue":
            paths = None
            if cfg.videos:
                from skelaug.data.imigue import find_video

                found = {v: find_video(cfg.root, v) for v in cfg.videos}
                missing = [v for v, p in found.items() if p is None]
                if missing:
                    raise FileNotFoundError(f"data.videos {missing} not found under data.root={cfg.root!r}")
                paths = {v: p for v, p in found.items() if p is not None}
            return IMiGUEDataset(
                cfg.labels,
                None if paths else cfg.root,
                split=sp,  # type: ignore[arg-type]
                video_paths=paths,
                missing="skip" if paths else cfg.missing,
                cache_dir=cfg.cache_dir or None,
                **extra,
            )
        if cfg.kind == "smg":
            return SMGDataset(cfg.root, split=sp, **extra)  # type: ignore[arg-type]
        if cfg.kind == "nwucla":
            return NWUCLA(
                cfg.root,
                split=sp,  # type: ignore[arg-type]
                train_views=cfg.train_views,
                test_views=cfg.test_views or None,
                cache_dir=cfg.cache_dir or None,
                **extra,
            )
        if cfg.kind == "utd_mhad":
            return UTDMHAD(cfg.root, split=sp, cache_dir=cfg.cache_dir or None, **extra)  # type: ignore[arg-type]
        ignore: list[str] = []
        if cfg.ignore_file:
            text = Path(cfg.ignore_file).read_text(encoding="utf-8")
            ignore = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        return NTUDataset(
            cfg.root, benchmark=cfg.benchmark, split=sp, ignore=ignore, **extra  # type: ignore[arg-type]
        )

    train = make(cfg.train_split)
    if len(train) == 0:
        raise ValueError(f"no training clips for data.kind={cfg.kind!r} split={cfg.train_split!r} in {cfg.root!r}")
    if cfg.holdout > 0:
        test_mask = _stratified_holdout(train.labels, cfg.holdout, cfg.split_seed)
        return _Subset(train, np.flatnonzero(~test_mask)), _Subset(train, np.flatnonzero(test_mask))
    return train, make(cfg.test_split)


def noisy_labels(labels: NDArray[np.int64], fraction: float, num_classes: int, seed: int) -> NDArray[np.int64]:
    """``labels`` with a ``fraction`` of the clips given a uniformly drawn class (``contrast.label_noise``).

    Each clip is picked with probability ``fraction``, and a picked clip gets a class drawn uniformly
    from ``0 .. num_classes - 1`` (possibly its own), so a fraction ``fraction * (1 - 1 / num_classes)``
    of the labels changes on average. Drawn once from ``seed``; a new array (``labels`` is not modified).

    Example:
        >>> y = np.repeat(np.arange(4), 250)
        >>> z = noisy_labels(y, 0.4, 4, seed=0)
        >>> bool(abs((z != y).mean() - 0.4 * 3 / 4) < 0.05), bool((noisy_labels(y, 0.0, 4, seed=0) == y).all())
        (True, True)
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction={fraction!r}; use a value in [0, 1]")
    if num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r}; use at least 1")
    rng = np.random.default_rng([seed, NOISE])
    picked = rng.random(labels.shape) < fraction
    drawn = rng.integers(0, num_classes, size=labels.shape)
    return np.where(picked, drawn, labels).astype(np.int64)


def class_balanced_subset(labels: NDArray[np.int64], fraction: float, seed: int) -> NDArray[np.int64]:
    """Indices of a labelled subset with ``max(1, round(fraction * n_c))`` clips of every class ``c``.

    Example:
        >>> labels = np.repeat(np.arange(3), [100, 10, 1])
        >>> np.bincount(labels[class_balanced_subset(labels, 0.1, seed=0)]).tolist()
        [10, 1, 1]
    """
    rng = np.random.default_rng([seed, SUBSET, round(fraction * 1e6)])
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = min(idx.size, max(1, round(fraction * idx.size)))
        out.append(np.sort(rng.choice(idx, size=k, replace=False)))
    return np.concatenate(out).astype(np.int64)


class EpochBatchSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Batches of ``(index, epoch)`` keys: the epoch's order is ``default_rng([seed, LOADER, epoch])``.

    With ``world_size > 1`` every global batch of ``batch_size`` clips is cut into contiguous slices,
    one per rank (rank ``r`` gets clips ``r*b .. (r+1)*b - 1`` of it, ``b = batch_size / world_size``),
    so the gathered keys of all ranks are exactly the keys a single process would compute.
    ``start_batch`` skips that many batches (resume mid-epoch) without loading them.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int,
        epoch: int,
        shuffle: bool = True,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
        start_batch: int = 0,
    ) -> None:
        if batch_size % world_size:
            raise ValueError(
                f"optim.batch_size={batch_size} is not divisible by the world size {world_size}; "
                f"the batch size is global, use a multiple of the number of processes"
            )
        self.n, self.batch_size, self.seed, self.epoch = n, batch_size, seed, epoch
        self.shuffle, self.drop_last, self.rank, self.world = shuffle, drop_last, rank, world_size
        self.start_batch = start_batch

    def num_batches(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __len__(self) -> int:
        return max(0, self.num_batches() - self.start_batch)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = (
            np.random.default_rng([self.seed, LOADER, self.epoch]).permutation(self.n)
            if self.shuffle
            else np.arange(self.n)
        )
        local = self.batch_size // self.world
        for b in range(self.start_batch, self.num_batches()):
            chunk = order[b * self.batch_size : (b + 1) * self.batch_size]
            if self.world > 1:
                if chunk.size < self.batch_size:  # last partial batch: split as evenly as possible
                    chunk = np.array_split(chunk, self.world)[self.rank]
                else:
                    chunk = chunk[self.rank * local : (self.rank + 1) * local]
            yield [(int(i), self.epoch) for i in chunk]


def _worker_init(worker_id: int) -> None:
    """DataLoader workers compute one clip at a time: one intra-op thread each (no oversubscription).

    Items do not draw random numbers from the worker: a dataset's per-item stream is keyed by
    ``(seed, epoch, index)``; the loader's ``generator`` (seeded from ``(seed, epoch)``) only fixes
    torch's per-worker base seed, which these datasets never use.
    """
    torch.set_num_threads(1)


def make_loader(
    dataset: ClipDataset,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    shuffle: bool = True,
    drop_last: bool = True,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    start_batch: int = 0,
) -> torch.utils.data.DataLoader[dict[str, Any]]:
    """A DataLoader over ``dataset`` for one epoch (see :class:`EpochBatchSampler`)."""
    sampler = EpochBatchSampler(
        len(dataset),
        batch_size,
        seed=seed,
        epoch=epoch,
        shuffle=shuffle,
        drop_last=drop_last,
        rank=rank,
        world_size=world_size,
        start_batch=start_batch,
    )
    gen = torch.Generator()
    gen.manual_seed(stream_seed(seed, LOADER, epoch, rank))
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        generator=gen,
        worker_init_fn=_worker_init if num_workers > 0 else None,
    )


def subject_ids(items: dict[str, Any], n: int) -> Tensor:
    """Integer subject ids ``(N,)`` of a collated batch, from its ``subject`` (NTU: ``performer``) field.

    Integer ids are kept; other ids (strings) become a stable CRC-32 of their text; clips without one
    get ``-1 - i`` (a subject of their own).

    Example:
        >>> subject_ids({"subject": ["a", "b", "a"]}, 3)[0] == subject_ids({"subject": ["a"]}, 1)[0]
        tensor(True)
        >>> subject_ids({}, 2).tolist()
        [-1, -2]
    """
    raw = items.get("subject", items.get("performer"))
    if raw is None:
        return -1 - torch.arange(n)
    if isinstance(raw, Tensor):
        return raw.long().reshape(n)
    return torch.tensor([zlib.crc32(str(r).encode()) for r in raw], dtype=torch.long)


@dataclass
class Batch:
    """A collated batch: ``data`` ``(N, M, T, V, C)``, ``lengths`` ``(N,)``, ``labels`` ``(N,)``,
    ``subjects`` ``(N,)`` (:func:`subject_ids`)."""

    data: Tensor
    lengths: Tensor
    labels: Tensor
    subjects: Tensor | None = None

    @classmethod
    def from_items(cls, items: dict[str, Any]) -> Batch:
        labels = torch.as_tensor(items["label"]).long()
        return cls(
            items["data"], torch.as_tensor(items["length"]).long(), labels, subject_ids(items, labels.numel())
        )


def build_augment(
    preset: AugmentPreset, layout: str, min_length: int = 8, pipeline: list[dict[str, Any]] | None = None
) -> Compose | None:
    """The skelaug pipeline named ``preset`` for ``layout``, followed by the ``pipeline`` steps
    (:func:`skelaug.augment.from_dict` tables); ``None`` when both are empty.

    Example:
        >>> build_augment("none", "imigue22", pipeline=[{"type": "RandomSpeed", "speed": [0.8, 1.25]}])
        Compose(transforms=[RandomSpeed(speed=[0.8, 1.25])], layout='imigue22')
    """
    steps = []
    if preset == "mg":
        steps = list(presets.micro_gesture(layout, min_length=min_length).transforms)
    elif preset != "none":
        fn = {"aimclr_normal": presets.aimclr_normal, "aimclr_extreme": presets.aimclr_extreme, "isc": presets.isc}
        steps = list(fn[preset](layout).transforms)
    for d in pipeline or []:
        d = dict(d)
        if AUGMENTATIONS[d["type"]].needs_layout and d.get("layout") is None:
            d["layout"] = layout
        steps.append(from_dict(d))
    return Compose(steps, layout=layout) if steps else None


def augment_batch(
    aug: Compose | None, x: Tensor, lengths: Tensor, rng: np.random.Generator, backend: str = "auto"
) -> tuple[Tensor, Tensor]:
    """Run ``aug`` on a whole batch through a skelaug executor (one call, no per-sample loop).

    ``backend='auto'``: a CPU batch goes through the NumPy/numba executor (zero-copy views), a GPU
    batch through skelaug's torch (or numba-CUDA) executor on the device.
    """
    if aug is None:
        return x, lengths
    if backend == "auto" and x.device.type == "cpu":
        y, n = aug(x.numpy(), lengths.numpy(), generator=rng)
        return torch.from_numpy(np.ascontiguousarray(y)), torch.as_tensor(n).long()
    yt, nt = aug(cast(Any, x), lengths, generator=rng, backend=None if backend == "auto" else backend)
    return cast(Tensor, yt), torch.as_tensor(nt, device=x.device).long()


def normalize_batch(x: Tensor, lengths: Tensor, layout: str) -> Tensor:
    r"""Centre and scale each clip: coordinates minus the body centre, divided by the body size.

    For clip :math:`n`, with :math:`P` its present joints (any coordinate non-zero) in valid frames,
    the centre :math:`c_n` is the mean of the layout's centre joints over :math:`P` (all of
    :math:`P` when those are missing) and :math:`s_n` the largest coordinate range over :math:`P`;
    present joints become :math:`(x - c_n) / s_n`, missing joints and padding stay zero, extra
    channels (scores) are kept. Shapes: ``x`` ``(N, M, T, V, C)`` -> same.

    Example:
        >>> x = torch.zeros(1, 1, 3, 22, 3)
        >>> x[0, 0, :2, :, :2] = torch.arange(44.0).view(22, 2) + 100
        >>> y = normalize_batch(x, torch.tensor([2]), "imigue22")
        >>> float(y[..., :2].abs().max()) <= 1.0, bool((y[0, 0, 2] == 0).all())
        (True, True)
    """
    lay = layouts.get(layout)
    d = lay.dim
    n, m, t, v, c = x.shape
    coords = x[..., :d].to(torch.float64)
    valid = (torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None])[:, None, :, None]
    present = (coords != 0).any(-1) & valid  # (N, M, T, V)
    w = present.to(coords.dtype)
    centre_w = torch.zeros(v, dtype=coords.dtype, device=x.device)
    centre_w[list(lay.centre)] = 1.0
    wc = w * centre_w
    cnt_c = wc.sum(dim=(1, 2, 3))
    cnt = w.sum(dim=(1, 2, 3))
    mean_c = torch.einsum("nmtvd,nmtv->nd", coords, wc) / cnt_c.clamp_min(1)[:, None]
    mean_all = torch.einsum("nmtvd,nmtv->nd", coords, w) / cnt.clamp_min(1)[:, None]
    centre = torch.where((cnt_c > 0)[:, None], mean_c, mean_all)
    big = torch.tensor(float("inf"), dtype=coords.dtype, device=x.device)
    hi = torch.where(present[..., None], coords, -big).amax(dim=(1, 2, 3))
    lo = torch.where(present[..., None], coords, big).amin(dim=(1, 2, 3))
    scale = torch.where(cnt > 0, (hi - lo).amax(dim=-1), torch.ones_like(cnt))
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    y = (coords - centre[:, None, None, None]) / scale[:, None, None, None, None]
    y = torch.where(present[..., None], y, torch.zeros((), dtype=y.dtype, device=y.device))
    return torch.cat([y.to(x.dtype), x[..., d:]], dim=-1)


def add_velocity(x: Tensor, lengths: Tensor, dims: int) -> Tensor:
    """Append the coordinate velocities ``x_t - x_{t-1}`` (``D`` channels) to ``x`` ``(N, M, T, V, C)``.

    The velocity is 0 at ``t = 0``, in padded frames and where the joint is missing at ``t`` or ``t - 1``.

    Example:
        >>> x = torch.zeros(1, 1, 3, 1, 2)
        >>> x[0, 0, :, 0, 0] = torch.tensor([1.0, 3.0, 6.0])
        >>> add_velocity(x, torch.tensor([3]), 2)[0, 0, :, 0].tolist()
        [[1.0, 0.0, 0.0, 0.0], [3.0, 0.0, 2.0, 0.0], [6.0, 0.0, 3.0, 0.0]]
    """
    t = x.size(2)
    c = x[..., :dims]
    present = (c != 0).any(-1)  # (N, M, T, V)
    valid = (torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None])[:, None, :, None]
    ok = present & valid
    both = ok[:, :, 1:] & ok[:, :, :-1]
    vel = torch.zeros_like(c)
    vel[:, :, 1:] = torch.where(both[..., None], c[:, :, 1:] - c[:, :, :-1], torch.zeros((), dtype=c.dtype))
    return torch.cat([x, vel], dim=-1)


def subtract_clip_mean(x: Tensor, lengths: Tensor, dims: int) -> Tensor:
    r"""The clips' motion: each joint's coordinates minus that joint's mean over the clip.

    For clip :math:`n`, person :math:`m`, joint :math:`v` with :math:`F` the valid frames
    (:math:`t < L_n`) where the joint is present (any of its ``dims`` coordinates non-zero),

    .. math:: y_{nmtv} = x_{nmtv} - \frac{1}{|F|} \sum_{s \in F} x_{nmsv} \quad (t \in F),

    and :math:`y = 0` where the joint is missing or the frame is padding. Only the first ``dims``
    channels change; extra channels (scores) are kept. A clip held still becomes all zeros: what is
    left is the motion about the clip's mean pose, not the pose (who the subject is, how they sit).

    Args:
        x: Clips ``(N, M, T, V, C)``, zero-padded after their valid lengths.
        lengths: Valid lengths ``(N,)``.
        dims: Coordinate channels ``D`` (the layout's dimension).

    Returns:
        A new tensor like ``x`` (the input is not modified).

    Example:
        >>> x = torch.zeros(1, 1, 4, 2, 2)
        >>> x[0, 0, :, 0, 0] = torch.tensor([1.0, 3.0, 8.0, 5.0])  # joint 0, frame 3 is padding
        >>> x[0, 0, 1:3, 1] = 4.0  # joint 1 missing in frame 0
        >>> y = subtract_clip_mean(x, torch.tensor([3]), 2)
        >>> y[0, 0, :, 0, 0].tolist(), y[0, 0, :, 1, 1].tolist()
        ([-3.0, -1.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    """
    t = x.size(2)
    c = x[..., :dims]
    valid = (torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None])[:, None, :, None]
    ok = ((c != 0).any(-1) & valid)[..., None]  # (N, M, T, V, 1)
    c64 = c.to(torch.float64)  # float64 sums: a joint held still gets exactly 0 (float32 inputs)
    w = ok.to(torch.float64)
    mean = (c64 * w).sum(dim=2, keepdim=True) / w.sum(dim=2, keepdim=True).clamp_min(1)
    y = torch.where(ok, c64 - mean, torch.zeros((), dtype=torch.float64, device=c.device)).to(x.dtype)
    return torch.cat([y, x[..., dims:]], dim=-1)


def encoder_input(kind: InputKind, x: Tensor, lengths: Tensor, dims: int) -> Tensor:
    """What the encoders read (``model.input``) from normalised clips ``x`` ``(N, M, T, V, C)``.

    With ``D = dims`` coordinate channels and ``E = C - D`` extra channels (scores):

    * ``position``: ``x`` itself (``C`` channels);
    * ``position+velocity``: ``x`` then the velocity (:func:`add_velocity`; ``C + D``);
    * ``motion+velocity``: the motion (:func:`subtract_clip_mean`: coordinates minus each joint's
      mean over the clip), the extras, then the velocity of ``x`` (``C + D``; the velocity is taken
      from the positions, so a present joint whose motion happens to be 0 is not read as missing);
    * ``velocity``: the velocity only (``D``; no extras: a still and a missing joint look alike).

    Missing joints and padded frames are zero in every channel but the kept extras.

    Example:
        >>> x = torch.zeros(1, 1, 3, 1, 3)
        >>> x[0, 0, :, 0] = torch.tensor([[1.0, 2.0, 0.5], [3.0, 2.0, 0.75], [5.0, 2.0, 0.25]])  # (x, y, score)
        >>> encoder_input("motion+velocity", x, torch.tensor([3]), 2)[0, 0, :, 0].tolist()
        [[-2.0, 0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.75, 2.0, 0.0], [2.0, 0.0, 0.25, 2.0, 0.0]]
        >>> encoder_input("velocity", x, torch.tensor([3]), 2)[0, 0, :, 0].tolist()
        [[0.0, 0.0], [2.0, 0.0], [2.0, 0.0]]
    """
    if kind == "position":
        return x
    if kind not in ("position+velocity", "motion+velocity", "velocity"):
        raise ValueError(
            f"model.input={kind!r}; use 'position', 'position+velocity', 'motion+velocity' or 'velocity'"
        )
    xv = add_velocity(x, lengths, dims)
    if kind == "position+velocity":
        return xv
    vel = xv[..., x.size(-1) :]
    if kind == "velocity":
        return vel
    return torch.cat([subtract_clip_mean(x, lengths, dims), vel], dim=-1)


def input_channels(cfg: Config, channels: int, layout: str) -> int:
    """Channels the encoders read (:func:`encoder_input`) from clips with ``channels`` channels."""
    d = layouts.get(layout).dim
    if cfg.model.input == "velocity":
        return d
    return channels + (0 if cfg.model.input == "position" else d)


def _normalized(cfg: Config, x: Tensor, n: Tensor, layout: str) -> Tensor:
    return normalize_batch(x, n, layout) if cfg.data.normalize else x


def _finish(cfg: Config, x: Tensor, n: Tensor, layout: str) -> Tensor:
    return encoder_input(cfg.model.input, _normalized(cfg, x, n, layout), n, layouts.get(layout).dim)


def make_position_views(
    cfg: Config,
    aug: Compose | None,
    batch: Batch,
    layout: str,
    *,
    epoch: int,
    step: int,
    rank: int,
    device: torch.device,
) -> list[tuple[Tensor, Tensor]]:
    """The two augmented, normalised views of ``batch`` on ``device`` before :func:`encoder_input`
    (the channels of the dataset; drawn from counter-keyed streams)."""
    out = []
    for view in range(2):
        rng = np.random.default_rng([cfg.seed, VIEW, epoch, step, rank, view])
        x, n = augment_batch(aug, batch.data, batch.lengths, rng, cfg.augment.backend)
        x, n = x.to(device), n.to(device)
        out.append((_normalized(cfg, x, n, layout), n))
    return out


MotionKill = Literal["static", "shuffled"]


def destroy_motion(x: Tensor, lengths: Tensor, kind: MotionKill, rng: np.random.Generator) -> Tensor:
    r"""The clips ``x`` with their motion destroyed and their frame content kept.

    For clip :math:`n` with valid length :math:`L_n`, output frame :math:`t < L_n` is input frame
    :math:`\pi_n(t)` (every person and channel), and padded frames :math:`t \ge L_n` are zero:

    * ``static``: :math:`\pi_n(t) = f_n` for one valid frame :math:`f_n \sim U\{0, .., L_n - 1\}`
      (the clip frozen in one of its poses);
    * ``shuffled``: :math:`\pi_n` a uniformly random permutation of :math:`0, .., L_n - 1` (the
      same poses in a random order; for :math:`L_n \ge 2` it may be the identity, with probability
      :math:`1 / L_n!`).

    The draws take clips in order from ``rng``: one ``integers(L_n)`` (static) or one
    ``permutation(L_n)`` (shuffled) per clip with :math:`L_n \ge 1`.

    Args:
        x: Clips ``(N, M, T, V, C)``, zero-padded after their valid lengths.
        lengths: Valid lengths ``(N,)``, in ``0..T``.
        kind: ``"static"`` or ``"shuffled"``.
        rng: The random stream.

    Returns:
        A new tensor like ``x`` (the input is not modified); the lengths are unchanged.

    Example:
        >>> x = torch.arange(1.0, 5.0).view(1, 1, 4, 1, 1)  # frames 1, 2, 3, 4
        >>> y = destroy_motion(x, torch.tensor([3]), "static", np.random.default_rng(0))
        >>> y.flatten().tolist()  # one of the 3 valid frames, held; the padded frame stays 0
        [3.0, 3.0, 3.0, 0.0]
        >>> sorted(destroy_motion(x, torch.tensor([3]), "shuffled", np.random.default_rng(0)).flatten().tolist())
        [0.0, 1.0, 2.0, 3.0]
    """
    if kind not in ("static", "shuffled"):
        raise ValueError(f"kind={kind!r}; use 'static' or 'shuffled'")
    if x.dim() != 5:
        raise ValueError(f"x has shape {tuple(x.shape)}; expected (N, M, T, V, C)")
    n, m, t, v, c = x.shape
    lens = lengths.detach().cpu().numpy().astype(np.int64)
    if lens.shape != (n,) or (lens < 0).any() or (lens > t).any():
        raise ValueError(f"lengths {lens.tolist()}: expected {n} values in 0..{t}")
    src = np.tile(np.arange(t, dtype=np.int64), (n, 1))  # (N, T): source frame of each output frame
    for i, length in enumerate(lens.tolist()):
        if length >= 1:
            src[i, :length] = rng.integers(length) if kind == "static" else rng.permutation(length)
    idx = torch.from_numpy(src).to(x.device)[:, None, :, None, None].expand(n, m, t, v, c)
    y = torch.gather(x, 2, idx)
    valid = torch.arange(t, device=x.device)[None, :] < lengths.to(x.device)[:, None]  # (N, T)
    return torch.where(valid[:, None, :, None, None], y, torch.zeros((), dtype=x.dtype, device=x.device))


def hard_negative_views(
    cfg: Config, x: Tensor, lengths: Tensor, layout: str, *, epoch: int, step: int, rank: int, view: int
) -> Tensor:
    """The motion-destroyed copies of a key view (``contrast.hard_negatives``), input-ready.

    ``x`` ``(N, M, T, V, C)`` is a view from :func:`make_position_views` (normalised, the dataset's
    channels, before :func:`encoder_input`). It goes through :func:`destroy_motion` once per kind of
    ``cfg.contrast.hard_negatives`` (in the order written, e.g. static then shuffled), then through
    :func:`encoder_input`, so every derived channel is recomputed from the new frame order: the
    velocity of a static clip is zero, and so is its motion (``model.input = "motion+velocity"``). The
    normalisation is the key view's own (centre and scale of a clip do not depend on its frame order),
    so a hard negative differs from its key view by the motion only.

    Returns:
        ``(H, N, M, T, V, C')`` with ``H`` the number of kinds and ``C'`` the encoder's input channels
        (:func:`input_channels`); the lengths are ``lengths``.
    """
    kinds = cfg.contrast.hard_negatives.split("+")
    if cfg.contrast.hard_negatives == "none":
        raise ValueError("contrast.hard_negatives = 'none': there are no hard negatives to build")
    rng = np.random.default_rng([cfg.seed, HARD, epoch, step, rank, view])
    d = layouts.get(layout).dim
    out = []
    for kind in kinds:
        y = destroy_motion(x, lengths, cast(MotionKill, kind), rng)
        out.append(encoder_input(cfg.model.input, y, lengths, d))
    return torch.stack(out)


def prepare(cfg: Config, batch: Batch, layout: str, device: torch.device) -> tuple[Tensor, Tensor]:
    """An un-augmented batch on ``device``, normalised like the views (evaluation input)."""
    x, n = batch.data.to(device), batch.lengths.to(device)
    return _finish(cfg, x, n, layout), n


def dataset_info(ds: ClipDataset) -> tuple[str, int, int, int]:
    """``(layout, joints V, channels C, classes K)`` of a dataset (reads one item)."""
    item = ds[0]
    return str(ds.layout), int(item["data"].shape[-2]), int(item["data"].shape[-1]), len(ds.class_names)


def describe(ds: ClipDataset) -> str:
    counts = np.bincount(ds.labels, minlength=len(ds.class_names))
    return f"{len(ds)} clips, {int((counts > 0).sum())}/{len(ds.class_names)} classes present"
