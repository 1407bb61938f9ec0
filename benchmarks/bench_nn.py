"""Benchmark of the skelaug.nn layers on CPU: forward + backward against two references of the same math.

For every layer three implementations compute the same function with the same parameters:

* ``layer``: the skelaug layer;
* ``dense``: a straightforward dense ``torch.einsum`` transcription of the documented math;
* ``mp``: the same math with PyTorch Geometric ``MessagePassing`` over the edge list: the static skeleton
  graph (or the complete graph, for data-dependent attention) applied to every frame as a graph copy
  (``node_dim=-2`` over ``(B, T, V, C)``, all frames in one call). ``mp_loop`` (graph convolution only)
  is the PyTorch-Geometric-Temporal pattern: the same message passing called once per frame.

``propagate`` (graph convolution only) is the layer's own PyTorch Geometric route,
``layer(x, layer.edge_index)``: :class:`~torch_geometric.nn.MessagePassing.propagate` over the support of
its topology, the same function as the default fused dense route. The outputs are checked to agree
before anything is timed.

``STGCNBlock[PyG spatial]`` times blocks whose spatial operator is a PyG convolution (``spatial=``; the
static route for GCNConv / ChebConv / SAGEConv, the disjoint-union route for GATConv / TransformerConv)
next to the built-in adaptive block of the same width: different functions, so no agreement check,
interleaved rounds as everywhere.

``--baseline-src DIR`` (e.g. a checkout of ``main``) adds a side-by-side comparison of
``AdaptiveGraphConv`` forward + backward on one thread between that tree's layer and this one: the
baseline's ``adaptive_graph_conv.py`` is loaded as a second module in the same process, both are built
with the same seed (outputs checked equal), and their rounds are interleaved, reported as
``this / baseline``. (Separate processes were tried first: on this shared machine two processes running
the same code differed by up to 20 %, more than the effect to measure.)

Timing: training mode, one forward and one backward (``out.sum().backward()``: gradients for the input
and every parameter), ``--warmup`` untimed rounds, then ``--repeats`` rounds in which the
implementations take turns (so slow drifts of a shared machine hit all of them alike); the median
wall-clock time is reported, with the median process CPU time beside it (less sensitive to other
processes on a shared machine). References that take tens of seconds (message passing over a complete
graph) get two timed rounds after the untimed correctness call.

Targets (issue 5): ``layer / dense <= 1.1`` and ``mp / layer >= 5``. Where the graph is sparse and fixed
(ST-GCN's partition; the temporal chain of a convolution) message passing moves few messages and the
costs both implementations share (channel transform, normalisation, residual, ReLU) dominate, so the
vectorised ``mp`` reference lands below 5x; the per-frame ``mp_loop`` clears it. The JSON's ``summary``
lists every missed target.

Run from the repository root::

    python -m benchmarks.bench_nn                 # writes benchmarks/results/nn_cpu.json
    python -m benchmarks.bench_nn --quick --out /tmp/nn.json   # tiny shapes, a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torch_geometric
import torch_geometric.nn as pyg
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from skelaug import layouts
from skelaug.nn import (
    QUARTER_WIDTHS,
    AdaptiveGraphConv,
    SequenceEncoder,
    STBalancedFusion,
    STGCNBlock,
    STGCNEncoder,
    TemporalConv,
)

RESULTS = Path(__file__).resolve().parent / "results"

# --------------------------------------------------------------------------- message passing primitives


class WeightedSum(MessagePassing):
    """``out_i = sum_{(j, i) in E} w_e * x_j`` along ``node_dim`` (``w`` broadcast against ``x_j``)."""

    def __init__(self, node_dim: int = -2, aggr: str = "sum") -> None:
        super().__init__(aggr=aggr, node_dim=node_dim)

    def forward(self, x: Tensor, edge_index: Tensor, weight: Tensor | None, size: tuple[int, int]) -> Tensor:
        return self.propagate(edge_index, x=x, weight=weight, size=size)  # type: ignore[no-any-return]

    def message(self, x_j: Tensor, weight: Tensor | None) -> Tensor:
        return x_j if weight is None else x_j * weight


def subset_edges(g: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Edge list of the nonzeros of ``g`` ``(K, V, V)`` [k, target, source]; source index ``j*K + k``."""
    k, i, j = g.detach().nonzero(as_tuple=True)
    return torch.stack([j * g.size(0) + k, i]), k, i, j


def complete_edges(k: int, v: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """All (subset, target, source) triples; source index ``j*K + k``."""
    kk, ii, jj = torch.meshgrid(torch.arange(k), torch.arange(v), torch.arange(v), indexing="ij")
    kk, ii, jj = kk.flatten(), ii.flatten(), jj.flatten()
    return torch.stack([jj * k + kk, ii]), kk, ii, jj


# ----------------------------------------------------------------------------- AdaptiveGraphConv


def agc_tail(layer: AdaptiveGraphConv, x: Tensor, agg: Tensor) -> Tensor:
    assert layer.bias is not None
    out = layer.norm(agg + layer.bias)
    out = out + (x if layer.down is None else layer.down(x))
    return F.relu(out)


def agc_attention(layer: AdaptiveGraphConv, x: Tensor) -> Tensor:
    """``(B, K, V, V)`` 2s-AGCN attention, written with einsum."""
    assert layer.query is not None and layer.key is not None
    b, t, v, _ = x.shape
    k, e = layer.num_subsets, layer.embed_channels
    q = layer.query(x).view(b, t, v, k, e)
    s = layer.key(x).view(b, t, v, k, e)
    return torch.softmax(torch.einsum("btike,btjke->bkij", q, s) / (e * t), dim=-1)


def agc_refinement(layer: AdaptiveGraphConv, x: Tensor) -> Tensor:
    """``(B, K, V, V, C_out)`` CTR-GCN refinement, written with einsum."""
    assert layer.rel_query is not None and layer.rel_key is not None
    assert layer.expand is not None and layer.expand_bias is not None
    b, _, v, _ = x.shape
    k, e = layer.num_subsets, layer.embed_channels
    m = x.mean(1)
    d = torch.tanh(layer.rel_query(m).view(b, v, 1, k, e) - layer.rel_key(m).view(b, 1, v, k, e))
    return torch.einsum("bijke,keo->bkijo", d, layer.expand) + layer.expand_bias[None, :, None, None, :]


def agc_dense(layer: AdaptiveGraphConv, x: Tensor) -> Tensor:
    g = layer._static_topology()
    if layer.adaptive == "channelwise":
        assert layer.alpha is not None
        xw = torch.einsum("btjc,kco->btkjo", x, layer.weight)
        agg = torch.einsum("kij,btkjo->btio", g, xw)
        agg = agg + layer.alpha * torch.einsum("bkijo,btkjo->btio", agc_refinement(layer, x), xw)
        return agc_tail(layer, x, agg)
    if layer.adaptive == "attention":
        y = torch.einsum("bkij,btjc->btkic", g + agc_attention(layer, x), x)
    else:
        y = torch.einsum("kij,btjc->btkic", g, x)
    return agc_tail(layer, x, torch.einsum("btkic,kco->btio", y, layer.weight))


class AGCMessagePassing(nn.Module):
    """The layer's math with ``MessagePassing`` (transform ``x W_k``, then pass weighted messages)."""

    def __init__(self, layer: AdaptiveGraphConv, per_frame_loop: bool = False) -> None:
        super().__init__()
        self.layer = layer
        self.per_frame_loop = per_frame_loop
        self.mp = WeightedSum(node_dim=-2)
        ei, kk, ii, jj = complete_edges(layer.num_subsets, layer.num_nodes)
        self.register_buffer("complete", ei)
        self.idx = (kk, ii, jj)

    def forward(self, x: Tensor) -> Tensor:
        layer = self.layer
        b, t, v, _ = x.shape
        k, cout = layer.num_subsets, layer.out_channels
        xw = torch.einsum("btjc,kco->btjko", x, layer.weight).reshape(b, t, v * k, cout)  # source j*K + k
        g = layer._static_topology()
        size = (v * k, v)
        if layer.adaptive in ("none", "importance"):  # the fixed partition's edges only
            ei, kk, ii, jj = subset_edges(g)
        else:  # B_k is a dense learned offset: every pair of joints is an edge
            ei = self.complete
            kk, ii, jj = self.idx
        if layer.adaptive == "attention":
            w = (g + agc_attention(layer, x))[:, kk, ii, jj].view(b, 1, -1, 1)
        elif layer.adaptive == "channelwise":
            assert layer.alpha is not None
            w = g[kk, ii, jj].view(-1, 1) + layer.alpha * agc_refinement(layer, x)[:, kk, ii, jj].unsqueeze(1)
        else:
            w = g[kk, ii, jj].view(-1, 1)
        if self.per_frame_loop:
            agg = torch.stack([self.mp(xw[:, f], ei, w, size) for f in range(t)], dim=1)
        else:
            agg = self.mp(xw, ei, w, size)
        return agc_tail(layer, x, agg)


# ------------------------------------------------------------------------------------ TemporalConv


def tap_windows(h: Tensor, k: int, d: int, s: int) -> Tensor:
    """``(B, T', V, k, c)`` windows of a zero-padded sequence: tap ``i`` reads ``t*s + (i - (k-1)/2) d``."""
    t = h.size(1)
    p = d * (k - 1) // 2
    hp = F.pad(h, (0, 0, 0, 0, p, p))
    t_out = math.ceil(t / s)
    return torch.stack([hp[:, i * d : i * d + (t_out - 1) * s + 1 : s] for i in range(k)], dim=3)


def tcn_dense(layer: TemporalConv, x: Tensor) -> Tensor:
    s, k = layer.stride, layer.kernel_size
    h = layer.pre_norm(torch.einsum("btvc,oc->btvo", x, layer.pre.weight) + layer.pre.bias)
    outs, start = [], 0
    for conv, d in zip(layer.convs, layer.dilations, strict=True):
        assert isinstance(conv, nn.Conv2d) and conv.bias is not None
        c = conv.out_channels
        win = tap_windows(F.relu(h[..., start : start + c]), k, d, s)
        outs.append(torch.einsum("btvkc,ock->btvo", win, conv.weight[..., 0]) + conv.bias)
        start += c
    if layer.pool_branch:
        c = layer.widths[len(layer.convs)]
        win = tap_windows(F.relu(h[..., start : start + c]), 3, 1, s)
        # zero padding equals -inf padding here: the windows hold ReLU outputs (>= 0) and the centre tap
        outs.append(win.amax(dim=3))
        start += c
    if layer.point_branch:
        outs.append(h[:, ::s, :, start:])
    y = layer.post_norm(torch.cat(outs, dim=-1))
    return y + layer.res(x) if layer.res is not None else y


class TCNMessagePassing(nn.Module):
    """Temporal convolution as message passing over a frame graph: edge type = kernel tap."""

    def __init__(self, layer: TemporalConv, t: int) -> None:
        super().__init__()
        self.layer = layer
        self.t = t
        self.sum = WeightedSum(node_dim=1)
        self.max = WeightedSum(node_dim=1, aggr="max")
        s, k = layer.stride, layer.kernel_size
        t_out = math.ceil(t / s)
        self.edges: list[Tensor] = []
        for d in layer.dilations:
            src, dst = [], []
            for tp in range(t_out):
                for i in range(k):
                    f = tp * s + (i - (k - 1) // 2) * d
                    if 0 <= f < t:
                        src.append(f * k + i)  # node (frame f, tap i)
                        dst.append(tp)
            self.edges.append(torch.tensor([src, dst]))
        pool = [(f, tp) for tp in range(t_out) for f in range(tp * s - 1, tp * s + 2) if 0 <= f < t]
        self.pool_edges = torch.tensor(pool).t()

    def forward(self, x: Tensor) -> Tensor:
        layer = self.layer
        b, t, v, _ = x.shape
        s, k = layer.stride, layer.kernel_size
        t_out = math.ceil(t / s)
        h = layer.pre_norm(torch.einsum("btvc,oc->btvo", x, layer.pre.weight) + layer.pre.bias)
        outs, start = [], 0
        for conv, ei in zip(layer.convs, self.edges, strict=True):
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None
            c = conv.out_channels
            hw = torch.einsum("btvc,ock->btkvo", F.relu(h[..., start : start + c]), conv.weight[..., 0])
            outs.append(self.sum(hw.reshape(b, t * k, v, c), ei, None, (t * k, t_out)) + conv.bias)
            start += c
        if layer.pool_branch:
            c = layer.widths[len(layer.convs)]
            outs.append(self.max(F.relu(h[..., start : start + c]), self.pool_edges, None, (t, t_out)))
            start += c
        if layer.point_branch:
            outs.append(h[:, ::s, :, start:])
        y = layer.post_norm(torch.cat(outs, dim=-1))
        return y + layer.res(x) if layer.res is not None else y


# --------------------------------------------------------------------------------------- block


def block_with(
    gcn: Callable[[Tensor], Tensor], tcn: Callable[[Tensor], Tensor], block: STGCNBlock
) -> Callable:
    def run(x: Tensor) -> Tensor:
        y = tcn(gcn(x))
        return F.relu(y + block.res(x)) if block.res is not None else F.relu(y)

    return run


# ------------------------------------------------------------------------------------ STBalancedFusion


def fusion_parts(m: STBalancedFusion, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Spatial graph ``(B, V, V)``, temporal graph ``(B, T, T)`` and the two value tensors (einsum)."""
    assert m.s_qk is not None and m.t_qk is not None and m.s_value is not None and m.t_value is not None
    assert m.offset is not None
    e = m.embed_channels
    t = x.size(1)
    qs, ks = m.s_qk(x.mean(1)).split(e, -1)
    gs = m.A + m.offset + torch.softmax(torch.einsum("bie,bje->bij", qs, ks) / e**0.5, -1)
    qt, kt = m.t_qk(x.mean(2)).split(e, -1)
    gt = torch.softmax(torch.einsum("bte,bue->btu", qt, kt) / e**0.5, -1)
    pos = torch.arange(t)
    band = ((pos[None] - pos[:, None]).abs() <= m.temporal_window).to(x.dtype)
    gt = gt + band / band.sum(-1, keepdim=True)
    return gs, gt, m.s_value(x), m.t_value(x)


def fusion_tail(m: STBalancedFusion, x: Tensor, ys: Tensor, yt: Tensor) -> Tensor:
    assert m.squeeze is not None and m.excite is not None
    b, _, _, c = x.shape
    w = torch.softmax(m.excite(F.relu(m.squeeze((ys + yt).mean((1, 2))))).view(b, 2, c), dim=1)
    z = w[:, 0, None, None] * ys + w[:, 1, None, None] * yt
    return x + m.norm(z)


def fusion_dense(m: STBalancedFusion, x: Tensor) -> Tensor:
    gs, gt, vs, vt = fusion_parts(m, x)
    return fusion_tail(m, x, torch.einsum("bij,btjc->btic", gs, vs), torch.einsum("btu,buvc->btvc", gt, vt))


class FusionMessagePassing(nn.Module):
    def __init__(self, m: STBalancedFusion, t: int) -> None:
        super().__init__()
        self.m = m
        v = m.num_nodes
        self.joints = WeightedSum(node_dim=-2)
        self.frames = WeightedSum(node_dim=1)
        ii, jj = torch.meshgrid(torch.arange(v), torch.arange(v), indexing="ij")
        self.ej = torch.stack([jj.flatten(), ii.flatten()])
        tt, uu = torch.meshgrid(torch.arange(t), torch.arange(t), indexing="ij")
        self.ef = torch.stack([uu.flatten(), tt.flatten()])

    def forward(self, x: Tensor) -> Tensor:
        b, t, v, _ = x.shape
        gs, gt, vs, vt = fusion_parts(self.m, x)
        ws = gs[:, self.ej[1], self.ej[0]].view(b, 1, -1, 1)
        wt = gt[:, self.ef[1], self.ef[0]].view(b, -1, 1, 1)
        ys = self.joints(vs, self.ej, ws, (v, v))
        yt = self.frames(vt, self.ef, wt, (t, t))
        return fusion_tail(self.m, x, ys, yt)


# ------------------------------------------------------------------------------------ SequenceEncoder


def gru_loop(enc: SequenceEncoder, x: Tensor) -> Tensor:
    """The GRU equations, one frame at a time (the straightforward reference for a recurrence)."""
    b, t = x.shape[:2]
    seq = x.reshape(b, t, -1)
    hid = enc.hidden_channels
    for layer in range(enc.num_layers):
        outs = []
        for direction in range(enc.num_directions):
            w_ih, w_hh, b_ih, b_hh = enc._weights(layer, direction)
            gi_all = torch.einsum("btf,gf->btg", seq, w_ih) + b_ih
            h = seq.new_zeros(b, hid)
            steps = range(t) if direction == 0 else range(t - 1, -1, -1)
            hs: list[Tensor] = [seq.new_zeros(0)] * t
            for f in steps:
                gi, gh = gi_all[:, f], h @ w_hh.t() + b_hh
                r = torch.sigmoid(gi[:, :hid] + gh[:, :hid])
                z = torch.sigmoid(gi[:, hid : 2 * hid] + gh[:, hid : 2 * hid])
                n = torch.tanh(gi[:, 2 * hid :] + r * gh[:, 2 * hid :])
                h = (1 - z) * n + z * h
                hs[f] = h
            outs.append(torch.stack(hs, dim=1))
        seq = torch.cat(outs, dim=-1)
    return torch.cat([seq[:, -1, :hid], seq[:, 0, hid:]], dim=-1)


# ------------------------------------------------------------------------------------------- timing


@dataclass
class Bench:
    name: str
    note: str
    module: nn.Module
    impls: dict[str, Callable[[Tensor], Tensor]]
    slow: frozenset[str] = frozenset()  # references that take seconds: fewer timed rounds
    check: bool = True  # the implementations compute the same function (compared before timing)


def time_round(fn: Callable[[Tensor], Tensor], x: Tensor, module: nn.Module) -> tuple[float, float]:
    """Wall-clock and process CPU time (ms) of one forward + backward."""
    module.zero_grad(set_to_none=True)
    x.grad = None
    wall, cpu = time.perf_counter(), time.process_time()
    fn(x).sum().backward()
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def run_bench(
    bench: Bench, x: Tensor, warmup: int, repeats: int, slow_repeats: int = 2, check: bool = True
) -> dict[str, Any]:
    module = bench.module.train()
    if check and bench.check:
        with torch.no_grad():
            ref = bench.impls["layer"](x)
            for name, fn in bench.impls.items():
                torch.testing.assert_close(
                    fn(x), ref, rtol=1e-3, atol=1e-4, msg=lambda m, n=name: f"{bench.name}/{n}: {m}"
                )
    x = x.detach().requires_grad_()
    for _ in range(warmup):
        for name, fn in bench.impls.items():
            if name not in bench.slow:  # the correctness call above has warmed the slow ones up
                time_round(fn, x, module)
    wall: dict[str, list[float]] = {name: [] for name in bench.impls}
    cpu: dict[str, list[float]] = {name: [] for name in bench.impls}
    for r in range(repeats):
        for name, fn in bench.impls.items():
            if name in bench.slow and r >= slow_repeats:
                continue
            w, c = time_round(fn, x, module)
            wall[name].append(w)
            cpu[name].append(c)
    med = {name: statistics.median(ts) for name, ts in wall.items()}
    med_cpu = {name: statistics.median(ts) for name, ts in cpu.items()}
    row: dict[str, Any] = {"layer": bench.name, "note": bench.note}
    row.update({f"{name}_ms": round(m, 1) for name, m in med.items()})
    row["rounds"] = {name: len(ts) for name, ts in wall.items()}
    row["wall_range_ms"] = {name: [round(min(ts), 1), round(max(ts), 1)] for name, ts in wall.items()}
    row["cpu_time_ms"] = {name: round(m, 1) for name, m in med_cpu.items()}
    if "dense" in med:
        row["layer_over_dense"] = round(med["layer"] / med["dense"], 3)
        row["layer_over_dense_cpu_time"] = round(med_cpu["layer"] / med_cpu["dense"], 3)
        row["dense_target_met"] = bool(med["layer"] / med["dense"] <= 1.1)
    if "mp" in med:
        row["mp_over_layer"] = round(med["mp"] / med["layer"], 2)
        row["mp_over_layer_cpu_time"] = round(med_cpu["mp"] / med_cpu["layer"], 2)
        row["mp_target_met"] = bool(med["mp"] / med["layer"] >= 5.0)
    if "propagate" in med:
        row["propagate_over_layer"] = round(med["propagate"] / med["layer"], 2)
        row["propagate_over_layer_cpu_time"] = round(med_cpu["propagate"] / med_cpu["layer"], 2)
    if not bench.check:
        row["over_layer"] = {n: round(m / med["layer"], 2) for n, m in med.items() if n != "layer"}
    if "mp_loop" in med:
        row["mp_loop_over_layer"] = round(med["mp_loop"] / med["layer"], 2)
        row["mp_loop_target_met"] = bool(med["mp_loop"] / med["layer"] >= 5.0)
    return row


def build_benches(b: int, t: int, c: int, lay: Any, quick: bool) -> list[tuple[Bench, Tensor]]:
    v = lay.num_joints
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(b, t, v, c, generator=gen)
    out: list[tuple[Bench, Tensor]] = []
    for mode, note in [
        ("none", "ST-GCN graph conv (fixed spatial partition)"),
        ("offset", "2s-AGCN A_k + B_k"),
        ("attention", "2s-AGCN A_k + B_k + C_k(x)"),
        ("channelwise", "CTR-GCN channel-wise refinement"),
    ]:
        layer = AdaptiveGraphConv(c, c, lay, adaptive=mode)  # type: ignore[arg-type]
        impls: dict[str, Callable[[Tensor], Tensor]] = {
            "layer": layer,
            "dense": lambda x, layer=layer: agc_dense(layer, x),
            "mp": AGCMessagePassing(layer),
            "propagate": lambda x, layer=layer: layer(x, layer.edge_index),
        }
        if mode == "none" and not quick:
            impls["mp_loop"] = AGCMessagePassing(layer, per_frame_loop=True)
        slow = frozenset({"mp_loop"} if mode == "none" else {"mp"})
        out.append((Bench(f"AdaptiveGraphConv[{mode}]", note, layer, impls, slow), x))
    tcn = TemporalConv(c, c, 5, 1, (1, 2))
    out.append(
        (
            Bench(
                "TemporalConv[k=5, d=(1,2)]",
                "multi-scale temporal conv; mp = message passing over a frame graph (edge type = tap)",
                tcn,
                {"layer": tcn, "dense": lambda x: tcn_dense(tcn, x), "mp": TCNMessagePassing(tcn, t)},
            ),
            x,
        )
    )
    block = STGCNBlock(c, c, lay, adaptive="offset")
    agc_mp, tcn_mp = AGCMessagePassing(block.gcn), TCNMessagePassing(block.tcn, t)
    out.append(
        (
            Bench(
                "STGCNBlock[offset]",
                "graph conv + temporal conv + residual",
                block,
                {
                    "layer": block,
                    "dense": block_with(
                        lambda h: agc_dense(block.gcn, h), lambda h: tcn_dense(block.tcn, h), block
                    ),
                    "mp": block_with(agc_mp, tcn_mp, block),
                },
                frozenset({"mp"}),
            ),
            x,
        )
    )
    convs: dict[str, nn.Module] = {
        "GCNConv": pyg.GCNConv(c, c),
        "ChebConv[K=2]": pyg.ChebConv(c, c, K=2),
        "SAGEConv": pyg.SAGEConv(c, c),
        "GATConv[4 heads]": pyg.GATConv(c, c // 4, heads=4),
        "TransformerConv": pyg.TransformerConv(c, c),
    }
    blocks = {"layer": STGCNBlock(c, c, lay, adaptive="offset")}
    blocks.update({name: STGCNBlock(c, c, lay, spatial=conv) for name, conv in convs.items()})
    all_blocks = nn.ModuleDict({k.replace("[", "_").replace("]", "").replace("=", ""): m for k, m in blocks.items()})
    out.append(
        (
            Bench(
                "STGCNBlock[PyG spatial]",
                "layer = built-in adaptive block (offset); the others: spatial=<PyG conv> "
                "(GCN/Cheb/SAGE: static route, GAT/Transformer: disjoint-union route)",
                all_blocks,
                dict(blocks),
                check=False,
            ),
            x,
        )
    )
    fusion = STBalancedFusion(c, lay)
    out.append(
        (
            Bench(
                "STBalancedFusion",
                "spatial + temporal adaptive graphs, learned per-channel balance",
                fusion,
                {
                    "layer": fusion,
                    "dense": lambda x: fusion_dense(fusion, x),
                    "mp": FusionMessagePassing(fusion, t),
                },
            ),
            x,
        )
    )
    seq_in = x[..., :3].contiguous()
    enc = SequenceEncoder(3, v, 4 if quick else 128, num_layers=2)
    out.append(
        (
            Bench(
                "SequenceEncoder[biGRU 2x128]",
                "dense = the GRU equations stepped frame by frame; no graph, so no mp",
                enc,
                {"layer": enc, "dense": lambda x: gru_loop(enc, x)},
            ),
            seq_in,
        )
    )
    quarter = STGCNEncoder(3, lay, widths=(4, 8) if quick else QUARTER_WIDTHS, out_channels=128)
    out.append(
        (
            Bench("STGCNEncoder[quarter width]", "whole encoder, layer only", quarter, {"layer": quarter}),
            seq_in,
        )
    )
    return out


def temporal_layout_choice(b: int, t: int, v: int, c: int, warmup: int, repeats: int) -> dict[str, Any]:
    """Three ways to run one dilated temporal convolution on channels-last (B, T, V, C)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(b, t, v, c, generator=gen)
    conv = nn.Conv2d(c, c, (5, 1), padding=(2, 0))
    w = conv.weight[..., 0]

    def channels_last_view(x: Tensor) -> Tensor:
        return conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    def conv1d_copy(x: Tensor) -> Tensor:
        y = F.conv1d(x.permute(0, 2, 3, 1).reshape(b * v, c, t), w, conv.bias, padding=2)
        return y.view(b, v, c, t).permute(0, 3, 1, 2)

    def unfold_gemm(x: Tensor) -> Tensor:
        win = tap_windows(x, 5, 1, 1)  # (B, T, V, k, C)
        return win.reshape(b, t, v, 5 * c) @ w.permute(2, 1, 0).reshape(5 * c, c) + conv.bias

    bench = Bench(
        "temporal conv layout",
        "",
        conv,
        {"layer": channels_last_view, "conv1d_copy": conv1d_copy, "unfold_gemm": unfold_gemm},
    )
    row = run_bench(bench, x, warmup, repeats)
    return {
        "conv2d_channels_last_view_ms": row["layer_ms"],
        "conv1d_on_BV_C_T_copy_ms": row["conv1d_copy_ms"],
        "unfold_plus_gemm_ms": row["unfold_gemm_ms"],
    }


def load_baseline_layer(src: Path) -> type[nn.Module]:
    """``AdaptiveGraphConv`` from ``src/skelaug/nn/adaptive_graph_conv.py``, loaded as a separate module.

    Its imports (``skelaug.nn._utils``, ``skelaug.nn.graph``) resolve to this tree, so only the layer's own
    code differs; both layers are built with the same seed and checked to give equal outputs.
    """
    path = src / "skelaug" / "nn" / "adaptive_graph_conv.py"
    spec = importlib.util.spec_from_file_location("baseline_adaptive_graph_conv", path)
    if spec is None or spec.loader is None or not path.exists():
        raise FileNotFoundError(f"--baseline-src {src}: {path} not found; give the root of a skelaug checkout")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls: type[nn.Module] = module.AdaptiveGraphConv
    return cls


def compare_with_baseline(src: Path, b: int, t: int, c: int, rounds: int) -> dict[str, Any]:
    """``AdaptiveGraphConv`` forward + backward on one thread: this tree's layer against ``src``'s, in one
    process, rounds interleaved (the order alternating), median wall-clock and process CPU time."""
    baseline_cls = load_baseline_layer(src)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    lay = layouts.get("ntu25")
    rows: dict[str, Any] = {}
    try:
        for mode in ("none", "offset", "attention", "channelwise"):
            torch.manual_seed(0)
            this = AdaptiveGraphConv(c, c, lay, adaptive=mode)  # type: ignore[arg-type]
            torch.manual_seed(0)
            base = baseline_cls(c, c, lay, adaptive=mode)
            x = torch.randn(b, t, lay.num_joints, c, generator=torch.Generator().manual_seed(1))
            with torch.no_grad():
                torch.testing.assert_close(this.train()(x), base.train()(x))
            x.requires_grad_()
            wall: dict[str, list[float]] = {"this": [], "baseline": []}
            cpu: dict[str, list[float]] = {"this": [], "baseline": []}
            time_round(this, x, this), time_round(base, x, base)  # warm-up
            for r in range(rounds):
                order = (("this", this), ("baseline", base)) if r % 2 else (("baseline", base), ("this", this))
                for name, m in order:
                    w, cp = time_round(m, x, m)
                    wall[name].append(w)
                    cpu[name].append(cp)
            row: dict[str, Any] = {}
            for what, ts in (("wall", wall), ("cpu_time", cpu)):
                med_this, med_base = statistics.median(ts["this"]), statistics.median(ts["baseline"])
                row[f"this_{what}_ms"] = round(med_this, 1)
                row[f"baseline_{what}_ms"] = round(med_base, 1)
                row[f"this_over_baseline_{what}"] = round(med_this / med_base, 3)
            rows[mode] = row
    finally:
        torch.set_num_threads(threads)
    return {
        "what": f"AdaptiveGraphConv({c}, {c}) forward + backward, B={b}, T={t}, V=25, 1 thread, training mode; "
        f"this tree's layer vs the baseline's, one process, {rounds} interleaved rounds each (order "
        "alternating), medians",
        "baseline_src": str(src),
        "modes": rows,
    }


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Targets met or missed, and a caveat when other processes loaded the machine."""
    missed = []
    for row in result["results"]:
        if row.get("dense_target_met") is False:
            missed.append(f"{row['layer']}: layer/dense = {row['layer_over_dense']} (> 1.1)")
        if row.get("mp_target_met") is False:
            loop = f"; per-frame loop {row['mp_loop_over_layer']}x" if "mp_loop_over_layer" in row else ""
            missed.append(f"{row['layer']}: mp/layer = {row['mp_over_layer']}x (< 5){loop}")
    threads = result["machine"]["torch_threads"]
    loads = [la[0] for la in result["load_average_before_after"] if la]
    out: dict[str, Any] = {"targets_missed": missed}
    if loads and max(loads) > threads:
        out["caveat"] = (
            f"1-minute load average {max(loads):.1f} exceeded the {threads} threads used: other processes "
            "shared the CPUs, so absolute times are inflated and noisy (see wall_range_ms); the ratios come "
            "from implementations interleaved within every round and are close to the ratios of process CPU "
            "time"
        )
    return out


def machine_info(threads: int) -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": np.__version__,
        "torch_threads": threads,
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--layout", default="ntu25")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="tiny shapes, one repeat: a smoke run")
    ap.add_argument("--out", type=Path, default=RESULTS / "nn_cpu.json")
    ap.add_argument("--baseline-src", type=Path, default=None, help="source tree to compare AdaptiveGraphConv with")
    ap.add_argument("--baseline-rounds", type=int, default=15)
    ap.add_argument("--only-baseline", action="store_true", help="run only the baseline comparison")
    args = ap.parse_args(argv)
    if args.quick:
        args.batch, args.frames, args.channels, args.warmup, args.repeats = 2, 6, 8, 0, 1
    torch.set_num_threads(args.threads)
    lay = layouts.get(args.layout)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    baseline = None
    if args.baseline_src is not None:
        baseline = compare_with_baseline(
            args.baseline_src, args.batch, args.frames, args.channels, args.baseline_rounds
        )
        print(json.dumps(baseline), flush=True)
        if args.only_baseline:
            return baseline
    rows = []
    for bench, x in build_benches(args.batch, args.frames, args.channels, lay, args.quick):
        row = run_bench(bench, x, args.warmup, args.repeats)
        rows.append(row)
        print(json.dumps(row), flush=True)
    choice = temporal_layout_choice(
        args.batch, args.frames, lay.num_joints, args.channels, args.warmup, args.repeats
    )
    print(json.dumps(choice), flush=True)
    result = {
        "benchmark": "skelaug.nn layers, forward + backward, training mode, CPU",
        "command": "python -m benchmarks.bench_nn " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(args.threads),
        "load_average_before_after": [load_before, os.getloadavg() if hasattr(os, "getloadavg") else None],
        "config": {
            "batch": args.batch,
            "frames": args.frames,
            "joints": lay.num_joints,
            "layout": lay.name,
            "channels": args.channels,
            "dtype": "float32",
            "warmup_rounds": args.warmup,
            "timed_rounds": args.repeats,
            "statistic": "median of timed rounds; implementations interleaved within each round",
        },
        "targets": {"layer_over_dense": "<= 1.1", "mp_over_layer": ">= 5"},
        "results": rows,
        "temporal_conv_layout_choice": choice,
    }
    if baseline is not None:  # as a list of rows, which the docs render as a table
        result["baseline_comparison_what"] = baseline["what"]
        result["baseline_src"] = baseline["baseline_src"]
        result["baseline_comparison"] = [{"mode": m, **row} for m, row in baseline["modes"].items()]
    result["summary"] = summarize(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
