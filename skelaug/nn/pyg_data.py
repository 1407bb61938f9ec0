"""Skeleton batches as PyTorch Geometric spatio-temporal graphs, and back.

:func:`to_pyg_batch` turns a skeleton batch ``(N, M, T, V, C)`` into a
:class:`torch_geometric.data.Batch`, so that PyG's own models (any convolution, pooling, ``DataLoader``)
train on skelaug data; :func:`from_pyg_batch` inverts it exactly.

**The graphs.** One graph per (sample, person): its nodes are the joints of the sample's *valid* frames
(``t < lengths[n]``), numbered frame-major (node ``t * V + v``), with the ``C`` channels as node features
``x``. Edges (PyG ``edge_index``, both directions of every pair, like the layout's):

* *spatial*: the skeleton's bones within each frame (``edge_type == 0``);
* *temporal*: every joint to itself in the next frame (``edge_type == 1``).

This is the spatio-temporal graph of ST-GCN (Yan et al., AAAI 2018) before partitioning.

**Persons.** Each person of a sample is a separate graph (persons do not touch), and every person slot
is kept, absent ones (all zeros) included, so that the round trip is exact and ``num_graphs = N * M``.
Graph-level attributes say where each graph came from: ``sample`` (``n``), ``person`` (``m``),
``num_frames`` (the valid length) and ``padded_frames`` (``T``); node-level ``frame`` and ``joint``
give each node's position. A sample-level prediction from per-graph outputs averages its persons,
e.g. ``torch_geometric.utils.scatter(out, batch.sample, reduce="mean")``; drop absent persons from the
graph list yourself if your model should not see them.

Example:
    >>> import torch
    >>> from skelaug import layouts
    >>> from skelaug.nn.pyg_data import from_pyg_batch, to_pyg_batch
    >>> lay = layouts.get("ntu25")
    >>> x = torch.randn(2, 2, 6, 25, 3)                     # (N, M, T, V, C)
    >>> lengths = torch.tensor([6, 4])
    >>> x[1, :, 4:] = 0                                     # zero padding after the valid frames
    >>> batch = to_pyg_batch(x, lay, lengths)
    >>> batch.num_graphs, batch.x.shape                     # (6 + 6 + 4 + 4) frames * 25 joints
    (4, torch.Size([500, 3]))
    >>> batch.sample.tolist(), batch.person.tolist(), batch.num_frames.tolist()
    ([0, 0, 1, 1], [0, 1, 0, 1], [6, 6, 4, 4])
    >>> back, back_lengths = from_pyg_batch(batch)
    >>> torch.equal(back, x), back_lengths.tolist()
    (True, [6, 4])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from skelaug.nn.graph import GraphLike, resolve_graph
from skelaug.tensors import check_lengths, check_skeleton

__all__ = ["from_pyg_batch", "spatio_temporal_edge_index", "to_pyg_batch"]

#: ``edge_type`` of a spatial (bone) edge and of a temporal (same joint, next frame) edge.
SPATIAL_EDGE, TEMPORAL_EDGE = 0, 1


def spatio_temporal_edge_index(graph: GraphLike, num_frames: int) -> tuple[Tensor, Tensor]:
    """Edges of the spatio-temporal graph of ``num_frames`` frames (nodes ``t * V + v``).

    Returns:
        ``edge_index`` ``(2, E)`` (spatial edges of frame 0, 1, ..., then temporal edges, both
        directions of each) and ``edge_type`` ``(E,)`` (0 spatial, 1 temporal).

    >>> import torch
    >>> ei, et = spatio_temporal_edge_index(torch.tensor([[0], [1]]), 2)   # two joints, two frames
    >>> ei.tolist(), et.tolist()
    ([[0, 1, 2, 3, 0, 1, 2, 3], [1, 0, 3, 2, 2, 3, 0, 1]], [0, 0, 0, 0, 1, 1, 1, 1])
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames={num_frames!r}; it must be an int >= 1")
    g = resolve_graph(graph)
    v = g.num_nodes
    base = torch.arange(num_frames).view(-1, 1, 1) * v  # (T, 1, 1)
    spatial = (g.edge_index.unsqueeze(0) + base).permute(1, 0, 2).reshape(2, -1)  # frame by frame
    ahead = torch.arange((num_frames - 1) * v)  # node t*V + v -> (t+1)*V + v
    temporal = torch.cat([torch.stack([ahead, ahead + v]), torch.stack([ahead + v, ahead])], dim=1)
    edge_type = torch.cat(
        [
            torch.full((spatial.size(1),), SPATIAL_EDGE, dtype=torch.long),
            torch.full((temporal.size(1),), TEMPORAL_EDGE, dtype=torch.long),
        ]
    )
    return torch.cat([spatial, temporal], dim=1), edge_type


def to_pyg_batch(x: Any, graph: GraphLike, lengths: Any = None) -> Batch:
    """A skeleton batch as a :class:`~torch_geometric.data.Batch` of spatio-temporal graphs.

    Args:
        x: Skeletons ``(N, M, T, V, C)`` (also ``(M, T, V, C)`` or ``(T, V, C)``, as one sample), NumPy or
            torch; the graphs hold a torch copy (same dtype and device).
        graph: Skeleton graph (``edge_index``, layout or :class:`~skelaug.nn.graph.SkeletonGraph`).
        lengths: Valid frame counts ``(N,)`` (default: all ``T`` frames). Padded frames are left out.

    Returns:
        One graph per (sample, person), in sample-major order (module docstring): ``x`` ``(nodes, C)``,
        ``edge_index``, ``edge_type``, ``frame``, ``joint`` per node; ``sample``, ``person``,
        ``num_frames``, ``padded_frames`` per graph.

    Raises:
        ValueError: wrong shape, joint count or lengths (naming the value and the fix).
    """
    g = resolve_graph(graph)
    xb, _ = check_skeleton(x, num_joints=g.num_nodes, finite=False)
    xt = torch.as_tensor(xb)
    n, m, t, v, c = (int(s) for s in xt.shape)
    lens = np.full((n,), t, dtype=np.int64) if lengths is None else check_lengths(lengths, n, t)
    templates: dict[int, tuple[Tensor, Tensor]] = {}
    graphs: list[Data] = []
    joint = torch.arange(v, device=xt.device)
    for i in range(n):
        ln = int(lens[i])
        if ln not in templates:
            ei, et = spatio_temporal_edge_index(g, ln)
            templates[ln] = (ei.to(xt.device), et.to(xt.device))
        ei, et = templates[ln]
        frame = torch.arange(ln, device=xt.device).repeat_interleave(v)
        for p in range(m):
            graphs.append(
                Data(
                    x=xt[i, p, :ln].reshape(ln * v, c).clone(),
                    edge_index=ei,
                    edge_type=et,
                    frame=frame,
                    joint=joint.repeat(ln),
                    sample=i,
                    person=p,
                    num_frames=ln,
                    padded_frames=t,
                    num_nodes=ln * v,
                )
            )
    if not graphs:
        raise ValueError(f"x has shape {tuple(xt.shape)}: no samples or persons to turn into graphs")
    return Batch.from_data_list(graphs)


def from_pyg_batch(batch: Batch) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`to_pyg_batch`: the zero-padded skeletons ``(N, M, T, V, C)`` and ``lengths`` ``(N,)``.

    Node features may have changed width (e.g. a model's output put into ``batch.x``): ``C`` is taken
    from ``batch.x``. Nodes are placed by their ``sample``, ``person``, ``frame`` and ``joint``
    attributes, so graphs may be in any order.

    Raises:
        ValueError: ``batch`` lacks the attributes :func:`to_pyg_batch` sets.
    """
    need = ("x", "batch", "frame", "joint", "sample", "person", "num_frames", "padded_frames")
    missing = [a for a in need if getattr(batch, a, None) is None]
    if missing:
        raise ValueError(
            f"batch lacks {', '.join(missing)}; from_pyg_batch inverts skelaug.nn.pyg_data.to_pyg_batch "
            f"(build the batch with it)"
        )
    x: Tensor = batch.x
    sample: Tensor = batch.sample
    person: Tensor = batch.person
    n, m = int(sample.max()) + 1, int(person.max()) + 1
    t = int(batch.padded_frames.max())
    v = int(batch.joint.max()) + 1
    c = int(x.size(-1)) if x.dim() > 1 else 1
    out = x.new_zeros((n, m, t, v, c))
    g = batch.batch
    out[sample[g], person[g], batch.frame, batch.joint] = x.view(-1, c)
    lengths = torch.zeros(n, dtype=torch.long, device=x.device)
    lengths[sample] = batch.num_frames.to(device=x.device, dtype=torch.long)
    return out, lengths
