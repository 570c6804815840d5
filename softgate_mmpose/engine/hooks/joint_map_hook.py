# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
import re
from typing import Dict, List, Mapping, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS
from torch import Tensor

from ...utils.checkpoint import revise_key

#: Joint-specific parameters of :class:`SoftGatedStackedHourglass` in a
#: ``TopdownPoseEstimator``, as ``{name regex: joint axis}``: the heatmap
#: convs' output rows and the heatmap-feedback remaps' input columns.
SOFTGATE_JOINT_PARAMS: Dict[str, int] = {
    r'backbone\.heatmap_convs\.\d+\.conv\.(weight|bias)': 0,
    r'backbone\.remap_heatmaps\.\d+\.conv\.weight': 1,
}


def map_joint_weights(state_dict: Mapping[str, Tensor],
                      model_state: Mapping[str, Tensor],
                      joint_map: Sequence[int],
                      joint_params: Mapping[str, int] = SOFTGATE_JOINT_PARAMS,
                      source: str = 'checkpoint') -> Dict[str, Tensor]:
    """The joint-specific tensors of ``state_dict`` re-indexed to the model's
    joints.

    Every tensor whose name fully matches a pattern of ``joint_params`` and
    whose shape differs from the model's is indexed along the pattern's axis
    with ``joint_map``: target joint ``i`` takes source joint
    ``joint_map[i]``. A matching tensor that already has the model's shape
    (a checkpoint of the target dataset: resuming, testing) is left alone.

    Args:
        state_dict (Mapping[str, Tensor]): The checkpoint's state dict.
        model_state (Mapping[str, Tensor]): The model's state dict (only the
            shapes are used).
        joint_map (Sequence[int]): For each of the model's K joints, the
            index of the checkpoint joint it starts from.
        joint_params (Mapping[str, int]): ``{name regex: joint axis}`` of the
            joint-specific parameters. Defaults to
            :data:`SOFTGATE_JOINT_PARAMS`.
        source (str): How to name the checkpoint in errors.

    Returns:
        dict[str, Tensor]: The re-indexed tensors by name (empty when the
        checkpoint already has the model's joints).

    Raises:
        ValueError: If ``state_dict`` has no joint-specific parameter, or
            their joint count, the model's joint count (``len(joint_map)``)
            or any other dimension does not fit.
    """
    patterns = [(re.compile(p), axis) for p, axis in joint_params.items()]
    index = torch.as_tensor(list(joint_map), dtype=torch.long)
    mapped, matched = {}, 0
    for key, value in state_dict.items():
        name = revise_key(key)  # as mmengine's loader will name it
        axis = next((a for p, a in patterns if p.fullmatch(name)), None)
        if axis is None or name not in model_state:
            continue  # unknown names are reported by mmengine's loader
        matched += 1
        target = model_state[name]
        if value.shape == target.shape:
            continue
        num_source = value.shape[axis]
        expected = list(target.shape)
        expected[axis] = num_source
        if target.shape[axis] != len(joint_map):
            raise ValueError(
                f'joint_map has {len(joint_map)} entries but the model '
                f'predicts {target.shape[axis]} joints ("{name}" has shape '
                f'{tuple(target.shape)}); give one source joint per model '
                'joint.')
        if list(value.shape) != expected:
            raise ValueError(
                f'"{key}" of {source} has shape {tuple(value.shape)}, which '
                f"differs from the model's {tuple(target.shape)} in more "
                'than '
                f'its joint axis {axis}: the checkpoint comes from a '
                'different architecture.')
        if index.min() < 0 or index.max() >= num_source:
            raise ValueError(
                f'{source} predicts {num_source} joints ("{key}" has shape '
                f'{tuple(value.shape)}), but joint_map '
                f'{list(joint_map)} refers to source joints 0..'
                f'{int(index.max())}; the checkpoint does not fit the map.')
        mapped[key] = value.index_select(axis, index.to(value.device))
    if not matched:
        raise ValueError(
            f'{source} has none of the joint-specific parameters '
            f'{list(joint_params)} of the model; it is not a checkpoint of '
            'this architecture.')
    return mapped


@HOOKS.register_module()
class JointMapCheckpointHook(Hook):
    """Start a model's joints from the matching joints of the checkpoint it
    loads, e.g. finetune an MPII model (16 joints) on LSP (14 joints).

    With ``load_from`` alone, mmengine would load every shared weight but
    skip the joint-specific ones (their shapes differ), leaving them random.
    In :meth:`after_load_checkpoint`, which the Runner calls between reading
    a checkpoint and copying it into the model, this hook re-indexes those
    parameters (see :func:`map_joint_weights`); every other weight loads
    unchanged. A checkpoint that already has the model's joints, as when
    resuming or testing the finetuned model, passes through untouched.

    Training with this hook but without any checkpoint raises, since the
    transfer would silently not happen.

    Args:
        joint_map (Sequence[int]): For each of the model's K joints, the
            index of the checkpoint joint it starts from.
        joint_params (dict[str, int], optional): ``{name regex: joint axis}``
            of the joint-specific parameters. Defaults to
            :data:`SOFTGATE_JOINT_PARAMS` (those of
            ``SoftGatedStackedHourglass``).

    Example:
        >>> # MPII -> LSP
        >>> load_from = 'work_dirs/mpii/epoch_200.pth'
        >>> custom_hooks = [dict(
        ...     type='JointMapCheckpointHook',
        ...     joint_map=[0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9])]
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 joint_map: Sequence[int],
                 joint_params: Optional[Dict[str, int]] = None) -> None:
        if not joint_map or not all(
                isinstance(j, int) and j >= 0 for j in joint_map):
            raise ValueError('joint_map must be a non-empty list of joint '
                             f'indices >= 0, got {joint_map!r}')
        self.joint_map: List[int] = list(joint_map)
        self.joint_params = dict(joint_params or SOFTGATE_JOINT_PARAMS)
        self._loaded = False

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Re-index the joint-specific tensors of ``checkpoint`` in place."""
        self._loaded = True
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state_dict = checkpoint.get('state_dict', checkpoint)
        load_from = runner.cfg.get('load_from')
        source = f'checkpoint "{load_from}"' if load_from else 'checkpoint'
        mapped = map_joint_weights(state_dict, model.state_dict(),
                                   self.joint_map, self.joint_params, source)
        state_dict.update(mapped)
        if mapped:
            runner.logger.info(
                f'{self.__class__.__name__}: model joints 0..'
                f'{len(self.joint_map) - 1} start from {source} joints '
                f'{self.joint_map} in {len(mapped)} parameters.')

    def before_train(self, runner) -> None:
        """Refuse to train when no checkpoint was loaded."""
        if not self._loaded:
            raise RuntimeError(
                f'{self.__class__.__name__}: no checkpoint was loaded, so '
                'the joint-specific weights would start random. Set '
                'load_from to the source checkpoint (e.g. --cfg-options '
                'load_from=work_dirs/<mpii config>/epoch_200.pth) or drop '
                'this hook.')
