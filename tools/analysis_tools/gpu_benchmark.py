# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""GPU figures of top-down pose models side by side: AMP training
throughput (images/s through ``model.train_step``) and inference latency
(fp32 and fp16, channels-last and contiguous), in interleaved rounds timed
with CUDA events. Prints a markdown table and writes ``gpu_benchmark.md``
and ``gpu_benchmark.json`` to ``--out``.

Example::

    python tools/analysis_tools/gpu_benchmark.py --out work_dirs/gpu

With no configs it measures the default model, MMPose's Hourglass-52 and
HRNet-W32 on MPII. ``--device cpu --quick`` is a dry run of the same code
at small sizes.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

from softgate_mmpose.benchmarking.configs import BenchmarkError
from softgate_mmpose.benchmarking.gpu import (AMP_DTYPES, DTYPES,
                                              MEMORY_FORMATS, GpuOptions,
                                              format_markdown,
                                              run_gpu_benchmark)

DEFAULT_CONFIGS = [
    'configs/mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py',
    'mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
    'td-hm_hourglass52_8xb64-210e_mpii-256x256.py',
    'mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
    'td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py',
]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='AMP training throughput and inference latency of '
        'pose configs on a GPU, side by side.')
    parser.add_argument(
        'configs',
        nargs='*',
        metavar='CONFIG',
        help='config files or mmpose::relative/path.py (default: the '
        'default model, Hourglass-52 and HRNet-W32 on MPII)')
    parser.add_argument('--device', default='cuda', help='(default: cuda)')
    parser.add_argument(
        '--train-batch-sizes',
        type=int,
        nargs='*',
        default=[24, 64],
        help='training batches for every config, besides its own '
        '(default: 24 64)')
    parser.add_argument(
        '--no-own-batch',
        action='store_true',
        help='do not add each config\'s own training batch size')
    parser.add_argument(
        '--infer-batch-sizes',
        type=int,
        nargs='*',
        default=[1, 32],
        help='(default: 1 32)')
    parser.add_argument(
        '--dtype',
        nargs='+',
        default=list(DTYPES),
        choices=list(DTYPES),
        help='inference precisions (default: fp32 fp16)')
    parser.add_argument(
        '--memory-format',
        nargs='+',
        default=list(MEMORY_FORMATS),
        choices=list(MEMORY_FORMATS),
        help='inference layouts (default: channels_last contiguous)')
    parser.add_argument(
        '--amp-dtype',
        default='float16',
        choices=AMP_DTYPES,
        help='autocast type of training (default: float16)')
    parser.add_argument('--input-size', type=int, default=256)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument(
        '--block-ms',
        type=float,
        default=200.,
        help='target duration of a timed block (default: 200)')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='dry run: input 128, training batch 2, inference batch 1, '
        'one round of short blocks')
    parser.add_argument('--out', help='folder for gpu_benchmark.md/.json')
    return parser.parse_args(argv)


def options_of(args: argparse.Namespace) -> GpuOptions:
    options = GpuOptions(
        device=args.device,
        train_batch_sizes=args.train_batch_sizes,
        own_batch=not args.no_own_batch,
        infer_batch_sizes=args.infer_batch_sizes,
        dtypes=args.dtype,
        memory_formats=args.memory_format,
        amp_dtype=args.amp_dtype,
        input_size=args.input_size,
        rounds=args.rounds,
        block_ms=args.block_ms,
        warmup=args.warmup)
    if args.quick:
        options.input_size = 128
        options.train_batch_sizes = [2]
        options.own_batch = False
        options.infer_batch_sizes = [1]
        options.rounds = 1
        options.block_ms = 1.
        options.warmup = 1
    return options


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        report = run_gpu_benchmark(args.configs or DEFAULT_CONFIGS,
                                   options_of(args))
    except BenchmarkError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    table = format_markdown(report)
    print(table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(osp.join(args.out, 'gpu_benchmark.md'), 'w') as f:
            f.write(table)
        with open(osp.join(args.out, 'gpu_benchmark.json'), 'w') as f:
            json.dump(report.to_dict(), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
