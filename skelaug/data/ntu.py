"""NTU RGB+D 60/120 and SMG datasets from local files (nothing downloads).

**NTU** benchmarks (file names ``SsssCcccPpppRrrrAaaa.skeleton``): ``xsub`` / ``xview`` (NTU-60:
training performers 1, 2, 4, 5, 8, 9, 13-19, 25, 27, 28, 31, 34, 35, 38; training cameras 2, 3) and
``xsub120`` / ``xset120`` (NTU-120: 53 training performers; even setups for training). Files are
parsed lazily per item (workers parse in parallel); the two most active bodies are kept
(``select_people(..., by="motion")``, as the NTU preprocessing does). Parsing a ``.skeleton`` text
costs 10-20 ms; with ``cache_dir`` each file is parsed once and later accesses (any epoch, worker or
run) load the item's array from a ``.npy``, keyed like the cache of :func:`skelaug.io.read` (used by
the iMiGUE dataset) by the file's path, size and modification time.

**SMG** (``SampleXXXX/SampleXXXX_skeleton.csv`` + ``_finelabels.csv``, 40 subjects, 17 MG classes):
subjects 36-40 form the test split, as in the dataset authors' ST-GCN preprocessing. Clips are cut
at construction. Class names are not published with the skeleton release; they are ``"smg_01"`` ..
``"smg_17"`` unless you pass ``class_names``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from skelaug.data.datasets import ClipDataset
from skelaug.io._base import PathLike, _cache_file, atomic_write
from skelaug.io.imigue import cut_clips
from skelaug.io.ntu import _ntu_name_fields, read_ntu_skeleton
from skelaug.io.people import select_people
from skelaug.io.smg import read_smg_csv, read_smg_labels

__all__ = ["NTU60_XSUB_TRAIN", "NTU120_XSUB_TRAIN", "SMG_TEST_SUBJECTS", "NTUDataset", "SMGDataset"]

#: NTU RGB+D 60 cross-subject training subjects.
NTU60_XSUB_TRAIN = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
#: NTU RGB+D 120 cross-subject training subjects.
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN | frozenset(
    {
        45,
        46,
        47,
        49,
        50,
        52,
        53,
        54,
        55,
        56,
        57,
        58,
        59,
        70,
        74,
        78,
        80,
        81,
        82,
        83,
        84,
        85,
        86,
        89,
        91,
        92,
        93,
        94,
        95,
        97,
        98,
        100,
        103,
    }
)
NTU60_XVIEW_TRAIN_CAMERAS = frozenset({2, 3})
#: SMG test subjects (the authors' ST-GCN split).
SMG_TEST_SUBJECTS = frozenset({36, 37, 38, 39, 40})

Benchmark = Literal["xsub", "xview", "xsub120", "xset120"]


def _in_train(fields: dict[str, int], benchmark: str) -> bool:
    if benchmark == "xsub":
        return fields["performer"] in NTU60_XSUB_TRAIN
    if benchmark == "xview":
        return fields["camera"] in NTU60_XVIEW_TRAIN_CAMERAS
    if benchmark == "xsub120":
        return fields["performer"] in NTU120_XSUB_TRAIN
    if benchmark == "xset120":
        return fields["setup"] % 2 == 0
    raise ValueError(f"benchmark={benchmark!r}; use 'xsub', 'xview', 'xsub120' or 'xset120'")


class NTUDataset(ClipDataset):
    """NTU RGB+D ``.skeleton`` files of one benchmark split.

    Args:
        root: Folder with ``.skeleton`` files (searched recursively).
        benchmark: ``"xsub"``, ``"xview"``, ``"xsub120"`` or ``"xset120"``.
        split: ``"train"``, ``"test"`` or ``None`` (all files).
        ignore: File stems to leave out (e.g. the official list of samples with missing skeletons);
            how many were left out is in ``counts['ignored']``.
        with_tracking: Keep the tracking-state channel (``C = 4``) instead of ``x, y, z`` only.
        cache_dir: Folder for parsed items (a ``.npy`` per file holding the selected persons, keyed by
            the file's path, size and modification time and by ``max_persons`` / ``with_tracking``, so
            an edited or replaced file is parsed again). Written atomically
            under a private temporary name, so several DataLoader workers (or runs) may fill it at
            once. Never inside your repository. ``None`` (default) parses on every access.
        num_frames (default 300), max_persons (default 2), sampling, transform, seed: see
            :class:`ClipDataset`.

    Items: ``data`` ``(max_persons, num_frames, 25, C)``, ``length``, ``label`` (action - 1),
    ``performer``, ``camera``, ``setup``.
    """

    def __init__(
        self,
        root: PathLike,
        *,
        benchmark: Benchmark = "xsub",
        split: Literal["train", "test"] | None = "train",
        ignore: Sequence[str] = (),
        with_tracking: bool = False,
        cache_dir: PathLike | None = None,
        num_frames: int = 300,
        max_persons: int = 2,
        sampling: str = "centre",
        transform: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=max_persons, sampling=sampling, transform=transform, seed=seed
        )
        if split not in ("train", "test", None):
            raise ValueError(f"split={split!r}; use 'train', 'test' or None")
        _in_train({"performer": 1, "camera": 1, "setup": 1}, benchmark)
        skip = set(ignore)
        self.files: list[Path] = []
        self.fields: list[dict[str, int]] = []
        n_ignored = 0
        for f in sorted(Path(root).rglob("*.skeleton")):
            if f.stem in skip:
                n_ignored += 1
                continue
            fields = _ntu_name_fields(f.name)
            if not fields:
                raise ValueError(f"{f}: file name does not follow SsssCcccPpppRrrrAaaa.skeleton")
            if split is None or _in_train(fields, benchmark) == (split == "train"):
                self.files.append(f)
                self.fields.append(fields)
        self.labels = np.array([fl["action"] - 1 for fl in self.fields], dtype=np.int64)
        self.class_names = [f"A{k:03d}" for k in range(1, 121 if benchmark.endswith("120") else 61)]
        self.layout = "ntu25"
        self.with_tracking = bool(with_tracking)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.counts = {"ignored": n_ignored, "files": len(self.files)}

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        path = self.files[index]
        cache = None
        if self.cache_dir is not None:
            options = {"dataset": "NTUDataset", "max_persons": self.max_persons, "tracking": self.with_tracking}
            cache = _cache_file(self.cache_dir, path, "ntu_skeleton", options).with_suffix(".npy")
            try:
                x = np.load(cache, allow_pickle=False)
            except (OSError, ValueError, EOFError, zipfile.BadZipFile):
                pass                                     # absent or damaged: parse (and rewrite) it
            else:
                return x, int(x.shape[1])
        seq = select_people(read_ntu_skeleton(path), self.max_persons, by="motion", pad=True)
        x = np.ascontiguousarray(seq.data if self.with_tracking else seq.data[..., :3], dtype=np.float32)
        if cache is not None:
            atomic_write(cache, lambda f: np.save(f, x))
        return x, seq.num_frames

    def meta(self, index: int) -> dict[str, Any]:
        f = self.fields[index]
        return {"performer": f["performer"], "camera": f["camera"], "setup": f["setup"]}


class SMGDataset(ClipDataset):
    """SMG MG clips of one split (subjects 36-40 test), cut from each sample's skeleton CSV.

    Args:
        root: Folder with ``SampleXXXX/`` sub-folders.
        split: ``"train"``, ``"test"`` or ``None``.
        class_names: 17 names for the classes (default ``smg_01`` ..).
        num_frames (default 64), max_persons (1), sampling, transform, seed: see :class:`ClipDataset`.

    Items: ``data`` ``(1, num_frames, 25, 3)`` metres, ``length``, ``label`` (class - 1), ``subject``.
    """

    def __init__(
        self,
        root: PathLike,
        *,
        split: Literal["train", "test"] | None = "train",
        class_names: Sequence[str] | None = None,
        num_frames: int = 64,
        max_persons: int = 1,
        sampling: str = "centre",
        transform: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            num_frames=num_frames, max_persons=max_persons, sampling=sampling, transform=transform, seed=seed
        )
        if split not in ("train", "test", None):
            raise ValueError(f"split={split!r}; use 'train', 'test' or None")
        names = list(class_names) if class_names is not None else [f"smg_{k:02d}" for k in range(1, 18)]
        if len(names) != 17:
            raise ValueError(f"class_names has {len(names)} names; SMG has 17 classes")
        self.class_names = names
        self.layout = "ntu25"
        self.clips: list[NDArray[np.float32]] = []
        self.subjects: list[int] = []
        labels: list[int] = []
        for d in sorted(Path(root).glob("Sample[0-9]*")):
            subj = int(d.name[len("Sample") :])
            if split is not None and (subj in SMG_TEST_SUBJECTS) != (split == "test"):
                continue
            seq = read_smg_csv(d / f"{d.name}_skeleton.csv")
            for clip in cut_clips(seq, read_smg_labels(d / f"{d.name}_finelabels.csv")):
                self.clips.append(clip.sequence.data)
                self.subjects.append(subj)
                labels.append(clip.label.label)
        self.labels = np.array(labels, dtype=np.int64)
        self.counts = {"clips": len(labels)}

    def load(self, index: int) -> tuple[NDArray[np.float32], int]:
        x = self.clips[index]
        return x, int(x.shape[1])

    def meta(self, index: int) -> dict[str, Any]:
        return {"subject": self.subjects[index]}
