# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Test and evaluate a checkpoint with mmengine's Runner, as MMPose's test.py.

The flags and their merging into the config are MMPose 1.3.2's. In addition,
importing :mod:`softgate_mmpose` registers the plugin (also for configs
without ``custom_imports``) and the globals that torch's safe loading needs,
and distributed runs work on machines without CUDA (gloo).

Examples:
    python tools/test.py CONFIG CHECKPOINT [--out m.json] [--dump preds.pkl]
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [ARGS]
"""
import argparse
import os
import os.path as osp

import mmengine
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner

import softgate_mmpose  # noqa: F401  (plugin and safe-loading globals)
from softgate_mmpose.utils.dist_utils import (setup_cpu_distributed,
                                              teardown_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='MMPose test (and eval) model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save evaluation results')
    parser.add_argument('--out', help='the file to save metric results.')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override settings of the config with key=value pairs, e.g. '
        'test_dataloader.dataset.data_root=DIR or key="[a,b]" for lists')
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=1,
        help='display time of every window. (second)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--badcase',
        action='store_true',
        help='whether analyze badcase in test')
    parser.add_argument(
        '--num-stacks',
        type=int,
        help='test a stacked model up to stack K, after loading the full '
        'checkpoint (TruncateStacksHook); default: every stack')
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command line into the config, as MMPose does."""
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint

    # work_dir: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if (args.show and not args.badcase) or args.show_dir is not None:
        assert 'visualization' in cfg.default_hooks, \
            'PoseVisualizationHook is not set in the `default_hooks` field ' \
            'of config. Please set ' \
            '`visualization=dict(type="PoseVisualizationHook")`'
        cfg.default_hooks.visualization.enable = True
        cfg.default_hooks.visualization.show = \
            False if args.badcase else args.show
        if args.show:
            cfg.default_hooks.visualization.wait_time = args.wait_time
        cfg.default_hooks.visualization.out_dir = args.show_dir
        cfg.default_hooks.visualization.interval = args.interval

    if args.badcase:
        assert 'badcase' in cfg.default_hooks, \
            'BadcaseAnalyzeHook is not set in the `default_hooks` field of ' \
            'config. Please set `badcase=dict(type="BadcaseAnalyzeHook")`'
        badcase = cfg.default_hooks.badcase
        badcase.enable = True
        badcase.show = args.show
        if args.show:
            badcase.wait_time = args.wait_time
        badcase.interval = args.interval
        metric_type = badcase.get('metric_type', 'loss')
        if metric_type not in ['loss', 'accuracy']:
            raise ValueError('Only support badcase metric type'
                             "in ['loss', 'accuracy']")
        if not badcase.get('metric'):
            badcase.metric = cfg.model.head.loss \
                if metric_type == 'loss' else cfg.test_evaluator

    if args.dump is not None:
        assert args.dump.endswith(('.pkl', '.pickle')), \
            'The dump file must be a pkl file.'
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]

    if args.num_stacks is not None:
        cfg.custom_hooks = [
            *cfg.get('custom_hooks', []),
            dict(type='TruncateStacksHook', num_stacks=args.num_stacks)
        ]

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


class SaveMetricHook(Hook):
    """Dump the test metrics to ``out_file`` (json, yaml or pickle).

    Every rank gets the metrics; only the first writes them.
    """

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def after_test_epoch(self, runner, metrics=None) -> None:
        if metrics is not None and is_main_process():
            mmengine.dump(metrics, self.out_file)


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.register_hook(SaveMetricHook(args.out), 'LOWEST')
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    main()
