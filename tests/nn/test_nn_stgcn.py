"""STGCNBlock and STGCNEncoder: composition, residual variants, strides, pooling over valid frames."""

from __future__ import annotations

import math

import pytest
import torch

from skelaug import layouts
from skelaug.nn import (
    QUARTER_WIDTHS,
    STGCN_WIDTHS,
    AdaptiveGraphConv,
    JointBatchNorm,
    STGCNBlock,
    STGCNEncoder,
)
from skelaug.nn._utils import PointwiseResidual
from skelaug.nn.testing import randomize_parameters_


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("cin", "cout", "stride", "residual", "kind"),
    [
        (8, 8, 1, True, "identity"),
        (4, 8, 1, True, "projection"),
        (8, 8, 2, True, "projection"),
        (8, 8, 1, False, "none"),
    ],
)
def test_block_is_relu_of_tcn_gcn_plus_residual(
    cin: int, cout: int, stride: int, residual: bool, kind: str
) -> None:
    block = STGCNBlock(cin, cout, layouts.get("mpi15"), stride=stride, residual=residual).double()
    randomize_parameters_(block, gen(0)).eval()
    x = torch.randn(2, 7, 15, cin, generator=gen(1), dtype=torch.float64)
    res: torch.Tensor | float
    if kind == "identity":
        assert isinstance(block.res, torch.nn.Identity)
        res = x
    elif kind == "projection":
        assert isinstance(block.res, PointwiseResidual)
        lin, bn = block.res.linear, block.res.norm.norm
        h = x[:, ::stride] @ lin.weight.t() + lin.bias
        res = (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias  # type: ignore[operator]
    else:
        assert block.res is None
        res = 0.0
    ref = torch.relu(block.tcn(block.gcn(x)) + res)
    y = block(x)
    assert y.shape == (2, math.ceil(7 / stride), 15, cout)
    torch.testing.assert_close(y, ref, rtol=1e-12, atol=1e-12)
    assert repr(block) == f"STGCNBlock({cin}, {cout}, stride={stride}, adaptive='offset')"


def test_encoder_default_and_quarter_configurations() -> None:
    full = STGCNEncoder(3, layouts.get("ntu25"))
    assert full.widths == STGCN_WIDTHS and full.strides == (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
    assert repr(full) == "STGCNEncoder(3, 256, blocks=10, joints=25)"
    quarter = STGCNEncoder(3, layouts.get("ntu25"), widths=QUARTER_WIDTHS, out_channels=128)
    assert repr(quarter) == "STGCNEncoder(3, 128, blocks=10, joints=25)"
    assert [b.out_channels for b in quarter.blocks] == list(QUARTER_WIDTHS)  # type: ignore[union-attr]
    assert quarter.blocks[0].res is None  # type: ignore[union-attr]  # first block: no residual (ST-GCN)
    n_full = sum(p.numel() for p in full.parameters())
    n_quarter = sum(p.numel() for p in quarter.parameters())
    assert 10 < n_full / n_quarter < 20  # convolutions scale with width squared


def test_encoder_pools_valid_frames_joints_and_persons() -> None:
    enc = STGCNEncoder(3, layouts.get("mpi15"), widths=(4, 8), adaptive="none").double()
    randomize_parameters_(enc, gen(2)).eval()
    x = torch.randn(2, 3, 9, 15, 3, generator=gen(3), dtype=torch.float64)  # (N, M, T, V, C)
    lengths = torch.tensor([9, 4])
    got = enc(x, lengths=lengths)
    assert enc.strides == (1, 2)
    h = enc.data_norm(x.reshape(6, 9, 15, 3))  # type: ignore[misc]
    for block in enc.blocks:
        h = block(h)
    assert h.shape == (6, 5, 15, 8)
    valid = [5, 5, 5, 2, 2, 2]  # ceil(9 / 2), ceil(4 / 2) per person
    feats = torch.stack([h[i, : valid[i]].mean(dim=(0, 1)) for i in range(6)]).view(2, 3, 8).mean(1)
    torch.testing.assert_close(got, feats, rtol=1e-12, atol=1e-12)
    # persons flattened into the batch give per-person features
    single = enc(x[:, 0], lengths=lengths)
    torch.testing.assert_close(single, torch.stack([h[0, :5].mean((0, 1)), h[3, :2].mean((0, 1))]))


def test_encoder_components() -> None:
    enc = STGCNEncoder(
        3, layouts.get("coco17"), widths=(4,), data_norm=False, out_channels=6, adaptive="attention"
    )
    assert enc.data_norm is None and enc.fc is not None
    gcn = enc.blocks[0].gcn  # type: ignore[union-attr]
    assert isinstance(gcn, AdaptiveGraphConv) and gcn.adaptive == "attention"
    assert enc(torch.randn(2, 5, 17, 3)).shape == (2, 6)
    assert isinstance(STGCNEncoder(3, layouts.get("coco17"), widths=(4,)).data_norm, JointBatchNorm)


def test_encoder_errors() -> None:
    lay = layouts.get("ntu25")
    with pytest.raises(ValueError, match="widths is empty"):
        STGCNEncoder(3, lay, widths=())
    with pytest.raises(ValueError, match="strides has 1 entries but widths has 2"):
        STGCNEncoder(3, lay, widths=(4, 8), strides=(1,))
    enc = STGCNEncoder(3, lay, widths=(4,))
    with pytest.raises(ValueError, match="V=17 joints"):
        enc(torch.randn(2, 5, 17, 3))
    with pytest.raises(ValueError, match=r"lengths contains 6, outside 1..T=5"):
        enc(torch.randn(2, 5, 25, 3), lengths=torch.tensor([6, 2]))


def test_forward_features_runs_inserted_modules_with_the_valid_lengths_of_their_depth() -> None:
    """``after_block`` = a hand-written loop over the blocks that calls the module there (the oracle)."""
    lay = layouts.get("mpi15")
    enc = STGCNEncoder(3, lay, widths=(4, 8, 8), strides=(1, 2, 2), adaptive="none").double()
    randomize_parameters_(enc, gen(4)).eval()
    seen: list[tuple[int, list[int]]] = []

    def scale(h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        seen.append((h.size(1), valid.tolist()))
        return h * 2.0 + 1.0

    x = torch.randn(2, 2, 9, 15, 3, generator=gen(5), dtype=torch.float64)
    lengths = torch.tensor([9, 3])
    h, valid = enc.forward_features(x, lengths, after_block={-2: scale})
    assert seen == [(5, [5, 5, 2, 2])] and valid is not None and valid.tolist() == [3, 3, 1, 1]
    want = enc.data_norm(x.reshape(4, 9, 15, 3))  # type: ignore[misc]
    for i, block in enumerate(enc.blocks):
        want = block(want)
        want = want * 2.0 + 1.0 if i == 1 else want
    torch.testing.assert_close(h, want, rtol=0, atol=0)
    pooled = torch.stack([want[i, : valid[i]].mean(dim=(0, 1)) for i in range(4)]).view(2, 2, 8).mean(1)
    torch.testing.assert_close(enc.pool(h, valid, persons=2), pooled, rtol=1e-12, atol=1e-12)
    # without hooks, features + pool are exactly forward
    h0, v0 = enc.forward_features(x, lengths)
    torch.testing.assert_close(enc.pool(h0, v0, persons=2), enc(x, lengths), rtol=0, atol=0)
    # without lengths a hook sees all frames
    seen.clear()
    enc.forward_features(x[:, 0], after_block={0: scale})
    assert seen == [(9, [9, 9])]
    with pytest.raises(ValueError, match=r"after_block has block index 3 but the encoder has 3 blocks"):
        enc.forward_features(x, lengths, after_block={3: scale})
