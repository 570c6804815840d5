"""tools/dist_train.sh and dist_test.sh: two gloo processes on one machine.

DDP on CPU.
"""
import json
import os.path as osp
import pickle
import sys
from glob import glob

import pytest
import torch

# Safe globals for loading the checkpoint.
import softgate_mmpose  # noqa: F401
from ..constants import SYNTHETIC_CONFIG, TINY_MODEL, TOOLS


@pytest.fixture(scope='module')
def dist_trained(synthetic_root, tmp_path_factory, loaders, iter_schedule,
                 run_tool, free_port):
    """Four iterations of the tiny model, trained by two gloo processes.

    Launched through dist_train.sh.
    """
    work_dir = str(tmp_path_factory.mktemp('dist') / 'work')
    # log_level=DEBUG makes mmengine's logger write one log file per rank:
    # each rank's own iterations, learning rates and losses (computed on its
    # own shard of the data).
    options = (
        TINY_MODEL + loaders(synthetic_root) +
        iter_schedule(4, ckpt_interval=4) +
        ['env_cfg.dist_cfg.backend=gloo', 'log_level=DEBUG'])
    dist_train = osp.join(TOOLS, 'dist_train.sh')
    cmd = [
        'bash', dist_train, SYNTHETIC_CONFIG, '2', '--work-dir', work_dir,
        '--cfg-options', *options
    ]
    env = dict(
        PYTHON=sys.executable,
        PORT=str(free_port()),
        NNODES='1',
        NODE_RANK='0')
    proc = run_tool(cmd, env=env)
    return work_dir, proc


@pytest.mark.slow
def test_dist_train_two_gloo_processes(dist_trained, train_lines,
                                       assert_finite):
    work_dir, proc = dist_trained
    logs = {
        rank: glob(osp.join(work_dir, '*', f'*_rank{rank}.log'))
        for rank in (0, 1)
    }
    assert all(len(files) == 1
               for files in logs.values()), (logs, proc.stdout[-3000:])
    with open(logs[0][0]) as f:
        rank0_log = f.read()
    assert 'Distributed training: True' in rank0_log
    assert "dist_cfg=dict(backend='gloo')" in rank0_log

    lines = {rank: train_lines(files[0]) for rank, files in logs.items()}
    for rank, by_iter in lines.items():
        ran = sorted(by_iter)
        assert ran == [1, 2, 3, 4], f'rank {rank} ran {ran}'
        assert {v['max_iters'] for v in by_iter.values()} == {4}
        assert_finite([v['loss'] for v in by_iter.values()],
                      f'rank {rank} losses')
    # One schedule, two data shards: the same learning rates, different losses.
    lr = [[lines[rank][i]['lr'] for i in range(1, 5)] for rank in (0, 1)]
    loss = [[lines[rank][i]['loss'] for i in range(1, 5)] for rank in (0, 1)]
    assert lr[0] == lr[1]
    assert loss[0] != loss[1]

    # Exactly one checkpoint, written by rank 0, holding the unwrapped model.
    ckpts = glob(osp.join(work_dir, '**', '*.pth'), recursive=True)
    assert sorted(osp.basename(p) for p in ckpts) == ['iter_4.pth']
    ckpt = torch.load(
        osp.join(work_dir, 'iter_4.pth'),
        map_location='cpu',
        weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])


@pytest.mark.slow
def test_dist_test_two_gloo_processes_match_one(dist_trained, synthetic_root,
                                                tmp_path, loaders, run_tool,
                                                python_tool, free_port):
    # The held-out split (8 images) shared by two ranks: the gathered
    # predictions and metrics are those of a single process.
    ckpt = osp.join(dist_trained[0], 'iter_4.pth')
    options = ['--cfg-options', *TINY_MODEL, *loaders(synthetic_root)]
    out = {}
    for name in ('one', 'two'):
        json_file = tmp_path / f'{name}.json'
        pkl_file = tmp_path / f'{name}.pkl'
        outputs = ['--out', str(json_file), '--dump', str(pkl_file)]
        args = [
            SYNTHETIC_CONFIG, ckpt, '--work-dir',
            str(tmp_path / name), *outputs, *options
        ]
        if name == 'one':
            run_tool(python_tool('test.py', *args))
        else:
            dist_test = osp.join(TOOLS, 'dist_test.sh')
            cmd = [
                'bash', dist_test, args[0], args[1], '2', *args[2:],
                'env_cfg.dist_cfg.backend=gloo'
            ]
            run_tool(
                cmd, env=dict(PYTHON=sys.executable, PORT=str(free_port())))
        with open(json_file) as f, open(pkl_file, 'rb') as g:
            out[name] = json.load(f), pickle.load(g)
    (metrics_one, preds_one), (metrics_two, preds_two) = out['one'], out['two']
    assert len(preds_one) == len(preds_two) == 8
    # PCK is a ratio of counts: equal predictions give equal values.
    assert metrics_one and metrics_two == pytest.approx(metrics_one)
    keypoints = {
        name: {
            p['img_id']: p['pred_instances']['keypoints']
            for p in preds
        }
        for name, preds in (('one', preds_one), ('two', preds_two))
    }
    assert sorted(keypoints['one']) == sorted(keypoints['two'])
    for img_id, kpts in keypoints['one'].items():
        # The same kernels at the same batch size in every process: float
        # rounding at most, in pixels of the 64-pixel images.
        torch.testing.assert_close(
            torch.as_tensor(keypoints['two'][img_id]),
            torch.as_tensor(kpts),
            rtol=0,
            atol=1e-3,
            msg=str(img_id))
