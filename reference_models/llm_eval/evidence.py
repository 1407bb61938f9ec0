"""Per-video MG evidence: the ordered sequence, per-class counts and rates, body-region counts.

For a video with events :math:`e_1, \\dots, e_n` (sorted by start time) over an observed time
:math:`D` seconds (the video's ``duration`` when known, else the last event's end):

* ``counts[c]`` :math:`= |\\{i : c_i = c\\}|`, listed by decreasing count (ties: ascending class id);
* ``rates[c]`` :math:`= 60 \\cdot \\mathrm{counts}[c] / D` occurrences per minute;
* ``region_counts[r]`` :math:`= \\sum_{c \\in r} \\mathrm{counts}[c]`, in the vocabulary's region order;
* :func:`histogram` is the vector of ``counts`` over all vocabulary classes (optionally normalised
  to proportions), the feature of the non-LLM baseline.

With ``include_non_mg=False`` the non-MG classes (iMiGUE's illustrative body language) are dropped
before anything is counted.

Example:
    >>> from reference_models.llm_eval.events import MGEvent, VideoRecord
    >>> from reference_models.llm_eval.evidence import summarize
    >>> v = VideoRecord("1", (MGEvent(0.0, 2.0, 31), MGEvent(10.0, 12.0, 11), MGEvent(20.0, 30.0, 31),
    ...                       MGEvent(25.0, 26.0, 32)))
    >>> ev = summarize(v)
    >>> ev.counts, ev.rates[31], ev.region_counts["body"]
    ({31: 2, 11: 1, 32: 1}, 4.0, 2)
    >>> summarize(v, include_non_mg=False).counts
    {31: 2, 11: 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reference_models.llm_eval.events import MGEvent, VideoRecord
from reference_models.llm_eval.vocabulary import IMIGUE, MGVocabulary

__all__ = ["Evidence", "histogram", "histograms", "summarize"]


@dataclass(frozen=True)
class Evidence:
    """The MG evidence of one video (see the module docstring for the definitions)."""

    video: str
    sequence: tuple[MGEvent, ...]
    counts: dict[int, int]
    rates: dict[int, float]
    region_counts: dict[str, int]
    duration: float
    include_non_mg: bool

    @property
    def num_events(self) -> int:
        return len(self.sequence)


def _observed(video: VideoRecord, events: Sequence[MGEvent]) -> float:
    if video.duration is not None:
        if not video.duration > 0:
            raise ValueError(f"video {video.video!r} has duration {video.duration}; it must be positive seconds")
        return float(video.duration)
    return max((e.end for e in events), default=0.0)


def summarize(video: VideoRecord, vocabulary: MGVocabulary = IMIGUE, *, include_non_mg: bool = True) -> Evidence:
    """Evidence of one video; events whose class is not in ``vocabulary`` raise ``ValueError``."""
    for e in video.events:
        if e.mg_class not in vocabulary.names:
            raise ValueError(f"video {video.video!r} has class {e.mg_class}, not in vocabulary {vocabulary.name!r}")
    seq = tuple(e for e in video.events if include_non_mg or vocabulary.is_mg(e.mg_class))
    dur = _observed(video, video.events)
    raw: dict[int, int] = {}
    for e in seq:
        raw[e.mg_class] = raw.get(e.mg_class, 0) + 1
    counts = dict(sorted(raw.items(), key=lambda kv: (-kv[1], kv[0])))
    rates = {c: (60.0 * n / dur if dur > 0 else 0.0) for c, n in counts.items()}
    regions = {r: 0 for r in vocabulary.region_order}
    for c, n in counts.items():
        regions[vocabulary.region(c)] += n
    if not include_non_mg:  # drop the groups that hold only non-MG classes
        kept = {vocabulary.region(c) for c in vocabulary.classes(include_non_mg=False)}
        regions = {r: n for r, n in regions.items() if r in kept}
    return Evidence(video.video, seq, counts, rates, regions, dur, include_non_mg)


def histogram(video: VideoRecord, vocabulary: MGVocabulary = IMIGUE, *, include_non_mg: bool = True,
              normalize: bool = True) -> NDArray[np.float64]:
    """Class histogram over ``vocabulary.classes(include_non_mg)``; proportions if ``normalize``.

    A video without events gives the zero vector either way.

    >>> from reference_models.llm_eval.events import MGEvent, VideoRecord
    >>> h = histogram(VideoRecord("1", (MGEvent(0, 1, 31), MGEvent(2, 3, 31), MGEvent(4, 5, 1), MGEvent(6, 7, 32))))
    >>> h.shape, float(h[0]), float(h[30]), float(h[31])
    ((32,), 0.25, 0.5, 0.25)
    >>> histogram(VideoRecord("1", (MGEvent(0, 1, 31), MGEvent(6, 7, 32))), include_non_mg=False).tolist()[30:]
    [1.0]
    """
    classes = vocabulary.classes(include_non_mg)
    index = {c: i for i, c in enumerate(classes)}
    h = np.zeros(len(classes))
    for e in video.events:
        if e.mg_class not in vocabulary.names:
            raise ValueError(f"video {video.video!r} has class {e.mg_class}, not in vocabulary {vocabulary.name!r}")
        if e.mg_class in index:
            h[index[e.mg_class]] += 1
    total = h.sum()
    return h / total if normalize and total > 0 else h


def histograms(videos: Sequence[VideoRecord], vocabulary: MGVocabulary = IMIGUE, *, include_non_mg: bool = True,
               normalize: bool = True) -> NDArray[np.float64]:
    """Stack :func:`histogram` of every video: ``(len(videos), num_classes)``."""
    k = len(vocabulary.classes(include_non_mg))
    if not videos:
        return np.zeros((0, k))
    return np.stack([histogram(v, vocabulary, include_non_mg=include_non_mg, normalize=normalize) for v in videos])
