# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Exact folds of linear layers into convolutions, used by the modules'
``switch_to_deploy``. Each returns new tensors; the caller installs them."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = [
    'compose_1x1', 'fold_norm_into_conv', 'fuse_conv_module_norm',
    'is_plain_conv', 'set_conv_params'
]


def fold_norm_into_conv(weight: Tensor, bias: Optional[Tensor],
                        norm: _BatchNorm) -> Tuple[Tensor, Tensor]:
    """Weights of ``norm(conv(x))`` as one conv, with eval statistics.

    ``norm(y) = s ⊙ y + t`` per output channel with
    ``s = γ / sqrt(var + ε)`` and ``t = β - s ⊙ mean``, so the conv's
    output channel o is scaled by ``s_o`` and its bias becomes
    ``s ⊙ b + t``.

    Args:
        weight (Tensor): Conv weight, shape (C_out, C_in / g, kh, kw).
        bias (Tensor, optional): Conv bias, shape (C_out, ).
        norm (_BatchNorm): The norm after the conv, over C_out channels.

    Returns:
        tuple[Tensor, Tensor]: The folded weight and bias.
    """
    scale = torch.rsqrt(norm.running_var + norm.eps)
    shift = -norm.running_mean * scale
    if norm.weight is not None:
        scale = scale * norm.weight
        shift = shift * norm.weight + norm.bias
    if bias is not None:
        shift = shift + scale * bias
    return weight * scale.reshape(-1, 1, 1, 1), shift


def compose_1x1(outer: nn.Conv2d, inner: nn.Conv2d) -> Tuple[Tensor, Tensor]:
    """Weights of ``outer(inner(x))`` for a 1×1 ``outer`` conv.

    A 1×1 conv is a per-pixel linear map, so it composes with any conv
    before it: ``W = W_outer · W_inner`` over channels and
    ``b = W_outer · b_inner + b_outer``.

    Args:
        outer (nn.Conv2d): 1×1 conv, stride 1, no groups.
        inner (nn.Conv2d): Conv without groups.

    Returns:
        tuple[Tensor, Tensor]: Weight (C_out, C_in, kh, kw) of ``inner``'s
        kernel size and bias (C_out, ).
    """
    w_outer = outer.weight.flatten(1)  # (C_out, C_mid)
    weight = torch.einsum('om,mikl->oikl', w_outer, inner.weight)
    bias = torch.zeros(outer.out_channels, dtype=weight.dtype)
    if inner.bias is not None:
        bias = w_outer @ inner.bias
    if outer.bias is not None:
        bias = bias + outer.bias
    return weight, bias


def set_conv_params(conv: nn.Conv2d, weight: Tensor, bias: Tensor) -> None:
    """Install a folded weight and bias in ``conv`` (a bias is added if it
    had none)."""
    conv.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
    conv.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)


def is_plain_conv(module: nn.Module, kernel_size: int = None) -> bool:
    """Whether ``module`` is a plain ``nn.Conv2d`` (no subclass, no groups,
    zero padding), optionally of the given square kernel size."""
    return (type(module) is nn.Conv2d and module.groups == 1
            and module.padding_mode == 'zeros'
            and (kernel_size is None
                 or module.kernel_size == (kernel_size, kernel_size)))


def fuse_conv_module_norm(module: ConvModule) -> bool:
    """Fold the eval-mode BN of a conv → norm (→ act) ``ConvModule`` into
    its conv, in place; the module then runs conv (→ act).

    Returns:
        bool: Whether it was folded (False for other orders, norms other
        than BN, or conv types other than ``nn.Conv2d``).
    """
    if not (module.with_norm
            and module.order.index('conv') < module.order.index('norm')
            and isinstance(module.norm, _BatchNorm)
            and is_plain_conv(module.conv)):
        return False
    weight, bias = fold_norm_into_conv(module.conv.weight, module.conv.bias,
                                       module.norm)
    set_conv_params(module.conv, weight, bias)
    delattr(module, module.norm_name)
    module.with_norm = False
    module.with_bias = True
    return True
