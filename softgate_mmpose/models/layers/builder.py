# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
import torch.nn as nn
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType


def build_block(cfg: ConfigType, in_channels: int, out_channels: int,
                **defaults) -> nn.Module:
    """Build a residual block from ``cfg`` with its channels and layer configs.

    ``defaults`` (``conv_cfg``, ``norm_cfg``, ``act_cfg``, ``conv_bias``) are
    filled in where ``cfg`` does not set them, so that a backbone's
    ``norm_cfg`` reaches every block without being repeated in ``block_cfg``.

    Args:
        cfg (dict): Block config with ``type`` and block-specific options.
        in_channels (int): Input channels of the block.
        out_channels (int): Output channels of the block.
        **defaults: Shared layer configs.

    Returns:
        nn.Module: The built block.
    """
    cfg = dict(cfg)
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    cfg.update(in_channels=in_channels, out_channels=out_channels)
    return MODELS.build(cfg)
