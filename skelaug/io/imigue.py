"""iMiGUE: the label file, raw per-frame OpenPose output, the ``imigue22`` joint selection, clip cutting.

**Labels** (``labels_20200831.csv``): one row per MG segment,
``video_id,label_id,start_time,start_frame,end_time,end_frame,class,subject_id,subject_gender,
subject_nationality,win_or_lose``; 25 fps; ``start_frame = floor(25 * start_time)`` (true for every
row of the release); the segment covers frames ``start_frame..end_frame`` inclusive, 0-based indices
of the per-frame OpenPose files ``<video>_<frame:012d>_keypoints.json``. ``class`` is 1..31 for MGs and
99 for *illustrative body language* (non-MG), which the protocol calls class 32.

**Joint selection** (``imigue22``, the challenge release order): BODY_25 joints 0-7 (nose, neck,
right shoulder/elbow/wrist, left shoulder/elbow/wrist), 15-18 (right eye, left eye, right ear, left
ear), then the fingertips -- OpenPose hand keypoints 4, 8, 12, 16, 20 (thumb, index, middle, ring,
pinky) -- of ``hand_right_keypoints_2d`` (the hand at BODY_25 joint 4, the subject's right wrist),
then of ``hand_left_keypoints_2d`` (at joint 7). On video 298 the hand's own wrist keypoint 0 lies
within a few pixels of the matching body wrist in most frames (``tests/io/test_imigue.py`` checks it).

Example:
    >>> from skelaug.io.imigue import IMIGUE_CLASSES, imigue22_from_openpose_indices
    >>> IMIGUE_CLASSES[11], IMIGUE_CLASSES[32]
    ('touching jaw', 'illustrative body language')
    >>> imigue22_from_openpose_indices()[:3]
    [('body', 0), ('body', 1), ('body', 2)]
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from skelaug.io._base import PathLike, SkeletonFormatError, SkeletonSequence, read
from skelaug.io.people import select_people

__all__ = [
    "IMIGUE_CLASSES",
    "IMIGUE_FPS",
    "IMiGUELabel",
    "IMiGUERawLabel",
    "LabelledClip",
    "cut_clips",
    "imigue22_from_openpose_indices",
    "openpose_to_imigue22",
    "read_imigue_labels",
    "read_imigue_raw_labels",
    "read_imigue_skeleton",
]

#: Frame rate of the iMiGUE videos.
IMIGUE_FPS = 25.0

#: iMiGUE class names by class id (1..32; 32 is the non-MG class, written 99 in the files).
IMIGUE_CLASSES: dict[int, str] = {
    1: "turtle neck",
    2: "bulging face, deep breath",
    3: "touching hat",
    4: "touching or scratching head",
    5: "touching or scratching forehead",
    6: "covering face",
    7: "rubbing eyes",
    8: "touching or scratching facial parts",
    9: "touching ears",
    10: "biting nails",
    11: "touching jaw",
    12: "touching or scratching neck",
    13: "playing or adjusting hair",
    14: "buckling button, pulling shirt collar, adjusting tie",
    15: "touching or covering suprasternal notch",
    16: "scratching back",
    17: "folding arms",
    18: "dusting off clothes",
    19: "putting arms behind body",
    20: "moving torso",
    21: "sitting straightly",
    22: "scratching or touching arms",
    23: "rubbing or holding hands",
    24: "crossing fingers",
    25: "minaret gesture",
    26: "playing or manipulating objects",
    27: "holding back arms",
    28: "head up",
    29: "pressing lips",
    30: "arms akimbo",
    31: "shaking shoulders",
    32: "illustrative body language",
}

_COLUMNS = (
    "video_id",
    "label_id",
    "start_time",
    "start_frame",
    "end_time",
    "end_frame",
    "class",
    "subject_id",
    "subject_gender",
    "subject_nationality",
    "win_or_lose",
)


@dataclass(frozen=True)
class IMiGUELabel:
    """One MG segment of ``labels_20200831.csv`` (``mg_class`` 1..32; 99 in the file is 32)."""

    video: int
    label_id: int
    start_time: float
    start_frame: int
    end_time: float
    end_frame: int
    mg_class: int
    subject: int
    gender: str
    nationality: str
    win: bool
    line: int = 0

    @property
    def label(self) -> int:
        """0-based class index (``mg_class - 1``; 31 = illustrative, non-MG)."""
        return self.mg_class - 1

    @property
    def num_frames(self) -> int:
        """``end_frame - start_frame + 1``."""
        return self.end_frame - self.start_frame + 1


def read_imigue_labels(path: PathLike) -> list[IMiGUELabel]:
    """Read ``labels_20200831.csv``; every row is validated, errors name the line.

    Example:
        >>> import os
        >>> labels = read_imigue_labels(os.environ.get("SKELAUG_SHARED", "../shared")
        ...                             + "/data/imigue/labels_20200831.csv")  # doctest: +SKIP
        >>> len(labels), labels[0].mg_class                                     # doctest: +SKIP
        (18498, 20)
    """
    p = Path(path)
    with open(p, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise SkeletonFormatError(p, "empty file") from None
        if tuple(header[: len(_COLUMNS)]) != _COLUMNS:
            raise SkeletonFormatError(
                p, f"header {header} is not the iMiGUE label header {list(_COLUMNS)}", line=1
            )
        out = []
        for row in reader:
            lineno = reader.line_num
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise SkeletonFormatError(p, f"{len(row)} columns, expected {len(header)}", line=lineno)
            r = dict(zip(header, (c.strip() for c in row), strict=True))
            try:
                cls = int(r["class"])
                lab = IMiGUELabel(
                    video=int(r["video_id"]),
                    label_id=int(r["label_id"]),
                    start_time=float(r["start_time"]),
                    start_frame=int(r["start_frame"]),
                    end_time=float(r["end_time"]),
                    end_frame=int(r["end_frame"]),
                    mg_class=32 if cls == 99 else cls,
                    subject=int(r["subject_id"]),
                    gender=r["subject_gender"],
                    nationality=r["subject_nationality"],
                    win=_win(r["win_or_lose"], p, lineno),
                    line=lineno,
                )
            except ValueError as e:
                if isinstance(e, SkeletonFormatError):
                    raise
                raise SkeletonFormatError(p, f"malformed value ({e})", line=lineno) from None
            if not 1 <= lab.mg_class <= 32:
                raise SkeletonFormatError(p, f"class {cls} is not 1..31 or 99", line=lineno)
            if lab.end_frame < lab.start_frame or lab.start_frame < 0:
                raise SkeletonFormatError(
                    p, f"frame range {lab.start_frame}..{lab.end_frame} is empty", line=lineno
                )
            out.append(lab)
    return out


def _win(v: str, p: Path, line: int) -> bool:
    s = v.strip().lower()
    if s in ("win", "won", "1", "w"):
        return True
    if s in ("lose", "lost", "0", "l"):
        return False
    raise SkeletonFormatError(p, f"win_or_lose is {v!r}; expected Win or Lose", line=line)


class IMiGUERawLabel(NamedTuple):
    """One segment of a raw per-video label file: a ``(start_frame, end_frame, mg_class)`` tuple.

    It has the attributes :func:`cut_clips` reads (``start_frame``, ``end_frame``, both inclusive) and
    the ``label`` / ``num_frames`` of :class:`IMiGUELabel`; it still compares equal to the plain tuple.
    """

    start_frame: int
    end_frame: int
    mg_class: int

    @property
    def label(self) -> int:
        """0-based class index (``mg_class - 1``; 31 = illustrative, non-MG)."""
        return self.mg_class - 1

    @property
    def num_frames(self) -> int:
        """``end_frame - start_frame + 1``."""
        return self.end_frame - self.start_frame + 1


def read_imigue_raw_labels(path: PathLike, fps: float = IMIGUE_FPS) -> list[IMiGUERawLabel]:
    """Read a raw per-video label file (``Label/raw/<video>.txt``: tab-separated ``start_sec end_sec class``).

    Returns :class:`IMiGUERawLabel` ``(start_frame, end_frame, mg_class)`` records with
    ``frame = floor(fps * seconds)`` (the rule the released CSV follows) and class 99 mapped to 32. Like
    :func:`read_imigue_labels` they feed :func:`cut_clips` directly (the file is one video's, so there
    is no ``video`` to filter on).

    Example:
        >>> import os, tempfile, numpy as np
        >>> from skelaug.io import SkeletonSequence
        >>> path = os.path.join(tempfile.mkdtemp(), "298.txt")
        >>> _ = open(path, "w").write("0.5\\t1.0\\t4\\n2.0\\t2.2\\t99\\n")
        >>> labels = read_imigue_raw_labels(path)
        >>> labels[1], labels[1].label
        (IMiGUERawLabel(start_frame=50, end_frame=55, mg_class=32), 31)
        >>> video = SkeletonSequence(np.zeros((1, 100, 22, 3), np.float32), "imigue22")
        >>> [c.data.shape[1] for c in cut_clips(video, labels)]
        [14, 6]
    """
    p = Path(path)
    out = []
    for lineno, ln in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not ln.strip():
            continue
        f = ln.split()
        if len(f) != 3:
            raise SkeletonFormatError(
                p, f"{len(f)} fields, expected 3 (start_sec end_sec class)", line=lineno
            )
        try:
            a, b, c = float(f[0]), float(f[1]), int(f[2])
        except ValueError:
            raise SkeletonFormatError(p, f"malformed values {f}", line=lineno) from None
        if b < a or a < 0:
            raise SkeletonFormatError(p, f"segment {a}..{b} s is empty or negative", line=lineno)
        out.append(IMiGUERawLabel(math.floor(a * fps), math.floor(b * fps), 32 if c == 99 else c))
    return out


_TIPS = (4, 8, 12, 16, 20)


def imigue22_from_openpose_indices() -> list[tuple[str, int]]:
    """Source of each ``imigue22`` joint: ``("body", BODY_25 index)`` or ``("hand_right"|"hand_left", k)``."""
    return (
        [("body", i) for i in range(8)]
        + [("body", i) for i in (15, 16, 17, 18)]
        + [("hand_right", k) for k in _TIPS]
        + [("hand_left", k) for k in _TIPS]
    )


def openpose_to_imigue22(seq: SkeletonSequence) -> SkeletonSequence:
    """Map a BODY_25 (+ hands) OpenPose sequence to ``imigue22`` (see the module docstring).

    Without hand keypoints the fingertips are missing (zero) and counted in
    ``counts['fingertips_unavailable']``.
    """
    if seq.layout != "openpose25":
        raise ValueError(f"seq.layout is {seq.layout!r}; the imigue22 mapping needs OpenPose BODY_25 input")
    m, t = seq.num_persons, seq.num_frames
    out = np.zeros((m, t, 22, 3), dtype=np.float32)
    src = imigue22_from_openpose_indices()
    missing_hands = 0
    for j, (part, k) in enumerate(src):
        if part == "body":
            out[:, :, j] = seq.data[:, :, k, :3]
        elif part in seq.extras:
            out[:, :, j] = seq.extras[part][:, :, k, :3]
        else:
            missing_hands += 1
    counts = dict(seq.counts)
    if missing_hands:
        counts["fingertips_unavailable"] = missing_hands
    source = dict(seq.source)
    source["mapped_from"] = "openpose25+hands"
    return SkeletonSequence(
        data=out,
        layout="imigue22",
        fps=seq.fps,
        confidence=out[..., 2].copy(),
        channels=("x", "y", "score"),
        source=source,
        counts=counts,
        extras={k: v for k, v in seq.extras.items() if k in ("hand_left", "hand_right")},
    )


def read_imigue_skeleton(
    path: PathLike,
    *,
    max_persons: int = 1,
    select: str = "confidence",
    cache_dir: PathLike | None = None,
    **options: Any,
) -> SkeletonSequence:
    """Read one iMiGUE video's raw OpenPose output (folder or tar archive) as ``imigue22`` at 25 fps.

    People are tracked across frames and the ``max_persons`` most confident tracks kept (the
    interviewee; ``counts['persons_dropped']`` says how many others were seen). ``cache_dir`` keeps
    a parsed copy (see :func:`skelaug.io.read`), which makes the second read of a 21,000-file video
    take well under a second.
    """
    seq = read(path, fps=IMIGUE_FPS, cache_dir=cache_dir, **options)
    if seq.layout != "openpose25":
        raise SkeletonFormatError(path, f"expected OpenPose BODY_25 output, got layout {seq.layout!r}")
    seq = select_people(seq, max_persons, by=select, pad=True)
    return openpose_to_imigue22(seq)


@dataclass(frozen=True)
class LabelledClip:
    """A cut clip: ``sequence`` (frames ``start_frame..end_frame`` of the video) and its label record."""

    sequence: SkeletonSequence
    label: Any

    @property
    def data(self) -> np.ndarray:
        return self.sequence.data


def cut_clips(
    seq: SkeletonSequence, labels: Iterable[Any], *, video: int | None = None
) -> list[LabelledClip]:
    """Cut labelled clips ``start_frame..end_frame`` (inclusive) out of a video sequence.

    Args:
        seq: The whole video.
        labels: Records with ``start_frame`` and ``end_frame`` (:class:`IMiGUELabel`,
            :class:`IMiGUERawLabel`, :class:`skelaug.io.smg.SMGLabel`, ...).
        video: Keep only labels whose ``video`` attribute equals this.

    Raises:
        TypeError: a label lacks ``start_frame`` / ``end_frame``.
        ValueError: a segment reaches past the end of the sequence (naming it).
    """
    out = []
    for i, lab in enumerate(labels):
        if video is not None and getattr(lab, "video", video) != video:
            continue
        if not (hasattr(lab, "start_frame") and hasattr(lab, "end_frame")):
            raise TypeError(
                f"labels[{i}] is {type(lab).__name__} {lab!r}; cut_clips needs records with start_frame and "
                f"end_frame attributes (read_imigue_labels, read_imigue_raw_labels, read_smg_labels)"
            )
        a, b = int(lab.start_frame), int(lab.end_frame)
        if b >= seq.num_frames:
            raise ValueError(
                f"label {lab!r} ends at frame {b} but the sequence has {seq.num_frames} frames; "
                f"is it the right video?"
            )
        out.append(LabelledClip(seq.frames(a, b + 1), lab))
    return out


def subjects_of(labels: Sequence[IMiGUELabel]) -> list[int]:
    """Sorted distinct subject ids."""
    return sorted({lab.subject for lab in labels})
