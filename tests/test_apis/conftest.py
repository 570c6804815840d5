# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Fixtures of the inference tests (the shared ones are in
tests/conftest.py)."""
import os.path as osp
from typing import Optional

import numpy as np
import pytest

from ..constants import LSP_ALIAS, MPII_ALIAS


@pytest.fixture(scope='session')
def two_people(mpii_images) -> str:
    """The MPII sample image with two people (052475643.jpg, 854 x 480)."""
    path = [p for p in mpii_images if p.endswith('052475643.jpg')]
    if not path:
        pytest.skip('052475643.jpg not in the MPII sample')
    return path[0]


@pytest.fixture(scope='session')
def lsp_config() -> str:
    """The config of alias :data:`LSP_ALIAS` (skips when absent)."""
    from softgate_mmpose.apis import list_model_aliases
    path = list_model_aliases().get(LSP_ALIAS)
    if path is None or not osp.isfile(path):
        pytest.skip(f'LSP config not found: {path}')
    return path


def _crop_region(box, padding: float = 1.25, aspect: float = 1.0):
    x1, y1, x2, y2 = box[:4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w, h = (x2 - x1) * padding, (y2 - y1) * padding
    if w > h * aspect:
        h = w / aspect
    else:
        w = h * aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _inside(keypoints, region, tol: Optional[float] = None) -> bool:
    kpts = np.asarray(keypoints)
    x1, y1, x2, y2 = region
    tol = (x2 - x1) / 64 if tol is None else tol
    inside_x = (kpts[:, 0] >= x1 - tol) & (kpts[:, 0] <= x2 + tol)
    inside_y = (kpts[:, 1] >= y1 - tol) & (kpts[:, 1] <= y2 + tol)
    return bool((inside_x & inside_y).all())


@pytest.fixture(scope='session')
def crop_region():
    """``(box, padding=1.25, aspect=1.) -> (x1, y1, x2, y2)``: the image region
    a top-down crop of ``box`` covers (MMPose's ``GetBBoxCenterScale``
    padding, then the input's aspect ratio)."""
    return _crop_region


@pytest.fixture(scope='session')
def inside():
    """``(keypoints, region, tol=None) -> bool``: all (K, 2) keypoints in
    ``region``, up to one heatmap pixel."""
    return _inside


@pytest.fixture(scope='module')
def inferencer(mpii_tiny_ckpt, tiny_pose_cfg):
    """A PyTorch inferencer of the tiny MPII model."""
    from softgate_mmpose.apis import SoftGateInferencer
    return SoftGateInferencer(
        MPII_ALIAS,
        mpii_tiny_ckpt,
        device='cpu',
        cfg_options=tiny_pose_cfg,
        show_progress=False)
