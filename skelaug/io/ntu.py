"""NTU RGB+D ``.skeleton`` text files and the NTURGB-D ``txt2npy`` dictionaries.

``.skeleton`` layout (text, usually CRLF)::

    T                                   frame count
    per frame:  B                       body count (0, 1, 2, ...)
      per body: bodyID clipedEdges handLeftConfidence handLeftState handRightConfidence
                handRightState isRestricted leanX leanY trackingState
                25                      joint count
                25 x: x y z depthX depthY colorX colorY orientW orientX orientY orientZ trackingState

Result: layout ``ntu25``, ``C = 4`` channels ``(x, y, z, tracking)`` with
``tracking = trackingState / 2`` (0 not tracked, 0.5 inferred, 1 tracked), also in ``.confidence``.
Kinect reports a position for untracked joints; it is kept (not zeroed), the state says how far to
trust it. Each ``bodyID`` is one person track, in order of first appearance; frames where a body is
absent are all-zero for it. ``extras``: ``depth_xy`` and ``color_xy`` ``(M, T, 25, 2)`` image
coordinates, ``orientation`` ``(M, T, 25, 4)`` quaternions (w, x, y, z). fps = 30.

The ``txt2npy`` ``.npy`` is a pickled dict (``skel_body0..k`` ``(T, 25, 3)``, ``nbodys``, ...); it is
opened with a restricted unpickler that only admits NumPy arrays and plain containers. Result:
``C = 3`` ``(x, y, z)``, no confidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader
from skelaug.io._safe_pickle import load_npy_object

__all__ = ["read_ntu_npy", "read_ntu_skeleton"]

NTU_FPS = 30.0


def _int(lines: list[str], i: int, path: Path, what: str, frame: int | None = None) -> int:
    if i >= len(lines):
        raise SkeletonFormatError(path, f"file ends early: expected {what} at line {i + 1}", frame=frame)
    s = lines[i].strip()
    try:
        return int(s)
    except ValueError:
        raise SkeletonFormatError(
            path, f"expected {what} (an integer), found {s[:40]!r}", line=i + 1, frame=frame
        ) from None


def read_ntu_skeleton(path: Path) -> SkeletonSequence:
    """Read an NTU RGB+D ``.skeleton`` file (see the module docstring)."""
    text = Path(path).read_text(encoding="ascii", errors="replace")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    n_frames = _int(lines, 0, path, "the frame count")
    if n_frames < 0:
        raise SkeletonFormatError(path, f"negative frame count {n_frames}", line=1)
    i = 1
    body_ids: dict[str, int] = {}
    # per body occurrence: (frame, track, first joint line index, joint count, tracking state)
    occ: list[tuple[int, int, int]] = []
    joint_starts: list[int] = []
    empty = 0
    for t in range(n_frames):
        nb = _int(lines, i, path, "the body count", t)
        i += 1
        if nb == 0:
            empty += 1
        for _ in range(nb):
            if i >= len(lines):
                raise SkeletonFormatError(
                    path,
                    f"file ends in frame {t} of {n_frames} while reading a body header (line {i + 1})",
                    frame=t,
                )
            info = lines[i].split()
            if len(info) != 10:
                raise SkeletonFormatError(
                    path, f"body header has {len(info)} fields, expected 10", line=i + 1, frame=t
                )
            bid = info[0]
            track = body_ids.setdefault(bid, len(body_ids))
            i += 1
            nj = _int(lines, i, path, "the joint count", t)
            if nj != 25:
                raise SkeletonFormatError(path, f"joint count {nj}, expected 25", line=i + 1, frame=t)
            i += 1
            if i + 25 > len(lines):
                raise SkeletonFormatError(
                    path,
                    f"file ends in frame {t} of {n_frames}: body {bid} has {len(lines) - i} of 25 joint "
                    f"lines (last line {len(lines)})",
                    frame=t,
                )
            occ.append((t, track, i))
            joint_starts.append(i)
            i += 25
    if i < len(lines):
        raise SkeletonFormatError(
            path, f"{len(lines) - i} unexpected line(s) after the {n_frames} declared frames", line=i + 1
        )
    m = len(body_ids)
    vals = np.zeros((len(occ), 25, 12), dtype=np.float64)
    if occ:
        block = [ln for s in joint_starts for ln in lines[s : s + 25]]
        try:
            flat = np.array(" ".join(block).split(), dtype=np.float64)
        except ValueError:
            flat = np.zeros(0)
        if flat.size != len(block) * 12:
            for k, s in enumerate(joint_starts):  # slow path: find the offending line
                for j in range(25):
                    f = lines[s + j].split()
                    if len(f) != 12:
                        raise SkeletonFormatError(
                            path,
                            f"joint line has {len(f)} values, expected 12",
                            line=s + j + 1,
                            frame=occ[k][0],
                        )
                    try:
                        [float(v) for v in f]
                    except ValueError:
                        raise SkeletonFormatError(
                            path,
                            f"joint line holds a non-number: {lines[s + j][:60]!r}",
                            line=s + j + 1,
                            frame=occ[k][0],
                        ) from None
            raise SkeletonFormatError(path, "joint values could not be parsed")
        vals = flat.reshape(len(occ), 25, 12)
    data = np.zeros((m, n_frames, 25, 4), dtype=np.float32)
    depth = np.zeros((m, n_frames, 25, 2), dtype=np.float32)
    color = np.zeros((m, n_frames, 25, 2), dtype=np.float32)
    orient = np.zeros((m, n_frames, 25, 4), dtype=np.float32)
    if occ:
        fr = np.array([o[0] for o in occ])
        tr = np.array([o[1] for o in occ])
        data[tr, fr, :, :3] = vals[..., :3]
        data[tr, fr, :, 3] = vals[..., 11] / 2.0
        depth[tr, fr] = vals[..., 3:5]
        color[tr, fr] = vals[..., 5:7]
        orient[tr, fr] = vals[..., 7:11]
        if np.any((vals[..., 11] < 0) | (vals[..., 11] > 2)):
            bad = int(np.argwhere((vals[..., 11] < 0) | (vals[..., 11] > 2))[0][0])
            raise SkeletonFormatError(path, "trackingState outside 0..2", frame=occ[bad][0])
    return SkeletonSequence(
        data=data,
        layout="ntu25",
        fps=NTU_FPS,
        confidence=data[..., 3].copy(),
        channels=("x", "y", "z", "tracking"),
        source={
            "path": str(path),
            "format": "ntu_skeleton",
            "body_ids": list(body_ids),
            "declared_frames": n_frames,
            **_ntu_name_fields(Path(path).name),
        },
        counts={"empty_frames": empty, "bodies": m},
        extras={"depth_xy": depth, "color_xy": color, "orientation": orient},
    )


def _ntu_name_fields(name: str) -> dict[str, int]:
    """``SsssCcccPpppRrrrAaaa`` -> setup, camera, performer, replication, action (1-based)."""
    import re

    m = re.match(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})", name)
    if not m:
        return {}
    keys = ("setup", "camera", "performer", "replication", "action")
    return {k: int(v) for k, v in zip(keys, m.groups(), strict=True)}


def read_ntu_npy(path: Path) -> SkeletonSequence:
    """Read a ``txt2npy`` dictionary ``.npy`` (see the module docstring)."""
    obj: Any = load_npy_object(path)
    if not isinstance(obj, dict) or "skel_body0" not in obj:
        raise SkeletonFormatError(path, "not an NTURGB-D txt2npy dictionary (no 'skel_body0' key)")
    k = 0
    bodies = []
    while f"skel_body{k}" in obj:
        a = np.asarray(obj[f"skel_body{k}"], dtype=np.float32)
        if a.ndim != 3 or a.shape[1:] != (25, 3):
            raise SkeletonFormatError(path, f"skel_body{k} has shape {a.shape}, expected (T, 25, 3)")
        bodies.append(a)
        k += 1
    t = max(b.shape[0] for b in bodies)
    data = np.zeros((len(bodies), t, 25, 3), dtype=np.float32)
    for j, b in enumerate(bodies):
        data[j, : b.shape[0]] = b
    nb = obj.get("nbodys")
    empty = int(np.sum(np.asarray(nb) == 0)) if nb is not None else 0
    return SkeletonSequence(
        data=data,
        layout="ntu25",
        fps=NTU_FPS,
        confidence=None,
        channels=("x", "y", "z"),
        source={
            "path": str(path),
            "format": "ntu_npy",
            "file_name": obj.get("file_name"),
            **_ntu_name_fields(str(obj.get("file_name", Path(path).name))),
        },
        counts={"empty_frames": empty, "bodies": len(bodies)},
    )


def _sniff_skeleton(path: Path, head: bytes) -> bool:
    lines = head.splitlines()[:4]
    return len(lines) >= 3 and all(ln.strip().isdigit() for ln in lines[:2]) and len(lines[2].split()) == 10


def _sniff_npy(path: Path, head: bytes) -> bool:
    return (head.startswith(b"\x93NUMPY") and b"'O'" in head[:200]) or (
        head.startswith(b"\x93NUMPY") and b"|O" in head[:200]
    )


register_reader(
    "ntu_skeleton",
    read_ntu_skeleton,
    extensions=(".skeleton",),
    sniff=_sniff_skeleton,
    description="NTU RGB+D .skeleton text (Kinect v2, 25 joints, 3D, multi-body)",
)
register_reader(
    "ntu_npy",
    read_ntu_npy,
    extensions=(".npy",),
    sniff=_sniff_npy,
    description="NTURGB-D txt2npy dictionary .npy (skel_body0..k)",
)
