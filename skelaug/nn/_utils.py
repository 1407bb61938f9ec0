"""Internal helpers shared by the layers: option validation, channels-last normalisation, input checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NormKind: TypeAlias = Literal["batch", "layer", "none"]
NORM_KINDS: tuple[NormKind, ...] = ("batch", "layer", "none")


def check_choice(name: str, value: object, options: tuple[object, ...]) -> None:
    """``ValueError`` naming the option, the value and the choices."""
    if value not in options:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, options))}")


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r}; it must be an int >= {minimum}")
    return value


def check_probability(name: str, value: float) -> float:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name}={value!r}; it must lie in [0, 1)")
    return float(value)


def check_btvc(layer: str, x: Tensor, channels: int, num_nodes: int | None) -> None:
    """Validate a ``(B, T, V, C)`` input with clear messages (static shape checks: compile-friendly)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: x must be a torch.Tensor of shape (B, T, V, C), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(
            f"{layer}: x has shape {tuple(x.shape)}; expected (B, T, V, C) with joints on axis -2 and "
            f"channels last (flatten persons into the batch: x.reshape(N * M, T, V, C))"
        )
    if num_nodes is not None and x.size(-2) != num_nodes:
        raise ValueError(
            f"{layer}: x has V={x.size(-2)} joints (shape {tuple(x.shape)}) but the layer's graph has "
            f"{num_nodes}; build the layer for this skeleton or select joints first"
        )
    if x.size(-1) != channels:
        raise ValueError(
            f"{layer}: x has C={x.size(-1)} channels (shape {tuple(x.shape)}) but the layer expects "
            f"in_channels={channels}; channels are last: (B, T, V, C)"
        )


def check_lengths_tensor(lengths: Tensor, n: int, t: int, name: str = "lengths") -> Tensor:
    """Validate valid frame counts ``(N,)`` (integers in ``1..T``) and return them as long.

    Value checks need the data on the host, so they are skipped while ``torch.compile`` traces.
    """
    if not isinstance(lengths, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape ({n},), got {type(lengths).__name__}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise TypeError(
            f"{name} has dtype {lengths.dtype}; valid frame counts must be integers (use .long())"
        )
    if lengths.shape != (n,):
        raise ValueError(
            f"{name} has shape {tuple(lengths.shape)}; expected ({n},), one valid length per sample"
        )
    if not torch.compiler.is_compiling() and n > 0:
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 1 or hi > t:
            bad = lo if lo < 1 else hi
            raise ValueError(
                f"{name} contains {bad}, outside 1..T={t}; each valid length counts at least one frame and "
                f"at most the padded length T"
            )
    return lengths.long()


def permute_square_(t: Tensor, perm: Tensor) -> None:
    """Relabel a ``(..., V, V)`` tensor in place: ``t[..., i, j] <- t[..., perm[i], perm[j]]``."""
    with torch.no_grad():
        t.copy_(t[..., perm, :][..., perm].clone())


def kaiming_fan_out_(weight: Tensor, fan_out: int) -> None:
    """He-normal initialisation with ``fan_out`` (``conv_init`` of 2s-AGCN / CTR-GCN for 1x1 convs)."""
    with torch.no_grad():
        weight.normal_(0.0, math.sqrt(2.0 / fan_out))


class GraphModule(nn.Module):
    """Base for layers with fixed graph buffers (partitions) derived from the constructor's graph.

    The buffers are not saved state (``persistent=False``: they are rebuilt from the graph). A float64
    master copy is kept so that ``.double()`` after construction in float32 gives the exact float64
    matrix again instead of a widened float32 rounding.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # keyword arguments reach a cooperative base (PyG's MessagePassing)
        self._graph_masters: dict[str, Tensor] = {}

    def register_graph_buffer(self, name: str, value: Tensor) -> None:
        self._graph_masters[name] = value.detach().to(device="cpu", dtype=torch.float64)
        self.register_buffer(name, value.to(torch.get_default_dtype()), persistent=False)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> GraphModule:
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        for name, master in self._graph_masters.items():
            cur = self._buffers[name]
            if cur is not None:
                self._buffers[name] = master.to(device=cur.device, dtype=cur.dtype)
        return self


class ChannelNorm(nn.Module):
    """Normalise the last (channel) axis of a channels-last tensor ``(..., C)``.

    ``batch``: :class:`~torch.nn.BatchNorm1d` statistics over every axis but the last; ``layer``:
    :class:`~torch.nn.LayerNorm` over ``C``; ``none``: identity. ``zero_init`` starts the scale at 0
    (a branch that begins switched off).
    """

    def __init__(self, channels: int, kind: NormKind = "batch", zero_init: bool = False) -> None:
        super().__init__()
        check_choice("norm", kind, NORM_KINDS)
        self.channels = channels
        self.kind = kind
        self.zero_init = zero_init
        self.norm: nn.Module
        if kind == "batch":
            self.norm = nn.BatchNorm1d(channels)
        elif kind == "layer":
            self.norm = nn.LayerNorm(channels)
        else:
            self.norm = nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if isinstance(self.norm, nn.BatchNorm1d | nn.LayerNorm):
            self.norm.reset_parameters()
            if self.zero_init:
                nn.init.zeros_(self.norm.weight)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "batch":
            return self.norm(x.reshape(-1, self.channels)).view(x.shape)  # type: ignore[no-any-return]
        return self.norm(x)  # type: ignore[no-any-return]


class PointwiseResidual(nn.Module):
    """Residual projection: ``norm(x[:, ::stride] W + b)`` on ``(B, T, V, C_in)`` (a strided 1x1 conv)."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, norm: NormKind = "batch"
    ) -> None:
        super().__init__()
        self.stride = stride
        self.linear = nn.Linear(in_channels, out_channels)
        self.norm = ChannelNorm(out_channels, norm)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        kaiming_fan_out_(self.linear.weight, self.linear.out_features)
        nn.init.zeros_(self.linear.bias)
        self.norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = x[:, :: self.stride]
        return self.norm(F.linear(x, self.linear.weight, self.linear.bias))  # type: ignore[no-any-return]
