# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType, OptMultiConfig
from torch import Tensor

GATE_TYPES = ('channel', 'scalar', 'none')


@MODELS.register_module()
class SoftGatedSkip(BaseModule):
    """Soft-gated skip connection of `Bulat et al. (FG 2020)
    <https://arxiv.org/abs/2002.11098>`_.

    The identity path of a residual block, projected by a 1×1 conv when the
    channel count changes, is scaled by a learnable gate α before it is added
    to the block's output, so that each block learns how much of its input to
    pass on.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C_out. A 1×1 projection is used
            when it differs from ``in_channels``.
        gate (str): ``'channel'`` (α ∈ R^C_out, the paper), ``'scalar'``
            (one α) or ``'none'`` (plain identity, for ablations).
            Defaults to ``'channel'``.
        gate_init (float): Initial value of α. Defaults to 0.
        bias (bool | str): Bias of the projection conv, see
            :class:`mmcv.cnn.ConvModule`. Defaults to ``'auto'``.
        conv_cfg (dict, optional): Config of the projection conv layer.
        init_cfg (dict or list[dict], optional): Initialization config.

    Shapes:
        - x: (N, C_in, H, W) → (N, C_out, H, W)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 gate: str = 'channel',
                 gate_init: float = 0.,
                 bias: Union[bool, str] = 'auto',
                 conv_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if gate not in GATE_TYPES:
            raise ValueError(f'gate must be one of {GATE_TYPES}, got {gate!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.gate = gate

        self.projection: Optional[ConvModule] = None
        if in_channels != out_channels:
            self.projection = ConvModule(
                in_channels,
                out_channels,
                1,
                bias=bias,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None)

        if gate == 'channel':
            shape = (1, out_channels, 1, 1)
        elif gate == 'scalar':
            shape = (1, )
        if gate == 'none':
            self.register_parameter('alpha', None)
        else:
            self.alpha = nn.Parameter(torch.full(shape, float(gate_init)))

    def forward(self, x: Tensor) -> Tensor:
        """Gate the (projected) identity path.

        Args:
            x (Tensor): Block input, shape (N, C_in, H, W).

        Returns:
            Tensor: Gated skip, shape (N, C_out, H, W).
        """
        if self.projection is not None:
            x = self.projection(x)
        if self.alpha is not None:
            x = x * self.alpha
        return x

    def extra_repr(self) -> str:
        return f'gate={self.gate!r}'
