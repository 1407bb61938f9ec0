"""iMiGUE's video-level emotion protocol: 102 training and 100 test videos, won = positive, lost = negative.

The split is the dataset's official one (``evaluation protocol.pdf``, summarised in ``PROTOCOL.md``;
the lists live in :mod:`skelaug.data.imigue`, the label reader in :mod:`skelaug.io.imigue`):
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

from reference_models.llm_eval.events import MGEvent, VideoRecord, _video_sort_key
from skelaug.data.imigue import EMOTION_TEST_VIDEOS, EMOTION_TRAIN_VIDEOS
from skelaug.io.imigue import read_imigue_labels

__all__ = ["LABEL_OF_OUTCOME", "TEST_VIDEOS", "TRAIN_VIDEOS", "load_imigue", "split_of"]

#: The official emotion split (from :mod:`skelaug.data.imigue`), as sorted tuples.
TRAIN_VIDEOS: tuple[int, ...] = tuple(sorted(EMOTION_TRAIN_VIDEOS))
TEST_VIDEOS: tuple[int, ...] = tuple(sorted(EMOTION_TEST_VIDEOS))

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
    rows = read_imigue_labels(labels_path)
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
