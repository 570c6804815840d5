# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ..layers import SoftGatedHourglassModule, build_block


@MODELS.register_module()
class SoftGatedStackedHourglass(BaseBackbone):
    """Soft-gated stacked hourglass of `Bulat et al. (FG 2020)
    <https://arxiv.org/abs/2002.11098>`_.

    Stem: 7×7/2 conv → block(C_0 → C_1) → 2× max-pool → block(C_1 → C_2) →
    block(C_2 → C). Per stack: an hourglass, a block and a 1×1 conv-norm-act
    (the stack's features), and a 1×1 conv to K heatmaps. Between stacks the
    input of the next hourglass is ``x + remap_h(heatmaps) +
    remap_f(features)``, so later stacks refine the earlier predictions.

    Because the predictions feed the next stack, the heatmap convs live in
    the backbone (as in MMPose's CPM) and the backbone returns every stack's
    heatmaps; ``CPMHead(num_stages=num_stacks, final_layer=None)`` applies the
    intermediate supervision and decodes the last stack.

    Args:
        num_keypoints (int): Number of heatmaps K.
        num_stacks (int): Number of hourglasses. Defaults to 4.
        stack_channels (int): Channels C of the hourglasses. Defaults to 144.
        depth (int): Down-samplings per hourglass. Defaults to 4.
        stem_channels (Sequence[int]): Channels (C_0, C_1, C_2) of the stem.
            Defaults to (64, 128, 128).
        block_cfg (dict): Config of the residual block used everywhere.
            Defaults to the soft-gated :class:`HierarchicalBlock` with a
            per-channel gate initialised to 0.
        merge (str): Merge of the hourglass branches, see
            :class:`SoftGatedHourglassModule`. Defaults to ``'concat-1x1'``.
        merge_norm (bool): Whether the merge conv has a norm layer.
            Defaults to True.
        pre_upsample_block (bool): Newell's block before upsampling.
            Defaults to False.
        post_merge_block (bool): A block after each merge. Defaults to False.
        conv_bias (bool | str): Bias of every conv but the heatmap convs
            (always biased). Defaults to ``'auto'`` (bias unless normalised).
        conv_cfg (dict, optional): Config of conv layers.
        norm_cfg (dict): Config of norm layers, passed to every layer.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        act_cfg (dict): Config of activation layers, passed to every layer.
            Defaults to ``dict(type='ReLU')``.
        norm_eval (bool): Keep norm layers in eval mode while training.
            Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.

    Shapes:
        - x: (N, 3, H, W) → tuple of ``num_stacks`` tensors (N, K, H/4, W/4),
          H and W divisible by 4·2^depth.

    Example:
        >>> import torch
        >>> from softgate_mmpose.models import SoftGatedStackedHourglass
        >>> model = SoftGatedStackedHourglass(num_keypoints=16, num_stacks=2)
        >>> outs = model.eval()(torch.rand(1, 3, 256, 256))
        >>> [tuple(o.shape) for o in outs]
        [(1, 16, 64, 64), (1, 16, 64, 64)]
    """

    def __init__(
        self,
        num_keypoints: int,
        num_stacks: int = 4,
        stack_channels: int = 144,
        depth: int = 4,
        stem_channels: Sequence[int] = (64, 128, 128),
        block_cfg: ConfigType = dict(
            type='HierarchicalBlock', gate='channel', gate_init=0.),
        merge: str = 'concat-1x1',
        merge_norm: bool = True,
        pre_upsample_block: bool = False,
        post_merge_block: bool = False,
        conv_bias: Union[bool, str] = 'auto',
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
        act_cfg: ConfigType = dict(type='ReLU'),
        norm_eval: bool = False,
        init_cfg: OptMultiConfig = [
            # Small heatmap convs, as MMPose's heads init their final layer:
            # with Kaiming they start far from the near-zero targets and
            # training collapses to empty heatmaps.
            dict(
                type='Kaiming',
                layer=['Conv2d'],
                override=dict(type='Normal', name='heatmap_convs', std=0.001)),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ],
    ):
        super().__init__(init_cfg=init_cfg)
        if num_stacks < 1:
            raise ValueError(f'num_stacks must be >= 1, got {num_stacks}')
        if len(stem_channels) != 3:
            raise ValueError('stem_channels must hold 3 values (C_0, C_1, '
                             f'C_2), got {stem_channels}')
        self.num_keypoints = num_keypoints
        self.num_stacks = num_stacks
        self.depth = depth
        self.norm_eval = norm_eval
        layer_cfgs = dict(
            conv_bias=conv_bias,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

        def block(in_channels: int, out_channels: int) -> nn.Module:
            return build_block(block_cfg, in_channels, out_channels,
                               **layer_cfgs)

        def conv1x1(in_channels: int, out_channels: int,
                    with_norm_act: bool) -> ConvModule:
            return ConvModule(
                in_channels,
                out_channels,
                1,
                bias=conv_bias,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg if with_norm_act else None,
                act_cfg=act_cfg if with_norm_act else None)

        c0, c1, c2 = stem_channels
        self.stem = nn.Sequential(
            ConvModule(
                3,
                c0,
                7,
                stride=2,
                padding=3,
                bias=conv_bias,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg),
            block(c0, c1),
            nn.MaxPool2d(2, 2),
            block(c1, c2),
            block(c2, stack_channels),
        )
        self.hourglasses = nn.ModuleList([
            SoftGatedHourglassModule(
                depth,
                stack_channels,
                block_cfg,
                merge=merge,
                merge_norm=merge_norm,
                pre_upsample_block=pre_upsample_block,
                post_merge_block=post_merge_block,
                **layer_cfgs) for _ in range(num_stacks)
        ])
        self.features = nn.ModuleList([
            nn.Sequential(
                block(stack_channels, stack_channels),
                conv1x1(stack_channels, stack_channels, with_norm_act=True))
            for _ in range(num_stacks)
        ])
        # The output layer keeps its bias whatever ``conv_bias`` says.
        self.heatmap_convs = nn.ModuleList([
            ConvModule(
                stack_channels,
                num_keypoints,
                1,
                bias=True,
                conv_cfg=conv_cfg,
                norm_cfg=None,
                act_cfg=None) for _ in range(num_stacks)
        ])
        self.remap_features = nn.ModuleList([
            conv1x1(stack_channels, stack_channels, with_norm_act=False)
            for _ in range(num_stacks - 1)
        ])
        self.remap_heatmaps = nn.ModuleList([
            conv1x1(num_keypoints, stack_channels, with_norm_act=False)
            for _ in range(num_stacks - 1)
        ])

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward function.

        Args:
            x (Tensor): Images, shape (N, 3, H, W).

        Returns:
            tuple[Tensor]: Heatmaps of every stack, each (N, K, H/4, W/4).
        """
        x = self.stem(x)
        heatmaps = []
        for i in range(self.num_stacks):
            features = self.features[i](self.hourglasses[i](x))
            heatmap = self.heatmap_convs[i](features)
            heatmaps.append(heatmap)
            if i < self.num_stacks - 1:
                # heatmaps first: the summation order of the public
                # reimplementation, so converted weights match it exactly
                x = x + self.remap_heatmaps[i](heatmap) + \
                    self.remap_features[i](features)
        return tuple(heatmaps)

    def train(self, mode: bool = True) -> 'SoftGatedStackedHourglass':
        """Set train mode, keeping norm layers in eval mode if
        ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
