"""
A PyG GATConv inside ST-GCN, on real NW-UCLA clips
==================================================

Any PyTorch Geometric convolution can be the spatial operator of an ST-GCN block
(``STGCNBlock(..., spatial=conv)``, ``STGCNEncoder(..., spatial=factory)``). Here an ST-GCN whose graph
convolutions are :class:`torch_geometric.nn.GATConv` (graph attention, run on the disjoint union of all
frames, see :doc:`/graph_layers`) is trained next to the same network with the built-in
:class:`~skelaug.nn.AdaptiveGraphConv`, on real Kinect clips of NW-UCLA (cross-view protocol: train on
views 1 and 2, test on view 3). Everything is kept tiny (a few hundred clips, a few dozen steps) so that
it runs in seconds while the documentation builds: the accuracies show the pipeline works, not what
either layer reaches with proper training. Finally a batch is turned into PyG spatio-temporal graphs
and fed to a plain PyG model.
"""

import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch_geometric.nn import GATConv, GCNConv, global_mean_pool

from skelaug import layouts
from skelaug.data import NWUCLA
from skelaug.nn import STGCNEncoder, from_pyg_batch, to_pyg_batch

torch.manual_seed(0)
threads = torch.get_num_threads()
torch.set_num_threads(1)      # small tensors: one thread is fastest (restored at the end)

# %%
# Data: NW-UCLA read with :class:`skelaug.data.NWUCLA` (20 Kinect v1 joints, x y z in metres; the
# ``kinect20`` layout gives the graph). A few clips per class are taken from each split; each clip is
# centred on the hip of its first frame and sampled at ``T`` evenly spaced frames (whole actions, as
# the action-recognition literature does on NW-UCLA).
root = Path(os.environ.get("SKELAUG_SHARED", "../shared")) / "data" / "nwucla"
lay = layouts.get("kinect20")
T, PER_CLASS, STEPS = 24, {"train": 20, "test": 10}, 30


def clip_tensor(clip):
    x = clip[0]                                                 # (T_clip, V, 3), the one person
    idx = np.linspace(0, len(x) - 1, T).round().astype(int)    # T evenly spaced frames
    return x[idx] - x[0, 0]                                     # centred on the first hip


def load(split):
    ds = NWUCLA(root, split=split)                              # train: views 1, 2; test: view 3
    picked = np.concatenate([np.flatnonzero(ds.labels == k)[: PER_CLASS[split]] for k in range(10)])
    data = np.stack([clip_tensor(ds.clips[i]) for i in picked])
    return torch.from_numpy(data), torch.from_numpy(ds.labels[picked])


if (root / "all_sqe").is_dir():
    (x_train, y_train), (x_test, y_test) = load("train"), load("test")
else:  # the data is not shipped with the library: keep the code running on random stand-ins
    print(f"NW-UCLA not found at {root}; random stand-in clips (the accuracies below mean nothing)")
    x_train, y_train = torch.randn(200, T, lay.num_joints, 3), torch.arange(200) % 10
    x_test, y_test = torch.randn(100, T, lay.num_joints, 3), torch.arange(100) % 10
print("train", tuple(x_train.shape), "test", tuple(x_test.shape), "classes", int(y_train.max()) + 1)

# %%
# Two encoders of the same widths: built-in adaptive graph convolution (2s-AGCN's offset mode) and
# GATConv with 4 heads as the spatial operator of every block (``spatial`` is called with each block's
# input and output widths). The GAT blocks say which route they take.
widths = (16, 32)


def gat(c_in, c_out):
    return GATConv(c_in, c_out // 4, heads=4)                  # 4 heads concatenated -> c_out


models = {
    "AdaptiveGraphConv": STGCNEncoder(3, lay, widths=widths, out_channels=10),
    "GATConv": STGCNEncoder(3, lay, widths=widths, out_channels=10, spatial=gat),
}
print(models["GATConv"].blocks[0])
print("GAT route:", models["GATConv"].blocks[0].gcn.resolved_route)

# %%
# Train each for the same few steps (Adam, batch 32) and evaluate on the held-out view.
curves, scores = {}, {}
for name, model in models.items():
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    losses, start = [], time.perf_counter()
    model.train()
    for _ in range(STEPS):
        idx = torch.randint(0, len(y_train), (32,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    curves[name], scores[name] = losses, acc
    params = sum(p.numel() for p in model.parameters())
    print(f"{name:18s} {params:6d} parameters, {seconds / STEPS * 1e3:5.0f} ms/step, test accuracy {acc:.2f}")

fig, ax = plt.subplots(figsize=(5, 3))
for name, losses in curves.items():
    ax.plot(losses, label=f"{name} (test acc {scores[name]:.2f})")
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()

# %%
# The other direction: skeleton batches as PyG graphs. ``to_pyg_batch`` builds one spatio-temporal
# graph per clip and person (bones within each frame, each joint to itself in the next frame), so a
# plain PyG model runs on it; ``from_pyg_batch`` restores the padded tensor exactly.
x5 = x_train[:4, None].clone()                                  # (N, M=1, T, V, C)
x5[2, :, 12:], x5[3, :, 8:] = 0.0, 0.0                          # zero padding after the valid frames
batch = to_pyg_batch(x5, lay, lengths=torch.tensor([T, T, 12, 8]))
print(batch)
h = GCNConv(3, 16)(batch.x, batch.edge_index)                  # a plain PyG layer on all graphs
print("per-clip features", tuple(global_mean_pool(h, batch.batch).shape))
back, lengths = from_pyg_batch(batch)
assert torch.equal(back, x5)
print("lengths", lengths.tolist())
torch.set_num_threads(threads)
