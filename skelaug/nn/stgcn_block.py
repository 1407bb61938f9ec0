"""One spatio-temporal graph convolution block: graph conv, temporal conv, residual."""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from skelaug.nn._utils import NormKind, PointwiseResidual, check_btvc, check_positive_int
from skelaug.nn.adaptive_graph_conv import AdaptiveGraphConv, AdaptiveMode
from skelaug.nn.graph import GraphLike, PartitionNorm, PartitionStrategy
from skelaug.nn.pyg_spatial import PyGSpatial, SpatialRoute
from skelaug.nn.temporal_conv import TemporalConv

__all__ = ["STGCNBlock"]


class STGCNBlock(nn.Module):
    r"""Spatio-temporal graph convolution block.

    The unit of ST-GCN (Yan et al., AAAI 2018) in the form 2s-AGCN and CTR-GCN use:

    .. math::

        x' = \mathrm{ReLU}\big(\mathrm{TCN}(\mathrm{GCN}(x)) + R(x)\big)

    with :math:`\mathrm{GCN}` an :class:`AdaptiveGraphConv` (with its own residual, normalisation and
    ReLU) or, with ``spatial=``, any PyTorch Geometric convolution wrapped in :class:`PyGSpatial` (the
    same residual, normalisation and ReLU around it; run on the static or the disjoint-union route, see
    :func:`~skelaug.nn.spatial_route`), :math:`\mathrm{TCN}` a :class:`TemporalConv` (without its
    internal residual; it carries the temporal stride) and :math:`R` the block residual: identity when
    shapes match, a strided 1x1 projection plus normalisation otherwise, or nothing with
    ``residual=False``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        graph: Skeleton graph (``edge_index``, layout or :class:`~skelaug.nn.graph.SkeletonGraph`).
        stride: Temporal stride.
        residual: Add the block residual :math:`R(x)`.
        adaptive: :class:`AdaptiveGraphConv` topology mode.
        partition: Partition strategy of the graph convolution.
        normalization: Partition normalisation.
        centre: Centre joint(s) of a raw ``edge_index``.
        num_nodes: Joint count of a raw ``edge_index``.
        embed_channels: Attention / refinement width of the graph convolution.
        kernel_size: Temporal kernel size.
        dilations: Temporal dilations (one branch each).
        norm: ``'batch'``, ``'layer'`` or ``'none'``.
        dropout: Dropout after the temporal convolution.
        spatial: The spatial operator instead of the default :class:`AdaptiveGraphConv`: a PyG
            convolution ``conv(x, edge_index)`` mapping ``in_channels`` to ``out_channels`` (e.g.
            ``torch_geometric.nn.GCNConv(in, out)``), or a ready :class:`AdaptiveGraphConv` or
            :class:`PyGSpatial`. The options of the adaptive convolution (``adaptive``, ``partition``,
            ...) are then unused.
        spatial_route: Route of a PyG ``spatial`` convolution (:data:`~skelaug.nn.SpatialRoute`).

    Shapes:
        - **input:** ``(B, T, V, C_in)``
        - **output:** ``(B, ceil(T / stride), V, C_out)``

    Example:
        >>> import torch
        >>> from skelaug import layouts
        >>> from skelaug.nn import STGCNBlock
        >>> block = STGCNBlock(3, 16, layouts.get("openpose25"), stride=2)
        >>> block
        STGCNBlock(3, 16, stride=2, adaptive='offset')
        >>> block(torch.randn(2, 12, 25, 3)).shape
        torch.Size([2, 6, 25, 16])
        >>> from torch_geometric.nn import GCNConv
        >>> gcn_block = STGCNBlock(3, 16, layouts.get("openpose25"), spatial=GCNConv(3, 16))
        >>> gcn_block
        STGCNBlock(3, 16, stride=1, spatial=GCNConv(3, 16))
        >>> gcn_block(torch.randn(2, 12, 25, 3)).shape
        torch.Size([2, 12, 25, 16])
    """

    gcn: AdaptiveGraphConv | PyGSpatial

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        graph: GraphLike,
        *,
        stride: int = 1,
        residual: bool = True,
        adaptive: AdaptiveMode = "offset",
        partition: PartitionStrategy = "spatial",
        normalization: PartitionNorm = "stgcn",
        centre: int | Sequence[int] | None = None,
        num_nodes: int | None = None,
        embed_channels: int | None = None,
        kernel_size: int = 5,
        dilations: Sequence[int] = (1, 2),
        norm: NormKind = "batch",
        dropout: float = 0.0,
        spatial: nn.Module | None = None,
        spatial_route: SpatialRoute = "auto",
    ) -> None:
        super().__init__()
        check_positive_int("stride", stride)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        if spatial is None:
            self.gcn = AdaptiveGraphConv(
                in_channels,
                out_channels,
                graph,
                adaptive=adaptive,
                partition=partition,
                normalization=normalization,
                centre=centre,
                num_nodes=num_nodes,
                embed_channels=embed_channels,
                norm=norm,
            )
        elif isinstance(spatial, AdaptiveGraphConv | PyGSpatial):
            if (spatial.in_channels, spatial.out_channels) != (in_channels, out_channels):
                raise ValueError(
                    f"spatial={spatial!r} maps {spatial.in_channels} -> {spatial.out_channels} channels but "
                    f"the block maps {in_channels} -> {out_channels}; build it with the block's widths"
                )
            self.gcn = spatial
        else:
            self.gcn = PyGSpatial(
                in_channels,
                out_channels,
                graph,
                spatial,
                route=spatial_route,
                norm=norm,
                centre=centre,
                num_nodes=num_nodes,
            )
        self.tcn = TemporalConv(
            out_channels,
            out_channels,
            kernel_size,
            stride,
            dilations,
            residual=False,
            norm=norm,
            dropout=dropout,
        )
        self.res: nn.Module | None = None
        if residual:
            self.res = (
                nn.Identity()
                if in_channels == out_channels and stride == 1
                else PointwiseResidual(in_channels, out_channels, stride, norm)
            )
        self.reset_parameters()

    @property
    def num_nodes(self) -> int:
        """Number of joints of the block's graph."""
        return self.gcn.num_nodes

    def reset_parameters(self) -> None:
        """Reset the graph convolution, the temporal convolution and the residual projection."""
        self.gcn.reset_parameters()
        self.tcn.reset_parameters()
        if isinstance(self.res, PointwiseResidual):
            self.res.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block to ``x`` of shape ``(B, T, V, C_in)``."""
        check_btvc(type(self).__name__, x, self.in_channels, self.num_nodes)
        y = self.tcn(self.gcn(x))
        if self.res is not None:
            y = y + self.res(x)
        return F.relu(y)

    def __repr__(self) -> str:
        gcn = self.gcn
        op = f"adaptive={gcn.adaptive!r}" if isinstance(gcn, AdaptiveGraphConv) else f"spatial={gcn.conv}"
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, stride={self.stride}, {op})"
