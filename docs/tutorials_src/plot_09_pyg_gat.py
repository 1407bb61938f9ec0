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

import json
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch_geometric.nn import GATConv, GCNConv, global_mean_pool

from skelaug.nn import STGCNEncoder, from_pyg_batch, to_pyg_batch

torch.manual_seed(0)
threads = torch.get_num_threads()
torch.set_num_threads(1)      # small tensors: one thread is fastest (restored at the end)

# %%
# Data: the NW-UCLA JSON files (one per clip, 20 Kinect v1 joints, x y z in metres). The joints and
# bones are those of ``../shared/data/nwucla/SOURCES.md`` (CTR-GCN's list, child -> parent, 1-based);
# ``STGCNEncoder`` takes them as a PyG ``edge_index`` with the spine as centre joint. Each clip is
# centred on the hip of its first frame and sampled at ``T`` evenly spaced frames.
root = Path(os.environ.get("SKELAUG_SHARED", "../shared")) / "data" / "nwucla" / "all_sqe"
BONES = [(1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10), (12, 11),
         (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19)]
edge_index = torch.tensor([[c - 1 for c, p in BONES], [p - 1 for c, p in BONES]])
V, T, PER_CLASS, STEPS = 20, 24, {"train": 20, "test": 10}, 30


def clip_tensor(frames):
    x = np.asarray(frames, dtype=np.float32)                    # (T_clip, V, 3)
    idx = np.linspace(0, len(x) - 1, T).round().astype(int)    # T evenly spaced frames
    return x[idx] - x[0, 0]                                     # centred on the first hip


def load(split):
    views = ("v01", "v02") if split == "train" else ("v03",)
    data, labels, seen = [], [], {}
    for path in sorted(root.glob("*.json")):
        if path.stem[-3:] not in views:
            continue
        clip = json.loads(path.read_text())
        label = int(clip["label"]) - 1
        if seen.get(label, 0) < PER_CLASS[split]:
            seen[label] = seen.get(label, 0) + 1
            data.append(clip_tensor(clip["skeletons"]))
            labels.append(label)
    return torch.from_numpy(np.stack(data)), torch.tensor(labels)


if root.is_dir():
    (x_train, y_train), (x_test, y_test) = load("train"), load("test")
else:  # the data is not shipped with the library: keep the code running on random stand-ins
    print(f"NW-UCLA not found at {root}; random stand-in clips (the accuracies below mean nothing)")
    x_train, y_train = torch.randn(200, T, V, 3), torch.arange(200) % 10
    x_test, y_test = torch.randn(100, T, V, 3), torch.arange(100) % 10
print("train", tuple(x_train.shape), "test", tuple(x_test.shape), "classes", int(y_train.max()) + 1)

# %%
# Two encoders of the same widths: built-in adaptive graph convolution (2s-AGCN's offset mode) and
# GATConv with 4 heads as the spatial operator of every block (``spatial`` is called with each block's
# input and output widths). The GAT blocks say which route they take.
widths = (16, 32)


def gat(c_in, c_out):
    return GATConv(c_in, c_out // 4, heads=4)                  # 4 heads concatenated -> c_out


models = {
    "AdaptiveGraphConv": STGCNEncoder(3, edge_index, widths=widths, centre=1, out_channels=10),
    "GATConv": STGCNEncoder(3, edge_index, widths=widths, centre=1, out_channels=10, spatial=gat),
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
    for step in range(STEPS):
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
x5 = x_train[:4, None]                                          # (N, M=1, T, V, C)
batch = to_pyg_batch(x5, edge_index, lengths=torch.tensor([T, T, 12, 8]))
print(batch)
h = GCNConv(3, 16)(batch.x, batch.edge_index)                  # a plain PyG layer on all graphs
print("per-clip features", tuple(global_mean_pool(h, batch.batch).shape))
back, lengths = from_pyg_batch(batch)
assert torch.equal(back[0], x5[0]) and torch.equal(back[3, :, 8:], torch.zeros_like(back[3, :, 8:]))
print("lengths", lengths.tolist())
torch.set_num_threads(threads)
