"""OpenPose ``*_keypoints.json`` output: one file per frame, in a folder or a tar archive.

Each file holds ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, ...], "face_keypoints_2d": [...],
"hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...]}, ...]}`` (pixels; a missing
keypoint is ``(0, 0, 0)``). The body model follows from the keypoint count: 25 -> ``openpose25``
(BODY_25), 18 -> ``openpose18`` (COCO-18), 15 -> ``mpi15`` (MPI-15).

Frames are ordered by the number in the file name (``..._000000000123_keypoints.json``); a number
missing from the run becomes an empty frame, counted in ``counts['missing_files']``. Frames with
``"people": []`` are empty frames (``counts['empty_frames']``). People are linked across frames by
:func:`skelaug.io.track_people` (OpenPose's ``person_id`` is usually -1). Result: ``C = 3``
``(x, y, score)``; ``extras`` ``face`` ``(M, T, 70, 3)``, ``hand_left`` / ``hand_right``
``(M, T, 21, 3)`` when the files carry them (``hand_right`` is OpenPose's right hand, the hand at
BODY_25 joint 4, the subject's right wrist). Coordinates are kept as written even where the score is
0 (some post-processed files interpolate keypoints and zero their score);
``counts['zero_score_keypoints']`` counts them.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, json_error_message, register_reader
from skelaug.io.people import assemble_tracks, track_people

__all__ = ["OPENPOSE_LAYOUTS", "parse_openpose_frame", "read_openpose"]

#: Layout name by OpenPose body keypoint count.
OPENPOSE_LAYOUTS = {25: "openpose25", 18: "openpose18", 15: "mpi15"}
_NUM = re.compile(r"(\d+)(?=\D*$)")
_PARTS = {
    "face": ("face_keypoints_2d", 70),
    "hand_left": ("hand_left_keypoints_2d", 21),
    "hand_right": ("hand_right_keypoints_2d", 21),
}

Frame = tuple[NDArray[np.float32], dict[str, NDArray[np.float32] | None]]


def parse_openpose_frame(obj: Any, where: str) -> Frame:
    """Parse one decoded OpenPose frame: body ``(P, V, 3)`` and optional part arrays ``(P, K, 3)``.

    ``where`` names the file in error messages.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("people"), list):
        raise SkeletonFormatError(where, "not an OpenPose keypoint file (no 'people' list)")
    people = obj["people"]
    bodies: list[list[float]] = []
    parts: dict[str, list[list[float]]] = {k: [] for k in _PARTS}
    for n, person in enumerate(people):
        if not isinstance(person, dict):
            raise SkeletonFormatError(where, f"people[{n}] is not an object")
        pose = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
        if pose is None:
            raise SkeletonFormatError(where, f"people[{n}] has no 'pose_keypoints_2d'")
        if len(pose) % 3:
            raise SkeletonFormatError(
                where,
                f"people[{n}].pose_keypoints_2d has {len(pose)} values, not a "
                f"multiple of 3 (x, y, confidence)",
            )
        bodies.append(pose)
        for k, (key, nk) in _PARTS.items():
            vals = person.get(key) or []
            if vals and len(vals) != 3 * nk:
                raise SkeletonFormatError(
                    where, f"people[{n}].{key} has {len(vals)} values, expected {3 * nk}"
                )
            parts[k].append(vals)
    lens = {len(b) for b in bodies}
    if len(lens) > 1:
        raise SkeletonFormatError(where, f"people have different keypoint counts {sorted(lens)}")
    v = lens.pop() // 3 if lens else 0
    try:
        body = np.asarray(bodies, dtype=np.float32).reshape(len(bodies), v, 3)
    except (TypeError, ValueError):
        raise SkeletonFormatError(where, "pose_keypoints_2d holds non-numbers") from None
    out: dict[str, NDArray[np.float32] | None] = {}
    for k, (_, nk) in _PARTS.items():
        if any(parts[k]):
            arr = np.zeros((len(bodies), nk, 3), dtype=np.float32)
            for i, vals in enumerate(parts[k]):
                if vals:
                    arr[i] = np.asarray(vals, dtype=np.float32).reshape(nk, 3)
            out[k] = arr
        else:
            out[k] = None
    return body, out


def _frame_number(name: str) -> int | None:
    stem = name.rsplit("/", 1)[-1]
    stem = stem[: -len("_keypoints.json")] if stem.endswith("_keypoints.json") else stem.rsplit(".", 1)[0]
    m = _NUM.search(stem)
    return int(m.group(1)) if m else None


def _iter_folder(path: Path) -> Iterator[tuple[str, bytes]]:
    files = sorted(p for p in path.iterdir() if p.name.endswith(".json"))
    for f in files:
        yield str(f), f.read_bytes()


def _iter_tar(path: Path, subdir: str | None) -> Iterator[tuple[str, bytes]]:
    try:
        tf = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as e:
        raise SkeletonFormatError(path, f"cannot open as a tar archive: {e}") from None
    with tf:
        dirs: set[str] = set()
        while True:
            try:
                member = tf.next()
            except (tarfile.TarError, EOFError, OSError) as e:
                raise SkeletonFormatError(path, f"archive is truncated or corrupt: {e}") from None
            if member is None:
                break
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            parent = member.name.rsplit("/", 1)[0] if "/" in member.name else ""
            if subdir is not None and parent.rstrip("/").split("/")[-1] != subdir.strip("/").split("/")[-1]:
                continue
            dirs.add(parent)
            if len(dirs) > 1:
                raise SkeletonFormatError(
                    path,
                    f"archive holds JSON files in several folders "
                    f"({', '.join(sorted(dirs))}); choose one with subdir=",
                )
            fh = tf.extractfile(member)
            if fh is None:
                continue
            try:
                yield f"{path}:{member.name}", fh.read()
            except (tarfile.TarError, EOFError, OSError) as e:
                raise SkeletonFormatError(
                    path, f"archive is truncated or corrupt at {member.name}: {e}"
                ) from None


def read_openpose(
    path: Path,
    *,
    layout: str | None = None,
    subdir: str | None = None,
    hands: bool = True,
    face: bool = True,
    track_threshold: float = 0.5,
    max_gap: int = 30,
) -> SkeletonSequence:
    """Read OpenPose JSON: a folder of per-frame files, a tar archive of one, or a single frame file.

    Args:
        path: Folder, ``.tar[.gz|.xz|.bz2]`` archive or one ``*_keypoints.json``.
        layout: Override the body layout chosen from the keypoint count.
        subdir: In an archive with several folders, the one to read.
        hands, face: Keep hand / face keypoints in ``extras`` when present.
        track_threshold, max_gap: Passed to :func:`skelaug.io.track_people`.
    """
    path = Path(path)
    if path.is_dir():
        items = _iter_folder(path)
    elif tarfile.is_tarfile(path):
        items = _iter_tar(path, subdir)
    else:
        items = iter([(str(path), path.read_bytes())])
    numbered: list[tuple[int | None, str, Frame]] = []
    for where, raw in items:
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise SkeletonFormatError(where, json_error_message(e), line=e.lineno) from None
        except UnicodeDecodeError as e:
            raise SkeletonFormatError(where, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
        numbered.append((_frame_number(where), where, parse_openpose_frame(obj, where)))
    if not numbered:
        raise SkeletonFormatError(path, "no OpenPose *.json frame files found")
    if all(n is not None for n, _, _ in numbered):
        numbered.sort(key=lambda x: (x[0], x[1]))
        nums = [int(n) for n, _, _ in numbered if n is not None]
        if len(set(nums)) != len(nums):
            dup = next(n for n in nums if nums.count(n) > 1)
            raise SkeletonFormatError(path, f"two files carry frame number {dup}")
        first = nums[0]
        slots = [n - first for n in nums]
        n_frames = nums[-1] - first + 1
    else:
        numbered.sort(key=lambda x: x[1])
        first = 0
        slots = list(range(len(numbered)))
        n_frames = len(numbered)
    vs = {f[2][0].shape[1] for f in numbered if f[2][0].shape[0]}
    if len(vs) > 1:
        raise SkeletonFormatError(path, f"frames disagree on the keypoint count: {sorted(vs)}")
    v = vs.pop() if vs else (25 if layout is None else 0)
    lay = layout or OPENPOSE_LAYOUTS.get(v)
    if lay is None:
        raise SkeletonFormatError(
            path,
            f"{v} body keypoints per person: not BODY_25 (25), COCO-18 (18) or "
            f"MPI-15 (15); pass layout= to say which layout it is",
        )
    empty_body = np.zeros((0, v, 3), dtype=np.float32)
    bodies = [empty_body] * n_frames
    frame_parts: list[dict[str, NDArray[np.float32] | None]] = [{} for _ in range(n_frames)]
    for slot, (_, _, (body, parts)) in zip(slots, numbered, strict=True):
        bodies[slot] = body
        frame_parts[slot] = parts
    ids, m = track_people(bodies, 2, threshold=track_threshold, max_gap=max_gap)
    data = assemble_tracks(bodies, ids, m, (v, 3))
    extras: dict[str, NDArray[np.float32]] = {}
    want = [k for k in _PARTS if (k == "face" and face) or (k != "face" and hands)]
    for k in want:
        if any(fp.get(k) is not None for fp in frame_parts):
            nk = _PARTS[k][1]
            det = [
                fp.get(k) if fp.get(k) is not None else np.zeros((b.shape[0], nk, 3), np.float32)
                for fp, b in zip(frame_parts, bodies, strict=True)
            ]
            extras[k] = assemble_tracks(det, ids, m, (nk, 3))  # type: ignore[arg-type]
    per_frame = np.array([b.shape[0] for b in bodies], dtype=np.int64)
    zero_score = int(np.sum((data[..., 2] == 0) & np.any(data[..., :2] != 0, axis=-1)))
    return SkeletonSequence(
        data=data,
        layout=lay,
        fps=None,
        confidence=data[..., 2].copy(),
        channels=("x", "y", "score"),
        source={
            "path": str(path),
            "format": "openpose_json",
            "first_frame_number": first,
            "people_per_frame": per_frame.tolist() if n_frames <= 100000 else None,
        },
        counts={
            "files": len(numbered),
            "missing_files": n_frames - len(numbered),
            "empty_frames": int(np.sum(per_frame == 0)),
            "max_people_per_frame": int(per_frame.max(initial=0)),
            "zero_score_keypoints": zero_score,
        },
        extras=extras,
    )


def _sniff_json_frame(path: Path, head: bytes) -> bool:
    return b'"people"' in head


def _sniff_dir(path: Path, head: bytes) -> bool:
    """A folder of OpenPose frames: ``*_keypoints.json`` files, or ``.json`` files holding ``"people"``
    (a folder of other JSON files, e.g. one COCO or Kinetics file per clip, is not one clip)."""
    files = sorted(p for p in path.iterdir() if p.name.endswith(".json") and p.is_file())
    if any(p.name.endswith("_keypoints.json") for p in files):
        return True
    for f in files[:3]:
        with open(f, "rb") as fh:
            if b'"people"' in fh.read(65536):
                return True
    return False


def _sniff_tar(path: Path, head: bytes) -> bool:
    return tarfile.is_tarfile(path)


register_reader(
    "openpose_json",
    read_openpose,
    extensions=(".json",),
    sniff=_sniff_json_frame,
    description="OpenPose *_keypoints.json (a single frame file)",
)
register_reader(
    "openpose_folder",
    read_openpose,
    directory=True,
    sniff=_sniff_dir,
    description="OpenPose output folder: one *_keypoints.json per frame",
)
register_reader(
    "openpose_tar",
    read_openpose,
    extensions=(".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2"),
    sniff=_sniff_tar,
    description="tar archive of an OpenPose output folder",
)
