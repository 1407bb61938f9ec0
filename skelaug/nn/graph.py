"""Static skeleton graphs for the layers in :mod:`skelaug.nn`: validation, hop distances and partitions.

Every layer takes its topology as ``graph``: a PyG ``edge_index`` of shape ``(2, E)``, a
:class:`~skelaug.layouts.SkeletonLayout`, or a :class:`SkeletonGraph` (the validated form the other two
are turned into). The skeleton graph is **undirected**: an edge ``(j, i)`` also counts as ``(i, j)`` and
self loops in ``edge_index`` are ignored (partitions add the self subset themselves).

**Matrix convention.** Every ``(V, V)`` matrix in :mod:`skelaug.nn` is indexed ``A[target, source]``, so
aggregation reads :math:`x'_i = \\sum_j A_{ij} x_j`, PyG's message direction (``edge_index[0]`` is the
source ``j``, ``edge_index[1]`` the target ``i``). ST-GCN and 2s-AGCN store the transpose (they compute
``x @ A`` on ``(N, C, T, V)``).

**Spatial partition** (Yan et al., *Spatial Temporal Graph Convolutional Networks for Skeleton-Based
Action Recognition*, AAAI 2018). With :math:`d(v)` the hop distance from joint :math:`v` to the nearest
centre joint, the neighbours :math:`j` of a root (target) joint :math:`i` fall into three subsets:

* ``0`` self: :math:`j = i`;
* ``1`` centripetal: :math:`d(j) < d(i)` (the neighbour is closer to the centre than the root);
* ``2`` centrifugal: otherwise, :math:`d(j) \\ge d(i)` (ties, possible in graphs with cycles such as
  COCO's shoulder-shoulder edge, go here, as in the paper's "otherwise" and the reference code).

The centre comes from :attr:`SkeletonLayout.centre` for a layout (all its joints count: distance to
the nearest one); with a raw ``edge_index`` pass ``centre=`` (default: node ``0``). Distances are true
hop counts. (ST-GCN's reference code reads them from its 1-hop distance matrix, so every joint more
than one hop from the centre counts as infinitely far and its neighbours all fall into one subset,
mmskeleton issue #367; the subsets here follow the paper's definition instead.)

Example:
    >>> from skelaug import layouts
    >>> from skelaug.nn.graph import SkeletonGraph, spatial_partition
    >>> g = SkeletonGraph.from_layout(layouts.get("ntu25"))
    >>> g
    SkeletonGraph(num_nodes=25, num_edges=48, centre=(20,))
    >>> a = spatial_partition(g)
    >>> tuple(a.shape), float(a.sum(dim=(0, 2)).max())   # 'stgcn' normalisation: rows sum to 1
    ((3, 25, 25), 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

import torch
from torch import Tensor
from torch_geometric.utils import add_self_loops, remove_self_loops, to_dense_adj, to_undirected

from skelaug.layouts import SkeletonLayout

__all__ = [
    "AdjacencyNorm",
    "GraphLike",
    "PartitionNorm",
    "PartitionStrategy",
    "SkeletonGraph",
    "hop_distance",
    "k_hop_adjacency",
    "normalize_adjacency",
    "partition",
    "resolve_graph",
    "spatial_partition",
]

#: Adjacency normalisation: row (mean over sources), col, symmetric, or none.
AdjacencyNorm: TypeAlias = Literal["row", "col", "sym", "none"]
#: Partition normalisation: ST-GCN's (whole-graph degree), per subset, or none.
PartitionNorm: TypeAlias = Literal["stgcn", "subset", "none"]
#: ST-GCN partition strategies: spatial (self/centripetal/centrifugal), distance, uniform.
PartitionStrategy: TypeAlias = Literal["spatial", "distance", "uniform"]


def _check_choice(name: str, value: object, options: tuple[object, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, options))}")


def check_adj_t(adj_t: torch.Tensor, num_nodes: int, owner: str) -> None:
    """Raise ``ValueError`` unless the sparse adjacency ``adj_t`` is ``(num_nodes, num_nodes)``
    (rows = target joints), naming ``owner`` (e.g. ``"layer"``) in the message."""
    if tuple(adj_t.shape) != (num_nodes, num_nodes):
        raise ValueError(
            f"edge_index is a sparse adjacency of shape {tuple(adj_t.shape)}; expected "
            f"({num_nodes}, {num_nodes}) (adj_t, rows = target joints) for this {owner}'s {num_nodes} joints"
        )


def check_edge_index(
    edge_index: object, num_nodes: int | None, name: str = "edge_index"
) -> tuple[Tensor, int]:
    """Validate a PyG ``edge_index`` ``(2, E)`` against ``num_nodes``; return it (long, CPU) and the count."""
    if not isinstance(edge_index, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (2, E) (or pass a SkeletonLayout), "
            f"got {type(edge_index).__name__}"
        )
    if edge_index.dtype.is_floating_point or edge_index.dtype.is_complex or edge_index.dtype == torch.bool:
        raise TypeError(f"{name} has dtype {edge_index.dtype}; node indices must be integers (use .long())")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(
            f"{name} has shape {tuple(edge_index.shape)}; expected (2, E) in PyG format "
            f"(row 0 = source joints, row 1 = target joints); transpose an (E, 2) edge list with .t()"
        )
    ei = edge_index.detach().to(device="cpu", dtype=torch.long)
    if num_nodes is None:
        if ei.numel() == 0:
            raise ValueError(f"{name} is empty; pass num_nodes= to build a graph without edges")
        num_nodes = int(ei.max()) + 1
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes={num_nodes!r}; it must be a positive int (the number of joints V)")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= num_nodes):
        bad = ei[(ei < 0) | (ei >= num_nodes)]
        col = int(((ei < 0) | (ei >= num_nodes)).any(0).nonzero()[0])
        raise ValueError(
            f"{name} refers to node {int(bad[0])} (edge {col}), outside 0..{num_nodes - 1} for "
            f"num_nodes={num_nodes}; pass the right num_nodes or fix the edge list"
        )
    return ei, num_nodes


@dataclass(frozen=True, eq=False)
class SkeletonGraph:
    """A validated, undirected static skeleton graph with a centre.

    Args:
        edge_index: ``(2, E)`` long tensor on the CPU, both directions of every edge, no self loops and
            no duplicates, sorted (as built by :meth:`from_edge_index`).
        num_nodes: Number of joints ``V``.
        centre: Joints whose hop distance defines "closer to the centre" in :func:`spatial_partition`.

    Build it with :meth:`from_edge_index` or :meth:`from_layout`, not directly.
    """

    edge_index: Tensor
    num_nodes: int
    centre: tuple[int, ...]

    @classmethod
    def from_edge_index(
        cls, edge_index: Tensor, num_nodes: int | None = None, centre: int | Sequence[int] = 0
    ) -> SkeletonGraph:
        """Validate a PyG ``edge_index`` and symmetrise it.

        Args:
            edge_index: ``(2, E)`` integer tensor; directions and duplicates do not matter.
            num_nodes: Number of joints; default ``edge_index.max() + 1`` (pass it when the last joint
                has no edge).
            centre: Centre joint(s) for the spatial partition (default: node 0).

        Raises:
            TypeError: ``edge_index`` is not an integer tensor.
            ValueError: wrong shape, an index outside ``0..num_nodes-1``, or a bad ``centre``.
        """
        ei, v = check_edge_index(edge_index, num_nodes)
        cen = (centre,) if isinstance(centre, int) else tuple(centre)
        if not cen or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < v for c in cen):
            raise ValueError(f"centre={centre!r}; give one or more joint indices in 0..{v - 1}")
        ei, _ = remove_self_loops(ei)
        # both directions, coalesced: sorted by (source, target), duplicates removed
        both: Tensor = to_undirected(ei, num_nodes=v)
        return cls(both, v, tuple(sorted(set(cen))))

    @classmethod
    def from_layout(cls, layout: SkeletonLayout) -> SkeletonGraph:
        """The layout's edges (:meth:`SkeletonLayout.edge_index`) with its :attr:`~SkeletonLayout.centre`."""
        return cls.from_edge_index(layout.edge_index(), layout.num_joints, layout.centre)

    @property
    def num_edges(self) -> int:
        """Number of directed edges (twice the number of undirected ones)."""
        return int(self.edge_index.size(1))

    def adjacency(self, self_loops: bool = False, dtype: torch.dtype = torch.float64) -> Tensor:
        """Dense symmetric 0/1 adjacency ``(V, V)`` indexed ``[target, source]`` (optionally with ``I``)."""
        ei = self.edge_index
        if self_loops:
            ei, _ = add_self_loops(ei, num_nodes=self.num_nodes)
        # PyG's dense adjacency is [source, target]; transpose to this library's [target, source]
        dense: Tensor = to_dense_adj(ei, max_num_nodes=self.num_nodes)[0]
        return dense.t().to(dtype).contiguous()

    def permute(self, perm: Sequence[int] | Tensor) -> SkeletonGraph:
        """Relabel the joints: new joint ``v`` is old joint ``perm[v]`` (so ``x_new = x[..., perm, :]``)."""
        p = torch.as_tensor(perm, dtype=torch.long).flatten()
        if p.numel() != self.num_nodes or not torch.equal(torch.sort(p).values, torch.arange(self.num_nodes)):
            raise ValueError(f"perm must be a permutation of 0..{self.num_nodes - 1}, got {p.tolist()}")
        inv = torch.argsort(p)
        return SkeletonGraph.from_edge_index(
            inv[self.edge_index], self.num_nodes, [int(inv[c]) for c in self.centre]
        )

    def __repr__(self) -> str:
        return f"SkeletonGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges}, centre={self.centre})"


GraphLike: TypeAlias = Tensor | SkeletonLayout | SkeletonGraph
"""What ``graph=`` accepts everywhere: an ``edge_index``, a layout or a :class:`SkeletonGraph`."""


def resolve_graph(
    graph: GraphLike, *, centre: int | Sequence[int] | None = None, num_nodes: int | None = None
) -> SkeletonGraph:
    """Turn any :data:`GraphLike` into a :class:`SkeletonGraph`.

    Args:
        graph: ``edge_index`` ``(2, E)``, :class:`SkeletonLayout` or :class:`SkeletonGraph`.
        centre: Centre joint(s) for a raw ``edge_index`` (default 0). For a layout or a
            :class:`SkeletonGraph`, the centre it carries is used unless ``centre`` is given.
        num_nodes: Number of joints for a raw ``edge_index`` (default ``max + 1``); for the other
            forms it is checked against the graph's own count.
    """
    if isinstance(graph, SkeletonGraph):
        g = graph
    elif isinstance(graph, SkeletonLayout):
        g = SkeletonGraph.from_layout(graph)
    elif isinstance(graph, Tensor):
        return SkeletonGraph.from_edge_index(graph, num_nodes, 0 if centre is None else centre)
    else:
        raise TypeError(
            f"graph must be an edge_index tensor (2, E), a SkeletonLayout or a SkeletonGraph, "
            f"got {type(graph).__name__}"
        )
    if num_nodes is not None and num_nodes != g.num_nodes:
        raise ValueError(f"num_nodes={num_nodes} but the graph has {g.num_nodes} joints; drop num_nodes")
    if centre is not None:
        g = SkeletonGraph.from_edge_index(g.edge_index, g.num_nodes, centre)
    return g


def hop_distance(graph: GraphLike, num_nodes: int | None = None) -> Tensor:
    """All-pairs hop distance ``(V, V)`` (long) by breadth-first matrix powers; ``-1`` if unreachable.

    >>> import torch
    >>> hop_distance(torch.tensor([[0, 1], [1, 2]])).tolist()
    [[0, 1, 2], [1, 0, 1], [2, 1, 0]]
    """
    g = resolve_graph(graph, num_nodes=num_nodes)
    v = g.num_nodes
    adj = g.adjacency(dtype=torch.float32) > 0
    dist = torch.full((v, v), -1, dtype=torch.long)
    reach = torch.eye(v, dtype=torch.bool)
    dist[reach] = 0
    frontier = reach
    for hop in range(1, v):  # at most V-1 hops in a connected graph; the loop is over hops, not data
        nxt = ((frontier.float() @ adj.float()) > 0) & ~reach
        if not bool(nxt.any()):
            break
        dist[nxt] = hop
        reach = reach | nxt
        frontier = nxt
    return dist


def k_hop_adjacency(
    graph: GraphLike, k: int, *, exact: bool = True, self_loops: bool = False, num_nodes: int | None = None
) -> Tensor:
    """0/1 ``(V, V)`` matrix of joint pairs ``k`` hops apart (``exact``) or ``1..k`` hops apart.

    With ``self_loops`` the identity is added (MS-G3D's :math:`\\tilde A^{(k)} = I + A^{(k)}`).

    >>> import torch
    >>> k_hop_adjacency(torch.tensor([[0, 1], [1, 2]]), 2).tolist()
    [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}; the hop count must be an int >= 1")
    d = hop_distance(graph, num_nodes)
    a = (d == k) if exact else ((d >= 1) & (d <= k))
    out = a.to(torch.float64)
    if self_loops:
        out += torch.eye(d.size(0), dtype=torch.float64)
    return out


def normalize_adjacency(adj: Tensor, mode: AdjacencyNorm = "row") -> Tensor:
    """Normalise a ``(..., V, V)`` ``A[target, source]`` matrix.

    * ``row``: :math:`D^{-1} A` with :math:`D_{ii} = \\sum_j A_{ij}`: each target averages its sources
      (ST-GCN's ``normalize_digraph`` in this library's orientation);
    * ``col``: :math:`A D^{-1}` with column sums;
    * ``sym``: :math:`D^{-1/2} A D^{-1/2}` (GCN, Kipf & Welling 2017; row sums as degrees);
    * ``none``: unchanged (a copy).

    Rows or columns that sum to zero stay zero.

    >>> import torch
    >>> normalize_adjacency(torch.tensor([[1.0, 1.0], [0.0, 2.0]]), "row").tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    _check_choice("mode", mode, get_args(AdjacencyNorm))
    if adj.dim() < 2 or adj.size(-1) != adj.size(-2):
        raise ValueError(f"adj has shape {tuple(adj.shape)}; expected square (..., V, V)")

    def inv(d: Tensor, p: float) -> Tensor:
        return torch.where(d > 0, d.clamp_min(torch.finfo(d.dtype).tiny) ** p, torch.zeros_like(d))

    if mode == "row":
        return adj * inv(adj.sum(-1), -1.0).unsqueeze(-1)
    if mode == "col":
        return adj * inv(adj.sum(-2), -1.0).unsqueeze(-2)
    if mode == "sym":
        d = inv(adj.sum(-1), -0.5)
        return d.unsqueeze(-1) * adj * d.unsqueeze(-2)
    return adj.clone()


def spatial_partition(
    graph: GraphLike,
    *,
    centre: int | Sequence[int] | None = None,
    num_nodes: int | None = None,
    normalization: PartitionNorm = "stgcn",
) -> Tensor:
    """ST-GCN spatial partition ``(3, V, V)``: self, centripetal and centrifugal subsets.

    See the module docstring for the subset rule. Normalisations:

    * ``stgcn``: :math:`\\hat A = D^{-1}(A + I)` over the whole neighbourhood, then split (ST-GCN:
      the three subsets of a row sum to 1);
    * ``subset``: each subset row-normalised on its own (2s-AGCN / CTR-GCN's ``get_spatial_graph``:
      ``I``, mean over centripetal neighbours, mean over centrifugal neighbours);
    * ``none``: 0/1 masks.

    Args:
        graph: Skeleton graph (:data:`GraphLike`).
        centre: Override the centre joint(s) (see :func:`resolve_graph`).
        num_nodes: Number of joints for a raw ``edge_index``.
        normalization: One of ``'stgcn'``, ``'subset'``, ``'none'``.

    Returns:
        ``float64`` tensor ``(3, V, V)`` indexed ``[subset, target, source]``.
    """
    _check_choice("normalization", normalization, get_args(PartitionNorm))
    g = resolve_graph(graph, centre=centre, num_nodes=num_nodes)
    v = g.num_nodes
    hop = hop_distance(g)
    # distance of each joint to the nearest centre joint; unreachable joints count as infinitely far
    to_centre = hop[list(g.centre)]
    d = torch.where(to_centre < 0, torch.full_like(to_centre, v), to_centre).min(0).values
    adj = g.adjacency()
    eye = torch.eye(v, dtype=torch.float64)
    closer = (d.unsqueeze(0) < d.unsqueeze(1)).to(torch.float64)  # [i, j]: d(j) < d(i)
    masks = torch.stack([eye, adj * closer, adj * (1 - closer)])
    if normalization == "stgcn":
        return masks * normalize_adjacency(adj + eye, "row")
    if normalization == "subset":
        return normalize_adjacency(masks, "row")
    return masks


def partition(
    graph: GraphLike,
    strategy: PartitionStrategy = "spatial",
    *,
    centre: int | Sequence[int] | None = None,
    num_nodes: int | None = None,
    normalization: PartitionNorm = "stgcn",
) -> Tensor:
    """Partition the neighbourhood into ``K`` fixed subsets ``(K, V, V)`` (ST-GCN's three strategies).

    * ``uniform`` (``K = 1``): the whole neighbourhood :math:`A + I`;
    * ``distance`` (``K = 2``): the root itself and its 1-hop neighbours;
    * ``spatial`` (``K = 3``): :func:`spatial_partition`.

    ``normalization`` as in :func:`spatial_partition` (``stgcn`` normalises the neighbourhood before
    splitting, ``subset`` each subset on its own).

    >>> import torch
    >>> partition(torch.tensor([[0, 1], [1, 2]]), "distance").shape
    torch.Size([2, 3, 3])
    """
    _check_choice("strategy", strategy, get_args(PartitionStrategy))
    _check_choice("normalization", normalization, get_args(PartitionNorm))
    g = resolve_graph(graph, centre=centre, num_nodes=num_nodes)
    if strategy == "spatial":
        return spatial_partition(g, normalization=normalization)
    adj, eye = g.adjacency(), torch.eye(g.num_nodes, dtype=torch.float64)
    masks = (adj + eye).unsqueeze(0) if strategy == "uniform" else torch.stack([eye, adj])
    if normalization == "stgcn":
        return masks * normalize_adjacency(adj + eye, "row")
    if normalization == "subset":
        return normalize_adjacency(masks, "row")
    return masks
