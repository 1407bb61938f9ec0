"""Converters to and from the two layouts the skeleton-recognition code bases use.

**ST-GCN ``.npy``**: one float32 array ``(N, C, T, V, M)`` (channels first, persons last) plus a
``*_label.pkl`` with ``(sample_names, labels)``. :func:`save_stgcn` writes it through a memory map,
one sample at a time, so preprocessing a large dataset never holds it in memory;
:func:`load_stgcn` memory-maps it and returns a canonical ``(N, M, T, V, C)`` *view* (no copy).

**pyskl pickle**: ``{"split": {name: [frame_dir, ...]}, "annotations": [{"frame_dir", "label",
"img_shape", "original_shape", "total_frames", "keypoint" (M, T, V, D), "keypoint_score"
(M, T, V) when there is a confidence}]}``. :func:`save_pyskl` also stores ``"layout"`` and ``"fps"``
(pyskl ignores unknown keys), so :func:`load_pyskl` restores the sequences exactly.

Both loaders unpickle with a restricted unpickler (NumPy arrays and plain containers only).

Example:
    >>> import numpy as np, tempfile, os
    >>> from skelaug.io import SkeletonSequence
    >>> from skelaug.io.convert import save_pyskl, load_pyskl
    >>> seq = SkeletonSequence(np.ones((1, 5, 17, 3), np.float32), "coco17",
    ...                        confidence=np.ones((1, 5, 17), np.float32))
    >>> path = os.path.join(tempfile.mkdtemp(), "ann.pkl")
    >>> save_pyskl(path, [seq], [3], names=["clip0"], split={"train": ["clip0"]})
    >>> data = load_pyskl(path)
    >>> data.sequences[0].data.shape, data.labels, data.split
    ((1, 5, 17, 3), [3], {'train': ['clip0']})
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skelaug.io._base import PathLike, SkeletonFormatError, SkeletonSequence
from skelaug.io._safe_pickle import safe_load

__all__ = [
    "PysklData",
    "annotation_sequence",
    "load_pyskl",
    "load_stgcn",
    "read_pyskl_pickle",
    "save_pyskl",
    "save_stgcn",
    "to_stgcn_sample",
]

_GUESS = {
    (17, 2): "coco17",
    (18, 2): "openpose18",
    (25, 2): "openpose25",
    (25, 3): "ntu25",
    (15, 2): "mpi15",
    (22, 2): "imigue22",
    (33, 3): "mediapipe33",
}


def to_stgcn_sample(
    seq: SkeletonSequence, num_frames: int, max_persons: int
) -> tuple[NDArray[np.float32], int]:
    """One sample ``(C, T, V, M)``: the first ``max_persons`` persons, cropped/zero-padded to ``num_frames``.

    Returns the array and the valid length ``min(T, num_frames)``. Persons are taken in the
    sequence's order (use :func:`skelaug.io.select_people` first to choose them).
    """
    t = min(seq.num_frames, num_frames)
    m = min(seq.num_persons, max_persons)
    out = np.zeros((seq.data.shape[3], num_frames, seq.num_joints, max_persons), dtype=np.float32)
    out[:, :t, :, :m] = seq.data[:m, :t].transpose(3, 1, 2, 0)
    return out, t


def save_stgcn(
    data_path: PathLike,
    sequences: Sequence[SkeletonSequence],
    labels: Sequence[int],
    *,
    names: Sequence[str] | None = None,
    num_frames: int = 300,
    max_persons: int = 2,
    label_path: PathLike | None = None,
) -> NDArray[np.int64]:
    """Write ``(N, C, T, V, M)`` float32 ``.npy`` (memory-mapped, one sample at a time) and the label pickle.

    All sequences must share layout and channel count. ``label_path`` defaults to
    ``<data_path stem>_label.pkl`` next to it (ST-GCN's ``train_data.npy`` / ``train_label.pkl`` pair
    uses the part name: pass it explicitly for that). Returns the valid lengths ``(N,)``.
    """
    if len(sequences) != len(labels):
        raise ValueError(f"got {len(sequences)} sequences but {len(labels)} labels")
    if not sequences:
        raise ValueError("sequences is empty")
    shapes = {(s.layout, s.data.shape[3]) for s in sequences}
    if len(shapes) != 1:
        raise ValueError(f"sequences mix layouts/channel counts {sorted(shapes)}; convert them to one first")
    c, v = sequences[0].data.shape[3], sequences[0].num_joints
    names = (
        list(names) if names is not None else [str(s.source.get("path", i)) for i, s in enumerate(sequences)]
    )
    dp = Path(data_path)
    fp = np.lib.format.open_memmap(
        dp, mode="w+", dtype=np.float32, shape=(len(sequences), c, num_frames, v, max_persons)
    )
    lengths = np.zeros(len(sequences), dtype=np.int64)
    for i, s in enumerate(sequences):
        fp[i], lengths[i] = to_stgcn_sample(s, num_frames, max_persons)
    fp.flush()
    del fp
    lp = Path(label_path) if label_path is not None else dp.with_name(dp.stem + "_label.pkl")
    with open(lp, "wb") as f:
        pickle.dump((names, [int(x) for x in labels]), f)
    return lengths


def load_stgcn(
    data_path: PathLike, label_path: PathLike | None = None, *, mmap: bool = True
) -> tuple[NDArray[np.float32], list[str] | None, list[int] | None]:
    """Load an ST-GCN ``(N, C, T, V, M)`` ``.npy`` as a canonical ``(N, M, T, V, C)`` view.

    Returns ``(data, names, labels)``; names and labels are ``None`` without a label file.
    """
    dp = Path(data_path)
    arr = np.load(dp, mmap_mode="r" if mmap else None, allow_pickle=False)
    if arr.ndim != 5:
        raise SkeletonFormatError(dp, f"array has shape {arr.shape}; an ST-GCN file is (N, C, T, V, M)")
    view: NDArray[np.float32] = arr.transpose(0, 4, 2, 3, 1)
    if label_path is None:
        return view, None, None
    with open(label_path, "rb") as f:
        obj = safe_load(f)
    if not (isinstance(obj, tuple | list) and len(obj) == 2):
        raise SkeletonFormatError(label_path, "expected a pickled (sample_names, labels) pair")
    names, labels = list(obj[0]), [int(x) for x in obj[1]]
    if len(labels) != arr.shape[0]:
        raise SkeletonFormatError(label_path, f"{len(labels)} labels for {arr.shape[0]} samples")
    return view, names, labels


@dataclass
class PysklData:
    """A loaded pyskl annotation file."""

    sequences: list[SkeletonSequence]
    labels: list[int]
    names: list[str]
    split: dict[str, list[str]]
    annotations: list[dict[str, Any]]


def save_pyskl(
    path: PathLike,
    sequences: Sequence[SkeletonSequence],
    labels: Sequence[int],
    *,
    names: Sequence[str] | None = None,
    split: Mapping[str, Sequence[str]] | None = None,
    img_shape: tuple[int, int] | None = None,
) -> None:
    """Write a pyskl-style annotation pickle (see the module docstring)."""
    if len(sequences) != len(labels):
        raise ValueError(f"got {len(sequences)} sequences but {len(labels)} labels")
    names = list(names) if names is not None else [f"sample{i:06d}" for i in range(len(sequences))]
    if len(set(names)) != len(names):
        raise ValueError("names must be unique (they are pyskl's frame_dir keys)")
    anns = []
    for s, y, n in zip(sequences, labels, names, strict=True):
        d = s.dims
        ann: dict[str, Any] = {
            "frame_dir": n,
            "label": int(y),
            "total_frames": s.num_frames,
            "img_shape": img_shape,
            "original_shape": img_shape,
            "keypoint": np.ascontiguousarray(s.data[..., :d], dtype=np.float32),
            "layout": s.layout,
            "fps": s.fps,
        }
        if s.confidence is not None:
            ann["keypoint_score"] = np.ascontiguousarray(s.confidence, dtype=np.float32)
        anns.append(ann)
    obj = {"split": {k: list(v) for k, v in (split or {}).items()}, "annotations": anns}
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def annotation_sequence(a: Mapping[str, Any], i: int, path: PathLike, layout: str | None = None) -> SkeletonSequence:
    """One pyskl annotation dict (number ``i`` of file ``path``) as a :class:`SkeletonSequence`.

    ``C = D`` coordinates plus a score channel when ``keypoint_score`` is present; the layout comes
    from ``layout``, else the annotation's ``"layout"`` key, else a guess from ``(V, D)``.
    """
    p = Path(path)
    if "keypoint" not in a:
        raise SkeletonFormatError(p, f"annotation {i} ({a.get('frame_dir')}) has no 'keypoint'")
    kp = np.asarray(a["keypoint"], dtype=np.float32)
    if kp.ndim != 4:
        raise SkeletonFormatError(
            p, f"annotation {i}: keypoint has shape {kp.shape}, expected (M, T, V, D)"
        )
    score = a.get("keypoint_score")
    lay = layout or a.get("layout") or _GUESS.get((kp.shape[2], kp.shape[3]))
    if lay is None:
        raise SkeletonFormatError(
            p,
            f"annotation {i}: cannot tell the layout of {kp.shape[2]} joints x "
            f"{kp.shape[3]} dims; pass layout=",
        )
    conf = None
    data = kp
    if score is not None:
        conf = np.asarray(score, dtype=np.float32)
        if conf.shape != kp.shape[:3]:
            raise SkeletonFormatError(
                p, f"annotation {i}: keypoint_score shape {conf.shape} != {kp.shape[:3]}"
            )
        data = np.concatenate([kp, conf[..., None]], axis=-1)
    chans = ("x", "y", "z")[: kp.shape[3]] + (("score",) if score is not None else ())
    return SkeletonSequence(
        data=np.ascontiguousarray(data),
        layout=lay,
        fps=a.get("fps"),
        confidence=None if conf is None else conf.copy(),
        channels=chans,
        source={"path": str(p), "format": "pyskl", "frame_dir": a.get("frame_dir"), "img_shape": a.get("img_shape")},
    )


def read_pyskl_pickle(path: PathLike) -> dict[str, Any]:
    """The raw ``{"split": ..., "annotations": [...]}`` of a pyskl pickle (restricted unpickler).

    A bare list of annotations (older pyskl files) becomes ``{"split": {}, "annotations": list}``.
    """
    p = Path(path)
    with open(p, "rb") as f:
        try:
            obj = safe_load(f)
        except (pickle.UnpicklingError, EOFError) as e:
            raise SkeletonFormatError(p, f"cannot unpickle: {e}") from None
    if isinstance(obj, list):
        obj = {"split": {}, "annotations": obj}
    if not isinstance(obj, dict) or not isinstance(obj.get("annotations"), list):
        raise SkeletonFormatError(p, "not a pyskl annotation file (no 'annotations' list)")
    return obj


def load_pyskl(path: PathLike, *, layout: str | None = None) -> PysklData:
    """Read a pyskl annotation pickle into sequences (``C = D`` + 1 score channel when present).

    The layout comes from ``layout``, else the file's own ``"layout"`` key (written by
    :func:`save_pyskl`), else a guess from ``(V, D)``: 17 x 2 -> ``coco17``, 25 x 3 -> ``ntu25``, ...
    """
    p = Path(path)
    obj = read_pyskl_pickle(p)
    seqs, labels, names = [], [], []
    for i, a in enumerate(obj["annotations"]):
        seqs.append(annotation_sequence(a, i, p, layout))
        labels.append(int(a.get("label", -1)))
        names.append(str(a.get("frame_dir", i)))
    split = {str(k): [str(x) for x in v] for k, v in (obj.get("split") or {}).items()}
    return PysklData(seqs, labels, names, split, obj["annotations"])
