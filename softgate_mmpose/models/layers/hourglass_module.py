# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .builder import build_block

MERGE_TYPES = ('concat-1x1', 'concat-3x3', 'add')


@MODELS.register_module()
class SoftGatedHourglassModule(BaseModule):
    """One recursive HourGlass/U-Net hybrid of `Bulat et al. (FG 2020)
    <https://arxiv.org/abs/2002.11098>`_.

    Per level: an upper block at full resolution, and a lower branch
    max-pool → block → (next level | block) → 2× nearest upsampling. The two
    branches are merged by concatenation and a conv (``'concat-1x1'``, this
    project's default: the paper's merge kernel could not be checked;
    ``'concat-3x3'``, the public reimplementation) or by a sum
    (``'add'``, Newell's hourglass). Newell's extra block before upsampling
    and the reimplementation's block after the merge are options, so every
    variant is built from the same modules.

    Args:
        depth (int): Number of 2× down-samplings (levels).
        channels (int): Channels C at every level.
        block_cfg (dict): Config of the residual block, e.g.
            ``dict(type='HierarchicalBlock', gate='channel')``.
        merge (str): ``'concat-1x1'``, ``'concat-3x3'`` or ``'add'``.
            Defaults to ``'concat-1x1'``.
        merge_norm (bool): Whether the merge conv has a norm layer (it always
            has ``act_cfg``). Defaults to True.
        pre_upsample_block (bool): Add a block before upsampling the lower
            branch (Newell's ``low3``). Defaults to False.
        post_merge_block (bool): Add a block after the merge (the
            reimplementation's ``low3``). Defaults to False.
        conv_bias (bool | str): Bias of every conv. Defaults to ``'auto'``.
        conv_cfg (dict, optional): Config of conv layers.
        norm_cfg (dict): Config of norm layers.
            Defaults to ``dict(type='BN')``.
        act_cfg (dict): Config of activation layers.
            Defaults to ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Initialization config.

    Shapes:
        - x: (N, C, H, W) → (N, C, H, W), with H and W divisible by
          2^depth.
    """

    def __init__(self,
                 depth: int,
                 channels: int,
                 block_cfg: ConfigType,
                 merge: str = 'concat-1x1',
                 merge_norm: bool = True,
                 pre_upsample_block: bool = False,
                 post_merge_block: bool = False,
                 conv_bias: Union[bool, str] = 'auto',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}')
        if merge not in MERGE_TYPES:
            raise ValueError(
                f'merge must be one of {MERGE_TYPES}, got {merge!r}')
        self.depth = depth
        self.channels = channels
        self.merge = merge
        layer_cfgs = dict(
            conv_bias=conv_bias,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

        def block() -> nn.Module:
            return build_block(block_cfg, channels, channels, **layer_cfgs)

        self.up_block = block()
        self.pool = nn.MaxPool2d(2, 2)
        self.low_block = block()
        if depth > 1:
            self.inner: nn.Module = SoftGatedHourglassModule(
                depth - 1,
                channels,
                block_cfg,
                merge=merge,
                merge_norm=merge_norm,
                pre_upsample_block=pre_upsample_block,
                post_merge_block=post_merge_block,
                **layer_cfgs)
        else:
            self.inner = block()
        self.pre_upsample_block = block() if pre_upsample_block else None

        self.merge_conv: Optional[ConvModule] = None
        if merge != 'add':
            kernel = 1 if merge == 'concat-1x1' else 3
            self.merge_conv = ConvModule(
                2 * channels,
                channels,
                kernel,
                padding=kernel // 2,
                bias=conv_bias,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg if merge_norm else None,
                act_cfg=act_cfg)
        # Only a plain 1x1 conv (conv -> norm -> act) commutes with the
        # upsampling; other conv types run on the concatenation.
        self.split_merge = (
            merge == 'concat-1x1' and type(self.merge_conv.conv) is nn.Conv2d
            and self.merge_conv.order == ('conv', 'norm', 'act'))
        self.post_merge_block = block() if post_merge_block else None

    def forward(self, x: Tensor) -> Tensor:
        """Forward function.

        Args:
            x (Tensor): Input features, shape (N, C, H, W).

        Returns:
            Tensor: Output features, shape (N, C, H, W).
        """
        up = self.up_block(x)
        low = self.inner(self.low_block(self.pool(x)))
        if self.pre_upsample_block is not None:
            low = self.pre_upsample_block(low)
        out = self.merge_branches(up, low)
        if self.post_merge_block is not None:
            out = self.post_merge_block(out)
        return out

    def merge_branches(self, up: Tensor, low: Tensor) -> Tensor:
        """Merge the upper branch with the upsampled lower branch.

        For ``'concat-1x1'`` with a plain conv, the merge conv is applied as
        two halves: a 1×1 conv is a per-pixel linear map, so it splits over
        the concatenated channels and commutes with nearest upsampling; the
        half that sees the lower branch runs at its resolution (4× fewer MACs
        for that half) and no concatenated map is built. The same weights and
        outputs as ``merge_conv(cat(up, upsample(low)))`` within float
        rounding.

        Args:
            up (Tensor): Upper branch, shape (N, C, H, W).
            low (Tensor): Lower branch, shape (N, C, H/2, W/2).

        Returns:
            Tensor: Merged features, shape (N, C, H, W).
        """
        if self.merge_conv is None:
            return up + _upsample(low)
        if not self.split_merge:
            return self.merge_conv(torch.cat((up, _upsample(low)), dim=1))
        conv = self.merge_conv.conv
        channels = self.channels
        out = F.conv2d(up, conv.weight[:, :channels], conv.bias) + _upsample(
            F.conv2d(low, conv.weight[:, channels:]))
        if self.merge_conv.with_norm:
            out = self.merge_conv.norm(out)
        if self.merge_conv.with_activation:
            out = self.merge_conv.activate(out)
        return out


def _upsample(x: Tensor) -> Tensor:
    """2× nearest upsampling, (N, C, h, w) → (N, C, 2h, 2w).

    A constant factor rather than the upper map's size: the exported ONNX
    graph then has a static ``Resize``.
    """
    return F.interpolate(x, scale_factor=2., mode='nearest')
