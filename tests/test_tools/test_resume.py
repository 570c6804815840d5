"""tools/train.py --resume: a training process killed with SIGKILL.

It continues where it was saved.
"""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import time
from glob import glob

import pytest
import torch

# Safe globals for loading the checkpoint.
import softgate_mmpose  # noqa: F401
from ..constants import REPO_ROOT, SYNTHETIC_CONFIG, TINY_MODEL

MAX_ITERS = 12
# 16 training images in batches of 2: 8 iterations per pass over the data.
CKPT_INTERVAL = 4


def _last_checkpoint(work_dir: str) -> int:
    """The iteration of the checkpoint mmengine's ``last_checkpoint`` names.

    0 if none.
    """
    try:
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            name = osp.basename(f.read().strip())
        return int(re.fullmatch(r'iter_(\d+)\.pth', name).group(1))
    except FileNotFoundError:
        return 0


def _train_records(run_dir: str) -> dict:
    """Iteration -> scalar record of one run's ``vis_data/<timestamp>.json``.

    Complete lines only.
    """
    records = {}
    for path in glob(osp.join(run_dir, 'vis_data', '*.json')):
        if osp.basename(path) == 'scalars.json':
            continue
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:  # a line being written
                    continue
                if 'loss' in record:
                    records[record['iter']] = record
    return records


def _run_dirs(work_dir: str) -> list:
    return sorted(p for p in glob(osp.join(work_dir, '2*')) if osp.isdir(p))


def _kill_after_checkpoint(proc: subprocess.Popen,
                           work_dir: str,
                           timeout: float = 300) -> int:
    """SIGKILL ``proc`` once it logged two iterations past its last checkpoint.

    The process is stopped (SIGSTOP) before the final check, so that it cannot
    save another checkpoint between the check and the kill. Returns the
    checkpoint's iteration.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f'training exited ({proc.returncode}) '
                        'before it could be killed')
        k, runs = _last_checkpoint(work_dir), _run_dirs(work_dir)
        if k and runs and {k + 1, k + 2} <= set(_train_records(runs[0])):
            proc.send_signal(signal.SIGSTOP)
            k = _last_checkpoint(work_dir)
            # The hook writes ``last_checkpoint`` only after the file is
            # complete.
            if ({k + 1, k + 2} <= set(_train_records(runs[0]))
                    and osp.isfile(osp.join(work_dir, f'iter_{k}.pth'))):
                proc.kill()
                proc.wait()
                return k
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    proc.kill()
    pytest.fail(
        'no checkpoint followed by two iterations within the time limit')


@pytest.mark.slow
def test_sigkilled_training_resumes_with_same_iteration_lr_and_optimizer(
        synthetic_root, tmp_path, loaders, iter_schedule, python_tool,
        run_tool, assert_finite):
    work_dir = str(tmp_path / 'work')
    # A fixed seed: the resumed run replays the data order (mmengine skips the
    # batches already trained) and the augmentation, so its iterations can be
    # compared one to one. Every checkpoint is kept: with ``max_keep_ckpts=1``
    # the hook deletes iter_k.pth before it writes the next one and updates
    # ``last_checkpoint``, so a kill in between would leave
    # ``last_checkpoint`` naming a deleted file (a real mmengine race, not
    # what this test is about).
    options = (
        TINY_MODEL + loaders(synthetic_root) +
        iter_schedule(MAX_ITERS, CKPT_INTERVAL) +
        ['randomness.seed=0', 'default_hooks.checkpoint.max_keep_ckpts=-1'])
    train = ['train.py', SYNTHETIC_CONFIG, '--work-dir', work_dir]
    cmd = python_tool(*train, '--cfg-options', *options)
    env = {'OMP_NUM_THREADS': '1', **os.environ}
    with open(tmp_path / 'killed.out', 'w') as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        k = _kill_after_checkpoint(proc, work_dir)
    assert proc.returncode == -signal.SIGKILL
    killed = _train_records(_run_dirs(work_dir)[0])
    assert max(killed) < MAX_ITERS, 'the first run was not interrupted'
    saved = torch.load(
        osp.join(work_dir, f'iter_{k}.pth'),
        map_location='cpu',
        weights_only=True)
    assert saved['meta']['iter'] == k

    proc = run_tool(python_tool(*train, '--resume', '--cfg-options', *options))
    assert re.search(rf'resumed epoch: \d+, iter: {k}\b',
                     proc.stdout), proc.stdout[-3000:]
    assert len(_run_dirs(work_dir)) == 2
    resumed = _train_records(_run_dirs(work_dir)[1])
    # It continues at iteration k + 1 and runs to the end, nothing repeated or
    # skipped.
    assert sorted(resumed) == list(range(k + 1, MAX_ITERS + 1))
    assert_finite([r['loss'] for r in resumed.values()], 'resumed losses')

    # The learning rate of iteration k + 1 is the one the checkpoint's
    # optimizer held, and the one the killed run used for that iteration.
    next_lr = saved['optimizer']['param_groups'][0]['lr']
    assert resumed[k + 1]['lr'] == pytest.approx(next_lr, rel=1e-12)
    for i in (k + 1, k + 2):
        assert resumed[i]['lr'] == pytest.approx(killed[i]['lr'], rel=1e-12)
    # Same weights (loss of k + 1) and same Adam moments (loss of k + 2, after
    # one update that uses them) as the killed run: the losses match the
    # killed run's.
    # Both runs: this machine, the same thread count, weights and moments
    # restored bit for bit; 1e-5 only absorbs the log's rounding of losses.
    for i in (k + 1, k + 2):
        assert resumed[i]['loss'] == pytest.approx(
            killed[i]['loss'], rel=1e-5), i

    # Adam's step counts went on from the checkpoint's (a fresh optimizer
    # would restart at 0).
    final = torch.load(
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth'),
        map_location='cpu',
        weights_only=True)

    def steps(ckpt):
        return {int(s['step']) for s in ckpt['optimizer']['state'].values()}

    assert steps(saved) == {k}
    assert steps(final) == {MAX_ITERS}
