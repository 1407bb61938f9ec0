"""
Graph layers in a PyG-style model
=================================

:mod:`skelaug.nn` layers take channels-last ``(B, T, V, C)`` batches and one static skeleton graph
(a PyG ``edge_index`` or a layout). Here a quarter-width ST-GCN encoder with attention-based adaptive
graphs and the spatio-temporal balancing-fusion block classifies synthetic micro-gestures, augmented
batch-wise on the fly with the MG preset; then the joint-permutation equivariance check from
:mod:`skelaug.nn.testing` is run on a layer built from a raw ``edge_index``.
"""

import matplotlib.pyplot as plt
import torch

from skelaug import layouts
from skelaug.augment import presets
from skelaug.data.synthetic import generate
from skelaug.nn import QUARTER_WIDTHS, AdaptiveGraphConv, STBalancedFusion, STGCNEncoder
from skelaug.nn.testing import assert_joint_permutation_equivariant

torch.manual_seed(0)          # layer initialisation uses torch's generator, as every torch layer does
lay = layouts.get("imigue22")

# %%
# Data: synthetic MG clips (N, M=1, T, V, C) with valid lengths; normalise pixels to the body scale.
train = generate(512, "imigue22", num_frames=48, seed=0)
x_all = torch.from_numpy(train.data)
lengths_all = torch.from_numpy(train.lengths)
labels_all = torch.from_numpy(train.labels)


def normalise(x):
    coords = x[..., :2]
    present = (coords != 0).any(-1, keepdim=True)
    neck = coords[..., 1:2, :]
    scale = 300.0
    return torch.cat([torch.where(present, (coords - neck) / scale, 0.0), x[..., 2:]], dim=-1)


# %%
# A model: ST-GCN encoder (quarter width, attention graphs) followed by a linear classifier; one
# balancing-fusion block is dropped in front of the encoder (it is shape-preserving).
class Classifier(torch.nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.fusion = STBalancedFusion(3, lay)
        self.encoder = STGCNEncoder(3, lay, widths=QUARTER_WIDTHS, adaptive="attention")
        self.head = torch.nn.Linear(self.encoder.out_channels, num_classes)

    def forward(self, x, lengths):              # x: (N, T, V, C)
        return self.head(self.encoder(self.fusion(x), lengths))


model = Classifier(len(train.class_names))
print(model.encoder)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
aug = presets.micro_gesture("imigue22")
g = torch.Generator().manual_seed(0)
losses = []
for step in range(30):
    idx = torch.randint(0, len(labels_all), (64,), generator=g)
    xb, lb = aug(x_all[idx], lengths_all[idx], generator=step)       # batched augmentation, (N, 1, T, V, C)
    logits = model(normalise(xb[:, 0]), lb)
    loss = torch.nn.functional.cross_entropy(logits, labels_all[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(losses)
ax.set_xlabel("step")
ax.set_ylabel("training loss")
fig.tight_layout()

# %%
# Relabelling the joints (and the graph) relabels the output: the layer has no hidden NTU-25 or
# joint-order assumption. ``factory`` builds the layer from the (relabelled) graph.
edge_index = lay.edge_index()
x = torch.randn(4, 16, lay.num_joints, 3)
assert_joint_permutation_equivariant(lambda graph: AdaptiveGraphConv(3, 16, graph, adaptive="attention"),
                                     edge_index, x, generator=torch.Generator().manual_seed(1))
print("equivariant under joint relabelling")
