"""Engineering helpers: atomic checkpoints, the metrics CSV, torchrun/DDP set-up, devices, progress."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "MetricsLog",
    "atomic_save",
    "atomic_write_text",
    "gather_cat",
    "init_distributed",
    "progress",
    "resolve_device",
]

# ------------------------------------------------------------------------------------ files
def _atomic(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``: a reader (or a
    resumed run after a kill) sees the old file or the new one, never a partial one."""
    _atomic(Path(path), lambda f: torch.save(obj, f))


def atomic_write_text(text: str, path: str | Path) -> None:
    _atomic(Path(path), lambda f: f.write(text.encode("utf-8")))


def write_json(obj: Any, path: str | Path) -> None:
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", path)


class MetricsLog:
    """Append-only CSV of training metrics, flushed after every row.

    ``truncate_after(step)`` drops rows logged after ``step`` (a run killed after its last checkpoint
    logged steps that the resumed run logs again).
    """

    def __init__(self, path: str | Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._fields: list[str] | None = None
        if enabled and self.path.exists():
            with self.path.open(newline="") as f:
                header = next(csv.reader(f), None)
            self._fields = header

    def truncate_after(self, step: int) -> None:
        if not (self.enabled and self.path.exists()):
            return
        with self.path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        keep = [r for r in rows if int(r["global_step"]) <= step]
        if len(keep) != len(rows) and self._fields is not None:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=self._fields)
            w.writeheader()
            w.writerows(keep)
            atomic_write_text(buf.getvalue(), self.path)

    def log(self, row: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        new = self._fields is None
        if self._fields is None:
            self._fields = list(row)
        extra = [k for k in row if k not in self._fields]
        if extra:
            raise ValueError(f"metrics row has new columns {extra} not in {self.path}'s header")
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields)
            if new:
                w.writeheader()
            w.writerow({k: _fmt(row.get(k, "")) for k in self._fields})
            f.flush()


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else v


# ------------------------------------------------------------------------------------ devices
def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` (the local rank's GPU under torchrun) or ``cuda:K``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device!r}: CUDA is not available here; use --device cpu")
        if device == "cuda":
            device = f"cuda:{local_rank}"
    elif device != "cpu" and not device.startswith("mps"):
        raise ValueError(f"--device {device!r}; use auto, cpu, cuda or cuda:K")
    return torch.device(device)


# ------------------------------------------------------------------------------------ distributed
@dataclass(frozen=True)
class DistInfo:
    """Process group facts: ``rank``, ``world_size``, ``local_rank`` (1 process: 0, 1, 0)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> DistInfo:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE > 1``), if not joined yet.

    Backend: NCCL for CUDA, gloo otherwise. A group already initialised by the caller (e.g. a test
    spawning processes) is used as is.
    """
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local)


def gather_cat(x: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Concatenate ``x`` ``(b, ...)`` of every rank in rank order (no gradient)."""
    if not info.distributed:
        return x
    parts = [torch.empty_like(x) for _ in range(info.world_size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


# ------------------------------------------------------------------------------------ progress
class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, values: Mapping[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def progress(*, total: int, desc: str, enabled: bool, initial: int = 0) -> Any:
    """A tqdm bar on stderr (``update``, ``set_postfix`` with loss and clips/s, ``close``); a no-op
    object when disabled (other ranks, ``--no-progress``)."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

    return tqdm(total=total, desc=desc, initial=initial, file=sys.stderr, dynamic_ncols=True, leave=True)
