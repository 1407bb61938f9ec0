"""Per-video MG events: the input of the scenario builder, from annotations or a recognizer's output.

A video is a :class:`VideoRecord`: its id, its MG events (start and end in seconds, canonical class id,
optional recognizer score), the scenario label (an option key such as ``"positive"``) and the split.

Two file formats are read here (the iMiGUE label file itself is read by :mod:`._imigue`):

* **events CSV** (a recognizer's predictions, or your own annotations): header with ``video_id``,
  ``class`` and either ``start_time,end_time`` (seconds) or ``start_frame,end_frame`` (with ``fps``);
  an optional ``score`` column. Class codes are checked against the vocabulary (aliases such as
  iMiGUE's ``99`` are accepted). Other columns are ignored, so the iMiGUE label file itself is a
  valid events CSV.
* **video-labels CSV**: ``video_id,label`` and an optional ``split`` column (``train`` / ``test``).

Example:
    >>> import io
    >>> from reference_models.llm_eval.events import parse_events_csv
    >>> text = "video_id,start_time,end_time,class,score\\n7,1.5,2.0,31,0.9\\n7,0.2,1.0,99,0.4\\n"
    >>> ev = parse_events_csv(io.StringIO(text), source="preds.csv")
    >>> [(e.start, e.mg_class, e.score) for e in ev["7"]]
    [(0.2, 32, 0.4), (1.5, 31, 0.9)]
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from reference_models.llm_eval.vocabulary import IMIGUE, MGVocabulary

__all__ = [
    "MGEvent",
    "VideoRecord",
    "make_videos",
    "parse_events_csv",
    "read_events_csv",
    "read_video_labels",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, order=True)
class MGEvent:
    """One MG occurrence: ``start`` and ``end`` in seconds from the video start, canonical class id.

    ``score`` is a recognizer's confidence in ``[0, 1]`` (``None`` for annotations).
    """

    start: float
    end: float
    mg_class: int
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.start < 0 or self.end < self.start:
            raise ValueError(f"MGEvent times start={self.start}, end={self.end} are invalid; "
                             "need 0 <= start <= end, finite seconds")


@dataclass(frozen=True)
class VideoRecord:
    """A video's MG evidence source and ground truth.

    Args:
        video: Video id (a string; iMiGUE's integer ids become ``"371"``).
        events: MG events sorted by ``(start, end, class)``.
        label: Scenario option key (e.g. ``"positive"``), or ``None`` if unknown.
        split: ``"train"``, ``"test"`` or ``None``.
        duration: Observed length in seconds if known; else the evidence uses the last event's end.
        meta: Free-form provenance (not shown in prompts).
    """

    video: str
    events: tuple[MGEvent, ...]
    label: str | None = None
    split: str | None = None
    duration: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", tuple(sorted(self.events)))


def _open_csv_rows(f: IO[str], source: str) -> tuple[list[str], Iterable[tuple[int, list[str]]]]:
    reader = csv.reader(f)
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ValueError(f"{source}: empty file; expected a CSV header line") from None

    def rows() -> Iterable[tuple[int, list[str]]]:
        for row in reader:
            if row and any(c.strip() for c in row):
                if len(row) != len(header):
                    raise ValueError(f"{source}, line {reader.line_num}: {len(row)} columns, header has {len(header)}")
                yield reader.line_num, [c.strip() for c in row]

    return header, rows()


def parse_events_csv(f: IO[str], *, source: str = "<events>", vocabulary: MGVocabulary = IMIGUE,
                     fps: float | None = None, min_score: float | None = None) -> dict[str, list[MGEvent]]:
    """Parse an events CSV from an open text stream (see the module docstring for the columns).

    Args:
        f: Text stream.
        source: Name used in error messages (the file path).
        vocabulary: Class vocabulary the codes are checked against.
        fps: Frame rate, needed only when the file gives frames instead of seconds.
        min_score: Drop events whose ``score`` is below this (recognizer output).

    Returns:
        Video id -> events sorted by time.
    """
    header, rows = _open_csv_rows(f, source)
    col = {h: i for i, h in enumerate(header)}
    for need in ("video_id", "class"):
        if need not in col:
            raise ValueError(f"{source}: header {header} has no {need!r} column; expected video_id,start_time,"
                             "end_time,class[,score]")
    use_time = "start_time" in col and "end_time" in col
    if not use_time:
        if not ("start_frame" in col and "end_frame" in col):
            raise ValueError(f"{source}: header {header} has neither start_time,end_time nor start_frame,end_frame")
        if fps is None or not fps > 0:
            raise ValueError(f"{source} gives frames, not seconds; pass fps (got {fps!r}), e.g. fps=25 for iMiGUE")
    out: dict[str, list[MGEvent]] = {}
    for line, r in rows:
        try:
            if use_time:
                a, b = float(r[col["start_time"]]), float(r[col["end_time"]])
            else:
                assert fps is not None
                a, b = int(r[col["start_frame"]]) / fps, (int(r[col["end_frame"]]) + 1) / fps
            cls = vocabulary.canonical(int(r[col["class"]]))
            score = float(r[col["score"]]) if "score" in col and r[col["score"]] != "" else None
            ev = MGEvent(a, b, cls, score)
        except ValueError as e:
            raise ValueError(f"{source}, line {line}: {e}") from None
        if min_score is not None and score is not None and score < min_score:
            continue
        out.setdefault(r[col["video_id"]], []).append(ev)
    for evs in out.values():
        evs.sort()
    return out


def read_events_csv(path: PathLike, *, vocabulary: MGVocabulary = IMIGUE, fps: float | None = None,
                    min_score: float | None = None) -> dict[str, list[MGEvent]]:
    """Read an events CSV file; see :func:`parse_events_csv`."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return parse_events_csv(f, source=str(path), vocabulary=vocabulary, fps=fps, min_score=min_score)


def read_video_labels(path: PathLike, options: Iterable[str] | None = None) -> dict[str, tuple[str, str | None]]:
    """Read a ``video_id,label[,split]`` CSV into video id -> ``(label, split)``.

    ``options`` (a scenario's option keys) makes an unknown label an error naming the line.
    """
    allowed = None if options is None else set(options)
    out: dict[str, tuple[str, str | None]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        header, rows = _open_csv_rows(f, str(path))
        col = {h: i for i, h in enumerate(header)}
        if "video_id" not in col or "label" not in col:
            raise ValueError(f"{path}: header {header} needs video_id and label columns (and optionally split)")
        for line, r in rows:
            label = r[col["label"]]
            split = (r[col["split"]].lower() or None) if "split" in col else None
            if allowed is not None and label not in allowed:
                raise ValueError(f"{path}, line {line}: label {label!r} is not an option of the scenario "
                                 f"({sorted(allowed)})")
            if split not in (None, "train", "test"):
                raise ValueError(f"{path}, line {line}: split {split!r} must be train, test or empty")
            if r[col["video_id"]] in out:
                raise ValueError(f"{path}, line {line}: video {r[col['video_id']]!r} appears twice")
            out[r[col["video_id"]]] = (label, split)
    return out


def make_videos(events: Mapping[str, Iterable[MGEvent]], labels: Mapping[str, tuple[str, str | None]],
                *, require_events: bool = False) -> list[VideoRecord]:
    """Join events and labels into :class:`VideoRecord` s, one per labelled video (sorted by id).

    A labelled video without events gets an empty event tuple (a recognizer may find nothing) unless
    ``require_events`` is set, which makes it an error.
    """
    out = []
    for vid, (label, split) in labels.items():
        evs = tuple(events.get(vid, ()))
        if require_events and not evs:
            raise ValueError(f"video {vid!r} has a label but no events; check the events file covers it")
        out.append(VideoRecord(video=vid, events=evs, label=label, split=split))
    return sorted(out, key=_video_sort_key)


def _video_sort_key(v: VideoRecord) -> tuple[int, int | str]:
    return (0, int(v.video)) if v.video.isdigit() else (1, v.video)
