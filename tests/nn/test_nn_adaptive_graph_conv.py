"""AdaptiveGraphConv against plain-torch transcriptions of ST-GCN, 2s-AGCN and CTR-GCN (N, C, T, V) code."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _agcn_graph import AGCN_NTU_INWARD
from torch import Tensor

from skelaug import layouts
from skelaug.nn import ADAPTIVE_MODES, AdaptiveGraphConv
from skelaug.nn.testing import randomize_parameters_


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def agcn_graph() -> Tensor:
    """2s-AGCN's graph/ntu_rgb_d.py + tools.get_spatial_graph (I, In, Out), in its [source, target] layout."""
    v = 25
    inward = [(i - 1, j - 1) for i, j in AGCN_NTU_INWARD]
    outward = [(j, i) for i, j in inward]

    def edge2mat(link: list[tuple[int, int]]) -> np.ndarray:
        a = np.zeros((v, v))
        for i, j in link:
            a[j, i] = 1
        return a

    def normalize_digraph(a: np.ndarray) -> np.ndarray:
        dl = a.sum(0)
        dn = np.diag([d**-1 if d > 0 else 0.0 for d in dl])
        return a @ dn

    mats = [
        edge2mat([(i, i) for i in range(v)]),
        normalize_digraph(edge2mat(inward)),
        normalize_digraph(edge2mat(outward)),
    ]
    return torch.tensor(np.stack(mats))


def conv1x1(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """nn.Conv2d(kernel_size=1) on (N, C, T, V) with weight (out, in)."""
    return F.conv2d(x, w[:, :, None, None], b)


def bn2d(x: Tensor, bn: torch.nn.BatchNorm1d, training: bool) -> Tensor:
    """nn.BatchNorm2d on (N, C, T, V) with the parameters and statistics of ``bn`` (copies of the stats)."""
    assert bn.running_mean is not None and bn.running_var is not None
    return F.batch_norm(
        x, bn.running_mean.clone(), bn.running_var.clone(), bn.weight, bn.bias, training, 0.1, bn.eps
    )


def agcn_unit_gcn(
    x: Tensor,
    a: Tensor,
    pa: Tensor,
    conv_a: list[tuple[Tensor, Tensor]],
    conv_b: list[tuple[Tensor, Tensor]],
    conv_d: list[tuple[Tensor, Tensor]],
    bn: torch.nn.BatchNorm1d,
    down: tuple[Tensor, Tensor, torch.nn.BatchNorm1d] | None,
    training: bool,
) -> Tensor:
    """2s-AGCN model/agcn.py unit_gcn.forward, transcribed (x: (N, C, T, V), A and PA [source, target])."""
    n, c, t, v = x.size()
    a = a + pa
    y = None
    for i in range(a.size(0)):
        inter_c = conv_a[i][0].size(0)
        a1 = conv1x1(x, *conv_a[i]).permute(0, 3, 1, 2).contiguous().view(n, v, inter_c * t)
        a2 = conv1x1(x, *conv_b[i]).view(n, inter_c * t, v)
        a1 = torch.softmax(torch.matmul(a1, a2) / a1.size(-1), dim=-2)  # N V V
        a1 = a1 + a[i]
        a2 = x.view(n, c * t, v)
        z = conv1x1(torch.matmul(a2, a1).view(n, c, t, v), *conv_d[i])
        y = z + y if y is not None else z
    assert y is not None
    y = bn2d(y, bn, training)
    y = y + (x if down is None else bn2d(conv1x1(x, down[0], down[1]), down[2], training))
    return torch.relu(y)


def ctr_unit_gcn(
    x: Tensor,
    pa: Tensor,
    alpha: Tensor,
    convs: list[dict[str, Tensor]],
    bn: torch.nn.BatchNorm1d,
    down: tuple[Tensor, Tensor, torch.nn.BatchNorm1d] | None,
    training: bool,
) -> Tensor:
    """CTR-GCN model/ctrgcn.py unit_gcn + CTRGC forward, transcribed (PA indexed [target, source])."""
    y = None
    for i in range(pa.size(0)):
        p = convs[i]
        x1, x2 = conv1x1(x, p["w1"], p["b1"]).mean(-2), conv1x1(x, p["w2"], p["b2"]).mean(-2)
        x3 = conv1x1(x, p["w3"], None)
        x1 = torch.tanh(x1.unsqueeze(-1) - x2.unsqueeze(-2))
        x1 = conv1x1(x1, p["w4"], p["b4"]) * alpha + pa[i].unsqueeze(0).unsqueeze(0)  # N,C,V,V
        z = torch.einsum("ncuv,nctv->nctu", x1, x3)
        y = z + y if y is not None else z
    assert y is not None
    y = bn2d(y, bn, training)
    y = y + (x if down is None else bn2d(conv1x1(x, down[0], down[1]), down[2], training))
    return torch.relu(y)


def down_params(conv: AdaptiveGraphConv) -> tuple[Tensor, Tensor, torch.nn.BatchNorm1d] | None:
    if conv.down is None:
        return None
    lin, norm = conv.down[0], conv.down[1]
    return lin.weight, lin.bias, norm.norm


@pytest.mark.parametrize(("cin", "cout"), [(6, 8), (8, 8), (12, 8)])
@pytest.mark.parametrize("training", [False, True])
def test_attention_mode_reproduces_2s_agcn(cin: int, cout: int, training: bool) -> None:
    edges = torch.tensor([[i - 1 for i, _ in AGCN_NTU_INWARD], [j - 1 for _, j in AGCN_NTU_INWARD]])
    conv = AdaptiveGraphConv(
        cin, cout, edges, centre=20, normalization="subset", adaptive="attention"
    ).double()
    randomize_parameters_(conv, gen(1))
    conv.train(training)
    assert conv.embed_channels == cout // 4  # 2s-AGCN's coff_embedding = 4
    k, e = conv.num_subsets, conv.embed_channels
    assert (
        conv.query is not None and conv.key is not None and conv.offset is not None and conv.bias is not None
    )
    wq, bq = conv.query.weight.view(k, e, cin), conv.query.bias.view(k, e)
    wk, bk = conv.key.weight.view(k, e, cin), conv.key.bias.view(k, e)
    # 2s-AGCN has one conv_d bias per subset; any split summing to our single bias is equivalent
    split = torch.randn(k, cout, generator=gen(2), dtype=torch.float64)
    split[-1] = conv.bias.detach() - split[:-1].sum(0)
    x = torch.randn(3, 5, 25, cin, generator=gen(3), dtype=torch.float64)
    ours = conv(x)
    ref = agcn_unit_gcn(
        x.permute(0, 3, 1, 2).contiguous(),
        agcn_graph(),
        conv.offset.transpose(1, 2),
        conv_a=[(wk[i], bk[i]) for i in range(k)],  # conv_a embeds the source joint
        conv_b=[(wq[i], bq[i]) for i in range(k)],  # conv_b embeds the target joint
        conv_d=[(conv.weight[i].t(), split[i]) for i in range(k)],
        bn=conv.norm.norm,  # type: ignore[arg-type]
        down=down_params(conv),
        training=training,
    )
    torch.testing.assert_close(ours, ref.permute(0, 2, 3, 1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("cin", "cout"), [(3, 8), (16, 8)])
def test_channelwise_mode_reproduces_ctr_gcn(cin: int, cout: int) -> None:
    lay = layouts.get("ntu25")
    conv = AdaptiveGraphConv(
        cin, cout, lay, normalization="subset", adaptive="channelwise", bias=False
    ).double()
    randomize_parameters_(conv, gen(4))
    conv.eval()
    assert conv.rel_query is not None and conv.rel_key is not None and conv.expand is not None
    assert conv.expand_bias is not None and conv.alpha is not None and conv.offset is not None
    k, e = conv.num_subsets, conv.embed_channels
    convs = [
        {
            "w1": conv.rel_query.weight.view(k, e, cin)[i],
            "b1": conv.rel_query.bias.view(k, e)[i],
            "w2": conv.rel_key.weight.view(k, e, cin)[i],
            "b2": conv.rel_key.bias.view(k, e)[i],
            "w3": conv.weight[i].t(),
            "w4": conv.expand[i].t(),
            "b4": conv.expand_bias[i],
        }
        for i in range(k)
    ]
    x = torch.randn(2, 6, 25, cin, generator=gen(5), dtype=torch.float64)
    ref = ctr_unit_gcn(
        x.permute(0, 3, 1, 2).contiguous(),
        conv.A + conv.offset,
        conv.alpha,
        convs,
        conv.norm.norm,
        down_params(conv),
        training=False,
    )  # type: ignore[arg-type]
    torch.testing.assert_close(conv(x), ref.permute(0, 2, 3, 1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["none", "importance"])
def test_static_modes_reproduce_stgcn_graph_conv(mode: str) -> None:
    """ST-GCN's ConvTemporalGraphical: 1x1 conv to K*C_out, then einsum('nkctv,kvw->nctw', x, A * M)."""
    lay = layouts.get("openpose18")
    conv = AdaptiveGraphConv(
        3,
        10,
        lay,
        adaptive=mode,
        residual=False,
        norm="none",
        activation=False,  # type: ignore[arg-type]
        bias=False,
    ).double()
    randomize_parameters_(conv, gen(6))
    k = conv.num_subsets
    x = torch.randn(2, 4, 18, 3, generator=gen(7), dtype=torch.float64)
    w = conv.weight.permute(0, 2, 1).reshape(k * 10, 3)  # conv weight (K*C_out, C_in), subset-major
    y = conv1x1(x.permute(0, 3, 1, 2), w, None)
    n, kc, t, v = y.size()
    y = y.view(n, k, kc // k, t, v)
    a = conv.A.transpose(1, 2)  # ST-GCN's [source, target]
    if conv.importance is not None:
        a = a * conv.importance.transpose(1, 2)
    ref = torch.einsum("nkctv,kvw->nctw", y, a)
    torch.testing.assert_close(conv(x), ref.permute(0, 2, 3, 1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ADAPTIVE_MODES)
@pytest.mark.parametrize(("cin", "cout"), [(3, 16), (16, 8)])
def test_fast_paths_match_dense_einsum_of_topology(mode: str, cin: int, cout: int) -> None:
    conv = AdaptiveGraphConv(cin, cout, layouts.get("coco17"), adaptive=mode).double()  # type: ignore[arg-type]
    randomize_parameters_(conv, gen(8))
    conv.eval()
    x = torch.randn(2, 5, 17, cin, generator=gen(9), dtype=torch.float64)
    g = conv.topology(x)
    eq = {3: "kij,btjc,kco->btio", 4: "bkij,btjc,kco->btio", 5: "bkijo,btjc,kco->btio"}[g.dim()]
    assert conv.bias is not None
    ref = conv.norm(torch.einsum(eq, g, x, conv.weight) + conv.bias)
    ref = torch.relu(ref + (x if conv.down is None else conv.down(x)))
    torch.testing.assert_close(conv(x), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", layouts.names())
@pytest.mark.parametrize("mode", ADAPTIVE_MODES)
def test_every_layout_and_mode(name: str, mode: str) -> None:
    lay = layouts.get(name)
    conv = AdaptiveGraphConv(3, 8, lay, adaptive=mode)  # type: ignore[arg-type]
    y = conv(torch.randn(2, 4, lay.num_joints, 3, generator=gen(10)))
    assert y.shape == (2, 4, lay.num_joints, 8)
    assert bool(torch.isfinite(y).all())


@pytest.mark.parametrize(("strategy", "k"), [("uniform", 1), ("distance", 2), ("spatial", 3)])
def test_partition_strategies_and_repr(strategy: str, k: int) -> None:
    conv = AdaptiveGraphConv(64, 128, layouts.get("ntu25"), partition=strategy)  # type: ignore[arg-type]
    assert repr(conv) == f"AdaptiveGraphConv(64, 128, subsets={k}, adaptive='offset')"
    assert conv.A.shape == (k, 25, 25)


def test_offset_starts_at_zero_and_is_learned() -> None:
    conv = AdaptiveGraphConv(3, 4, layouts.get("mpi15"))
    assert conv.offset is not None and bool((conv.offset == 0).all())
    conv(torch.randn(2, 3, 15, 3, generator=gen(11))).square().sum().backward()
    assert conv.offset.grad is not None and float(conv.offset.grad.abs().sum()) > 0


def test_partition_is_not_saved_state() -> None:
    conv = AdaptiveGraphConv(3, 4, layouts.get("mpi15"))
    assert "A" not in conv.state_dict()
    assert conv.double().A.dtype == torch.float64  # but it follows .to()/.double()


def test_input_errors_are_clear() -> None:
    conv = AdaptiveGraphConv(3, 8, layouts.get("ntu25"))
    with pytest.raises(ValueError, match=r"V=18 joints .* graph has 25"):
        conv(torch.randn(2, 4, 18, 3))
    with pytest.raises(ValueError, match=r"C=2 channels .* in_channels=3"):
        conv(torch.randn(2, 4, 25, 2))
    with pytest.raises(ValueError, match=r"expected \(B, T, V, C\)"):
        conv(torch.randn(4, 25, 3))
    with pytest.raises(ValueError, match="adaptive='global'"):
        AdaptiveGraphConv(3, 8, layouts.get("ntu25"), adaptive="global")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="refers to node 30"):
        AdaptiveGraphConv(3, 8, torch.tensor([[0, 1], [1, 30]]), num_nodes=25)
    with pytest.raises(ValueError, match=r"shape \(1, 4\)"):
        AdaptiveGraphConv(3, 8, torch.tensor([[0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="embed_channels=0"):
        AdaptiveGraphConv(3, 8, layouts.get("ntu25"), adaptive="attention", embed_channels=0)
    with pytest.raises(ValueError, match="depends on the input"):
        AdaptiveGraphConv(3, 8, layouts.get("ntu25"), adaptive="attention").topology()
