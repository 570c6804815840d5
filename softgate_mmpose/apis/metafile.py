# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The one reader of MMPose-style metafiles, the plugin's and MMPose's.

A metafile (``configs/metafile.yml`` of the plugin, the ``*.yml`` beside
MMPose's configs) lists ``Models``, each with a ``Name``, a ``Config`` path,
optional ``Alias``, ``Weights`` and ``Results``. A model index (MMPose's
``.mim/model-index.yml``) ``Import``\\ s metafiles. ``Config`` and
``Import`` paths are relative to the folder holding the ``configs/`` tree:
the repository root of a checkout, or a package's ``.mim`` folder.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from mmengine.fileio import load

from ..utils.packages import package_mim_dir


@dataclass(frozen=True)
class MetafileModel:
    """One entry of a metafile's ``Models``.

    Attributes:
        name (str): ``Name``, the config's file name without ``.py``.
        config (str): Absolute path of the config.
        config_field (str): ``Config`` as written in the metafile.
        aliases (tuple[str]): ``Alias`` names, possibly none.
        weights (str, optional): The first ``Weights`` path or URL.
        results (tuple[dict]): ``Results`` entries (``Dataset``,
            ``Metrics``, ``Task``).
        entry (dict): The entry as read.
    """
    name: str
    config: str
    config_field: str
    aliases: Tuple[str, ...]
    weights: Optional[str]
    results: Tuple[dict, ...]
    entry: dict

    def is_named(self, name: str) -> bool:
        """Whether ``name`` is its name or an alias, ignoring case (as
        MMPose's inferencers match them)."""
        name = name.lower()
        return any(n.lower() == name for n in (self.name, *self.aliases))


def _as_tuple(value: Any) -> tuple:
    if value is None:
        return ()
    return (value, ) if isinstance(value, (str, dict)) else tuple(value)


def _load_yaml(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Metafile not found: {path}')
    content = load(path, file_format='yaml')
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ValueError(f'Metafile {path} must hold a mapping with '
                         f'Models or Import, not {type(content).__name__}')
    return content


def read_metafile(path: str) -> List[dict]:
    """The ``Models`` entries of a metafile, or of every metafile a model
    index imports, in order.

    Args:
        path (str): A ``metafile.yml`` or a ``model-index.yml``.

    Returns:
        list[dict]: The entries as written (``Name``, ``Config``, ...).

    Raises:
        FileNotFoundError: A missing metafile, or one an index imports.
        ValueError: A file that is not a mapping.
    """
    content = _load_yaml(path)
    if 'Import' in content:
        root = osp.dirname(path)
        return [
            entry for meta in content['Import']
            for entry in read_metafile(osp.join(root, meta))
        ]
    return list(content.get('Models') or [])


def config_base(path: str) -> str:
    """The folder that ``Config`` paths of ``path`` are relative to.

    That is the folder of a model index (it sits beside ``configs/``), else
    the parent of the metafile's nearest ancestor named ``configs``, else
    the metafile's folder.
    """
    folder = osp.dirname(osp.abspath(path))
    if 'Import' in _load_yaml(path):
        return folder
    probe = folder
    while osp.dirname(probe) != probe:
        if osp.basename(probe) == 'configs':
            return osp.dirname(probe)
        probe = osp.dirname(probe)
    return folder


def _model_of(entry: dict, base: str) -> MetafileModel:
    weights = _as_tuple(entry.get('Weights'))
    return MetafileModel(
        name=str(entry.get('Name', '')),
        config=osp.normpath(osp.join(base, entry['Config'])),
        config_field=entry['Config'],
        aliases=tuple(str(a) for a in _as_tuple(entry.get('Alias'))),
        weights=weights[0] if weights else None,
        results=_as_tuple(entry.get('Results')),
        entry=entry)


def read_models(path: str, base: Optional[str] = None) -> List[MetafileModel]:
    """The models of a metafile or model index, with absolute configs.

    Args:
        path (str): A ``metafile.yml`` or a ``model-index.yml``.
        base (str, optional): The folder ``Config`` paths are relative to.
            Defaults to :func:`config_base` of ``path``.

    Returns:
        list[MetafileModel]: One per entry with a ``Config``, in order.
    """
    base = base or config_base(path)
    return [
        _model_of(entry, base) for entry in read_metafile(path)
        if entry.get('Config')
    ]


def package_model_index(package: str = 'mmpose') -> Optional[str]:
    """``<package>/.mim/model-index.yml`` of an installed OpenMMLab
    package, or ``None`` when it has none (or is not installed)."""
    mim = package_mim_dir(package)
    if mim is None:
        return None
    index = osp.join(mim, 'model-index.yml')
    return index if osp.isfile(index) else None


def find_model(models: List[MetafileModel],
               config: str) -> Optional[MetafileModel]:
    """The entry of ``models`` whose config is the file ``config``."""
    config = osp.realpath(config)
    for model in models:
        if osp.realpath(model.config) == config:
            return model
    return None


__all__ = [
    'MetafileModel', 'config_base', 'find_model', 'package_model_index',
    'read_metafile', 'read_models'
]
