"""Shared fixtures: repository paths and the real-photo samples under data/."""
import importlib.util
import os.path as osp
import sys
from types import ModuleType

import pytest

from .constants import (DEFAULT_CONFIG, MPII_ALIAS, REPO_ROOT, SAMPLE_DATA,
                        TINY_BACKBONE, TINY_CFG_OPTIONS, TINY_HEAD, TINY_MODEL)


def _sample_data_path(*parts: str) -> str:
    """Path under the shipped ``data/`` samples; fails when it is absent."""
    path = osp.join(SAMPLE_DATA, *parts)
    if not osp.exists(path):
        pytest.fail(
            f'sample data not found at {path}: the checkout is incomplete '
            '(data/lspet_sample and data/mpii_sample ship with the project)')
    return path


@pytest.fixture(scope='session')
def sample_data_path():
    """``sample_data_path(*parts)``: a path under the shipped ``data/``
    samples."""
    return _sample_data_path


def pytest_report_header(config) -> str:
    """The CPU kind the numbers were computed on: tolerances must hold on
    AVX2 and AVX-512 kernels, with 1 or more threads (docs/en/tests.md)."""
    import os

    import torch

    from softgate_mmpose.utils.machine import cpu_name
    limits = ', '.join(f'{k}={os.environ[k]}'
                       for k in ('ONEDNN_MAX_CPU_ISA',
                                 'MKL_ENABLE_INSTRUCTIONS',
                                 'ATEN_CPU_CAPABILITY') if k in os.environ)
    return (f'cpu: {cpu_name()}; torch kernels: '
            f'{torch.backends.cpu.get_cpu_capability()}, '
            f'{torch.get_num_threads()} threads' +
            (f'; {limits}' if limits else ''))


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT


def _load_tool(relpath: str) -> ModuleType:
    name = 'softgate_tools.' + relpath[:-3].replace('/', '.')
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, osp.join(REPO_ROOT, 'tools', relpath))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


@pytest.fixture(scope='session')
def load_tool():
    """Import a script under ``tools/`` as a module, e.g.
    ``load_tool('deployment/pytorch2onnx.py')``.

    ``tools/`` is not a package (as in MMPose), so tests reach tool logic
    through this loader.
    """
    return _load_tool


@pytest.fixture(scope='session')
def lsp2coco() -> ModuleType:
    """The LSP -> COCO converter,
    ``softgate_mmpose.datasets.converters.lsp``."""
    from softgate_mmpose.datasets.converters import lsp
    return lsp


def _write_tiny_coco(root: str,
                     num_images: int = 4,
                     size: int = 64,
                     seed: int = 0) -> str:
    """Write a tiny COCO keypoint dataset (random images, 17 joints) under
    ``root``.

    Returns:
        str: The annotation file, relative to ``root``.
    """
    import json
    import os

    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        name = f'{i:03d}.jpg'
        cv2.imwrite(
            osp.join(root, 'images', name),
            rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
        kpts = np.concatenate(
            [rng.uniform(8, size - 8, (17, 2)),
             np.full((17, 1), 2.)], axis=1)
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
        annotations.append(
            dict(
                id=i + 1,
                image_id=i + 1,
                category_id=1,
                iscrowd=0,
                num_keypoints=17,
                area=float(size * size),
                bbox=[4., 4., size - 8., size - 8.],
                keypoints=kpts.reshape(-1).round(2).tolist()))
    ann = dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=1, name='person', supercategory='person')])
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    with open(osp.join(root, 'annotations', 'train.json'), 'w') as f:
        json.dump(ann, f)
    return 'annotations/train.json'


def _tiny_runner_cfg(work_dir: str,
                     data_root: str,
                     ann_file: str,
                     max_iters: int = 4):
    """The default MPII config shrunk to a 64x64, 17-joint, 1-stack model on a
    COCO-style set.

    Iteration-based, a checkpoint every 2 iterations, no validation.
    """
    from mmengine.config import Config

    cfg = Config.fromfile(DEFAULT_CONFIG)
    codec = dict(
        type='MSRAHeatmap',
        input_size=(64, 64),
        heatmap_size=(16, 16),
        sigma=1)
    cfg.model.backbone.update(num_keypoints=17, **TINY_BACKBONE)
    cfg.model.head.update(
        in_channels=17, out_channels=17, decoder=codec, **TINY_HEAD)
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            data_mode='topdown',
            ann_file=ann_file,
            data_prefix=dict(img='images/'),
            pipeline=[
                dict(type='LoadImage'),
                dict(type='GetBBoxCenterScale'),
                dict(type='RandomFlip', direction='horizontal'),
                dict(type='TopdownAffine', input_size=codec['input_size']),
                dict(type='GenerateTarget', encoder=codec),
                dict(type='PackPoseInputs'),
            ]))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.param_scheduler = [
        dict(type='MultiStepLR', by_epoch=False, milestones=[2], gamma=0.5)
    ]
    for key in ('val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'val_cfg', 'test_cfg'):
        cfg.pop(key, None)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(
        type='PoseVisualizationHook', enable=False)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
    return cfg


@pytest.fixture(scope='session')
def write_tiny_coco():
    """``write_tiny_coco(root, num_images=4, size=64, seed=0)``: a tiny COCO
    set (see above)."""
    return _write_tiny_coco


@pytest.fixture(scope='session')
def tiny_runner_cfg():
    """``tiny_runner_cfg(work_dir, data_root, ann_file, max_iters=4)``: see
    above."""
    return _tiny_runner_cfg


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def free_port():
    """``free_port()``: a TCP port of 127.0.0.1 free at the time of the
    call."""
    return _free_port


@pytest.fixture(autouse=True)
def mmpose_default_scope():
    """Build configs in MMPose's scope, as MMPose's tools and tests do.

    Per test: a test that runs an mmdet detector leaves mmdet's scope current.
    """
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=True)


def _randomize_norms_and_gates(model, seed: int = 0):
    """Running statistics, norm affines and skip gates far from their
    initial values (in place), so that export or folding errors show."""
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 2 + 0.2)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.5)
            alpha = getattr(m, 'alpha', None)
            if isinstance(alpha, torch.nn.Parameter):
                alpha.copy_(torch.rand(alpha.shape, generator=gen) * 1.5 - 0.5)
    return model


@pytest.fixture(scope='session')
def randomize_norms_and_gates():
    """``randomize(model, seed=0)``: random BN statistics/affines and skip
    gates, in place."""
    return _randomize_norms_and_gates


# ------------------------------------------------------------------ inference
# Small models of the real configs, their checkpoints and ONNX exports, and
# videos made from the MPII sample (tests/test_apis, tests/test_tools).
@pytest.fixture(scope='session')
def tiny_pose_cfg() -> dict:
    """``cfg_options`` shrinking a plugin config to the tiny test model."""
    return dict(TINY_CFG_OPTIONS)


@pytest.fixture(scope='session')
def tiny_cfg_args() -> list:
    """:func:`tiny_pose_cfg` as ``--cfg-options`` arguments of a tool."""
    return ['--cfg-options', *TINY_MODEL]


@pytest.fixture(scope='session')
def mpii_images() -> list:
    """The five real MPII images of ``data/mpii_sample``."""
    import os
    root = _sample_data_path('mpii_sample')
    names = sorted(n for n in os.listdir(root) if n.endswith('.jpg'))
    if not names:
        pytest.skip(f'no images in {root}')
    return [osp.join(root, n) for n in names]


def _save_tiny_checkpoint(alias: str, path: str, seed: int = 0) -> str:
    import torch
    from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

    from softgate_mmpose.apis import init_model
    torch.manual_seed(seed)
    model = init_model(alias, device='cpu', cfg_options=TINY_CFG_OPTIONS)
    save_checkpoint(
        dict(
            state_dict=weights_to_cpu(model.state_dict()),
            meta=dict(dataset_meta=model.dataset_meta)), path)
    return path


@pytest.fixture(scope='session')
def save_tiny_checkpoint():
    """``(alias, path, seed=0) -> path``: a freshly initialised tiny model of
    ``alias`` saved with its ``dataset_meta``, as a trained one would be."""
    return _save_tiny_checkpoint


@pytest.fixture(scope='session')
def mpii_tiny_ckpt(tmp_path_factory) -> str:
    """A tiny MPII checkpoint (16 joints)."""
    return _save_tiny_checkpoint(
        MPII_ALIAS, str(tmp_path_factory.mktemp('ckpt') / 'mpii_tiny.pth'))


@pytest.fixture(scope='session')
def tiny_onnx(mpii_tiny_ckpt, tmp_path_factory):
    """``(name, dynamic_batch=False) -> path``: :func:`mpii_tiny_ckpt` exported
    by :mod:`softgate_mmpose.deployment` (cached per name)."""
    from softgate_mmpose import deployment as p2o
    root = tmp_path_factory.mktemp('onnx')
    made = {}

    def export(name: str = 'tiny.onnx', dynamic_batch: bool = False) -> str:
        if name not in made:
            from softgate_mmpose.apis import resolve_model
            config = resolve_model(MPII_ALIAS)[0]
            model = p2o.build_model(
                config, mpii_tiny_ckpt, cfg_options=TINY_CFG_OPTIONS)
            shape = p2o.input_shape_of(model.cfg)
            made[name] = str(root / name)
            p2o.export_onnx(
                model, made[name], shape=shape, dynamic_batch=dynamic_batch)
        return made[name]

    return export


def _write_video(images, path: str, size=(320, 240), fps: float = 5.) -> str:
    import cv2
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    assert writer.isOpened(), f'cannot write {path}'
    for img in images:
        writer.write(cv2.resize(cv2.imread(img), size))
    writer.release()
    return path


def _read_video(path: str) -> list:
    import cv2
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope='session')
def write_video():
    """``(images, path, size=(320, 240), fps=5.) -> path``: an mp4v video
    with one frame per image."""
    return _write_video


@pytest.fixture(scope='session')
def read_video():
    """``(path) -> [BGR frames]``."""
    return _read_video
