# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Benchmark pose estimators side by side under PyTorch, ONNX Runtime and
OpenVINO: params, MACs, latency at batch 1 and per image at batch N, peak
memory, parity of each runtime with PyTorch, accuracy (measured, or
reported by MMPose's model zoo).

Takes the plugin's configs and any MMPose top-down config, also as
``mmpose::relative/path.py``. Each network (backbone + head, as
``softgate_mmpose.deployment`` builds and exports it) is timed in
interleaved rounds under every ``--backend``. Prints a progress line per
model and round, each model's MAC rate beside that of a single 144-channel
3×3 conv on a 64×64 map, each model's fastest backend and the latency
ratios of ``--subject`` to every other model (each at its fastest backend,
and per backend); writes ``benchmark.md``, ``.csv``, ``.json`` and ``.png``
to ``--out``.

Example::

    MPII=mmpose::body_2d_keypoint/topdown_heatmap/mpii
    python tools/analysis_tools/benchmark.py \\
        configs/mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py \\
        $MPII/td-hm_hourglass52_8xb64-210e_mpii-256x256.py \\
        --backend pytorch onnxruntime openvino --batch-size 8 \\
        --out work_dirs/benchmark
"""
import argparse
import logging
import os
import os.path as osp
import shlex
import sys
from typing import List, Optional

from mmengine.config import DictAction

from softgate_mmpose.benchmarking import (BACKENDS, BenchmarkError, Options,
                                          run_benchmark)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark MMPose configs side by side under PyTorch, '
        'ONNX Runtime and OpenVINO.')
    parser.add_argument(
        'configs',
        nargs='+',
        metavar='CONFIG',
        help='config files or mmpose::relative/path.py')
    parser.add_argument(
        '--backend',
        nargs='+',
        default=['pytorch'],
        metavar='BACKEND',
        help=f'backends to time every config in: {", ".join(BACKENDS)} '
        '(default: pytorch)')
    parser.add_argument(
        '--device', default='cpu', help='cpu or cuda (default: cpu)')
    parser.add_argument(
        '--batch-size',
        '--batch',
        dest='batch',
        type=int,
        default=1,
        help='people per call of the second timing, beside batch 1 (the '
        'runtimes then run a dynamic-batch export); also the batch of the '
        'peak-memory pass (default: 1)')
    parser.add_argument(
        '--num-stacks',
        type=int,
        nargs='+',
        default=[],
        metavar='K',
        help="benchmark the subject cut to stacks 1..K (stack K's heatmaps), "
        'once per K given')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='torch threads and the runtimes\' threads per call '
        '(default: 2)')
    parser.add_argument(
        '--rounds',
        type=int,
        default=5,
        help='interleaved timing rounds (default: 5)')
    parser.add_argument(
        '--min-run-time',
        type=float,
        default=1.0,
        help='seconds of timed calls per model, backend, batch and round '
        '(default: 1.0)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=1,
        help='untimed calls per model and backend before the rounds, '
        'beside the one each round makes (default: 1)')
    parser.add_argument(
        '--out',
        default='work_dirs/benchmark',
        help='output folder (default: work_dirs/benchmark)')
    parser.add_argument(
        '--subject',
        default=None,
        help='config (or its name) whose latency ratios to the others are '
        'printed (default: the first config)')
    parser.add_argument(
        '--accuracy',
        nargs='+',
        default=[],
        metavar='CONFIG=PATH',
        help="a test run's metrics (tools/test.py --out, or an mmengine json "
        'log) for a config, named as given or by its file name; without '
        "it, MMPose's configs show their model zoo's reported figure")
    parser.add_argument(
        '--accuracy-key',
        default=None,
        help='metric to read (default: the first of PCKh, PCK, Mean, AP, '
        'PCK@0.2, AUC found)')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        default=None,
        metavar=('W', 'H'),
        help="input size of every config (default: each config's codec)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides merged into every config, e.g. '
        'model.backbone.num_stacks=2')
    parser.add_argument(
        '--onnx-dir',
        default=None,
        help='keep the exported .onnx files there (default: a temporary '
        'folder)')
    parser.add_argument(
        '--no-reference-conv',
        action='store_true',
        help='skip the single-conv reference measurement')
    return parser.parse_args(argv)


def check_out_dir(out: str) -> None:
    """Raise :class:`BenchmarkError` unless ``out`` is or can become a
    writable folder (checked before anything is measured)."""
    path = osp.abspath(out)
    if osp.exists(path) and not osp.isdir(path):
        raise BenchmarkError(f'--out {out}: exists and is not a folder')
    existing = path
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BenchmarkError(f'--out {out}: {existing} is not writable')


def options_of(args: argparse.Namespace, command: str) -> Options:
    return Options(
        backends=args.backend,
        device=args.device,
        batch=args.batch,
        threads=args.threads,
        rounds=args.rounds,
        min_run_time=args.min_run_time,
        warmup=args.warmup,
        accuracy=args.accuracy,
        accuracy_key=args.accuracy_key,
        input_size=tuple(args.input_size) if args.input_size else None,
        subject=args.subject,
        num_stacks=args.num_stacks,
        cfg_options=args.cfg_options,
        onnx_dir=args.onnx_dir,
        reference_conv=not args.no_reference_conv,
        command=command)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        check_out_dir(args.out)
    except BenchmarkError as e:
        print(f'benchmark.py: error: {e}', file=sys.stderr)
        return 2
    args_given = sys.argv[1:] if argv is None else list(argv)
    command = ' '.join(
        shlex.quote(a)
        for a in ['python', 'tools/analysis_tools/benchmark.py', *args_given])

    import torch
    from mmengine.logging import MMLogger

    from softgate_mmpose.benchmarking.formatters import (format_markdown,
                                                         write_outputs)

    # mmengine logs through its current logger: at WARNING, the report of
    # every parameter's initialisation (INFO) stays off the screen. The
    # thread count also covers the untimed work (export, MAC analysis); the
    # timer sets the same count for each measurement. Both are restored for
    # in-process callers.
    logger = MMLogger.get_current_instance()
    previous_level = logger.level
    previous_threads = torch.get_num_threads()
    logger.setLevel(logging.WARNING)
    if args.threads >= 1:
        torch.set_num_threads(args.threads)
    try:
        result = run_benchmark(args.configs, options_of(args, command))
    except BenchmarkError as e:
        print(f'benchmark.py: error: {e}', file=sys.stderr)
        return 2
    finally:
        torch.set_num_threads(previous_threads)
        logger.setLevel(previous_level)
    print()
    print(format_markdown(result))
    paths = write_outputs(result, args.out)
    print('wrote ' + ', '.join(sorted(paths.values())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
