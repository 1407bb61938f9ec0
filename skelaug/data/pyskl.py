"""Datasets over the files the pyskl / mmaction2 and ST-GCN code bases train from.

* :class:`PysklDataset` -- a pyskl annotation pickle (``{"split": {name: [frame_dir, ...]},
  "annotations": [{"frame_dir", "label", "keypoint" (M, T, V, D), "keypoint_score" (M, T, V),
  "total_frames", ...}]}``), one split of it. The pickle is read once (a pickle cannot be
  memory-mapped) with the restricted unpickler of :func:`skelaug.io.convert.read_pyskl_pickle`;
  only the chosen split's annotations are kept, and each is converted when its item is loaded.
* :class:`STGCNDataset` -- an ST-GCN ``(N, C, T, V, M)`` float ``.npy`` with its ``(sample_names,
  labels)`` label pickle. The array is **memory-mapped** (``np.load(mmap_mode="r")``): opening the
  dataset reads only the header, and an item reads only its own sample from disk. Each DataLoader
  worker opens its own map (the map is not pickled into the workers).

Both follow the :class:`~skelaug.data.ClipDataset` conventions: items are dicts with ``data`` (float32
``(M, T, V, C)`` tensor at a fixed ``T``), ``length``, ``label``, ``index`` and per-dataset fields;
``transform(x, length, generator)`` receives a per-item stream keyed by ``(seed, epoch, index)``.

Example:
    >>> import numpy as np, os, tempfile
    >>> from skelaug.io import SkeletonSequence
    >>> from skelaug.io.convert import save_pyskl, save_stgcn
    >>> from skelaug.data import PysklDataset, STGCNDataset
    >>> seqs = [SkeletonSequence(np.ones((1, 5 + i, 17, 3), np.float32), "coco17",
    ...                          confidence=np.ones((1, 5 + i, 17), np.float32)) for i in range(3)]
    >>> folder = tempfile.mkdtemp()
    >>> save_pyskl(os.path.join(folder, "ann.pkl"), seqs, [0, 1, 1], names=["a", "b", "c"],
    ...            split={"train": ["a", "c"], "val": ["b"]})
    >>> ds = PysklDataset(os.path.join(folder, "ann.pkl"), split="train", num_frames=8)
    >>> item = ds[1]
    >>> tuple(item["data"].shape), item["length"], item["label"], item["frame_dir"], ds.layout
    ((2, 8, 17, 3), 7, 1, 'c', 'coco17')
    >>> _ = save_stgcn(os.path.join(folder, "train_data.npy"), seqs, [0, 1, 1], num_frames=10,
    ...                label_path=os.path.join(folder, "train_label.pkl"))
    >>> st = STGCNDataset(os.path.join(folder, "train_data.npy"), layout="coco17")
    >>> len(st), st[2]["length"], tuple(st[2]["data"].shape)
    (3, 7, (2, 10, 17, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skelaug import layouts as _layouts
from skelaug.data.datasets import ClipDataset
from skelaug.io._base import PathLike, SkeletonFormatError
from skelaug.io.convert import _GUESS, annotation_sequence, load_stgcn, read_pyskl_pickle

__all__ = ["PysklDataset", "STGCNDataset"]


def _class_names(class_names: Sequence[str] | None, labels: NDArray[np.int64], where: str) -> list[str]:
    n = int(labels.max()) + 1 if labels.size else 0
    if class_names is None:
        return [str(k) for k in range(n)]
    names = [str(c) for c in class_names]
    if len(names) < n:
        raise ValueError(f"class_names has {len(names)} names but {where} has labels up to {n - 1}")
    return names


class PysklDataset(ClipDataset):
    """Clips of one split of a pyskl annotation pickle.

    Args:
        path: The ``.pkl`` file.
        split: Name of a split in the file's ``"split"`` dict (e.g. ``"xsub_train"``), or ``None`` for
            every annotation. An unknown name raises ``ValueError`` listing the file's splits.
        layout: Layout name; default the file's ``"layout"`` key (written by
            :func:`skelaug.io.convert.save_pyskl`), else a guess from ``(V, D)`` (17 x 2 ``coco17``,
            25 x 3 ``ntu25``, ...).
        with_score: Append ``keypoint_score`` as the last channel when the file has it (``C = D + 1``).
        class_names: Names of the classes (default ``"0"``, ``"1"``, ...).
        num_frames (default 300), max_persons (default 2), sampling, transform, seed: see
            :class:`ClipDataset`.

    Items: ``data`` ``(max_persons, num_frames, V, C)``, ``length`` (``total_frames``, cropped to
    ``num_frames``), ``label``, ``index``, ``frame_dir``.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        split: str | None = None,
        layout: str | None = None,
        with_score: bool = True,
        class_names: Sequence[str] | None = None,
        num_frames: int = 300,
        max_persons: int = 2,
        sampling: str = "centre",
        transform: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=max_persons, sampling=sampling, transform=transform, seed=seed
        )
        self.path = Path(path)
        obj = read_pyskl_pickle(self.path)
        anns: list[dict[str, Any]] = list(obj["annotations"])
        splits = {str(k): [str(x) for x in v] for k, v in (obj.get("split") or {}).items()}
        if split is not None:
            if split not in splits:
                raise ValueError(
                    f"split={split!r} is not in {self.path}; its splits are {sorted(splits) or 'none'} "
                    f"(split=None takes every annotation)"
                )
            wanted = set(splits[split])
            anns = [a for a in anns if str(a.get("frame_dir")) in wanted]
            if len(anns) != len(wanted):
                found = {str(a.get("frame_dir")) for a in anns}
                lost = sorted(wanted - found)
                raise SkeletonFormatError(
                    self.path, f"split {split!r} names {len(lost)} frame_dir(s) with no annotation, e.g. {lost[:3]}"
                )
        self.splits = splits
        self.annotations = anns
        self.with_score = bool(with_score)
        kinds = set()
        for i, a in enumerate(anns):
            kp = a.get("keypoint")
            if not isinstance(kp, np.ndarray) or kp.ndim != 4:
                raise SkeletonFormatError(
                    self.path, f"annotation {a.get('frame_dir', i)!r}: keypoint must be an (M, T, V, D) array"
                )
            kinds.add((kp.shape[2], kp.shape[3], layout or a.get("layout")))
        shapes = {(v, d) for v, d, _ in kinds}
        if len(shapes) > 1:
            raise SkeletonFormatError(self.path, f"annotations mix joint counts/dims {sorted(shapes)}")
        lay = layout
        if lay is None and kinds:
            v, d, named = next(iter(kinds))
            lay = named or _GUESS.get((v, d))
            if lay is None:
                raise ValueError(
                    f"{self.path}: cannot tell the layout of {v} joints x {d} dims; pass layout= "
                    f"(known: {', '.join(_layouts.names())})"
                )
        self.layout = _layouts.get(lay).name if lay is not None else "unknown"
        self._layout_arg = lay
        self.labels = np.array([int(a.get("label", -1)) for a in anns], dtype=np.int64)
        self.names = [str(a.get("frame_dir", i)) for i, a in enumerate(anns)]
        self.class_names = _class_names(class_names, self.labels, str(self.path))
        self.counts = {"clips": len(anns), "in_file": len(obj["annotations"])}

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        seq = annotation_sequence(self.annotations[index], index, self.path, self._layout_arg)
        x = seq.data if self.with_score or seq.confidence is None else seq.data[..., : seq.dims]
        total = self.annotations[index].get("total_frames")
        length = min(int(total), x.shape[1]) if isinstance(total, int | np.integer) and total > 0 else x.shape[1]
        return np.ascontiguousarray(x, dtype=np.float32), length

    def meta(self, index: int) -> dict[str, Any]:
        return {"frame_dir": self.names[index]}


def _label_path(data_path: Path) -> Path:
    candidates = [data_path.with_name(data_path.stem + "_label.pkl")]
    if data_path.stem.endswith("_data"):
        candidates.insert(0, data_path.with_name(data_path.stem[: -len("_data")] + "_label.pkl"))
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(
        f"no label file for {data_path}: tried {', '.join(str(c) for c in candidates)}; pass label_path="
    )


class STGCNDataset(ClipDataset):
    """Samples of an ST-GCN ``(N, C, T, V, M)`` ``.npy`` (memory-mapped) with its label pickle.

    Args:
        data_path: The ``.npy`` array (float, any of the ST-GCN / MS-G3D / CTR-GCN releases).
        label_path: The ``(sample_names, labels)`` pickle; default ``<name>_label.pkl`` for
            ``<name>_data.npy`` (ST-GCN's ``train_data.npy`` / ``train_label.pkl``), else
            ``<stem>_label.pkl`` (what :func:`skelaug.io.convert.save_stgcn` writes).
        layout: Layout name; default a guess from ``(V, C)`` (25 x 3 ``ntu25``, 18 x 2 ``openpose18``,
            ...), also trying ``C - 1`` coordinates plus a score (Kinetics-skeleton's 18 x 3).
        lengths: Valid frame counts ``(N,)``; default: measured per item as one past the last frame
            with a non-zero value (the files are zero-padded).
        class_names: Names of the classes (default ``"0"``, ``"1"``, ...).
        num_frames, max_persons: Default the file's ``T`` and ``M``; sampling, transform, seed: see
            :class:`ClipDataset`.

    Items: ``data`` ``(max_persons, num_frames, V, C)``, ``length``, ``label``, ``index``, ``name``.
    """

    def __init__(
        self,
        data_path: PathLike,
        label_path: PathLike | None = None,
        *,
        layout: str | None = None,
        lengths: Sequence[int] | NDArray[np.integer] | None = None,
        class_names: Sequence[str] | None = None,
        num_frames: int | None = None,
        max_persons: int | None = None,
        sampling: str = "centre",
        transform: Any = None,
        seed: int = 0,
    ) -> None:
        self.data_path = Path(data_path)
        self.label_path = Path(label_path) if label_path is not None else _label_path(self.data_path)
        view, names, labels = load_stgcn(self.data_path, self.label_path, mmap=True)
        n, m, t, v, c = view.shape
        super().__init__(
            num_frames=t if num_frames is None else num_frames,
            max_persons=m if max_persons is None else max_persons,
            sampling=sampling,
            transform=transform,
            seed=seed,
        )
        if not np.issubdtype(view.dtype, np.floating):
            raise SkeletonFormatError(self.data_path, f"dtype {view.dtype}; expected a float array")
        lay = layout or _GUESS.get((v, c)) or _GUESS.get((v, c - 1))
        if lay is None:
            raise ValueError(
                f"{self.data_path}: cannot tell the layout of {v} joints x {c} channels; pass layout= "
                f"(known: {', '.join(_layouts.names())})"
            )
        lay_obj = _layouts.get(lay)
        if lay_obj.num_joints != v:
            raise ValueError(f"layout={lay!r} has {lay_obj.num_joints} joints but {self.data_path} has V={v}")
        self.layout = lay_obj.name
        self.names = list(names or [])
        self.labels = np.asarray(labels, dtype=np.int64)
        if lengths is not None:
            lens = np.asarray(lengths)
            bad = lens.shape != (n,) or not np.issubdtype(lens.dtype, np.integer)
            if bad or (n and (lens.min() < 1 or lens.max() > t)):
                raise ValueError(f"lengths must be {n} integers in [1, {t}]; got {lens.tolist()[:8]} ({lens.shape})")
            self.lengths: NDArray[np.int64] | None = lens.astype(np.int64)
        else:
            self.lengths = None
        self.class_names = _class_names(class_names, self.labels, str(self.label_path))
        self.shape = (n, c, t, v, m)
        self.counts = {"samples": n}
        self._view: NDArray[Any] | None = view

    @property
    def array(self) -> NDArray[Any]:
        """The canonical ``(N, M, T, V, C)`` view of the memory-mapped file (opened in this process)."""
        if self._view is None:
            self._view = np.load(self.data_path, mmap_mode="r", allow_pickle=False).transpose(0, 4, 2, 3, 1)
        return self._view

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_view"] = None                       # each worker maps the file itself
        return state

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        x = np.ascontiguousarray(self.array[index], dtype=np.float32)     # reads this sample only
        if self.lengths is not None:
            return x, int(self.lengths[index])
        busy = np.flatnonzero(np.any(x != 0, axis=(0, 2, 3)))
        return x, int(busy[-1]) + 1 if busy.size else 1          # an all-zero sample: one missing frame

    def meta(self, index: int) -> dict[str, Any]:
        return {"name": self.names[index]} if self.names else {}
