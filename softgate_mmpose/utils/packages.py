# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Where an installed OpenMMLab package keeps its configs and metafiles."""
import importlib.util
import os.path as osp
from typing import Optional


def package_mim_dir(package: str) -> Optional[str]:
    """The ``.mim`` folder of an installed package (``configs/``,
    ``model-index.yml``), or ``None`` when the package is not installed.

    Found from the import system, not through ``pkg_resources`` (which
    mmengine's ``get_installed_path`` uses and which warns on import).
    """
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or spec.origin is None:
        return None
    return osp.join(osp.dirname(spec.origin), '.mim')
