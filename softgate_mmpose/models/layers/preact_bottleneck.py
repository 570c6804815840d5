# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
from typing import Optional, Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from ..utils.fuse import norm_act_conv
from ..utils.strips import conv_chain_halo
from .soft_gated_skip import SoftGatedSkip


@MODELS.register_module()
class PreActBottleneck(BaseModule):
    """Pre-activation bottleneck residual block of the stacked hourglass.

    The residual module of `Newell et al. (ECCV 2016)
    <https://arxiv.org/abs/1603.06937>`_: norm → act → 1×1 conv (C/2),
    norm → act → 3×3 conv (C/2), norm → act → 1×1 conv (C), added to the
    skip path (1×1 projection when C_in ≠ C). The skip takes the same gates as
    :class:`HierarchicalBlock`; the hourglass baseline uses ``gate='none'``.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C, divisible by 2.
        gate (str): Gate of the skip, see :class:`SoftGatedSkip`.
            Defaults to ``'none'``.
        gate_init (float): Initial value of the gate α. Defaults to 1.
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
                 gate: str = 'none',
                 gate_init: float = 1.,
                 conv_bias: Union[bool, str] = 'auto',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if out_channels % 2 != 0:
            raise ValueError('PreActBottleneck needs an even out_channels, '
                             f'got {out_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        mid_channels = out_channels // 2
        layers = ((in_channels, mid_channels, 1), (mid_channels, mid_channels, 3),
                  (mid_channels, out_channels, 1))
        for i, (c_in, c_out, kernel) in enumerate(layers, 1):
            self.add_module(
                f'conv{i}',
                ConvModule(
                    c_in,
                    c_out,
                    kernel,
                    padding=kernel // 2,
                    bias=conv_bias,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    order=('norm', 'act', 'conv')))
        self.skip = SoftGatedSkip(
            in_channels,
            out_channels,
            gate=gate,
            gate_init=gate_init,
            bias=conv_bias,
            conv_cfg=conv_cfg)

    @property
    def halo(self) -> Optional[int]:
        """Rows of input context per output row in eval mode (1, from the
        3×3 conv), ``None`` if the block is not row-local; see
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
            return self.conv3(self.conv2(self.conv1(x))) + self.skip(x)
        # Eval: the same values with the norms folded into the convs and the
        # skip added in place (see softgate_mmpose.models.utils.fuse).
        out = norm_act_conv(self.conv3,
                            norm_act_conv(self.conv2,
                                          norm_act_conv(self.conv1, x)))
        return self.skip.add_to_(out, x)
