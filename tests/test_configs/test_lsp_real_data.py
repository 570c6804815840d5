# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The LSP recipe learns real people.

The LSP-extended sample through the whole real-image path.
"""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from ..constants import REPO_ROOT

LSP_CONFIG = osp.join(REPO_ROOT, 'configs', 'lsp',
                      'td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py')
SAMPLE_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'lsp',
    'td-hm_softgate-hg2-c64_1xb16-600it_lspet-sample-96x96.py')
#: The fixed training subset: the first persons of the sample with every joint
#: labelled in the image, so that every joint and both sides of every pair are
#: learned and scored.
NUM_TRAIN = 16
MAX_ITERS = 250
INPUT_SIZE = 128


def small_lsp_config(work_dir: str, data_root: str, ann_file: str,
                     img_dir: str) -> Config:
    """The LSP config with its pipelines, flip test and metric as they are.

    A 2 x 64 model at 128x128 and a short iteration-based schedule instead of
    the 4 x 144 model and 200 epochs.
    """
    cfg = Config.fromfile(LSP_CONFIG)
    codec = dict(
        type='MSRAHeatmap',
        input_size=(INPUT_SIZE, INPUT_SIZE),
        heatmap_size=(INPUT_SIZE // 4, INPUT_SIZE // 4),
        sigma=1.5)
    cfg.model.backbone.update(
        num_stacks=2, stack_channels=64, depth=3, stem_channels=(16, 32, 64))
    cfg.model.head.update(num_stages=2, decoder=codec)
    assert cfg.model.test_cfg.flip_test
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset = cfg[loader].dataset
        for transform in dataset.pipeline:
            if transform.type == 'TopdownAffine':
                transform.input_size = codec['input_size']
            elif transform.type == 'GenerateTarget':
                transform.encoder = codec
        dataset.update(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=dict(img=img_dir))
        cfg[loader].update(
            batch_size=NUM_TRAIN, num_workers=0, persistent_workers=False)
    # One batch is the whole subset: an infinite sampler spares mmengine's 2 s
    # pause at every restart of the dataloader.
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    train_types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert train_types[2:4] == ['RandomFlip', 'UniformRandomBBoxTransform']
    cfg.test_dataloader = cfg.val_dataloader

    cfg.train_cfg = dict(
        by_epoch=False, max_iters=MAX_ITERS, val_interval=MAX_ITERS)
    cfg.optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            begin=0,
            end=30,
            start_factor=0.01,
            by_epoch=False),
        dict(
            type='CosineAnnealingLR',
            begin=30,
            end=MAX_ITERS,
            eta_min_ratio=0.05,
            by_epoch=False),
    ]
    cfg.default_hooks.update(
        checkpoint=None, logger=dict(type='LoggerHook', interval=50))
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
    return cfg


def test_sample_config_reads_the_shipped_sample(load_tool):
    """The quickstart-real config trains on the photographs in the repository.

    Relative to the checkout, as MMPose's configs read data/; it crops at its
    codec's size and is the one tools/quickstart.py --real runs.
    """
    cfg = Config.fromfile(SAMPLE_CONFIG)
    assert load_tool('quickstart.py').REAL_CONFIG == SAMPLE_CONFIG
    size = cfg.codec['input_size']
    assert tuple(cfg.codec['heatmap_size']) == (size[0] // 4, size[1] // 4)
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset = cfg[loader].dataset
        root = osp.join(REPO_ROOT, dataset.data_root)
        assert osp.isfile(osp.join(root, 'joints.mat'))
        assert osp.isdir(osp.join(root, 'images'))
        crops = [t for t in dataset.pipeline if t['type'] == 'TopdownAffine']
        assert [tuple(t['input_size']) for t in crops] == [tuple(size)]
    assert cfg.train_cfg.max_iters == cfg.default_hooks.checkpoint.interval


@pytest.mark.slow
def test_overfits_real_subset(tmp_path, lsp2coco, sample_data_path):
    """Trained and evaluated on 16 real LSP-extended people, it fits them.

    With the LSP config's own pipeline (flip, rotation, scale) and flip test at
    evaluation, the small model reaches Mean PCK@0.2 >= 90.

    This checks that the real-image path produces consistent, learnable targets
    end to end: joints.mat reading, visibility, boxes, crops under
    flip/rotation/scale, codec, flip test, decoding back to image coordinates
    and the torso-normalised metric.

    It does not check the meaning of the joints: a swapped flip pair in the
    metainfo (right wrist <-> left elbow, left wrist <-> right elbow) would
    fit just as well, because a model that memorises 16 people learns their
    mirrored crops' labels as given, and flip test
    undoes the same mapping; a consistently permuted joint order would fit
    alike. The anatomy of the flip pairs and of the joint order is asserted
    directly in tests/test_datasets/test_lsp_dataset.py (forced flip lands each
    joint on its mirrored partner; metainfo names) and
    tests/test_tools/test_dataset_converters/test_lsp2coco.py (joints checked
    by hand against joints.mat).
    """
    joints = sample_data_path('lspet_sample', 'joints.mat')
    images = sample_data_path('lspet_sample', 'images')
    layout, splits = lsp2coco.convert_dataset(joints, images)
    coco = splits['train']
    assert layout == 'lspet' and len(coco['images']) == 400
    anns = {ann['image_id']: ann for ann in coco['annotations']}
    full = [
        i for i, image in enumerate(coco['images'])
        if image['id'] in anns and np.all(
            np.reshape(anns[image['id']]['keypoints'], (14, 3))[:, 2] > 0)
    ]
    subset = lsp2coco.select_images(coco, full[:NUM_TRAIN])
    lsp2coco.write_coco(subset, str(tmp_path / 'train.json'))

    cfg = small_lsp_config(
        str(tmp_path / 'work'), str(tmp_path), 'train.json', images)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = {
        key[len('val/'):]: runner.message_hub.get_scalar(key).current()
        for key in runner.message_hub.log_scalars if key.startswith('val/')
    }
    print('Mean PCK@0.2 on the training subset:', metrics)
    assert metrics['Mean'] >= 90, metrics
