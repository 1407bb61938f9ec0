"""NW-UCLA (Northwestern-UCLA Multiview Action3D) skeleton JSON files.

**Format** (one clip per file, as released with CTR-GCN / InfoGCN's ``all_sqe`` folder)::

    {"file_name": "a01_s01_e00_v01", "skeletons": [[[x, y, z] x 20 joints] x T frames], "label": 1}

Kinect v1 camera coordinates in metres (``y`` up, ``z`` the depth, about 3 m). The 20 joints are in the
Kinect v1 SDK order, which is the canonical order of the ``kinect20`` layout, so no reordering is done.
``label`` is 1-based (1..10) and follows the action code of the name: ``a01``-``a06``, ``a08``,
``a09``, ``a11``, ``a12`` are labels 1-10 (:data:`NWUCLA_ACTIONS`).

Result: layout ``kinect20``, ``C = 3`` ``(x, y, z)``, one person, no confidence, ``fps = None`` (the
files do not record it). ``source`` carries ``file_name``, ``label`` (1-based, as in the file),
``action``, ``subject``, ``repetition`` and ``view`` (parsed from ``file_name``, 1-based).

Example:
    >>> import json, os, tempfile, skelaug.io as sio
    >>> path = os.path.join(tempfile.mkdtemp(), "a01_s02_e00_v03.json")
    >>> clip = {"file_name": "a01_s02_e00_v03", "skeletons": [[[0.1, 0.2, 3.0]] * 20] * 4, "label": 1}
    >>> _ = open(path, "w").write(json.dumps(clip))
    >>> seq = sio.read(path)
    >>> seq.data.shape, seq.layout, seq.source["view"], seq.source["label"]
    ((1, 4, 20, 3), 'kinect20', 3, 1)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader

__all__ = ["NWUCLA_ACTIONS", "NWUCLA_CLASSES", "nwucla_name_fields", "read_nwucla_json"]

#: NW-UCLA action code (``aXX`` of the file name) -> 1-based label used in the files.
NWUCLA_ACTIONS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 8: 7, 9: 8, 11: 9, 12: 10}
#: Class names by 0-based label (Wang et al., CVPR 2014).
NWUCLA_CLASSES = (
    "pick up with one hand",
    "pick up with two hands",
    "drop trash",
    "walk around",
    "sit down",
    "stand up",
    "donning",
    "doffing",
    "throw",
    "carry",
)
_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)")


def nwucla_name_fields(name: str) -> dict[str, int]:
    """``aXX_sYY_eZZ_vWW`` -> ``action``, ``subject``, ``repetition``, ``view`` (as written, 1-based).

    Returns an empty dict when ``name`` does not follow the pattern.

    Example:
        >>> nwucla_name_fields("a12_s10_e03_v02.json")
        {'action': 12, 'subject': 10, 'repetition': 3, 'view': 2}
    """
    m = _NAME.search(name)
    if not m:
        return {}
    keys = ("action", "subject", "repetition", "view")
    return {k: int(v) for k, v in zip(keys, m.groups(), strict=True)}


def read_nwucla_json(path: Path) -> SkeletonSequence:
    """Read one NW-UCLA clip ``.json`` (see the module docstring).

    Raises:
        SkeletonFormatError: invalid JSON, a missing key, a frame that is not 20 x 3 numbers, or a
            non-finite coordinate; the message names the file and the frame.
    """
    p = Path(path)
    try:
        obj: Any = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise SkeletonFormatError(
            p, f"invalid JSON ({e.msg}, column {e.colno}); the file may be truncated", line=e.lineno
        ) from None
    except UnicodeDecodeError:
        raise SkeletonFormatError(p, "not a UTF-8 text file; expected NW-UCLA JSON") from None
    if not isinstance(obj, dict) or "skeletons" not in obj:
        raise SkeletonFormatError(
            p, 'not an NW-UCLA clip: expected an object with "file_name", "skeletons" and "label"'
        )
    frames = obj["skeletons"]
    if not isinstance(frames, list):
        raise SkeletonFormatError(p, f'"skeletons" is a {type(frames).__name__}; expected a list of frames')
    try:
        arr = np.asarray(frames, dtype=np.float64)
    except (ValueError, TypeError):
        arr = np.zeros(0)
    if arr.shape != (len(frames), 20, 3) or not np.isfinite(arr).all():
        for t, fr in enumerate(frames):  # slow path: name the offending frame
            try:
                a = np.asarray(fr, dtype=np.float64)
            except (ValueError, TypeError):
                raise SkeletonFormatError(p, "frame is not a 20 x 3 array of numbers", frame=t) from None
            if a.shape != (20, 3):
                raise SkeletonFormatError(p, f"frame has shape {a.shape}; expected (20, 3) (20 joints x xyz)", frame=t)
            if not np.isfinite(a).all():
                raise SkeletonFormatError(p, "frame holds a non-finite coordinate (NaN or inf)", frame=t)
        arr = arr.reshape(0, 20, 3)  # only an empty list reaches this line
    data = arr.astype(np.float32)[None]
    name = obj.get("file_name", p.stem)
    label = obj.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, int) or not 1 <= label <= 10):
        raise SkeletonFormatError(p, f'"label" is {label!r}; expected an integer 1..10')
    fields = nwucla_name_fields(str(name))
    return SkeletonSequence(
        data=data,
        layout="kinect20",
        fps=None,
        confidence=None,
        channels=("x", "y", "z"),
        source={"path": str(p), "format": "nwucla_json", "file_name": str(name), "label": label, **fields},
        counts={"frames": len(frames)},
    )


def _sniff(path: Path, head: bytes) -> bool:
    return head.lstrip().startswith(b"{") and b'"skeletons"' in head


register_reader(
    "nwucla_json",
    read_nwucla_json,
    extensions=(".json",),
    sniff=_sniff,
    description='NW-UCLA clip JSON {"file_name", "skeletons": T x 20 x 3, "label"} (Kinect v1, 3D)',
)
