"""The SMG micro-gesture dataset: skeleton CSVs and fine MG labels.

**Skeleton** (``SampleXXXX_skeleton.csv``) -- one row per frame, 25 Kinect v2 joints x 11 values
(``x, y, z`` camera space in metres, 4 orientation values, 4 image coordinates); only ``x, y, z`` are
kept. Result: ``ntu25``, ``C = 3``, no confidence; all-zero rows (no body tracked) are empty frames
(``counts['empty_frames']``). fps from the sibling ``SampleXXXX_data.csv`` (``numFrames,fps,maxDepth``)
when present, else 30.

**Labels** (``SampleXXXX_finelabels.csv``) -- rows ``class,start_frame,end_frame`` with ``class`` in
1..17 and frame numbers indexing the skeleton rows (0-based), as the dataset authors' loaders use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader
from skelaug.io._csv import numbered_lines, parse_numeric

__all__ = ["SMGLabel", "read_smg_csv", "read_smg_labels"]


@dataclass(frozen=True)
class SMGLabel:
    """One SMG MG segment: ``mg_class`` 1..17, frames ``start_frame..end_frame`` inclusive."""

    mg_class: int
    start_frame: int
    end_frame: int

    @property
    def label(self) -> int:
        """0-based class index."""
        return self.mg_class - 1


def read_smg_labels(path: str | Path) -> list[SMGLabel]:
    """Read ``SampleXXXX_finelabels.csv``; a malformed row raises naming the line."""
    p = Path(path)
    rows = numbered_lines(p)
    vals = parse_numeric(p, rows, ncols=3)
    out = []
    for (lineno, _), (c, a, b) in zip(rows, vals, strict=True):
        if not (np.isfinite([c, a, b]).all() and c == int(c) and a == int(a) and b == int(b)):
            raise SkeletonFormatError(p, "class, start and end frame must be integers", line=lineno)
        if not 1 <= c <= 17:
            raise SkeletonFormatError(p, f"class {int(c)} outside 1..17", line=lineno)
        if b < a or a < 0:
            raise SkeletonFormatError(p, f"frame range {int(a)}..{int(b)} is empty or negative", line=lineno)
        out.append(SMGLabel(int(c), int(a), int(b)))
    return out


def read_smg_csv(path: Path) -> SkeletonSequence:
    """Read an SMG ``*_skeleton.csv`` (see the module docstring)."""
    rows = numbered_lines(path)
    vals = parse_numeric(path, rows)
    if vals.shape[0] and vals.shape[1] != 275:
        raise SkeletonFormatError(
            path, f"{vals.shape[1]} columns, expected 275 (25 joints x 11 values)", line=rows[0][0]
        )
    xyz = vals.reshape(-1, 25, 11)[..., :3]
    nan = np.asarray(np.isnan(xyz).any(axis=-1), dtype=bool)
    xyz = np.where(nan[..., None], 0.0, xyz)
    data = xyz.astype(np.float32)[None]
    empty = int(np.sum(~np.any(data[0] != 0, axis=(1, 2))))
    fps = 30.0
    p = Path(path)
    meta = p.with_name(p.name.replace("_skeleton.csv", "_data.csv"))
    if meta != p and meta.exists():
        mrows = numbered_lines(meta)
        if mrows:
            m = parse_numeric(meta, mrows[:1])
            if m.shape[1] >= 2 and np.isfinite(m[0, 1]) and m[0, 1] > 0:
                fps = float(m[0, 1])
    return SkeletonSequence(
        data=data,
        layout="ntu25",
        fps=fps,
        confidence=None,
        channels=("x", "y", "z"),
        source={"path": str(path), "format": "smg_csv"},
        counts={"empty_frames": empty, "missing_values": int(nan.sum())},
    )


def _sniff_smg(path: Path, head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip().rstrip(",").split(",")
    if len(first) != 275:
        return False
    try:
        [float(x) for x in first]
    except ValueError:
        return False
    return True


register_reader(
    "smg_csv",
    read_smg_csv,
    extensions=(".csv",),
    sniff=_sniff_smg,
    description="SMG skeleton CSV: one row per frame, 25 Kinect joints x 11 values",
)
