# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Smoke test of tools/quickstart.py: a real (tiny) run end to end."""
import os.path as osp
import subprocess
import sys

import cv2

from ..conftest import REPO_ROOT as ROOT


def test_quickstart_runs_end_to_end(tmp_path):
    work_dir = tmp_path / 'work'
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'quickstart.py'), '--work-dir',
        str(work_dir), '--num-train', '16', '--num-val', '8',
        '--image-size', '96', '--max-iters', '2', '--num-vis', '2',
        '--threads', '1', '--cfg-options', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1'
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert 'Iter(train) [2/2]' in proc.stdout + proc.stderr
    for part in ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee',
                 'Ankle', 'Mean'):
        assert f'\n{part} ' in out, part
    # Two iterations cannot reach the target; the run says so.
    assert 'NOT MET' in out
    checkpoint = work_dir / 'iter_2.pth'
    assert checkpoint.is_file()
    vis = cv2.imread(str(work_dir / 'iter_2_predictions.jpg'))
    assert vis is not None and vis.shape == (192, 384, 3)
    assert (work_dir / 'data' / 'annotations' /
            'synthetic_val.json').is_file()
