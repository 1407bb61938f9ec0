"""Recurrent temporal stream: a (bidirectional) GRU over flattened joints, pooled to one vector."""

from __future__ import annotations

import math
from typing import Literal, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelaug.nn._utils import check_choice, check_lengths_tensor, check_positive_int, check_probability

__all__ = ["SequenceEncoder", "SequencePooling"]

SequencePooling: TypeAlias = Literal["last", "mean"]


def _reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse every sequence of ``x`` ``(B, T, F)`` within its valid length; padded steps stay put."""
    t = x.size(1)
    pos = torch.arange(t, device=x.device).unsqueeze(0)  # (1, T)
    n = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    idx = torch.where(pos < n, n - 1 - pos, pos)  # (B, T)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


class SequenceEncoder(nn.Module):
    r"""Recurrent encoder of a skeleton sequence: a GRU over the frames, joints flattened into features.

    The recurrent stream of dual-stream (graph + recurrent) skeleton models, as in the BiGRU encoders
    of PCRP/MS2L-style self-supervised methods. Every frame :math:`x_t \in \mathbb{R}^{V \times C}` is
    flattened to :math:`\mathbb{R}^{VC}` (optionally embedded, :math:`\mathrm{ReLU}(x_t W_e + b_e)`) and
    fed to an ``num_layers``-layer (bidirectional) GRU (Cho et al., 2014):

    .. math::

        r_t &= \sigma(W_{ir} u_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \quad
        z_t = \sigma(W_{iz} u_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}), \\
        n_t &= \tanh(W_{in} u_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})), \quad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.

    The feature is, with ``pooling='last'``, the forward state at the last valid frame concatenated
    with the backward state at the first frame, or, with ``pooling='mean'``, the mean of the top
    layer's outputs over the valid frames; ``out_channels`` adds a final linear map.

    The whole sequence goes through ATen's fused GRU in one call (no Python loop over frames). With
    ``lengths``, each direction of each layer is one call: the backward direction runs on each sample
    reversed *within its valid length*, so padding never enters a valid state, and nothing depends on
    data-dependent shapes (unlike ``pack_padded_sequence``), which keeps ``torch.compile(fullgraph=True)``
    working. Parameters carry :class:`torch.nn.GRU`'s names (``weight_ih_l0``, ``bias_hh_l1_reverse``,
    ...), so a :class:`~torch.nn.GRU` state dict loads directly.

    Args:
        in_channels: Channels ``C`` per joint.
        num_joints: Joints ``V``.
        hidden_channels: GRU state width ``H`` per direction.
        num_layers: Stacked GRU layers.
        bidirectional: Add the backward direction.
        embed_channels: Width of the per-frame input embedding (``None``: the GRU reads ``V*C``).
        out_channels: Width of the final linear map (``None``: no map).
        pooling: ``'last'`` or ``'mean'``.
        dropout: Dropout between GRU layers.

    Shapes:
        - **input:** ``(B, T, V, C)`` or ``(N, M, T, V, C)`` (persons averaged); ``lengths`` ``(B,)``
        - **output:** ``(B, F)``, ``F = out_channels or H * (2 if bidirectional else 1)``

    Example:
        >>> import torch
        >>> from skelaug.nn import SequenceEncoder
        >>> enc = SequenceEncoder(3, 22, hidden_channels=64)
        >>> enc
        SequenceEncoder(3, 128, joints=22, layers=2, bidirectional=True)
        >>> enc(torch.randn(4, 40, 22, 3), lengths=torch.tensor([40, 25, 7, 40])).shape
        torch.Size([4, 128])
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        hidden_channels: int = 256,
        *,
        num_layers: int = 2,
        bidirectional: bool = True,
        embed_channels: int | None = None,
        out_channels: int | None = None,
        pooling: SequencePooling = "last",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive_int("in_channels", in_channels)
        check_positive_int("num_joints", num_joints)
        check_positive_int("hidden_channels", hidden_channels)
        check_positive_int("num_layers", num_layers)
        check_choice("pooling", pooling, ("last", "mean"))
        if embed_channels is not None:
            check_positive_int("embed_channels", embed_channels)
        if out_channels is not None:
            check_positive_int("out_channels", out_channels)
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.dropout = check_probability("dropout", dropout)
        self.num_directions = 2 if bidirectional else 1
        state = hidden_channels * self.num_directions
        self.out_channels = out_channels if out_channels is not None else state
        self.embed = (
            nn.Linear(num_joints * in_channels, embed_channels) if embed_channels is not None else None
        )
        gru_in = embed_channels if embed_channels is not None else num_joints * in_channels
        self._weight_names: list[str] = []
        for layer in range(num_layers):
            width = gru_in if layer == 0 else state
            for sfx in ("", "_reverse")[: self.num_directions]:
                shapes = {
                    f"weight_ih_l{layer}{sfx}": (3 * hidden_channels, width),
                    f"weight_hh_l{layer}{sfx}": (3 * hidden_channels, hidden_channels),
                    f"bias_ih_l{layer}{sfx}": (3 * hidden_channels,),
                    f"bias_hh_l{layer}{sfx}": (3 * hidden_channels,),
                }
                for name, shape in shapes.items():
                    self.register_parameter(name, nn.Parameter(torch.empty(shape)))
                    self._weight_names.append(name)
        self.fc = nn.Linear(state, out_channels) if out_channels is not None else None
        self.reset_parameters()

    def _weights(self, layer: int | None = None, direction: int | None = None) -> list[Tensor]:
        """GRU parameters in ATen order (layer, direction, then ih/hh weights and biases)."""
        names = self._weight_names
        if layer is not None and direction is not None:
            start = (layer * self.num_directions + direction) * 4
            names = names[start : start + 4]
        return [getattr(self, n) for n in names]

    def reset_parameters(self) -> None:
        """GRU weights :math:`\\mathcal U(-1/\\sqrt H, 1/\\sqrt H)` (as :class:`torch.nn.GRU`), linear maps
        as :class:`torch.nn.Linear`."""
        bound = 1.0 / math.sqrt(self.hidden_channels)
        for w in self._weights():
            nn.init.uniform_(w, -bound, bound)
        if self.embed is not None:
            self.embed.reset_parameters()
        if self.fc is not None:
            self.fc.reset_parameters()

    @torch.no_grad()
    def permute_joints_(self, perm: Tensor) -> None:
        """Relabel the joint-indexed input columns (new joint ``v`` = old ``perm[v]``) in place."""
        v, c = self.num_joints, self.in_channels
        targets = (
            [self.embed.weight] if self.embed is not None else self._weights()[0::4][: self.num_directions]
        )
        for w in targets:
            w.copy_(w.view(w.size(0), v, c)[:, perm.to(w.device)].reshape(w.size(0), v * c))

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Encode ``x`` (``(B, T, V, C)`` or ``(N, M, T, V, C)``) with optional valid ``lengths``."""
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.dim() not in (4, 5):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{name}: x has shape {shape}; expected (B, T, V, C) or (N, M, T, V, C)")
        if x.shape[-2:] != (self.num_joints, self.in_channels):
            raise ValueError(
                f"{name}: x has shape {tuple(x.shape)}, i.e. V={x.size(-2)} joints and "
                f"C={x.size(-1)} channels, but the encoder was built for V={self.num_joints}, "
                f"C={self.in_channels}"
            )
        n, persons = int(x.size(0)), (int(x.size(1)) if x.dim() == 5 else 1)
        t = int(x.size(-3))
        h = x.reshape(n * persons, t, self.num_joints * self.in_channels)
        if lengths is not None:
            lengths = check_lengths_tensor(lengths, n, t)
            if persons > 1:
                lengths = lengths.repeat_interleave(persons)
        if self.embed is not None:
            h = F.relu(self.embed(h))
        b, hid, dirs = h.size(0), self.hidden_channels, self.num_directions
        if lengths is None:
            h0 = h.new_zeros(self.num_layers * dirs, b, hid)
            out, _ = torch.gru(
                h,
                h0,
                self._weights(),
                True,
                self.num_layers,
                self.dropout,
                self.training,
                self.bidirectional,
                True,
            )
            last_fwd, first_bwd = out[:, -1, :hid], out[:, 0, hid:]
        else:
            out = h
            h0 = h.new_zeros(1, b, hid)
            for layer in range(self.num_layers):
                if layer > 0 and self.dropout > 0:
                    out = F.dropout(out, self.dropout, self.training)
                fwd, _ = torch.gru(out, h0, self._weights(layer, 0), True, 1, 0.0, self.training, False, True)
                if self.bidirectional:
                    bwd, _ = torch.gru(
                        _reverse_within(out, lengths),
                        h0,
                        self._weights(layer, 1),
                        True,
                        1,
                        0.0,
                        self.training,
                        False,
                        True,
                    )
                    out = torch.cat([fwd, _reverse_within(bwd, lengths)], dim=-1)
                else:
                    out = fwd
            idx = (lengths.to(out.device) - 1).view(b, 1, 1).expand(b, 1, out.size(-1))
            last_fwd, first_bwd = out.gather(1, idx)[:, 0, :hid], out[:, 0, hid:]
        if self.pooling == "last":
            feat = torch.cat([last_fwd, first_bwd], dim=-1) if self.bidirectional else last_fwd
        elif lengths is None:
            feat = out.mean(dim=1)
        else:
            mask = (torch.arange(t, device=out.device) < lengths.to(out.device).unsqueeze(1)).to(out.dtype)
            feat = torch.einsum("btf,bt->bf", out, mask) / lengths.to(out.dtype).unsqueeze(1)
        feat = feat.view(n, persons, -1).mean(dim=1)
        return self.fc(feat) if self.fc is not None else feat

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.out_channels}, joints={self.num_joints}, "
            f"layers={self.num_layers}, bidirectional={self.bidirectional})"
        )
