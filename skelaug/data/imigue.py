"""iMiGUE datasets and official protocols (nothing downloads: give the local label file and skeletons).

**MG recognition (cross-subject)**: clips of 37 training subjects vs 35 test subjects; the label
file gives 13,935 / 4,563 samples (the protocol text says 13,936 train). 32 classes, class 32 the
non-MG illustrative gestures.

**Emotion (video level)**: 102 training videos (51 won, 51 lost) and 100 test videos (50 / 50); the
target is whether the player won.

Example:
    >>> from skelaug.data.imigue import MG_TRAIN_SUBJECTS, MG_TEST_SUBJECTS, EMOTION_TRAIN_VIDEOS
    >>> len(MG_TRAIN_SUBJECTS), len(MG_TEST_SUBJECTS), len(EMOTION_TRAIN_VIDEOS)
    (37, 35, 102)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray

from skelaug.data.datasets import ClipDataset
from skelaug.io._base import PathLike
from skelaug.io.imigue import IMIGUE_CLASSES, IMiGUELabel, cut_clips, read_imigue_labels, read_imigue_skeleton

__all__ = [
    "EMOTION_TEST_VIDEOS",
    "EMOTION_TRAIN_VIDEOS",
    "MG_TEST_SUBJECTS",
    "MG_TRAIN_SUBJECTS",
    "IMiGUEDataset",
    "IMiGUEEmotionDataset",
    "emotion_split",
    "find_video",
    "mg_split",
]

#: iMiGUE cross-subject MG protocol: the 37 training subjects.
MG_TRAIN_SUBJECTS = frozenset(
    {
        2,
        4,
        5,
        6,
        9,
        10,
        12,
        13,
        14,
        15,
        17,
        18,
        20,
        21,
        22,
        23,
        25,
        28,
        29,
        30,
        31,
        35,
        36,
        38,
        39,
        41,
        42,
        43,
        44,
        46,
        47,
        48,
        52,
        53,
        59,
        61,
        62,
    }
)
#: iMiGUE cross-subject MG protocol: the 35 test subjects.
MG_TEST_SUBJECTS = frozenset(
    {
        1,
        3,
        7,
        8,
        11,
        16,
        19,
        24,
        26,
        27,
        32,
        33,
        34,
        37,
        40,
        45,
        49,
        50,
        51,
        54,
        55,
        56,
        57,
        58,
        60,
        63,
        64,
        65,
        66,
        67,
        68,
        69,
        70,
        71,
        72,
    }
)
#: iMiGUE emotion protocol: the 102 training videos (51 won, 51 lost).
EMOTION_TRAIN_VIDEOS = frozenset(
    {
        1,
        7,
        8,
        11,
        26,
        27,
        46,
        47,
        48,
        53,
        55,
        57,
        63,
        66,
        67,
        74,
        77,
        84,
        85,
        86,
        91,
        96,
        102,
        103,
        104,
        105,
        106,
        108,
        109,
        112,
        114,
        117,
        124,
        132,
        134,
        140,
        148,
        157,
        161,
        162,
        163,
        164,
        167,
        169,
        170,
        172,
        176,
        186,
        196,
        216,
        233,
        236,
        237,
        239,
        240,
        241,
        242,
        243,
        249,
        252,
        266,
        290,
        297,
        300,
        306,
        310,
        314,
        318,
        319,
        320,
        324,
        334,
        339,
        359,
        360,
        365,
        369,
        377,
        381,
        385,
        392,
        402,
        407,
        410,
        411,
        413,
        414,
        415,
        420,
        429,
        433,
        435,
        436,
        440,
        441,
        445,
        448,
        449,
        450,
        451,
        452,
        453,
    }
)
#: iMiGUE emotion protocol: the 100 test videos (50 won, 50 lost).
EMOTION_TEST_VIDEOS = frozenset(
    {
        9,
        10,
        12,
        16,
        28,
        35,
        43,
        49,
        50,
        51,
        52,
        54,
        56,
        60,
        71,
        72,
        83,
        89,
        95,
        100,
        107,
        110,
        111,
        121,
        131,
        136,
        144,
        145,
        165,
        166,
        168,
        171,
        174,
        179,
        185,
        191,
        193,
        212,
        220,
        223,
        230,
        231,
        232,
        234,
        235,
        238,
        244,
        246,
        254,
        258,
        262,
        263,
        268,
        270,
        276,
        280,
        282,
        303,
        304,
        311,
        312,
        313,
        315,
        316,
        317,
        322,
        323,
        325,
        327,
        328,
        329,
        333,
        337,
        341,
        343,
        344,
        363,
        374,
        400,
        401,
        403,
        404,
        405,
        406,
        408,
        416,
        417,
        419,
        421,
        428,
        430,
        431,
        437,
        438,
        439,
        442,
        443,
        444,
        446,
        447,
    }
)

Split = Literal["train", "test"]


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r}; use 'train' or 'test'")


def mg_split(labels: Sequence[IMiGUELabel], split: Split) -> list[IMiGUELabel]:
    """The MG-recognition samples of ``split`` (cross-subject protocol)."""
    _check_split(split)
    subj = MG_TRAIN_SUBJECTS if split == "train" else MG_TEST_SUBJECTS
    return [lab for lab in labels if lab.subject in subj]


def emotion_split(labels: Sequence[IMiGUELabel], split: Split) -> dict[int, bool]:
    """Videos of ``split`` in the emotion protocol -> won (``True``) / lost, from the label file.

    Raises:
        ValueError: a protocol video is absent from ``labels`` or its rows disagree on win/lose.
    """
    _check_split(split)
    vids = EMOTION_TRAIN_VIDEOS if split == "train" else EMOTION_TEST_VIDEOS
    out: dict[int, bool] = {}
    for lab in labels:
        if lab.video in vids:
            if out.setdefault(lab.video, lab.win) != lab.win:
                raise ValueError(f"video {lab.video} has rows marked both Win and Lose (line {lab.line})")
    missing = sorted(vids - set(out))
    if missing:
        raise ValueError(f"emotion protocol videos {missing[:10]} have no rows in the label file")
    return dict(sorted(out.items()))


_PATTERNS = (
    "{v}",
    "{v}.tar.xz",
    "{v}.tar.gz",
    "{v}.tgz",
    "{v}.tar",
    "skeleton_{v}_openpose.tar.xz",
    "skeleton_{v}_openpose.tar",
    "skeleton_{v}",
    "raw/{v}",
)


def find_video(root: PathLike, video: int) -> Path | None:
    """Locate video ``video``'s raw OpenPose output under ``root``: a folder ``<v>/`` (or ``raw/<v>/``)
    of per-frame JSON, or an archive ``<v>.tar[.xz|.gz]`` / ``skeleton_<v>_openpose.tar.xz``."""
    r = Path(root)
    for pat in _PATTERNS:
        p = r / pat.format(v=video)
        if p.exists():
            return p
    return None


class IMiGUEDataset(ClipDataset):
    """iMiGUE MG clips of one split (cross-subject protocol), from raw OpenPose output.

    At construction every needed video is read once (``imigue22``, the most confident person, 25
    fps; use ``cache_dir`` so later runs load a parsed copy in well under a second per video) and
    its labelled clips are cut and kept in memory (about 5 MB per hour of video).

    Args:
        labels: ``labels_20200831.csv``.
        skeleton_root: Folder holding each video's OpenPose output (see :func:`find_video`), or
            ``video_paths`` mapping video id -> folder/archive.
        split: ``"train"``, ``"test"`` or ``None`` (all rows).
        missing: ``"error"`` if a needed video is not found, or ``"skip"`` its clips (counted in
            ``counts['videos_missing']`` and ``counts['clips_missing']``).
        num_frames, max_persons, sampling, transform, seed: see :class:`ClipDataset`.

    Items: ``data`` ``(max_persons, num_frames, 22, 3)``, ``length``, ``label`` (0..31; 31 =
    illustrative), ``subject``, ``video``, ``win``.
    """

    def __init__(
        self,
        labels: PathLike,
        skeleton_root: PathLike | None = None,
        *,
        split: Split | None = "train",
        video_paths: Mapping[int, PathLike] | None = None,
        missing: str = "error",
        num_frames: int = 64,
        max_persons: int = 1,
        sampling: str = "centre",
        transform: Any = None,
        seed: int | None = None,
        cache_dir: PathLike | None = None,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=max_persons, sampling=sampling, transform=transform, seed=seed
        )
        if missing not in ("error", "skip"):
            raise ValueError(f"missing={missing!r}; use 'error' or 'skip'")
        rows = read_imigue_labels(labels)
        if split is not None:
            rows = mg_split(rows, split)
        self.class_names = [IMIGUE_CLASSES[k] for k in range(1, 33)]
        self.layout = "imigue22"
        by_video: dict[int, list[IMiGUELabel]] = {}
        for lab in rows:
            by_video.setdefault(lab.video, []).append(lab)
        self.clips: list[NDArray[np.float32]] = []
        self.records: list[IMiGUELabel] = []
        n_missing_v = n_missing_c = 0
        for vid, labs in sorted(by_video.items()):
            path = (
                Path(video_paths[vid])
                if video_paths and vid in video_paths
                else (find_video(skeleton_root, vid) if skeleton_root is not None else None)
            )
            if path is None:
                if missing == "error":
                    raise FileNotFoundError(
                        f"no OpenPose output for iMiGUE video {vid} under {skeleton_root}; "
                        f"pass video_paths= or missing='skip'"
                    )
                n_missing_v += 1
                n_missing_c += len(labs)
                continue
            seq = read_imigue_skeleton(path, max_persons=max_persons, cache_dir=cache_dir)
            for clip in cut_clips(seq, labs):
                self.clips.append(clip.sequence.data)
                self.records.append(clip.label)
        self.labels = np.array([r.label for r in self.records], dtype=np.int64)
        self.counts = {
            "videos_missing": n_missing_v,
            "clips_missing": n_missing_c,
            "clips": len(self.records),
        }

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        x = self.clips[index]
        return x, int(x.shape[1])

    def meta(self, index: int) -> dict[str, Any]:
        r = self.records[index]
        return {"subject": r.subject, "video": r.video, "win": int(r.win)}


class IMiGUEEmotionDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Video-level emotion protocol: one item per video, target won (1) / lost (0).

    Items: ``video``, ``label`` (1 won), ``mg_classes`` (``(K,)`` int64, 1..32, in time order) and
    ``segments`` (``(K, 2)`` start/end frames). ``K`` varies: batch with ``batch_size=None`` or a
    custom ``collate_fn``.
    """

    def __init__(self, labels: PathLike, *, split: Split = "train") -> None:
        rows = read_imigue_labels(labels)
        self.videos = emotion_split(rows, split)
        self._rows: dict[int, list[IMiGUELabel]] = {}
        for lab in rows:
            if lab.video in self.videos:
                self._rows.setdefault(lab.video, []).append(lab)
        self.ids = list(self.videos)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        vid = self.ids[index]
        labs = sorted(self._rows[vid], key=lambda r: (r.start_frame, r.label_id))
        return {
            "video": vid,
            "label": int(self.videos[vid]),
            "mg_classes": torch.tensor([r.mg_class for r in labs], dtype=torch.int64),
            "segments": torch.tensor([[r.start_frame, r.end_frame] for r in labs], dtype=torch.int64),
        }
