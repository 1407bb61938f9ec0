"""Spatio-temporal balancing fusion: an adaptive joint graph and a frame graph, mixed per channel."""

from __future__ import annotations

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
    check_lengths_tensor,
    check_positive_int,
    permute_square_,
)
from skelaug.nn.adaptive_graph_conv import EXECUTIONS, Execution
from skelaug.nn.graph import GraphLike, check_adj_t, check_edge_index, normalize_adjacency, resolve_graph

__all__ = ["BALANCE_MODES", "BalanceMode", "STBalancedFusion"]

#: Branch balancing: learned per-channel weights, or a fixed equal mix (ablation).
BalanceMode: TypeAlias = Literal["learned", "equal"]
#: All values of :data:`BalanceMode`.
BALANCE_MODES: tuple[BalanceMode, ...] = ("learned", "equal")


class STBalancedFusion(GraphModule, MessagePassing):  # type: ignore[misc]  # PyG is untyped
    r"""Spatio-temporal balancing fusion block (this library's definition).

    The micro-gesture method this library follows pairs a graph stream with "a plug-and-play
    spatio-temporal balancing fusion" but publishes no equations; this is the definition used here.
    An MG is brief and often repetitive (much of it lives in time) and spatially subtle, so the block
    runs a spatial and a temporal branch on the same features and lets every channel choose its mix.
    With :math:`x \in \mathbb{R}^{B \times T \times V \times C}`:

    **Spatial branch** (adaptive graph over joints, as 2s-AGCN): from the clip mean
    :math:`\bar x^{s}_{b} = \frac{1}{T}\sum_t x_{b,t}` (valid frames only),

    .. math::

        G^{s}_b = \hat A + B + \operatorname{softmax}_j\Big(
        \frac{(\bar x^{s}_{b} Q_s)(\bar x^{s}_{b} K_s)^\top}{\sqrt{E}}\Big), \qquad
        Y^{s}_{b,t} = G^{s}_b\,(x_{b,t} W_s + b_s),

    with :math:`\hat A = D^{-1/2}(A + I)D^{-1/2}` the skeleton graph and :math:`B` a learned ``(V, V)``
    offset (initialised to 0).

    **Temporal branch** (adaptive graph over frames): from the joint mean
    :math:`\bar x^{t}_{b,t} = \frac{1}{V}\sum_v x_{b,t,v}`,

    .. math::

        G^{t}_b = \hat L_w + \operatorname{softmax}_u\Big(\frac{(\bar x^{t}_b Q_t)(\bar x^{t}_b K_t)^\top}
        {\sqrt{E}}\Big), \qquad Y^{t}_{b,:,v} = G^{t}_b\,(x_{b,:,v} W_t + b_t),

    where :math:`\hat L_w` averages the frames within ``temporal_window`` of each frame (a fixed
    chain graph; ``0`` drops it) and the attention links each frame to similar frames anywhere in the
    clip (e.g. the same phase of another repetition). Padded frames (``t >= lengths``) are excluded
    as sources.

    **Balancing** (per channel, from pooled features, as selective-kernel networks): with
    :math:`s_b = \operatorname{mean}_{t,v}(Y^{s} + Y^{t})_b \in \mathbb{R}^C`,

    .. math::

        [\alpha^{s}_b, \alpha^{t}_b] = \operatorname{softmax}_{\text{branch}}\big(W_2\,\mathrm{ReLU}(W_1 s_b +
        c_1) + c_2\big), \qquad Z = \alpha^{s} \odot Y^{s} + \alpha^{t} \odot Y^{t}

    (:math:`\alpha^{s} + \alpha^{t} = 1` per sample and channel).

    **Output**: :math:`x' = x + \mathrm{N}(Z)`, the normalisation's scale initialised to 0 so that the
    block starts as the identity and can be inserted into a trained network without changing it.

    Ablation switches: ``spatial=False`` gives :math:`Z = Y^{t}`, ``temporal=False`` gives
    :math:`Z = Y^{s}`, ``balance='equal'`` gives :math:`Z = (Y^{s} + Y^{t}) / 2`; ``residual=False``
    gives :math:`x' = \mathrm{N}(Z)` (scale initialised to 1).

    The block is joint-permutation equivariant once :math:`B` is relabelled (:meth:`permute_joints_`).

    **As a PyG layer.** The class is a :class:`torch_geometric.nn.MessagePassing` in static-graph mode
    (``node_dim=-2``) for its spatial branch: :math:`Y^{s}_{b,t,i} = \sum_{j} G^{s}_{b,ij}\, v_{b,t,j}`
    with :math:`v = x W_s + b_s` is a sum of messages :math:`G^{s}_{b,ij} v_{b,t,j}` over the edges
    :math:`j \to i` (:meth:`message`, :meth:`aggregate`; :meth:`message_and_aggregate` for a sparse
    ``adj_t``). :math:`G^{s}` is dense (learned offset and attention), so :attr:`edge_index` is every
    ordered joint pair; ``forward(x, lengths, edge_index)`` restricts the spatial branch to the given
    edges, ``execution='propagate'`` uses :attr:`edge_index` by default, ``'dense'`` (default) keeps the
    batched matrix product. The temporal branch is a graph over frames and stays a dense product.

    Args:
        channels: ``C`` (input = output).
        graph: Skeleton graph (``edge_index``, layout or :class:`~skelaug.nn.graph.SkeletonGraph`).
        embed_channels: Attention width ``E`` (default ``max(1, channels // 4)``).
        reduction: Balancing bottleneck ``C -> max(4, C // reduction)``.
        temporal_window: Half-width of the fixed frame neighbourhood :math:`\hat L_w`.
        spatial: Use the spatial branch.
        temporal: Use the temporal branch.
        balance: ``'learned'`` per-channel weights or ``'equal'`` averaging.
        residual: Add the input back.
        norm: ``'batch'``, ``'layer'`` or ``'none'``.
        num_nodes: Joint count of a raw ``edge_index``.
        execution: Route of the spatial branch without an explicit graph: ``'dense'`` or ``'propagate'``.

    Shapes:
        - **input:** ``(B, T, V, C)``, optional ``lengths`` ``(B,)``, optional ``edge_index`` ``(2, E)``
          or sparse ``adj_t`` ``(V, V)``
        - **output:** ``(B, T, V, C)``

    Example:
        >>> import torch
        >>> from skelaug import layouts
        >>> from skelaug.nn import STBalancedFusion
        >>> block = STBalancedFusion(16, layouts.get("imigue22"))
        >>> block
        STBalancedFusion(16, joints=22, spatial=True, temporal=True, balance='learned')
        >>> x = torch.randn(2, 30, 22, 16)
        >>> y = block(x, lengths=torch.tensor([30, 18]))
        >>> y.shape, bool(torch.equal(y, x))    # identity at initialisation
        (torch.Size([2, 30, 22, 16]), True)
    """

    A: Tensor
    edge_index: Tensor

    def __init__(
        self,
        channels: int,
        graph: GraphLike,
        *,
        embed_channels: int | None = None,
        reduction: int = 4,
        temporal_window: int = 1,
        spatial: bool = True,
        temporal: bool = True,
        balance: BalanceMode = "learned",
        residual: bool = True,
        norm: NormKind = "batch",
        num_nodes: int | None = None,
        execution: Execution = "dense",
    ) -> None:
        super().__init__(aggr="sum", node_dim=-2)  # PyG's static-graph mode over joints
        check_positive_int("channels", channels)
        check_choice("execution", execution, EXECUTIONS)
        check_positive_int("reduction", reduction)
        check_positive_int("temporal_window", temporal_window, minimum=0)
        check_choice("balance", balance, BALANCE_MODES)
        if not (spatial or temporal):
            raise ValueError("spatial=False and temporal=False leave no branch; enable at least one")
        g = resolve_graph(graph, num_nodes=num_nodes)
        self.channels = channels
        self.num_nodes = g.num_nodes
        self.embed_channels = check_positive_int(
            "embed_channels", max(1, channels // 4) if embed_channels is None else embed_channels
        )
        self.temporal_window = temporal_window
        self.spatial = spatial
        self.temporal = temporal
        self.balance = balance
        self.residual = residual
        self.execution = execution
        e = self.embed_channels
        v = g.num_nodes
        full = torch.ones(v, v, dtype=torch.bool).nonzero()  # every (source, target) pair
        self.register_buffer("edge_index", full.t().contiguous(), persistent=False)
        self.register_graph_buffer("A", normalize_adjacency(g.adjacency(self_loops=True), "sym"))
        self.offset = nn.Parameter(torch.empty(g.num_nodes, g.num_nodes)) if spatial else None
        self.s_qk = nn.Linear(channels, 2 * e) if spatial else None
        self.s_value = nn.Linear(channels, channels) if spatial else None
        self.t_qk = nn.Linear(channels, 2 * e) if temporal else None
        self.t_value = nn.Linear(channels, channels) if temporal else None
        learned = spatial and temporal and balance == "learned"
        hidden = max(4, channels // reduction)
        self.squeeze = nn.Linear(channels, hidden) if learned else None
        self.excite = nn.Linear(hidden, 2 * channels) if learned else None
        self.norm = ChannelNorm(channels, norm, zero_init=residual)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default linear initialisation, :math:`B = 0`, output scale 0 (1 without residual)."""
        for lin in (self.s_qk, self.s_value, self.t_qk, self.t_value, self.squeeze, self.excite):
            if lin is not None:
                lin.reset_parameters()
        if self.offset is not None:
            nn.init.zeros_(self.offset)
        self.norm.reset_parameters()

    @torch.no_grad()
    def permute_joints_(self, perm: Tensor) -> None:
        """Relabel the learned joint offset :math:`B` in place (new joint ``v`` = old ``perm[v]``)."""
        if self.offset is not None:
            permute_square_(self.offset, perm.to(self.offset.device))

    def balance_weights(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Per-sample, per-channel branch weights ``(B, 2, C)`` (spatial, temporal) for inspection."""
        return self._fuse(x, lengths, self.edge_index if self.execution == "propagate" else None)[1]

    def forward(self, x: Tensor, lengths: Tensor | None = None, edge_index: Tensor | None = None) -> Tensor:
        """Apply the block to ``x`` ``(B, T, V, C)`` with optional valid frame counts ``lengths`` ``(B,)``.

        ``edge_index`` (``(2, E)`` or a sparse ``adj_t``) runs the spatial branch as PyG message passing
        over those joint pairs (class docstring).
        """
        if edge_index is None and self.execution == "propagate":
            edge_index = self.edge_index
        z = self._fuse(x, lengths, edge_index)[0]
        return x + self.norm(z) if self.residual else self.norm(z)  # type: ignore[no-any-return]

    def _fuse(self, x: Tensor, lengths: Tensor | None, edge_index: Tensor | None) -> tuple[Tensor, Tensor]:
        check_btvc(type(self).__name__, x, self.channels, self.num_nodes)
        b, t, v, c = x.shape
        frame_w: Tensor | None = None  # (B, T) weights of a masked mean over valid frames
        valid: Tensor | None = None  # (B, T) bool
        if lengths is not None:
            lengths = check_lengths_tensor(lengths, b, t)
            valid = torch.arange(t, device=x.device) < lengths.unsqueeze(1)
            frame_w = valid.to(x.dtype) / lengths.to(x.dtype).unsqueeze(1)
        ys = self._spatial(x, frame_w, edge_index) if self.spatial else None
        yt = self._temporal(x, valid) if self.temporal else None
        if ys is not None and yt is not None:
            if self.squeeze is not None and self.excite is not None:
                pooled = ys + yt
                desc = (
                    pooled.mean(dim=(1, 2))
                    if frame_w is None
                    else torch.einsum("btvc,bt->bc", pooled, frame_w) / v
                )
                logits = self.excite(F.relu(self.squeeze(desc))).view(b, 2, c)
                w = torch.softmax(logits, dim=1)
            else:
                w = x.new_full((b, 2, c), 0.5)
            z = w[:, 0].view(b, 1, 1, c) * ys + w[:, 1].view(b, 1, 1, c) * yt
            return z, w
        if ys is not None:
            return ys, torch.cat([x.new_ones(b, 1, c), x.new_zeros(b, 1, c)], dim=1)
        assert yt is not None
        return yt, torch.cat([x.new_zeros(b, 1, c), x.new_ones(b, 1, c)], dim=1)

    def _spatial(self, x: Tensor, frame_w: Tensor | None, edge_index: Tensor | None = None) -> Tensor:
        assert self.s_qk is not None and self.s_value is not None and self.offset is not None
        e = self.embed_channels
        m = x.mean(dim=1) if frame_w is None else torch.einsum("btvc,bt->bvc", x, frame_w)  # (B, V, C)
        q, k = self.s_qk(m).split(e, dim=-1)  # (B, V, E) each
        att = torch.softmax(q @ k.transpose(1, 2) / e**0.5, dim=-1)  # (B, V_target, V_source)
        g = (self.A + self.offset) + att
        value: Tensor = self.s_value(x)  # (B, T, V, C)
        if edge_index is None:
            return g.unsqueeze(1) @ value  # (B, 1, V, V) @ (B, T, V, C) -> (B, T, V, C)
        v = self.num_nodes
        if is_sparse(edge_index):
            check_adj_t(edge_index, v, "block")
            out: Tensor = MessagePassing.propagate(self, edge_index, x=value, edge_weight=None, topology=g)
            return out
        if edge_index is not self.edge_index:
            check_edge_index(edge_index, v)
        ei = edge_index.to(device=x.device, dtype=torch.long)
        w = g[:, ei[1], ei[0]].unsqueeze(1).unsqueeze(-1)  # (B, 1, E, 1): G[b, target, source]
        out = MessagePassing.propagate(self, ei, x=value, edge_weight=w, topology=None, size=(v, v))
        return out

    def message(self, x_j: Tensor, edge_weight: Tensor | None) -> Tensor:
        r"""Messages :math:`G^{s}_{b,ij} v_{b,t,j}`: ``(B, T, E, C)`` from the lifted values ``x_j``."""
        assert edge_weight is not None
        return x_j * edge_weight

    def aggregate(self, inputs: Tensor, index: Tensor, dim_size: int | None = None) -> Tensor:
        """Sum the messages at their target joints along ``node_dim``."""
        out: Tensor = scatter(inputs, index, dim=self.node_dim, dim_size=dim_size, reduce="sum")
        return out

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor, topology: Tensor | None) -> Tensor:
        """Fused route for a sparse ``adj_t`` (rows = targets): :math:`G^{s}` on its stored entries, densely."""
        assert topology is not None
        v = x.size(-2)
        (rows, cols), _ = to_edge_index(adj_t)
        mask = torch.zeros(v, v, dtype=x.dtype, device=x.device)
        mask[rows.to(x.device), cols.to(x.device)] = 1.0
        return (topology * mask).unsqueeze(1) @ x

    def _temporal(self, x: Tensor, valid: Tensor | None) -> Tensor:
        assert self.t_qk is not None and self.t_value is not None
        b, t, v, c = x.shape
        e = self.embed_channels
        q, k = self.t_qk(x.mean(dim=2)).split(e, dim=-1)  # (B, T, E) each
        logits = q @ k.transpose(1, 2) / e**0.5  # (B, T_target, T_source)
        if valid is not None:
            logits = logits.masked_fill(~valid.unsqueeze(1), float("-inf"))
        g = torch.softmax(logits, dim=-1)
        if self.temporal_window > 0:
            pos = torch.arange(t, device=x.device)
            band = ((pos.unsqueeze(0) - pos.unsqueeze(1)).abs() <= self.temporal_window).to(x.dtype)
            if valid is not None:
                band = band * valid.unsqueeze(1).to(x.dtype)  # (B, T, T): padded frames are no sources
            g = g + band / band.sum(dim=-1, keepdim=True).clamp_min(1.0)
        value: Tensor = self.t_value(x)
        y = g @ value.reshape(b, t, v * c)  # (B, T, T) @ (B, T, V*C)
        return y.view(b, t, v, c)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.channels}, joints={self.num_nodes}, spatial={self.spatial}, "
            f"temporal={self.temporal}, balance={self.balance!r})"
        )
