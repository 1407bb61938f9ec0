"""Pre-training of the contrastive MG model on tiny synthetic data: steps, checkpoints, exact resume, DDP."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.multiprocessing as mp
from _mg_common import DDP_SETS, TINY, ddp_worker, free_port, metrics_rows

from reference_models.mg_contrastive.__main__ import main
from reference_models.mg_contrastive.config import load_config
from reference_models.mg_contrastive.data import EpochBatchSampler, build_datasets
from reference_models.mg_contrastive.train import lr_factor, pretrain

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _assert_same_state(a: dict, b: dict, path: str = "") -> None:
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same_state(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert torch.equal(a, b), f"{path} differs by {float((a.double() - b.double()).abs().max())}"
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_state(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def test_a_few_steps_write_checkpoint_encoder_and_metrics(tmp_path, tiny_data):
    cfg = load_config(TINY, ["optim.epochs=1"])
    res = pretrain(cfg, tmp_path, device="cpu", show_progress=False, datasets=tiny_data)
    n_train = len(tiny_data[0])
    steps = n_train // cfg.optim.batch_size
    assert res["global_step"] == steps >= 2 and not res["stopped"]
    assert torch.isfinite(torch.tensor(res["loss"]))
    rows = metrics_rows(tmp_path / "metrics.csv", timing=True)
    assert [int(r["global_step"]) for r in rows] == list(range(1, steps + 1))
    assert {"lr", "loss", "loss_graph->recurrent", "acc_recurrent->graph", "clips_per_s"} <= set(rows[0])
    ck = torch.load(tmp_path / "last.pt", weights_only=False)
    assert ck["counters"] == {"epoch": 1, "step": 0, "global_step": steps}
    # the queues hold the last keys: pointer advanced by one batch per step
    assert int(ck["model"]["queues.graph.ptr"]) == (steps * cfg.optim.batch_size) % cfg.contrast.queue_size
    enc = torch.load(tmp_path / "encoder.pt", weights_only=False)
    assert enc["meta"] == {"layout": "imigue22", "num_joints": 22, "in_channels": 3, "num_classes": 16}
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_resume_after_kill_mid_epoch_is_exact(tmp_path, tiny_data):
    """A run stopped (without saving) after step 3, resumed from its step-2 checkpoint, ends identical."""
    sets = ["optim.epochs=2", "train.checkpoint_every=2", "optim.warmup_epochs=1"]
    cfg = load_config(TINY, sets)
    steps = len(tiny_data[0]) // cfg.optim.batch_size
    assert steps >= 4  # stop at 3 lies mid-epoch, after the checkpoint at 2
    full = pretrain(cfg, tmp_path / "full", device="cpu", show_progress=False, datasets=tiny_data)
    part = pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data,
                    stop_after_steps=3)
    assert part["stopped"] and part["global_step"] == 3
    ck = torch.load(tmp_path / "part/last.pt", weights_only=False)
    assert ck["counters"] == {"epoch": 0, "step": 2, "global_step": 2}
    assert not (tmp_path / "part/encoder.pt").exists()
    again = pretrain(cfg, tmp_path / "part", device="cpu", show_progress=False, datasets=tiny_data)
    assert again["global_step"] == full["global_step"] == 2 * steps
    assert again["loss"] == full["loss"]
    a = torch.load(tmp_path / "full/last.pt", weights_only=False)
    b = torch.load(tmp_path / "part/last.pt", weights_only=False)
    for key in ("model", "optimizer", "scheduler", "counters", "rng_cpu"):
        _assert_same_state(a[key], b[key], key)
    # the metrics log of the resumed run has each step once, with the uninterrupted run's values
    assert metrics_rows(tmp_path / "full/metrics.csv") == metrics_rows(tmp_path / "part/metrics.csv")


def test_cli_pretrain_then_evaluate(tmp_path):
    out = tmp_path / "run"
    assert main(["pretrain", "--config", str(TINY), "--out", str(out), "--device", "cpu", "--no-progress",
                 "--set", "optim.epochs=1"]) == 0
    assert (out / "encoder.pt").exists() and (out / "run.json").exists()
    assert main(["evaluate", "--config", str(TINY), "--out", str(out), "--device", "cpu", "--no-progress",
                 "--protocols", "knn"]) == 0
    assert (out / "eval_encoder.json").exists() and (out / "eval_encoder.md").exists()
    assert main(["evaluate", "--config", str(TINY), "--out", str(tmp_path / "nope"), "--device", "cpu"]) == 2


def test_lr_schedule():
    cfg = load_config(TINY, ["optim.epochs=4", "optim.warmup_epochs=1"]).optim
    f = [lr_factor(cfg, s, 5) for s in range(20)]
    assert f[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert f[5] == pytest.approx(1.0) and f[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in itertools.pairwise(f[5:]))
    step = load_config(TINY, ["optim.schedule='step'", "optim.milestones=[2, 3]", "optim.gamma=0.5"]).optim
    assert [lr_factor(step, s, 5) for s in (0, 9, 10, 14, 15)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_batch_sampler_shards_each_global_batch_contiguously():
    one = list(EpochBatchSampler(20, 8, seed=3, epoch=1))
    two = [list(EpochBatchSampler(20, 8, seed=3, epoch=1, rank=r, world_size=2)) for r in range(2)]
    assert len(one) == 2 and all(len(b) == 8 for b in one)
    for b, (r0, r1) in enumerate(zip(*two, strict=True)):
        assert r0 + r1 == one[b]
    assert list(EpochBatchSampler(20, 8, seed=3, epoch=1, start_batch=1)) == one[1:]
    assert one != list(EpochBatchSampler(20, 8, seed=3, epoch=2))
    with pytest.raises(ValueError, match="not divisible by the world size 3"):
        EpochBatchSampler(20, 8, seed=0, epoch=0, world_size=3)


# ------------------------------------------------------------------------------------ DDP (2 gloo processes)
def test_ddp_two_gloo_processes_match_single_process(tmp_path):
    """2 ranks x half batch == 1 process x full batch (no batch statistics, identical views): the
    gathered queue and the weights agree to float tolerance, and both ranks hold the same queue."""
    mp.spawn(ddp_worker, args=(2, free_port(), str(tmp_path / "ddp"), DDP_SETS), nprocs=2, join=True)
    single = tmp_path / "single"
    cfg = load_config(TINY, DDP_SETS)
    pretrain(cfg, single, device="cpu", show_progress=False)
    r0 = torch.load(tmp_path / "ddp/rank0.pt")
    r1 = torch.load(tmp_path / "ddp/rank1.pt")
    one = torch.load(single / "last.pt", weights_only=False)["model"]
    for k in ("queues.graph.keys", "queues.recurrent.keys", "queues.graph.ptr"):
        assert torch.equal(r0[k], r1[k]), k
    steps = (len(build_datasets(cfg.data)[0]) // cfg.optim.batch_size)
    assert int(r0["queues.graph.ptr"]) == steps * cfg.optim.batch_size % cfg.contrast.queue_size
    for k, v in one.items():
        assert torch.allclose(r0[k].double(), v.double(), atol=2e-5), (k, float((r0[k] - v).abs().max()))
    ra = metrics_rows(tmp_path / "ddp/run/metrics.csv")
    rb = metrics_rows(single / "metrics.csv")
    assert [float(r["loss"]) for r in ra] == pytest.approx([float(r["loss"]) for r in rb], abs=1e-4)


def test_ddp_with_batch_norm_and_augmentation_runs(tmp_path):
    """The default model (batch norm, MG augmentation): both ranks end with identical queues and weights."""
    sets = ["optim.epochs=1"]
    mp.spawn(ddp_worker, args=(2, free_port(), str(tmp_path), sets), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    for k, v in r0.items():
        if "running" in k or "num_batches" in k:
            continue  # batch-norm statistics are per rank (no SyncBatchNorm on CPU)
        assert torch.allclose(v.double(), r1[k].double(), atol=1e-6), k
    assert (tmp_path / "run/encoder.pt").exists()


def test_velocity_input_and_custom_pipeline(tmp_path, tiny_data):
    """Velocity channels widen the encoder input; a checkpoint remembers it for evaluation."""
    from reference_models.mg_contrastive.evaluate import evaluate

    sets = ["optim.epochs=1", "model.input='position+velocity'",
            "augment.pipeline=[{type='RandomSpeed', speed=[0.8, 1.25]}, {type='RandomBoneLength'}]"]
    cfg = load_config(TINY, sets)
    pretrain(cfg, tmp_path, device="cpu", show_progress=False, datasets=tiny_data)
    enc = torch.load(tmp_path / "encoder.pt", weights_only=False)
    assert enc["meta"]["in_channels"] == 3 + 2  # (x, y, score) + (vx, vy)
    res = evaluate(load_config(TINY), tmp_path, checkpoint=tmp_path / "encoder.pt", protocols=["knn"],
                   device="cpu", datasets=tiny_data, show_progress=False)
    assert set(res["protocols"]["knn"]["k=1"]) == {"graph", "recurrent", "fused"}


def test_batches_do_not_depend_on_worker_count(tiny_data):
    from reference_models.mg_contrastive.data import make_loader

    def batches(workers: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [(b["data"], b["length"]) for b in make_loader(tiny_data[0], 8, seed=4, epoch=2, num_workers=workers)]

    one, two = batches(0), batches(2)
    assert len(one) == len(two) == len(tiny_data[0]) // 8
    for (xa, la), (xb, lb) in zip(one, two, strict=True):
        assert torch.equal(xa, xb) and torch.equal(la, lb)


def test_same_subject_negatives_queue_the_batch_subjects(tmp_path, tiny_data):
    """With ``contrast.negatives = 'same_subject'`` the queues hold each key's subject: after training,
    the queue's last entries are the subjects of the last batch, in batch order."""
    from reference_models.mg_contrastive.data import Batch, make_loader

    cfg = load_config(TINY, ["optim.epochs=1", "contrast.negatives='same_subject'", "contrast.loss='both'"])
    res = pretrain(cfg, tmp_path, device="cpu", show_progress=False, datasets=tiny_data)
    assert torch.isfinite(torch.tensor(res["loss"]))
    steps = res["global_step"]
    last = list(make_loader(tiny_data[0], cfg.optim.batch_size, seed=cfg.seed, epoch=0))[steps - 1]
    subj = Batch.from_items(last).subjects
    src = tiny_data[0].base.source
    assert subj.tolist() == src.subjects[tiny_data[0].index[last["index"].numpy()]].tolist()
    q = res["model"].queue("graph")
    b, ptr = cfg.optim.batch_size, int(q.ptr)
    idx = (ptr - b + torch.arange(b)) % q.size
    assert q.subjects[idx].tolist() == subj.tolist()
