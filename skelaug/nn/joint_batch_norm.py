"""Batch normalisation per joint and channel (ST-GCN's ``data_bn``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelaug.nn._utils import check_btvc, check_positive_int

__all__ = ["JointBatchNorm"]


class JointBatchNorm(nn.Module):
    r"""Batch normalisation with separate statistics for every (joint, channel) pair.

    ST-GCN (Yan et al., AAAI 2018) normalises raw coordinates with one ``BatchNorm1d(V * C)`` (its
    ``data_bn``) so that, e.g., the hands and the hips get their own scale:

    .. math::

        x'_{b,t,v,c} = \gamma_{v,c}\,\frac{x_{b,t,v,c} - \mu_{v,c}}{\sqrt{\sigma^2_{v,c} + \epsilon}}
        + \beta_{v,c},

    with :math:`\mu, \sigma^2` over the batch and frames (running estimates in evaluation mode).

    Its parameters are per joint, so the layer is joint-permutation equivariant only if they are
    relabelled with the joints: :meth:`permute_joints_` does that.

    Args:
        num_joints: ``V``.
        channels: ``C``.
        eps: Added to the variance.
        momentum: Running-statistics momentum (as :class:`~torch.nn.BatchNorm1d`).

    Shapes:
        - **input:** ``(B, T, V, C)``
        - **output:** ``(B, T, V, C)``

    Example:
        >>> import torch
        >>> from skelaug.nn import JointBatchNorm
        >>> bn = JointBatchNorm(25, 3)
        >>> bn
        JointBatchNorm(joints=25, channels=3)
        >>> y = bn(torch.randn(4, 16, 25, 3) * 5 + 2)
        >>> bool(y.mean(dim=(0, 1)).abs().max() < 1e-5)
        True
    """

    running_mean: Tensor
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(self, num_joints: int, channels: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_joints = check_positive_int("num_joints", num_joints)
        self.channels = check_positive_int("channels", channels)
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.empty(num_joints, channels))
        self.bias = nn.Parameter(torch.empty(num_joints, channels))
        self.register_buffer("running_mean", torch.zeros(num_joints, channels))
        self.register_buffer("running_var", torch.ones(num_joints, channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Unit scale, zero shift, fresh running statistics."""
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)
        with torch.no_grad():
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    @torch.no_grad()
    def permute_joints_(self, perm: Tensor) -> None:
        """Relabel the per-joint parameters and statistics in place (new joint ``v`` = old ``perm[v]``)."""
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            t.copy_(t[perm.to(t.device)].clone())

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape ``(B, T, V, C)``."""
        check_btvc(type(self).__name__, x, self.channels, self.num_joints)
        if self.training:
            self.num_batches_tracked.add_(1)
        y = F.batch_norm(
            x.reshape(-1, self.num_joints * self.channels),
            self.running_mean.view(-1),
            self.running_var.view(-1),
            self.weight.view(-1),
            self.bias.view(-1),
            self.training,
            self.momentum,
            self.eps,
        )
        return y.view(x.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(joints={self.num_joints}, channels={self.channels})"
