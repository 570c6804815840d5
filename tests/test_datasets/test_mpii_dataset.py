# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The default MPII config's dataset, pipelines and metric on the real MPII
sample, and the errors for missing data root, annotation, head-box and image
files."""
import copy
import json
import os
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, METRICS
from scipy.io import savemat

from softgate_mmpose.datasets.datasets import CheckedMpiiDataset
from tests.constants import DEFAULT_CONFIG

ANN_FILE = 'test_mpii.json'
NUM_SAMPLES = 5


@pytest.fixture(scope='module')
def cfg() -> Config:
    init_default_scope('mmpose')
    return Config.fromfile(DEFAULT_CONFIG)


@pytest.fixture(scope='module')
def sample_root(sample_data_path) -> str:
    return sample_data_path('mpii_sample')


def write_headboxes(path: str, num: int, diagonal=(30., 40.)) -> float:
    """Write an ``mpii_gt_val.mat``-style file of ``num`` equal head boxes.

    Returns:
        float: The head size MPII derives from them (0.6 x box diagonal).
    """
    boxes = np.zeros((2, 2, num))
    boxes[1, 0], boxes[1, 1] = diagonal
    savemat(path, dict(headboxes_src=boxes))
    return 0.6 * float(np.hypot(*diagonal))


def build_split(cfg: Config, split: str, **overrides) -> CheckedMpiiDataset:
    """The config's ``split`` dataset with ``overrides``; its pipeline also
    packs the keypoints in the crop (``transformed_keypoints``)."""
    dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader']['dataset'])
    dataset_cfg.update(overrides)
    assert dataset_cfg['pipeline'][-1]['type'] == 'PackPoseInputs'
    dataset_cfg['pipeline'][-1]['pack_transformed'] = True
    return DATASETS.build(dataset_cfg)


def sample_overrides(root: str, **kwargs) -> dict:
    return dict(
        data_root=root, ann_file=ANN_FILE, data_prefix=dict(img=''), **kwargs)


def test_config_uses_checked_dataset(cfg):
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader']['dataset']['type'] == \
            'CheckedMpiiDataset'
    assert issubclass(
        DATASETS.get('CheckedMpiiDataset'), DATASETS.get('MpiiDataset'))


def test_train_pipeline_targets_on_joints(cfg, sample_root):
    dataset = build_split(cfg, 'train', **sample_overrides(sample_root))
    assert len(dataset) == NUM_SAMPLES
    assert dataset.metainfo['num_keypoints'] == 16
    radius = 3 * cfg.codec['sigma']  # MSRAHeatmap's Gaussian reaches 3 sigma
    np.random.seed(0)  # the transforms draw from numpy's global generator
    num_on_joint = 0
    for _ in range(4):  # several random flips, rotations and scales
        for idx in range(len(dataset)):
            item = dataset[idx]
            assert tuple(item['inputs'].shape) == (3, 256, 256)
            sample = item['data_samples']
            heatmaps = sample.gt_fields.heatmaps.numpy()
            assert heatmaps.shape == (16, 64, 64)
            weights = sample.gt_instance_labels.keypoint_weights.numpy()[0]
            # joint positions in the 256x256 crop -> heatmap pixel (stride 4)
            kpts = sample.gt_instances.transformed_keypoints[0]
            centres = (kpts / 4 + 0.5).astype(np.int64)
            for k in range(16):
                if weights[k] == 0:
                    assert heatmaps[k].max() == 0
                    continue
                # trained joints lie on the heatmap or within 3 sigma of it
                assert np.all(centres[k] >= -radius - 1)
                assert np.all(centres[k] < 64 + radius)
                if np.all((centres[k] >= 0) & (centres[k] < 64)):
                    # the target peaks exactly where the joint landed
                    peak = np.unravel_index(heatmaps[k].argmax(), (64, 64))
                    assert tuple(peak[::-1]) == tuple(centres[k])
                    assert heatmaps[k].max() == pytest.approx(1.0)
                    num_on_joint += 1
                else:  # only the Gaussian's tail is on the heatmap
                    assert 0 < heatmaps[k].max() < 1
    assert num_on_joint > 4 * NUM_SAMPLES * 10


def test_val_pipeline_and_metric(cfg, sample_root, tmp_path):
    """Val pipeline (no augmentation) and the config's MpiiPCKAccuracy with
    head boxes: ground truth as prediction gives 100, and moving one
    person's joints beyond the threshold gives the hand-computed PCKh."""
    head_size = write_headboxes(str(tmp_path / 'gt_val.mat'), NUM_SAMPLES)
    dataset = build_split(
        cfg, 'val',
        **sample_overrides(
            sample_root, headbox_file=str(tmp_path / 'gt_val.mat')))
    assert len(dataset) == NUM_SAMPLES

    samples = []
    for idx in range(len(dataset)):
        item = dataset[idx]
        assert tuple(item['inputs'].shape) == (3, 256, 256)
        sample = item['data_samples']
        assert 'gt_fields' not in sample  # no targets at test time
        visible = sample.gt_instances.keypoints_visible[0] > 0
        # GetBBoxCenterScale pads MPII's person box by 1.25: every labelled
        # joint lies inside the crop.
        kpts = sample.gt_instances.transformed_keypoints[0][visible]
        assert np.all(kpts >= 0) and np.all(kpts < 256)
        np.testing.assert_allclose(sample.gt_instances.head_size,
                                   [[head_size]])
        samples.append(sample)

    metric_cfg = copy.deepcopy(cfg.val_evaluator)
    assert metric_cfg['type'] == 'MpiiPCKAccuracy'

    def evaluate(shift_first_person: float) -> dict:
        metric = METRICS.build(metric_cfg)
        metric.dataset_meta = dataset.metainfo
        for i, sample in enumerate(samples):
            pred = sample.clone()
            # MpiiPCKAccuracy adds 1 to predictions (MATLAB's 1-based gt).
            kpts = pred.gt_instances.keypoints.copy() - 1
            if i == 0:
                kpts[..., 0] += shift_first_person
            pred.pred_instances = pred.gt_instances.clone()
            pred.pred_instances.keypoints = kpts
            metric.process([], [pred.to_dict()])
        return metric.evaluate(len(samples))

    metrics = evaluate(0.)
    assert metrics['PCK'] == pytest.approx(100.)
    # The default checkpoint hook keeps the best model by a key the metric
    # actually returns.
    assert cfg.default_hooks.checkpoint.save_best in metrics, (
        f'save_best={cfg.default_hooks.checkpoint.save_best!r} is not one '
        f'of the metric keys {sorted(metrics)}')

    # PCKh@0.5: tolerance 0.5 x head size; person 0 moved 1.5 x that.
    metrics = evaluate(0.75 * head_size)
    vis = np.stack([s.gt_instances.keypoints_visible[0] > 0 for s in samples])
    vis[:, 6:8] = False  # pelvis and thorax are not scored
    expected = 100. * vis[1:].sum() / vis.sum()
    assert expected < 100.
    assert metrics['PCK'] == pytest.approx(expected, abs=1e-4)


def copy_sample(src: str, dst: str, skip_images: int = 0) -> None:
    """Copy the MPII sample to ``dst`` without its first ``skip_images``
    images (in annotation order)."""
    os.makedirs(dst)
    shutil.copy(os.path.join(src, ANN_FILE), dst)
    with open(os.path.join(src, ANN_FILE)) as f:
        images = list(dict.fromkeys(ann['image'] for ann in json.load(f)))
    for name in images[skip_images:]:
        shutil.copy(os.path.join(src, name), dst)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_missing_data_root(cfg, tmp_path, split):
    root = str(tmp_path / 'no_mpii')
    with pytest.raises(FileNotFoundError, match='data root') as err:
        build_split(cfg, split, data_root=root)
    assert root in str(err.value)
    # what belongs there, as configured
    assert cfg[f'{split}_dataloader']['dataset']['ann_file'] in str(err.value)


def test_missing_annotation_file(cfg, sample_root):
    with pytest.raises(FileNotFoundError, match='annotation file') as err:
        build_split(
            cfg, 'train', data_root=sample_root, ann_file='mpii_train.json')
    assert os.path.join(sample_root, 'mpii_train.json') in str(err.value)
    assert 'MPII annotation JSON' in str(err.value)


def test_missing_headbox_file(cfg, sample_root, tmp_path):
    missing = str(tmp_path / 'mpii_gt_val.mat')
    with pytest.raises(FileNotFoundError, match='head-box file') as err:
        build_split(cfg, 'val',
                    **sample_overrides(sample_root, headbox_file=missing))
    assert missing in str(err.value)
    assert 'headboxes_src' in str(err.value)


def test_headbox_file_not_matching_annotations(cfg, sample_root, tmp_path):
    path = str(tmp_path / 'gt_val.mat')
    write_headboxes(path, NUM_SAMPLES - 1)
    with pytest.raises(ValueError, match='holds 4 head boxes') as err:
        build_split(cfg, 'val',
                    **sample_overrides(sample_root, headbox_file=path))
    assert path in str(err.value) and ANN_FILE in str(err.value)

    savemat(path, dict(boxes=np.zeros((2, 2, NUM_SAMPLES))))
    with pytest.raises(ValueError, match='no "headboxes_src"'):
        build_split(cfg, 'val',
                    **sample_overrides(sample_root, headbox_file=path))


def test_missing_images(cfg, sample_root, tmp_path):
    root = str(tmp_path / 'mpii')
    copy_sample(sample_root, root, skip_images=2)
    with pytest.raises(
            FileNotFoundError, match='2 of 5 images named by') as err:
        build_split(cfg, 'train', **sample_overrides(root))
    with open(os.path.join(sample_root, ANN_FILE)) as f:
        first_two = [ann['image'] for ann in json.load(f)][:2]
    for name in first_two:
        assert os.path.join(root, name) in str(err.value)

    # all images present: loads
    for name in first_two:
        shutil.copy(os.path.join(sample_root, name), root)
    assert len(build_split(cfg, 'train', **sample_overrides(root))) == 5


def test_missing_image_directory(cfg, sample_root):
    with pytest.raises(FileNotFoundError, match='image directory') as err:
        build_split(
            cfg, 'train',
            **dict(
                sample_overrides(sample_root),
                data_prefix=dict(img='images/')))
    assert os.path.join(sample_root, 'images') in str(err.value)
