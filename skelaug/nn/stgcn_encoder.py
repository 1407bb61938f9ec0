"""A configurable ST-GCN encoder that pools a skeleton sequence to one feature vector."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from skelaug.nn._utils import NormKind, check_btvc, check_lengths_tensor, check_positive_int
from skelaug.nn.adaptive_graph_conv import AdaptiveMode
from skelaug.nn.graph import GraphLike, PartitionNorm, PartitionStrategy, resolve_graph
from skelaug.nn.joint_batch_norm import JointBatchNorm
from skelaug.nn.pyg_spatial import SpatialRoute
from skelaug.nn.stgcn_block import STGCNBlock

__all__ = ["QUARTER_WIDTHS", "STGCN_WIDTHS", "STGCNEncoder"]

STGCN_WIDTHS: tuple[int, ...] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
"""Block widths of the original ST-GCN."""
QUARTER_WIDTHS: tuple[int, ...] = (16, 16, 16, 16, 32, 32, 32, 64, 64, 64)
"""Quarter-width ST-GCN, the graph encoder of contrastive skeleton methods (CrosSCLR, AimCLR, ...)."""


class STGCNEncoder(nn.Module):
    r"""ST-GCN encoder: per-joint input normalisation, a stack of :class:`STGCNBlock` and global pooling.

    .. math::

        f = W_{\mathrm{fc}}\,\frac{1}{M\,T'_{\mathrm{valid}}\,V}\sum_{m, t < T'_{\mathrm{valid}}, v}
        \big(\mathrm{Block}_L \circ \dots \circ \mathrm{Block}_1 \circ
        \mathrm{BN}_{\mathrm{joint}}\big)(x)_{m,t,v}
        + b_{\mathrm{fc}}

    As ST-GCN (Yan et al., AAAI 2018): ``widths`` gives one block each (:data:`STGCN_WIDTHS` by default,
    :data:`QUARTER_WIDTHS` for the quarter-width encoder of contrastive methods), the first block
    without residual, temporal stride 2 wherever the width grows (override with ``strides``). Pooling
    averages over joints, over the valid frames (``lengths``, scaled through the strides as
    :math:`\lceil \ell / s \rceil`; all frames when omitted) and over persons. ``out_channels`` adds the
    final linear map; without it the feature is the last block's width.

    Args:
        in_channels: Input channels ``C`` (e.g. 3 for x, y, score).
        graph: Skeleton graph (``edge_index``, layout or :class:`~skelaug.nn.graph.SkeletonGraph`).
        widths: Output width of each block.
        strides: Temporal stride of each block (default: 2 where the width grows, else 1).
        out_channels: Feature size after the final linear map (``None``: no map).
        data_norm: Start with :class:`JointBatchNorm` over (joint, channel).
        adaptive: Topology mode of every graph convolution.
        partition: Partition strategy.
        normalization: Partition normalisation.
        centre: Centre joint(s) of a raw ``edge_index``.
        num_nodes: Joint count of a raw ``edge_index``.
        kernel_size: Temporal kernel size.
        dilations: Temporal dilations.
        norm: ``'batch'``, ``'layer'`` or ``'none'``.
        dropout: Dropout inside every block.
        spatial: Factory ``spatial(in_channels, out_channels) -> module`` called once per block for its
            spatial operator, e.g. ``lambda i, o: torch_geometric.nn.GATConv(i, o)`` (see
            :class:`STGCNBlock`); ``None`` keeps :class:`AdaptiveGraphConv`.
        spatial_route: Route of the PyG spatial convolutions (:data:`~skelaug.nn.SpatialRoute`).

    Shapes:
        - **input:** ``(B, T, V, C)`` or ``(N, M, T, V, C)``; ``lengths`` ``(B,)`` or ``(N,)``
        - **output:** ``(B, F)`` or ``(N, F)``, ``F = out_channels or widths[-1]``

    Example:
        >>> import torch
        >>> from skelaug import layouts
        >>> from skelaug.nn import QUARTER_WIDTHS, STGCNEncoder
        >>> enc = STGCNEncoder(3, layouts.get("imigue22"), widths=QUARTER_WIDTHS, out_channels=128)
        >>> enc
        STGCNEncoder(3, 128, blocks=10, joints=22)
        >>> x = torch.randn(4, 2, 40, 22, 3)                     # (N, M, T, V, C)
        >>> enc(x, lengths=torch.tensor([40, 31, 12, 40])).shape
        torch.Size([4, 128])
        >>> from torch_geometric.nn import GATConv
        >>> gat = STGCNEncoder(3, layouts.get("imigue22"), widths=(16, 32), spatial=lambda i, o: GATConv(i, o))
        >>> gat(x).shape
        torch.Size([4, 32])
    """

    def __init__(
        self,
        in_channels: int,
        graph: GraphLike,
        *,
        widths: Sequence[int] = STGCN_WIDTHS,
        strides: Sequence[int] | None = None,
        out_channels: int | None = None,
        data_norm: bool = True,
        adaptive: AdaptiveMode = "offset",
        partition: PartitionStrategy = "spatial",
        normalization: PartitionNorm = "stgcn",
        centre: int | Sequence[int] | None = None,
        num_nodes: int | None = None,
        kernel_size: int = 5,
        dilations: Sequence[int] = (1, 2),
        norm: NormKind = "batch",
        dropout: float = 0.0,
        spatial: Callable[[int, int], nn.Module] | None = None,
        spatial_route: SpatialRoute = "auto",
    ) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        ws = tuple(widths)
        if not ws:
            raise ValueError("widths is empty; give at least one block width")
        for w in ws:
            check_positive_int("widths entries", w)
        if strides is None:
            ss = tuple(2 if i > 0 and w > ws[i - 1] else 1 for i, w in enumerate(ws))
        else:
            ss = tuple(strides)
            if len(ss) != len(ws):
                raise ValueError(
                    f"strides has {len(ss)} entries but widths has {len(ws)}; give one per block"
                )
            for s in ss:
                check_positive_int("strides entries", s)
        if out_channels is not None:
            check_positive_int("out_channels", out_channels)
        g = resolve_graph(graph, centre=centre, num_nodes=num_nodes)
        self.in_channels = in_channels
        self.widths = ws
        self.strides = ss
        self.num_nodes = g.num_nodes
        self.out_channels = out_channels if out_channels is not None else ws[-1]
        self.data_norm = JointBatchNorm(g.num_nodes, in_channels) if data_norm else None
        chans = (in_channels, *ws)
        self.blocks = nn.ModuleList(
            STGCNBlock(
                chans[i],
                chans[i + 1],
                g,
                stride=ss[i],
                residual=i > 0,
                adaptive=adaptive,
                partition=partition,
                normalization=normalization,
                kernel_size=kernel_size,
                dilations=dilations,
                norm=norm,
                dropout=dropout,
                spatial=None if spatial is None else spatial(chans[i], chans[i + 1]),
                spatial_route=spatial_route,
            )
            for i in range(len(ws))
        )
        self.fc = nn.Linear(ws[-1], out_channels) if out_channels is not None else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Reset every block, the input normalisation and the final linear map."""
        if self.data_norm is not None:
            self.data_norm.reset_parameters()
        for block in self.blocks:
            assert isinstance(block, STGCNBlock)
            block.reset_parameters()
        if self.fc is not None:
            self.fc.reset_parameters()

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Encode ``x`` (``(B, T, V, C)`` or ``(N, M, T, V, C)``) with optional valid ``lengths``."""
        persons = int(x.size(1)) if isinstance(x, Tensor) and x.dim() == 5 else 1
        h, valid = self.forward_features(x, lengths)
        return self.pool(h, valid, persons)

    def forward_features(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        *,
        after_block: Mapping[int, Callable[[Tensor, Tensor], Tensor]] | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """The last block's features before pooling, with their valid lengths.

        ``after_block`` maps a block index ``i`` (negative counts from the end) to a callable
        ``f(h, valid) -> h`` run on block ``i``'s output ``(B', T_i, V, C_i)`` with the valid frame
        counts ``valid`` ``(B',)`` at that depth (all frames when ``lengths`` is omitted), e.g. a
        :class:`~skelaug.nn.STBalancedFusion` inserted into the stack (register it on the enclosing
        module so that its parameters train).

        Returns:
            ``h`` ``(B', T', V, C')`` with ``B' = N M`` for 5-D input, and the valid lengths ``(B',)``
            after the strides (``None`` when ``lengths`` is omitted).

        Example:
            >>> import torch
            >>> from skelaug import layouts
            >>> from skelaug.nn import STBalancedFusion, STGCNEncoder
            >>> lay = layouts.get("imigue22")
            >>> enc = STGCNEncoder(3, lay, widths=(16, 32), strides=(1, 2))
            >>> fusion = STBalancedFusion(16, lay)
            >>> h, valid = enc.forward_features(torch.randn(2, 1, 20, 22, 3), torch.tensor([20, 9]),
            ...                                 after_block={0: fusion})
            >>> h.shape, valid.tolist()
            (torch.Size([2, 10, 22, 32]), [10, 5])
            >>> enc.pool(h, valid).shape
            torch.Size([2, 32])
        """
        name = type(self).__name__
        persons = 1
        if isinstance(x, Tensor) and x.dim() == 5:
            n, persons = int(x.size(0)), int(x.size(1))
            x = x.reshape(n * persons, *x.shape[2:])
        else:
            n = int(x.size(0)) if isinstance(x, Tensor) and x.dim() == 4 else 0
        check_btvc(name, x, self.in_channels, self.num_nodes)
        if lengths is not None:
            lengths = check_lengths_tensor(lengths, n, int(x.size(1)))
            if persons > 1:
                lengths = lengths.repeat_interleave(persons)
        hooks: dict[int, Callable[[Tensor, Tensor], Tensor]] = {}
        for i, fn in (after_block or {}).items():
            if not -len(self.blocks) <= i < len(self.blocks):
                raise ValueError(
                    f"after_block has block index {i} but the encoder has {len(self.blocks)} blocks; "
                    f"use 0..{len(self.blocks) - 1} (or negative from the end)"
                )
            hooks[i % len(self.blocks)] = fn
        if self.data_norm is not None:
            x = self.data_norm(x)
        valid = lengths
        for i, (block, s) in enumerate(zip(self.blocks, self.strides, strict=True)):
            x = block(x)
            if valid is not None:
                valid = torch.div(valid + (s - 1), s, rounding_mode="floor")
            if i in hooks:
                full = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
                x = hooks[i](x, valid if valid is not None else full)
        return x, valid

    def pool(self, h: Tensor, valid: Tensor | None = None, persons: int = 1) -> Tensor:
        """Average block features ``(B', T', V, C')`` over valid frames, joints and the ``persons`` of each
        sample (``B' = N persons``), then the final linear map: ``(N, F)``."""
        b, t, v, c = h.shape
        if valid is None:
            feat = h.mean(dim=(1, 2))
        else:
            mask = (torch.arange(t, device=h.device) < valid.unsqueeze(1)).to(h.dtype)  # (B, T')
            feat = torch.einsum("btvc,bt->bc", h, mask) / (valid.to(h.dtype) * v).unsqueeze(1)
        feat = feat.view(b // persons, persons, c).mean(dim=1)
        return self.fc(feat) if self.fc is not None else feat

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, blocks={len(self.blocks)}, "
            f"joints={self.num_nodes})"
        )
