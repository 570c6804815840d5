"""Helpers for the entry-point tests: real subprocesses on tiny models and tiny
data."""
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
from glob import glob
from typing import Dict, List, Optional

import pytest

from ..constants import REPO_ROOT, TOOLS

#: A line of mmengine's text log for a training iteration.
TRAIN_LINE = re.compile(
    r'Iter\(train\) \[\s*(\d+)/\s*(\d+)\]\s+lr: (\S+).*?\sloss: (\S+)')


def _loaders(data_root: str, train_batch: int = 2) -> List[str]:
    """Overrides for all three data loaders: ``data_root``, small batches, no
    workers."""
    opts = [f'train_dataloader.batch_size={train_batch}']
    for split in ('train', 'val', 'test'):
        opts += [
            f'{split}_dataloader.dataset.data_root={data_root}',
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False',
        ]
    return opts + [
        'val_dataloader.batch_size=4', 'test_dataloader.batch_size=4'
    ]


def _iter_schedule(max_iters: int, ckpt_interval: int) -> List[str]:
    """An iteration-based schedule: validation at the end, a checkpoint every
    ``ckpt_interval``."""
    return [
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={max_iters}',
        'default_hooks.checkpoint.by_epoch=False',
        f'default_hooks.checkpoint.interval={ckpt_interval}',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1'
    ]


def _run_tool(cmd: List[str],
              timeout: float = 240,
              env: Optional[Dict[str, str]] = None,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` from the repository root; on failure, fail with its output's
    tail.

    One intra-op thread per process (torchrun's default too) unless
    ``OMP_NUM_THREADS`` is set: tiny models gain nothing from more, and busy
    machines lose much.
    """
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f'{" ".join(cmd)} exited with {proc.returncode}:\n'
                    f'{proc.stdout[-6000:]}')
    return proc


def _python_tool(name: str, *args: str) -> List[str]:
    """``[this python, tools/<name>, *args]``: the tests' interpreter is the
    project's."""
    return [sys.executable, osp.join(TOOLS, name), *args]


def _scalar_logs(work_dir: str) -> List[dict]:
    """The records of every run's ``vis_data/<timestamp>.json`` in
    ``work_dir``, oldest first."""
    records = []
    for path in sorted(glob(osp.join(work_dir, '*', 'vis_data', '*.json'))):
        if osp.basename(path) == 'scalars.json':
            continue
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def _train_lines(log_file: str) -> Dict[int, dict]:
    """Iteration -> ``{'max_iters', 'lr', 'loss'}`` from an mmengine text
    log."""
    with open(log_file) as f:
        return {
            int(m.group(1)):
            dict(
                max_iters=int(m.group(2)),
                lr=float(m.group(3)),
                loss=float(m.group(4)))
            for m in TRAIN_LINE.finditer(f.read())
        }


def _assert_finite(values, what: str) -> None:
    bad = [v for v in values if not math.isfinite(v)]
    assert not bad, f'{what} not finite: {bad}'


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A small synthetic LSP-style dataset (16 training, 8 held-out 64x64
    images)."""
    from softgate_mmpose.datasets.generators.synthetic import \
        generate_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_dataset(
        root, num_train=16, num_val=8, image_size=64, seed=0)
    return root


# The helpers above as fixtures, for test modules (which do not import from
# conftest).
@pytest.fixture(scope='session')
def loaders():
    return _loaders


@pytest.fixture(scope='session')
def iter_schedule():
    return _iter_schedule


@pytest.fixture(scope='session')
def run_tool():
    return _run_tool


@pytest.fixture(scope='session')
def python_tool():
    return _python_tool


@pytest.fixture(scope='session')
def scalar_logs():
    return _scalar_logs


@pytest.fixture(scope='session')
def train_lines():
    return _train_lines


@pytest.fixture(scope='session')
def assert_finite():
    return _assert_finite
