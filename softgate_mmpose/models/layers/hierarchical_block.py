# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Union

import torch
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .preact_block import PreActResidualBlock


@MODELS.register_module()
class HierarchicalBlock(PreActResidualBlock):
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
        norm_cfg (dict): Config of norm layers.
            Defaults to ``dict(type='BN')``.
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
        if out_channels % 4 != 0:
            raise ValueError('HierarchicalBlock needs out_channels divisible '
                             f'by 4, got {out_channels}')
        super().__init__(
            in_channels,
            out_channels,
            gate=gate,
            gate_init=gate_init,
            conv_bias=conv_bias,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            init_cfg=init_cfg)

    def _build_residual(self, in_channels: int, out_channels: int) -> None:
        self.conv1 = self._preact_conv(in_channels, out_channels // 2, 3)
        self.conv2 = self._preact_conv(out_channels // 2, out_channels // 4, 3)
        self.conv3 = self._preact_conv(out_channels // 4, out_channels // 4, 3)

    def residual(self, x: Tensor) -> Tensor:
        """The three chained convs, concatenated.

        Args:
            x (Tensor): Input features, shape (N, C_in, H, W).

        Returns:
            Tensor: (N, C, H, W): C/2, C/4 and C/4 channels of receptive
            fields 3, 5 and 7.
        """
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        return torch.cat((out1, out2, out3), dim=1)
