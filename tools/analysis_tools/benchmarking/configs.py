# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Configs of the benchmark: ``mmpose::`` paths, names, input sizes."""
import importlib.util
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config


class BenchmarkError(ValueError):
    """Bad input of the benchmark (a config, an accuracy file, an option)."""


def package_config_root(package: str) -> Optional[str]:
    """The ``.mim/configs`` folder of an installed package, or ``None``."""
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or spec.origin is None:
        return None
    return osp.join(osp.dirname(spec.origin), '.mim', 'configs')


def resolve_config_path(config: str) -> str:
    """Path of a config file, also for ``package::relative/path.py``.

    ``mmpose::body_2d_keypoint/...py`` is looked up in the installed
    package's ``.mim/configs`` folder, where mmengine finds ``_base_``
    configs of that form.

    Raises:
        BenchmarkError: If the package or the file does not exist.
    """
    if '::' in config:
        package, _, rel_path = config.partition('::')
        root = package_config_root(package)
        if root is None:
            raise BenchmarkError(
                f'{config}: package {package!r} is not installed')
        path = osp.join(root, rel_path)
    else:
        path = config
    if not osp.isfile(path):
        raise BenchmarkError(f'{config}: config file not found ({path})')
    return path


def config_name(config: str) -> str:
    """Short name of a config: its file name without ``.py``."""
    return osp.splitext(osp.basename(config.split('::')[-1]))[0]


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """Load ``config`` (a path or ``package::path``), with overrides.

    Raises:
        BenchmarkError: If the file is missing or cannot be parsed.
    """
    path = resolve_config_path(config)
    try:
        cfg = Config.fromfile(path)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    except Exception as e:  # syntax errors, missing _base_ files, ...
        raise BenchmarkError(f'{config}: cannot load config ({e})') from e
    if 'model' not in cfg:
        raise BenchmarkError(f'{config}: the config defines no model')
    return cfg


def find_config(name: str, configs: Sequence[str]) -> Optional[str]:
    """The first of ``configs`` that ``name`` names: the config as given, its
    file name with or without ``.py``, or a part of its file name."""
    for config in configs:
        if name in (config, config_name(config), config_name(config) + '.py'):
            return config
    for config in configs:
        if name in config_name(config):
            return config
    return None
