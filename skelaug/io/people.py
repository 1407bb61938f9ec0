"""Multi-person handling: identity tracking across frames and choosing the persons to keep.

Formats such as OpenPose and Kinetics-skeleton list the people of each frame in an arbitrary order,
so "person 0" may be a different body in every frame. :func:`track_people` links detections into
tracks; :func:`select_people` keeps the ``M`` most confident or most moving tracks.

Tracking (greedy nearest-neighbour). Each live track remembers its last pose ``p`` and scale ``s``
(diagonal of the bounding box of its present joints). The cost of assigning detection ``q`` is

.. math:: c(p, q) = \\frac{1}{|J|} \\sum_{j \\in J} \\lVert p_j - q_j \\rVert \\,/\\, s,

``J`` the joints present in both. Pairs are matched in order of increasing cost while
``c < threshold``; unmatched detections open new tracks; a track unseen for more than ``max_gap``
frames is closed.

Example:
    >>> import numpy as np
    >>> a = np.array([[[0.0, 0.0], [1.0, 1.0]]])             # one person, 2 joints, 2D
    >>> b = np.array([[[5.0, 5.0], [6.0, 6.0]]])
    >>> ids, n = track_people([np.concatenate([a, b]), np.concatenate([b, a]) + 0.1], dims=2)
    >>> [i.tolist() for i in ids], n                          # identities follow the bodies
    ([[0, 1], [1, 0]], 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from skelaug.io._base import SkeletonSequence

__all__ = ["assemble_tracks", "select_people", "track_people"]


def track_people(
    frames: Sequence[NDArray[np.floating]],
    dims: int,
    *,
    threshold: float = 0.5,
    max_gap: int = 30,
) -> tuple[list[NDArray[np.int64]], int]:
    """Link per-frame detections into tracks.

    Args:
        frames: For each frame, an array ``(P_t, V, C)`` of the ``P_t`` people detected (``P_t`` may
            be 0). Missing joints are all-zero in the first ``dims`` channels.
        dims: Number of coordinate channels.
        threshold: Largest matching cost (fraction of the track's body size).
        max_gap: Frames a track may go unseen and still be continued.

    Returns:
        ``ids``: for each frame, the track index of each detection (``(P_t,)`` int64), and the number
        of tracks.
    """
    last_pose: list[NDArray[np.float64]] = []
    last_seen: list[int] = []
    scale: list[float] = []
    ids: list[NDArray[np.int64]] = []
    for t, det in enumerate(frames):
        p = int(det.shape[0])
        out = np.full(p, -1, dtype=np.int64)
        if p:
            xy = np.asarray(det[..., :dims], dtype=np.float64)
            pres = np.any(xy != 0, axis=-1)
            live = [k for k in range(len(last_pose)) if t - last_seen[k] <= max_gap]
            pairs: list[tuple[float, int, int]] = []
            for k in live:
                lp = last_pose[k]
                lpres = np.any(lp != 0, axis=-1)
                both = pres & lpres[None]
                cnt = both.sum(axis=1)
                dist = np.linalg.norm(xy - lp[None], axis=-1)
                for i in range(p):
                    if cnt[i]:
                        c = float(dist[i][both[i]].mean()) / scale[k]
                        if c < threshold:
                            pairs.append((c, k, i))
            pairs.sort()
            used_k: set[int] = set()
            for _, k, i in pairs:
                if k in used_k or out[i] >= 0:
                    continue
                out[i] = k
                used_k.add(k)
            for i in range(p):
                if out[i] < 0:
                    out[i] = len(last_pose)
                    last_pose.append(np.zeros_like(xy[i]))
                    last_seen.append(t)
                    scale.append(1.0)
                k = int(out[i])
                if pres[i].any():
                    merged = np.where(pres[i][:, None], xy[i], last_pose[k])
                    last_pose[k] = merged
                    pts = xy[i][pres[i]]
                    ext = float(np.linalg.norm(pts.max(0) - pts.min(0))) if len(pts) > 1 else 0.0
                    scale[k] = max(ext, 1e-6) if ext > 0 else max(scale[k], 1e-6)
                last_seen[k] = t
        ids.append(out)
    return ids, len(last_pose)


def assemble_tracks(
    frames: Sequence[NDArray[np.floating]],
    ids: Sequence[NDArray[np.int64]],
    num_tracks: int,
    shape_tail: tuple[int, ...],
) -> NDArray[np.float32]:
    """Scatter per-frame detections ``(P_t, *shape_tail)`` into ``(num_tracks, T, *shape_tail)``."""
    out = np.zeros((num_tracks, len(frames), *shape_tail), dtype=np.float32)
    for t, (det, idx) in enumerate(zip(frames, ids, strict=True)):
        if len(idx):
            out[idx, t] = det
    return out


def select_people(
    seq: SkeletonSequence, max_persons: int, *, by: str = "confidence", pad: bool = False
) -> SkeletonSequence:
    """Keep the ``max_persons`` highest-scoring persons, best first.

    Scores: ``"confidence"`` -- summed confidence over frames and joints (present-joint count when
    the format has no confidence); ``"motion"`` -- summed displacement
    :math:`\\sum_t \\sum_j \\lVert x_{t,j} - x_{t-1,j} \\rVert` over joints present in both frames
    (the NTU/ST-GCN "most active body" rule); ``"presence"`` -- present-joint count. Ties keep the
    original order. ``counts['persons_dropped']`` and ``counts['detections_dropped']`` (person-frames
    with a present joint) record what was removed. With ``pad=True`` the result has exactly
    ``max_persons`` persons (empty ones appended).

    Raises:
        ValueError: ``max_persons < 1`` or an unknown ``by``.
    """
    if isinstance(max_persons, bool) or not isinstance(max_persons, int | np.integer) or max_persons < 1:
        raise ValueError(f"max_persons={max_persons!r}; expected an integer >= 1")
    pres = seq.present()
    if by == "confidence":
        score = (
            seq.confidence.sum(axis=(1, 2), dtype=np.float64)
            if seq.confidence is not None
            else pres.sum(axis=(1, 2)).astype(np.float64)
        )
    elif by == "presence":
        score = pres.sum(axis=(1, 2)).astype(np.float64)
    elif by == "motion":
        xy = seq.data[..., : seq.dims].astype(np.float64)
        both = pres[:, 1:] & pres[:, :-1]
        step = np.linalg.norm(xy[:, 1:] - xy[:, :-1], axis=-1)
        score = np.where(both, step, 0.0).sum(axis=(1, 2))
    else:
        raise ValueError(f"by={by!r}; use 'confidence', 'motion' or 'presence'")
    order = np.argsort(-score, kind="stable")
    keep = order[:max_persons]
    dropped = order[max_persons:]
    out = seq.take_persons(keep)
    out.counts["persons_dropped"] = out.counts.get("persons_dropped", 0) + int(dropped.size)
    out.counts["detections_dropped"] = out.counts.get("detections_dropped", 0) + int(
        pres[dropped].any(axis=2).sum()
    )
    if pad and out.num_persons < max_persons:
        extra = max_persons - out.num_persons

        def grow(a: NDArray[np.float32]) -> NDArray[np.float32]:
            return np.concatenate([a, np.zeros((extra, *a.shape[1:]), dtype=a.dtype)])

        out = replace(
            out,
            data=grow(out.data),
            confidence=None if out.confidence is None else grow(out.confidence),
            extras={k: grow(v) for k, v in out.extras.items()},
        )
    return out
