# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""``init_model`` of MMPose with the plugin's aliases, a strict checkpoint
check and ONNX Runtime; use it with :func:`mmpose.apis.inference_topdown`."""
from pathlib import Path
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.device import get_device

from mmpose.apis import init_model as mmpose_init_model
from ..utils.checkpoint import load_checked_checkpoint
from .model_aliases import resolve_model
from .onnxruntime_estimator import build_onnxruntime_estimator, select_backend


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               backend: Optional[str] = None) -> nn.Module:
    """Build a pose estimator like :func:`mmpose.apis.init_model`.

    Unlike MMPose's, ``config`` may be a plugin alias, a checkpoint that does
    not fit the model raises instead of loading partly, ``device`` defaults
    to the available one, and an ``.onnx`` checkpoint gives an
    :class:`~softgate_mmpose.apis.OnnxRuntimePoseEstimator` that
    :func:`mmpose.apis.inference_topdown` runs like the PyTorch model.

    Args:
        config (str | Path | Config): Alias, config file name or path, or
            config object.
        checkpoint (str, optional): Checkpoint path or URL, or an ``.onnx``
            file. Defaults to None (random weights).
        device (str, optional): Device. Defaults to None (auto).
        cfg_options (dict, optional): Overrides merged into the config.
        backend (str, optional): ``'pytorch'`` or ``'onnxruntime'``; by
            default chosen from the checkpoint's extension.

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
    backend = select_backend(checkpoint, backend)
    if isinstance(config, str):
        config = Config.fromfile(config)
    device = device or get_device()
    model = mmpose_init_model(
        config, None, device=device, cfg_options=cfg_options)
    if backend == 'onnxruntime':
        return build_onnxruntime_estimator(checkpoint, model, device=device)
    if checkpoint is not None:
        load_checked_checkpoint(
            model,
            checkpoint,
            model.cfg,
            checkpoint_name=str(checkpoint),
            config_name=str(getattr(config, 'filename', None) or
                            'the config'))
    return model
