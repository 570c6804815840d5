# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The plugin's one checkpoint-compatibility check.

mmengine loads checkpoints non-strictly where MMPose's inferencers and
``init_model`` use it: a checkpoint of another joint set or architecture only
logs warnings, and inference then runs on a partly random model. Every loader
of the plugin (the inferencer, ``init_model``, the ONNX export tool, the
checkpoint converter, the joint-map hook) therefore reads, compares and loads
through this module, which is built on mmengine's public
:class:`~mmengine.runner.CheckpointLoader` and
:func:`~mmengine.runner.load_state_dict`.
"""
import re
from collections import OrderedDict
from typing import Any, List, Mapping, NamedTuple, Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.runner import CheckpointLoader, load_state_dict
from torch import Tensor

#: mmengine's default ``revise_keys`` of ``load_checkpoint``: the prefix that
#: ``nn.DataParallel`` / DDP add to every name.
MODULE_PREFIX = re.compile(r'^module\.')

Shape = Tuple[int, ...]


def revise_key(key: str) -> str:
    """``key`` without the ``module.`` prefix of a wrapped model, as
    mmengine's :func:`~mmengine.runner.load_checkpoint` revises it."""
    return MODULE_PREFIX.sub('', key)


def state_dict_of(checkpoint: Mapping[str, Any]) -> 'OrderedDict[str, Any]':
    """The state dict of a checkpoint (its ``state_dict`` entry, or the
    checkpoint itself when it is a bare state dict), names revised by
    :func:`revise_key`."""
    state = checkpoint.get('state_dict', checkpoint)
    return OrderedDict((revise_key(k), v) for k, v in state.items())


def read_checkpoint(filename: str, map_location: str = 'cpu') -> dict:
    """Read a checkpoint file or URL without loading it into a model.

    Through mmengine's :class:`~mmengine.runner.CheckpointLoader` (local
    files, URLs, ``open-mmlab://`` ...), i.e. ``torch.load`` with its
    ``weights_only`` default and the plugin's allow-listed numpy types.

    Args:
        filename (str): Path or URL.
        map_location (str): Where tensors go. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: A local file that does not exist.
        ValueError: A file that is not a checkpoint (the message names it).
    """
    filename = str(filename)
    try:
        checkpoint = CheckpointLoader.load_checkpoint(
            filename, map_location=map_location, logger='silent')
    except FileNotFoundError:
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    except Exception as e:  # pickle, zip and weights-only errors alike
        raise ValueError(f'Checkpoint {filename} cannot be read as a torch '
                         f'checkpoint: {e}') from e
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'Checkpoint {filename} holds a '
                         f'{type(checkpoint).__name__}, not a state dict')
    return dict(checkpoint)


class StateDictMismatch(NamedTuple):
    """How a state dict differs from the expected names and shapes.

    Attributes:
        missing (list[str]): Expected names the state dict lacks.
        unexpected (list[str]): Names that are not expected.
        mismatched (list[tuple]): ``(name, found, expected)``, ``found``
            being the shape (tuple) or, for a non-tensor, its type name.
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[Tuple[str, Union[Shape, str], Shape]]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self, max_listed: int = 8) -> List[str]:
        """One line per kind of problem, then the first ``max_listed``
        names of that kind, indented."""
        lines = []
        for title, items in (
            ('missing keys', self.missing),
            ('unexpected keys', self.unexpected),
            ('mismatched shapes', [
                f'{name}: found {found}, expected {expected}'
                for name, found, expected in self.mismatched
            ]),
        ):
            if not items:
                continue
            lines.append(f'{len(items)} {title}:')
            lines += [f'  {item}' for item in items[:max_listed]]
            if len(items) > max_listed:
                lines.append(f'  ... and {len(items) - max_listed} more')
        return lines


def compare_state_dict(expected: Mapping[str, Union[Tensor, Shape]],
                       state_dict: Mapping[str, Any]) -> StateDictMismatch:
    """Compare names and shapes of ``state_dict`` with ``expected``.

    Args:
        expected (Mapping[str, Tensor | tuple]): Names with their tensor (a
            model's ``state_dict()``) or shape.
        state_dict (Mapping[str, Any]): The state dict to check.

    Returns:
        StateDictMismatch: Empty (falsy) when every name and shape fits.
    """

    def shape(v) -> Shape:
        return tuple(v.shape) if isinstance(v, Tensor) else tuple(v)

    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = []
    for name, value in state_dict.items():
        if name not in expected:
            continue
        if not isinstance(value, Tensor):
            mismatched.append(
                (name, type(value).__name__, shape(expected[name])))
        elif tuple(value.shape) != shape(expected[name]):
            mismatched.append(
                (name, tuple(value.shape), shape(expected[name])))
    return StateDictMismatch(missing, unexpected, mismatched)


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


def check_checkpoint_compatibility(model: nn.Module,
                                   checkpoint: Mapping[str, Any],
                                   cfg: Optional[Config] = None,
                                   checkpoint_name: str = 'the checkpoint',
                                   config_name: str = 'the config') -> None:
    """Raise if ``checkpoint`` cannot be loaded into ``model`` exactly.

    Args:
        model (nn.Module): The freshly built model.
        checkpoint (Mapping): A read checkpoint (``state_dict`` and ``meta``)
            or a bare state dict.
        cfg (Config, optional): The model's config; gives the expected number
            of keypoints.
        checkpoint_name (str): How to name the checkpoint in messages.
        config_name (str): How to name the config in messages.

    Raises:
        ValueError: The checkpoint is for another joint set (the message names
            both keypoint counts) or another architecture (missing, unexpected
            or mismatched parameters are listed).
    """
    model_state = model.state_dict()
    mismatch = compare_state_dict(model_state, state_dict_of(checkpoint))
    # mmengine's load_state_dict ignores BN's step counter too
    mismatch = mismatch._replace(missing=[
        k for k in mismatch.missing if not k.endswith('num_batches_tracked')
    ])

    expected_k = num_keypoints_of_config(cfg)
    meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
    ckpt_k = meta.get('num_keypoints')
    if ckpt_k is None and expected_k is not None:
        # No meta: read the joint count off a keypoint-sized dimension.
        for _, found, wanted in mismatch.mismatched:
            if isinstance(found, tuple) and len(found) == len(wanted) and \
                    expected_k in wanted:
                ckpt_k = found[wanted.index(expected_k)]
                break

    details = '\n'.join(mismatch.describe())
    if ckpt_k is not None and expected_k is not None and \
            int(ckpt_k) != expected_k:
        ckpt_set = meta.get('dataset_name')
        raise ValueError(
            f'Checkpoint {checkpoint_name} holds weights for {int(ckpt_k)} '
            'keypoints' + (f' ({ckpt_set})' if ckpt_set else '') +
            f', but {config_name} builds a model for {expected_k} keypoints'
            '. Use a config for the checkpoint\'s joint set (or finetune '
            'the weights for this one).' + (f'\n{details}' if details else ''))
    if mismatch:
        raise ValueError(
            f'Checkpoint {checkpoint_name} does not fit the model of '
            f'{config_name}:\n{details}')


def load_checked_checkpoint(model: nn.Module,
                            checkpoint: Union[str, Mapping[str, Any]],
                            cfg: Optional[Config] = None,
                            checkpoint_name: Optional[str] = None,
                            config_name: str = 'the config') -> dict:
    """Read a checkpoint, check it against ``model`` and load it strictly.

    The plugin's replacement for ``load_checkpoint(model, filename,
    strict=False)``: the checkpoint's ``meta.dataset_meta``, when present,
    becomes ``model.dataset_meta`` (checkpoint over config, as in MMPose).

    Args:
        model (nn.Module): The model to load into.
        checkpoint (str | Mapping): A path/URL or an already read checkpoint.
        cfg (Config, optional): The model's config (expected joint count).
        checkpoint_name (str, optional): How to name the checkpoint in
            messages. Defaults to the path.
        config_name (str): How to name the config in messages.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: A missing local file.
        ValueError: An unreadable file or a checkpoint that does not fit.
    """
    if isinstance(checkpoint, str):
        checkpoint_name = checkpoint_name or checkpoint
        checkpoint = read_checkpoint(checkpoint)
    checkpoint_name = checkpoint_name or 'the checkpoint'
    check_checkpoint_compatibility(model, checkpoint, cfg, checkpoint_name,
                                   config_name)
    load_state_dict(model, state_dict_of(checkpoint), strict=True)
    dataset_meta = (checkpoint.get('meta') or {}).get('dataset_meta')
    if dataset_meta is not None:
        model.dataset_meta = dataset_meta
    return dict(checkpoint)
