"""Readers for the pose formats people have, into canonical ``(M, T, V, C)`` sequences.

:func:`read` detects the format by file-name ending and content and returns a
:class:`SkeletonSequence` (``.data`` float32 ``(M, T, V, C)``, ``.layout``, ``.fps``,
``.confidence``, ``.channels``, ``.source``, ``.counts``, ``.extras``).

Channel convention: the first ``D`` channels are the layout's coordinates; formats with a per-joint
confidence append it as the last channel (also given as ``.confidence`` ``(M, T, V)``):

=================  ===============  ===================================  ===
format             layout           channels                             fps
=================  ===============  ===================================  ===
``ntu_skeleton``   ``ntu25``        x, y, z (m), tracking (0 / 0.5 / 1)  30
``ntu_npy``        ``ntu25``        x, y, z                              30
``openpose_*``     by count         x, y (px), score                     --
``kinetics_json``  ``openpose18``   x, y (normalised), score             30
``mediapipe_csv``  ``mediapipe33``  x, y (normalised), z, visibility     --
``kinect_v2_csv``  ``ntu25``        x, y, z (m), tracking (0 / 0.5 / 1)  30
``smg_csv``        ``ntu25``        x, y, z (m)                          30
``coco_json``      ``coco17``       x, y (px), v / 2                     --
iMiGUE (OpenPose)  ``imigue22``     x, y (px), score                     25
``nwucla_json``    ``kinect20``     x, y, z (m)                          --
``utd_mhad_mat``   ``kinect20``     x, y, z (m)                          30
=================  ===============  ===================================  ===

Missing joints are all-zero coordinates. Malformed files raise :class:`SkeletonFormatError` (a
``ValueError``) naming the file and the line or frame; whatever a reader fills in or drops is
counted in ``.counts``.

Example:
    >>> import numpy as np, skelaug.io as sio
    >>> seq = sio.SkeletonSequence(np.zeros((1, 4, 25, 3), np.float32), "openpose25")
    >>> seq.num_persons, seq.num_frames, seq.dims
    (1, 4, 2)
"""

from skelaug.io import (  # noqa: F401  (registers readers)
    coco,
    kinect,
    kinetics,
    mediapipe,
    ntu,
    nwucla,
    openpose,
    smg,
    utd_mhad,
)
from skelaug.io._base import (
    ReaderInfo,
    SkeletonFormatError,
    SkeletonSequence,
    detect_format,
    formats,
    read,
    register_reader,
)
from skelaug.io.coco import read_coco_json
from skelaug.io.convert import PysklData, load_pyskl, load_stgcn, save_pyskl, save_stgcn, to_stgcn_sample
from skelaug.io.imigue import (
    IMIGUE_CLASSES,
    IMiGUELabel,
    LabelledClip,
    cut_clips,
    openpose_to_imigue22,
    read_imigue_labels,
    read_imigue_raw_labels,
    read_imigue_skeleton,
)
from skelaug.io.kinect import read_kinect_csv
from skelaug.io.kinetics import read_kinetics_json
from skelaug.io.mediapipe import read_mediapipe_csv
from skelaug.io.ntu import read_ntu_npy, read_ntu_skeleton
from skelaug.io.nwucla import NWUCLA_CLASSES, nwucla_name_fields, read_nwucla_json
from skelaug.io.openpose import parse_openpose_frame, read_openpose
from skelaug.io.people import select_people, track_people
from skelaug.io.smg import SMGLabel, read_smg_csv, read_smg_labels
from skelaug.io.utd_mhad import UTD_MHAD_CLASSES, read_utd_mhad_mat, utd_mhad_name_fields

__all__ = [
    "IMIGUE_CLASSES",
    "NWUCLA_CLASSES",
    "UTD_MHAD_CLASSES",
    "IMiGUELabel",
    "LabelledClip",
    "PysklData",
    "ReaderInfo",
    "SMGLabel",
    "SkeletonFormatError",
    "SkeletonSequence",
    "cut_clips",
    "detect_format",
    "formats",
    "load_pyskl",
    "load_stgcn",
    "nwucla_name_fields",
    "openpose_to_imigue22",
    "parse_openpose_frame",
    "read",
    "read_coco_json",
    "read_imigue_labels",
    "read_imigue_raw_labels",
    "read_imigue_skeleton",
    "read_kinect_csv",
    "read_kinetics_json",
    "read_mediapipe_csv",
    "read_ntu_npy",
    "read_ntu_skeleton",
    "read_nwucla_json",
    "read_openpose",
    "read_smg_csv",
    "read_smg_labels",
    "read_utd_mhad_mat",
    "register_reader",
    "save_pyskl",
    "save_stgcn",
    "select_people",
    "to_stgcn_sample",
    "track_people",
    "utd_mhad_name_fields",
]
