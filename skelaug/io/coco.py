"""COCO person-keypoint JSON: annotation files (``images`` + ``annotations``) and result lists.

COCO holds single images, not videos. The reader returns them as a sequence with one frame per
image, in the order of ``images`` (result lists: in order of first appearance of each ``image_id``),
and one person slot per annotation of the most crowded image (``M``); persons are **not** linked
across images. Each annotation's ``keypoints`` are ``(x, y, v)`` triples: ``v = 0`` not labelled
(``x = y = 0``), 1 labelled but not visible, 2 visible. Result: ``coco17``, ``C = 3``
``(x, y, v / 2)`` -- so confidence is 0, 0.5 or 1 -- (result files carry a score in the third
place, kept as is). ``source`` lists ``image_ids``, ``file_names``, image sizes and the annotation
ids per slot; images without annotations are empty frames (``counts['empty_frames']``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelaug.io._base import SkeletonFormatError, SkeletonSequence, register_reader

__all__ = ["read_coco_json"]


def read_coco_json(
    path: Path, *, category_id: int | None = 1, include_crowd: bool = False
) -> SkeletonSequence:
    """Read a COCO keypoint annotation or result JSON (see the module docstring).

    Args:
        category_id: Keep annotations of this category (1 = person); ``None`` keeps all.
        include_crowd: Keep ``iscrowd`` annotations (they usually have no keypoints).
    """
    try:
        obj: Any = json.loads(Path(path).read_bytes())
    except json.JSONDecodeError as e:
        raise SkeletonFormatError(path, f"invalid JSON ({e.msg}, column {e.colno})", line=e.lineno) from None
    results = isinstance(obj, list)
    if results:
        anns = obj
        images: list[dict[str, Any]] = []
    elif isinstance(obj, dict) and isinstance(obj.get("annotations"), list):
        anns = obj["annotations"]
        images = obj.get("images") or []
    else:
        raise SkeletonFormatError(
            path, "not a COCO keypoint file (no 'annotations' list and not a result list)"
        )
    order: dict[Any, int] = {}
    for im in images:
        order.setdefault(im.get("id"), len(order))
    per_image: dict[Any, list[tuple[int, list[float]]]] = {}
    skipped = 0
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
        if not isinstance(kp, list) or len(kp) != 51:
            raise SkeletonFormatError(
                path,
                f"annotation {n} (id {a.get('id')}) has "
                f"{len(kp) if isinstance(kp, list) else 'no'} keypoint values, "
                f"expected 51 (17 x (x, y, v))",
            )
        order.setdefault(a["image_id"], len(order))
        per_image.setdefault(a["image_id"], []).append((int(a.get("id", n)), kp))
    t = len(order)
    m = max((len(v) for v in per_image.values()), default=0)
    data = np.zeros((m, t, 17, 3), dtype=np.float32)
    ann_ids = [[-1] * t for _ in range(m)]
    for img, lst in per_image.items():
        f = order[img]
        for p, (aid, kp) in enumerate(lst):
            try:
                arr = np.asarray(kp, dtype=np.float32).reshape(17, 3)
            except (TypeError, ValueError):
                raise SkeletonFormatError(path, f"annotation {aid} holds non-numbers", frame=f) from None
            if not results:
                arr[:, 2] = arr[:, 2] / 2.0
                arr[arr[:, 2] == 0, :2] = 0.0
            data[p, f] = arr
            ann_ids[p][f] = aid
    by_id = {im.get("id"): im for im in images}
    ids = list(order)
    return SkeletonSequence(
        data=data,
        layout="coco17",
        fps=None,
        confidence=data[..., 2].copy(),
        channels=("x", "y", "visibility"),
        source={
            "path": str(path),
            "format": "coco_results" if results else "coco_json",
            "image_ids": ids,
            "file_names": [by_id.get(i, {}).get("file_name") for i in ids],
            "image_sizes": [(by_id.get(i, {}).get("height"), by_id.get(i, {}).get("width")) for i in ids],
            "annotation_ids": ann_ids,
        },
        counts={
            "images": t,
            "annotations": sum(len(v) for v in per_image.values()),
            "annotations_skipped": skipped,
            "empty_frames": sum(1 for i in ids if i not in per_image),
        },
    )


def _sniff(path: Path, head: bytes) -> bool:
    if head.lstrip().startswith(b"["):
        return b'"keypoints"' in head and b'"image_id"' in head
    return b'"annotations"' in head or (b'"images"' in head and b'"people"' not in head)


register_reader(
    "coco_json",
    read_coco_json,
    extensions=(".json",),
    sniff=_sniff,
    description="COCO keypoint JSON (single images as frames, (x, y, v))",
)
