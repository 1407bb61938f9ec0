"""NW-UCLA (Northwestern-UCLA Multiview Action3D) from the ``all_sqe`` JSON folder (nothing downloads).

1,484 clips of 10 actions by 10 subjects, each filmed by three Kinect v1 cameras (views 1-3); 20 joints
in the ``kinect20`` order, metres. **Cross-view protocol** (the standard one, CTR-GCN / InfoGCN): train on
views 1 and 2 (1,020 clips), test on view 3 (464 clips). Clips have 1 to 201 frames (median 31).

Every clip of the split is parsed at construction (about a second for all 1,484 files) and kept in memory
(about 14 MB); with ``cache_dir`` later constructions load one parsed ``.npz`` instead.

Example:
    >>> from skelaug.data.nwucla import NWUCLA_TRAIN_VIEWS
    >>> sorted(NWUCLA_TRAIN_VIEWS)
    [1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from skelaug.data._clip_cache import read_clips
from skelaug.data.datasets import ClipDataset
from skelaug.io._base import PathLike
from skelaug.io.nwucla import NWUCLA_ACTIONS, NWUCLA_CLASSES, nwucla_name_fields, read_nwucla_json

__all__ = ["NWUCLA", "NWUCLA_TRAIN_VIEWS"]

#: Cross-view protocol: the training views (view 3 is the test view).
NWUCLA_TRAIN_VIEWS = frozenset({1, 2})


def _clip_folder(root: PathLike) -> Path:
    r = Path(root)
    if (r / "all_sqe").is_dir():
        return r / "all_sqe"
    if r.is_dir() and any(r.glob("a*_s*_e*_v*.json")):
        return r
    raise FileNotFoundError(
        f"root={str(r)!r} holds no NW-UCLA clips: expected a folder all_sqe/ with aXX_sYY_eZZ_vWW.json files "
        f"(or those files directly)"
    )


class NWUCLA(ClipDataset):
    """NW-UCLA clips of one split of the cross-view protocol.

    Args:
        root: The folder holding ``all_sqe/`` (or ``all_sqe`` itself).
        split: ``"train"`` (views in ``train_views``), ``"test"`` (views in ``test_views``) or ``None``
            (all clips).
        train_views: Training views of the cross-view protocol (default 1 and 2; test = view 3).
        test_views: Test views (default: the views not in ``train_views``). With
            ``train_views=(1,), test_views=(2,)`` view 3 is left out entirely: a validation split for
            choosing hyperparameters without looking at the protocol's test view.
        cache_dir: Folder for a parsed copy of the split (one ``.npz``; never inside your repository).
        num_frames (default 64), max_persons (1), sampling, transform, seed: see :class:`ClipDataset`.
            Longer clips are cropped (``sampling``), shorter ones zero-padded; ``length`` says how many
            frames are real.

    Attributes:
        files: The clip files, sorted by name.
        lengths: ``(N,)`` int64 frame counts of the clips as stored.
        subjects, views, repetitions: ``(N,)`` int64, 1-based, from the file names.

    Items: ``data`` ``(max_persons, num_frames, 20, 3)`` metres, ``length``, ``label`` (0..9, the file's
    label - 1; :data:`skelaug.io.NWUCLA_CLASSES`), ``subject``, ``view``.

    Example:
        >>> import json, os, tempfile
        >>> root = tempfile.mkdtemp(); os.mkdir(os.path.join(root, "all_sqe"))
        >>> for v in (1, 2, 3):
        ...     clip = {"file_name": f"a02_s01_e00_v0{v}", "skeletons": [[[0.1, 0.2, 3.0]] * 20] * 5, "label": 2}
        ...     _ = open(os.path.join(root, "all_sqe", f"a02_s01_e00_v0{v}.json"), "w").write(json.dumps(clip))
        >>> ds = NWUCLA(root, split="train", num_frames=8)
        >>> len(ds), tuple(ds[0]["data"].shape), ds[0]["length"], ds[0]["label"], ds[1]["view"]
        (2, (1, 8, 20, 3), 5, 1, 2)
    """

    def __init__(
        self,
        root: PathLike,
        *,
        split: Literal["train", "test"] | None = "train",
        train_views: Sequence[int] = (1, 2),
        test_views: Sequence[int] | None = None,
        cache_dir: PathLike | None = None,
        num_frames: int = 64,
        max_persons: int = 1,
        sampling: str = "centre",
        transform: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=max_persons, sampling=sampling, transform=transform, seed=seed
        )
        if split not in ("train", "test", None):
            raise ValueError(f"split={split!r}; use 'train', 'test' or None")
        views = frozenset(int(v) for v in train_views)
        if not views or not views <= {1, 2, 3}:
            raise ValueError(f"train_views={tuple(train_views)!r}; give a non-empty subset of the views 1, 2, 3")
        tests = frozenset({1, 2, 3} - views) if test_views is None else frozenset(int(v) for v in test_views)
        if test_views is not None and (not tests or not tests <= {1, 2, 3} or tests & views):
            raise ValueError(
                f"test_views={tuple(test_views)!r} with train_views={tuple(sorted(views))!r}; give a non-empty "
                "subset of the views 1, 2, 3 that shares no view with train_views"
            )
        folder = _clip_folder(root)
        files: list[Path] = []
        fields: list[dict[str, int]] = []
        for f in sorted(folder.glob("*.json")):
            fl = nwucla_name_fields(f.name)
            if not fl:
                raise ValueError(f"{f}: file name does not follow aXX_sYY_eZZ_vWW.json")
            if fl["action"] not in NWUCLA_ACTIONS:
                raise ValueError(f"{f}: action a{fl['action']:02d} is not an NW-UCLA action")
            if split is None or fl["view"] in (views if split == "train" else tests):
                files.append(f)
                fields.append(fl)
        clips, sources = read_clips(files, read_nwucla_json, reader="nwucla_json", cache_dir=cache_dir)
        labels = []
        for f, fl, src in zip(files, fields, sources, strict=True):
            expected = NWUCLA_ACTIONS[fl["action"]]
            if src.get("label") is not None and src["label"] != expected:
                raise ValueError(
                    f"{f}: label {src['label']} disagrees with action a{fl['action']:02d} of the name "
                    f"(label {expected})"
                )
            labels.append(expected - 1)
        self.files = files
        self.clips: list[NDArray[np.float32]] = clips
        self.labels = np.array(labels, dtype=np.int64)
        self.lengths = np.array([c.shape[1] for c in clips], dtype=np.int64)
        self.subjects = np.array([fl["subject"] for fl in fields], dtype=np.int64)
        self.views = np.array([fl["view"] for fl in fields], dtype=np.int64)
        self.repetitions = np.array([fl["repetition"] for fl in fields], dtype=np.int64)
        self.class_names = list(NWUCLA_CLASSES)
        self.layout = "kinect20"
        self.counts = {"clips": len(files)}

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        x = self.clips[index]
        return x, int(x.shape[1])

    def meta(self, index: int) -> dict[str, Any]:
        return {"subject": int(self.subjects[index]), "view": int(self.views[index])}
