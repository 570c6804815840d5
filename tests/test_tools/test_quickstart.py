# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""tools/quickstart.py: real (short) runs end to end. Its timing is a printed figure, not a test."""
import json
import os.path as osp
import re
import subprocess
import sys

import cv2
import pytest

from ..constants import REPO_ROOT, SHARED_DATA

QUICKSTART = osp.join(REPO_ROOT, 'tools', 'quickstart.py')
PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean')
#: Small synthetic data: the model input is 96x96 whatever the image size.
SMALL_DATA = ['--num-train', '96', '--num-val', '48', '--image-size', '96']
#: One thread and in-process data loading: the CI's 2 cores run two of these at once.
LIGHT = [
    '--threads', '1', '--cfg-options', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False', 'default_hooks.logger.interval=5'
]


def _cmd(work_dir, *args) -> list:
    return [sys.executable, QUICKSTART, '--work-dir', str(work_dir), *args]


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return out


def _pck_table(out: str) -> dict:
    """Part -> held-out PCK@0.2 from the printed table."""
    table = {}
    for part in PARTS:
        m = re.search(rf'^{part} +(\d+\.\d\d)$', out, re.M)
        assert m, f'no {part} row in:\n{out[-2000:]}'
        table[part] = float(m.group(1))
    return table


@pytest.mark.slow
def test_quickstart_learns_deterministically(tmp_path):
    """60 iterations lift held-out PCK well above a one-iteration model, and the same seed gives
    the same table. The one-iteration run also checks every output of the tool."""
    data = str(tmp_path / 'data')
    # The data first (once), then three runs sharing it.
    untrained = _finish(subprocess.Popen(
        _cmd(tmp_path / 'untrained', '--data-root', data, '--max-iters', '1', '--num-vis', '2',
             *SMALL_DATA, *LIGHT), cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True))
    runs = [
        subprocess.Popen(
            _cmd(tmp_path / f'run{i}', '--data-root', data, '--max-iters', '60', '--num-vis', '1',
                 *SMALL_DATA, *LIGHT), cwd=REPO_ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for i in range(2)
    ]
    trained = [_finish(proc) for proc in runs]

    # Outputs: the reference conv beside the wall time, the table, the verdict, the files.
    assert re.search(r'wall time .* machine reference: Conv2d\(144, 144, 3, padding=1\), '
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
    """--real with no LSP-extended sample fails naming the missing files; nothing is written."""
    quickstart = load_tool('quickstart.py')
    missing = tmp_path / 'lspet_sample'
    args = quickstart.parse_args(['--real', '--data-root', str(missing), '--work-dir',
                                  str(tmp_path / 'work')])
    assert args.config == quickstart.REAL_CONFIG and args.target is None
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing / 'joints.mat'))) as error:
        quickstart.prepare_real(args)
    assert '--data-root' in str(error.value)
    assert not (tmp_path / 'work').exists()


@pytest.mark.slow
def test_quickstart_real_runs(tmp_path):
    """--real trains on 300 sample images and evaluates the other 100 (2 iterations here)."""
    sample = osp.join(SHARED_DATA, 'lspet_sample')
    if not osp.isdir(sample):
        pytest.skip(f'shared test data not found at {sample} (the checkout has no '
                    '../shared/data beside it)')
    work = tmp_path / 'work'
    out = _finish(subprocess.Popen(
        _cmd(work, '--real', '--max-iters', '2', '--num-vis', '2', *LIGHT), cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    assert '300 train / 100 held-out images' in out
    assert '100 images of the LSP-extended sample (a 300-image toy' in out
    _pck_table(out)
    assert '[quickstart] target' not in out  # no target for a toy
    splits = {}
    for split in ('train', 'val'):
        with open(work / 'data' / f'lspet_sample_{split}.json') as f:
            splits[split] = {im['file_name'] for im in json.load(f)['images']}
    assert len(splits['train']) == 300 and len(splits['val']) == 100
    assert not splits['train'] & splits['val']
    vis = cv2.imread(str(work / 'iter_2_predictions.jpg'))
    assert vis is not None and vis.shape == (256, 512, 3)
