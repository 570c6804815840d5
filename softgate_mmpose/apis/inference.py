# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""``init_model`` of MMPose with the plugin's aliases and a strict checkpoint
check; use it with :func:`mmpose.apis.inference_topdown`."""
from pathlib import Path
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.device import get_device
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)

from mmpose.apis import init_model as mmpose_init_model
from .checkpoint_check import check_checkpoint_compatibility
from .model_aliases import resolve_model


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a pose estimator like :func:`mmpose.apis.init_model`.

    Unlike MMPose's, ``config`` may be a plugin alias, a checkpoint that does
    not fit the model raises instead of loading partly, and ``device``
    defaults to the available one.

    Args:
        config (str | Path | Config): Alias, config file name or path, or
            config object.
        checkpoint (str, optional): Checkpoint path or URL. Defaults to None
            (random weights).
        device (str, optional): Device. Defaults to None (auto).
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model in eval mode with ``dataset_meta`` and ``cfg``.

    Raises:
        ValueError: An unknown alias, or a checkpoint for another joint set
            or architecture.
        FileNotFoundError: A missing config or checkpoint file.
    """
    if isinstance(config, Path):
        config = str(config)
    config, checkpoint = resolve_model(config, checkpoint)
    if isinstance(config, str):
        config = Config.fromfile(config)
    model = mmpose_init_model(
        config, None, device=device or get_device(), cfg_options=cfg_options)
    if checkpoint is not None:
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_compatibility(
            model,
            ckpt,
            model.cfg,
            checkpoint_name=str(checkpoint),
            config_name=str(getattr(config, 'filename', None) or 'the config'))
        _load_checkpoint_to_model(model, ckpt, strict=True)
        dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta')
        if dataset_meta is not None:  # checkpoint > config, as MMPose
            model.dataset_meta = dataset_meta
    return model
