# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Config files of the deployment tools: ``package::path`` resolution,
loading with overrides, the network's input shape."""
import os
import os.path as osp
from typing import Optional, Tuple, Union

from mmengine.config import Config

from ..utils.packages import package_mim_dir


class ExportError(ValueError):
    """Bad input of the export: a config, a checkpoint or an output path."""


def package_config_root(package: str) -> Optional[str]:
    """The ``configs/`` tree of an installed package, or ``None``.

    The plugin's own tree comes from
    :func:`softgate_mmpose.apis.model_aliases.get_config_root` (a checkout
    or an installed package); any other package's is its ``.mim/configs``
    folder, where mmengine finds ``_base_`` configs of the same form.
    """
    if package == 'softgate_mmpose':
        from softgate_mmpose.apis.model_aliases import get_config_root
        try:
            return get_config_root()
        except FileNotFoundError:
            return None
    mim = package_mim_dir(package)
    return None if mim is None else osp.join(mim, 'configs')


def resolve_config(config: Union[str, os.PathLike]) -> str:
    """Path of a config file, also for ``package::relative/path.py``.

    Args:
        config (str): A path, or ``mmpose::body_2d_keypoint/...py``
            (relative to the package's ``configs/`` tree).

    Returns:
        str: The file's path.

    Raises:
        ExportError: If the package or the file does not exist.
    """
    config = os.fspath(config)
    if '::' in config:
        package, _, rel_path = config.partition('::')
        root = package_config_root(package)
        if root is None:
            raise ExportError(
                f'{config}: package {package!r} is not installed')
        path = osp.join(root, rel_path)
    else:
        path = config
    if not osp.isfile(path):
        raise ExportError(f'{config}: config file not found ({path})')
    return path


def config_name(config: Union[str, Config]) -> str:
    """Short name of a config: its file name without ``.py``."""
    if isinstance(config, Config):
        config = config.filename or 'config'
    return osp.splitext(osp.basename(os.fspath(config).split('::')[-1]))[0]


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """Load a top-down config (path or ``package::path``) with overrides.

    Raises:
        ExportError: The file is missing, does not parse, or has no top-down
            ``model`` (``model.backbone`` and ``model.head``).
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
