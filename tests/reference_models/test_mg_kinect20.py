"""The NW-UCLA and UTD-MHAD configs end to end (a few steps) on real clips.

NW-UCLA: the protocol's datasets from the shipped config, and a run on a small copy of the real folder
(24 clips of the three views). UTD-MHAD: the shipped config on a folder of .mat files written from the four
real fixture clips under twelve action / subject names (the full set is not available here).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from reference_models.mg_contrastive.config import ConfigError, load_config
from reference_models.mg_contrastive.data import build_datasets
from reference_models.mg_contrastive.evaluate import evaluate
from reference_models.mg_contrastive.train import pretrain
from skelaug import layouts

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "reference_models/mg_contrastive/configs"
SHARED = Path(os.environ.get("SKELAUG_SHARED", REPO.parent / "shared"))
UCLA = SHARED / "data/nwucla"
UTD = SHARED / "fixtures/utd_mhad_mat"
QUICK = [
    "optim.epochs=1",
    "optim.warmup_epochs=0",
    "optim.batch_size=4",
    "contrast.queue_size=16",
    "eval.linear.epochs=5",
    "eval.finetune.epochs=1",
    "eval.finetune.batch_size=4",
    "eval.semi.epochs=1",
    "eval.semi.batch_size=4",
]
PROTOCOLS = ["linear", "knn", "finetune", "semi"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(config: str, root: Path, out: Path, extra: list[str] | None = None) -> dict:
    cfg = load_config(CONFIGS / config, [*QUICK, f"data.root='{root}'", *(extra or [])])
    data = build_datasets(cfg.data)
    res = pretrain(cfg, out, device="cpu", show_progress=False, datasets=data)
    assert res["global_step"] == len(data[0]) // 4 > 0 and np.isfinite(res["loss"])
    ev = evaluate(cfg, out, checkpoint=out / "encoder.pt", protocols=PROTOCOLS, device="cpu", datasets=data,
                  show_progress=False)
    for proto in ("linear", "finetune"):
        assert set(ev["protocols"][proto]) == {"graph", "recurrent", "fused", "ensemble"}
    return ev


@pytest.mark.skipif(not (UCLA / "all_sqe").is_dir(), reason=f"NW-UCLA not found at {UCLA}")
def test_nwucla_config_datasets_are_the_cross_view_protocol():
    cfg = load_config(CONFIGS / "nwucla.toml", [f"data.root='{UCLA}'"])
    train, test = build_datasets(cfg.data)
    assert (len(train), len(test)) == (1020, 464)
    assert set(train.views.tolist()) == {1, 2} and set(test.views.tolist()) == {3}
    item = train[0]
    assert tuple(item["data"].shape) == (1, cfg.data.num_frames, 20, 3) and train.layout == "kinect20"
    val = load_config(CONFIGS / "nwucla.toml", [f"data.root='{UCLA}'", "data.train_views=[1]", "data.test_views=[2]"])
    train, test = build_datasets(val.data)
    assert (len(train), len(test)) == (516, 504)
    assert set(train.views.tolist()) == {1} and set(test.views.tolist()) == {2}


@pytest.mark.parametrize(
    ("sets", "match"),
    [
        (["data.train_views=[1]", "data.test_views=[1, 2]"], "share a view"),
        (["data.train_views=[]"], "data.train_views"),
        (["data.test_views=[4]"], "data.test_views"),
        (["data.kind='synthetic'", "data.test_views=[3]"], "for data.kind = 'nwucla' only"),
        (["eval.finetune.backbone_lr_scale=-0.1"], "eval.finetune.backbone_lr_scale"),
    ],
)
def test_nwucla_view_and_finetune_keys_are_checked(sets, match):
    with pytest.raises(ConfigError, match=match):
        load_config(CONFIGS / "nwucla.toml", sets)


def _bone_lengths(x: np.ndarray, bones: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x[:, bones[:, 0]] - x[:, bones[:, 1]], axis=-1)


ALIGN = 'data.preprocess=[{type="CentreBody"}, {type="AlignView"}]'
RAW = "data.preprocess=[]"


def test_nwucla_config_aligns_the_view_by_default():
    assert load_config(CONFIGS / "nwucla.toml").data.preprocess == load_config(
        CONFIGS / "nwucla.toml", [ALIGN]).data.preprocess != []


@pytest.mark.skipif(not (UCLA / "all_sqe").is_dir(), reason=f"NW-UCLA not found at {UCLA}")
def test_nwucla_preprocess_aligns_every_clip_and_keeps_the_body(tmp_path):
    """``data.preprocess`` (view alignment) on real clips, checked against the raw items: the first frame's
    spine (hip_center -> spine) is +z, its shoulders (right - left) lie in the x-z plane pointing +x, the
    spine joint's height is its raw spine length, bone lengths and padding are unchanged."""
    raw = build_datasets(load_config(CONFIGS / "nwucla.toml", [f"data.root='{UCLA}'", RAW]).data)
    cfg = load_config(CONFIGS / "nwucla.toml", [f"data.root='{UCLA}'"])
    aligned = build_datasets(cfg.data)
    lay = layouts.get("kinect20")
    hip, spine, rs, ls = (lay.index(j) for j in ("hip_center", "spine", "right_shoulder", "left_shoulder"))
    bones = np.array(lay.bones)
    for split in (0, 1):
        assert len(aligned[split]) == len(raw[split]) and aligned[split].labels.tolist() == raw[split].labels.tolist()
        for i in (0, 7, 300):
            a, r = aligned[split][i], raw[split][i]
            x, x0, n = a["data"].numpy()[0], r["data"].numpy()[0], a["length"]
            assert n == r["length"] and not x[n:].any()
            s, h = x[0, spine] - x[0, hip], x[0, rs] - x[0, ls]
            s_len = np.linalg.norm(x0[0, spine] - x0[0, hip])
            np.testing.assert_allclose(s, [0.0, 0.0, s_len], atol=1e-5)
            assert abs(h[1]) < 1e-5 and h[0] > 0
            np.testing.assert_allclose(_bone_lengths(x[:n], bones), _bone_lengths(x0[:n], bones), atol=1e-5)
    assert aligned[1].views.tolist() == raw[1].views.tolist()
    assert aligned[0].subjects.tolist() == raw[0].subjects.tolist()
    with pytest.raises(AttributeError, match="item\\['length'\\]"):
        aligned[0].lengths  # noqa: B018
    item = aligned[0][(3, 5)]                                   # the (index, epoch) keys of our loader
    assert item["index"] == 3 and np.allclose(item["data"].numpy(), aligned[0][3]["data"].numpy())


@pytest.mark.skipif(not (UCLA / "all_sqe").is_dir(), reason=f"NW-UCLA not found at {UCLA}")
def test_nwucla_config_end_to_end_on_real_clips(tmp_path):
    root = tmp_path / "ucla"
    (root / "all_sqe").mkdir(parents=True)
    for action in ("a01", "a02", "a03", "a04"):
        for view in ("v01", "v02", "v03"):
            for f in sorted((UCLA / "all_sqe").glob(f"{action}_s0[12]_e00_{view}.json")):
                shutil.copy(f, root / "all_sqe" / f.name)
    ev = _run("nwucla.toml", root, tmp_path / "run")                 # view-aligned (the config's default)
    assert ev["data"]["kind"] == "nwucla" and ev["data"]["classes"] == 10
    ev = _run("nwucla.toml", root, tmp_path / "run_raw", [RAW])      # the clips as recorded
    assert ev["data"]["kind"] == "nwucla"


@pytest.mark.skipif(not UTD.is_dir(), reason=f"UTD-MHAD fixtures not found at {UTD}")
def test_utd_mhad_config_end_to_end(tmp_path):
    clips = [scipy.io.loadmat(f)["d_skel"] for f in sorted(UTD.glob("*.mat"))]
    root = tmp_path / "utd"
    root.mkdir()
    for k, (action, subject) in enumerate((a, s) for a in (1, 2, 3) for s in (1, 2, 3, 4)):
        scipy.io.savemat(root / f"a{action}_s{subject}_t1_skeleton.mat", {"d_skel": clips[k % 4]})
    ev = _run("utd_mhad.toml", root, tmp_path / "run")
    assert ev["data"]["kind"] == "utd_mhad" and ev["data"]["classes"] == 27
