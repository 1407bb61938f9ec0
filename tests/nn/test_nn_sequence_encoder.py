"""SequenceEncoder against torch.nn.GRU run on every sample truncated to its valid length."""

from __future__ import annotations

import pytest
import torch

from skelaug.nn import SequenceEncoder
from skelaug.nn.testing import randomize_parameters_


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def reference_gru(enc: SequenceEncoder) -> torch.nn.GRU:
    gru = torch.nn.GRU(
        enc.num_joints * enc.in_channels if enc.embed is None else enc.embed.out_features,
        enc.hidden_channels,
        enc.num_layers,
        batch_first=True,
        bidirectional=enc.bidirectional,
    ).double()
    state = {k: v for k, v in enc.state_dict().items() if not k.startswith(("embed.", "fc."))}
    gru.load_state_dict(state)  # same parameter names: a strict load must succeed
    return gru.eval()


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("embed", [None, 6])
def test_matches_per_sample_nn_gru(bidirectional: bool, pooling: str, embed: int | None) -> None:
    enc = SequenceEncoder(
        3,
        5,
        7,
        num_layers=2,
        bidirectional=bidirectional,
        pooling=pooling,  # type: ignore[arg-type]
        embed_channels=embed,
    ).double()
    randomize_parameters_(enc, gen(0)).eval()
    gru = reference_gru(enc)
    x = torch.randn(4, 9, 5, 3, generator=gen(1), dtype=torch.float64)
    lengths = [9, 5, 1, 8]
    got = enc(x, lengths=torch.tensor(lengths))
    for b, n in enumerate(lengths):
        seq = x[b : b + 1, :n].reshape(1, n, 15)
        if enc.embed is not None:
            seq = torch.relu(enc.embed(seq))
        out, h_n = gru(seq)
        if pooling == "last":
            ref = torch.cat([h_n[-2, 0], h_n[-1, 0]]) if bidirectional else h_n[-1, 0]
        else:
            ref = out[0].mean(0)
        torch.testing.assert_close(got[b], ref, rtol=1e-10, atol=1e-10)
    # without lengths every sample is full length: the one-call path agrees with the per-direction path
    full = torch.full((4,), 9)
    torch.testing.assert_close(enc(x), enc(x, lengths=full), rtol=1e-10, atol=1e-10)


def test_padding_content_is_ignored_with_lengths() -> None:
    enc = SequenceEncoder(2, 3, 4).double().eval()
    x = torch.randn(2, 6, 3, 2, generator=gen(2), dtype=torch.float64)
    y = x.clone()
    y[0, 3:] = 100.0
    lengths = torch.tensor([3, 6])
    torch.testing.assert_close(enc(x, lengths), enc(y, lengths), rtol=0, atol=0)


def test_persons_are_averaged_and_output_projection() -> None:
    enc = SequenceEncoder(2, 3, 4, out_channels=5).eval()
    x = torch.randn(2, 3, 6, 3, 2, generator=gen(3))
    per_person = torch.stack([enc(x[:, m]) for m in range(3)], dim=1).mean(1)
    torch.testing.assert_close(enc(x), per_person)
    assert enc(x).shape == (2, 5)


def test_repr_and_errors() -> None:
    assert repr(SequenceEncoder(3, 25, 128, num_layers=1, bidirectional=False)) == (
        "SequenceEncoder(3, 128, joints=25, layers=1, bidirectional=False)"
    )
    enc = SequenceEncoder(3, 25, 8)
    with pytest.raises(ValueError, match="V=22 joints and C=3 channels, but the encoder was built for V=25"):
        enc(torch.randn(2, 4, 22, 3))
    with pytest.raises(ValueError, match=r"expected \(B, T, V, C\) or \(N, M, T, V, C\)"):
        enc(torch.randn(4, 25, 3))
    with pytest.raises(ValueError, match="lengths contains 0"):
        enc(torch.randn(2, 4, 25, 3), lengths=torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="pooling='max'"):
        SequenceEncoder(3, 25, pooling="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_layers=0"):
        SequenceEncoder(3, 25, num_layers=0)
