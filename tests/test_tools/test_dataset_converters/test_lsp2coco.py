# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""LSP / LSP-extended -> COCO conversion, on the real LSP-extended sample.

softgate_mmpose.datasets.converters.lsp and its command line
tools/dataset_converters/lsp2coco.py.
"""
import json
import os
import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import loadmat, savemat

from ...constants import SAMPLE_DATA

LSPET_DIR = Path(SAMPLE_DATA) / 'lspet_sample'


@pytest.fixture(scope='module')
def lspet_dir() -> Path:
    return LSPET_DIR


@pytest.fixture(scope='module')
def lspet_joints(lspet_dir) -> np.ndarray:
    """The sample's raw joints, (14, 3, 400)."""
    return loadmat(str(lspet_dir / 'joints.mat'))['joints']


@pytest.fixture(scope='module')
def lspet_coco(lspet_dir, tmp_path_factory, lsp2coco) -> dict:
    out = tmp_path_factory.mktemp('lspet_out')
    written = lsp2coco.convert_lsp(
        str(lspet_dir / 'joints.mat'), str(lspet_dir / 'images'), str(out))
    assert written == {'lspet_train': str(out / 'lspet_train.json')}
    assert sorted(os.listdir(out)) == ['lspet_train.json']
    with open(written['lspet_train']) as f:
        return json.load(f)


def link_images(src_dir: Path, dst_dir: Path, num: int, src_fmt: str,
                dst_fmt: str, num_src: int) -> None:
    """``dst_dir/dst_fmt(i)`` -> ``src_dir/src_fmt(i % num_src)``, 1-based."""
    dst_dir.mkdir(parents=True)
    for i in range(num):
        (dst_dir / dst_fmt.format(i + 1)).symlink_to(
            src_dir / src_fmt.format(i % num_src + 1))


def annotations_by_image(coco: dict) -> dict:
    return {a['image_id']: a for a in coco['annotations']}


def test_lspet_sample_conversion(lspet_dir, lspet_joints, lspet_coco,
                                 lsp2coco):
    images, anns = lspet_coco['images'], lspet_coco['annotations']
    assert len(images) == 400 and len(anns) == 400
    assert [im['file_name']
            for im in images[:2]] == ['im00001.jpg', 'im00002.jpg']
    assert [im['id'] for im in images[:2]] == [100001, 100002]
    for im in images[::97]:
        with Image.open(lspet_dir / 'images' / im['file_name']) as img:
            assert (im['width'], im['height']) == img.size
    category, = lspet_coco['categories']
    assert category['keypoints'] == list(lsp2coco.JOINT_NAMES)
    assert category['keypoints'][12:] == ['neck', 'head_top']

    kpts = np.array([
        annotations_by_image(lspet_coco)[im['id']]['keypoints']
        for im in images
    ]).reshape(400, 14, 3)
    # Image 1, checked by hand against joints.mat: r-ankle at (0, -26.1)
    # flag 0 is not labelled; r-knee (26.03, 86.41) flag 1 is visible and
    # shifted to 0-based pixels.
    np.testing.assert_allclose(kpts[0, 0], [0, 0, 0])
    np.testing.assert_allclose(
        kpts[0, 1], [lspet_joints[1, 0, 0] - 1, lspet_joints[1, 1, 0] - 1, 2],
        atol=1e-4)
    # Image 29's neck is (0, 0) with flag 0: MATLAB's "no position".
    np.testing.assert_allclose(kpts[28, 12], [0, 0, 0])
    # A joint flagged visible but above the image is not labelled either.
    j, n = np.argwhere((lspet_joints[:, 2] == 1) & (lspet_joints[:, 1] < 1))[0]
    np.testing.assert_allclose(kpts[n, j], [0, 0, 0])

    # Every labelled joint is the joints.mat position minus 1, inside the
    # image, visible exactly when flagged (the sample has no occluded joint
    # with a position).
    labelled = kpts[..., 2] > 0
    raw = lspet_joints.transpose(2, 0, 1)
    np.testing.assert_allclose(
        kpts[labelled][:, :2], raw[labelled][:, :2] - 1, atol=1e-4)
    assert np.all(kpts[labelled][:, 2] == 2)
    assert np.all(raw[labelled][:, 2] == 1)
    sizes = np.array([(im['width'], im['height']) for im in images])
    assert np.all(kpts[..., :2][labelled] >= 0)
    assert np.all(kpts[..., :2] < sizes[:, None])
    assert labelled.sum() > 0.8 * labelled.size
    assert [a['num_keypoints'] for a in anns] == list(labelled.sum(1))

    for ann, im, kp, lab in zip(anns, images, kpts, labelled):
        x, y, w, h = ann['bbox']
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert x + w <= im['width'] - 1 + 1e-3
        assert y + h <= im['height'] - 1 + 1e-3
        assert np.all(kp[lab, 0] >= x) and np.all(kp[lab, 0] <= x + w)
        assert np.all(kp[lab, 1] >= y) and np.all(kp[lab, 1] <= y + h)
        assert ann['area'] == pytest.approx(w * h, rel=1e-4)
        assert ann['iscrowd'] == 0 and ann['category_id'] == 1

    # Image 1's box by hand: the joints' extent grown by 0.1 x its longer
    # side on each side, clipped to the image.
    xy = kpts[0][labelled[0], :2]
    lo, hi = xy.min(0), xy.max(0)
    pad = 0.1 * (hi - lo).max()
    x1, y1 = np.maximum(lo - pad, 0)
    x2, y2 = np.minimum(hi + pad, [sizes[0, 0] - 1, sizes[0, 1] - 1])
    np.testing.assert_allclose(
        anns[0]['bbox'], [x1, y1, x2 - x1, y2 - y1], atol=1e-3)


def test_visibility_rules_by_hand(lsp2coco):
    # One 100x50 image, native joints (1-based x, y, flag).
    rows = [
        (11, 21, 0),
        (11, 21, 1),  # inside
        (1, 1, 0),  # pixel (0, 0): inside
        (100, 50, 1),  # last pixel: inside
        (101, 20, 1),  # x = width: outside
        (20, 51, 0),  # y = height: outside
        (-3, 10, 1),
        (0, 0, 0),  # negative / MATLAB "none"
        (np.nan, 10, 1),
        (10, np.nan, 0),
    ]
    joints = np.zeros((1, 14, 3))
    joints[0, :len(rows)] = rows
    joints[0, len(rows):] = (50, 25, 0)
    lsp = lsp2coco.to_coco_keypoints(joints, 'lsp', [(100, 50)])[0]
    lspet = lsp2coco.to_coco_keypoints(joints, 'lspet', [(100, 50)])[0]
    # LSP: flag 1 = occluded; LSP-extended: flag 1 = visible.
    assert list(lsp[:10, 2]) == [2, 1, 2, 1, 0, 0, 0, 0, 0, 0]
    assert list(lspet[:10, 2]) == [1, 2, 1, 2, 0, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(lsp[:4, :2], [(10, 20), (10, 20), (0, 0),
                                             (99, 49)])
    # Outside the image: LSP (every joint annotated) keeps the position for
    # the all-joints evaluation, LSP-extended writes 0, 0, 0; NaN is 0, 0, 0.
    np.testing.assert_allclose(lsp[4:8, :2], [(100, 19), (19, 50), (-4, 9),
                                              (-1, -1)])
    np.testing.assert_allclose(lsp[8:10], 0)
    np.testing.assert_allclose(lspet[4:10], 0)
    assert not np.isnan(lsp).any() and not np.isnan(lspet).any()


def test_lsp_layout_splits_and_merge(lspet_dir, lspet_joints, lspet_coco,
                                     tmp_path, lsp2coco):
    """A 3x14x2000 LSP joints.mat built from the LSP-extended sample (axes
    permuted, flag inverted, image i -> sample image i % 400) converts to the
    same keypoints, split 1000 / 1000, and merges with LSP-extended."""
    num = 2000
    lsp_joints = lspet_joints[:, :, np.arange(num) % 400].transpose(1, 0, 2)
    lsp_joints = lsp_joints.copy()
    lsp_joints[2] = 1 - lsp_joints[2]
    assert lsp_joints.shape == (3, 14, num)
    lsp_dir = tmp_path / 'lsp_dataset'
    link_images(lspet_dir / 'images', lsp_dir / 'images', num, 'im{:05d}.jpg',
                'im{:04d}.jpg', 400)
    savemat(str(lsp_dir / 'joints.mat'), dict(joints=lsp_joints))
    (tmp_path / 'lspet_dataset').symlink_to(lspet_dir)

    out = tmp_path / 'annotations'
    written = lsp2coco.convert_lsp(
        str(lsp_dir / 'joints.mat'),
        str(lsp_dir / 'images'),
        str(out),
        merge_with=(str(tmp_path / 'lspet_dataset' / 'joints.mat'),
                    str(tmp_path / 'lspet_dataset' / 'images')))
    assert sorted(written) == [
        'lsp+lspet_train', 'lsp_test', 'lsp_train', 'lspet_train'
    ]
    assert sorted(os.listdir(out)) == sorted(f'{n}.json' for n in written)
    coco = {}
    for name, path in written.items():
        with open(path) as f:
            coco[name] = json.load(f)

    train, test = coco['lsp_train'], coco['lsp_test']
    assert [im['file_name'] for im in train['images']
            ] == [f'lsp_dataset/images/im{i:04d}.jpg' for i in range(1, 1001)]
    assert [im['file_name'] for im in test['images']] == [
        f'lsp_dataset/images/im{i:04d}.jpg' for i in range(1001, 2001)
    ]
    reference = annotations_by_image(lspet_coco)
    for split, first in ((train, 0), (test, 1000)):
        anns = annotations_by_image(split)
        assert len(anns) == 1000
        for i in range(first, first + 1000, 37):
            ann, ref = anns[i + 1], reference[100001 + i % 400]
            kpts = np.reshape(ann['keypoints'], (14, 3))
            ref_kpts = np.reshape(ref['keypoints'], (14, 3))
            np.testing.assert_array_equal(kpts[:, 2], ref_kpts[:, 2])
            labelled = ref_kpts[:, 2] > 0
            np.testing.assert_allclose(kpts[labelled], ref_kpts[labelled])
            # LSP keeps the positions outside the image (LSP-extended not).
            np.testing.assert_allclose(
                kpts[~labelled, :2],
                lsp_joints[:2, ~labelled, i].T - 1,
                atol=1e-4)
            np.testing.assert_allclose(ann['bbox'], ref['bbox'])

    merged = coco['lsp+lspet_train']
    assert merged['images'] == train['images'] + coco['lspet_train']['images']
    assert merged['annotations'] == (
        train['annotations'] + coco['lspet_train']['annotations'])
    ids = [im['id'] for im in merged['images']]
    assert len(set(ids)) == 1400
    assert merged['images'][1000]['file_name'] == (
        'lspet_dataset/images/im00001.jpg')
    for im in merged['images'][::50]:
        assert (tmp_path / im['file_name']).is_file()


def _lspet_subset(lspet_dir: Path, lspet_joints: np.ndarray, root: Path,
                  num: int) -> Path:
    """An LSP-extended dataset of the sample's first ``num`` persons."""
    link_images(lspet_dir / 'images', root / 'images', num, 'im{:05d}.jpg',
                'im{:05d}.jpg', 400)
    savemat(str(root / 'joints.mat'), dict(joints=lspet_joints[:, :, :num]))
    return root


@pytest.fixture
def assert_fails_cleanly(lsp2coco):
    """``check(out, error, match, *args, **kwargs)``: ``convert_lsp`` raises
    and leaves ``out`` as it was."""
    return partial(_assert_fails_cleanly, lsp2coco.convert_lsp)


def _assert_fails_cleanly(convert_lsp, out: Path, error, match: str, *args,
                          **kwargs):
    before = sorted(os.listdir(out)) if out.exists() else None
    with pytest.raises(error, match=match):
        convert_lsp(*args, out_dir=str(out), **kwargs)
    after = sorted(os.listdir(out)) if out.exists() else None
    assert after == before, 'a failed conversion changed the output dir'


@pytest.mark.parametrize('shape', [(14, 2, 5), (3, 15, 5), (5, 14, 3),
                                   (14, 3, 5, 2), (42, )])
def test_wrong_shape_is_refused(tmp_path, shape, assert_fails_cleanly):
    joints = tmp_path / 'joints.mat'
    savemat(str(joints), dict(joints=np.ones(shape)))
    # MATLAB files have >= 2 dimensions: (42, ) is stored as (1, 42).
    stored = loadmat(str(joints))['joints'].shape
    out = tmp_path / 'out'
    assert_fails_cleanly(
        out, ValueError, f'{re.escape(str(joints))}.*{re.escape(str(stored))}'
        r'.*neither LSP \(3x14xN\) nor LSP-extended', str(joints),
        str(tmp_path))
    assert not out.exists()


def test_bad_joints_files(lspet_dir, tmp_path, assert_fails_cleanly):
    out = tmp_path / 'out'
    assert_fails_cleanly(out, FileNotFoundError, 'nope.mat.*does not exist',
                         str(tmp_path / 'nope.mat'), str(tmp_path))
    garbage = tmp_path / 'garbage.mat'
    garbage.write_bytes(b'this is not a mat file' * 20)
    assert_fails_cleanly(out, ValueError, 'garbage.mat', str(garbage),
                         str(tmp_path))
    other = tmp_path / 'other.mat'
    savemat(str(other), dict(points=np.zeros((14, 3, 2))))
    assert_fails_cleanly(out, ValueError, 'other.mat.*no variable "joints"',
                         str(other), str(tmp_path))
    # The layout must match an explicit --dataset.
    assert_fails_cleanly(
        out,
        ValueError,
        r'\(14, 3, 400\).*LSP-extended.*"lsp"',
        str(lspet_dir / 'joints.mat'),
        str(lspet_dir / 'images'),
        dataset='lsp')
    assert not out.exists()


def test_missing_and_corrupt_images(lspet_dir, lspet_joints, tmp_path,
                                    assert_fails_cleanly):
    root = _lspet_subset(lspet_dir, lspet_joints, tmp_path / 'lspet', 6)
    out = tmp_path / 'out'
    out.mkdir()
    # A previous conversion's output must survive a failed one untouched.
    (out / 'lspet_train.json').write_text('{"previous": true}')
    args = (str(root / 'joints.mat'), str(root / 'images'))

    (root / 'images' / 'im00004.jpg').unlink()
    assert_fails_cleanly(out, FileNotFoundError,
                         r'1 of 6 images are missing: .*im00004\.jpg', *args)

    (root / 'images' / 'im00004.jpg').write_bytes(b'not a jpeg ' * 200)
    assert_fails_cleanly(out, ValueError, r'cannot be decoded: .*im00004\.jpg',
                         *args)

    data = (lspet_dir / 'images' / 'im00004.jpg').read_bytes()
    (root / 'images' / 'im00004.jpg').write_bytes(data[:len(data) // 2])
    assert_fails_cleanly(out, ValueError, r'im00004\.jpg.*truncated', *args)

    assert_fails_cleanly(out, FileNotFoundError,
                         r'images directory .*nowhere.* does not exist',
                         args[0], str(tmp_path / 'nowhere'))
    assert (out / 'lspet_train.json').read_text() == '{"previous": true}'


def test_empty_splits(lspet_dir, lspet_joints, tmp_path, assert_fails_cleanly):
    out = tmp_path / 'out'
    # LSP with 5 images: all are train, the test split is empty.
    lsp = tmp_path / 'lsp'
    link_images(lspet_dir / 'images', lsp / 'images', 5, 'im{:05d}.jpg',
                'im{:04d}.jpg', 400)
    savemat(
        str(lsp / 'joints.mat'),
        dict(joints=lspet_joints[:, :, :5].transpose(1, 0, 2)))
    assert_fails_cleanly(out, ValueError,
                         'split "lsp_test" is empty.*5 LSP images',
                         str(lsp / 'joints.mat'), str(lsp / 'images'))
    # LSP-extended with no image at all.
    empty = tmp_path / 'empty.mat'
    savemat(str(empty), dict(joints=np.zeros((14, 3, 0))))
    assert_fails_cleanly(out, ValueError, 'split "lspet_train" is empty',
                         str(empty), str(tmp_path / 'no_images'))
    # Images, but nobody labelled.
    unlabelled = tmp_path / 'unlabelled'
    link_images(lspet_dir / 'images', unlabelled / 'images', 2, 'im{:05d}.jpg',
                'im{:05d}.jpg', 400)
    savemat(str(unlabelled / 'joints.mat'), dict(joints=-np.ones((14, 3, 2))))
    assert_fails_cleanly(out, ValueError,
                         'lspet_train.*2 images but no person',
                         str(unlabelled / 'joints.mat'),
                         str(unlabelled / 'images'))
    assert not out.exists()


def test_merge_needs_both_layouts(lspet_dir, lspet_joints, tmp_path,
                                  assert_fails_cleanly):
    root = _lspet_subset(lspet_dir, lspet_joints, tmp_path / 'lspet', 3)
    out = tmp_path / 'out'
    assert_fails_cleanly(
        out,
        ValueError,
        'both are LSP-extended',
        str(root / 'joints.mat'),
        str(root / 'images'),
        merge_with=(str(lspet_dir / 'joints.mat'), str(lspet_dir / 'images')))
    assert not out.exists()


def test_cli(lspet_dir, lspet_joints, tmp_path, capsys, load_tool):
    cli = load_tool('dataset_converters/lsp2coco.py')
    with pytest.raises(SystemExit) as exc:
        cli.main(['--help'])
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    for text in ('--merge-with JOINTS_MAT IMAGES_DIR', 'lsp+lspet_train.json',
                 '3x14xN', '14x3xN', '--dataset {auto,lsp,lspet}'):
        assert text in help_text

    root = _lspet_subset(lspet_dir, lspet_joints, tmp_path / 'lspet', 4)
    out = tmp_path / 'out'
    assert cli.main([
        '--joints',
        str(root / 'joints.mat'), '--images',
        str(root / 'images'), '--out-dir',
        str(out), '--dataset', 'lspet', '--margin', '0'
    ]) == 0
    stdout = capsys.readouterr().out
    assert f'wrote {out / "lspet_train.json"}' in stdout
    # Readable by others as a plain open() would leave it (not mkstemp's 0600).
    umask = os.umask(0)
    os.umask(umask)
    assert (out / 'lspet_train.json').stat().st_mode & 0o777 == 0o666 & ~umask
    assert f'file_name entries are relative to {root / "images"}' in stdout
    with open(out / 'lspet_train.json') as f:
        coco = json.load(f)
    assert len(coco['images']) == 4
    # margin 0: the box is exactly the labelled joints' extent.
    kpts = np.array(coco['annotations'][0]['keypoints']).reshape(14, 3)
    xy = kpts[kpts[:, 2] > 0, :2]
    np.testing.assert_allclose(
        coco['annotations'][0]['bbox'], [*xy.min(0), *(xy.max(0) - xy.min(0))],
        atol=1e-3)

    bad = tmp_path / 'bad.mat'
    savemat(str(bad), dict(joints=np.zeros((2, 14, 3))))
    assert cli.main([
        '--joints',
        str(bad), '--images',
        str(root / 'images'), '--out-dir',
        str(tmp_path / 'bad_out')
    ]) == 1
    err = capsys.readouterr().err
    assert 'lsp2coco: error:' in err and 'bad.mat' in err
    assert '(2, 14, 3)' in err
    assert not (tmp_path / 'bad_out').exists()


def test_select_images_and_write_coco(lspet_coco, lsp2coco, tmp_path):
    val = lsp2coco.select_images(lspet_coco, range(300, 400))
    assert [im['id'] for im in val['images']] == list(range(100301, 100401))
    assert [a['image_id']
            for a in val['annotations']] == list(range(100301, 100401))
    assert val['annotations'][0] == lspet_coco['annotations'][300]
    assert val['categories'] == lspet_coco['categories']
    assert val['info']['description'].startswith('100 images of: ')
    path = tmp_path / 'val.json'
    assert lsp2coco.write_coco(val, str(path)) == str(path)
    with open(path) as f:
        assert json.load(f) == val
    assert os.listdir(tmp_path) == ['val.json']
    with pytest.raises(IndexError, match=r'\[400\] out of range for 400'):
        lsp2coco.select_images(lspet_coco, [0, 400])
    with pytest.raises(ValueError, match='must not repeat'):
        lsp2coco.select_images(lspet_coco, [3, 3])
