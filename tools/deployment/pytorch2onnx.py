# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Export a top-down pose model (backbone + head) to ONNX and check it with
ONNX Runtime and/or OpenVINO.

    python tools/deployment/pytorch2onnx.py \\
        configs/mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py \\
        model.pth --output-file softgate.onnx --verify

    python tools/deployment/pytorch2onnx.py \\
        configs/mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py \\
        model.pth --output-file softgate-2stacks.onnx --num-stacks 2 \\
        --dynamic-batch --verify-backend onnxruntime openvino

The graph maps the network input ``input`` (N, 3, H, W) (after the
config's data preprocessor; H × W from the codec unless ``--shape``) to
``heatmaps`` (N, K, h, w) of the last stack, or of stack K with
``--num-stacks K`` (SimCC heads: ``simcc_x`` and ``simcc_y``). The model's
exact deploy transform is applied before the export. Without a checkpoint
the config's initialised weights are exported. With ``--dynamic-batch`` any
N runs.

``--verify`` runs ONNX Runtime on a random input and compares with PyTorch
(``--verify-backend`` chooses the runtimes: onnxruntime, openvino or both);
the exit status is 1 when the largest difference exceeds ``--tolerance``
(1e-4) of the output's peak, 2 for bad input (config, checkpoint,
``--num-stacks``, output path). The file is written to a temporary file
beside ``--output-file`` and renamed, so a failed export leaves nothing.

The code lives in :mod:`softgate_mmpose.deployment`.
"""
import argparse
import sys
from typing import List, Optional, Sequence

from mmengine.config import DictAction

from softgate_mmpose.deployment import (DEFAULT_OPSET, DEFAULT_TOLERANCE,
                                        INPUT_NAME, RUNTIMES, ExportError,
                                        build_model, check_output_path,
                                        export_onnx, input_shape_of, verify)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a top-down pose model (backbone + head, last '
        'stack) to ONNX.',
        epilog='Exit status: 0 done, 1 verification above --tolerance, '
        '2 bad input.')
    parser.add_argument(
        'config', help='config path or package::path (mmpose::...)')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        default=None,
        help='checkpoint; without it, the initialised weights')
    parser.add_argument(
        '--output-file', required=True, help='the .onnx file to write')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=4,
        metavar=('N', 'C', 'H', 'W'),
        default=None,
        help='input shape (default: 1, 3 and the codec\'s input size)')
    parser.add_argument(
        '--dynamic-batch',
        action='store_true',
        help='export with a variable batch dimension')
    parser.add_argument(
        '--num-stacks',
        type=int,
        default=None,
        metavar='K',
        help="run stacks 1..K only and output stack K's heatmaps (each "
        'stack is trained to predict them); default: all stacks')
    parser.add_argument(
        '--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='compare ONNX Runtime (or the --verify-backend runtimes) with '
        'PyTorch on a random input')
    parser.add_argument(
        '--verify-backend',
        nargs='+',
        choices=list(RUNTIMES),
        default=None,
        metavar='RUNTIME',
        help='runtimes to verify in (implies --verify): '
        f'{", ".join(RUNTIMES)} (default: onnxruntime)')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=DEFAULT_TOLERANCE,
        help='largest accepted difference relative to the output peak')
    parser.add_argument('--device', default='cpu', help='export device')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.test_cfg.flip_test=False')
    args = parser.parse_args(argv)
    if args.verify_backend is None:
        args.verify_backend = ['onnxruntime'] if args.verify else []
    return args


def verify_all(model, output_file: str, shapes: Sequence[tuple],
               runtimes: Sequence[str]) -> float:
    """Print and return the worst difference over runtimes and shapes."""
    worst = 0.
    for runtime in runtimes:
        for shape in shapes:
            diff = verify(model, output_file, shape, backend=runtime)
            print(f'verify {tuple(shape)}: max |{RUNTIMES[runtime]} - '
                  f'PyTorch| / peak = {diff:.3g}')
            worst = max(worst, diff)
    return worst


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        check_output_path(args.output_file)
        model = build_model(
            args.config,
            args.checkpoint,
            device=args.device,
            num_stacks=args.num_stacks,
            cfg_options=args.cfg_options)
        shape = tuple(args.shape) if args.shape else input_shape_of(model.cfg)
        names = export_onnx(
            model,
            args.output_file,
            shape,
            dynamic_batch=args.dynamic_batch,
            opset=args.opset)
    except ExportError as e:
        print(f'pytorch2onnx: error: {e}', file=sys.stderr)
        return 2
    batch = 'batch' if args.dynamic_batch else shape[0]
    stacks = '' if args.num_stacks is None else \
        f', stacks 1..{args.num_stacks}'
    print(f'{args.output_file}: input {INPUT_NAME!r} '
          f'({batch}, {", ".join(map(str, shape[1:]))}) -> '
          f'{", ".join(repr(n) for n in names)} (opset {args.opset}'
          f'{stacks})')
    shapes = [shape]
    if args.dynamic_batch:
        shapes.append((shape[0] + 1, *shape[1:]))
    worst = verify_all(model, args.output_file, shapes, args.verify_backend)
    if worst > args.tolerance:
        print(
            f'pytorch2onnx: verification failed: {worst:.3g} > '
            f'{args.tolerance:g}',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
