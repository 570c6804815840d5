# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""GPU-ready check: ``tools/train.py`` trains the MPII default with ``--amp``.

On CUDA.
"""
import os.path as osp

import pytest
import torch

# Safe-loading globals for torch.load.
import softgate_mmpose  # noqa: F401
from ..constants import DEFAULT_CONFIG


@pytest.mark.slow
@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason='needs a CUDA GPU: --amp is mmengine\'s CUDA mixed precision, '
    'and torch sees no GPU on this machine')
def test_one_mpii_iteration_with_amp_on_cuda(tmp_path, sample_data_path,
                                             run_tool, python_tool,
                                             scalar_logs, assert_finite):
    """One iteration of the default MPII config as a user runs it.

    The full 4 x 144 model at 256x256, the config's pipeline, on the five
    images of the MPII sample in MMPose's MPII annotation format: one batch
    of 5.
    """
    ann_file = sample_data_path('mpii_sample', 'test_mpii.json')
    root = osp.dirname(ann_file)
    work_dir = tmp_path / 'work'
    options = [
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=test_mpii.json',
        f'train_dataloader.dataset.data_prefix.img={root}',
        'train_dataloader.batch_size=5',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
        'log_processor.window_size=1',
    ]
    cmd = python_tool('train.py', DEFAULT_CONFIG, '--amp', '--no-validate',
                      '--work-dir', str(work_dir), '--cfg-options', *options)
    run_tool(cmd, timeout=600)

    records = [r for r in scalar_logs(str(work_dir)) if 'loss' in r]
    assert [r['iter'] for r in records] == [1]
    assert_finite([records[0]['loss']], 'loss')
    # mmengine logs the CUDA memory of training iterations only when they ran
    # on a GPU.
    assert records[0].get('memory', 0) > 0, records[0]
    print('one iteration, batch 5, --amp on '
          f'{torch.cuda.get_device_name(0)}: '
          f"{records[0]['time']:.3f} s "
          '(first iteration, includes cuDNN set-up)')

    ckpt = torch.load(
        str(work_dir / 'epoch_1.pth'), map_location='cpu', weights_only=True)
    # AmpOptimWrapper saves its dynamic loss scaler beside the optimizer state.
    assert 'loss_scaler' in ckpt['optimizer'], sorted(ckpt['optimizer'])
    # Mixed precision keeps float32 master weights.
    dtypes = {
        v.dtype
        for v in ckpt['state_dict'].values() if v.is_floating_point()
    }
    assert dtypes == {torch.float32}
