"""Parse a list of clip files once and keep the result in one ``.npz`` (the datasets' parsed cache).

The cache file is keyed by every file's resolved path, size and modification time and by the reader,
so editing, adding or removing a file makes a new cache instead of serving stale clips.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skelaug.io._base import PathLike, SkeletonSequence, atomic_write

_VERSION = 1


def _key(files: Sequence[Path], reader: str) -> str:
    items = []
    for f in files:
        st = f.stat()
        items.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([_VERSION, reader, items]).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def read_clips(
    files: Sequence[Path],
    read_fn: Callable[[Path], SkeletonSequence],
    *,
    reader: str,
    cache_dir: PathLike | None = None,
) -> tuple[list[NDArray[np.float32]], list[dict[str, Any]]]:
    """``([seq.data for each file], [seq.source for each file])``, from ``cache_dir`` when cached.

    Args:
        files: Clip files, in the order wanted.
        read_fn: ``read_fn(path) -> SkeletonSequence``.
        reader: Name of the reader (part of the cache key).
        cache_dir: Folder for ``<reader>_<key>.npz``; ``None`` parses every file.
    """
    cache = None
    if cache_dir is not None:
        cdir = Path(cache_dir)
        cdir.mkdir(parents=True, exist_ok=True)
        cache = cdir / f"{reader}_{_key(files, reader)}.npz"
        if cache.exists():
            with np.load(cache, allow_pickle=False) as z:
                flat, offsets = z["data"], z["offsets"]
                sources = json.loads(z["sources"].tobytes().decode())
            clips = [flat[offsets[i] : offsets[i + 1]][None].copy() for i in range(len(sources))]
            return clips, sources
    seqs = [read_fn(f) for f in files]
    clips = [s.data for s in seqs]
    sources = [dict(s.source) for s in seqs]
    if cache is not None:
        v, c = clips[0].shape[2:] if clips else (0, 0)
        flat = np.concatenate([x[0] for x in clips]) if clips else np.zeros((0, v, c), np.float32)
        offsets = np.cumsum([0] + [x.shape[1] for x in clips]).astype(np.int64)
        blob = np.frombuffer(json.dumps(sources).encode(), dtype=np.uint8)
        atomic_write(cache, lambda f: np.savez(f, data=flat, offsets=offsets, sources=blob))
    return clips, sources
