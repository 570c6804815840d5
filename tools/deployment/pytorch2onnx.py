# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Export a top-down pose model (backbone + head) to ONNX and check it with
ONNX Runtime.

    python tools/deployment/pytorch2onnx.py \\
        configs/mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py \\
        model.pth --output-file softgate.onnx --verify

    python tools/deployment/pytorch2onnx.py \\
        mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py \\
        --output-file hrnet.onnx --dynamic-batch --verify

The graph maps the model's network input to the heatmaps of its last stack:

- input ``input``: (N, 3, H, W) float32, the image crop after the config's
  ``data_preprocessor`` (normalised, channel order as ``bgr_to_rgb`` says);
  H × W defaults to the codec's ``input_size``;
- output ``heatmaps``: (N, K, h, w) float32, what the head's decoder takes
  (for multi-stack models the last stack's; for SimCC heads the two outputs
  ``simcc_x`` (N, K, W·r) and ``simcc_y`` (N, K, H·r) instead).

Without a checkpoint the config's initialised weights are exported. With
``--dynamic-batch`` the batch dimension is named ``batch`` and any N runs.
``--verify`` runs ONNX Runtime on a random input and compares with PyTorch;
the exit status is 1 when the largest difference exceeds ``--tolerance``
(1e-4) of the heatmaps' peak, 2 for bad input (config, checkpoint, output
path). The output is written to a temporary file beside ``--output-file``
and renamed, so a failed export leaves nothing behind.

Other tools import this file's functions (``tools/`` is not a package): load
it with ``importlib`` and use :func:`build_model`, :func:`export_onnx` and
:func:`verify_onnx`.
"""
import argparse
import importlib.util
import io
import logging
import os
import os.path as osp
import sys
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from torch import Tensor

DEFAULT_OPSET = 17
INPUT_NAME = 'input'
HEATMAP_NAMES = ('heatmaps', )
SIMCC_NAMES = ('simcc_x', 'simcc_y')
DEFAULT_TOLERANCE = 1e-4


class ExportError(ValueError):
    """Bad input of the export: a config, a checkpoint or an output path."""


# ----------------------------------------------------------------- model


def resolve_config(config: str) -> str:
    """Path of a config file, also for ``package::relative/path.py``.

    ``mmpose::body_2d_keypoint/...py`` is looked up in the installed
    package's ``.mim/configs`` folder, where mmengine finds ``_base_``
    configs of that form.

    Raises:
        ExportError: If the package or the file does not exist.
    """
    config = os.fspath(config)
    if '::' in config:
        package, _, rel_path = config.partition('::')
        spec = importlib.util.find_spec(package) if package else None
        if spec is None or spec.origin is None:
            raise ExportError(
                f'{config}: package {package!r} is not installed')
        path = osp.join(osp.dirname(spec.origin), '.mim', 'configs', rel_path)
    else:
        path = config
    if not osp.isfile(path):
        raise ExportError(f'{config}: config file not found ({path})')
    return path


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """Load a config (path or ``package::path``) and merge ``cfg_options``.

    Raises:
        ExportError: The file is missing, does not parse, or has no top-down
            ``model``.
    """
    if isinstance(config, Config):
        cfg = config.copy()
        name = cfg.filename or 'the config'
    else:
        name = os.fspath(config)
        path = resolve_config(name)
        try:
            cfg = Config.fromfile(path)
        except Exception as e:  # syntax errors, missing _base_ files, ...
            raise ExportError(f'{name}: cannot read the config: '
                              f'{type(e).__name__}: {e}') from e
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = cfg.get('model')
    if not isinstance(model_cfg, dict) or 'backbone' not in model_cfg \
            or 'head' not in model_cfg:
        raise ExportError(f'{name}: not a top-down pose config (needs '
                          'model.backbone and model.head)')
    return cfg


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


def _load_checkpoint_into(pose_model: nn.Module, checkpoint: str,
                          cfg: Config, config_name: str) -> None:
    # The plugin's one checkpoint check: refuses another joint set or
    # architecture with the reason, then loads strictly.
    from softgate_mmpose.utils.checkpoint import load_checked_checkpoint
    try:
        load_checked_checkpoint(
            pose_model, checkpoint, cfg, config_name=config_name)
    except (FileNotFoundError, ValueError) as e:
        raise ExportError(str(e)) from e


def build_model(config: Union[str, Config],
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                cfg_options: Optional[dict] = None) -> HeatmapModel:
    """Build the exportable network of a top-down config.

    Args:
        config (str | Config): Config path, ``package::path`` (e.g.
            ``mmpose::body_2d_keypoint/...py``) or a loaded config.
        checkpoint (str, optional): Checkpoint to load; ``None`` keeps the
            config's initialised weights (``init_weights()``; ``Pretrained``
            init configs, which would download weights, are skipped).
        device (str): Device of the model. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        HeatmapModel: In eval mode, mapping (N, 3, H, W) network inputs to
        the last stack's heatmaps. ``model.cfg`` is the config and
        ``model.pose_model`` the full estimator (its ``data_preprocessor``
        gives the network input).

    Raises:
        ExportError: A bad config, a missing checkpoint or one that does not
            fit the model (e.g. another joint set).
    """
    import softgate_mmpose  # noqa: F401  (registers the plugin's modules)
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    cfg = load_config(config, cfg_options)
    name = config if isinstance(config, str) else (cfg.filename or 'config')
    if checkpoint is None:
        # Pretrained init_cfg entries (e.g. HRNet's ImageNet backbone) would
        # download weights; without a checkpoint the weights are the
        # config's random initialisation.
        cfg.model = _without_pretrained_init(cfg.model)
    register_all_modules(init_default_scope=False)
    from mmengine.registry import DefaultScope
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
    if checkpoint is None:
        _quiet_init_weights(pose_model)
    else:
        _load_checkpoint_into(pose_model, os.fspath(checkpoint), cfg, name)
    model = HeatmapModel(pose_model).to(device).eval()
    model.cfg = cfg
    return model


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


def input_shape_of(cfg: Config, batch_size: int = 1) -> Tuple[int, ...]:
    """(N, 3, H, W) of a top-down config's network input, from its codec
    (``cfg.codec`` or ``cfg.model.head.decoder``), else 256 × 256."""
    head = cfg.get('model', {}).get('head') or {}
    for codec in (cfg.get('codec'), head.get('decoder')):
        if isinstance(codec, (list, tuple)):
            codec = codec[0] if codec else None
        if isinstance(codec, dict) and 'input_size' in codec:
            width, height = codec['input_size']
            return (batch_size, 3, int(height), int(width))
    return (batch_size, 3, 256, 256)


# ---------------------------------------------------------------- export


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


def export_onnx(model: nn.Module,
                output_file: str,
                shape: Sequence[int] = (1, 3, 256, 256),
                dynamic_batch: bool = False,
                opset: int = DEFAULT_OPSET) -> List[str]:
    """Export ``model`` (e.g. from :func:`build_model`) to ``output_file``.

    The export runs under ``torch.no_grad()`` with constant folding; the file
    appears only once the whole model is written.

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
        ExportError: An output path that cannot be written or a head whose
            outputs are neither heatmaps nor SimCC vectors.
    """
    import onnx

    from softgate_mmpose.utils import atomic_write_bytes

    path = check_output_path(output_file)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 4:
        raise ExportError(f'--shape needs 4 values N C H W, got {shape}')
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    example = torch.randn(shape, device=device)
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
        # exporter fails here, as it needs the onnxscript package, which the
        # requirements do not pull in (ModuleNotFoundError). For these
        # feed-forward models without data-dependent control flow a trace
        # records the whole computation.
        with warnings.catch_warnings():
            # the choice is deliberate (above); don't repeat torch's notice
            warnings.filterwarnings(
                'ignore',
                message='You are using the legacy TorchScript',
                category=DeprecationWarning)
            torch.onnx.export(
                model,
                (example, ),
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


def verify_onnx(model: nn.Module,
                onnx_file: str,
                shape: Sequence[int],
                seed: int = 0,
                providers: Sequence[str] = ('CPUExecutionProvider', )
                ) -> float:
    """Largest difference between ONNX Runtime and PyTorch, relative to the
    heatmaps' peak, on a random input.

    Args:
        model (nn.Module): The exported model, in eval mode.
        onnx_file (str): Its ``.onnx`` file.
        shape (Sequence[int]): Input shape (N, C, H, W).
        seed (int): Seed of the random input. Defaults to 0.
        providers (Sequence[str]): ONNX Runtime providers.

    Returns:
        float: ``max |ort - torch| / max |torch|`` over all outputs.
    """
    import onnxruntime as ort

    x = np.random.default_rng(seed).standard_normal(
        tuple(shape)).astype(np.float32)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device('cpu')
    with torch.no_grad():
        expected = model(torch.from_numpy(x).to(device))
    if isinstance(expected, Tensor):
        expected = (expected, )
    expected = [e.float().cpu().numpy() for e in expected]
    session = ort.InferenceSession(onnx_file, providers=list(providers))
    actual = session.run(None, {session.get_inputs()[0].name: x})
    return relative_difference(actual, expected)


def relative_difference(actual: Sequence[np.ndarray],
                        expected: Sequence[np.ndarray]) -> float:
    """``max |actual - expected| / max |expected|`` over all outputs
    (``inf`` when the outputs do not correspond)."""
    if len(actual) != len(expected):
        return float('inf')
    worst = 0.
    for a, e in zip(actual, expected):
        if a.shape != e.shape:
            return float('inf')
        peak = float(np.abs(e).max())
        diff = float(np.abs(a - e).max())
        worst = max(worst, diff / peak if peak > 0 else diff)
    return worst


# ------------------------------------------------------------------- CLI


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a top-down pose model (backbone + head, last '
        'stack) to ONNX.',
        epilog='Exit status: 0 done, 1 --verify above --tolerance, '
        '2 bad input.')
    parser.add_argument(
        'config', help='config path or package::path (mmpose::...)')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='checkpoint; without it, the initialised weights')
    parser.add_argument(
        '--output-file', required=True, help='the .onnx file to write')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=4,
        metavar=('N', 'C', 'H', 'W'),
        default=None,
        help='input shape (default: 1, 3 and the codec\'s input size)')
    parser.add_argument(
        '--dynamic-batch',
        action='store_true',
        help='export with a variable batch dimension')
    parser.add_argument(
        '--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare ONNX Runtime with PyTorch on a random input')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=DEFAULT_TOLERANCE,
        help='largest accepted difference relative to the heatmap peak')
    parser.add_argument('--device', default='cpu', help='export device')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.num_stacks=2')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        check_output_path(args.output_file)
        model = build_model(
            args.config,
            args.checkpoint,
            device=args.device,
            cfg_options=args.cfg_options)
        shape = tuple(args.shape) if args.shape else input_shape_of(
            model.cfg)
        names = export_onnx(
            model,
            args.output_file,
            shape,
            dynamic_batch=args.dynamic_batch,
            opset=args.opset)
    except ExportError as e:
        print(f'pytorch2onnx: error: {e}', file=sys.stderr)
        return 2
    batch = 'batch' if args.dynamic_batch else shape[0]
    print(f'{args.output_file}: input {INPUT_NAME!r} '
          f'({batch}, {", ".join(map(str, shape[1:]))}) -> '
          f'{", ".join(repr(n) for n in names)} (opset {args.opset})')
    if not args.verify:
        return 0
    shapes = [shape]
    if args.dynamic_batch:
        shapes.append((shape[0] + 1, *shape[1:]))
    worst = 0.
    for s in shapes:
        diff = verify_onnx(model, args.output_file, s)
        print(f'verify {tuple(s)}: max |ONNX Runtime - PyTorch| / peak = '
              f'{diff:.3g}')
        worst = max(worst, diff)
    if worst > args.tolerance:
        print(
            f'pytorch2onnx: verification failed: {worst:.3g} > '
            f'{args.tolerance:g}',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
