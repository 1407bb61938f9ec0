"""
A training loop: real clips, DataLoader workers and AugmentedCollate
====================================================================

From a folder of real clips (NW-UCLA's ``all_sqe`` JSON files) to a ``DataLoader`` whose workers pad
each batch and augment it in one call (:class:`skelaug.data.AugmentedCollate`), to a few training
steps of a small ST-GCN.

**The randomness contract** (:ref:`randomness-contract`). An augmentation built without ``seed=``
and called without ``generator=``, like a dataset built without ``seed=``, draws from torch's
generator of the process it runs in. A ``DataLoader`` seeds every worker differently, and again for
every epoch, so

* every worker and every epoch gets new augmentation parameters (no worker copies another's, no
  epoch repeats the last one: the defect of AimCLR-style feeders);
* ``torch.manual_seed(s)`` at the start (or ``DataLoader(generator=torch.Generator().manual_seed(s))``
  with workers) reproduces the whole run bit for bit, with fork or spawn workers and with
  ``persistent_workers=True``; runs with different ``num_workers`` differ, as with torch's transforms;
* ``generator=`` (or ``seed=``) gives exact replay when you want it, outside the loader.
"""

import os
from pathlib import Path

import torch

from skelaug import augment as A
from skelaug import layouts
from skelaug.data import NWUCLA, AugmentedCollate
from skelaug.nn import STGCNEncoder

# The shared data folder (the docs build sets SKELAUG_SHARED; from a checkout it is ../shared).
root = Path(os.environ.get("SKELAUG_SHARED", "../shared")) / "data" / "nwucla"

# %%
# The folder of clips
# -------------------
# The cross-view training split: views 1 and 2, 1,020 clips of 1 to 201 frames (median 31) with the
# 20 Kinect v1 joints (layout ``kinect20``) in metres. Items are dicts: ``data`` ``(1, 52, 20, 3)``
# (longer clips centre-cropped, shorter ones zero-padded), the valid ``length`` and the ``label``.
# No ``transform``: the augmentation runs on whole batches in the collate function.
train = NWUCLA(root, split="train", num_frames=52)
item = train[0]
print(len(train), "clips;", train.layout, tuple(item["data"].shape), "valid frames:", item["length"])

# %%
# Augment whole batches in the collate function
# ---------------------------------------------
# ``AugmentedCollate(aug)`` stacks the items (padding to the longest clip), augments the
# ``(N, M, T, V, C)`` batch in one call and collates the other fields. Calling an augmentation per clip
# in ``__getitem__`` pays its fixed per-call cost once per clip; here it is paid once per batch (6-8x the
# clips/s on NW-UCLA-sized clips, ``benchmarks/README.md``).
aug = A.Compose([
    A.RandomRotate(degrees=15.0),
    A.RandomShear(shear=0.3),
    A.RandomCropResize(scale=(0.8, 1.0), min_length=8),
], layout="kinect20")
collate = AugmentedCollate(aug)

# %%
# The contract in four lines: the same torch seed gives the same batch, the next call new parameters.
items = [train[i] for i in range(8)]
torch.manual_seed(0)
a = collate(items)["data"]
torch.manual_seed(0)
b = collate(items)["data"]
c = collate(items)["data"]
print("same seed, same batch:", torch.equal(a, b), "| next call differs:", not torch.equal(b, c))

# %%
# The loader
# ----------
# In your training use ``num_workers=2..8`` and ``persistent_workers=True``: the collate function (and
# so the augmentation) then runs in the workers, each drawing from its own torch-seeded stream. The
# documentation build runs on a couple of cores, so this page uses ``num_workers=0`` (the calls then
# draw from the main process's generator, which ``torch.manual_seed`` fixes).
num_workers = 0
torch.manual_seed(0)
loader = torch.utils.data.DataLoader(
    train, batch_size=16, shuffle=True, num_workers=num_workers, persistent_workers=num_workers > 0,
    collate_fn=collate, drop_last=True,
)

# %%
# A few training steps
# --------------------
# A two-block ST-GCN over the ``kinect20`` graph, pooled over the valid frames (``lengths``), and a
# linear classifier over the 10 actions.
model = STGCNEncoder(3, layouts.get("kinect20"), widths=(16, 32), out_channels=len(train.class_names))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step, batch in enumerate(loader):
    logits = model(batch["data"], lengths=batch["length"])     # data (16, 1, 52, 20, 3) -> (16, 10)
    loss = torch.nn.functional.cross_entropy(logits, batch["label"])
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step}  loss {loss.item():.3f}")
    if step == 5:                                               # a few steps: this page runs in seconds
        break

# %%
# Two views for contrastive training, and augmenting on the GPU
# -------------------------------------------------------------
# ``views=2`` gives two independently augmented views of every batch (as
# :class:`~skelaug.augment.MultiView` does). To augment on the training device instead of in the
# workers, let the workers only pad (``AugmentedCollate(None)``) and call the augmentation on the
# device batch: every executor accepts CUDA tensors.
two = AugmentedCollate(aug, views=2)(items)
q, k = two["data"]                                              # two (8, 1, 52, 20, 3) views
len_q, len_k = two["length"]
print("views:", tuple(q.shape), tuple(k.shape), "differ:", not torch.equal(q, k))

device = "cuda" if torch.cuda.is_available() else "cpu"
pad_only = torch.utils.data.DataLoader(train, batch_size=16, shuffle=True, num_workers=num_workers,
                                       collate_fn=AugmentedCollate(None))
batch = next(iter(pad_only))
x, lengths = aug(batch["data"].to(device), batch["length"])   # augmented where the model runs
print("augmented on", x.device, tuple(x.shape))
