"""skelaug's own clip file: one :class:`SkeletonSequence` as a NumPy ``.npz`` (no pickle inside).

This is what ``python -m skelaug convert IN OUT.npz`` writes, and :func:`skelaug.io.read` reads it back
(format ``skelaug_npz``). The keys, all plain NumPy arrays (``np.load(path)`` works without
``allow_pickle``):

==============  ==========================  ==============================================================
key             array                       meaning
==============  ==========================  ==============================================================
``data``        float32 ``(M, T, V, C)``    the canonical sequence (coordinates first, then a confidence)
``layout``      0-d ``str``                 layout name (:func:`skelaug.layouts.get`)
``fps``         0-d ``float64``             frame rate; NaN when the format does not record one
``channels``    ``(C,)`` ``str``            channel names, e.g. ``["x", "y", "score"]``
``confidence``  float32 ``(M, T, V)``       only when the source has a per-joint confidence
``counts``      0-d ``str``                 JSON object: what the reader filled in or dropped
``source``      0-d ``str``                 JSON object: provenance (``path``, ``format``, ...); read back
                                            as ``source['original']``
``extra__K``    float32 ``(M, T, K_V, c)``  further per-person arrays (``extras['K']``), e.g. hands
==============  ==========================  ==============================================================

Example:
    >>> import json, os, tempfile, numpy as np
    >>> from skelaug.io import SkeletonSequence, read
    >>> seq = SkeletonSequence(np.ones((1, 4, 17, 3), np.float32), "coco17", fps=25.0,
    ...                        channels=("x", "y", "score"), counts={"empty_frames": 0})
    >>> path = os.path.join(tempfile.mkdtemp(), "clip.npz")
    >>> save_npz(path, seq)
    >>> z = np.load(path)
    >>> z["data"].shape, str(z["layout"]), float(z["fps"]), json.loads(str(z["counts"]))
    ((1, 4, 17, 3), 'coco17', 25.0, {'empty_frames': 0})
    >>> back = read(path)
    >>> back.layout, back.fps, back.channels
    ('coco17', 25.0, ('x', 'y', 'score'))
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from skelaug.io._base import PathLike, SkeletonFormatError, SkeletonSequence, atomic_write, register_reader

__all__ = ["read_npz", "save_npz"]

_REQUIRED = ("data", "layout", "fps", "channels")


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def save_npz(path: PathLike, seq: SkeletonSequence, *, compress: bool = False) -> None:
    """Write ``seq`` to ``path`` (keys in the module docstring) atomically: a private temporary name, then a rename.

    Args:
        compress: Deflate the arrays (``np.savez_compressed``): smaller, slower to write and read.
    """
    p = Path(path)
    arrays: dict[str, Any] = {
        "data": np.ascontiguousarray(seq.data, dtype=np.float32),
        "layout": np.array(seq.layout),
        "fps": np.array(np.nan if seq.fps is None else float(seq.fps), dtype=np.float64),
        "channels": np.array(list(seq.channels) or [f"c{i}" for i in range(seq.data.shape[3])]),
        "counts": np.array(json.dumps(seq.counts, default=_jsonable)),
        "source": np.array(json.dumps(seq.source, default=_jsonable)),
    }
    if seq.confidence is not None:
        arrays["confidence"] = np.ascontiguousarray(seq.confidence, dtype=np.float32)
    for k, v in seq.extras.items():
        arrays[f"extra__{k}"] = np.ascontiguousarray(v, dtype=np.float32)
    save = np.savez_compressed if compress else np.savez
    atomic_write(p, lambda fh: save(fh, **arrays))


def read_npz(path: PathLike) -> SkeletonSequence:
    """Read a clip written by :func:`save_npz` (or ``python -m skelaug convert``).

    Raises:
        SkeletonFormatError: a key is missing or the arrays disagree (naming the file).
    """
    p = Path(path)
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise SkeletonFormatError(p, f"not a readable .npz ({e})") from None
    with z:
        missing = [k for k in _REQUIRED if k not in z.files]
        if missing:
            raise SkeletonFormatError(
                p, f"lacks the keys {missing} of a skelaug clip file (it has {sorted(z.files)})"
            )
        fps = float(z["fps"])
        original = json.loads(str(z["source"])) if "source" in z.files else {}
        try:
            return SkeletonSequence(
                data=np.asarray(z["data"], dtype=np.float32),
                layout=str(z["layout"]),
                fps=None if np.isnan(fps) else fps,
                confidence=np.asarray(z["confidence"], dtype=np.float32) if "confidence" in z.files else None,
                channels=tuple(str(c) for c in z["channels"]),
                source={"path": str(p), "format": "skelaug_npz", "original": original},
                counts=json.loads(str(z["counts"])) if "counts" in z.files else {},
                extras={k[len("extra__"):]: z[k] for k in z.files if k.startswith("extra__")},
            )
        except (ValueError, json.JSONDecodeError) as e:
            raise SkeletonFormatError(p, str(e)) from None


def _sniff(path: Path, head: bytes) -> bool:
    if not head.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return {"data.npy", "layout.npy"} <= names


register_reader(
    "skelaug_npz",
    read_npz,
    extensions=(".npz",),
    sniff=_sniff,
    description="skelaug clip .npz (data, layout, fps, channels, counts; written by save_npz / convert)",
)
