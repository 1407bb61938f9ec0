"""
Real actions: NW-UCLA from files to a trained recognizer
========================================================

NW-UCLA (Northwestern-UCLA Multiview Action3D, Wang et al. CVPR 2014) has 1,484 Kinect v1 clips of 10
actions by 10 subjects, each filmed from three views. :func:`skelaug.io.read` reads its JSON clips into the
``kinect20`` layout, and :class:`skelaug.data.NWUCLA` gives the standard cross-view protocol (train on
views 1 and 2, test on view 3). This tutorial reads clips, draws the same action from the three views,
then trains and evaluates a tiny recognizer (random ST-GCN features and a linear classifier) on a small
subset with batched skelaug augmentations, in seconds on a CPU. The measured reference-model results on
the full protocol are in ``reference_models/README.md``.

The data is read from ``$SKELAUG_SHARED/data/nwucla`` (default ``../shared``). Without it, the tutorial
writes a small stand-in folder in the same format from skelaug's synthetic generator, so every step
still runs (the numbers then mean nothing).
"""

import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import skelaug.io as sio
from skelaug import augment as A
from skelaug import layouts
from skelaug.data import NWUCLA, generate
from skelaug.nn import STGCNEncoder
from skelaug.viz import draw_pose

root = Path(os.environ.get("SKELAUG_SHARED", "../shared")) / "data" / "nwucla"
if not (root / "all_sqe").is_dir():
    print(f"NW-UCLA not found under {root}: writing a synthetic stand-in in the same format")
    root = Path(tempfile.mkdtemp()) / "nwucla"
    (root / "all_sqe").mkdir(parents=True)
    ntu, k20 = layouts.get("ntu25"), layouts.get("kinect20")
    same = {"hip_center": "spine_base", "spine": "spine_mid", "shoulder_center": "spine_shoulder"}
    pick = [ntu.index(same.get(n, n)) for n in k20.joint_names]  # kinect20 joints from their ntu25 twins
    fake = generate(300, "ntu25", num_frames=40, seed=0)
    codes = [1, 2, 3, 4, 5, 6, 8, 9, 11, 12]
    for i in range(300):
        a, s, v = codes[i % 10], 1 + (i // 30) % 10, 1 + i % 3
        name = f"a{a:02d}_s{s:02d}_e{i:02d}_v{v:02d}"
        clip = fake.data[i, 0, : fake.lengths[i]][:, pick] * [1, -1, 1] + [0, 0, 3]  # y up, 3 m away
        obj = {"file_name": name, "skeletons": clip.round(5).tolist(), "label": i % 10 + 1}
        (root / "all_sqe" / f"{name}.json").write_text(json.dumps(obj))

# %%
# One clip: ``(M, T, V, C) = (1, T, 20, 3)`` in metres, camera coordinates (``y`` up, ``z`` the depth).
# The file name's fields and the label travel in ``seq.source``.
first = sorted((root / "all_sqe").glob("*.json"))[0]
seq = sio.read(first)
print(seq)
print({k: seq.source[k] for k in ("file_name", "label", "action", "subject", "view")})

# %%
# The cross-view protocol: 1,020 training clips (views 1, 2) and 464 test clips (view 3).
train = NWUCLA(root, split="train", num_frames=48)
test = NWUCLA(root, split="test", num_frames=48)
print(len(train), "training clips,", len(test), "test clips;", len(train.class_names), "classes")
print("training clips per class:", np.bincount(train.labels).tolist())
print("frames per clip: median", int(np.median(train.lengths)), "max", int(train.lengths.max()))

# %%
# The same action by the same subject, from the three cameras (top row: as recorded, ``x`` right and ``y``
# up, so ``image_coords=False``). A view change is a rotation about the vertical axis, which is why the
# test view is hard. skelaug's normalisation steps undo it: :class:`~skelaug.augment.CentreBody` moves the
# body centre (``kinect20``: ``hip_center``) of the first valid frame to the origin, and
# :class:`~skelaug.augment.AlignView` turns each clip so its spine points along ``+z`` and its shoulder line
# along ``+x`` (pyskl's ``PreNormalize3D``), :class:`~skelaug.augment.NormalizeScale` makes the shoulder
# width 1. Bottom row: the three clips after that, drawn in the ``x``-``z`` plane (now the body's frontal
# plane): the three cameras now see the same front view. The reference model does the same on every clip
# with ``data.preprocess`` (``configs/nwucla.toml``).
pre = A.Compose([A.CentreBody(), A.AlignView(), A.NormalizeScale(by="shoulders")], layout="kinect20")
stem = first.stem.rsplit("_v", 1)[0]
views = [sio.read(p) for p in sorted((root / "all_sqe").glob(f"{stem}_v0*.json"))]
fig, axes = plt.subplots(2, len(views), figsize=(3.0 * len(views), 6.4), squeeze=False)
for col, clip in enumerate(views):
    x = clip.data[0]
    aligned = pre(clip.data[None], generator=0)[0, 0]  # (T, 20, 3)
    frames = np.linspace(0, len(x) - 1, 4).round().astype(int)
    for k, t in enumerate(frames):
        draw_pose(axes[0, col], x[t], "kinect20", color=f"C{k}", alpha=0.4 + 0.2 * k, image_coords=False)
        draw_pose(axes[1, col], aligned[t][:, [0, 2, 1]], "kinect20", color=f"C{k}", alpha=0.4 + 0.2 * k,
                  image_coords=False)
    axes[0, col].set_title(f"{clip.source['file_name']}\n{train.class_names[clip.source['label'] - 1]}",
                           fontsize=8)
    axes[1, col].set_title("centred, aligned, scaled (x-z)", fontsize=8)
    for ax in axes[:, col]:
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
fig.tight_layout()

# %%
# A tiny recognizer on a small subset (20 training clips per class, 10 test clips per class of view 3).
# Every clip goes through the normalisation above, then a two-block ST-GCN on the ``kinect20`` graph,
# with its random initial weights, turns it into a feature vector, and a linear classifier is trained on
# the features of the training clips, each seen in four batched skelaug augmentations (a small turn about
# the vertical axis, now ``z``, and a temporal crop). This is the reference model's "random weights + linear
# probe" baseline in miniature; pre-training the encoder is what ``reference_models/mg_contrastive`` adds
# (its measured NW-UCLA numbers are in its README).
rng = np.random.default_rng(0)


def subset(ds: NWUCLA, per_class: int) -> np.ndarray:
    return np.concatenate([rng.permutation(np.flatnonzero(ds.labels == c))[:per_class] for c in range(10)])


def batch(ds: NWUCLA, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    items = [ds[int(i)] for i in index]
    x = torch.stack([it["data"] for it in items]).numpy()  # (N, 1, 48, 20, 3)
    x, n = pre(x, np.array([it["length"] for it in items]), generator=0)  # centred, aligned, scaled
    return x, n, torch.tensor([it["label"] for it in items])


torch.manual_seed(0)
encoder = STGCNEncoder(3, layouts.get("kinect20"), widths=[16, 32], strides=[1, 2], adaptive="none",
                       norm="layer", data_norm=False).eval()
aug = A.Compose([A.RandomRotate(degrees=((0, 0), (0, 0), (-20, 20))), A.RandomCropResize(scale=(0.7, 1.0))],
                layout="kinect20")


@torch.no_grad()
def features(x: np.ndarray, n: np.ndarray) -> torch.Tensor:
    return encoder(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(n))


train_idx, test_idx = subset(train, 20), subset(test, 10)
x, n, y_train = batch(train, train_idx)
feats = [features(*aug(x, n, generator=rng)) for _ in range(4)]  # one call augments all 200 clips
f_train, y_train = torch.cat(feats), y_train.repeat(4)
x, n, y_test = batch(test, test_idx)
f_test = features(x, n)
mean, std = f_train.mean(0), f_train.std(0) + 1e-6
head = torch.nn.Linear(f_train.shape[1], 10)
opt = torch.optim.Adam(head.parameters(), lr=1e-2)
for _ in range(300):
    loss = torch.nn.functional.cross_entropy(head((f_train - mean) / std), y_train)
    opt.zero_grad()
    loss.backward()
    opt.step()
pred = head((f_test - mean) / std).argmax(1)
print(f"training loss {loss.item():.3f}")
print(f"view-3 accuracy on {len(test_idx)} test clips: {(pred == y_test).float().mean():.1%} (chance 10 %)")
