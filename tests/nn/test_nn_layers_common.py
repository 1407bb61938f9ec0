"""Contract tests every layer of skelaug.nn passes: reset, gradients, batching, equivariance, compile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
import torch_geometric.nn as pyg
from torch import Tensor, nn

from skelaug import layouts
from skelaug.nn import (
    AdaptiveGraphConv,
    JointBatchNorm,
    SequenceEncoder,
    SkeletonGraph,
    STBalancedFusion,
    STGCNBlock,
    STGCNEncoder,
    TemporalConv,
)
from skelaug.nn.testing import (
    assert_batch_consistent,
    assert_joint_permutation_equivariant,
    assert_reset_parameters,
    randomize_parameters_,
)

# a small branching skeleton: 0 - 1 - 2, 1 - 3 - 4, 3 - 5, centre 1
TOY = SkeletonGraph.from_edge_index(torch.tensor([[0, 1, 1, 3, 3], [1, 2, 3, 4, 5]]), centre=1)


@dataclass(frozen=True)
class Case:
    factory: Callable[[SkeletonGraph], nn.Module]
    in_channels: int
    joint_dim: int | None = -2  # None: pooled output (joint-permutation invariant)
    takes_lengths: bool = False


CASES: dict[str, Case] = {
    "agc-none": Case(lambda g: AdaptiveGraphConv(3, 4, g, adaptive="none"), 3),
    "agc-importance": Case(lambda g: AdaptiveGraphConv(4, 3, g, adaptive="importance"), 4),
    "agc-offset": Case(lambda g: AdaptiveGraphConv(3, 4, g, adaptive="offset", normalization="subset"), 3),
    "agc-attention": Case(lambda g: AdaptiveGraphConv(4, 4, g, adaptive="attention", embed_channels=2), 4),
    "agc-channelwise": Case(
        lambda g: AdaptiveGraphConv(3, 5, g, adaptive="channelwise", embed_channels=2), 3
    ),
    "agc-propagate-importance": Case(
        lambda g: AdaptiveGraphConv(3, 4, g, adaptive="importance", execution="propagate"), 3
    ),
    "agc-propagate-attention": Case(
        lambda g: AdaptiveGraphConv(4, 3, g, adaptive="attention", embed_channels=2, execution="propagate"), 4
    ),
    "agc-propagate-channelwise": Case(
        lambda g: AdaptiveGraphConv(3, 5, g, adaptive="channelwise", embed_channels=2, execution="propagate"), 3
    ),
    "temporal": Case(lambda g: TemporalConv(3, 4, 3, 2, (1, 2)), 3),
    "block": Case(lambda g: STGCNBlock(3, 4, g, stride=2, adaptive="attention", embed_channels=2), 3),
    "block-gcn": Case(lambda g: STGCNBlock(3, 4, g, stride=2, spatial=pyg.GCNConv(3, 4)), 3),
    "block-cheb": Case(lambda g: STGCNBlock(3, 4, g, spatial=pyg.ChebConv(3, 4, K=2)), 3),
    "block-sage": Case(lambda g: STGCNBlock(4, 4, g, spatial=pyg.SAGEConv(4, 4)), 4),
    "block-gat": Case(lambda g: STGCNBlock(3, 4, g, spatial=pyg.GATConv(3, 2, heads=2)), 3),
    "block-transformer": Case(lambda g: STGCNBlock(3, 4, g, spatial=pyg.TransformerConv(3, 4)), 3),
    "encoder": Case(lambda g: STGCNEncoder(3, g, widths=(4, 6), out_channels=5), 3, None, True),
    "encoder-gatv2": Case(
        lambda g: STGCNEncoder(3, g, widths=(4, 6), spatial=lambda i, o: pyg.GATv2Conv(i, o)), 3, None, True
    ),
    "fusion": Case(lambda g: STBalancedFusion(4, g, embed_channels=2), 4, -2, True),
    "fusion-propagate": Case(
        lambda g: STBalancedFusion(4, g, embed_channels=2, execution="propagate"), 4, -2, True
    ),
    "sequence": Case(lambda g: SequenceEncoder(3, g.num_nodes, 4, embed_channels=5), 3, None, True),
    "joint-bn": Case(lambda g: JointBatchNorm(g.num_nodes, 3), 3),
}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def inputs(
    case: Case, dtype: torch.dtype = torch.float32, b: int = 3, t: int = 5
) -> tuple[Tensor, dict[str, Tensor]]:
    x = torch.randn(b, t, TOY.num_nodes, case.in_channels, generator=gen(1), dtype=dtype)
    kw = {"lengths": torch.tensor([t, 2, 4][:b])} if case.takes_lengths else {}
    return x, kw


@pytest.mark.parametrize("name", CASES)
def test_reset_parameters_resets_all_state(name: str) -> None:
    case = CASES[name]
    assert_reset_parameters(lambda: case.factory(TOY))


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_float64_inputs_and_parameters(name: str) -> None:
    case = CASES[name]
    module = randomize_parameters_(case.factory(TOY).double(), gen(2)).train()
    x, kw = inputs(case, torch.float64, b=2, t=4)
    names = [n for n, p in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in module.parameters())

    def f(x: Tensor, *ps: Tensor) -> Tensor:
        out = torch.func.functional_call(module, dict(zip(names, ps, strict=True)), (x,), kw)
        assert isinstance(out, Tensor)
        return out

    assert torch.autograd.gradcheck(f, (x.requires_grad_(), *params), fast_mode=True)


@pytest.mark.parametrize("name", CASES)
def test_static_graph_batching_equals_per_sample(name: str) -> None:
    case = CASES[name]
    module = randomize_parameters_(case.factory(TOY), gen(3))
    x, kw = inputs(case)
    assert_batch_consistent(module, x, forward_kwargs=kw)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("name", CASES)
def test_joint_permutation_equivariance(name: str, train: bool) -> None:
    case = CASES[name]
    x, kw = inputs(case)
    for seed in range(3):  # several random relabellings, including the centre joint
        assert_joint_permutation_equivariant(
            case.factory,
            TOY,
            x,
            generator=gen(seed),
            joint_dim=case.joint_dim,
            train=train,
            forward_kwargs=kw,
        )


@pytest.mark.parametrize("layout", ["ntu25", "coco17"])
@pytest.mark.parametrize("name", ["agc-channelwise", "fusion", "encoder", "sequence"])
def test_equivariance_on_real_layouts(layout: str, name: str) -> None:
    case = CASES[name]
    lay = layouts.get(layout)
    x = torch.randn(2, 4, lay.num_joints, case.in_channels, generator=gen(4))
    assert_joint_permutation_equivariant(case.factory, lay, x, generator=gen(5), joint_dim=case.joint_dim)


class _ForgetsOffsets(AdaptiveGraphConv):
    def permute_joints_(self, perm: Tensor) -> None:  # does not relabel B_k
        return None


class _JointEmbedding(nn.Module):
    """Adds a learned per-joint vector and does not declare it: not equivariant."""

    def __init__(self, g: SkeletonGraph) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(g.num_nodes, 3))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.pos


@pytest.mark.parametrize(
    "factory", [lambda g: _ForgetsOffsets(3, 4, g), _JointEmbedding], ids=["forgotten-offset", "undeclared"]
)
def test_equivariance_check_detects_unpermuted_joint_state(
    factory: Callable[[SkeletonGraph], nn.Module],
) -> None:
    x = torch.randn(2, 3, TOY.num_nodes, 3, generator=gen(6))
    with pytest.raises(AssertionError, match="not joint-permutation equivariant"):
        assert_joint_permutation_equivariant(factory, TOY, x, generator=gen(7))


def test_equivariance_check_detects_a_wrong_partition() -> None:
    """A layer that ignores the relabelled centre (always node 0) must fail the check."""

    def factory(g: SkeletonGraph) -> nn.Module:
        return AdaptiveGraphConv(3, 4, g.edge_index, num_nodes=g.num_nodes, centre=0, adaptive="none")

    x = torch.randn(2, 3, TOY.num_nodes, 3, generator=gen(8))
    with pytest.raises(AssertionError):
        assert_joint_permutation_equivariant(factory, TOY, x, perm=[1, 0, 2, 3, 4, 5], generator=gen(9))


def test_reset_check_detects_missing_state() -> None:
    class Partial(AdaptiveGraphConv):
        def reset_parameters(self) -> None:
            if hasattr(self, "norm"):
                self.norm.reset_parameters()  # forgets the weights and offsets

    with pytest.raises(AssertionError, match="left 'weight' unset"):
        assert_reset_parameters(lambda: Partial(3, 4, TOY))

    class WrongScale(AdaptiveGraphConv):
        def reset_parameters(self) -> None:
            super().reset_parameters()
            if getattr(self, "_constructed", False):  # only the explicit reset call draws too wide
                with torch.no_grad():
                    self.weight.mul_(10)

    def factory() -> nn.Module:
        m = WrongScale(16, 16, TOY)
        m._constructed = True
        return m

    with pytest.raises(AssertionError, match="draws 'weight' with std"):
        assert_reset_parameters(factory)


@pytest.mark.parametrize(
    "name", ["agc-offset", "agc-attention", "agc-channelwise", "fusion", "encoder", "sequence"]
)
def test_float64_in_float64_out(name: str) -> None:
    case = CASES[name]
    module = case.factory(TOY).double().eval()
    x, kw = inputs(case, torch.float64)
    assert module(x, **kw).dtype == torch.float64


@pytest.mark.parametrize("layout", layouts.names())
def test_every_builtin_layout(layout: str) -> None:
    lay = layouts.get(layout)
    v = lay.num_joints
    x = torch.randn(2, 6, v, 3, generator=gen(10))
    lengths = torch.tensor([6, 3])
    assert STGCNBlock(3, 8, lay, adaptive="channelwise")(x).shape == (2, 6, v, 8)
    assert STBalancedFusion(3, lay)(x, lengths).shape == (2, 6, v, 3)
    assert STGCNEncoder(3, lay, widths=(4, 8), out_channels=5)(x, lengths).shape == (2, 5)
    assert SequenceEncoder(3, v, 4)(x, lengths).shape == (2, 8)


@pytest.mark.parametrize(
    "name", ["agc-attention", "agc-channelwise", "block", "fusion", "encoder", "sequence"]
)
def test_compiles_without_graph_breaks(name: str) -> None:
    """fullgraph=True raises on any graph break; aot_eager traces forward and backward without codegen."""
    case = CASES[name]
    module = randomize_parameters_(case.factory(TOY), gen(11)).eval()
    x, kw = inputs(case)
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager", dynamic=False)
    out = compiled(x.requires_grad_(), **kw)
    torch.testing.assert_close(out, module(x, **kw))
    out.sum().backward()
    assert x.grad is not None


def test_compiles_with_inductor() -> None:
    """One real inductor compile (C++ codegen on CPU), forward and backward, on a tiny adaptive graph conv."""
    module = randomize_parameters_(
        AdaptiveGraphConv(3, 4, TOY, adaptive="attention", embed_channels=2), gen(12)
    )
    x = torch.randn(2, 4, TOY.num_nodes, 3, generator=gen(13), requires_grad=True)
    compiled = torch.compile(module, fullgraph=True)
    out = compiled(x)
    torch.testing.assert_close(out, module(x), rtol=1e-4, atol=1e-5)
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    (ref,) = torch.autograd.grad(module(x).square().sum(), x)
    torch.testing.assert_close(grad, ref, rtol=1e-4, atol=1e-5)
