"""Adaptive spatial graph convolution over the joints of a skeleton sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import is_sparse, scatter, to_edge_index

from skelaug.nn._utils import (
    ChannelNorm,
    GraphModule,
    NormKind,
    check_btvc,
    check_choice,
    check_positive_int,
    kaiming_fan_out_,
    permute_square_,
)
from skelaug.nn.graph import GraphLike, PartitionNorm, PartitionStrategy, check_adj_t, check_edge_index, resolve_graph
from skelaug.nn.graph import partition as graph_partition

__all__ = ["ADAPTIVE_MODES", "EXECUTIONS", "AdaptiveGraphConv", "AdaptiveMode", "Execution"]

#: Adaptive-graph variants: fixed (ST-GCN), edge importance, learned offset, attention (2s-AGCN),
#: channel-wise (CTR-GCN).
AdaptiveMode: TypeAlias = Literal["none", "importance", "offset", "attention", "channelwise"]
#: All values of :data:`AdaptiveMode`.
ADAPTIVE_MODES: tuple[AdaptiveMode, ...] = ("none", "importance", "offset", "attention", "channelwise")
#: How ``forward(x)`` runs without an explicit graph: fused dense matrix products, or PyG's
#: ``propagate`` over the layer's own :attr:`AdaptiveGraphConv.edge_index`.
Execution: TypeAlias = Literal["dense", "propagate"]
#: All values of :data:`Execution`.
EXECUTIONS: tuple[Execution, ...] = ("dense", "propagate")


class AdaptiveGraphConv(GraphModule, MessagePassing):  # type: ignore[misc]  # PyG is untyped
    r"""Adaptive graph convolution over joints, applied to every frame at once.

    One layer covers ST-GCN (Yan et al., AAAI 2018), 2s-AGCN (Shi et al., *Two-Stream Adaptive Graph
    Convolutional Networks for Skeleton-Based Action Recognition*, CVPR 2019) and CTR-GCN's channel-wise
    topology refinement (Chen et al., ICCV 2021). With :math:`x_{t} \in \mathbb{R}^{V \times C_{in}}` the
    features of one frame and :math:`K` fixed subsets :math:`A_k` (:func:`~skelaug.nn.graph.partition`,
    indexed ``[target, source]``):

    .. math::

        x'_t = \sigma\Big(\mathrm{N}\Big(\sum_{k=1}^{K} G_k\, x_t W_k + b\Big) + R(x_t)\Big)

    where :math:`\mathrm{N}` is the normalisation, :math:`R` the residual (identity, or a linear map and
    normalisation when :math:`C_{in} \ne C_{out}`), :math:`\sigma` the ReLU, and ``adaptive`` picks the
    topology :math:`G_k`:

    * ``'none'``: :math:`G_k = A_k` (ST-GCN without edge importance);
    * ``'importance'``: :math:`G_k = A_k \odot M_k`, learned :math:`M_k` initialised to ones (ST-GCN's
      edge-importance weighting);
    * ``'offset'``: :math:`G_k = A_k + B_k`, a learned, unconstrained offset :math:`B_k` initialised to 0
      (2s-AGCN's :math:`B_k`);
    * ``'attention'``: :math:`G_k = A_k + B_k + C_k(x)` with the embedded-Gaussian attention of 2s-AGCN,

      .. math::

          C_k(x)_{ij} = \operatorname{softmax}_j\Big(\frac{1}{E\,T}\sum_{t}
          (x_{t,i}\,\phi_k + \beta_k)^{\top}(x_{t,j}\,\theta_k + \gamma_k)\Big),

      computed per sample over all ``T`` frames (target embedding :math:`\phi_k` = ``query``, source
      embedding :math:`\theta_k` = ``key``, both of width ``E = embed_channels``; the :math:`1/(ET)`
      scale is the published code's);
    * ``'channelwise'``: CTR-GCN's channel-wise refinement, a separate topology per output channel ``o``,

      .. math::

          G_{k,o} = A_k + B_k + \alpha\,\big[\tanh(\bar x_i \psi_k - \bar x_j \eta_k)\,\xi_k\big]_o,
          \qquad \bar x = \tfrac{1}{T}\textstyle\sum_t x_t,

      with :math:`\psi_k, \eta_k` (``rel_query``, ``rel_key``) of width ``E`` (plus biases), the
      expansion :math:`\xi_k` (``expand``, ``E -> C_out``, plus bias) and a learned scalar :math:`\alpha`
      initialised to 0. (CTR-GCN adds its ``conv3`` bias before aggregation; here the single bias
      :math:`b` is added after it.)

    Joints are mixed with dense ``(V, V)`` matrix products over all ``B * T`` frames at once; channel
    mixing happens first when :math:`C_{in} \ge C_{out}` and last otherwise (the cheaper order).

    **As a PyG layer.** The class is a :class:`torch_geometric.nn.MessagePassing` in PyG's static-graph
    mode (``aggr='sum'``, ``node_dim=-2``: nodes second-to-last, any leading batch axes). The same
    function is then a sum of messages over the edges :math:`(j \to i)` of the topology's support,

    .. math::

        x'_{t,i} = \sum_{j \in \mathcal N(i)} m_{t, j \to i}, \qquad
        m_{t, j \to i} = \sum_{k=1}^{K} G_{k,ij} \odot (x_{t,j} W_k)

    (:meth:`message` computes :math:`m` from the lifted :math:`x_j W` and the per-edge weights
    :math:`G_{k,ij}`, :meth:`aggregate` sums at the targets, :meth:`message_and_aggregate` does both
    with one dense contraction for a sparse adjacency), followed by the same bias, normalisation,
    residual and ReLU. :attr:`edge_index` is that support: the partition's non-zeros (the skeleton's
    edges and self loops) for ``'none'`` and ``'importance'``, every ordered joint pair (self loops
    included) for the modes with a dense learned offset. ``forward(x, edge_index)`` runs the message
    passing over any given ``edge_index`` ``(2, E)`` (PyG's ``[source, target]`` rows) or sparse
    adjacency ``adj_t`` ``(V, V)`` (``torch.sparse`` or ``torch_sparse.SparseTensor``, rows are targets);
    pairs outside it contribute nothing, so ``forward(x, conv.edge_index)`` equals the dense ``forward(x)``
    to float rounding. ``execution='propagate'`` makes that the default route; ``'dense'`` (the default)
    keeps the fused matrix products, which are much faster for a 20-25 joint skeleton
    (``benchmarks/bench_nn.py``).

    Per-joint learned state (:math:`M_k`, :math:`B_k`) is relabelled by :meth:`permute_joints_`, which
    :func:`skelaug.nn.testing.assert_joint_permutation_equivariant` uses.

    Args:
        in_channels: Input channels :math:`C_{in}`.
        out_channels: Output channels :math:`C_{out}`.
        graph: Skeleton graph: ``edge_index`` ``(2, E)``, :class:`~skelaug.layouts.SkeletonLayout` or
            :class:`~skelaug.nn.graph.SkeletonGraph`.
        adaptive: Topology mode (above).
        partition: ``'spatial'`` (3 subsets), ``'distance'`` (2) or ``'uniform'`` (1).
        normalization: How the fixed subsets are normalised: ``'stgcn'``, ``'subset'`` (2s-AGCN) or
            ``'none'``; see :func:`~skelaug.nn.graph.spatial_partition`.
        centre: Centre joint(s) of a raw ``edge_index`` for the spatial partition (default 0).
        num_nodes: Number of joints of a raw ``edge_index`` (default ``max + 1``).
        embed_channels: ``E`` for ``'attention'`` (default ``out_channels // 4``, 2s-AGCN) and
            ``'channelwise'`` (default ``in_channels // 8``, or 8 when ``in_channels <= 16``; CTR-GCN uses
            8 for 3- or 9-channel input and ``in_channels // 8`` otherwise).
        residual: Add :math:`R(x)`.
        norm: ``'batch'`` (default), ``'layer'`` or ``'none'``, over channels.
        activation: Apply the final ReLU.
        bias: Learn the bias :math:`b`.
        execution: Route of ``forward(x)`` without an explicit graph: ``'dense'`` fused matrix products
            (fast) or ``'propagate'`` (PyG message passing over :attr:`edge_index`).

    Shapes:
        - **input:** ``(B, T, V, C_in)``; ``B`` may be ``N * M`` (samples times persons); optional
          ``edge_index`` ``(2, E)`` or sparse ``adj_t`` ``(V, V)``.
        - **output:** ``(B, T, V, C_out)``.

    Example:
        >>> import torch
        >>> from skelaug import layouts
        >>> from skelaug.nn import AdaptiveGraphConv
        >>> conv = AdaptiveGraphConv(3, 16, layouts.get("ntu25"), adaptive="attention")
        >>> conv
        AdaptiveGraphConv(3, 16, subsets=3, adaptive='attention')
        >>> x = torch.randn(2, 10, 25, 3)
        >>> conv(x).shape
        torch.Size([2, 10, 25, 16])
        >>> torch.allclose(conv(x, conv.edge_index), conv(x), atol=1e-5)   # PyG message passing
        True
    """

    A: Tensor
    edge_index: Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        graph: GraphLike,
        *,
        adaptive: AdaptiveMode = "offset",
        partition: PartitionStrategy = "spatial",
        normalization: PartitionNorm = "stgcn",
        centre: int | Sequence[int] | None = None,
        num_nodes: int | None = None,
        embed_channels: int | None = None,
        residual: bool = True,
        norm: NormKind = "batch",
        activation: bool = True,
        bias: bool = True,
        execution: Execution = "dense",
    ) -> None:
        super().__init__(aggr="sum", node_dim=-2)  # PyG's static-graph mode: (..., V, C)
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_choice("adaptive", adaptive, ADAPTIVE_MODES)
        check_choice("execution", execution, EXECUTIONS)
        g = resolve_graph(graph, centre=centre, num_nodes=num_nodes)
        a = graph_partition(g, partition, normalization=normalization)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.adaptive = adaptive
        self.partition = partition
        self.normalization = normalization
        self.num_nodes = g.num_nodes
        self.num_subsets = int(a.size(0))
        self.residual = residual
        self.activation = activation
        self.execution = execution
        k, v = self.num_subsets, self.num_nodes
        if embed_channels is None:
            if adaptive == "channelwise":
                embed_channels = 8 if in_channels <= 16 else in_channels // 8
            else:
                embed_channels = max(1, out_channels // 4)
        self.embed_channels = check_positive_int("embed_channels", embed_channels)
        # The fixed partition is derived from the constructor's graph: not learned state, not saved.
        self.register_graph_buffer("A", a)
        # Support of G_k as a PyG edge_index [source; target]: the partition's non-zeros when G_k = A_k
        # (x mask), every joint pair when a dense learned offset B_k makes the graph complete.
        dense_offset = adaptive in ("offset", "attention", "channelwise")
        support = torch.ones(v, v, dtype=torch.bool) if dense_offset else (a != 0).any(0)
        src_tgt = support.t().nonzero()  # rows (source, target), sorted by source
        self.register_buffer("edge_index", src_tgt.t().contiguous(), persistent=False)

        self.weight = nn.Parameter(torch.empty(k, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.importance = nn.Parameter(torch.empty(k, v, v)) if adaptive == "importance" else None
        self.offset = (
            nn.Parameter(torch.empty(k, v, v)) if adaptive in ("offset", "attention", "channelwise") else None
        )
        e = self.embed_channels
        self.query: nn.Linear | None = None
        self.key: nn.Linear | None = None
        if adaptive == "attention":
            self.query = nn.Linear(in_channels, k * e)
            self.key = nn.Linear(in_channels, k * e)
        self.rel_query: nn.Linear | None = None
        self.rel_key: nn.Linear | None = None
        self.expand: nn.Parameter | None = None
        self.expand_bias: nn.Parameter | None = None
        self.alpha: nn.Parameter | None = None
        if adaptive == "channelwise":
            self.rel_query = nn.Linear(in_channels, k * e)
            self.rel_key = nn.Linear(in_channels, k * e)
            self.expand = nn.Parameter(torch.empty(k, e, out_channels))
            self.expand_bias = nn.Parameter(torch.empty(k, out_channels))
            self.alpha = nn.Parameter(torch.empty(1))
        self.norm = ChannelNorm(out_channels, norm)
        self.down: nn.Sequential | None = None
        if residual and in_channels != out_channels:
            self.down = nn.Sequential(nn.Linear(in_channels, out_channels), ChannelNorm(out_channels, norm))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every learned parameter and running statistic.

        :math:`W_k \\sim \\mathcal N(0, 2 / (C_{out} C_{in} K))` (2s-AGCN's ``conv_branch_init``), He
        (fan-out) normal embeddings and residual projection, zero biases, :math:`B_k = 0`,
        :math:`M_k = 1`, :math:`\\alpha = 0`, unit normalisation scale.
        """
        k, cin, cout = self.weight.shape
        with torch.no_grad():
            self.weight.normal_(0.0, (2.0 / (cout * cin * k)) ** 0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.importance is not None:
            nn.init.ones_(self.importance)
        if self.offset is not None:
            nn.init.zeros_(self.offset)
        for lin in (self.query, self.key, self.rel_query, self.rel_key):
            if lin is not None:
                kaiming_fan_out_(lin.weight, self.embed_channels)
                nn.init.zeros_(lin.bias)
        if self.expand is not None and self.expand_bias is not None and self.alpha is not None:
            kaiming_fan_out_(self.expand, cout)
            nn.init.zeros_(self.expand_bias)
            nn.init.zeros_(self.alpha)
        self.norm.reset_parameters()
        if self.down is not None:
            proj, dnorm = self.down[0], self.down[1]
            assert isinstance(proj, nn.Linear) and isinstance(dnorm, ChannelNorm)
            kaiming_fan_out_(proj.weight, cout)
            nn.init.zeros_(proj.bias)
            dnorm.reset_parameters()

    @torch.no_grad()
    def permute_joints_(self, perm: Tensor) -> None:
        """Relabel the learned per-joint state (:math:`M_k`, :math:`B_k`) in place.

        After ``perm`` (new joint ``v`` = old joint ``perm[v]``), a layer built for
        ``graph.permute(perm)`` holding this state computes the relabelled output. The fixed partition
        ``A`` is rebuilt from the graph and is not touched.
        """
        for p in (self.importance, self.offset):
            if p is not None:
                permute_square_(p, perm.to(p.device))

    def topology(self, x: Tensor | None = None) -> Tensor:
        """The effective topology :math:`G_k`: ``(K, V, V)``; ``(B, K, V, V)`` for ``'attention'``;
        ``(B, K, V, V, C_out)`` for ``'channelwise'`` (``x`` needed for the data-dependent modes)."""
        g = self._static_topology()
        if self.adaptive in ("attention", "channelwise"):
            if x is None:
                raise ValueError(f"adaptive={self.adaptive!r} topology depends on the input: pass x")
            check_btvc(type(self).__name__, x, self.in_channels, self.num_nodes)
            if self.adaptive == "attention":
                return g + self._attention(x)
            assert self.alpha is not None
            return g[..., None] + self.alpha * self._refinement(x).permute(1, 0, 2, 3, 4)
        return g

    # ------------------------------------------------------------------------------------------ forward
    def _static_topology(self) -> Tensor:
        g = self.A
        if self.importance is not None:
            g = g * self.importance
        if self.offset is not None:
            g = g + self.offset
        return g

    def _attention(self, x: Tensor) -> Tensor:
        """2s-AGCN embedded-Gaussian attention ``(B, K, V, V)``, ``[b, k, target, source]``."""
        assert self.query is not None and self.key is not None
        b, t, v, _ = x.shape
        k, e = self.num_subsets, self.embed_channels
        # (B, T, V, K*E) -> (B*K, V, T*E): one embedding vector per joint over the whole clip
        q = self.query(x).view(b, t, v, k, e).permute(0, 3, 2, 1, 4).reshape(b * k, v, t * e)
        s = self.key(x).view(b, t, v, k, e).permute(0, 3, 2, 1, 4).reshape(b * k, v, t * e)
        logits = torch.bmm(q, s.transpose(1, 2)) / (e * t)  # (B*K, V_target, V_source)
        return torch.softmax(logits, dim=-1).view(b, k, v, v)

    def _refinement(self, x: Tensor) -> Tensor:
        """CTR-GCN channel-wise refinement ``(K, B, V, V, C_out)`` before scaling by alpha."""
        assert self.rel_query is not None and self.rel_key is not None
        assert self.expand is not None and self.expand_bias is not None
        b, _, v, _ = x.shape
        k, e = self.num_subsets, self.embed_channels
        m = x.mean(dim=1)  # (B, V, C_in): the 1x1 embeddings commute with the temporal mean
        rq = self.rel_query(m).view(b, v, 1, k, e)
        rk = self.rel_key(m).view(b, 1, v, k, e)
        d = torch.tanh(rq - rk)  # (B, V_target, V_source, K, E)
        d = d.permute(3, 0, 1, 2, 4).reshape(k, b * v * v, e)
        q = torch.baddbmm(self.expand_bias.unsqueeze(1), d, self.expand)  # (K, B*V*V, C_out)
        return q.view(k, b, v, v, self.out_channels)

    def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        """Apply the layer to ``x`` of shape ``(B, T, V, C_in)``.

        Args:
            x: Joint features, channels last.
            edge_index: Optional PyG graph: ``(2, E)`` ``[source; target]`` or a sparse ``adj_t``
                ``(V, V)``. Given (or with ``execution='propagate'``, which uses :attr:`edge_index`), the
                aggregation runs through :meth:`propagate` over those edges only; otherwise through the
                fused dense products over the whole topology.
        """
        check_btvc(type(self).__name__, x, self.in_channels, self.num_nodes)
        if edge_index is None and self.execution == "propagate":
            edge_index = self.edge_index
        if edge_index is None:
            out = self._dense_aggregate(x)
        else:
            out = self._propagate_aggregate(x, edge_index)
        return self._finish(x, out)

    def _dense_aggregate(self, x: Tensor) -> Tensor:
        r""":math:`\sum_k G_k x W_k` with fused dense products: ``(B, T, V, C_out)`` before the bias."""
        b, t, v, cin = x.shape
        k, cout = self.num_subsets, self.out_channels
        g = self._static_topology()  # (K, V, V)
        if self.adaptive == "attention":
            gb = g + self._attention(x)  # (B, K, V, V)
            if cin >= cout:  # transform, then aggregate over (source joint, subset)
                y = self._transform(x).view(b, t, v * k, cout)
                out = gb.permute(0, 2, 3, 1).reshape(b, 1, v, v * k) @ y
            else:  # aggregate, then transform; one (V*K, V) x (V, T*C_in) product per sample
                xs = x.transpose(1, 2).reshape(b, v, t * cin)
                z = gb.permute(0, 2, 1, 3).reshape(b, v * k, v) @ xs  # (B, (V, K), T*C_in)
                z = z.view(b, v, k, t, cin).permute(0, 3, 1, 2, 4).reshape(b, t, v, k * cin)
                out = z @ self.weight.reshape(k * cin, cout)
        elif self.adaptive == "channelwise":
            assert self.alpha is not None
            y = self._transform(x)  # (B*T, V*K, C_out) with rows ordered (joint, subset)
            out = (g.permute(1, 2, 0).reshape(v, v * k) @ y).view(b, t, v, cout)
            q = self._refinement(x)  # (K, B, V_i, V_j, C_out)
            q = q.permute(1, 4, 2, 0, 3).reshape(b, cout, v, k * v)  # (B, C_out, V_i, (K, V_j))
            ys = y.view(b, t, v, k, cout).permute(0, 4, 3, 2, 1).reshape(b, cout, k * v, t)
            out = out + self.alpha * (q @ ys).permute(0, 3, 2, 1)
        elif cin >= cout:
            y = self._transform(x)  # (B*T, V*K, C_out)
            out = (g.permute(1, 2, 0).reshape(v, v * k) @ y).view(b, t, v, cout)
        else:
            z = g.permute(1, 0, 2).reshape(v * k, v) @ x.reshape(b * t, v, cin)  # (B*T, V*K, C_in)
            out = z.view(b, t, v, k * cin) @ self.weight.reshape(k * cin, cout)
        return out

    def _finish(self, x: Tensor, out: Tensor) -> Tensor:
        """Bias, normalisation, residual and ReLU after the aggregation."""
        if self.bias is not None:
            out = out + self.bias
        out = self.norm(out)
        if self.residual:
            out = out + (x if self.down is None else self.down(x))
        return F.relu(out) if self.activation else out

    # ------------------------------------------------------------------------------ message passing
    def _propagate_aggregate(self, x: Tensor, edge_index: Tensor) -> Tensor:
        r""":math:`\sum_k G_k x W_k` restricted to the given edges, through PyG's :meth:`propagate`."""
        b, t, v, _ = x.shape
        k, cout = self.num_subsets, self.out_channels
        h = self._transform(x).view(b, t, v, k * cout)  # per joint: [subset 0 | subset 1 | ...] x C_out
        g = self.topology(x)  # (K, V, V) | (B, K, V, V) | (B, K, V, V, C_out), [.., target, source, ..]
        if is_sparse(edge_index):
            check_adj_t(edge_index, v, "layer")
            out: Tensor = MessagePassing.propagate(self, edge_index, x=h, edge_weight=None, topology=g)
            return out
        if edge_index is not self.edge_index:
            check_edge_index(edge_index, v)
        ei = edge_index.to(device=x.device, dtype=torch.long)
        src, tgt = ei[0], ei[1]
        # per-edge weights G_k[target, source], shaped to broadcast against messages (B, T, E, K, C_out)
        if g.dim() == 3:
            w = g[:, tgt, src].t().reshape(1, 1, -1, k, 1)
        elif g.dim() == 4:
            w = g[:, :, tgt, src].permute(0, 2, 1).unsqueeze(1).unsqueeze(-1)
        else:
            w = g[:, :, tgt, src].permute(0, 2, 1, 3).unsqueeze(1)
        out = MessagePassing.propagate(self, ei, x=h, edge_weight=w, topology=None, size=(v, v))
        return out

    def message(self, x_j: Tensor, edge_weight: Tensor | None) -> Tensor:
        r"""Messages :math:`m_{j \to i} = \sum_k G_{k,ij} (x_j W_k)`: ``(B, T, E, C_out)``.

        ``x_j`` ``(B, T, E, K * C_out)`` are the transformed source features lifted to the edges,
        ``edge_weight`` ``(B | 1, 1, E, K, C_out | 1)`` the topology entries of each edge.
        """
        assert edge_weight is not None
        m = x_j.view(*x_j.shape[:-1], self.num_subsets, self.out_channels)
        return (m * edge_weight).sum(dim=-2)

    def aggregate(self, inputs: Tensor, index: Tensor, dim_size: int | None = None) -> Tensor:
        """Sum the messages ``(B, T, E, C_out)`` at their target joints along ``node_dim``."""
        out: Tensor = scatter(inputs, index, dim=self.node_dim, dim_size=dim_size, reduce="sum")
        return out

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor, topology: Tensor | None) -> Tensor:
        """Fused route for a sparse ``adj_t`` ``(V, V)`` (rows = targets): the topology restricted to its
        stored entries, contracted densely with the transformed features ``x`` ``(B, T, V, K * C_out)``."""
        assert topology is not None
        b, t, v, _ = x.shape
        k, cout = self.num_subsets, self.out_channels
        (rows, cols), _ = to_edge_index(adj_t)
        mask = torch.zeros(v, v, dtype=x.dtype, device=x.device)
        mask[rows.to(x.device), cols.to(x.device)] = 1.0
        h = x.view(b, t, v, k, cout)
        if topology.dim() == 3:
            return torch.einsum("kij,btjkc->btic", topology * mask, h)
        if topology.dim() == 4:
            return torch.einsum("bkij,btjkc->btic", topology * mask, h)
        return torch.einsum("bkijc,btjkc->btic", topology * mask[..., None], h)

    def _transform(self, x: Tensor) -> Tensor:
        """``x W_k`` for all subsets in one GEMM: ``(B*T, V*K, C_out)`` (rows ordered joint, subset)."""
        b, t, v, cin = x.shape
        w = self.weight.permute(1, 0, 2).reshape(cin, self.num_subsets * self.out_channels)
        return (x.reshape(-1, cin) @ w).view(b * t, v * self.num_subsets, self.out_channels)

    def __repr__(self) -> str:
        extra = "" if self.execution == "dense" else f", execution={self.execution!r}"
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, subsets={self.num_subsets}, "
            f"adaptive={self.adaptive!r}{extra})"
        )
