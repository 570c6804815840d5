# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .soft_gated_skip import SoftGatedSkip


class PreActResidualBlock(BaseModule):
    """Base of the residual blocks: a chain of pre-activation convs
    (norm → act → conv) added to a :class:`SoftGatedSkip`.

    Subclasses build their convs in :meth:`_build_residual` with
    :meth:`_preact_conv` and define :meth:`residual`; :meth:`forward` is
    ``residual(x) + skip(x)``, the same in training and evaluation.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C.
        gate (str): Gate of the skip, see :class:`SoftGatedSkip`.
        gate_init (float): Initial value of the gate α.
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
                 gate: str,
                 gate_init: float,
                 conv_bias: Union[bool, str] = 'auto',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self._layer_cfgs = dict(
            bias=conv_bias,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self._build_residual(in_channels, out_channels)
        self.skip = SoftGatedSkip(
            in_channels,
            out_channels,
            gate=gate,
            gate_init=gate_init,
            bias=conv_bias,
            conv_cfg=conv_cfg)

    def _preact_conv(self, in_channels: int, out_channels: int,
                     kernel_size: int) -> ConvModule:
        """A norm → act → conv layer ('same' padding) with the block's
        layer configs; the norm is sized for the conv's input."""
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            order=('norm', 'act', 'conv'),
            **self._layer_cfgs)

    def _build_residual(self, in_channels: int, out_channels: int) -> None:
        """Add the residual branch's layers (called by ``__init__``)."""
        raise NotImplementedError

    def residual(self, x: Tensor) -> Tensor:
        """The residual branch, (N, C_in, H, W) → (N, C, H, W)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): Input features, shape (N, C_in, H, W).

        Returns:
            Tensor: Output features, shape (N, C, H, W).
        """
        return self.residual(x) + self.skip(x)
