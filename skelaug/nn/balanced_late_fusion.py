"""Late fusion of several streams' feature vectors with learned per-channel balancing weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelaug.nn._utils import check_choice, check_positive_int
from skelaug.nn.st_balanced_fusion import BALANCE_MODES, BalanceMode

__all__ = ["BalancedLateFusion"]


class BalancedLateFusion(nn.Module):
    r"""Balanced late fusion of ``S`` streams' features (the late variant of :class:`STBalancedFusion`).

    Each stream's feature :math:`f_s \in \mathbb{R}^{D_s}` (e.g. the graph stream's and the recurrent
    stream's) is projected to a common width, :math:`p_s = f_s W_s + b_s \in \mathbb{R}^{D}`; a
    squeeze-excite bottleneck on their sum gives per-channel weights that sum to one over the streams:

    .. math::

        \alpha_{\cdot,d} = \operatorname{softmax}_{s}\Big(\big[W_2\,\mathrm{ReLU}(W_1 \textstyle\sum_s p_s
        + c_1) + c_2\big]_{s,d}\Big), \qquad f = \mathrm{LN}\Big(\sum_s \alpha_s \odot p_s\Big).

    ``balance='equal'`` replaces :math:`\alpha_s` by :math:`1/S` (the ablation); ``norm='none'``
    drops the final layer normalisation.

    Args:
        in_channels: Feature width of every stream (at least two streams).
        out_channels: Fused width ``D``.
        reduction: Bottleneck ``D -> max(4, D // reduction)``.
        balance: ``'learned'`` or ``'equal'``.
        norm: ``'layer'`` or ``'none'``.

    Shapes:
        - **input:** ``S`` tensors ``(B, D_s)``
        - **output:** ``(B, D)``

    Example:
        >>> import torch
        >>> from skelaug.nn import BalancedLateFusion
        >>> fuse = BalancedLateFusion((256, 128), 128)
        >>> fuse
        BalancedLateFusion((256, 128), 128, balance='learned')
        >>> fuse(torch.randn(4, 256), torch.randn(4, 128)).shape
        torch.Size([4, 128])
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        *,
        reduction: int = 4,
        balance: BalanceMode = "learned",
        norm: Literal["layer", "none"] = "layer",
    ) -> None:
        super().__init__()
        ins = tuple(in_channels)
        if len(ins) < 2:
            raise ValueError(f"in_channels={ins}; late fusion needs at least two streams")
        for d in ins:
            check_positive_int("in_channels entries", d)
        check_positive_int("out_channels", out_channels)
        check_positive_int("reduction", reduction)
        check_choice("balance", balance, BALANCE_MODES)
        check_choice("norm", norm, ("layer", "none"))
        self.in_channels = ins
        self.out_channels = out_channels
        self.balance = balance
        self.proj = nn.ModuleList(nn.Linear(d, out_channels) for d in ins)
        hidden = max(4, out_channels // reduction)
        self.squeeze = nn.Linear(out_channels, hidden) if balance == "learned" else None
        self.excite = nn.Linear(hidden, len(ins) * out_channels) if balance == "learned" else None
        self.norm = nn.LayerNorm(out_channels) if norm == "layer" else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation of every linear map and of the layer norm."""
        for lin in (*self.proj, self.squeeze, self.excite, self.norm):
            if lin is not None:
                lin.reset_parameters()

    def weights(self, *features: Tensor) -> Tensor:
        """The balancing weights ``(B, S, D)`` (rows sum to one over streams)."""
        return self._fuse(features)[1]

    def forward(self, *features: Tensor) -> Tensor:
        """Fuse ``S`` feature tensors ``(B, D_s)`` into ``(B, D)``."""
        fused = self._fuse(features)[0]
        return self.norm(fused) if self.norm is not None else fused

    def _fuse(self, features: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        name = type(self).__name__
        if len(features) != len(self.in_channels):
            raise ValueError(f"{name} expects {len(self.in_channels)} feature tensors, got {len(features)}")
        for i, (f, d) in enumerate(zip(features, self.in_channels, strict=True)):
            if not isinstance(f, Tensor) or f.dim() != 2 or f.size(1) != d:
                shape = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
                raise ValueError(f"{name}: stream {i} has shape {shape}; expected (B, {d})")
        p = torch.stack([proj(f) for proj, f in zip(self.proj, features, strict=True)], dim=1)  # (B, S, D)
        b, s, d = p.shape
        if self.squeeze is not None and self.excite is not None:
            w = torch.softmax(self.excite(F.relu(self.squeeze(p.sum(dim=1)))).view(b, s, d), dim=1)
        else:
            w = p.new_full((b, s, d), 1.0 / s)
        return (w * p).sum(dim=1), w

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, balance={self.balance!r})"
