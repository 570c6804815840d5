# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/quickstart.py: real (short) runs end to end.

Its timing is a printed figure, not a test.
"""
import json
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ..constants import REPO_ROOT

QUICKSTART = osp.join(REPO_ROOT, 'tools', 'quickstart.py')
PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean')
#: Small synthetic data: the model input is 96x96 whatever the image size.
SMALL_DATA = ['--num-train', '96', '--num-val', '48', '--image-size', '96']
#: One thread and in-process data loading: the CI's 2 cores run two of these at
#: once.
LIGHT = [
    '--threads', '1', '--cfg-options', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=5'
]


def _cmd(work_dir, *args) -> list:
    return [sys.executable, QUICKSTART, '--work-dir', str(work_dir), *args]


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return out


def _pck_table(out: str, column: int = 0) -> dict:
    """Part -> held-out PCK@0.2 from the printed table (column 1: the
    mean-pose baseline of a --real run)."""
    table = {}
    for part in PARTS:
        m = re.search(rf'^{part} +(\d+\.\d\d)(?: +(\d+\.\d\d))?$', out, re.M)
        assert m and m.group(column + 1), f'no {part} row in:\n{out[-2000:]}'
        table[part] = float(m.group(column + 1))
    return table


@pytest.mark.slow
def test_quickstart_learns_deterministically(tmp_path):
    """60 iterations lift held-out PCK well above a one-iteration model.

    And the same seed gives the same table. The one-iteration run also checks
    every output of the tool.
    """
    data = str(tmp_path / 'data')
    # The data first (once), then three runs sharing it.
    untrained = _finish(
        subprocess.Popen(
            _cmd(tmp_path / 'untrained', '--data-root', data, '--max-iters',
                 '1', '--num-vis', '2', *SMALL_DATA, *LIGHT),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True))
    runs = [
        subprocess.Popen(
            _cmd(tmp_path / f'run{i}', '--data-root', data, '--max-iters',
                 '60', '--num-vis', '1', *SMALL_DATA, *LIGHT),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True) for i in range(2)
    ]
    trained = [_finish(proc) for proc in runs]

    # Outputs: the reference conv beside the wall time, the table, the verdict,
    # the files.
    assert re.search(
        r'wall time .* machine reference: Conv2d\(144, 144, 3, padding=1\), '
        r'batch 1, 144x64x64, 1 threads: \d+\.\d GMAC/s', untrained)
    assert 'target Mean PCK@0.2 >= 80: NOT MET' in untrained
    assert '48 images of the synthetic dataset' in untrained
    work = tmp_path / 'untrained'
    assert (work / 'iter_1.pth').is_file()
    vis = cv2.imread(str(work / 'iter_1_predictions.jpg'))
    assert vis is not None and vis.shape == (256, 512, 3)

    before = _pck_table(untrained)
    after = [_pck_table(out) for out in trained]
    assert after[0] == after[1], 'same seed, different held-out PCK'
    # A margin for other CPUs' float reductions.
    assert after[0]['Mean'] >= before['Mean'] + 15, (before, after[0])
    assert (tmp_path / 'run0' / 'iter_60.pth').is_file()


def test_real_without_the_sample_says_where(tmp_path, load_tool):
    """--real with no LSP-extended sample fails naming the missing files.

    Nothing is written.
    """
    quickstart = load_tool('quickstart.py')
    missing = tmp_path / 'lspet_sample'
    args = quickstart.parse_args([
        '--real', '--data-root',
        str(missing), '--work-dir',
        str(tmp_path / 'work')
    ])
    assert args.config == quickstart.REAL_CONFIG and args.target is None
    with pytest.raises(
            FileNotFoundError,
            match=re.escape(str(missing / 'joints.mat'))) as error:
        quickstart.prepare_real(args)
    assert '--data-root' in str(error.value)
    assert not (tmp_path / 'work').exists()


def test_real_splits(load_tool):
    """Held out: the first 300 images train, the rest is evaluated; val: the
    first 240 train, the other 60 training images are evaluated, and no
    held-out image is read."""
    quickstart = load_tool('quickstart.py')
    held_out = quickstart.real_split(400, 'held-out')
    assert held_out == dict(train=range(300), val=range(300, 400))
    val = quickstart.real_split(400, 'val')
    assert val == dict(train=range(240), val=range(240, 300))
    with pytest.raises(ValueError, match='holds 300 images'):
        quickstart.real_split(300, 'val')


def test_person_pck_counts_as_the_metric(load_tool):
    """The per-image caption: correct over scored joints at 0.2 torso."""
    quickstart = load_tool('quickstart.py')
    rng = np.random.default_rng(0)
    gt = np.concatenate([rng.uniform(0, 100, (14, 2)),
                         np.full((14, 1), 2.)],
                        axis=1)
    gt[0] = 0  # right ankle not labelled: not scored
    ann = dict(keypoints=gt.reshape(-1).tolist())
    torso = np.linalg.norm(gt[9, :2] - gt[2, :2])
    pred = gt[None, :, :2].copy()
    assert quickstart.person_pck(pred, ann) == (13, 13)
    pred[0, 5] += 0.25 * torso  # left ankle beyond the threshold
    assert quickstart.person_pck(pred, ann) == (12, 13)
    assert quickstart.has_torso(ann)
    gt[9, 2] = 0  # left shoulder unlabelled: no torso, nothing scored
    unscored = dict(keypoints=gt.reshape(-1).tolist())
    assert quickstart.person_pck(pred, unscored) == (0, 0)
    assert not quickstart.has_torso(unscored)


@pytest.mark.slow
def test_quickstart_real_runs(tmp_path):
    """--real trains on the first 300 images of the shipped sample.

    And evaluates the last 100 beside the mean-pose baseline (2 iterations
    here).
    """
    work = tmp_path / 'work'
    out = _finish(
        subprocess.Popen(
            _cmd(work, '--real', '--max-iters', '2', '--num-vis', '2', *LIGHT),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True))
    assert osp.join('data', 'lspet_sample') in out
    assert '300 train / 100 held-out images' in out
    assert '100 images of the LSP-extended sample, held out' in out
    _pck_table(out)
    baseline = _pck_table(out, column=1)
    # The mean pose of the first 300 people scored on the last 100
    # (tests/test_datasets/test_baselines.py checks the figures).
    assert 3 < baseline['Mean'] < 7, baseline
    assert re.search(
        r'model / mean pose: \d+\.\dx \(Mean \d+\.\d\d / '
        rf'{baseline["Mean"]:.2f}\)', out)
    assert re.search(
        r'estimated wall time on a 30 GMAC/s machine .*: \d+\.\d min', out)
    assert '[quickstart] target' not in out  # no target on the sample
    splits = {}
    for split in ('train', 'val'):
        with open(work / 'data' / f'lspet_sample_{split}.json') as f:
            splits[split] = {im['file_name'] for im in json.load(f)['images']}
    assert len(splits['train']) == 300 and len(splits['val']) == 100
    assert not splits['train'] & splits['val']
    vis = cv2.imread(str(work / 'iter_2_predictions.jpg'))
    assert vis is not None and vis.shape == (256, 512, 3)
