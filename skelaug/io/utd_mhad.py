"""UTD-MHAD (UTD Multimodal Human Action Dataset) skeleton ``.mat`` files.

**Format**: MATLAB v5 ``.mat`` (read with :func:`scipy.io.loadmat`) holding ``d_skel``, a float
array of shape ``(20, 3, T)``: 20 Kinect v1 joints x ``(x, y, z)`` camera coordinates in metres x
``T`` frames, 30 fps. The joints are in the dataset's own order, head first
(:data:`UTD_MHAD_JOINTS`: head, shoulder_center, spine, hip_center, then the arms, hips and legs as in
the Kinect SDK); the reader reorders them into the canonical ``kinect20`` (Kinect SDK) order, so
``seq.data[..., j, :]`` is joint ``layouts.get("kinect20").joint_names[j]``. A single-frame clip saved
by MATLAB as ``(20, 3)`` is read as ``T = 1``.

File names ``aA_sS_tT_skeleton.mat`` give ``action`` 1..27, ``subject`` 1..8 and ``trial`` 1..4; they
are kept in ``source`` with ``label = action`` (1-based, as named; the datasets use ``action - 1``).

Result: layout ``kinect20``, ``C = 3`` ``(x, y, z)``, one person, no confidence, ``fps = 30``.

Example:
    >>> import os, tempfile, numpy as np, scipy.io, skelaug.io as sio
    >>> path = os.path.join(tempfile.mkdtemp(), "a5_s2_t1_skeleton.mat")
    >>> d_skel = np.zeros((20, 3, 6)); d_skel[0, 1] = 0.5           # the head (UTD joint 1) at y = 0.5
    >>> scipy.io.savemat(path, {"d_skel": d_skel})
    >>> seq = sio.read(path)
    >>> seq.data.shape, seq.layout, seq.source["subject"]
    ((1, 6, 20, 3), 'kinect20', 2)
    >>> float(seq.data[0, 0, 3, 1])        # kinect20 joint 3 is the head
    0.5
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader

__all__ = ["UTD_MHAD_CLASSES", "UTD_MHAD_JOINTS", "UTD_MHAD_TO_KINECT20", "read_utd_mhad_mat", "utd_mhad_name_fields"]

#: Joint order of UTD-MHAD's ``d_skel`` (``Skeleton_joint_order.txt`` of the release), 0-based.
UTD_MHAD_JOINTS = (
    "head", "shoulder_center", "spine", "hip_center",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)  # fmt: skip
#: ``kinect20`` joint ``j`` is UTD-MHAD row ``UTD_MHAD_TO_KINECT20[j]`` (the four midline joints reversed).
UTD_MHAD_TO_KINECT20 = (3, 2, 1, 0, *range(4, 20))
#: Class names by 0-based label (Chen, Jafari, Kehtarnavaz, ICIP 2015).
UTD_MHAD_CLASSES = (
    "right arm swipe to the left", "right arm swipe to the right", "right hand wave", "two hand front clap",
    "right arm throw", "cross arms in the chest", "basketball shoot", "right hand draw x",
    "right hand draw circle (clockwise)", "right hand draw circle (counter clockwise)", "draw triangle",
    "bowling (right hand)", "front boxing", "baseball swing from right", "tennis right hand forehand swing",
    "arm curl (two arms)", "tennis serve", "two hand push", "right hand knock on door",
    "right hand catch an object", "right hand pick up and throw", "jogging in place", "walking in place",
    "sit to stand", "stand to sit", "forward lunge (left foot forward)", "squat (two arms stretch out)",
)  # fmt: skip
_NAME = re.compile(r"a(\d+)_s(\d+)_t(\d+)")


def utd_mhad_name_fields(name: str) -> dict[str, int]:
    """``aA_sS_tT_skeleton.mat`` -> ``action``, ``subject``, ``trial`` (1-based); ``{}`` if unmatched.

    Example:
        >>> utd_mhad_name_fields("a27_s5_t1_skeleton.mat")
        {'action': 27, 'subject': 5, 'trial': 1}
    """
    m = _NAME.search(name)
    if not m:
        return {}
    return {k: int(v) for k, v in zip(("action", "subject", "trial"), m.groups(), strict=True)}


def read_utd_mhad_mat(path: Path, *, variable: str = "d_skel") -> SkeletonSequence:
    """Read one UTD-MHAD skeleton ``.mat`` (see the module docstring).

    Args:
        variable: Name of the ``(20, 3, T)`` array in the file.

    Raises:
        SkeletonFormatError: the file is not a readable MATLAB v4-v7.2 file, lacks ``variable``, holds
            an array of another shape, or a non-finite coordinate (naming the frame).
    """
    from scipy.io import loadmat

    p = Path(path)
    try:
        mat: dict[str, Any] = loadmat(p)
    except NotImplementedError:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise SkeletonFormatError(
            p, "MATLAB v7.3 (HDF5) files are not supported; re-save it in MATLAB with save(..., '-v7')"
        ) from None
    except Exception as e:  # truncated or corrupt: scipy raises ValueError, TypeError, OSError, ...
        raise SkeletonFormatError(p, f"not a readable MATLAB file ({type(e).__name__}: {e})") from None
    if variable not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise SkeletonFormatError(
            p,
            f"no variable {variable!r} in the MAT file (found: {', '.join(found) or 'none'}); "
            "a UTD-MHAD skeleton file holds d_skel (20, 3, T)",
        )
    raw = mat[variable]
    if not isinstance(raw, np.ndarray) or raw.dtype.kind not in "fiu":
        raise SkeletonFormatError(p, f"{variable} is not a numeric array ({type(raw).__name__})")
    a = raw[..., None] if raw.shape == (20, 3) else raw
    if a.ndim != 3 or a.shape[:2] != (20, 3):
        raise SkeletonFormatError(p, f"{variable} has shape {raw.shape}; expected (20, 3, T) (joints x xyz x frames)")
    xyz = np.moveaxis(a.astype(np.float64), 2, 0)[:, list(UTD_MHAD_TO_KINECT20)]  # (T, 20, 3), kinect20 order
    bad = ~np.isfinite(xyz).all(axis=(1, 2))
    if bad.any():
        raise SkeletonFormatError(
            p, f"{variable} holds a non-finite coordinate (NaN or inf)", frame=int(np.argmax(bad))
        )
    fields = utd_mhad_name_fields(p.name)
    return SkeletonSequence(
        data=xyz.astype(np.float32)[None],
        layout="kinect20",
        fps=30.0,
        confidence=None,
        channels=("x", "y", "z"),
        source={"path": str(p), "format": "utd_mhad_mat", "label": fields.get("action"), **fields},
        counts={"frames": int(xyz.shape[0])},
    )


def _sniff(path: Path, head: bytes) -> bool:
    return head.startswith(b"MATLAB 5.0 MAT-file")


register_reader(
    "utd_mhad_mat",
    read_utd_mhad_mat,
    extensions=(".mat",),
    sniff=_sniff,
    description="UTD-MHAD skeleton .mat: d_skel (20, 3, T), Kinect v1 head-first order (needs scipy)",
)
