"""STBalancedFusion and BalancedLateFusion against per-sample, per-frame loops of their documented math."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from skelaug import layouts
from skelaug.nn import BalancedLateFusion, STBalancedFusion
from skelaug.nn.testing import randomize_parameters_


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def eval_norm(x: Tensor, bn: torch.nn.Module) -> Tensor:
    return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def fusion_oracle(
    m: STBalancedFusion, x: Tensor, lengths: list[int], edges: tuple[tuple[int, int], ...]
) -> Tensor:
    """Loops over samples and frames; every quantity as written in the docstring."""
    bsz, t, v, c = x.shape
    e = m.embed_channels
    adj = torch.zeros(v, v, dtype=x.dtype)
    for i, j in edges:
        adj[i, j] = adj[j, i] = 1
    adj += torch.eye(v, dtype=x.dtype)
    deg = adj.sum(1)
    a_hat = adj / torch.sqrt(deg[:, None] * deg[None, :])
    out = torch.empty_like(x)
    for b in range(bsz):
        n = lengths[b]
        xb = x[b]
        ys = yt = None
        if m.spatial:
            assert m.s_qk is not None and m.s_value is not None and m.offset is not None
            mean = xb[:n].mean(0)  # (V, C)
            qk = mean @ m.s_qk.weight.t() + m.s_qk.bias
            q, k = qk[:, :e], qk[:, e:]
            att = torch.softmax(q @ k.t() / e**0.5, dim=1)
            g = a_hat + m.offset + att
            val = xb @ m.s_value.weight.t() + m.s_value.bias
            ys = torch.stack([g @ val[f] for f in range(t)])
        if m.temporal:
            assert m.t_qk is not None and m.t_value is not None
            mean = xb.mean(1)  # (T, C)
            qk = mean @ m.t_qk.weight.t() + m.t_qk.bias
            q, k = qk[:, :e], qk[:, e:]
            logits = q @ k.t() / e**0.5
            logits[:, n:] = float("-inf")
            g = torch.softmax(logits, dim=1)
            w = m.temporal_window
            band = torch.zeros(t, t, dtype=x.dtype)
            for f in range(t):
                for u in range(n):
                    if abs(f - u) <= w:
                        band[f, u] = 1
            band = band / band.sum(1, keepdim=True).clamp_min(1) if w > 0 else band * 0
            g = g + band
            val = xb @ m.t_value.weight.t() + m.t_value.bias
            yt = torch.stack([sum(g[f, u] * val[u] for u in range(t)) for f in range(t)])  # type: ignore[misc]
        if ys is not None and yt is not None:
            if m.squeeze is not None and m.excite is not None:
                desc = (ys + yt)[:n].mean(dim=(0, 1))
                hid = torch.relu(desc @ m.squeeze.weight.t() + m.squeeze.bias)
                logit = (hid @ m.excite.weight.t() + m.excite.bias).view(2, c)
                alpha = torch.softmax(logit, dim=0)
            else:
                alpha = torch.full((2, c), 0.5, dtype=x.dtype)
            z = alpha[0] * ys + alpha[1] * yt
        else:
            z = ys if ys is not None else yt
        assert z is not None
        out[b] = (xb if m.residual else 0) + eval_norm(z, m.norm.norm)
    return out


def make(name: str = "imigue22", **kw: object) -> STBalancedFusion:
    lay = layouts.get(name)
    m = STBalancedFusion(8, lay, **kw).double()  # type: ignore[arg-type]
    return randomize_parameters_(m, gen(0)).eval()  # type: ignore[return-value]


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"spatial": False},
        {"temporal": False},
        {"balance": "equal"},
        {"temporal_window": 0},
        {"temporal_window": 2, "residual": False},
    ],
)
def test_matches_loop_oracle(kw: dict[str, object]) -> None:
    m = make(**kw)
    x = torch.randn(3, 7, 22, 8, generator=gen(1), dtype=torch.float64)
    edges = layouts.get("imigue22").edges()
    torch.testing.assert_close(m(x), fusion_oracle(m, x, [7, 7, 7], edges), rtol=1e-10, atol=1e-10)
    lengths = [7, 4, 1]
    torch.testing.assert_close(
        m(x, lengths=torch.tensor(lengths)), fusion_oracle(m, x, lengths, edges), rtol=1e-10, atol=1e-10
    )


def test_identity_at_initialisation_and_repr() -> None:
    m = STBalancedFusion(16, layouts.get("ntu25"))
    x = torch.randn(2, 5, 25, 16, generator=gen(2))
    assert torch.equal(m(x), x)
    assert repr(m) == "STBalancedFusion(16, joints=25, spatial=True, temporal=True, balance='learned')"


def test_padded_frames_do_not_affect_valid_frames() -> None:
    m = make()
    x = torch.randn(2, 9, 22, 8, generator=gen(3), dtype=torch.float64)
    x2 = x.clone()
    x2[1, 5:] = torch.randn(4, 22, 8, generator=gen(4), dtype=torch.float64)
    lengths = torch.tensor([9, 5])
    torch.testing.assert_close(m(x, lengths)[1, :5], m(x2, lengths)[1, :5], rtol=0, atol=1e-12)


def test_balance_weights_are_per_channel_convex() -> None:
    m = make()
    w = m.balance_weights(torch.randn(3, 6, 22, 8, generator=gen(5), dtype=torch.float64))
    assert w.shape == (3, 2, 8)
    torch.testing.assert_close(w.sum(1), torch.ones(3, 8, dtype=torch.float64))
    assert float(w.detach().std()) > 0  # not a constant split
    only_t = make(spatial=False).balance_weights(torch.randn(1, 4, 22, 8, dtype=torch.float64))
    assert only_t[:, 0].eq(0).all() and only_t[:, 1].eq(1).all()


def test_ablation_switches_remove_parameters() -> None:
    names = {n for n, _ in STBalancedFusion(8, layouts.get("mpi15"), temporal=False).named_parameters()}
    assert not any(n.startswith(("t_", "squeeze", "excite")) for n in names) and "offset" in names
    names = {n for n, _ in STBalancedFusion(8, layouts.get("mpi15"), balance="equal").named_parameters()}
    assert not any(n.startswith(("squeeze", "excite")) for n in names)


def test_fusion_errors() -> None:
    with pytest.raises(ValueError, match="leave no branch"):
        STBalancedFusion(8, layouts.get("mpi15"), spatial=False, temporal=False)
    with pytest.raises(ValueError, match="balance='max'"):
        STBalancedFusion(8, layouts.get("mpi15"), balance="max")  # type: ignore[arg-type]
    m = STBalancedFusion(8, layouts.get("mpi15"))
    with pytest.raises(ValueError, match=r"lengths contains 9, outside 1..T=6"):
        m(torch.randn(2, 6, 15, 8), lengths=torch.tensor([6, 9]))
    with pytest.raises(ValueError, match=r"lengths has shape \(3,\)"):
        m(torch.randn(2, 6, 15, 8), lengths=torch.tensor([6, 6, 6]))
    with pytest.raises(TypeError, match=r"lengths has dtype torch.float32"):
        m(torch.randn(2, 6, 15, 8), lengths=torch.tensor([6.0, 6.0]))
    with pytest.raises(ValueError, match="V=14 joints"):
        m(torch.randn(2, 6, 14, 8))


# ----------------------------------------------------------------------------------- late fusion
def late_oracle(m: BalancedLateFusion, feats: list[Tensor]) -> Tensor:
    out = []
    for b in range(feats[0].size(0)):
        p = [f[b] @ lin.weight.t() + lin.bias for f, lin in zip(feats, m.proj, strict=True)]
        if m.squeeze is not None and m.excite is not None:
            hid = torch.relu(sum(p) @ m.squeeze.weight.t() + m.squeeze.bias)  # type: ignore[union-attr]
            alpha = torch.softmax((hid @ m.excite.weight.t() + m.excite.bias).view(len(p), -1), dim=0)
        else:
            alpha = torch.full((len(p), m.out_channels), 1 / len(p), dtype=feats[0].dtype)
        fused = sum(a * q for a, q in zip(alpha, p, strict=True))
        if m.norm is not None:
            fused = torch.nn.functional.layer_norm(
                fused, (m.out_channels,), m.norm.weight, m.norm.bias, m.norm.eps
            )  # type: ignore[arg-type]
        out.append(fused)
    return torch.stack(out)  # type: ignore[arg-type]


@pytest.mark.parametrize("kw", [{}, {"balance": "equal"}, {"norm": "none"}])
def test_late_fusion_matches_oracle(kw: dict[str, object]) -> None:
    m = BalancedLateFusion((6, 4, 5), 8, **kw).double()  # type: ignore[arg-type]
    randomize_parameters_(m, gen(6))
    feats = [torch.randn(3, d, generator=gen(7 + d), dtype=torch.float64) for d in (6, 4, 5)]
    torch.testing.assert_close(m(*feats), late_oracle(m, feats), rtol=1e-10, atol=1e-10)
    w = m.weights(*feats)
    torch.testing.assert_close(w.sum(1), torch.ones(3, 8, dtype=torch.float64))


def test_late_fusion_repr_and_errors() -> None:
    assert (
        repr(BalancedLateFusion((256, 128), 128)) == "BalancedLateFusion((256, 128), 128, balance='learned')"
    )
    with pytest.raises(ValueError, match="at least two streams"):
        BalancedLateFusion((8,), 4)
    m = BalancedLateFusion((4, 3), 2)
    with pytest.raises(ValueError, match="expects 2 feature tensors, got 1"):
        m(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"stream 1 has shape \(2, 4\); expected \(B, 3\)"):
        m(torch.randn(2, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match="norm='batch'"):
        BalancedLateFusion((4, 3), 2, norm="batch")  # type: ignore[arg-type]
