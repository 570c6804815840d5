# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""``init_model`` of MMPose with the plugin's aliases, a strict checkpoint
check, exported models and ``num_stacks``; use it with
:func:`mmpose.apis.inference_topdown`."""
from pathlib import Path
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.device import get_device
from mmpose.apis import init_model as mmpose_init_model

from .weights import load_weights, resolve_model_source


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               backend: Optional[str] = None,
               num_stacks: Optional[int] = None) -> nn.Module:
    """Build a pose estimator like :func:`mmpose.apis.init_model`.

    Unlike MMPose's, ``config`` may be a plugin alias, a checkpoint that does
    not fit the model raises instead of loading partly, ``device`` defaults
    to the available one, an exported model (``.onnx``, or an OpenVINO IR
    ``.xml``) gives a :class:`~softgate_mmpose.apis.RuntimePoseEstimator`
    that :func:`mmpose.apis.inference_topdown` runs like the PyTorch model,
    and
    ``num_stacks`` keeps the first stacks of a stacked hourglass.

    Args:
        config (str | Path | Config): Alias, config file name or path, or
            config object.
        checkpoint (str, optional): Checkpoint path or URL, or an exported
            model file. Defaults to None (random weights).
        device (str, optional): Device. Defaults to None (auto).
        cfg_options (dict, optional): Overrides merged into the config.
        backend (str, optional): ``'pytorch'``, ``'onnxruntime'`` or
            ``'openvino'``; by default chosen from the checkpoint's
            extension.
        num_stacks (int, optional): Run stacks 1..K of the full checkpoint
            (PyTorch backend). Defaults to None (all stacks).

    Returns:
        nn.Module: The model in eval mode with ``dataset_meta`` and ``cfg``.

    Raises:
        ValueError: An unknown alias, a checkpoint for another joint set
            or architecture, or ``num_stacks`` out of range.
        FileNotFoundError: A missing config or checkpoint file.
    """
    source = resolve_model_source(config, checkpoint, backend, cfg_options)
    cfg = source.config
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    device = device or get_device()
    model = mmpose_init_model(cfg, None, device=device)
    return load_weights(model, source, device=device, num_stacks=num_stacks)
