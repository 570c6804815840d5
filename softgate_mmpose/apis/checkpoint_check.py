# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Refuse a checkpoint that does not fit the model before it is loaded.

mmengine loads checkpoints with ``strict=False`` in MMPose's ``init_model``
and inferencers: a checkpoint of another joint set or architecture only logs
warnings and inference then runs on a partly random model. For inference that
is never wanted, so the plugin checks first and names the problem.
"""
import re
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config, ConfigDict

_MAX_LISTED = 8


def _state_dict_of(checkpoint: dict) -> Dict[str, object]:
    state = checkpoint.get('state_dict', checkpoint)
    # The same key revision as mmengine's ``_load_checkpoint_to_model``.
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def num_keypoints_of_config(cfg: Optional[Config]) -> Optional[int]:
    """Number of keypoints the config's model predicts, or ``None``.

    The head's ``out_channels`` when it is set (what the model outputs),
    else the ``num_keypoints`` of the config's dataset.
    """
    if cfg is None:
        return None
    head = cfg.get('model', ConfigDict()).get('head', ConfigDict())
    out = head.get('out_channels')
    if isinstance(out, int):
        return out
    from mmpose.apis.inference import dataset_meta_from_config
    meta = dataset_meta_from_config(cfg, dataset_mode='train')
    if meta and meta.get('num_keypoints'):
        return int(meta['num_keypoints'])
    return None


def _shape(value) -> Tuple[int, ...]:
    return tuple(getattr(value, 'shape', ()))


def _listing(items: List[str]) -> str:
    shown = ', '.join(items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return shown + (f' (+{more} more)' if more > 0 else '')


def check_checkpoint_compatibility(model: nn.Module,
                                   checkpoint: dict,
                                   cfg: Optional[Config] = None,
                                   checkpoint_name: str = 'the checkpoint',
                                   config_name: str = 'the config') -> None:
    """Raise if ``checkpoint`` cannot be loaded into ``model`` exactly.

    Args:
        model (nn.Module): The freshly built model.
        checkpoint (dict): A loaded checkpoint (``state_dict`` and ``meta``).
        cfg (Config, optional): The model's config; gives the expected number
            of keypoints.
        checkpoint_name (str): How to name the checkpoint in messages.
        config_name (str): How to name the config in messages.

    Raises:
        ValueError: The checkpoint is for another joint set (the message names
            both keypoint counts) or another architecture (missing, unexpected
            or mismatched parameters are listed).
    """
    state = _state_dict_of(checkpoint)
    model_state = model.state_dict()
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    mismatched = [(k, _shape(state[k]), tuple(v.shape))
                  for k, v in model_state.items()
                  if k in state and _shape(state[k]) != tuple(v.shape)]

    expected_k = num_keypoints_of_config(cfg)
    meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
    ckpt_k = meta.get('num_keypoints')
    if ckpt_k is None and expected_k is not None:
        # No meta: read the joint count off a keypoint-sized dimension.
        for _, ckpt_shape, model_shape in mismatched:
            if len(ckpt_shape) == len(model_shape) and \
                    expected_k in model_shape:
                ckpt_k = ckpt_shape[model_shape.index(expected_k)]
                break

    details = []
    if mismatched:
        details.append(f'{len(mismatched)} parameters of different shape: ' +
                       _listing([f'{k} {c} vs {m}' for k, c, m in mismatched]))
    if missing:
        details.append(f'{len(missing)} missing: {_listing(missing)}')
    if unexpected:
        details.append(f'{len(unexpected)} unexpected: {_listing(unexpected)}')

    if ckpt_k is not None and expected_k is not None and \
            int(ckpt_k) != expected_k:
        ckpt_set = meta.get('dataset_name')
        raise ValueError(
            f'Checkpoint {checkpoint_name} holds weights for {int(ckpt_k)} '
            'keypoints' + (f' ({ckpt_set})' if ckpt_set else '') +
            f', but {config_name} builds a model for {expected_k} keypoints'
            '. Use a config for the checkpoint\'s joint set (or finetune '
            'the weights for this one).' +
            (' Details: ' + '; '.join(details) if details else ''))
    if details:
        raise ValueError(
            f'Checkpoint {checkpoint_name} does not fit the model of '
            f'{config_name} (checkpoint shape vs model shape): ' +
            '; '.join(details) + '.')
