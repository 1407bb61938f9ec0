"""End-to-end smoke runs of the shipped iMiGUE and SMG configs.

* iMiGUE config on the real iMiGUE video 298 (OpenPose archive in the shared data folder, 56 labelled
  clips; the official split needs all 359 videos, so 30 % of the clips of each class are held out).
* SMG config, (a) its model / contrast / optimisation settings on the same real iMiGUE clips, (b) unchanged,
  on SMG-format files (``SampleXXXX_skeleton.csv`` with 275 columns, ``_finelabels.csv``) written from
  synthetic ntu25 clips: the SMG skeletons themselves cannot be shipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from reference_models.mg_contrastive.config import load_config
from reference_models.mg_contrastive.data import build_datasets
from reference_models.mg_contrastive.evaluate import evaluate
from reference_models.mg_contrastive.train import pretrain
from skelaug.data import generate

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "reference_models/mg_contrastive/configs"
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
IMIGUE = SHARED / "data/imigue"

# a few steps, whatever the config asks for; the models are the configs' own
QUICK = [
    "optim.epochs=1",
    "optim.warmup_epochs=0",
    "optim.batch_size=8",
    "contrast.queue_size=64",
    "data.num_workers=0",
    "eval.linear.epochs=5",
    "eval.finetune.epochs=1",
    "eval.finetune.batch_size=8",
    "eval.semi.epochs=1",
    "eval.semi.batch_size=4",
]
PROTOCOLS = ["linear", "knn", "finetune", "semi"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _imigue_sets(cache: Path) -> list[str]:
    return [
        "data.kind='imigue'",
        f"data.root='{IMIGUE}'",
        f"data.labels='{IMIGUE / 'labels_20200831.csv'}'",
        f"data.cache_dir='{cache}'",
        "data.videos=[298]",
        "data.train_split='all'",
        "data.holdout=0.3",
        "data.num_frames=64",
    ]


@pytest.fixture(scope="module")
def imigue_sets(tmp_path_factory):
    if not (IMIGUE / "skeleton_298_openpose.tar.xz").is_file():
        pytest.skip(f"iMiGUE sample {IMIGUE}/skeleton_298_openpose.tar.xz not found; set SKELAUG_SHARED")
    return _imigue_sets(tmp_path_factory.mktemp("imigue_cache"))


@pytest.fixture(scope="module")
def imigue_data(imigue_sets):
    cfg = load_config(CONFIGS / "imigue.toml", imigue_sets)
    return build_datasets(cfg.data)


def _run(config: Path, sets: list[str], out: Path, data) -> dict:
    cfg = load_config(config, [*QUICK, *sets])
    res = pretrain(cfg, out, device="cpu", show_progress=False, datasets=data)
    assert res["global_step"] == len(data[0]) // cfg.optim.batch_size > 0
    assert np.isfinite(res["loss"])
    ev = evaluate(cfg, out, checkpoint=out / "encoder.pt", protocols=PROTOCOLS, device="cpu", datasets=data,
                  show_progress=False)
    for proto in ("linear", "finetune"):
        assert set(ev["protocols"][proto]) == {"graph", "recurrent", "fused", "ensemble"}
    assert (out / "eval_encoder.md").exists()
    return ev


def test_imigue_data_from_video_298(imigue_data):
    train, test = imigue_data
    assert len(train) + len(test) == 56  # the 56 labelled segments of video 298
    assert len(test) >= 10 and not set(train.index.tolist()) & set(test.index.tolist())
    item = train[0]
    assert tuple(item["data"].shape) == (1, 64, 22, 3) and train.layout == "imigue22"
    assert len(train.class_names) == 32


def test_imigue_config_end_to_end_on_video_298(tmp_path, imigue_sets, imigue_data):
    ev = _run(CONFIGS / "imigue.toml", imigue_sets, tmp_path, imigue_data)
    assert ev["data"]["classes"] == 32 and ev["data"]["kind"] == "imigue"


def test_smg_config_settings_on_video_298(tmp_path, imigue_sets, imigue_data):
    """The SMG config's model, contrast and optimisation sections, fed the real iMiGUE clips."""
    ev = _run(CONFIGS / "smg.toml", imigue_sets, tmp_path, imigue_data)
    assert ev["data"]["kind"] == "imigue"


def _write_smg(root: Path) -> None:
    """Four SMG samples (subjects 1-3 train, 36 test), each a long recording of synthetic ntu25 clips."""
    syn = generate(48, "ntu25", num_frames=40, seed=3, num_subjects=4)
    for s, subject in enumerate((1, 2, 3, 36)):
        d = root / f"Sample{subject:04d}"
        d.mkdir(parents=True)
        frames, labels, t = [], [], 0
        for i in range(s * 12, (s + 1) * 12):
            n = int(syn.lengths[i])
            frames.append(syn.data[i, 0, :n])
            labels.append((int(syn.labels[i]) % 17 + 1, t, t + n - 1))
            t += n
        xyz = np.concatenate(frames)  # (T, 25, 3)
        full = np.zeros((len(xyz), 25, 11))
        full[..., :3] = xyz
        np.savetxt(d / f"{d.name}_skeleton.csv", full.reshape(len(xyz), 275), delimiter=",", fmt="%.6f")
        np.savetxt(d / f"{d.name}_finelabels.csv", np.array(labels), delimiter=",", fmt="%d")
        (d / f"{d.name}_data.csv").write_text(f"{len(xyz)},30,4500\n")


def test_smg_config_end_to_end_on_smg_format_files(tmp_path):
    _write_smg(tmp_path / "smg")
    cfg = load_config(CONFIGS / "smg.toml", [*QUICK, f"data.root='{tmp_path / 'smg'}'"])
    data = build_datasets(cfg.data)
    assert (len(data[0]), len(data[1])) == (36, 12)
    assert data[0].layout == "ntu25" and tuple(data[0][0]["data"].shape) == (1, 64, 25, 3)
    ev = _run(CONFIGS / "smg.toml", [f"data.root='{tmp_path / 'smg'}'"], tmp_path / "run", data)
    assert ev["data"]["classes"] == 17
