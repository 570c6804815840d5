# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The plugin's model aliases and where its configs live.

MMPose resolves aliases such as ``'human'`` through the metafiles of its own
package, and a third-party package cannot add to them. The plugin therefore
resolves its own aliases (``'softgate-hg4_mpii'``) to a config of its
``configs/`` tree before handing the config to MMPose.

The ``configs/`` tree is found in this order:

1. ``<repository root>/configs``: a source checkout or an editable install
   (first, so that a copy left in ``.mim`` by a wheel build never shadows
   the configs being edited);
2. ``softgate_mmpose/.mim/configs``: an installed (non-editable) package, the
   layout MMPose and MMDetection use for their own configs (``setup.py``
   copies ``configs/`` there when building).

A tree counts only when it holds the default config, so a stray
``site-packages/configs`` of another package is never taken for ours.
"""
import os
import os.path as osp
from typing import Dict, Optional, Tuple, Union

from mmengine.config import Config, ConfigDict

#: Alias -> config path relative to the ``configs/`` tree.
MODEL_ALIASES: Dict[str, str] = {
    'softgate-hg4_mpii':
    'mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py',
    'softgate-hg2_mpii':
    'mpii/td-hm_softgate-hg2-c144_1xb24-200e_mpii-256x256.py',
    'softgate-hg8_mpii':
    'mpii/td-hm_softgate-hg8-c256_1xb24-200e_mpii-256x256.py',
    'hourglass-hg8_mpii':
    'mpii/td-hm_hourglass-hg8-c256_1xb24-200e_mpii-256x256.py',
    # MPII -> LSP finetune (the paper's LSP model)
    'softgate-hg4_lsp':
    'lsp/td-hm_softgate-hg4-c144_1xb24-60e_mpii-to-lsp-256x256.py',
    # architectures of the public reimplementation, for its converted weights
    # (tools/model_converters/sgsc2mmpose.py)
    'softgate-hg4-ref_mpii':
    'mpii/td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py',
    'hourglass-hg8-ref_mpii':
    'mpii/td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py',
}

#: Directory searched for ``<alias>.pth`` when an alias is given without
#: weights (no weights are published for this plugin, so there is no URL).
WEIGHTS_DIR_ENV = 'SOFTGATE_MMPOSE_WEIGHTS_DIR'

_DEFAULT_CONFIG = MODEL_ALIASES['softgate-hg4_mpii']


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
        if osp.isfile(osp.join(root, _DEFAULT_CONFIG)):
            return root
    raise FileNotFoundError(
        'Cannot find the configs of softgate_mmpose; looked for '
        f'{_DEFAULT_CONFIG} under ' + ' and '.join(candidates) +
        '. Install the package with its configs or run from a checkout.')


def list_model_aliases() -> Dict[str, str]:
    """Return ``{alias: absolute config path}`` of every alias."""
    root = get_config_root()
    return {
        alias: osp.join(root, rel_path)
        for alias, rel_path in sorted(MODEL_ALIASES.items())
    }


def _find_config_by_name(name: str) -> Optional[str]:
    """A config of the tree whose file name (with or without ``.py``) is
    ``name``, like MMPose's metafile model names."""
    fname = name if name.endswith('.py') else f'{name}.py'
    root = get_config_root()
    for dirpath, _, filenames in os.walk(root):
        if fname in filenames:
            return osp.join(dirpath, fname)
    return None


def _is_mmpose_model_name(name: str) -> bool:
    """Whether MMPose's own metafiles know ``name`` (name or alias)."""
    from mmengine.infer import BaseInferencer
    try:
        mim_dir = BaseInferencer._get_repo_or_mim_dir('mmpose')
        for model in BaseInferencer._get_models_from_metafile(mim_dir):
            aliases = model.get('Alias', [])
            aliases = [aliases] if isinstance(aliases, str) else aliases
            names = [model['Name'], *aliases]
            if name.lower() in (n.lower() for n in names):
                return True
    except (FileNotFoundError, ImportError, KeyError):
        pass
    return False


def resolve_model(
    model: Union[str, Config, ConfigDict, dict],
    weights: Optional[str] = None,
) -> Tuple[Union[str, Config, ConfigDict, dict], Optional[str]]:
    """Resolve a model given as alias, config name or config path.

    Args:
        model (str | Config | dict): One of

            - an alias of the plugin, e.g. ``'softgate-hg4_mpii'``;
            - a config path, e.g. ``'configs/mpii/td-hm_....py'``;
            - the file name of a plugin config, with or without ``.py``;
            - a model name or alias of MMPose's metafiles (passed through);
            - a config object (passed through).
        weights (str, optional): Checkpoint path or URL. When ``None`` and
            ``model`` is an alias, ``$SOFTGATE_MMPOSE_WEIGHTS_DIR/<alias>.pth``
            is used if that file exists.

    Returns:
        tuple: ``(config, weights)`` where ``config`` is an absolute config
        path, an MMPose model name or the given config object, and
        ``weights`` a local path, URL or ``None``.

    Raises:
        FileNotFoundError: A config path or a local weights path that does not
            exist.
        ValueError: An unknown alias; the message lists the known ones.
    """
    if weights is not None:
        weights = os.fspath(weights)
        if '://' not in weights and not osp.isfile(weights):
            raise FileNotFoundError(f'Checkpoint file not found: {weights}')
    if not isinstance(model, (str, os.PathLike)):
        return model, weights
    model = os.fspath(model)

    if model in MODEL_ALIASES:
        cfg_path = osp.join(get_config_root(), MODEL_ALIASES[model])
        if not osp.isfile(cfg_path):
            raise FileNotFoundError(
                f'The config of alias {model!r} is missing: {cfg_path}')
        if weights is None and os.environ.get(WEIGHTS_DIR_ENV):
            candidate = osp.join(os.environ[WEIGHTS_DIR_ENV], f'{model}.pth')
            if osp.isfile(candidate):
                weights = candidate
        return cfg_path, weights
    if osp.isfile(model):
        return osp.abspath(model), weights
    if model.endswith('.py') or osp.sep in model:
        found = _find_config_by_name(osp.basename(model)) \
            if osp.sep not in model else None
        if found is None:
            raise FileNotFoundError(f'Config file not found: {model}')
        return found, weights
    found = _find_config_by_name(model)
    if found is not None:
        return found, weights
    if _is_mmpose_model_name(model):
        return model, weights
    raise ValueError(
        f'Unknown model {model!r}: not a config file, nor an alias of '
        'softgate_mmpose or of MMPose. Known softgate_mmpose aliases: ' +
        ', '.join(sorted(MODEL_ALIASES)) + '.')
