# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
from typing import Optional, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from ..utils.fuse import norm_act_conv
from ..utils.strips import conv_chain_halo
from .soft_gated_skip import SoftGatedSkip


@MODELS.register_module()
class HierarchicalBlock(BaseModule):
    """Hierarchical, parallel and multi-scale block with a soft-gated skip.

    The block of `Bulat & Tzimiropoulos (ICCV 2017)
    <https://arxiv.org/abs/1703.00862>`_ as used by `Bulat et al. (FG 2020)
    <https://arxiv.org/abs/2002.11098>`_: three pre-activation
    (norm → act → 3×3 conv) layers in sequence with C/2, C/4 and C/4 output
    channels, whose outputs are concatenated to C channels (receptive fields
    of 3, 5 and 7 pixels) and added to the gated skip.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C, divisible by 4.
        gate (str): Gate of the skip, see :class:`SoftGatedSkip`.
            Defaults to ``'channel'``.
        gate_init (float): Initial value of the gate α. Defaults to 0.
        conv_bias (bool | str): Bias of every conv, see
            :class:`mmcv.cnn.ConvModule`. Defaults to ``'auto'``.
        conv_cfg (dict, optional): Config of conv layers.
        norm_cfg (dict): Config of norm layers. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Config of activation layers.
            Defaults to ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialization config.

    Shapes:
        - x: (N, C_in, H, W) → (N, C, H, W)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 gate: str = 'channel',
                 gate_init: float = 0.,
                 conv_bias: Union[bool, str] = 'auto',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if out_channels % 4 != 0:
            raise ValueError('HierarchicalBlock needs out_channels divisible '
                             f'by 4, got {out_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        branch_channels = (out_channels // 2, out_channels // 4,
                           out_channels // 4)
        layer_in = in_channels
        for i, channels in enumerate(branch_channels, 1):
            self.add_module(
                f'conv{i}',
                ConvModule(
                    layer_in,
                    channels,
                    3,
                    padding=1,
                    bias=conv_bias,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    order=('norm', 'act', 'conv')))
            layer_in = channels
        self.skip = SoftGatedSkip(
            in_channels,
            out_channels,
            gate=gate,
            gate_init=gate_init,
            bias=conv_bias,
            conv_cfg=conv_cfg)

    @property
    def halo(self) -> Optional[int]:
        """Rows of input context per output row in eval mode (3 for the
        three chained 3×3 convs; the skip is 1×1), ``None`` if the block is
        not row-local; see
        :func:`~softgate_mmpose.models.utils.strips.forward_in_strips`."""
        halo = conv_chain_halo((self.conv1, self.conv2, self.conv3))
        return None if self.skip.halo is None else halo

    def forward(self, x: Tensor) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): Input features, shape (N, C_in, H, W).

        Returns:
            Tensor: Output features, shape (N, C, H, W).
        """
        if self.training:
            out1 = self.conv1(x)
            out2 = self.conv2(out1)
            out3 = self.conv3(out2)
            return torch.cat((out1, out2, out3), dim=1) + self.skip(x)
        # Eval: the same values with the norms folded into the convs and the
        # gated skip added in place (see softgate_mmpose.models.utils.fuse).
        if self.skip.projection is None:
            out1 = norm_act_conv(self.conv1, x)
            out2 = norm_act_conv(self.conv2, out1)
            out3 = norm_act_conv(self.conv3, out2)
            return self.skip.add_to_(torch.cat((out1, out2, out3), dim=1), x)
        # The projected skip is a fresh tensor: accumulate each branch into
        # its channel range instead of allocating a concatenation.
        out = self.skip.gated_projection(x)
        branch, start = x, 0
        for conv in (self.conv1, self.conv2, self.conv3):
            branch = norm_act_conv(conv, branch)
            out[:, start:start + branch.shape[1]].add_(branch)
            start += branch.shape[1]
        return out
