"""UTD-MHAD skeletons from a folder of ``aA_sS_tT_skeleton.mat`` files (nothing downloads).

The full release has 861 clips of 27 actions by 8 subjects (4 trials each; 3 clips are missing from the
864); 20 Kinect v1 joints, reordered by the reader into ``kinect20``, 30 fps. **Cross-subject protocol**
(the dataset authors'): odd subjects (1, 3, 5, 7) train, even subjects (2, 4, 6, 8) test.

Example:
    >>> from skelaug.data.utd_mhad import UTD_MHAD_TRAIN_SUBJECTS
    >>> sorted(UTD_MHAD_TRAIN_SUBJECTS)
    [1, 3, 5, 7]
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
from skelaug.io.utd_mhad import UTD_MHAD_CLASSES, read_utd_mhad_mat, utd_mhad_name_fields

__all__ = ["UTDMHAD", "UTD_MHAD_TRAIN_SUBJECTS"]

#: Cross-subject protocol: the training subjects (the even ones test).
UTD_MHAD_TRAIN_SUBJECTS = frozenset({1, 3, 5, 7})


class UTDMHAD(ClipDataset):
    """UTD-MHAD skeleton clips of one split of the cross-subject protocol.

    Args:
        root: Folder holding the ``aA_sS_tT_skeleton.mat`` files (searched recursively).
        split: ``"train"`` (subjects in ``train_subjects``), ``"test"`` (the others) or ``None`` (all).
        train_subjects: Training subjects (default the odd ones, 1, 3, 5, 7).
        cache_dir: Folder for a parsed copy of the split (one ``.npz``; never inside your repository).
        num_frames (default 128), max_persons (1), sampling, transform, seed: see :class:`ClipDataset`.

    Attributes:
        files: The clip files, sorted by (action, subject, trial).
        lengths: ``(N,)`` int64 frame counts as stored.
        subjects, trials: ``(N,)`` int64, 1-based, from the file names.

    Items: ``data`` ``(max_persons, num_frames, 20, 3)`` metres (``kinect20`` order), ``length``,
    ``label`` (action - 1, 0..26; :data:`skelaug.io.UTD_MHAD_CLASSES`), ``subject``, ``trial``.

    Example:
        >>> import os, tempfile, numpy as np, scipy.io
        >>> root = tempfile.mkdtemp()
        >>> for s in (1, 2, 3):
        ...     scipy.io.savemat(os.path.join(root, f"a4_s{s}_t1_skeleton.mat"), {"d_skel": np.ones((20, 3, 9))})
        >>> ds = UTDMHAD(root, split="train", num_frames=16)
        >>> len(ds), tuple(ds[0]["data"].shape), ds[0]["length"], ds[0]["label"], [ds[i]["subject"] for i in range(2)]
        (2, (1, 16, 20, 3), 9, 3, [1, 3])
    """

    def __init__(
        self,
        root: PathLike,
        *,
        split: Literal["train", "test"] | None = "train",
        train_subjects: Sequence[int] = (1, 3, 5, 7),
        cache_dir: PathLike | None = None,
        num_frames: int = 128,
        max_persons: int = 1,
        sampling: str = "centre",
        transform: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=max_persons, sampling=sampling, transform=transform, seed=seed
        )
        if split not in ("train", "test", None):
            raise ValueError(f"split={split!r}; use 'train', 'test' or None")
        subjects = frozenset(int(s) for s in train_subjects)
        if not subjects:
            raise ValueError("train_subjects is empty; give the training subjects (default 1, 3, 5, 7)")
        r = Path(root)
        if not r.is_dir():
            raise FileNotFoundError(f"root={str(r)!r} is not a folder; give the folder holding the .mat files")
        found: list[tuple[tuple[int, int, int], Path, dict[str, int]]] = []
        for f in r.rglob("*_skeleton.mat"):
            fl = utd_mhad_name_fields(f.name)
            if not fl:
                raise ValueError(f"{f}: file name does not follow aA_sS_tT_skeleton.mat")
            if not 1 <= fl["action"] <= 27:
                raise ValueError(f"{f}: action {fl['action']} is outside UTD-MHAD's 1..27")
            if split is None or (fl["subject"] in subjects) == (split == "train"):
                found.append(((fl["action"], fl["subject"], fl["trial"]), f, fl))
        if not found and not any(r.rglob("*_skeleton.mat")):
            raise FileNotFoundError(f"root={str(r)!r} holds no aA_sS_tT_skeleton.mat files")
        found.sort(key=lambda item: item[0])
        self.files = [f for _, f, _ in found]
        fields = [fl for _, _, fl in found]
        clips, _ = read_clips(self.files, read_utd_mhad_mat, reader="utd_mhad_mat", cache_dir=cache_dir)
        self.clips: list[NDArray[np.float32]] = clips
        self.labels = np.array([fl["action"] - 1 for fl in fields], dtype=np.int64)
        self.lengths = np.array([c.shape[1] for c in clips], dtype=np.int64)
        self.subjects = np.array([fl["subject"] for fl in fields], dtype=np.int64)
        self.trials = np.array([fl["trial"] for fl in fields], dtype=np.int64)
        self.class_names = list(UTD_MHAD_CLASSES)
        self.layout = "kinect20"
        self.counts = {"clips": len(self.files)}

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        x = self.clips[index]
        return x, int(x.shape[1])

    def meta(self, index: int) -> dict[str, Any]:
        return {"subject": int(self.subjects[index]), "trial": int(self.trials[index])}
