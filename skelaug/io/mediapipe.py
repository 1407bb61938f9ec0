"""MediaPipe Pose (BlazePose, 33 landmarks) CSV exports, wide or long, 3D or 2D.

Column names are compared case-insensitively, ignoring ``_``, ``-``, ``.`` and spaces
(:func:`skelaug.io._csv.norm_name`): ``LandmarkID`` is ``landmark_id``, ``Frame_Index`` is ``frame_index``.

* **Wide**: one row per frame. Columns: an optional frame column (``frame``, ``frame_idx``,
  ``frame_index``, ``frame_id``, ``frame_number``, ``frame_no``, ``frame_num``) and, per landmark ``k``
  (or its name), ``x``, ``y``, optionally ``z`` and ``visibility``/``presence``, spelled ``L{k}_x``,
  ``landmark_{k}_x``, ``{k}_x``, ``x{k}``, ``x_{k}`` or ``{name}_x`` (``nose_x``, ``LEFT_SHOULDER_x``).
* **Long**: one row per landmark: a frame column, a landmark column (``landmark``, ``landmark_id``,
  ``landmark_index``, ``landmark_name``, ``joint``, ``keypoint``, ...; index or name) and ``x``, ``y``
  [, ``z``] [, ``visibility``] [, ``presence``].

Frames are placed by their frame number (rows in file order when there is no frame column); a gap in
the numbers becomes an all-zero frame, counted in ``counts['missing_frames']``. Empty or NaN cells make
the landmark missing (``counts['missing_values']``).

Result: with a ``z`` column, layout ``mediapipe33``, ``C = 4`` ``(x, y, z, visibility)``: ``x, y``
normalised image coordinates, ``z`` MediaPipe's relative depth. **Without** ``z`` (a 2D export), layout
``mediapipe33_2d`` (the same joints, bones, mirror map and parts, ``dim = 2``), ``C = 3``
``(x, y, visibility)``: a zero ``z`` would claim a depth the file does not have. ``visibility`` is 1
for present landmarks when the file has none (``confidence`` is ``None`` then). fps unknown (``None``).

Example:
    >>> import os, tempfile, skelaug.io as sio
    >>> path = os.path.join(tempfile.mkdtemp(), "pose.csv")       # long, 2D, frame 1 missing
    >>> rows = [f"{f},{k},0.5,0.25" for f in (0, 2) for k in range(33)]
    >>> _ = open(path, "w").write("Frame,LandmarkID,X,Y\\n" + "\\n".join(rows) + "\\n")
    >>> seq = sio.read(path)
    >>> seq.layout, seq.data.shape, seq.channels, seq.counts["missing_frames"]
    ('mediapipe33_2d', (1, 3, 33, 3), ('x', 'y', 'visibility'), 1)
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skelaug import layouts
from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader
from skelaug.io._csv import find_column, norm_name, numbered_lines, parse_numeric, split_header

__all__ = ["read_mediapipe_csv"]

_MP = layouts.get("mediapipe33")
_NAMES = {norm_name(n): i for i, n in enumerate(_MP.joint_names)}
_FRAME_COLS = ("frame", "frame_idx", "frame_index", "frame_id", "frame_number", "frame_no", "frame_num", "frame_nr")
_LM_COLS = (
    "landmark", "landmark_id", "landmark_index", "landmark_idx", "landmark_name", "landmark_no",
    "lm", "lm_id", "joint", "joint_id", "joint_index", "joint_name", "keypoint", "keypoint_id", "keypoint_index",
    "keypoint_name", "kp", "kp_id",
)  # fmt: skip
_ATTR = {"x": 0, "y": 1, "z": 2, "visibility": 3, "vis": 3, "v": 3, "presence": 4}
_ATTR_RE = "visibility|presence|vis|x|y|z|v"
_WIDE = [
    re.compile(rf"^(?:l|lm|landmark|kp|keypoint|joint|j)?(\d+)({_ATTR_RE})$"),
    re.compile(rf"^({_ATTR_RE})(\d+)$"),
]
_LONG_HELP = (
    "long (one row per landmark): a frame column (frame, frame_idx, ...), a landmark column (landmark, "
    "landmark_id, joint, keypoint, ...; index 0..32 or name) and x, y [, z] [, visibility]"
)
_WIDE_HELP = (
    "wide (one row per frame): [frame,] then per landmark k x and y [, z] [, visibility] columns spelled "
    "L{k}_x, landmark_{k}_x, {k}_x, x_{k} or {name}_x (nose_x, left_shoulder_x, ...)"
)


def _wide_column(name: str) -> tuple[int, int] | None:
    s = norm_name(name)
    for k, pat in enumerate(_WIDE):
        m = pat.match(s)
        if m:
            idx, attr = (m.group(1), m.group(2)) if k == 0 else (m.group(2), m.group(1))
            return int(idx), _ATTR[attr]
    for attr in sorted(_ATTR, key=len, reverse=True):
        if s.endswith(attr) and s[: -len(attr)] in _NAMES:
            return _NAMES[s[: -len(attr)]], _ATTR[attr]
    return None


def _assemble(
    path: Path,
    frame_no: NDArray[np.int64] | None,
    values: NDArray[np.float64],
    dims: int,
    has_vis: bool,
    layout_kind: str,
    ignored: list[str],
) -> SkeletonSequence:
    """``values`` (rows, 33, 5) -> sequence; rows placed by ``frame_no``; ``dims`` coordinates (2 or 3)."""
    rows = values.shape[0]
    if frame_no is None:
        frame_no = np.arange(rows, dtype=np.int64)
    first = int(frame_no.min()) if rows else 0
    t = int(frame_no.max()) - first + 1 if rows else 0
    slot = frame_no - first
    data = np.zeros((1, t, 33, dims + 1), dtype=np.float32)
    nan = np.isnan(values[..., :dims]).any(-1)
    v = values.copy()
    v[nan] = 0.0
    vis = np.where(np.isnan(v[..., 3]), 0.0, v[..., 3]) if has_vis else np.ones(v.shape[:2])
    data[0, slot, :, :dims] = v[..., :dims]
    data[0, slot, :, dims] = np.where(nan, 0.0, vis)
    return SkeletonSequence(
        data=data,
        layout="mediapipe33" if dims == 3 else "mediapipe33_2d",
        fps=None,
        confidence=data[..., dims].copy() if has_vis else None,
        channels=("x", "y", "z", "visibility") if dims == 3 else ("x", "y", "visibility"),
        source={
            "path": str(path),
            "format": f"mediapipe_csv_{layout_kind}",
            "first_frame": first,
            "ignored_columns": ignored,
        },
        counts={"missing_frames": t - len(np.unique(slot)), "missing_values": int(nan.sum())},
    )


def _mismatch(path: Path, header: list[str], found: str) -> SkeletonFormatError:
    shown = ", ".join(header[:8]) + (f", ... ({len(header)} columns)" if len(header) > 8 else "")
    return SkeletonFormatError(
        path,
        f"the header matches neither MediaPipe CSV layout. Expected {_LONG_HELP}; or {_WIDE_HELP}. "
        f"Found: {shown} -- {found}",
        line=1,
    )


def read_mediapipe_csv(path: Path) -> SkeletonSequence:
    """Read a MediaPipe Pose CSV, wide or long, with or without ``z`` (see the module docstring).

    Raises:
        SkeletonFormatError: the header fits neither layout (the message describes both and what was
            found), or a row is malformed (naming the line).
    """
    rows = numbered_lines(path)
    if not rows:
        raise SkeletonFormatError(path, "empty file")
    header = split_header(rows[0][1])
    body = rows[1:]
    frame_col = find_column(header, _FRAME_COLS)
    lm_col = find_column(header, _LM_COLS)
    if lm_col is not None:
        return _read_long(path, header, body, frame_col, lm_col)
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
    per_attr = {a: {k for k, b in cols.values() if b == a} for a in range(5)}
    xy = per_attr[0] & per_attr[1]
    if len(xy) != 33:
        raise _mismatch(
            path,
            header,
            f"frame column: {'yes' if frame_col is not None else 'no'}, landmark column: no, "
            f"x and y columns for {len(xy)} of the 33 landmarks",
        )
    if per_attr[2] and len(per_attr[2]) != 33:
        raise SkeletonFormatError(
            path, f"z columns for {len(per_attr[2])} of the 33 landmarks; give z for all or none", line=1
        )
    if len(cols) != len({v for v in cols.values()}):
        raise SkeletonFormatError(path, "a landmark coordinate has two columns", line=1)
    dims = 3 if per_attr[2] else 2
    vals = parse_numeric(path, body, ncols=len(header))
    values = np.full((vals.shape[0], 33, 5), np.nan)
    for i, (k, a) in cols.items():
        values[:, k, a] = vals[:, i]
    has_vis = bool(per_attr[3])
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
    return _assemble(path, frame_no, values, dims, has_vis, "wide", ignored)


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
    body: list[tuple[int, str]],
    frame_col: int | None,
    lm_col: int,
) -> SkeletonSequence:
    attr_cols: dict[int, int] = {}
    for i, h in enumerate(header):
        a = _ATTR.get(norm_name(h))
        if a is not None and a not in attr_cols and i not in (frame_col, lm_col):
            attr_cols[a] = i
    if frame_col is None or 0 not in attr_cols or 1 not in attr_cols:
        lacking = [w for w, ok in (("a frame column", frame_col is not None), ("x", 0 in attr_cols),
                                   ("y", 1 in attr_cols)) if not ok]  # fmt: skip
        raise _mismatch(path, header, f"a landmark column ({header[lm_col]!r}) but no {' / '.join(lacking)}")
    dims = 3 if 2 in attr_cols else 2
    n = len(header)
    lms: list[int] = []
    numeric_rows: list[tuple[int, str]] = []
    for lineno, ln in body:
        f = ln.split(",")
        if len(f) != n:
            raise SkeletonFormatError(path, f"{len(f)} columns, expected {n}", line=lineno)
        lm = f[lm_col].strip().strip('"')
        if lm.lstrip("-").isdigit():
            k = int(lm)
        elif norm_name(lm) in _NAMES:
            k = _NAMES[norm_name(lm)]
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
    lm_arr = np.asarray(lms, dtype=np.int64)
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
    # a frame present in the file but with some landmarks absent: those stay NaN -> missing
    return _assemble(
        path,
        uniq.astype(np.int64),
        values,
        dims,
        3 in attr_cols,
        "long",
        [h for i, h in enumerate(header) if i not in (frame_col, lm_col, *attr_cols.values())],
    )


def _sniff(path: Path, head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    cols = split_header(first)
    if find_column(cols, _LM_COLS) is not None and find_column(cols, _FRAME_COLS) is not None:
        names = {norm_name(c) for c in cols}
        return {"x", "y"} <= names
    return sum(1 for c in cols if _wide_column(c) is not None) >= 66


register_reader(
    "mediapipe_csv",
    read_mediapipe_csv,
    extensions=(".csv",),
    sniff=_sniff,
    description="MediaPipe Pose 33-landmark CSV, wide (row per frame) or long (row per landmark), 3D or 2D",
)
