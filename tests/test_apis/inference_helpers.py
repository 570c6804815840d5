# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Small models, checkpoints and a video for the inference tests.

The models are the real configs with a small backbone (``TINY``); their
checkpoints hold freshly initialised weights and the ``dataset_meta`` in
``meta`` as a trained one would, which is all the plumbing tests need.
"""
import os
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT, shared_data_path

#: Small model of the real configs: 1 stack of 16 channels.
TINY = {
    'model.backbone.num_stacks': 1,
    'model.backbone.stack_channels': 16,
    'model.backbone.stem_channels': (8, 16, 16),
    'model.head.num_stages': 1,
}
MPII_ALIAS = 'softgate-hg4_mpii'
LSP_ALIAS = 'softgate-hg4_lsp'


def mpii_images() -> List[str]:
    """The five real MPII images (skips the test when absent)."""
    root = shared_data_path('mpii_sample')
    names = sorted(n for n in os.listdir(root) if n.endswith('.jpg'))
    if not names:
        pytest.skip(f'no images in {root}')
    return [osp.join(root, n) for n in names]


def lsp_config_or_skip() -> str:
    from softgate_mmpose.apis import MODEL_ALIASES, get_config_root
    path = osp.join(get_config_root(), MODEL_ALIASES[LSP_ALIAS])
    if not osp.isfile(path):
        pytest.skip(f'LSP config not found: {path}')
    return path


def save_tiny_checkpoint(alias: str, path: str, seed: int = 0) -> str:
    """Save a freshly initialised ``TINY`` model of ``alias`` with its
    ``dataset_meta`` as an mmengine checkpoint."""
    from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

    from softgate_mmpose.apis import init_model
    torch.manual_seed(seed)
    model = init_model(alias, device='cpu', cfg_options=TINY)
    save_checkpoint(
        dict(
            state_dict=weights_to_cpu(model.state_dict()),
            meta=dict(dataset_meta=model.dataset_meta)), path)
    return path


def write_video(images: List[str],
                path: str,
                size=(320, 240),
                fps: float = 5.) -> str:
    """An mp4v video with one frame per image, resized to ``size``."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    assert writer.isOpened(), f'cannot write {path}'
    for img in images:
        writer.write(cv2.resize(cv2.imread(img), size))
    writer.release()
    return path


def read_video(path: str) -> List[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def crop_region(box, padding: float = 1.25, aspect: float = 1.0):
    """The image region a top-down crop of ``box`` covers (MMPose's
    ``GetBBoxCenterScale`` padding, then the input's aspect ratio)."""
    x1, y1, x2, y2 = box[:4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w, h = (x2 - x1) * padding, (y2 - y1) * padding
    if w > h * aspect:
        h = w / aspect
    else:
        w = h * aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def inside(keypoints, region, tol: Optional[float] = None) -> bool:
    """Whether all ``keypoints`` (K, 2) lie in ``region`` (x1, y1, x2, y2),
    up to one heatmap pixel (``tol``)."""
    kpts = np.asarray(keypoints)
    x1, y1, x2, y2 = region
    tol = (x2 - x1) / 64 if tol is None else tol
    return bool(
        (kpts[:, 0] >= x1 - tol).all() and (kpts[:, 0] <= x2 + tol).all()
        and (kpts[:, 1] >= y1 - tol).all() and (kpts[:, 1] <= y2 + tol).all())


__all__ = [
    'REPO_ROOT', 'TINY', 'MPII_ALIAS', 'LSP_ALIAS', 'mpii_images',
    'lsp_config_or_skip', 'save_tiny_checkpoint', 'write_video', 'read_video',
    'crop_region', 'inside'
]
