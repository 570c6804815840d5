# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Weights loading shared by :func:`~softgate_mmpose.apis.init_model` and
the inferencer.

Both resolve the model the same way (alias, config name or path, MMPose
model name), choose the backend from the weights, then either load a
checkpoint strictly into the PyTorch model (a checkpoint that does not fit
is refused with the reason) or run an exported model in a runtime around
the config's pre- and post-processing; ``num_stacks`` keeps the first K
stacks of a stacked hourglass.
"""
import logging
import os
from dataclasses import dataclass
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from ..deployment import build_runtime_estimator, select_backend
from ..models import truncate_stacks
from ..utils.checkpoint import load_checked_checkpoint
from .model_aliases import resolve_model

ConfigType = Union[str, os.PathLike, Config, ConfigDict, dict]


@dataclass(frozen=True)
class ModelSource:
    """A pose model as the caller named it, resolved.

    Attributes:
        config (str | Config): Absolute config path, or the config object
            (with ``cfg_options`` merged).
        weights (str, optional): Checkpoint path or URL, or an exported
            model file; ``None`` for random weights.
        backend (str): ``'pytorch'`` or a runtime of exported models.
        config_name (str): How messages name the config.
    """
    config: Union[str, Config]
    weights: Optional[str]
    backend: str
    config_name: str


def _with_options(config: Union[str, Config, dict],
                  cfg_options: Optional[dict]) -> Union[str, Config]:
    """``config`` with ``cfg_options`` merged (as a ``Config``)."""
    if not cfg_options:
        return config
    if isinstance(config, str):
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        config = Config(config)
    config.merge_from_dict(cfg_options)
    return config


def resolve_model_source(model: ConfigType,
                         weights: Optional[str] = None,
                         backend: Optional[str] = None,
                         cfg_options: Optional[dict] = None) -> ModelSource:
    """Resolve the model, check the weights and choose the backend.

    Args:
        model (str | Path | Config | dict): Alias, config file name or
            path, MMPose model name, or config object.
        weights (str, optional): Checkpoint path or URL, or an exported
            model file. Defaults to None.
        backend (str, optional): ``'pytorch'`` or a runtime; by default
            chosen from the weights' extension.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        ModelSource: The resolved config, weights and backend.

    Raises:
        FileNotFoundError: A missing config or weights file.
        ValueError: An unknown model, or weights the backend cannot run.
    """
    config, weights = resolve_model(model, weights)
    backend = select_backend(weights, backend)
    config_name = config if isinstance(config, str) else getattr(
        config, 'filename', None) or 'the given config'
    return ModelSource(
        config=_with_options(config, cfg_options),
        weights=weights,
        backend=backend,
        config_name=str(config_name))


def _check_num_stacks(source: ModelSource, num_stacks: Optional[int]) -> None:
    if num_stacks is not None and source.backend != 'pytorch':
        raise ValueError(
            f'num_stacks applies to PyTorch weights; {source.weights} runs '
            f'in {source.backend} with the stacks it was exported with '
            '(export it with tools/deployment/pytorch2onnx.py --num-stacks).')


def load_weights(model: nn.Module,
                 source: ModelSource,
                 device: Optional[str] = None,
                 num_stacks: Optional[int] = None) -> nn.Module:
    """Put the weights of ``source`` into a freshly built pose estimator.

    Args:
        model (nn.Module): The config's ``TopdownPoseEstimator`` (with
            ``cfg``), built without weights.
        source (ModelSource): Weights and backend, from
            :func:`resolve_model_source`.
        device (str, optional): Device of a runtime. Defaults to None.
        num_stacks (int, optional): Keep stacks 1..K of a stacked
            hourglass (after loading the full checkpoint); PyTorch only.
            Defaults to None (all stacks).

    Returns:
        nn.Module: ``model`` with its weights, or the runtime estimator
        that stands in for it.

    Raises:
        ValueError: A checkpoint that does not fit the model, an exported
            model that does not fit the config, or ``num_stacks`` out of
            range or with a runtime backend.
    """
    _check_num_stacks(source, num_stacks)
    if source.backend != 'pytorch':
        return build_runtime_estimator(
            source.weights, model, backend=source.backend, device=device)
    if source.weights is None:
        print_log(
            f'No weights given: the model of {source.config_name} runs '
            'with its initial (random) weights.',
            logger='current',
            level=logging.WARNING)
    else:
        load_checked_checkpoint(
            model,
            source.weights,
            model.cfg,
            checkpoint_name=str(source.weights),
            config_name=source.config_name)
    if num_stacks is not None:
        truncate_stacks(model, num_stacks)
    return model


__all__ = ['ModelSource', 'load_weights', 'resolve_model_source']
