"""Kinetics-skeleton / ST-GCN JSON.

Layout: ``{"data": [{"frame_index": k, "skeleton": [{"pose": [...], "score": [...]}]}], "label": ...}``.

``pose`` holds ``x0, y0, x1, y1, ...`` (OpenPose COCO-18 by default, normalised by the image size;
``(0, 0)`` is a missing joint) and ``score`` one confidence per joint. Frames may hold any number of
skeletons, including none. ``frame_index`` is 1-based in the ST-GCN release (0-based files are
accepted: indices start at 0 when any index is 0); a gap in the indices becomes an empty frame
(``counts['missing_frames']``). People are linked across frames with
:func:`skelaug.io.track_people` (the ST-GCN feeder instead re-sorts people by score in every
frame, which swaps identities). Result: ``openpose18``, ``C = 3`` ``(x, y, score)``, fps = 30 (the
release's frame rate). All-zero scores (some converters drop them) are kept as they are; joints with
non-zero coordinates count as present regardless of score (``counts['zero_score_keypoints']``).
``label`` and ``label_index`` go to ``source``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, json_error_message, register_reader
from skelaug.io.openpose import OPENPOSE_LAYOUTS
from skelaug.io.people import assemble_tracks, track_people

__all__ = ["read_kinetics_json"]


def _json_error(path: Path, e: json.JSONDecodeError) -> SkeletonFormatError:
    return SkeletonFormatError(path, json_error_message(e), line=e.lineno)


def read_kinetics_json(
    path: Path, *, layout: str | None = None, track_threshold: float = 0.5, max_gap: int = 30
) -> SkeletonSequence:
    """Read a Kinetics-skeleton JSON file (see the module docstring)."""
    try:
        obj: Any = json.loads(Path(path).read_bytes())
    except json.JSONDecodeError as e:
        raise _json_error(path, e) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise SkeletonFormatError(path, "not a Kinetics-skeleton file (no 'data' list)")
    entries = obj["data"]
    idx = []
    for n, fr in enumerate(entries):
        if not isinstance(fr, dict) or "frame_index" not in fr or not isinstance(fr.get("skeleton"), list):
            raise SkeletonFormatError(path, f"data[{n}] lacks 'frame_index' or a 'skeleton' list", frame=n)
        idx.append(int(fr["frame_index"]))
    if not idx:
        raise SkeletonFormatError(path, "'data' is empty: no frames")
    base = 0 if min(idx) == 0 else 1
    if min(idx) < 0:
        raise SkeletonFormatError(path, f"negative frame_index {min(idx)}")
    n_frames = max(idx) - base + 1
    v = None
    frames: list[np.ndarray] = [np.zeros((0, 0, 3), np.float32)] * n_frames
    seen: set[int] = set()
    for n, fr in enumerate(entries):
        t = idx[n] - base
        if t in seen:
            raise SkeletonFormatError(path, f"frame_index {idx[n]} appears twice (data[{n}])", frame=t)
        seen.add(t)
        people = []
        for p, sk in enumerate(fr["skeleton"]):
            pose, score = sk.get("pose"), sk.get("score")
            if pose is None or score is None:
                raise SkeletonFormatError(path, f"data[{n}].skeleton[{p}] lacks 'pose' or 'score'", frame=t)
            if len(pose) != 2 * len(score):
                raise SkeletonFormatError(
                    path,
                    f"data[{n}].skeleton[{p}]: {len(pose)} pose values for "
                    f"{len(score)} scores (need 2 per joint)",
                    frame=t,
                )
            if v is None:
                v = len(score)
            elif len(score) != v:
                raise SkeletonFormatError(
                    path, f"data[{n}].skeleton[{p}] has {len(score)} joints, earlier skeletons {v}", frame=t
                )
            arr = np.empty((v, 3), dtype=np.float32)
            try:
                arr[:, :2] = np.asarray(pose, dtype=np.float32).reshape(v, 2)
                arr[:, 2] = np.asarray(score, dtype=np.float32)
            except (TypeError, ValueError):
                raise SkeletonFormatError(
                    path, f"data[{n}].skeleton[{p}] holds non-numbers", frame=t
                ) from None
            people.append(arr)
        frames[t] = np.stack(people) if people else np.zeros((0, v or 18, 3), np.float32)
    v = v or 18
    frames = [f if f.shape[1] == v else np.zeros((0, v, 3), np.float32) for f in frames]
    lay = layout or OPENPOSE_LAYOUTS.get(v)
    if lay is None:
        raise SkeletonFormatError(path, f"{v} joints per skeleton; pass layout= to name the layout")
    ids, m = track_people(frames, 2, threshold=track_threshold, max_gap=max_gap)
    data = assemble_tracks(frames, ids, m, (v, 3))
    per_frame = np.array([f.shape[0] for f in frames])
    return SkeletonSequence(
        data=data,
        layout=lay,
        fps=30.0,
        confidence=data[..., 2].copy(),
        channels=("x", "y", "score"),
        source={
            "path": str(path),
            "format": "kinetics_json",
            "label": obj.get("label"),
            "label_index": obj.get("label_index"),
            "people_per_frame": per_frame.tolist(),
        },
        counts={
            "missing_frames": n_frames - len(entries),
            "empty_frames": int(np.sum(per_frame == 0)),
            "max_people_per_frame": int(per_frame.max(initial=0)),
            "zero_score_keypoints": int(np.sum((data[..., 2] == 0) & np.any(data[..., :2] != 0, -1))),
        },
    )


def _sniff(path: Path, head: bytes) -> bool:
    return b'"data"' in head and (b'"skeleton"' in head or b'"frame_index"' in head)


register_reader(
    "kinetics_json",
    read_kinetics_json,
    extensions=(".json",),
    sniff=_sniff,
    description="Kinetics-skeleton / ST-GCN JSON (data[].skeleton[].pose/score)",
)
