"""TemporalConv against an explicit per-tap implementation of the documented math."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from skelaug.nn import TemporalConv
from skelaug.nn.testing import randomize_parameters_


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def eval_norm(x: Tensor, bn: torch.nn.Module) -> Tensor:
    """Evaluation-mode batch norm over the last axis, written out."""
    inv = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return (x - bn.running_mean) * inv + bn.bias


def dilated_tap_sum(h: Tensor, w: Tensor, b: Tensor, stride: int, dilation: int) -> Tensor:
    """y[t'] = b + sum_i W_i h[t' * s + (i - (k - 1) / 2) * d], zero outside 0..T-1; h: (B, T, V, c)."""
    _, t, _, _ = h.shape
    k = w.size(2)
    out = []
    for tp in range(math.ceil(t / stride)):
        acc = b.expand(h.size(0), h.size(2), -1).clone()
        for i in range(k):
            src = tp * stride + (i - (k - 1) // 2) * dilation
            if 0 <= src < t:
                acc = acc + h[:, src] @ w[:, :, i, 0].t()
        out.append(acc)
    return torch.stack(out, dim=1)


def oracle(m: TemporalConv, x: Tensor) -> Tensor:
    s = m.stride
    h = eval_norm(x @ m.pre.weight.t() + m.pre.bias, m.pre_norm.norm)
    outs, start = [], 0
    for conv, d in zip(m.convs, m.dilations, strict=True):
        c = conv.out_channels
        outs.append(dilated_tap_sum(torch.relu(h[..., start : start + c]), conv.weight, conv.bias, s, d))
        start += c
    if m.pool_branch:
        c = m.widths[len(m.convs)]
        r = torch.relu(h[..., start : start + c])
        t = r.size(1)
        pooled = [r[:, max(0, tp * s - 1) : min(t, tp * s + 2)].amax(dim=1) for tp in range(math.ceil(t / s))]
        outs.append(torch.stack(pooled, dim=1))
        start += c
    if m.point_branch:
        outs.append(h[:, ::s, :, start:])
    y = eval_norm(torch.cat(outs, dim=-1), m.post_norm.norm)
    if m.res is not None:
        if isinstance(m.res, torch.nn.Identity):
            y = y + x
        else:
            lin, norm = m.res.linear, m.res.norm.norm
            y = y + eval_norm(x[:, ::s] @ lin.weight.t() + lin.bias, norm)
    return y


@pytest.mark.parametrize(
    ("cin", "cout", "k", "stride", "dilations", "pool", "point"),
    [
        (6, 8, 5, 1, (1, 2), True, True),
        (8, 8, 3, 2, (1, 2, 3), True, True),
        (5, 9, 5, 2, (1,), False, True),
        (4, 7, 3, 3, (2,), True, False),
        (4, 4, 1, 1, (), True, True),
    ],
)
def test_matches_per_tap_oracle(
    cin: int, cout: int, k: int, stride: int, dilations: tuple[int, ...], pool: bool, point: bool
) -> None:
    m = TemporalConv(cin, cout, k, stride, dilations, pool_branch=pool, point_branch=point).double()
    randomize_parameters_(m, gen(0)).eval()
    for t in (1, 7, 10):
        x = torch.randn(2, t, 3, cin, generator=gen(t), dtype=torch.float64)
        y = m(x)
        assert y.shape == (2, math.ceil(t / stride), 3, cout)
        torch.testing.assert_close(y, oracle(m, x), rtol=1e-10, atol=1e-10)


def test_branch_widths_split_unevenly() -> None:
    m = TemporalConv(4, 10, dilations=(1, 2))
    assert m.widths == (3, 3, 2, 2)
    assert [c.out_channels for c in m.convs] == [3, 3]


def test_output_is_contiguous_channels_last() -> None:
    y = TemporalConv(8, 8, 5, 2)(torch.randn(2, 9, 25, 8))
    assert y.is_contiguous()


def test_dropout_only_in_training() -> None:
    m = TemporalConv(4, 4, dropout=0.5).eval()
    x = torch.randn(2, 6, 5, 4, generator=gen(1))
    torch.testing.assert_close(m(x), m(x))


def test_repr() -> None:
    assert repr(TemporalConv(64, 128, 9, 2, (1, 2, 3))) == (
        "TemporalConv(64, 128, kernel_size=9, stride=2, dilations=(1, 2, 3))"
    )


def test_option_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="kernel_size=4; use an odd size"):
        TemporalConv(4, 4, 4)
    with pytest.raises(ValueError, match="stride=0"):
        TemporalConv(4, 4, 3, 0)
    with pytest.raises(ValueError, match="out_channels=3 is smaller than the number of branches"):
        TemporalConv(4, 3, dilations=(1, 2))
    with pytest.raises(ValueError, match="no branch"):
        TemporalConv(4, 4, dilations=(), pool_branch=False, point_branch=False)
    with pytest.raises(ValueError, match=r"dropout=1.5"):
        TemporalConv(4, 4, dropout=1.5)
    with pytest.raises(ValueError, match="C=3 channels"):
        TemporalConv(4, 4)(torch.randn(1, 5, 2, 3))
    with pytest.raises(ValueError, match=r"expected \(B, T, V, C\)"):
        TemporalConv(4, 4)(torch.randn(5, 2, 4))


def test_gradients_flow_through_every_branch() -> None:
    m = TemporalConv(4, 8, 3, 1, (1, 2))
    y = m(torch.randn(2, 6, 3, 4, generator=gen(2)))
    (y * torch.randn(y.shape, generator=gen(3))).sum().backward()
    for conv in m.convs:
        assert conv.weight.grad is not None and float(conv.weight.grad.abs().sum()) > 0
    assert m.pre.weight.grad is not None and bool((m.pre.weight.grad.abs().sum(1) > 0).all())
