"""COCO-style person-keypoint JSON: annotation files (``images`` + ``annotations``) and result lists.

**Keypoints.** The layout comes from the file's own ``categories[].keypoints`` names (of the category
read, ``category_id`` 1 by default): they are matched, case-insensitively, to the joint names of the
registered 2D layouts -- ``coco17`` for COCO, ``posetrack18`` for PoseTrack 2018 (``head_bottom``,
``head_top`` where COCO has the eyes), or any layout you :func:`skelaug.layouts.register` with those
names. A file listing the same names in another order is reordered to the layout's order
(``source['keypoint_order']``). Unknown keypoint lists are refused with an error naming them; pass
``layout=`` to read them as a registered layout of the same size anyway. Result lists and files without
``categories`` are ``coco17`` when they hold 51 values per annotation (else pass ``layout=``).

**Frames and videos.** A plain COCO file holds single images, not videos: the reader returns them as a
sequence with one frame per image, in the order of ``images`` (result lists: in order of first
appearance of each ``image_id``); images without annotations are empty frames
(``counts['empty_frames']``). Video datasets in this format (PoseTrack, COCO-VID style) tag each image
with a video id (``vid_id`` or ``video_id``) and a ``frame_id``: images of **different videos never
become one clip**. ``read_coco_json(path, video=...)`` (or ``skelaug.io.read(path, video=...)``) reads
one video, its images ordered by ``frame_id``; without ``video=`` a file holding several videos is
refused with an error listing them; :func:`read_coco_videos` returns every video as its own sequence.

**Persons.** When every annotation read has a ``track_id`` (PoseTrack), person slot ``m`` is the
``m``-th track id in ascending order (``source['track_ids']``), so a person keeps its slot across
frames. Otherwise there is one slot per annotation of the most crowded image, in file order, and
persons are **not** linked across images (use :func:`skelaug.io.track_people` for that).

**Values.** Each annotation's ``keypoints`` are ``(x, y, v)`` triples: ``v = 0`` not labelled
(``x = y = 0``), 1 labelled but not visible, 2 visible. Result: ``C = 3`` ``(x, y, v / 2)`` -- so
confidence is 0, 0.5 or 1 -- (result files carry a score in the third place, kept as is).
Annotations without keypoints (an empty or absent list) are skipped and counted in
``counts['annotations_skipped']`` with those of other categories and crowd regions. ``source`` lists
``image_ids``, ``file_names``, image sizes, the annotation ids per slot and the ``video_id``.

Example:
    >>> import json, os, tempfile, skelaug.io as sio
    >>> from skelaug import layouts
    >>> names = list(layouts.get("posetrack18").joint_names)
    >>> kp = [v for j in range(17) for v in (10.0 + j, 20.0, 2)]
    >>> obj = {"categories": [{"id": 1, "name": "person", "keypoints": names}],
    ...        "images": [{"id": i, "vid_id": v, "frame_id": i} for i, v in enumerate("aab")],
    ...        "annotations": [{"id": i, "image_id": i, "category_id": 1, "track_id": 0, "keypoints": kp}
    ...                        for i in range(3)]}
    >>> path = os.path.join(tempfile.mkdtemp(), "posetrack.json")
    >>> _ = open(path, "w").write(json.dumps(obj))
    >>> seq = sio.read(path, video="a")
    >>> seq.layout, seq.data.shape, seq.source["video_id"]
    ('posetrack18', (1, 2, 17, 3), 'a')
    >>> {v: s.num_frames for v, s in sio.read_coco_videos(path).items()}
    {'a': 2, 'b': 1}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelaug import layouts
from skelaug.io._base import PathLike, SkeletonFormatError, SkeletonSequence, json_error_message, register_reader

__all__ = ["read_coco_json", "read_coco_videos"]

_VIDEO_KEYS = ("vid_id", "video_id")


def _kp_name(n: Any) -> str:
    return str(n).strip().lower().replace(" ", "_").replace("-", "_")


def _load(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except json.JSONDecodeError as e:
        raise SkeletonFormatError(path, json_error_message(e), line=e.lineno) from None
    except UnicodeDecodeError as e:
        raise SkeletonFormatError(path, f"not a text file ({e.reason} at byte {e.start})") from None


def _keypoint_names(path: Path, obj: Any, category_id: int | None) -> list[str] | None:
    """The file's keypoint names for the category read, or ``None`` when the file does not name them."""
    cats = obj.get("categories") if isinstance(obj, dict) else None
    if not isinstance(cats, list):
        return None
    lists = {
        c.get("id"): [_kp_name(n) for n in c["keypoints"]]
        for c in cats
        if isinstance(c, dict) and isinstance(c.get("keypoints"), list) and c["keypoints"]
    }
    if category_id is not None:
        return lists.get(category_id)
    distinct = {tuple(v) for v in lists.values()}
    if len(distinct) > 1:
        raise SkeletonFormatError(
            path,
            f"categories {sorted(lists, key=str)} list different keypoints; pass category_id= to choose one",
        )
    return list(distinct.pop()) if distinct else None


def _resolve_layout(
    path: Path, names: list[str] | None, layout: str | None, values: int | None
) -> tuple[layouts.SkeletonLayout, list[int] | None]:
    """The layout and, for files naming their keypoints in another order, ``order[j]`` = file index of joint j."""
    if layout is not None:
        lay = layouts.get(layout)
        if names is not None and len(names) != lay.num_joints:
            raise SkeletonFormatError(
                path, f"the file lists {len(names)} keypoints but layout={layout!r} has {lay.num_joints}"
            )
        if names is not None and sorted(names) == sorted(lay.joint_names):
            return lay, [names.index(n) for n in lay.joint_names]
        return lay, None
    if names is None:
        if values is None or values == 51:
            return layouts.get("coco17"), None
        raise SkeletonFormatError(
            path,
            f"the annotations hold {values} keypoint values and the file names no keypoints "
            f"(no categories[].keypoints); pass layout= (a registered layout with {values // 3} joints)",
        )
    if len(set(names)) != len(names):
        raise SkeletonFormatError(path, f"categories[].keypoints repeats a name: {names}")
    same_set = []
    for n in layouts.names():
        lay = layouts.get(n)
        if lay.dim != 2 or lay.num_joints != len(names):
            continue
        if list(lay.joint_names) == names:
            return lay, None
        if sorted(lay.joint_names) == sorted(names):
            same_set.append(lay)
    if same_set:
        lay = same_set[0]
        return lay, [names.index(n) for n in lay.joint_names]
    closest = min(
        (layouts.get(n) for n in layouts.names() if layouts.get(n).dim == 2),
        key=lambda lay: len(set(lay.joint_names) ^ set(names)),
    )
    extra = [n for n in names if n not in closest.joint_names]
    lacking = [n for n in closest.joint_names if n not in names]
    raise SkeletonFormatError(
        path,
        f"categories[].keypoints lists {len(names)} keypoints {names} that match no registered 2D layout "
        f"(closest: {closest.name!r}, which has {lacking} where the file has {extra}). Register a layout with "
        f"these joint names (skelaug.layouts.register) or pass layout= to read them as a layout of that size",
    )


def _parse(
    path: Path, obj: Any, category_id: int | None, include_crowd: bool, layout: str | None
) -> tuple[dict[str | None, list[Any]], dict[Any, list[tuple[int, Any, list[Any]]]], dict[str, Any]]:
    """Group images into videos and annotations into images. Returns (videos, per_image, info)."""
    results = isinstance(obj, list)
    if results:
        anns = obj
        images: list[dict[str, Any]] = []
    elif isinstance(obj, dict) and isinstance(obj.get("annotations"), list):
        anns = obj["annotations"]
        images = [im for im in (obj.get("images") or []) if isinstance(im, dict)]
    else:
        keys = sorted(obj)[:10] if isinstance(obj, dict) else type(obj).__name__
        raise SkeletonFormatError(
            path, f"not a COCO keypoint file (no 'annotations' list and not a result list; found {keys})"
        )
    video_of: dict[Any, str | None] = {}
    frame_of: dict[Any, Any] = {}
    for im in images:
        vid = next((im[k] for k in _VIDEO_KEYS if im.get(k) is not None), None)
        video_of.setdefault(im.get("id"), None if vid is None else str(vid))
        frame_of.setdefault(im.get("id"), im.get("frame_id"))
    per_image: dict[Any, list[tuple[int, Any, list[Any]]]] = {}
    extra_images: list[Any] = []
    skipped = 0
    values: int | None = None
    for n, a in enumerate(anns):
        if not isinstance(a, dict) or "image_id" not in a:
            raise SkeletonFormatError(path, f"annotation {n} lacks 'image_id'")
        if category_id is not None and a.get("category_id", category_id) != category_id:
            skipped += 1
            continue
        if a.get("iscrowd", 0) and not include_crowd:
            skipped += 1
            continue
        kp = a.get("keypoints")
        if kp is None or (isinstance(kp, list) and not kp):
            skipped += 1
            continue
        if not isinstance(kp, list) or len(kp) % 3 or (values is not None and len(kp) != values):
            raise SkeletonFormatError(
                path,
                f"annotation {n} (id {a.get('id')}) has "
                f"{len(kp) if isinstance(kp, list) else 'no'} keypoint values, expected "
                f"{values if values is not None else 'a multiple of 3'} (x, y, v per keypoint)",
            )
        values = len(kp)
        img = a["image_id"]
        if img not in video_of:
            if images and video_of and any(v is not None for v in video_of.values()):
                raise SkeletonFormatError(path, f"annotation {n} (id {a.get('id')}) refers to image {img!r}, "
                                                f"which 'images' does not list")
            video_of[img] = None
            extra_images.append(img)
        per_image.setdefault(img, []).append((int(a.get("id", n)), a.get("track_id"), kp))
    lay, order = _resolve_layout(path, _keypoint_names(path, obj, category_id), layout, values)
    if values is not None and values != 3 * lay.num_joints:
        raise SkeletonFormatError(
            path,
            f"annotations hold {values} keypoint values, expected {3 * lay.num_joints} "
            f"({lay.num_joints} x (x, y, v)) for layout {lay.name!r}",
        )
    videos: dict[str | None, list[Any]] = {}
    for img, vid in video_of.items():
        videos.setdefault(vid, []).append(img)
    for vid, imgs in videos.items():
        fids = [frame_of.get(i) for i in imgs]
        if vid is not None and all(isinstance(f, int | float) and not isinstance(f, bool) for f in fids):
            rank = np.argsort(np.asarray(fids, dtype=np.float64), kind="stable")
            videos[vid] = [imgs[int(k)] for k in rank]
    info = {
        "results": results,
        "layout": lay,
        "order": order,
        "skipped": skipped,
        "by_id": {im.get("id"): im for im in images},
    }
    return videos, per_image, info


def _sequence(
    path: Path,
    vid: str | None,
    image_ids: list[Any],
    per_image: dict[Any, list[tuple[int, Any, list[Any]]]],
    info: dict[str, Any],
) -> SkeletonSequence:
    lay: layouts.SkeletonLayout = info["layout"]
    order: list[int] | None = info["order"]
    v = lay.num_joints
    t = len(image_ids)
    anns = [(f, a) for f, img in enumerate(image_ids) for a in per_image.get(img, [])]
    tracked = bool(anns) and all(a[1] is not None for _, a in anns)
    if tracked:
        track_ids = sorted({a[1] for _, a in anns}, key=lambda x: (str(type(x)), x))
        slot_of = {tid: m for m, tid in enumerate(track_ids)}
        m = len(track_ids)
    else:
        track_ids = None
        m = max((len(per_image.get(img, [])) for img in image_ids), default=0)
    data = np.zeros((m, t, v, 3), dtype=np.float32)
    ann_ids = [[-1] * t for _ in range(m)]
    taken: set[tuple[int, int]] = set()
    for f, img in enumerate(image_ids):
        for p, (aid, tid, kp) in enumerate(per_image.get(img, [])):
            try:
                arr = np.asarray(kp, dtype=np.float32).reshape(v, 3)
            except (TypeError, ValueError):
                raise SkeletonFormatError(path, f"annotation {aid} holds non-numbers", frame=f) from None
            if order is not None:
                arr = arr[order]
            if not info["results"]:
                arr[:, 2] = arr[:, 2] / 2.0
                arr[arr[:, 2] == 0, :2] = 0.0
            slot = slot_of[tid] if tracked else p
            if (slot, f) in taken:
                raise SkeletonFormatError(
                    path, f"image {img!r} has two annotations with track_id {tid!r} (the second is {aid})", frame=f
                )
            taken.add((slot, f))
            data[slot, f] = arr
            ann_ids[slot][f] = aid
    by_id = info["by_id"]
    return SkeletonSequence(
        data=data,
        layout=lay.name,
        fps=None,
        confidence=data[..., 2].copy(),
        channels=("x", "y", "visibility"),
        source={
            "path": str(path),
            "format": "coco_results" if info["results"] else "coco_json",
            "video_id": vid,
            "image_ids": image_ids,
            "file_names": [by_id.get(i, {}).get("file_name") for i in image_ids],
            "image_sizes": [(by_id.get(i, {}).get("height"), by_id.get(i, {}).get("width")) for i in image_ids],
            "annotation_ids": ann_ids,
            "track_ids": track_ids,
            "keypoint_order": order,
        },
        counts={
            "images": t,
            "annotations": len(anns),
            "annotations_skipped": info["skipped"],
            "empty_frames": sum(1 for i in image_ids if i not in per_image),
        },
    )


def read_coco_json(
    path: PathLike,
    *,
    category_id: int | None = 1,
    include_crowd: bool = False,
    video: str | int | None = None,
    layout: str | None = None,
) -> SkeletonSequence:
    """Read a COCO-style keypoint annotation or result JSON (see the module docstring).

    Args:
        category_id: Keep annotations of this category (1 = person); ``None`` keeps all.
        include_crowd: Keep ``iscrowd`` annotations (they usually have no keypoints).
        video: For files whose images carry a video id (``vid_id`` / ``video_id``): the video to read
            (compared as a string). Required when the file holds more than one video.
        layout: Read the keypoints as this registered layout instead of matching the file's names.

    Raises:
        SkeletonFormatError: invalid JSON, keypoint names that match no layout, several videos and no
            ``video=``, an unknown ``video``, or malformed annotations (naming the annotation).
    """
    p = Path(path)
    videos, per_image, info = _parse(p, _load(p), category_id, include_crowd, layout)
    named = [v for v in videos if v is not None]
    if video is not None:
        if str(video) not in videos:
            raise SkeletonFormatError(
                p, f"video={video!r} is not in the file; its videos are {named[:20]}"
                + (f" (and {len(named) - 20} more)" if len(named) > 20 else "")
            )
        key: str | None = str(video)
    elif len(videos) > 1:
        raise SkeletonFormatError(
            p,
            f"the file holds images of {len(videos)} videos ({named[:10]}"
            + (", ..." if len(named) > 10 else "")
            + "); frames of different videos are not one clip: pass video= to read one "
            "(skelaug.io.read(path, video=...)) or use skelaug.io.read_coco_videos for all",
        )
    else:
        key = next(iter(videos), None)
    return _sequence(p, key, videos.get(key, []), per_image, info)


def read_coco_videos(
    path: PathLike,
    *,
    category_id: int | None = 1,
    include_crowd: bool = False,
    layout: str | None = None,
) -> dict[str | None, SkeletonSequence]:
    """Every video of a COCO-style file as its own sequence, keyed by video id (as a string).

    Images without a video id (a plain COCO file) are one sequence under the key ``None``. Options as
    in :func:`read_coco_json`.
    """
    p = Path(path)
    videos, per_image, info = _parse(p, _load(p), category_id, include_crowd, layout)
    if not videos:
        return {None: _sequence(p, None, [], per_image, info)}
    return {vid: _sequence(p, vid, imgs, per_image, info) for vid, imgs in videos.items()}


def _sniff(path: Path, head: bytes) -> bool:
    if head.lstrip().startswith(b"["):
        return b'"keypoints"' in head and b'"image_id"' in head
    return b'"annotations"' in head or (b'"images"' in head and b'"people"' not in head)


register_reader(
    "coco_json",
    read_coco_json,
    extensions=(".json",),
    sniff=_sniff,
    description="COCO-style keypoint JSON (COCO-17, PoseTrack-18, ...; images as frames, one video at a time)",
)
