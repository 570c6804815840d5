# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""LspDataset and its metainfo, with the real LSP-extended sample through
MMPose's top-down training pipeline."""
import json
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from softgate_mmpose.datasets import LSP_METAINFO_FILE, LspDataset
from ..constants import SAMPLE_DATA

LSPET_DIR = Path(SAMPLE_DATA) / 'lspet_sample'
CODEC = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)
LSP_FLIP_INDICES = [5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13]


@pytest.fixture(scope='module')
def lspet(tmp_path_factory, lsp2coco) -> dict:
    """The real LSP-extended sample converted into a temporary data root."""
    root = tmp_path_factory.mktemp('lsp_root')
    lsp2coco.convert_lsp(
        str(LSPET_DIR / 'joints.mat'), str(LSPET_DIR / 'images'),
        str(root / 'annotations'))
    init_default_scope('mmpose')
    return dict(
        data_root=str(root),
        ann_file='annotations/lspet_train.json',
        data_prefix=dict(img=str(LSPET_DIR / 'images')))


def build_dataset(lspet: dict, pipeline=(), **kwargs) -> LspDataset:
    cfg = dict(type='LspDataset', data_mode='topdown', pipeline=list(pipeline))
    cfg.update(lspet, **kwargs)
    return DATASETS.build(cfg)


def train_pipeline(flip_prob: float, augment: bool = True) -> list:
    """The MPII config's training pipeline (flip, +-30 deg, 0.75-1.25)."""
    bbox_transform = dict(
        type='UniformRandomBBoxTransform',
        scale_factor=(0.75, 1.25),
        rotate_factor=30)
    if not augment:
        bbox_transform.update(scale_prob=0, rotate_prob=0)
    return [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal', prob=flip_prob),
        bbox_transform,
        dict(type='TopdownAffine', input_size=CODEC['input_size']),
        dict(type='GenerateTarget', encoder=CODEC),
        dict(type='PackPoseInputs', pack_transformed=True),
    ]


def unpack(sample: dict):
    """(heatmaps (K, 64, 64), weights (K, ), transformed keypoints (K, 2),
    image (3, 256, 256))."""
    data = sample['data_samples']
    return (data.gt_fields.heatmaps.numpy(),
            data.gt_instance_labels.keypoint_weights.numpy()[0],
            np.asarray(data.gt_instances.transformed_keypoints)[0],
            sample['inputs'].numpy().astype(np.float64))


def heatmap_peaks(heatmaps: np.ndarray) -> np.ndarray:
    """(K, 2) x, y of each heatmap's maximum."""
    k, h, w = heatmaps.shape
    flat = heatmaps.reshape(k, -1).argmax(1)
    return np.stack([flat % w, flat // w], axis=1)


def test_metainfo_from_any_working_directory(tmp_path, monkeypatch, lsp2coco):
    monkeypatch.chdir(tmp_path)
    assert osp.isabs(LSP_METAINFO_FILE) and osp.isfile(LSP_METAINFO_FILE)
    # Inside the package, in a package directory, so that it is installed.
    package_dir = osp.dirname(
        osp.dirname(osp.abspath(__import__('softgate_mmpose').__file__)))
    assert LSP_METAINFO_FILE.startswith(package_dir)
    assert osp.isfile(osp.join(osp.dirname(LSP_METAINFO_FILE), '__init__.py'))

    meta = LspDataset(lazy_init=True).metainfo
    assert meta['dataset_name'] == 'lsp'
    assert meta['num_keypoints'] == 14
    assert [meta['keypoint_id2name'][i] for i in range(14)] == [
        'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee',
        'left_ankle', 'right_wrist', 'right_elbow', 'right_shoulder',
        'left_shoulder', 'left_elbow', 'left_wrist', 'neck', 'head_top'
    ]
    assert list(lsp2coco.JOINT_NAMES) == [
        meta['keypoint_id2name'][i] for i in range(14)
    ]
    assert meta['flip_indices'] == LSP_FLIP_INDICES
    assert {tuple(sorted(p))
            for p in meta['flip_pairs']} == {(0, 5), (1, 4), (2, 3), (6, 11),
                                             (7, 10), (8, 9)}
    assert sorted(meta['upper_body_ids']) == list(range(6, 14))
    assert sorted(meta['lower_body_ids']) == list(range(6))
    assert len(meta['skeleton_links']) == 14
    assert {i
            for link in meta['skeleton_links']
            for i in link} == set(range(14))
    assert meta['keypoint_colors'].shape == (14, 3)
    assert meta['skeleton_link_colors'].shape == (14, 3)
    assert meta['dataset_keypoint_weights'].shape == (14, )
    assert meta['sigmas'].shape == (14, )
    # Left/right partners share their weight and sigma.
    for key in ('dataset_keypoint_weights', 'sigmas'):
        np.testing.assert_array_equal(meta[key], meta[key][LSP_FLIP_INDICES])


def test_missing_annotation_file(tmp_path):
    init_default_scope('mmpose')
    with pytest.raises(
            FileNotFoundError, match=r'nope/lsp_test\.json.*lsp2coco\.py'):
        DATASETS.build(
            dict(
                type='LspDataset',
                data_root=str(tmp_path),
                ann_file='nope/lsp_test.json'))


def test_loads_converted_sample(lspet):
    dataset = build_dataset(lspet)
    assert len(dataset) == 400
    with open(osp.join(lspet['data_root'], lspet['ann_file'])) as f:
        coco = json.load(f)
    for idx in (0, 28, 399):
        info = dataset.get_data_info(idx)
        ann = coco['annotations'][idx]
        assert info['img_path'] == str(LSPET_DIR / 'images' /
                                       f'im{idx + 1:05d}.jpg')
        kpts = np.array(ann['keypoints']).reshape(14, 3)
        np.testing.assert_allclose(
            info['keypoints'][0], kpts[:, :2], atol=1e-3)
        # Occluded (1) and visible (2) are both trained: min(1, v).
        np.testing.assert_array_equal(info['keypoints_visible'][0],
                                      np.minimum(kpts[:, 2], 1))
        x, y, w, h = ann['bbox']
        np.testing.assert_allclose(
            info['bbox'][0], [x, y, x + w, y + h], atol=1e-3)
        assert info['flip_indices'] == LSP_FLIP_INDICES
    assert not dataset.get_data_info(28)['keypoints_visible'][0, 12]


def test_training_targets_land_on_joints(lspet):
    np.random.seed(0)
    dataset = build_dataset(lspet, pipeline=train_pipeline(flip_prob=0.5))
    checked = flipped = 0
    for idx in range(0, 400, 20):
        sample = dataset[idx]
        heatmaps, weights, joints, img = unpack(sample)
        assert img.shape == (3, 256, 256) and heatmaps.shape == (14, 64, 64)
        flipped += bool(sample['data_samples'].flip)
        # Trained joints: the target peaks (value 1) at the joint's
        # position in the 256x256 crop, at 1/4 resolution.
        for k in np.flatnonzero(weights > 0):
            assert heatmaps[k].max() == pytest.approx(1.0)
            peak = heatmap_peaks(heatmaps[k:k + 1])[0]
            np.testing.assert_allclose(peak, joints[k] / 4, atol=0.5 + 1e-4)
            checked += 1
        # Unlabelled joints, or joints pushed out of the crop, are not
        # trained and have an empty target.
        for k in np.flatnonzero(weights == 0):
            assert heatmaps[k].max() == 0
        unlabelled = dataset.get_data_info(idx)['keypoints_visible'][0] == 0
        if not sample['data_samples'].flip:
            assert np.all(weights[unlabelled] == 0)
    assert checked > 200 and 0 < flipped < 20


def test_forced_horizontal_flip_swaps_left_and_right(lspet):
    no_flip = build_dataset(
        lspet, pipeline=train_pipeline(flip_prob=0.0, augment=False))
    flip = build_dataset(
        lspet, pipeline=train_pipeline(flip_prob=1.0, augment=False))
    width = CODEC['input_size'][0]
    for idx in (0, 57, 213):
        hm_a, w_a, joints_a, img_a = unpack(no_flip[idx])
        sample_b = flip[idx]
        assert sample_b['data_samples'].flip
        hm_b, w_b, joints_b, img_b = unpack(sample_b)
        # The flipped crop is the mirror image (pixel u <-> 256 - u) ...
        # (up to the rounding of cv2's fixed-point bilinear interpolation)
        mirror_diff = np.abs(img_b[:, :, 1:] - img_a[:, :, :0:-1])
        assert np.mean(mirror_diff > 2) < 0.01 and mirror_diff.mean() < 0.1
        assert np.abs(img_b - img_a).mean() > 10  # the image is not symmetric
        # ... and each joint lands where its mirrored partner was: the right
        # ankle's target is at the mirrored left ankle, and so on.
        partner = LSP_FLIP_INDICES
        np.testing.assert_array_equal(w_b, w_a[partner])
        np.testing.assert_allclose(
            joints_b[:, 0], width - joints_a[partner, 0], atol=1e-3)
        np.testing.assert_allclose(
            joints_b[:, 1], joints_a[partner, 1], atol=1e-3)
        trained = np.flatnonzero(w_b > 0)
        assert 0 in trained or 5 in trained
        peaks_a, peaks_b = heatmap_peaks(hm_a), heatmap_peaks(hm_b)
        for k in trained:
            assert abs(peaks_b[k, 0] - (64 - peaks_a[partner[k], 0])) <= 1
            assert peaks_b[k, 1] == peaks_a[partner[k], 1]
        # Right and left really are different places (not a no-op swap).
        r_ankle, l_ankle = 0, 5
        if w_a[r_ankle] and w_a[l_ankle]:
            assert abs(joints_b[r_ankle, 0] - joints_a[r_ankle, 0]) > 1 or \
                abs(joints_b[r_ankle, 1] - joints_a[r_ankle, 1]) > 1
