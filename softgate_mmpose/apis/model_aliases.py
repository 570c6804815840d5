# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The plugin's model aliases and where its configs live.

MMPose resolves aliases such as ``'human'`` through the ``Alias`` fields of
its own metafiles, and a third-party package cannot add to them. The plugin
follows the same convention in ``configs/metafile.yml`` and resolves its own
aliases (``'softgate-hg4_mpii'``) to a config of its ``configs/`` tree before
handing the config to MMPose. MMPose's own model names and aliases are
resolved from MMPose's ``model-index.yml`` the same way, to a config path and
the weights the metafile publishes.

The ``configs/`` tree is found in this order:

1. ``<repository root>/configs``: a source checkout or an editable install
   (first, so that a copy left in ``.mim`` by a wheel build never shadows
   the configs being edited);
2. ``softgate_mmpose/.mim/configs``: an installed (non-editable) package, the
   layout MMPose and MMDetection use for their own configs (``setup.py``
   copies ``configs/`` there when building).

A tree counts only when it holds the plugin's ``metafile.yml``, so a stray
``site-packages/configs`` of another package is never taken for ours.
"""
import os
import os.path as osp
from typing import Dict, Iterator, Optional, Tuple, Union

from mmengine.config import Config, ConfigDict

from .metafile import MetafileModel, package_model_index, read_models

#: The plugin's model index, relative to the ``configs/`` tree.
METAFILE = 'metafile.yml'

#: Directory searched for ``<alias>.pth`` when an alias is given without
#: weights (no weights are published for this plugin, so there is no URL).
WEIGHTS_DIR_ENV = 'SOFTGATE_MMPOSE_WEIGHTS_DIR'


def _package_dir() -> str:
    return osp.dirname(osp.dirname(osp.abspath(__file__)))


def get_config_root(package_dir: Optional[str] = None) -> str:
    """Return the plugin's ``configs/`` directory.

    Args:
        package_dir (str, optional): The ``softgate_mmpose`` package directory.
            Defaults to the imported package.

    Returns:
        str: Absolute path of the ``configs/`` tree.

    Raises:
        FileNotFoundError: If neither location holds the plugin's configs.
    """
    package_dir = package_dir or _package_dir()
    candidates = [
        osp.join(osp.dirname(package_dir), 'configs'),
        osp.join(package_dir, '.mim', 'configs'),
    ]
    for root in candidates:
        if osp.isfile(osp.join(root, METAFILE)):
            return root
    raise FileNotFoundError(
        'Cannot find the configs of softgate_mmpose; looked for '
        f'{METAFILE} under ' + ' and '.join(candidates) +
        '. Install the package with its configs or run from a checkout.')


def _plugin_models() -> Iterator[MetafileModel]:
    """Every model of the plugin's metafile (``Config`` paths are relative
    to the parent of the ``configs/`` tree)."""
    root = get_config_root()
    return iter(read_models(osp.join(root, METAFILE), osp.dirname(root)))


def list_model_aliases() -> Dict[str, str]:
    """Return ``{alias: absolute config path}`` of every ``Alias`` of the
    plugin's ``configs/metafile.yml``."""
    aliases = {
        alias: model.config
        for model in _plugin_models()
        for alias in model.aliases
    }
    return dict(sorted(aliases.items()))


def _find_config_by_name(name: str) -> Optional[str]:
    """A config of the tree whose file name (with or without ``.py``) is
    ``name``, like MMPose's metafile model names."""
    fname = name if name.endswith('.py') else f'{name}.py'
    root = get_config_root()
    for dirpath, _, filenames in os.walk(root):
        if fname in filenames:
            return osp.join(dirpath, fname)
    return None


def find_mmpose_model(name: str) -> Optional[Tuple[str, Optional[str]]]:
    """A model name or alias of MMPose's metafiles, as MMPose's inferencers
    resolve it (first match in ``model-index.yml`` order, case-insensitive).

    Args:
        name (str): E.g. ``'human'`` or
            ``'td-hm_hrnet-w32_8xb64-210e_mpii-256x256'``.

    Returns:
        tuple | None: ``(absolute config path, published weights URL or
        None)``, or ``None`` when MMPose does not know the name.
    """
    index = package_model_index('mmpose')
    if index is None:
        return None
    for model in read_models(index):
        if model.is_named(name):
            return model.config, model.weights
    return None


def resolve_model(
    model: Union[str, Config, ConfigDict, dict],
    weights: Optional[str] = None,
) -> Tuple[Union[str, Config, ConfigDict, dict], Optional[str]]:
    """Resolve a model given as alias, config name or config path.

    Args:
        model (str | Config | dict): One of

            - an alias of the plugin's metafile, e.g. ``'softgate-hg4_mpii'``;
            - a config path, e.g. ``'configs/mpii/td-hm_....py'``;
            - the file name of a plugin config, with or without ``.py``;
            - a model name or alias of MMPose's metafiles (``'human'``);
            - a config object (passed through).
        weights (str, optional): Checkpoint path or URL (or an ``.onnx``
            file). When ``None``, an alias of the plugin takes
            ``$SOFTGATE_MMPOSE_WEIGHTS_DIR/<alias>.pth`` if that file exists,
            and an MMPose name the weights its metafile publishes.

    Returns:
        tuple: ``(config, weights)`` where ``config`` is an absolute config
        path or the given config object, and ``weights`` a local path, URL
        or ``None``.

    Raises:
        FileNotFoundError: A config path or a local weights path that does not
            exist.
        ValueError: An unknown name; the message lists the plugin's aliases.
    """
    weights = _checked_weights(weights)
    if not isinstance(model, (str, os.PathLike)):
        return model, weights
    model = os.fspath(model)
    aliases = list_model_aliases()
    if model in aliases:
        return _resolve_alias(model, aliases[model], weights)
    if osp.isfile(model):
        return osp.abspath(model), weights
    found = _resolve_config_name(model)
    if found is not None:
        return found, weights
    mmpose_model = find_mmpose_model(model)
    if mmpose_model is not None:
        cfg_path, published = mmpose_model
        return cfg_path, weights if weights is not None else published
    raise ValueError(
        f'Unknown model {model!r}: not a config file, nor an alias of '
        'softgate_mmpose or of MMPose. Known softgate_mmpose aliases: ' +
        ', '.join(sorted(aliases)) + '.')


def _checked_weights(weights: Optional[str]) -> Optional[str]:
    """``weights`` as a string; a local file must exist."""
    if weights is None:
        return None
    weights = os.fspath(weights)
    if '://' not in weights and not osp.isfile(weights):
        raise FileNotFoundError(f'Checkpoint file not found: {weights}')
    return weights


def _resolve_alias(alias: str, cfg_path: str,
                   weights: Optional[str]) -> Tuple[str, Optional[str]]:
    """The alias's config, and ``<alias>.pth`` of the weights directory
    when no weights are given and that file exists."""
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(
            f'The config of alias {alias!r} is missing: {cfg_path}')
    if weights is None and os.environ.get(WEIGHTS_DIR_ENV):
        candidate = osp.join(os.environ[WEIGHTS_DIR_ENV], f'{alias}.pth')
        if osp.isfile(candidate):
            weights = candidate
    return cfg_path, weights


def _resolve_config_name(model: str) -> Optional[str]:
    """A plugin config named ``model`` (a file name with or without
    ``.py``); a path-like name that is no config raises."""
    if model.endswith('.py') or osp.sep in model:
        found = _find_config_by_name(osp.basename(model)) \
            if osp.sep not in model else None
        if found is None:
            raise FileNotFoundError(f'Config file not found: {model}')
        return found
    return _find_config_by_name(model)
