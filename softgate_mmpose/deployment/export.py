# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The exportable network of a top-down pose config and its ONNX export.

The graph maps the model's network input to the heatmaps of its last (or
K-th, with ``num_stacks``) stack:

- input ``input``: (N, 3, H, W) float32, the image crop after the config's
  ``data_preprocessor``; H × W defaults to the codec's ``input_size``;
- output ``heatmaps``: (N, K, h, w) float32, what the head's decoder takes
  (for SimCC heads the two outputs ``simcc_x`` (N, K, W·r) and ``simcc_y``
  (N, K, H·r) instead).
"""
import io
import logging
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from torch import Tensor

from .config import ExportError, load_config

DEFAULT_OPSET = 17
INPUT_NAME = 'input'
HEATMAP_NAMES = ('heatmaps', )
SIMCC_NAMES = ('simcc_x', 'simcc_y')


class HeatmapModel(nn.Module):
    """The network of a top-down pose estimator: images to the last stack's
    heatmaps (or a SimCC head's two outputs).

    Args:
        pose_model (nn.Module): A built ``TopdownPoseEstimator``.

    Shapes:
        - inputs: (N, 3, H, W), after the data preprocessor
        - output: (N, K, h, w), or ``(simcc_x, simcc_y)`` for SimCC heads
    """

    def __init__(self, pose_model: nn.Module):
        super().__init__()
        self.pose_model = pose_model

    def forward(self, inputs: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        feats = self.pose_model.extract_feat(inputs)
        out = self.pose_model.head.forward(feats)
        # Multi-stage heads (CPMHead) return a list of every stage's
        # heatmaps; the decoder reads the last one.
        if isinstance(out, list):
            out = out[-1]
        return out


def build_model(config: Union[str, Config],
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                num_stacks: Optional[int] = None,
                deploy: bool = True,
                cfg_options: Optional[dict] = None) -> HeatmapModel:
    """Build the exportable network of a top-down config.

    Args:
        config (str | Config): Config path, ``package::path`` (e.g.
            ``mmpose::body_2d_keypoint/...py``) or a loaded config.
        checkpoint (str, optional): Checkpoint to load; ``None`` keeps the
            config's initialised weights (``init_weights()``; ``Pretrained``
            init configs, which would download weights, are skipped).
        device (str): Device of the model. Defaults to ``'cpu'``.
        num_stacks (int, optional): Run stacks 1..K only and output stack
            K's heatmaps (:func:`softgate_mmpose.models.truncate_stacks`).
            Defaults to all stacks.
        deploy (bool): Apply the model's exact one-shot deploy transform
            (:func:`softgate_mmpose.models.switch_to_deploy`); the model is
            for inference only afterwards. Defaults to True.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        HeatmapModel: In eval mode, mapping (N, 3, H, W) network inputs to
        the heatmaps. ``model.cfg`` is the config and ``model.pose_model``
        the full estimator (its ``data_preprocessor`` gives the network
        input).

    Raises:
        ExportError: A bad config, a missing checkpoint or one that does not
            fit the model (e.g. another joint set), or ``num_stacks`` outside
            the model's stacks.
    """
    cfg = load_config(config, cfg_options)
    name = config if isinstance(config, str) else (cfg.filename or 'config')
    if checkpoint is None:
        # Pretrained init_cfg entries (e.g. HRNet's ImageNet backbone) would
        # download weights; without a checkpoint the weights are the
        # config's random initialisation.
        cfg.model = _without_pretrained_init(cfg.model)
    pose_model = _build_pose_model(cfg, name)
    if checkpoint is None:
        _quiet_init_weights(pose_model)
    else:
        _load_checkpoint_into(pose_model, os.fspath(checkpoint), cfg, name)
    pose_model.eval()
    if num_stacks is not None:
        from softgate_mmpose.models import truncate_stacks
        try:
            truncate_stacks(pose_model, num_stacks)
        except ValueError as e:
            raise ExportError(f'{name}: --num-stacks {num_stacks}: {e}') \
                from e
    if deploy:
        from softgate_mmpose.models import switch_to_deploy
        switch_to_deploy(pose_model)
    model = HeatmapModel(pose_model).to(device).eval()
    model.cfg = cfg
    return model


def _build_pose_model(cfg: Config, name: str) -> nn.Module:
    from mmengine.registry import DefaultScope
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import softgate_mmpose  # noqa: F401  (registers the plugin's modules)

    register_all_modules(init_default_scope=False)
    scope = cfg.get('default_scope', 'mmpose')
    with DefaultScope.overwrite_default_scope(scope):
        try:
            pose_model = MODELS.build(cfg.model)
        except Exception as e:
            raise ExportError(f'{name}: cannot build the model: '
                              f'{type(e).__name__}: {e}') from e
    if not hasattr(pose_model, 'extract_feat') or \
            not hasattr(pose_model, 'head'):
        raise ExportError(f'{name}: {type(pose_model).__name__} is not a '
                          'top-down pose estimator')
    return pose_model


def _load_checkpoint_into(pose_model: nn.Module, checkpoint: str, cfg: Config,
                          config_name: str) -> None:
    # The plugin's one checkpoint check: refuses another joint set or
    # architecture with the reason, then loads strictly.
    from softgate_mmpose.utils.checkpoint import load_checked_checkpoint
    try:
        load_checked_checkpoint(
            pose_model, checkpoint, cfg, config_name=config_name)
    except (FileNotFoundError, ValueError) as e:
        raise ExportError(str(e)) from e


def _quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` without mmengine's per-parameter INFO lines
    (thousands for a stacked model), which would bury the tool's output."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def _without_pretrained_init(cfg):
    """A copy of a model config without ``init_cfg=dict(type='Pretrained')``
    entries, at any depth."""
    if isinstance(cfg, dict):
        out = type(cfg)()
        for key, value in cfg.items():
            if key == 'init_cfg' and _is_pretrained(value):
                continue
            out[key] = _without_pretrained_init(value)
        return out
    if isinstance(cfg, list):
        return [_without_pretrained_init(v) for v in cfg]
    return cfg


def _is_pretrained(init_cfg) -> bool:
    items = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    return any(
        isinstance(i, dict) and i.get('type') == 'Pretrained' for i in items)


def output_names_of(outputs: Union[Tensor, Sequence[Tensor]]) -> List[str]:
    """ONNX output names of :class:`HeatmapModel` outputs."""
    if isinstance(outputs, Tensor):
        return list(HEATMAP_NAMES)
    if len(outputs) == 2 and all(isinstance(o, Tensor) for o in outputs):
        return list(SIMCC_NAMES)
    raise ExportError('the head returns neither heatmaps nor SimCC '
                      f'vectors ({type(outputs).__name__} of '
                      f'{len(outputs)}); cannot name the outputs')


def check_output_path(output_file: str) -> str:
    """Absolute path of ``output_file`` after checking it can be written.

    Raises:
        ExportError: Its folder is missing or not a writable folder, or the
            path is a folder.
    """
    path = osp.abspath(os.fspath(output_file))
    folder = osp.dirname(path)
    if osp.isdir(path):
        raise ExportError(f'{output_file}: is a folder, not a file name')
    if not osp.isdir(folder):
        raise ExportError(f'{output_file}: cannot write, {folder} is not an '
                          'existing folder')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f'{output_file}: cannot write to {folder} '
                          '(permission denied)')
    return path


def model_device(model: nn.Module) -> torch.device:
    """The device of a module's first parameter (CPU without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def export_onnx(model: nn.Module,
                output_file: str,
                shape: Sequence[int] = (1, 3, 256, 256),
                dynamic_batch: bool = False,
                opset: int = DEFAULT_OPSET) -> List[str]:
    """Export ``model`` (e.g. from :func:`build_model`) to ``output_file``.

    The export runs under ``torch.no_grad()`` with constant folding; the
    file appears only once the whole model is written.

    Args:
        model (nn.Module): In eval mode, (N, C, H, W) → heatmaps.
        output_file (str): The ``.onnx`` file.
        shape (Sequence[int]): Example input shape (N, C, H, W).
        dynamic_batch (bool): Name the batch dimension ``batch`` so that any
            batch size runs. Defaults to False.
        opset (int): ONNX opset. Defaults to :data:`DEFAULT_OPSET`.

    Returns:
        list[str]: The output names (``['heatmaps']`` for heatmap heads).

    Raises:
        ExportError: An output path that cannot be written, a shape that is
            not (N, C, H, W), or a head whose outputs are neither heatmaps
            nor SimCC vectors.
    """
    import onnx

    from softgate_mmpose.utils import atomic_write_bytes

    path = check_output_path(output_file)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4:
        raise ExportError(f'--shape needs 4 values N C H W, got {shape}')
    example = torch.randn(shape, device=model_device(model))
    with torch.no_grad():
        output_names = output_names_of(model(example))
        dynamic_axes = None
        if dynamic_batch:
            dynamic_axes = {
                name: {
                    0: 'batch'
                }
                for name in [INPUT_NAME, *output_names]
            }
        buffer = io.BytesIO()
        # The TorchScript exporter (dynamo=False): torch's default dynamo
        # exporter needs the onnxscript package, which the requirements do
        # not pull in. For these feed-forward models without data-dependent
        # control flow a trace records the whole computation.
        with warnings.catch_warnings():
            # the choice is deliberate (above); don't repeat torch's notice
            warnings.filterwarnings(
                'ignore',
                message='You are using the legacy TorchScript',
                category=DeprecationWarning)
            torch.onnx.export(
                model, (example, ),
                buffer,
                input_names=[INPUT_NAME],
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False)
    data = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise ExportError(f'{output_file}: cannot write: {e}') from e
    return output_names
