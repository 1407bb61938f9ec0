"""Helpers shared by the pre-training tests (``from _mg_common import ...``; fixtures are in conftest)."""

from __future__ import annotations

import csv
import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist

from reference_models.mg_contrastive.config import load_config
from reference_models.mg_contrastive.train import pretrain

#: The tiny pre-training config the training tests run end to end.
TINY = Path(__file__).resolve().parents[2] / "reference_models/mg_contrastive/configs/tiny.toml"

#: Settings under which 2 DDP ranks x half batch compute what 1 process x full batch does.
DDP_SETS = [
    "optim.epochs=1",
    "augment.preset='none'",  # identical views: the draws do not depend on the world size
    "model.graph.norm='layer'",  # no batch statistics: a rank's half batch gives the same numbers
    "model.graph.data_norm=false",
    "model.recurrent.data_norm=false",
    "model.head.batch_norm=false",
]


def metrics_rows(path: Path, *, timing: bool = False) -> list[dict[str, str]]:
    """The rows of a run's ``metrics.csv``; without the throughput column (wall-clock) unless ``timing``."""
    with path.open(newline="") as f:
        return [{k: v for k, v in r.items() if timing or k != "clips_per_s"} for r in csv.DictReader(f)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ddp_worker(rank: int, world: int, port: int, out: str, sets: list[str]) -> None:
    """Run pre-training of the tiny config with ``sets`` as one gloo rank and save the final model state."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        res = pretrain(load_config(TINY, sets), Path(out) / "run", device="cpu", show_progress=False)
        torch.save(res["model"].state_dict(), Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
