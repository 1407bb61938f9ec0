"""Spatio-temporal graph layers for skeleton sequences, in PyTorch Geometric's conventions.

Inputs are channels-last ``x`` of shape ``(B, T, V, C)`` (``B`` may be samples times persons) with one
static skeleton graph given as a PyG ``edge_index``, a :class:`~skelaug.layouts.SkeletonLayout` or a
:class:`~skelaug.nn.graph.SkeletonGraph`. Every layer processes all samples and frames in a few tensor
operations (no Python loop over batch or time), has ``reset_parameters()``, an informative
``repr`` and compiles with ``torch.compile(fullgraph=True)``.

=============================  =====================================================================
:class:`AdaptiveGraphConv`     ST-GCN / 2s-AGCN / CTR-GCN graph convolution over joints
:class:`TemporalConv`          multi-scale dilated temporal convolution
:class:`STGCNBlock`            graph conv (built-in or any PyG convolution) + temporal conv + residual
:class:`PyGSpatial`            a PyG convolution (GCNConv, GATConv, ...) over every frame, with norm + residual
:class:`STGCNEncoder`          stack of blocks pooled to a feature vector (full or quarter width)
:class:`STBalancedFusion`      spatial + temporal adaptive graphs, balanced per channel
:class:`BalancedLateFusion`    balanced late fusion of several streams' features
:class:`SequenceEncoder`       (bi)GRU over flattened joints: the recurrent stream
:class:`JointBatchNorm`        batch norm per (joint, channel), ST-GCN's ``data_bn``
=============================  =====================================================================

Graph utilities live in :mod:`skelaug.nn.graph`, property checks in :mod:`skelaug.nn.testing`, the
conversion of skeleton batches to PyG spatio-temporal graphs and back in :mod:`skelaug.nn.pyg_data`.

Example (a two-stream micro-gesture encoder: graph stream and recurrent stream, fused late):
    >>> import torch
    >>> from skelaug import layouts
    >>> from skelaug.nn import QUARTER_WIDTHS, BalancedLateFusion, SequenceEncoder, STGCNEncoder
    >>> lay = layouts.get("imigue22")
    >>> graph = STGCNEncoder(3, lay, widths=QUARTER_WIDTHS, adaptive="attention")
    >>> recurrent = SequenceEncoder(3, lay.num_joints, hidden_channels=64)
    >>> fuse = BalancedLateFusion((graph.out_channels, recurrent.out_channels), 128)
    >>> x = torch.randn(8, 40, 22, 3)                      # (N, T, V, C): x, y, score
    >>> lengths = torch.full((8,), 40)
    >>> fuse(graph(x, lengths), recurrent(x, lengths)).shape
    torch.Size([8, 128])
"""

from skelaug.nn.adaptive_graph_conv import ADAPTIVE_MODES, EXECUTIONS, AdaptiveGraphConv, AdaptiveMode, Execution
from skelaug.nn.balanced_late_fusion import BalancedLateFusion
from skelaug.nn.graph import (
    GraphLike,
    SkeletonGraph,
    hop_distance,
    k_hop_adjacency,
    normalize_adjacency,
    partition,
    resolve_graph,
    spatial_partition,
)
from skelaug.nn.joint_batch_norm import JointBatchNorm
from skelaug.nn.pyg_data import from_pyg_batch, spatio_temporal_edge_index, to_pyg_batch
from skelaug.nn.pyg_spatial import (
    SPATIAL_ROUTES,
    STATIC_CONVS,
    UNION_CONVS,
    PyGSpatial,
    SpatialRoute,
    spatial_route,
)
from skelaug.nn.sequence_encoder import SequenceEncoder
from skelaug.nn.st_balanced_fusion import BALANCE_MODES, BalanceMode, STBalancedFusion
from skelaug.nn.stgcn_block import STGCNBlock
from skelaug.nn.stgcn_encoder import QUARTER_WIDTHS, STGCN_WIDTHS, STGCNEncoder
from skelaug.nn.temporal_conv import TemporalConv

__all__ = [
    "ADAPTIVE_MODES",
    "BALANCE_MODES",
    "EXECUTIONS",
    "QUARTER_WIDTHS",
    "SPATIAL_ROUTES",
    "STATIC_CONVS",
    "STGCN_WIDTHS",
    "UNION_CONVS",
    "AdaptiveGraphConv",
    "AdaptiveMode",
    "BalanceMode",
    "BalancedLateFusion",
    "Execution",
    "GraphLike",
    "JointBatchNorm",
    "PyGSpatial",
    "STBalancedFusion",
    "STGCNBlock",
    "STGCNEncoder",
    "SequenceEncoder",
    "SkeletonGraph",
    "SpatialRoute",
    "TemporalConv",
    "from_pyg_batch",
    "hop_distance",
    "k_hop_adjacency",
    "normalize_adjacency",
    "partition",
    "resolve_graph",
    "spatial_partition",
    "spatial_route",
    "spatio_temporal_edge_index",
    "to_pyg_batch",
]
