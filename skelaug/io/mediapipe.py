"""MediaPipe Pose (BlazePose, 33 landmarks) CSV exports, wide or long.

* **Wide**: one row per frame. Columns: an optional frame column (``frame``, ``frame_idx``,
  ``frame_index``, ``frame_id``, ``frame_number``) and, per landmark ``k`` (or its name), ``x``, ``y``,
  ``z`` and optionally ``visibility``/``presence``, spelled ``L{k}_x``, ``landmark_{k}_x``, ``{k}_x``,
  ``x{k}``, ``x_{k}`` or ``{name}_x`` (``nose_x``, ``LEFT_SHOULDER_x``).
* **Long**: one row per landmark: a frame column, a landmark column (``landmark``, ``landmark_id``,
  ``landmark_index``, ``landmark_name``, ``joint``, ``keypoint``; index or name) and ``x``, ``y``,
  ``z`` [, ``visibility``] [, ``presence``].

Frames are placed by their frame number (rows in file order when there is no frame column); a gap in
the numbers becomes an all-zero frame, counted in ``counts['missing_frames']``. Empty or NaN cells make
the landmark missing (``counts['missing_values']``). Result: ``mediapipe33``, ``C = 4``
``(x, y, z, visibility)`` (``visibility`` 1 when the file has none; ``confidence`` is ``None`` then),
``x, y`` normalised image coordinates, ``z`` MediaPipe's relative depth. fps unknown (``None``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skelaug import layouts
from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader
from skelaug.io._csv import numbered_lines, parse_numeric

__all__ = ["read_mediapipe_csv"]

_MP = layouts.get("mediapipe33")
_NAMES = {n.lower(): i for i, n in enumerate(_MP.joint_names)}
_FRAME_COLS = ("frame", "frame_idx", "frame_index", "frame_id", "frame_number", "frame_no", "frame_num")
_LM_COLS = ("landmark", "landmark_id", "landmark_index", "landmark_idx", "landmark_name", "joint", "keypoint")
_ATTR = {"x": 0, "y": 1, "z": 2, "visibility": 3, "vis": 3, "v": 3, "presence": 4}
_WIDE = [
    re.compile(r"^(?:l|lm|landmark|kp|keypoint|joint|j)?_?(\d+)[_.](x|y|z|visibility|vis|v|presence)$"),
    re.compile(r"^(x|y|z|visibility|vis|v|presence)_?(\d+)$"),
]


def _wide_column(name: str) -> tuple[int, int] | None:
    s = name.strip().lower()
    for k, pat in enumerate(_WIDE):
        m = pat.match(s)
        if m:
            idx, attr = (m.group(1), m.group(2)) if k == 0 else (m.group(2), m.group(1))
            return int(idx), _ATTR[attr]
    for attr, a in _ATTR.items():
        suffix = "_" + attr
        if s.endswith(suffix) and s[: -len(suffix)] in _NAMES:
            return _NAMES[s[: -len(suffix)]], a
    return None


def _assemble(
    path: Path,
    frame_no: NDArray[np.int64] | None,
    values: NDArray[np.float64],
    has_vis: bool,
    layout_kind: str,
    ignored: list[str],
) -> SkeletonSequence:
    """``values`` (rows, 33, 5) -> sequence; rows placed by ``frame_no``."""
    rows = values.shape[0]
    if frame_no is None:
        frame_no = np.arange(rows, dtype=np.int64)
    first = int(frame_no.min()) if rows else 0
    t = int(frame_no.max()) - first + 1 if rows else 0
    slot = frame_no - first
    data = np.zeros((1, t, 33, 4), dtype=np.float32)
    nan = np.isnan(values[..., :3]).any(-1)
    v = values.copy()
    v[nan] = 0.0
    vis = np.where(np.isnan(v[..., 3]), 0.0, v[..., 3]) if has_vis else np.ones(v.shape[:2])
    data[0, slot, :, :3] = v[..., :3]
    data[0, slot, :, 3] = np.where(nan, 0.0, vis)
    return SkeletonSequence(
        data=data,
        layout="mediapipe33",
        fps=None,
        confidence=data[..., 3].copy() if has_vis else None,
        channels=("x", "y", "z", "visibility"),
        source={
            "path": str(path),
            "format": f"mediapipe_csv_{layout_kind}",
            "first_frame": first,
            "ignored_columns": ignored,
        },
        counts={"missing_frames": t - len(np.unique(slot)), "missing_values": int(nan.sum())},
    )


def read_mediapipe_csv(path: Path) -> SkeletonSequence:
    """Read a MediaPipe Pose CSV, wide or long (see the module docstring)."""
    rows = numbered_lines(path)
    if not rows:
        raise SkeletonFormatError(path, "empty file")
    header = [h.strip() for h in rows[0][1].split(",")]
    low = [h.lower() for h in header]
    body = rows[1:]
    frame_col = next((i for i, h in enumerate(low) if h in _FRAME_COLS), None)
    lm_col = next((i for i, h in enumerate(low) if h in _LM_COLS), None)
    if lm_col is not None:
        return _read_long(path, header, low, body, frame_col, lm_col)
    cols: dict[int, tuple[int, int]] = {}
    ignored = []
    for i, h in enumerate(header):
        if i == frame_col:
            continue
        key = _wide_column(h)
        if key is None or not 0 <= key[0] < 33:
            ignored.append(h)
        else:
            cols[i] = key
    found = {k for k, a in cols.values() if a < 3}
    if len(found) != 33 or sum(1 for k, a in cols.values() if a < 3) != 99:
        raise SkeletonFormatError(
            path,
            f"header names x/y/z for {len(found)} of the 33 MediaPipe landmarks; "
            f"expected columns like L0_x, L0_y, L0_z, L0_visibility, ...",
            line=1,
        )
    vals = parse_numeric(path, body, ncols=len(header))
    values = np.full((vals.shape[0], 33, 5), np.nan)
    for i, (k, a) in cols.items():
        values[:, k, a] = vals[:, i]
    has_vis = any(a == 3 for _, a in cols.values())
    frame_no = None
    if frame_col is not None:
        fcol = vals[:, frame_col]
        _check_frames(path, fcol, [ln for ln, _ in body])
        frame_no = fcol.astype(np.int64)
        uniq, cnt = np.unique(frame_no, return_counts=True)
        if (cnt > 1).any():
            dup = int(uniq[np.argmax(cnt > 1)])
            second = int(np.flatnonzero(frame_no == dup)[1])
            raise SkeletonFormatError(path, f"frame {dup} appears twice", line=body[second][0])
    return _assemble(path, frame_no, values, has_vis, "wide", ignored)


def _check_frames(path: Path, fcol: NDArray[np.float64], linenos: list[int]) -> None:
    bad = ~np.isfinite(fcol) | (fcol != np.round(fcol)) | (fcol < 0)
    if bad.any():
        k = int(np.argmax(bad))
        raise SkeletonFormatError(
            path, f"frame number {fcol[k]} is not a non-negative integer", line=linenos[k]
        )


def _read_long(
    path: Path,
    header: list[str],
    low: list[str],
    body: list[tuple[int, str]],
    frame_col: int | None,
    lm_col: int,
) -> SkeletonSequence:
    if frame_col is None:
        raise SkeletonFormatError(path, "long layout (one row per landmark) needs a frame column", line=1)
    attr_cols = {a: i for i, h in enumerate(low) for k, a in _ATTR.items() if h == k}
    if not all(a in attr_cols for a in (0, 1, 2)):
        raise SkeletonFormatError(path, "long layout needs x, y and z columns", line=1)
    n = len(header)
    frames: list[int] = []
    lms: list[int] = []
    numeric_rows: list[tuple[int, str]] = []
    for lineno, ln in body:
        f = ln.split(",")
        if len(f) != n:
            raise SkeletonFormatError(path, f"{len(f)} columns, expected {n}", line=lineno)
        lm = f[lm_col].strip()
        if lm.lstrip("-").isdigit():
            k = int(lm)
        elif lm.lower() in _NAMES:
            k = _NAMES[lm.lower()]
        else:
            raise SkeletonFormatError(path, f"unknown landmark {lm!r}", line=lineno)
        if not 0 <= k < 33:
            raise SkeletonFormatError(path, f"landmark index {k} outside 0..32", line=lineno)
        lms.append(k)
        f[lm_col] = "0"
        numeric_rows.append((lineno, ",".join(f)))
    vals = parse_numeric(path, numeric_rows, ncols=n)
    fcol = vals[:, frame_col]
    _check_frames(path, fcol, [ln for ln, _ in body])
    fr = fcol.astype(np.int64)
    uniq, inv = np.unique(fr, return_inverse=True)
    lm_arr = np.asarray(lms)
    key = inv * 33 + lm_arr
    if len(np.unique(key)) != len(key):
        _, first_idx, counts = np.unique(key, return_index=True, return_counts=True)
        dup = int(np.flatnonzero(key == key[first_idx[np.argmax(counts > 1)]])[1])
        raise SkeletonFormatError(
            path, f"landmark {lms[dup]} of frame {fr[dup]} appears twice", line=body[dup][0]
        )
    values = np.full((len(uniq), 33, 5), np.nan)
    for a, ci in attr_cols.items():
        values[inv, lm_arr, a] = vals[:, ci]
    frames = uniq.tolist()
    has_vis = 3 in attr_cols
    # a frame present in the file but with some landmarks absent: those stay NaN -> missing
    out = _assemble(
        path,
        np.asarray(frames, dtype=np.int64),
        values,
        has_vis,
        "long",
        [h for i, h in enumerate(header) if i not in (frame_col, lm_col, *attr_cols.values())],
    )
    return out


def _sniff(path: Path, head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").lower()
    cols = [c.strip() for c in first.split(",")]
    if any(c in _LM_COLS for c in cols) and {"x", "y", "z"} <= set(cols):
        return True
    return sum(1 for c in cols if _wide_column(c) is not None) >= 99


register_reader(
    "mediapipe_csv",
    read_mediapipe_csv,
    extensions=(".csv",),
    sniff=_sniff,
    description="MediaPipe Pose 33-landmark CSV, wide (row per frame) or long (row per landmark)",
)
