"""The sequence object, the corrupt-file error, the reader registry and :func:`read`."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from skelaug import layouts as _layouts

__all__ = [
    "ReaderInfo",
    "SkeletonFormatError",
    "SkeletonSequence",
    "detect_format",
    "formats",
    "read",
    "register_reader",
]

F32 = NDArray[np.float32]
PathLike = str | os.PathLike[str]


class SkeletonFormatError(ValueError):
    """A pose file is malformed. The message names the file and, where known, the line or frame.

    Attributes:
        path: The offending file (or folder/archive member).
        line: 1-based line number, or ``None``.
        frame: 0-based frame index, or ``None``.
    """

    def __init__(
        self, path: PathLike, message: str, *, line: int | None = None, frame: int | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.frame = frame
        where = self.path
        if line is not None:
            where += f", line {line}"
        if frame is not None:
            where += f", frame {frame}"
        super().__init__(f"{where}: {message}")


@dataclass
class SkeletonSequence:
    """One skeleton sequence in canonical form.

    Attributes:
        data: ``(M, T, V, C)`` float32: ``M`` persons (tracks with a consistent identity across
            frames), ``T`` frames, ``V`` joints of ``layout``, ``C`` channels. The first ``D`` channels
            are coordinates (``D = layouts.get(layout).dim``); where the format has a per-joint
            confidence it is the last channel (see ``channels``). Missing joints and absent persons
            are all-zero.
        layout: Layout name (:func:`skelaug.layouts.get`).
        fps: Frame rate when the format records or implies it, else ``None``.
        confidence: ``(M, T, V)`` float32 copy of the confidence channel in ``[0, 1]``, or ``None``.
        channels: Channel names, e.g. ``("x", "y", "score")``.
        source: Provenance: ``path``, ``format`` and format-specific metadata (frame ids, body ids,
            label fields, ...).
        counts: What the reader filled in or dropped, by name (``empty_frames``, ``missing_frames``,
            ``persons_dropped``, ...): nothing is dropped without a count here.
        extras: Further per-person arrays ``(M, T, K, c)`` the format carries (OpenPose face and hand
            keypoints, NTU colour/depth-image coordinates, ...).
    """

    data: F32
    layout: str
    fps: float | None = None
    confidence: F32 | None = None
    channels: tuple[str, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    extras: dict[str, F32] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lay = _layouts.get(self.layout)
        self.layout = lay.name
        d = self.data
        if not isinstance(d, np.ndarray) or d.ndim != 4 or d.dtype != np.float32:
            raise ValueError(
                f"data must be a float32 (M, T, V, C) array, got {type(d).__name__} "
                f"{getattr(d, 'shape', '')} {getattr(d, 'dtype', '')}"
            )
        if d.shape[2] != lay.num_joints:
            raise ValueError(f"data has {d.shape[2]} joints but layout {lay.name!r} has {lay.num_joints}")
        if d.shape[3] < lay.dim:
            raise ValueError(f"data has C={d.shape[3]} channels; layout {lay.name!r} needs {lay.dim}")
        if self.confidence is not None and self.confidence.shape != d.shape[:3]:
            raise ValueError(f"confidence has shape {self.confidence.shape}; expected {d.shape[:3]}")
        if self.channels and len(self.channels) != d.shape[3]:
            raise ValueError(f"channels {self.channels} do not match C={d.shape[3]}")

    # ------------------------------------------------------------------ shape helpers
    @property
    def dims(self) -> int:
        """Number of coordinate channels ``D``."""
        return _layouts.get(self.layout).dim

    @property
    def num_persons(self) -> int:
        return int(self.data.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[1])

    @property
    def num_joints(self) -> int:
        return int(self.data.shape[2])

    def present(self) -> NDArray[np.bool_]:
        """``(M, T, V)``: joint has a non-zero coordinate."""
        out: NDArray[np.bool_] = np.any(self.data[..., : self.dims] != 0, axis=-1)
        return out

    def persons_per_frame(self) -> NDArray[np.int64]:
        """``(T,)``: number of persons with at least one present joint in each frame."""
        out: NDArray[np.int64] = self.present().any(axis=2).sum(axis=0).astype(np.int64)
        return out

    def frames(self, start: int, stop: int) -> SkeletonSequence:
        """Frames ``start..stop-1`` as a new sequence (copies; ``source['frame_offset']`` records start)."""
        if not 0 <= start <= stop <= self.num_frames:
            raise ValueError(f"frame range {start}:{stop} is outside 0:{self.num_frames}")
        src = dict(self.source)
        src["frame_offset"] = int(src.get("frame_offset", 0)) + start
        return replace(
            self,
            data=self.data[:, start:stop].copy(),
            confidence=None if self.confidence is None else self.confidence[:, start:stop].copy(),
            source=src,
            counts=dict(self.counts),
            extras={k: v[:, start:stop].copy() for k, v in self.extras.items()},
        )

    def take_persons(self, index: Any) -> SkeletonSequence:
        """Persons ``index`` (a sequence of track indices), in that order."""
        idx = np.asarray(index, dtype=np.int64).reshape(-1)
        return replace(
            self,
            data=self.data[idx].copy(),
            confidence=None if self.confidence is None else self.confidence[idx].copy(),
            source=dict(self.source),
            counts=dict(self.counts),
            extras={k: v[idx].copy() for k, v in self.extras.items()},
        )

    def __repr__(self) -> str:
        m, t, v, c = self.data.shape
        return (
            f"SkeletonSequence(layout={self.layout!r}, persons={m}, frames={t}, joints={v}, "
            f"channels={self.channels or c}, fps={self.fps}, format={self.source.get('format')!r})"
        )


# ---------------------------------------------------------------------------------- registry
Sniffer = Callable[[Path, bytes], bool]
ReaderFn = Callable[..., SkeletonSequence]


@dataclass(frozen=True)
class ReaderInfo:
    """A registered reader: ``func(path, **options)``, file-name endings it claims, a content sniffer."""

    name: str
    func: ReaderFn
    extensions: tuple[str, ...]
    sniff: Sniffer | None
    description: str
    directory: bool = False


_READERS: dict[str, ReaderInfo] = {}


def register_reader(
    name: str,
    func: ReaderFn,
    *,
    extensions: tuple[str, ...] = (),
    sniff: Sniffer | None = None,
    description: str = "",
    directory: bool = False,
    overwrite: bool = False,
) -> None:
    """Register a reader so :func:`read` can dispatch to it.

    Args:
        name: Format name passed as ``read(..., format=name)``.
        func: ``func(path, **options) -> SkeletonSequence``.
        extensions: Lower-case file-name endings it handles (``".skeleton"``, ``".tar.xz"``).
        sniff: ``sniff(path, head) -> bool`` on the first 64 KiB; decides between readers sharing
            an ending and finds a reader when the ending is unknown.
        directory: The reader takes folders.
    """
    if name in _READERS and not overwrite:
        raise ValueError(f"reader {name!r} is already registered; pass overwrite=True to replace it")
    _READERS[name] = ReaderInfo(
        name, func, tuple(e.lower() for e in extensions), sniff, description, directory
    )


def formats() -> dict[str, str]:
    """Registered format names with a one-line description."""
    return {k: r.description for k, r in _READERS.items()}


def _head(path: Path, n: int = 65536) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def detect_format(path: PathLike) -> str:
    """Name of the reader for ``path``, by extension and content (see :func:`read`)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path={str(p)!r} does not exist")
    if p.is_dir():
        for r in _READERS.values():
            if r.directory and (r.sniff is None or r.sniff(p, b"")):
                return r.name
        raise SkeletonFormatError(
            p,
            "no reader recognises this folder (expected OpenPose *_keypoints.json "
            "files); pass format= explicitly",
        )
    head = _head(p)
    low = p.name.lower()
    by_ext = [r for r in _READERS.values() if any(low.endswith(e) for e in r.extensions)]
    for r in by_ext:
        if r.sniff is None or r.sniff(p, head):
            return r.name
    for r in _READERS.values():
        if r not in by_ext and r.sniff is not None and not r.directory and r.sniff(p, head):
            return r.name
    hint = ""
    if head.lstrip().lower().startswith(b"video_id,label_id"):
        hint = " This is an iMiGUE label file: read it with skelaug.io.read_imigue_labels."
    elif head.startswith(b"\x93NUMPY"):
        hint = " A numeric (N, C, T, V, M) array is an ST-GCN batch: load it with skelaug.io.load_stgcn."
    elif low.endswith((".pkl", ".pickle")):
        hint = " A pyskl annotation pickle holds many clips: load it with skelaug.io.load_pyskl."
    raise SkeletonFormatError(
        p,
        f"unknown skeleton format (ending {p.suffix!r}); known formats: "
        f"{', '.join(_READERS)}; pass format= explicitly.{hint}",
    )


# ---------------------------------------------------------------------------------- cache
def _cache_file(cache_dir: Path, path: Path, fmt: str, options: Mapping[str, Any]) -> Path:
    st = path.stat()
    key = json.dumps(
        [str(path.resolve()), st.st_size, st.st_mtime_ns, fmt, sorted(options.items())], default=str
    )
    return cache_dir / f"{path.name}.{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def _save_cache(file: Path, seq: SkeletonSequence) -> None:
    arrays: dict[str, Any] = {"data": seq.data}
    if seq.confidence is not None:
        arrays["confidence"] = seq.confidence
    for k, v in seq.extras.items():
        arrays[f"extra__{k}"] = v
    meta = {
        "layout": seq.layout,
        "fps": seq.fps,
        "channels": list(seq.channels),
        "counts": seq.counts,
        "source": seq.source,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, default=_jsonable).encode(), dtype=np.uint8)
    atomic_write(file, lambda f: np.savez(f, **arrays))


def atomic_write(file: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``file`` through ``write(f)`` under a private temporary name, then rename it into place.

    Several processes (DataLoader workers, concurrent runs) may write the same cache file at once:
    each uses its own temporary name, and the rename is atomic, so readers see either no file or a
    complete one, never a partial write.
    """
    tmp = file.with_name(f"{file.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, file)
    finally:
        if tmp.exists():
            tmp.unlink()


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def _load_cache(file: Path) -> SkeletonSequence:
    with np.load(file, allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        extras = {k[len("extra__") :]: z[k] for k in z.files if k.startswith("extra__")}
        return SkeletonSequence(
            data=z["data"],
            layout=meta["layout"],
            fps=meta["fps"],
            confidence=z["confidence"] if "confidence" in z.files else None,
            channels=tuple(meta["channels"]),
            source=meta["source"],
            counts=meta["counts"],
            extras=extras,
        )


# ---------------------------------------------------------------------------------- read
def read(
    path: PathLike,
    format: str | None = None,
    *,
    max_persons: int | None = None,
    select: str = "confidence",
    fps: float | None = None,
    cache_dir: PathLike | None = None,
    **options: Any,
) -> SkeletonSequence:
    """Read a pose file or folder into a :class:`SkeletonSequence` ``(M, T, V, C)``.

    Args:
        path: A file, an OpenPose folder (one ``*_keypoints.json`` per frame) or a tar archive of one.
        format: Reader name (see :func:`formats`); ``None`` detects it from the file-name ending and
            the first 64 KiB of content.
        max_persons: Keep at most this many persons (tracks), chosen by ``select``; the number of
            persons dropped is reported in ``counts['persons_dropped']``.
        select: ``"confidence"`` (largest summed confidence / most present joints) or ``"motion"``
            (largest summed frame-to-frame displacement), see :func:`skelaug.io.select_people`.
        fps: Override or supply the frame rate.
        cache_dir: Folder for a parsed copy (``.npz``) keyed by the file's path, size, mtime and the
            options; later calls load it instead of parsing. Never inside your repository.
        options: Format-specific options (see each reader).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        SkeletonFormatError: unknown format, or a malformed file (naming the file and line/frame).

    Example:
        >>> import os, tempfile, skelaug.io as sio
        >>> from skelaug.io.kinect import KINECT_JOINTS
        >>> path = os.path.join(tempfile.mkdtemp(), "clip.csv")      # a 2-frame Kinect v2 CSV
        >>> lines = [f"{j},0.1,0.2,2.5,Tracked\\n" for _ in range(2) for j in KINECT_JOINTS]
        >>> _ = open(path, "w").write("".join(lines))
        >>> seq = sio.read(path)
        >>> seq.data.shape, seq.layout, seq.fps, seq.channels
        ((1, 2, 25, 4), 'ntu25', 30.0, ('x', 'y', 'z', 'tracking'))
    """
    p = Path(path)
    name = detect_format(p) if format is None else format
    if name not in _READERS:
        raise ValueError(f"format={format!r} is unknown; known formats: {', '.join(_READERS)}")
    cache_file = None
    if cache_dir is not None:
        cdir = Path(cache_dir)
        cdir.mkdir(parents=True, exist_ok=True)
        cache_file = _cache_file(cdir, p, name, options)
        if cache_file.exists():
            try:
                seq = _load_cache(cache_file)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                pass                                   # damaged (e.g. disk full): parse and rewrite it
            else:
                return _finish(seq, max_persons, select, fps)
    seq = _READERS[name].func(p, **options)
    if cache_file is not None:
        _save_cache(cache_file, seq)
    return _finish(seq, max_persons, select, fps)


def _finish(
    seq: SkeletonSequence, max_persons: int | None, select: str, fps: float | None
) -> SkeletonSequence:
    if fps is not None:
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps={fps!r}; expected a positive frame rate")
        seq.fps = float(fps)
    if max_persons is not None:
        from skelaug.io.people import select_people

        seq = select_people(seq, max_persons, by=select)
    return seq
