# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Configs of the benchmark: loading (through the deployment package's one
config resolution), names, look-up by name."""
from typing import Optional, Sequence

from mmengine.config import Config

from softgate_mmpose.deployment import ExportError, config_name
from softgate_mmpose.deployment import load_config as load_pose_config
from softgate_mmpose.deployment import resolve_config


class BenchmarkError(ValueError):
    """Bad input of the benchmark (a config, an accuracy file, an option)."""


def resolve_config_path(config: str) -> str:
    """:func:`softgate_mmpose.deployment.resolve_config`, raising
    :class:`BenchmarkError`."""
    try:
        return resolve_config(config)
    except ExportError as e:
        raise BenchmarkError(str(e)) from e


def load_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a top-down ``config`` (a path or ``package::path``) with
    overrides.

    Raises:
        BenchmarkError: If the file is missing, cannot be parsed or is no
            top-down pose config.
    """
    try:
        return load_pose_config(config, cfg_options)
    except ExportError as e:
        raise BenchmarkError(str(e)) from e


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


__all__ = [
    'BenchmarkError', 'config_name', 'find_config', 'load_config',
    'resolve_config_path'
]
