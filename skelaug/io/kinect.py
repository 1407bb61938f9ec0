"""Kinect v2 CSV exports: 25-line joint blocks (TST Fall v2 style).

**Kinect v2 CSV** -- no header, one joint per line ``JointName,x,y,z,STATE`` (camera space, metres;
``STATE`` ``Tracked``/``Inferred``/``NotTracked`` or 2/1/0), one block of 25 lines per frame. Joints
are placed by name, so any order inside a block works; a block with a repeated or missing joint, or
a file ending mid-block, raises :class:`SkeletonFormatError` with the line. Result: ``ntu25``,
``C = 4`` ``(x, y, z, tracking)`` with tracking 1 / 0.5 / 0 (also ``.confidence``), fps = 30.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader
from skelaug.io._csv import numbered_lines

__all__ = ["KINECT_JOINTS", "read_kinect_csv"]

#: Kinect v2 joint names in SDK order (the ntu25 order).
KINECT_JOINTS = (
    "SpineBase",
    "SpineMid",
    "Neck",
    "Head",
    "ShoulderLeft",
    "ElbowLeft",
    "WristLeft",
    "HandLeft",
    "ShoulderRight",
    "ElbowRight",
    "WristRight",
    "HandRight",
    "HipLeft",
    "KneeLeft",
    "AnkleLeft",
    "FootLeft",
    "HipRight",
    "KneeRight",
    "AnkleRight",
    "FootRight",
    "SpineShoulder",
    "HandTipLeft",
    "ThumbLeft",
    "HandTipRight",
    "ThumbRight",
)
_JIDX = {n.lower(): i for i, n in enumerate(KINECT_JOINTS)}
_STATE = {
    "tracked": 1.0,
    "inferred": 0.5,
    "nottracked": 0.0,
    "not_tracked": 0.0,
    "2": 1.0,
    "1": 0.5,
    "0": 0.0,
}


def read_kinect_csv(path: Path) -> SkeletonSequence:
    """Read a Kinect v2 25-line-block CSV (see the module docstring)."""
    rows = numbered_lines(path)
    if not rows:
        raise SkeletonFormatError(path, "empty file")
    frames: list[np.ndarray] = []
    cur = np.zeros((25, 4), dtype=np.float32)
    seen: set[int] = set()
    block_start = rows[0][0]
    for lineno, ln in rows:
        f = [x.strip() for x in ln.split(",")]
        if len(f) != 5:
            raise SkeletonFormatError(
                path, f"{len(f)} columns, expected 5 (JointName,x,y,z,STATE)", line=lineno, frame=len(frames)
            )
        j = _JIDX.get(f[0].lower())
        if j is None:
            raise SkeletonFormatError(path, f"unknown Kinect joint {f[0]!r}", line=lineno, frame=len(frames))
        if j in seen:
            raise SkeletonFormatError(
                path,
                f"joint {f[0]} repeats before the block of 25 joints that started at line {block_start} "
                f"is complete ({len(seen)} of 25 joints)",
                line=lineno,
                frame=len(frames),
            )
        try:
            cur[j, :3] = [float(f[1]), float(f[2]), float(f[3])]
        except ValueError:
            raise SkeletonFormatError(
                path, "x, y, z must be numbers", line=lineno, frame=len(frames)
            ) from None
        state = _STATE.get(f[4].lower())
        if state is None:
            raise SkeletonFormatError(
                path,
                f"unknown tracking state {f[4]!r} (Tracked, Inferred, NotTracked)",
                line=lineno,
                frame=len(frames),
            )
        cur[j, 3] = state
        seen.add(j)
        if len(seen) == 25:
            frames.append(cur)
            cur = np.zeros((25, 4), dtype=np.float32)
            seen = set()
            block_start = lineno + 1
    if seen:
        raise SkeletonFormatError(
            path,
            f"file ends mid-frame: frame {len(frames)} has {len(seen)} of 25 joints "
            f"(block from line {block_start})",
            line=rows[-1][0],
            frame=len(frames),
        )
    data = np.stack(frames)[None] if frames else np.zeros((1, 0, 25, 4), np.float32)
    return SkeletonSequence(
        data=data,
        layout="ntu25",
        fps=30.0,
        confidence=data[..., 3].copy(),
        channels=("x", "y", "z", "tracking"),
        source={"path": str(path), "format": "kinect_v2_csv"},
        counts={"frames": len(frames)},
    )


def _sniff_kinect(path: Path, head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").split(",")
    return len(first) == 5 and first[0].strip().lower() in _JIDX


register_reader(
    "kinect_v2_csv",
    read_kinect_csv,
    extensions=(".csv", ".txt"),
    sniff=_sniff_kinect,
    description="Kinect v2 CSV: 25-line blocks JointName,x,y,z,STATE",
)
