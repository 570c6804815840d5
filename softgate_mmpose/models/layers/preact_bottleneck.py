# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Union

from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .preact_block import PreActResidualBlock


@MODELS.register_module()
class PreActBottleneck(PreActResidualBlock):
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
                 gate: str = 'none',
                 gate_init: float = 1.,
                 conv_bias: Union[bool, str] = 'auto',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None):
        if out_channels % 2 != 0:
            raise ValueError('PreActBottleneck needs an even out_channels, '
                             f'got {out_channels}')
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
        mid_channels = out_channels // 2
        self.conv1 = self._preact_conv(in_channels, mid_channels, 1)
        self.conv2 = self._preact_conv(mid_channels, mid_channels, 3)
        self.conv3 = self._preact_conv(mid_channels, out_channels, 1)

    def residual(self, x: Tensor) -> Tensor:
        """1×1 → 3×3 → 1×1 pre-activation convs.

        Args:
            x (Tensor): Input features, shape (N, C_in, H, W).

        Returns:
            Tensor: Shape (N, C, H, W).
        """
        return self.conv3(self.conv2(self.conv1(x)))
