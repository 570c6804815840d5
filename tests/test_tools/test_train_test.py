"""tools/train.py and tools/test.py: MMPose's flags, and real runs.

On synthetic and LSP data.
"""
import argparse
import importlib.util
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from ..constants import (REPO_ROOT, SAMPLE_DATA, SYNTHETIC_CONFIG, TINY_MODEL,
                         TOOLS)

LSP_PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle',
             'Mean')
MMPOSE_TOOLS = osp.join(
    osp.dirname(importlib.util.find_spec('mmpose').origin), '.mim', 'tools')
#: Flags the plugin's tools add to MMPose's.
PLUGIN_FLAGS = {'train.py': set(), 'test.py': {('--num-stacks', )}}
LSP_CONFIG = osp.join(REPO_ROOT, 'configs', 'lsp',
                      'td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py')


def _load_script(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(module, argv, monkeypatch) -> argparse.Namespace:
    monkeypatch.setattr(sys, 'argv', ['prog', *argv])
    return module.parse_args()


def _parser(module, monkeypatch) -> argparse.ArgumentParser:
    """The parser that ``module.parse_args()`` builds.

    Intercepted at ``parse_args``.
    """
    captured = []

    def capture(self, *args, **kwargs):
        captured.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', capture)
    with pytest.raises(SystemExit):
        module.parse_args()
    monkeypatch.undo()
    return captured[0]


def _signature(parser: argparse.ArgumentParser) -> dict:
    return {
        tuple(a.option_strings) or a.dest:
        (a.dest, a.nargs, a.const, a.default, a.type, a.choices,
         type(a).__name__)
        for a in parser._actions
    }


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_flags_and_config_merging_are_mmposes(tool, monkeypatch, tmp_path):
    ref_path = osp.join(MMPOSE_TOOLS, tool)
    if not osp.isfile(ref_path):
        pytest.skip(f'MMPose\'s {tool} not found at {ref_path}')
    ours = _load_script(osp.join(TOOLS, tool), f'softgate_{tool[:-3]}')
    ref = _load_script(ref_path, f'mmpose_{tool[:-3]}')
    own = _signature(_parser(ours, monkeypatch))
    mmpose = _signature(_parser(ref, monkeypatch))
    # MMPose's flags unchanged, plus only the plugin's documented ones.
    assert {k: own[k] for k in mmpose.keys() & own.keys()} == mmpose
    assert set(own) - set(mmpose) == PLUGIN_FLAGS[tool]

    if tool == 'train.py':
        argv = [
            SYNTHETIC_CONFIG, '--work-dir',
            str(tmp_path), '--resume', '--amp', '--no-validate',
            '--auto-scale-lr', '--show-dir', 'vis', '--interval', '3',
            '--launcher', 'pytorch', '--cfg-options', 'train_cfg.max_iters=7'
        ]
    else:
        argv = [
            SYNTHETIC_CONFIG, 'ckpt.pth', '--out', 'm.json', '--dump', 'p.pkl',
            '--show-dir', 'vis', '--badcase', '--cfg-options',
            'test_cfg.flip_test=False'
        ]
    merged = []
    for module in (ours, ref):
        args = _parse(module, argv, monkeypatch)
        merged.append(
            module.merge_args(Config.fromfile(SYNTHETIC_CONFIG), args))
    assert merged[0].to_dict() == merged[1].to_dict()
    # The flags did change the config, e.g. --resume without a path means
    # "auto".
    if tool == 'train.py':
        assert merged[0].resume is True and merged[0].load_from is None
        assert merged[0].optim_wrapper.type == 'AmpOptimWrapper'
        assert merged[0].val_dataloader is None
        assert merged[0].train_cfg.max_iters == 7
    else:
        assert merged[0].load_from == 'ckpt.pth'
        assert merged[0].default_hooks.badcase.enable is True


@pytest.fixture
def train_and_test(run_tool, python_tool, scalar_logs, assert_finite):
    """``train_and_test(config, work_dir, options, ckpt_name)``.

    Trains with tools/train.py (4 iterations), tests its checkpoint with
    tools/test.py. It returns the validation record of the training log and
    the metrics test.py wrote.
    """

    def train_and_test(config, work_dir, options, ckpt_name):
        run_tool(
            python_tool('train.py', config, '--work-dir', work_dir,
                        '--cfg-options', *options))
        ckpt = osp.join(work_dir, ckpt_name)
        assert osp.isfile(ckpt), f'no {ckpt_name} in {work_dir}'
        train_records = scalar_logs(work_dir)
        losses = {r['iter']: r['loss'] for r in train_records if 'loss' in r}
        assert sorted(losses) == [1, 2, 3, 4]
        assert_finite(losses.values(), 'training losses')
        val = [r for r in train_records if 'Mean' in r]
        assert len(val) == 1, 'expected one validation at the end of training'

        out = osp.join(work_dir, 'test_metrics.json')
        test_dir = osp.join(work_dir, 'test')
        proc = run_tool(
            python_tool('test.py', config, ckpt, '--work-dir', test_dir,
                        '--out', out, '--cfg-options', *options))
        # 'Iter(test) [n/n]  Head: ...' (Epoch(test) for epoch-based configs)
        test_lines = [
            line for line in proc.stdout.splitlines() if '(test) [' in line
        ]
        assert test_lines, proc.stdout[-3000:]
        # The evaluator's metric table, printed by the logger.
        for key in LSP_PARTS:
            assert f'{key}: ' in test_lines[-1], test_lines[-1]
        with open(out) as f:
            metrics = json.load(f)
        assert set(LSP_PARTS) <= set(metrics)
        # test.py evaluates what training saved: the last checkpoint on the
        # validation split gives exactly the validation result that training
        # computed with those weights.
        for key in LSP_PARTS:
            # Same machine, threads and batches: equal predictions, and PCK
            # is a ratio of counts (1e-9 absorbs float formatting only).
            assert metrics[key] == pytest.approx(val[0][key], abs=1e-9), key
            assert 0 <= metrics[key] <= 100
        return val[0], metrics

    return train_and_test


@pytest.mark.slow
def test_train_then_test_on_synthetic_data(synthetic_root, tmp_path, loaders,
                                           iter_schedule, train_and_test):
    options = (
        TINY_MODEL + loaders(synthetic_root) +
        iter_schedule(4, ckpt_interval=4))
    train_and_test(SYNTHETIC_CONFIG, str(tmp_path / 'work'), options,
                   'iter_4.pth')


@pytest.mark.slow
def test_train_then_test_on_lsp_extended_sample(tmp_path, lsp2coco, loaders,
                                                train_and_test):
    lspet = osp.join(SAMPLE_DATA, 'lspet_sample')
    written = lsp2coco.convert_lsp(
        osp.join(lspet, 'joints.mat'), osp.join(lspet, 'images'),
        str(tmp_path / 'annotations'))
    ann_file = written['lspet_train']
    # The LSP config as it is (epoch-based, 256x256), on a tiny model: one
    # epoch of the first 8 people is 4 iterations of 2; validation and test
    # on the first 16 people.
    options = TINY_MODEL + loaders(osp.join(lspet, 'images')) + [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1', 'train_dataloader.dataset.indices=8'
    ]
    for split in ('train', 'val', 'test'):
        options.append(f'{split}_dataloader.dataset.ann_file={ann_file}')
    options += [
        'val_dataloader.dataset.indices=16',
        'test_dataloader.dataset.indices=16'
    ]
    train_and_test(LSP_CONFIG, str(tmp_path / 'work'), options, 'epoch_1.pth')
