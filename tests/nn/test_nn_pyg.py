"""skelaug.nn as PyTorch Geometric citizens: AdaptiveGraphConv's message passing, PyG convolutions in blocks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch_geometric.nn as pyg
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import to_torch_csr_tensor

from skelaug import layouts
from skelaug.nn import (
    ADAPTIVE_MODES,
    STATIC_CONVS,
    UNION_CONVS,
    AdaptiveGraphConv,
    PyGSpatial,
    SkeletonGraph,
    STBalancedFusion,
    STGCNBlock,
    STGCNEncoder,
    spatial_route,
)
from skelaug.nn.testing import randomize_parameters_

TOY = SkeletonGraph.from_edge_index(torch.tensor([[0, 1, 1, 3, 3], [1, 2, 3, 4, 5]]), centre=1)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def agc(mode: str, cin: int, cout: int, graph: object = TOY, seed: int = 0) -> AdaptiveGraphConv:
    conv = AdaptiveGraphConv(cin, cout, graph, adaptive=mode, embed_channels=2).double()  # type: ignore[arg-type]
    return randomize_parameters_(conv, gen(seed)).eval()  # type: ignore[return-value]


def loop_oracle(conv: AdaptiveGraphConv, x: Tensor, edges: np.ndarray) -> np.ndarray:
    """Plain NumPy loops: out[b, t, i] = sum over listed edges (j -> i) and subsets k of G_k[i, j] * (x_j W_k),
    then bias, evaluation-mode batch norm, residual and ReLU (the documented formula)."""
    xs = x.detach().numpy()
    b, t, v, _ = xs.shape
    w = conv.weight.detach().numpy()  # (K, C_in, C_out)
    k, _, cout = w.shape
    g = conv.topology(x).detach().numpy()
    agg = np.zeros((b, t, v, cout))
    for bi in range(b):
        for ti in range(t):
            for j, i in edges.T:
                for ki in range(k):
                    h = xs[bi, ti, j] @ w[ki]
                    if g.ndim == 3:
                        coef = g[ki, i, j]
                    elif g.ndim == 4:
                        coef = g[bi, ki, i, j]
                    else:
                        coef = g[bi, ki, i, j]  # (C_out,) channel-wise
                    agg[bi, ti, i] += coef * h
    assert conv.bias is not None
    out = agg + conv.bias.detach().numpy()
    bn = conv.norm.norm
    assert isinstance(bn, nn.BatchNorm1d) and bn.running_mean is not None and bn.running_var is not None
    out = (out - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + bn.eps)
    out = out * bn.weight.detach().numpy() + bn.bias.detach().numpy()
    if conv.down is None:
        out = out + xs
    else:
        lin, dn = conv.down[0], conv.down[1].norm
        assert isinstance(lin, nn.Linear) and isinstance(dn, nn.BatchNorm1d)
        assert dn.running_mean is not None and dn.running_var is not None
        r = xs @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
        r = (r - dn.running_mean.numpy()) / np.sqrt(dn.running_var.numpy() + dn.eps)
        out = out + r * dn.weight.detach().numpy() + dn.bias.detach().numpy()
    return np.maximum(out, 0.0)


# ------------------------------------------------------------------------- AdaptiveGraphConv as MP


def test_adaptive_graph_conv_is_a_static_graph_message_passing_layer() -> None:
    conv = AdaptiveGraphConv(3, 4, TOY)
    assert isinstance(conv, MessagePassing)
    assert conv.node_dim == -2 and conv.aggr == "sum" and conv.fuse  # message_and_aggregate is implemented
    # support: skeleton edges both ways + self loops for 'none'; every ordered pair for a dense offset
    none = AdaptiveGraphConv(3, 4, TOY, adaptive="none")
    pairs = {tuple(e) for e in none.edge_index.t().tolist()}
    want = {tuple(e) for e in TOY.edge_index.t().tolist()} | {(v, v) for v in range(6)}
    assert pairs == want and none.edge_index.dtype == torch.long
    assert conv.edge_index.size(1) == 36
    assert "edge_index" not in conv.state_dict()


@pytest.mark.parametrize(("cin", "cout"), [(4, 3), (3, 5)])
@pytest.mark.parametrize("mode", ADAPTIVE_MODES)
def test_propagate_equals_dense_and_the_loop_oracle(mode: str, cin: int, cout: int) -> None:
    conv = agc(mode, cin, cout)
    x = torch.randn(2, 3, TOY.num_nodes, cin, generator=gen(1), dtype=torch.float64)
    dense = conv(x)
    mp = conv(x, conv.edge_index)
    torch.testing.assert_close(mp, dense, rtol=1e-10, atol=1e-12)
    oracle = loop_oracle(conv, x, conv.edge_index.numpy())
    np.testing.assert_allclose(mp.detach().numpy(), oracle, rtol=1e-10, atol=1e-12)
    # execution='propagate' makes message passing the default route
    conv_mp = AdaptiveGraphConv(cin, cout, TOY, adaptive=mode, embed_channels=2, execution="propagate").double()
    conv_mp.load_state_dict(conv.state_dict())
    torch.testing.assert_close(conv_mp.eval()(x), dense, rtol=1e-10, atol=1e-12)
    assert "execution='propagate'" in repr(conv_mp)


@pytest.mark.parametrize("mode", ["importance", "attention", "channelwise"])
def test_sparse_adjacency_runs_message_and_aggregate(mode: str) -> None:
    conv = agc(mode, 3, 4)
    x = torch.randn(2, 3, TOY.num_nodes, 3, generator=gen(2), dtype=torch.float64)
    calls: list[str] = []
    conv.register_message_and_aggregate_forward_hook(lambda *a: calls.append("fused"))
    conv.register_message_forward_hook(lambda *a: calls.append("message"))
    ei = conv.edge_index
    adj_t = to_torch_csr_tensor(ei.flip(0), size=(TOY.num_nodes, TOY.num_nodes))  # rows = targets
    fused = conv(x, adj_t)
    assert calls == ["fused"]
    torch.testing.assert_close(fused, conv(x), rtol=1e-10, atol=1e-12)
    conv(x, ei)
    assert calls == ["fused", "message"]
    with pytest.raises(ValueError, match=r"sparse adjacency of shape \(5, 5\)"):
        conv(x, to_torch_csr_tensor(torch.tensor([[0], [1]]), size=(5, 5)))


@settings(max_examples=15, deadline=None)
@given(data=st.data(), mode=st.sampled_from(ADAPTIVE_MODES))
def test_propagate_over_any_edge_subset_matches_the_oracle(data: st.DataObject, mode: str) -> None:
    """Edges left out contribute nothing; the sparse (fused) route over the same subset agrees."""
    conv = agc(mode, 3, 2, seed=3)
    ei = conv.edge_index
    keep = data.draw(st.lists(st.booleans(), min_size=ei.size(1), max_size=ei.size(1)))
    sub = ei[:, torch.tensor(keep, dtype=torch.bool)]
    x = torch.randn(1, 2, TOY.num_nodes, 3, generator=gen(4), dtype=torch.float64)
    got = conv(x, sub)
    np.testing.assert_allclose(got.detach().numpy(), loop_oracle(conv, x, sub.numpy()), rtol=1e-10, atol=1e-12)
    if sub.size(1):
        adj_t = to_torch_csr_tensor(sub.flip(0), size=(TOY.num_nodes, TOY.num_nodes))
        torch.testing.assert_close(conv(x, adj_t), got, rtol=1e-10, atol=1e-12)


def test_propagate_on_a_real_layout_float32() -> None:
    lay = layouts.get("ntu25")
    conv = randomize_parameters_(AdaptiveGraphConv(16, 32, lay, adaptive="offset"), gen(5)).train()
    x = torch.randn(4, 8, 25, 16, generator=gen(6))
    torch.testing.assert_close(conv(x, conv.edge_index), conv(x), rtol=1e-4, atol=1e-5)


def test_propagate_path_has_correct_gradients() -> None:
    conv = agc("channelwise", 3, 4).train()
    names = [n for n, _ in conv.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in conv.parameters())
    x = torch.randn(2, 3, TOY.num_nodes, 3, generator=gen(7), dtype=torch.float64, requires_grad=True)

    def f(x: Tensor, *ps: Tensor) -> Tensor:
        out = torch.func.functional_call(conv, dict(zip(names, ps, strict=True)), (x, conv.edge_index))
        assert isinstance(out, Tensor)
        return out

    assert torch.autograd.gradcheck(f, (x, *params), fast_mode=True)


def test_propagate_errors_name_the_problem() -> None:
    conv = AdaptiveGraphConv(3, 4, TOY)
    x = torch.randn(1, 2, 6, 3)
    with pytest.raises(ValueError, match=r"refers to node 6 .* num_nodes=6"):
        conv(x, torch.tensor([[0, 6], [1, 2]]))
    with pytest.raises(TypeError, match=r"dtype torch\.float32"):
        conv(x, torch.tensor([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="execution='sparse' is not supported"):
        AdaptiveGraphConv(3, 4, TOY, execution="sparse")  # type: ignore[arg-type]


# --------------------------------------------------------------------- PyG convolutions in blocks

C_IN, C_OUT = 6, 8
SAME = {"SimpleConv", "LGConv", "APPNP", "EGConv"}  # convolutions whose output width is the input width
FACTORIES: dict[str, Callable[[int, int], nn.Module]] = {
    "GCNConv": lambda c, o: pyg.GCNConv(c, o),
    "GraphConv": lambda c, o: pyg.GraphConv(c, o),
    "ChebConv": lambda c, o: pyg.ChebConv(c, o, K=3),
    "SAGEConv": lambda c, o: pyg.SAGEConv(c, o),
    "GINConv": lambda c, o: pyg.GINConv(nn.Sequential(nn.Linear(c, o), nn.ReLU(), nn.Linear(o, o))),
    "TAGConv": lambda c, o: pyg.TAGConv(c, o, K=2),
    "SGConv": lambda c, o: pyg.SGConv(c, o, K=2),
    "LEConv": lambda c, o: pyg.LEConv(c, o),
    "ResGatedGraphConv": lambda c, o: pyg.ResGatedGraphConv(c, o),
    "ClusterGCNConv": lambda c, o: pyg.ClusterGCNConv(c, o),
    "SimpleConv": lambda c, o: pyg.SimpleConv(aggr="mean"),
    "LGConv": lambda c, o: pyg.LGConv(),
    "MFConv": lambda c, o: pyg.MFConv(c, o),
    "FiLMConv": lambda c, o: pyg.FiLMConv(c, o),
    "ARMAConv": lambda c, o: pyg.ARMAConv(c, o),
    "APPNP": lambda c, o: pyg.APPNP(K=2, alpha=0.1),
    "GATConv": lambda c, o: pyg.GATConv(c, o // 2, heads=2),
    "GATv2Conv": lambda c, o: pyg.GATv2Conv(c, o),
    "TransformerConv": lambda c, o: pyg.TransformerConv(c, o),
    "SuperGATConv": lambda c, o: pyg.SuperGATConv(c, o),
    "GeneralConv": lambda c, o: pyg.GeneralConv(c, o),
    "PNAConv": lambda c, o: pyg.PNAConv(c, o, ["mean", "max"], ["identity"], deg=torch.tensor([0, 4, 9, 3])),
    "EGConv": lambda c, o: pyg.EGConv(c, c, num_heads=2),
}


def widths(name: str) -> tuple[int, int]:
    return (C_OUT, C_OUT) if name in SAME else (C_IN, C_OUT)


def test_route_lists_are_all_verified_here() -> None:
    assert set(FACTORIES) == STATIC_CONVS | UNION_CONVS and not STATIC_CONVS & UNION_CONVS


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_route_rule_static_equals_union_where_chosen(name: str) -> None:
    """Static convolutions give the union (PyG batch) result; union ones fail or differ on the static route."""
    cin, cout = widths(name)
    conv = randomize_parameters_(FACTORIES[name](cin, cout), gen(8)).eval()
    expected = "static" if name in STATIC_CONVS else "union"
    assert spatial_route(conv) == expected
    m = PyGSpatial(cin, cout, layouts.get("ntu25"), conv, route="union").eval()
    x = torch.randn(3, 25, cin, generator=gen(9))
    with torch.no_grad():
        union = m._run(x, "union")
        # the union route is PyG's per-graph semantics: frame by frame on its own edge_index
        per_frame = torch.stack([conv(x[f], m.edge_index) for f in range(3)])
        torch.testing.assert_close(union, per_frame, rtol=1e-5, atol=1e-6)
        try:
            static: Tensor | None = m._run(x, "static")
        except Exception:
            static = None
    if expected == "static":
        assert static is not None
        torch.testing.assert_close(static, union, rtol=1e-5, atol=1e-6)
    else:
        assert static is None or static.shape != union.shape or not torch.allclose(static, union, atol=1e-4)


class _StaticOK(MessagePassing):
    """Unknown to the lists, node_dim=-2, correct in static mode: mean of neighbours times a weight."""

    def __init__(self, c: int) -> None:
        super().__init__(aggr="mean", node_dim=-2)
        self.lin = nn.Linear(c, c)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.lin(self.propagate(edge_index, x=x))  # type: ignore[no-any-return]


class _StaticWrong(_StaticOK):
    """Claims node_dim=-2 but normalises by the size of axis 0 (frames in static mode, nodes in union)."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return super().forward(x, edge_index) / x.size(0)


class _NodesFirst(_StaticOK):
    def __init__(self, c: int) -> None:
        super().__init__(c)
        self.node_dim = 0


@pytest.mark.parametrize(
    ("cls", "first", "decided"),
    [(_StaticOK, "probe", "static"), (_StaticWrong, "probe", "union"), (_NodesFirst, "union", "union")],
)
def test_unknown_convolutions_are_probed_once(cls: type[MessagePassing], first: str, decided: str) -> None:
    conv = cls(4)
    m = PyGSpatial(4, 4, TOY, conv).train()
    assert m.resolved_route == first
    x = torch.randn(2, 3, 6, 4, generator=gen(10))
    y = m(x)
    assert m.resolved_route == decided and conv.training  # the probe restores the training mode
    ref = PyGSpatial(4, 4, TOY, conv, route="union").train()
    ref.load_state_dict(m.state_dict())
    torch.testing.assert_close(y, ref(x))


def test_block_with_pyg_conv_matches_a_per_frame_oracle() -> None:
    """STGCNBlock(spatial=GCNConv) = ReLU(TCN(ReLU(BN(per-frame GCNConv) + R(x))) + R_block(x))."""
    lay = layouts.get("mpi15")
    block = STGCNBlock(4, 8, lay, stride=2, spatial=pyg.GCNConv(4, 8)).double()
    randomize_parameters_(block, gen(11)).eval()
    assert repr(block) == "STGCNBlock(4, 8, stride=2, spatial=GCNConv(4, 8))"
    x = torch.randn(2, 5, 15, 4, generator=gen(12), dtype=torch.float64)
    gcn = block.gcn
    assert isinstance(gcn, PyGSpatial) and gcn.resolved_route == "static"
    ei = SkeletonGraph.from_layout(lay).edge_index
    y = torch.stack([torch.stack([gcn.conv(x[b, t], ei) for t in range(5)]) for b in range(2)])
    bn = gcn.norm.norm
    assert isinstance(bn, nn.BatchNorm1d)
    y = F_bn(y, bn)
    assert gcn.down is not None
    lin, dn = gcn.down[0], gcn.down[1].norm
    assert isinstance(lin, nn.Linear) and isinstance(dn, nn.BatchNorm1d)
    y = torch.relu(y + F_bn(x @ lin.weight.t() + lin.bias, dn))
    assert block.res is not None
    want = torch.relu(block.tcn(y) + block.res(x))
    torch.testing.assert_close(block(x), want, rtol=1e-10, atol=1e-12)


def F_bn(h: Tensor, bn: nn.BatchNorm1d) -> Tensor:
    assert bn.running_mean is not None and bn.running_var is not None
    return (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def test_block_and_encoder_accept_ready_spatial_modules_and_check_widths() -> None:
    agc_ = AdaptiveGraphConv(3, 8, TOY, adaptive="attention", execution="propagate")
    block = STGCNBlock(3, 8, TOY, spatial=agc_)
    assert block.gcn is agc_ and repr(block) == "STGCNBlock(3, 8, stride=1, adaptive='attention')"
    with pytest.raises(ValueError, match="maps 3 -> 8 channels but the block maps 3 -> 4"):
        STGCNBlock(3, 4, TOY, spatial=agc_)
    with pytest.raises(ValueError, match="returns 4 channels but out_channels=8"):
        STGCNBlock(3, 8, TOY, spatial=pyg.GATConv(3, 2, heads=2))(torch.randn(1, 2, 6, 3))
    with pytest.raises(TypeError, match=r"conv must be a torch\.nn\.Module"):
        PyGSpatial(3, 8, TOY, "GCNConv")  # type: ignore[arg-type]
    enc = STGCNEncoder(3, layouts.get("coco17"), widths=(8, 16), spatial=lambda i, o: pyg.GATConv(i, o))
    routes = [b.gcn.resolved_route for b in enc.blocks]  # type: ignore[union-attr]
    assert routes == ["union", "union"]
    assert enc(torch.randn(2, 1, 6, 17, 3), torch.tensor([6, 3])).shape == (2, 16)


@pytest.mark.parametrize("layout", ["ntu25", "coco17", "mpi15"])
def test_sym_normalisation_equals_pyg_gcn_norm(layout: str) -> None:
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_dense_adj

    from skelaug.nn import normalize_adjacency

    g = SkeletonGraph.from_layout(layouts.get(layout))
    ei, w = gcn_norm(g.edge_index, torch.ones(g.num_edges, dtype=torch.float64), g.num_nodes, add_self_loops=True)
    pyg_dense = to_dense_adj(ei, edge_attr=w, max_num_nodes=g.num_nodes)[0].t()  # [target, source]
    ours = normalize_adjacency(g.adjacency(self_loops=True), "sym")
    torch.testing.assert_close(ours, pyg_dense, rtol=1e-15, atol=0)


def test_docs_route_table_matches_the_rule() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "graph_layers.rst"
    if not doc.exists():
        pytest.skip(f"{doc} is not in this checkout")
    rows = [line.split() for line in doc.read_text().splitlines() if line.split()[:1] and line.split()[0] in FACTORIES]
    assert len(rows) >= 15
    for name, route, *_ in rows:
        cin, cout = widths(name)
        assert spatial_route(FACTORIES[name](cin, cout)) == route, name


def fusion_spatial_oracle(m: STBalancedFusion, x: Tensor, edges: np.ndarray) -> np.ndarray:
    """NumPy loops: G = A + B + softmax(q k^T / sqrt(E)) from the clip mean; Y_i = sum_{(j->i)} G_ij v_j."""
    assert m.s_qk is not None and m.s_value is not None and m.offset is not None
    xs = x.detach().numpy()
    e = m.embed_channels
    wqk, bqk = m.s_qk.weight.detach().numpy(), m.s_qk.bias.detach().numpy()
    wv, bv = m.s_value.weight.detach().numpy(), m.s_value.bias.detach().numpy()
    a, off = m.A.numpy(), m.offset.detach().numpy()
    b, t, v, _ = xs.shape
    out = np.zeros((b, t, v, wv.shape[0]))
    for bi in range(b):
        qk = xs[bi].mean(0) @ wqk.T + bqk
        logits = qk[:, :e] @ qk[:, e:].T / np.sqrt(e)
        att = np.exp(logits - logits.max(1, keepdims=True))
        att /= att.sum(1, keepdims=True)
        g = a + off + att
        value = xs[bi] @ wv.T + bv
        for j, i in edges.T:
            out[bi, :, i] += g[i, j] * value[:, j]
    return out


def test_fusion_spatial_branch_is_message_passing() -> None:
    m = STBalancedFusion(4, TOY, embed_channels=2, temporal=False, residual=False, norm="none").double()
    randomize_parameters_(m, gen(13)).eval()
    assert isinstance(m, MessagePassing) and m.node_dim == -2 and m.edge_index.size(1) == 36
    x = torch.randn(2, 3, 6, 4, generator=gen(14), dtype=torch.float64)
    dense = m(x)
    torch.testing.assert_close(m(x, None, m.edge_index), dense, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dense.detach().numpy(), fusion_spatial_oracle(m, x, m.edge_index.numpy()), atol=1e-10)
    sub = m.edge_index[:, ::3]
    np.testing.assert_allclose(
        m(x, None, sub).detach().numpy(), fusion_spatial_oracle(m, x, sub.numpy()), rtol=1e-10, atol=1e-12
    )
    adj_t = to_torch_csr_tensor(sub.flip(0), size=(6, 6))
    torch.testing.assert_close(m(x, None, adj_t), m(x, None, sub), rtol=1e-10, atol=1e-12)
    # both branches, lengths, execution='propagate'
    full = STBalancedFusion(4, TOY, embed_channels=2).double()
    randomize_parameters_(full, gen(15)).eval()
    mp = STBalancedFusion(4, TOY, embed_channels=2, execution="propagate").double().eval()
    mp.load_state_dict(full.state_dict())
    lengths = torch.tensor([3, 2])
    torch.testing.assert_close(mp(x, lengths), full(x, lengths), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mp.balance_weights(x, lengths), full.balance_weights(x, lengths))
