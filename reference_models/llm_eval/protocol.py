"""iMiGUE's video-level emotion protocol: 102 training and 100 test videos, won = positive, lost = negative.

The split is the dataset's official one (``evaluation protocol.pdf``, summarised in ``PROTOCOL.md``):
51 won / 51 lost training videos and 50 / 50 test videos. The remaining 157 annotated videos are in
no emotion split (``split=None``).

:func:`load_imigue` turns the label file into :class:`~reference_models.llm_eval.events.VideoRecord` s;
with ``events`` (a recognizer's predictions, see :func:`~reference_models.llm_eval.events.read_events_csv`)
the MG evidence comes from the predictions while the ground truth still comes from the label file.

Example:
    >>> from reference_models.llm_eval.protocol import TRAIN_VIDEOS, TEST_VIDEOS
    >>> len(TRAIN_VIDEOS), len(TEST_VIDEOS), len(set(TRAIN_VIDEOS) & set(TEST_VIDEOS))
    (102, 100, 0)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from reference_models.llm_eval._imigue import read_label_rows
from reference_models.llm_eval.events import MGEvent, VideoRecord, _video_sort_key

__all__ = ["LABEL_OF_OUTCOME", "TEST_VIDEOS", "TRAIN_VIDEOS", "load_imigue", "split_of"]

TRAIN_VIDEOS: tuple[int, ...] = (
    1, 7, 8, 11, 26, 27, 46, 47, 48, 53, 55, 57, 63, 66, 67, 74, 77, 84, 85, 86, 91, 96, 102, 103, 104, 105, 106,
    108, 109, 112, 114, 117, 124, 132, 134, 140, 148, 157, 161, 162, 163, 164, 167, 169, 170, 172, 176, 186, 196,
    216, 233, 236, 237, 239, 240, 241, 242, 243, 249, 252, 266, 290, 297, 300, 306, 310, 314, 318, 319, 320, 324,
    334, 339, 359, 360, 365, 369, 377, 381, 385, 392, 402, 407, 410, 411, 413, 414, 415, 420, 429, 433, 435, 436,
    440, 441, 445, 448, 449, 450, 451, 452, 453,
)
TEST_VIDEOS: tuple[int, ...] = (
    9, 10, 12, 16, 28, 35, 43, 49, 50, 51, 52, 54, 56, 60, 71, 72, 83, 89, 95, 100, 107, 110, 111, 121, 131, 136,
    144, 145, 165, 166, 168, 171, 174, 179, 185, 191, 193, 212, 220, 223, 230, 231, 232, 234, 235, 238, 244, 246,
    254, 258, 262, 263, 268, 270, 276, 280, 282, 303, 304, 311, 312, 313, 315, 316, 317, 322, 323, 325, 327, 328,
    329, 333, 337, 341, 343, 344, 363, 374, 400, 401, 403, 404, 405, 406, 408, 416, 417, 419, 421, 428, 430, 431,
    437, 438, 439, 442, 443, 444, 446, 447,
)

#: The press-conference scenario's ground truth: the player won -> positive, lost -> negative.
LABEL_OF_OUTCOME: Mapping[bool, str] = {True: "positive", False: "negative"}

_SPLIT = {**{str(v): "train" for v in TRAIN_VIDEOS}, **{str(v): "test" for v in TEST_VIDEOS}}


def split_of(video: str | int) -> str | None:
    """``"train"``, ``"test"`` or ``None`` for an iMiGUE video id."""
    return _SPLIT.get(str(video))


def load_imigue(labels_path: str | os.PathLike[str], *,
                events: Mapping[str, Iterable[MGEvent]] | None = None,
                splits: Iterable[str] = ("train", "test")) -> list[VideoRecord]:
    """Videos of the emotion protocol from ``labels_20200831.csv``.

    Args:
        labels_path: The iMiGUE label file (ground truth: ``win_or_lose``; MG annotations).
        events: Optional MG events per video id (a recognizer's predictions) to use as evidence instead
            of the annotations; a protocol video missing from it gets no events.
        splits: Which splits to return (``"train"``, ``"test"``; ``None`` in the tuple adds the videos
            outside the protocol).

    Returns:
        One record per video, sorted by numeric id, ``label`` ``"positive"``/``"negative"``.

    Raises:
        ValueError: the file is malformed (names the line), or a video's rows disagree on the outcome.
    """
    want = set(splits)
    bad = want - {"train", "test", None}
    if bad:
        raise ValueError(f"splits has {sorted(map(str, bad))}; use 'train', 'test' or None")
    rows = read_label_rows(labels_path)
    outcome: dict[str, bool] = {}
    annotated: dict[str, list[MGEvent]] = {}
    for r in rows:
        vid = str(r.video)
        if outcome.setdefault(vid, r.win) != r.win:
            raise ValueError(f"{labels_path}: video {vid} is both won and lost (line {r.line}); the file is corrupt")
        annotated.setdefault(vid, []).append(MGEvent(r.start_time, r.end_time, r.mg_class))
    missing = sorted((set(_SPLIT) - set(outcome)), key=int)
    if missing and want & {"train", "test"}:
        raise ValueError(f"{labels_path} has no rows for protocol videos {missing[:10]}; is it the full label file?")
    out = []
    for vid, win in outcome.items():
        split = split_of(vid)
        if split not in want:
            continue
        evs = annotated[vid] if events is None else list(events.get(vid, ()))
        out.append(VideoRecord(video=vid, events=tuple(evs), label=LABEL_OF_OUTCOME[win], split=split,
                               meta={"source": "predictions" if events is not None else "annotations"}))
    return sorted(out, key=_video_sort_key)
