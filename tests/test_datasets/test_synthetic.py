# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
import json
import os
import os.path as osp

import numpy as np
import pytest

from softgate_mmpose.datasets.generators.synthetic import (
    LSP_JOINTS, generate_synthetic_dataset)
from ..constants import SYNTHETIC_CONFIG as QUICKSTART_CONFIG

SMALL = dict(num_train=16, num_val=8, image_size=128)


def _tree_bytes(root: str) -> dict:
    """Relative path → bytes of every file under ``root``."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def _load(root: str, split: str) -> dict:
    with open(osp.join(root, 'annotations', f'synthetic_{split}.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_dataset(out, seed=0, **SMALL)
    return out


def test_deterministic_for_a_seed(dataset_dir, tmp_path):
    generate_synthetic_dataset(str(tmp_path), seed=0, **SMALL)
    first, second = _tree_bytes(dataset_dir), _tree_bytes(str(tmp_path))
    assert len(first) == 2 + SMALL['num_train'] + SMALL['num_val']
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name


def test_other_seed_differs(dataset_dir, tmp_path):
    generate_synthetic_dataset(str(tmp_path), seed=1, **SMALL)
    first, other = _tree_bytes(dataset_dir), _tree_bytes(str(tmp_path))
    assert first.keys() == other.keys()
    for name in first:
        assert first[name] != other[name], name


def test_annotations(dataset_dir):
    size = SMALL['image_size']
    visibilities = set()
    for split in ('train', 'val'):
        content = _load(dataset_dir, split)
        assert content['categories'][0]['keypoints'] == list(LSP_JOINTS)
        assert len(content['images']) == SMALL[f'num_{split}']
        assert len(content['annotations']) == SMALL[f'num_{split}']
        for img, ann in zip(content['images'], content['annotations']):
            assert ann['image_id'] == img['id']
            assert (img['width'], img['height']) == (size, size)
            assert img['file_name'].startswith(split)
            kpts = np.array(ann['keypoints']).reshape(-1, 3)
            assert kpts.shape == (14, 3)
            visibilities.update(kpts[:, 2].tolist())
            # Every joint is labelled; visible ones lie inside the image.
            assert set(kpts[:, 2]) <= {1, 2}
            assert ann['num_keypoints'] == 14
            shown = kpts[kpts[:, 2] == 2, :2]
            assert ((shown >= 0) & (shown <= size - 1)).all()
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= size and y + h <= size
            # The box surrounds the drawn figure, hence its visible joints.
            assert (shown[:, 0] >= x - 1).all()
            assert (shown[:, 0] <= x + w + 1).all()
            assert (shown[:, 1] >= y - 1).all()
            assert (shown[:, 1] <= y + h + 1).all()
    # Seed 0 draws occluded joints in these 24 images.
    assert visibilities == {1, 2}


def test_left_right_follow_facing(dataset_dir):
    """Facing the camera puts the right shoulder on the image's left of the
    spine (a flip turns a figure into one with the sides exchanged)."""
    j = {name: i for i, name in enumerate(LSP_JOINTS)}
    facings = set()
    for split in ('train', 'val'):
        for ann in _load(dataset_dir, split)['annotations']:
            kpts = np.array(ann['keypoints']).reshape(-1, 3)[:, :2]
            hips = (kpts[j['left_hip']] + kpts[j['right_hip']]) / 2
            up = kpts[j['neck']] - hips
            across = kpts[j['left_shoulder']] - kpts[j['right_shoulder']]
            cross = up[0] * across[1] - up[1] * across[0]
            # Image axes point right and down: upright and facing the
            # camera, up = (0, -1) and across = (+, 0) give cross > 0.
            assert (cross > 0) == (ann['facing'] == 'front')
            facings.add(ann['facing'])
    assert facings == {'front', 'back'}


def test_loads_through_lsp_dataset(dataset_dir):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    from softgate_mmpose.datasets.datasets import LspDataset

    dataset = LspDataset(
        data_root=dataset_dir,
        ann_file='annotations/synthetic_val.json',
        data_prefix=dict(img='images/'),
        data_mode='topdown',
        test_mode=True,
        pipeline=[])
    assert len(dataset) == SMALL['num_val']
    names = [dataset.metainfo['keypoint_id2name'][i] for i in range(14)]
    assert names == list(LSP_JOINTS)
    raw = _load(dataset_dir, 'val')['annotations']
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert osp.isfile(info['img_path'])
        assert info['keypoints'].shape == (1, 14, 2)
        expected = np.array(raw[i]['keypoints']).reshape(-1, 3)
        # float32 storage of the JSON's float64 values: within 6e-8 relative,
        # below assert_allclose's default rtol of 1e-7.
        np.testing.assert_allclose(info['keypoints'][0], expected[:, :2])
        # MMPose keeps occluded (v=1) joints as labelled.
        np.testing.assert_array_equal(info['keypoints_visible'][0],
                                      np.minimum(1, expected[:, 2]))

    # The quickstart config's training pipeline runs on the data.
    cfg = Config.fromfile(QUICKSTART_CONFIG)
    init_default_scope('mmpose')
    train_cfg = cfg.train_dataloader.dataset
    train_cfg.data_root = dataset_dir
    train_set = DATASETS.build(train_cfg)
    assert len(train_set) == SMALL['num_train']
    sample = train_set[0]
    assert tuple(sample['inputs'].shape) == (3, 96, 96)
    assert tuple(sample['data_samples'].gt_fields.heatmaps.shape) == (14, 24,
                                                                      24)


def test_reuse_and_regenerate(tmp_path):
    out = str(tmp_path)
    first = generate_synthetic_dataset(out, seed=3, **SMALL)
    assert first['reused'] == {'train': False, 'val': False}
    ann = osp.join(out, 'annotations', 'synthetic_train.json')
    mtime = os.stat(ann).st_mtime_ns
    again = generate_synthetic_dataset(out, seed=3, **SMALL)
    assert again['reused'] == {'train': True, 'val': True}
    assert os.stat(ann).st_mtime_ns == mtime

    # Fewer held-out images: only that split is redone, stale files go.
    fewer = dict(SMALL, num_val=4)
    result = generate_synthetic_dataset(out, seed=3, **fewer)
    assert result['reused'] == {'train': True, 'val': False}
    vals = sorted(
        n for n in os.listdir(osp.join(out, 'images')) if n.startswith('val_'))
    assert vals == [f'val_{i:06d}.jpg' for i in range(4)]
    # Image i depends only on (seed, split, i).
    with open(osp.join(out, 'images', 'val_000000.jpg'), 'rb') as f:
        regenerated = f.read()
    other = str(tmp_path / 'other')
    generate_synthetic_dataset(other, seed=3, **SMALL)
    with open(osp.join(other, 'images', 'val_000000.jpg'), 'rb') as f:
        assert f.read() == regenerated

    # A missing image invalidates the split.
    os.remove(osp.join(out, 'images', 'train_000002.jpg'))
    result = generate_synthetic_dataset(out, seed=3, **fewer)
    assert result['reused'] == {'train': False, 'val': True}
    assert osp.isfile(osp.join(out, 'images', 'train_000002.jpg'))
    # No temporary files are left behind.
    assert not [
        n for n in os.listdir(osp.join(out, 'images')) if n.startswith('.')
    ]


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(num_train=0), ValueError, 'num_train'),
    (dict(num_val=-1), ValueError, 'num_val'),
    (dict(num_train=2.5), ValueError, 'num_train'),
    (dict(image_size=16), ValueError, 'image_size'),
    (dict(image_size=(64, 64, 3)), ValueError, 'image_size'),
    (dict(seed=-1), ValueError, 'seed'),
])
def test_bad_arguments(tmp_path, kwargs, error, match):
    out = str(tmp_path / 'data')
    with pytest.raises(error, match=match):
        generate_synthetic_dataset(out, **dict(SMALL, **kwargs))
    assert not osp.exists(out)


def test_out_dir_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(NotADirectoryError, match=str(path)):
        generate_synthetic_dataset(str(path), **SMALL)


def test_files_have_the_umask_mode(tmp_path):
    """Images and annotations are readable as ordinary files would be (not
    the private 0600 of a temporary file)."""
    old = os.umask(0o022)
    try:
        generate_synthetic_dataset(
            str(tmp_path), num_train=2, num_val=1, image_size=64)
    finally:
        os.umask(old)
    files = [
        osp.join(d, n) for d, _, names in os.walk(tmp_path) for n in names
    ]
    assert len(files) == 2 + 3
    for path in files:
        assert os.stat(path).st_mode & 0o777 == 0o644, path


def test_joints_and_skeleton_from_the_lsp_metainfo(dataset_dir):
    from mmengine.config import Config

    from softgate_mmpose.datasets import LSP_METAINFO_FILE
    info = Config.fromfile(LSP_METAINFO_FILE)['dataset_info']
    names = [info['keypoint_info'][i]['name'] for i in range(14)]
    links = {
        frozenset(info['skeleton_info'][i]['link'])
        for i in info['skeleton_info']
    }
    category = _load(dataset_dir, 'train')['categories'][0]
    assert category['keypoints'] == names
    assert {
        frozenset(names[a - 1] for a in pair)
        for pair in category['skeleton']
    } == links
