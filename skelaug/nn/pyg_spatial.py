"""Any PyTorch Geometric convolution as the spatial operator of a skeleton block.

A PyG convolution works on one graph: node features ``(N, C)`` and an ``edge_index`` ``(2, E)``. A
skeleton sequence ``(B, T, V, C)`` is ``B * T`` copies of one static skeleton graph, and PyG offers two
ways to run a convolution on all of them at once:

* **static** (PyG's *static graph* mode): the features keep their batch axis, ``(B * T, V, C)``, and all
  frames share the skeleton's ``edge_index`` ``(2, E)``. It works for convolutions whose message passing
  runs along ``node_dim = -2`` and that do nothing else per node on axis 0 (GCNConv, GraphConv, ChebConv,
  SAGEConv, GINConv, ...). No batched edge list is built.
* **union**: the frames form one big disjoint-union graph, as a :class:`torch_geometric.data.Batch`
  would: features ``(B * T * V, C)``, the skeleton's edges repeated once per frame with node indices
  offset by ``V`` per frame (``B * T * E`` edges). Every node-level PyG convolution supports it; it is
  the only route for the ones that put nodes first (``node_dim = 0``: GATConv, GATv2Conv,
  TransformerConv, ...).

**The rule** (:func:`spatial_route`): convolutions of :data:`STATIC_CONVS` take the static route and
those of :data:`UNION_CONVS` the union route (both lists are checked by this library's tests: static
equals union to float tolerance for the first, and the static route fails or differs for the second).
Any other module is probed on its first call (:class:`PyGSpatial` with ``route='auto'``): a
:class:`~torch_geometric.nn.MessagePassing` with ``node_dim`` ``-2`` (or ``1``) runs both routes on two
frames in evaluation mode without gradients and keeps the static route only when it works and agrees;
anything else takes the union route, which is always correct for a node-level convolution.

Example:
    >>> import torch
    >>> from torch_geometric.nn import GATConv, GCNConv
    >>> from skelaug import layouts
    >>> from skelaug.nn import PyGSpatial, spatial_route
    >>> spatial_route(GCNConv(3, 8)), spatial_route(GATConv(3, 8))
    ('static', 'union')
    >>> conv = PyGSpatial(3, 8, layouts.get("ntu25"), GATConv(3, 8, heads=2, concat=False))
    >>> conv
    PyGSpatial(3, 8, GATConv(3, 8, heads=2), route='union')
    >>> conv(torch.randn(2, 10, 25, 3)).shape
    torch.Size([2, 10, 25, 8])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from skelaug.nn._utils import ChannelNorm, NormKind, check_btvc, check_choice, check_positive_int, kaiming_fan_out_
from skelaug.nn.graph import GraphLike, resolve_graph

__all__ = [
    "SPATIAL_ROUTES",
    "STATIC_CONVS",
    "UNION_CONVS",
    "PyGSpatial",
    "SpatialRoute",
    "spatial_route",
]

#: How a PyG convolution runs over ``B * T`` frames: decided automatically, shared ``edge_index`` over
#: ``(B * T, V, C)``, or a disjoint-union graph of all frames.
SpatialRoute: TypeAlias = Literal["auto", "static", "union"]
#: All values of :data:`SpatialRoute`.
SPATIAL_ROUTES: tuple[SpatialRoute, ...] = ("auto", "static", "union")

#: PyG convolutions (class names in :mod:`torch_geometric.nn.conv`) verified to support the static route.
STATIC_CONVS: frozenset[str] = frozenset(
    {
        "GCNConv",
        "GraphConv",
        "ChebConv",
        "SAGEConv",
        "GINConv",
        "TAGConv",
        "SGConv",
        "LEConv",
        "ResGatedGraphConv",
        "ClusterGCNConv",
        "SimpleConv",
        "LGConv",
        "MFConv",
        "FiLMConv",
        "ARMAConv",
        "APPNP",
    }
)
#: PyG convolutions that put nodes first (``node_dim = 0``) and therefore take the union route.
UNION_CONVS: frozenset[str] = frozenset(
    {"GATConv", "GATv2Conv", "TransformerConv", "SuperGATConv", "GeneralConv", "PNAConv", "EGConv"}
)


def _pyg_name(conv: nn.Module) -> str | None:
    cls = type(conv)
    return cls.__name__ if cls.__module__.startswith("torch_geometric.nn.conv") else None


def spatial_route(conv: nn.Module) -> Literal["static", "union", "probe"]:
    """The route :class:`PyGSpatial` takes for ``conv`` (see the module docstring for the rule).

    Returns ``'static'`` or ``'union'`` for the convolutions of :data:`STATIC_CONVS` /
    :data:`UNION_CONVS` and for modules that cannot run statically, ``'probe'`` for other
    :class:`~torch_geometric.nn.MessagePassing` modules with ``node_dim`` ``-2`` (decided on first call).
    """
    name = _pyg_name(conv)
    if name in STATIC_CONVS:
        return "static"
    if name in UNION_CONVS:
        return "union"
    if isinstance(conv, MessagePassing) and getattr(conv, "node_dim", 0) in (-2, 1):
        return "probe"
    return "union"


class PyGSpatial(nn.Module):
    r"""A PyTorch Geometric convolution applied to every frame of a skeleton sequence, with the tail of
    :class:`~skelaug.nn.AdaptiveGraphConv`.

    .. math::

        x'_t = \mathrm{ReLU}\big(\mathrm{N}(\mathrm{conv}(x_t, \mathcal E)) + R(x_t)\big)

    with :math:`\mathrm{conv}` any node-level PyG convolution (its own weights, bias, self-loop and
    normalisation conventions), :math:`\mathcal E` the skeleton's ``edge_index`` (both directions, no
    self loops: convolutions such as GCNConv and GATConv add them), :math:`\mathrm N` the
    normalisation and :math:`R` the residual (identity, or a linear map and normalisation when the
    widths differ). All ``B * T`` frames run in one call of the convolution, on the static or the
    union route (module docstring, :func:`spatial_route`). This is what
    :class:`~skelaug.nn.STGCNBlock` builds from ``spatial=``.

    A PyG convolution has no per-joint state, so the module is joint-permutation equivariant whenever
    the convolution is (every message-passing convolution is, up to float rounding of the summation
    order).

    Args:
        in_channels: Input channels :math:`C_{in}`.
        out_channels: Output channels :math:`C_{out}` of the convolution (e.g. ``heads * out`` for a
            concatenating GATConv).
        graph: Skeleton graph (``edge_index``, layout or :class:`~skelaug.nn.graph.SkeletonGraph`).
        conv: The PyG convolution (or any module called as ``conv(x, edge_index)``).
        route: ``'auto'`` (the rule above), ``'static'`` or ``'union'``.
        residual: Add :math:`R(x)`.
        norm: ``'batch'`` (default), ``'layer'`` or ``'none'``.
        activation: Apply the final ReLU.
        num_nodes: Number of joints of a raw ``edge_index``.

    Shapes:
        - **input:** ``(B, T, V, C_in)``
        - **output:** ``(B, T, V, C_out)``

    Example:
        >>> import torch
        >>> from torch_geometric.nn import ChebConv
        >>> from skelaug import layouts
        >>> from skelaug.nn import PyGSpatial
        >>> conv = PyGSpatial(3, 16, layouts.get("coco17"), ChebConv(3, 16, K=2))
        >>> conv
        PyGSpatial(3, 16, ChebConv(3, 16, K=2, normalization=sym), route='static')
        >>> conv(torch.randn(4, 8, 17, 3)).shape
        torch.Size([4, 8, 17, 16])
    """

    edge_index: Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        graph: GraphLike,
        conv: nn.Module,
        *,
        route: SpatialRoute = "auto",
        residual: bool = True,
        norm: NormKind = "batch",
        activation: bool = True,
        centre: int | Sequence[int] | None = None,
        num_nodes: int | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_choice("route", route, SPATIAL_ROUTES)
        if not isinstance(conv, nn.Module):
            raise TypeError(
                f"conv must be a torch.nn.Module called as conv(x, edge_index) (e.g. "
                f"torch_geometric.nn.GCNConv(in, out)), got {type(conv).__name__}"
            )
        g = resolve_graph(graph, centre=centre, num_nodes=num_nodes)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_nodes = g.num_nodes
        self.conv = conv
        self.route = route
        self.residual = residual
        self.activation = activation
        self._route: Literal["static", "union", "probe"] = spatial_route(conv) if route == "auto" else route
        self.register_buffer("edge_index", g.edge_index.clone(), persistent=False)
        self.norm = ChannelNorm(out_channels, norm)
        self.down: nn.Sequential | None = None
        if residual and in_channels != out_channels:
            self.down = nn.Sequential(nn.Linear(in_channels, out_channels), ChannelNorm(out_channels, norm))
        self.reset_parameters()

    @property
    def resolved_route(self) -> Literal["static", "union", "probe"]:
        """The route in use: ``'static'``, ``'union'``, or ``'probe'`` until the first call decides."""
        return self._route

    def reset_parameters(self) -> None:
        """Reset the convolution (its own ``reset_parameters``), the normalisation and the residual."""
        reset = getattr(self.conv, "reset_parameters", None)
        if callable(reset):
            reset()
        self.norm.reset_parameters()
        if self.down is not None:
            proj, dnorm = self.down[0], self.down[1]
            assert isinstance(proj, nn.Linear) and isinstance(dnorm, ChannelNorm)
            kaiming_fan_out_(proj.weight, self.out_channels)
            nn.init.zeros_(proj.bias)
            dnorm.reset_parameters()

    def union_edge_index(self, frames: int) -> Tensor:
        """The skeleton's edges repeated for ``frames`` frames, offset by ``V`` per frame: ``(2, frames * E)``."""
        ei = self.edge_index
        offsets = torch.arange(frames, device=ei.device, dtype=ei.dtype) * self.num_nodes
        return (ei.unsqueeze(1) + offsets.view(1, -1, 1)).reshape(2, -1)

    def _run(self, xf: Tensor, route: Literal["static", "union"]) -> Tensor:
        """The convolution on frames ``(F, V, C_in)`` along ``route``: ``(F, V, C')``."""
        f, v, c = xf.shape
        if route == "static":
            y = self.conv(xf, self.edge_index)
        else:
            y = self.conv(xf.reshape(f * v, c), self.union_edge_index(f)).view(f, v, -1)
        if not isinstance(y, Tensor):
            raise TypeError(
                f"{type(self).__name__}: {type(self.conv).__name__} returned {type(y).__name__}; a node-level "
                f"convolution returning a Tensor is needed (e.g. GATConv without return_attention_weights)"
            )
        return y

    @torch.no_grad()
    def _probe(self, x: Tensor) -> Literal["static", "union"]:
        """Run both routes on (at most) two frames in evaluation mode; static only if it works and agrees."""
        was_training = self.conv.training
        self.conv.eval()
        try:
            xf = x.detach().reshape(-1, *x.shape[2:])[:2]
            union = self._run(xf, "union")
            try:
                static = self._run(xf, "static")
            except Exception:  # any failure of the static route means: not supported
                return "union"
            ok = static.shape == union.shape and torch.allclose(static, union, rtol=1e-4, atol=1e-5)
            return "static" if ok else "union"
        finally:
            self.conv.train(was_training)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the convolution to every frame of ``x`` ``(B, T, V, C_in)``, then the tail."""
        check_btvc(type(self).__name__, x, self.in_channels, self.num_nodes)
        b, t, v, c = x.shape
        if self._route == "probe":
            self._route = self._probe(x)
        y = self._run(x.reshape(b * t, v, c), "static" if self._route == "static" else "union")
        if y.size(-1) != self.out_channels:
            raise ValueError(
                f"{type(self).__name__}: {type(self.conv).__name__} returns {y.size(-1)} channels but "
                f"out_channels={self.out_channels}; build the convolution with that output width (for "
                f"GATConv with heads=h, concat=False or out_channels // h per head)"
            )
        out = self.norm(y.view(b, t, v, self.out_channels))
        if self.residual:
            out = out + (x if self.down is None else self.down(x))
        return F.relu(out) if self.activation else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, {self.conv}, route={self._route!r})"
