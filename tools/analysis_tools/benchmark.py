# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Benchmark pose estimators side by side: params, MACs, latency at batch 1,
throughput at batch N, peak memory, optional accuracy.

Takes the plugin's configs and any MMPose config, also as
``mmpose::relative/path.py``. Each model is built as MMPose builds it for
inference and timed on ``model._forward`` (backbone, neck and head; no data
loading, preprocessing, flip test or decoding) under ``torch.no_grad()``.
Writes ``benchmark.md``, ``.csv``, ``.json`` and ``.png`` to ``--out``, and
prints the MAC rate of every model next to that of a single 144-channel 3×3
conv on a 64×64 map, and the speed targets of the default soft-gated model.

Example::

    python tools/analysis_tools/benchmark.py \\
        configs/mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py \\
        mmpose::body_2d_keypoint/topdown_heatmap/mpii/td-hm_hourglass52_8xb64-210e_mpii-256x256.py \\
        --batch 8 --out work_dirs/benchmark \\
        --accuracy td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256=metrics.json
"""
import argparse
import os.path as osp
import shlex
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

import softgate_mmpose  # noqa: E402,F401  (registers the plugin)
from softgate_mmpose.utils.benchmark import (DEFAULT_TARGET,  # noqa: E402
                                             BenchmarkError, run_benchmark,
                                             write_outputs)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark MMPose configs side by side.')
    parser.add_argument(
        'configs', nargs='+', metavar='CONFIG',
        help='config files or mmpose::relative/path.py')
    parser.add_argument(
        '--device', default='cpu', choices=['cpu', 'cuda'],
        help='device (default: cpu)')
    parser.add_argument(
        '--batch', type=int, default=8,
        help='batch size of the throughput measurement (default: 8)')
    parser.add_argument(
        '--out', default='work_dirs/benchmark',
        help='output folder (default: work_dirs/benchmark)')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch.set_num_threads (default: the CPUs this process may '
        'use)')
    parser.add_argument(
        '--warmup', type=int, default=2,
        help='untimed passes before timing (default: 2)')
    parser.add_argument(
        '--repeats', type=int, default=10,
        help='timed passes at batch 1 (default: 10)')
    parser.add_argument(
        '--batch-repeats', type=int, default=3,
        help='timed passes at batch N (default: 3)')
    parser.add_argument(
        '--accuracy', nargs='+', default=[], metavar='CONFIG=PATH',
        help="a test run's metrics (tools/test.py --out, or an mmengine "
        'json log) for a config, named as given or by its file name')
    parser.add_argument(
        '--accuracy-key', default=None,
        help='metric to show (default: the first of PCKh, PCK, Mean, AP, '
        'PCK@0.2, AUC found)')
    parser.add_argument(
        '--input-size', type=int, nargs=2, default=None, metavar=('W', 'H'),
        help="input size for every config (default: each config's codec)")
    parser.add_argument(
        '--target', default=DEFAULT_TARGET,
        help='name (or part of it) of the model whose speed targets are '
        f'checked (default: {DEFAULT_TARGET})')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    args_given = sys.argv[1:] if argv is None else list(argv)
    command = ' '.join(
        shlex.quote(a)
        for a in ['python', 'tools/analysis_tools/benchmark.py', *args_given])
    try:
        result = run_benchmark(
            args.configs,
            device=args.device,
            batch=args.batch,
            warmup=args.warmup,
            repeats=args.repeats,
            batch_repeats=args.batch_repeats,
            threads=args.threads,
            accuracy=args.accuracy,
            accuracy_key=args.accuracy_key,
            input_size=tuple(args.input_size) if args.input_size else None,
            target=args.target,
            command=command)
    except BenchmarkError as e:
        print(f'benchmark.py: error: {e}', file=sys.stderr)
        return 2
    paths = write_outputs(result, args.out)
    print('wrote ' + ', '.join(sorted(paths.values())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
