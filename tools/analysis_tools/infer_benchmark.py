# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Images/s of the inferencer on a folder: batch 1 (MMPose's path) vs
batched forward passes, in PyTorch, ONNX Runtime or OpenVINO.

Each pass runs the whole inferencer (image decoding, person boxes, the
affine crop, forward with the config's flip test, decoding) without drawing
or writing. ``--weights model.onnx`` (from
``tools/deployment/pytorch2onnx.py``; ``--dynamic-batch`` for batches above
1) runs the network in ONNX Runtime, or with ``--backend openvino`` in
OpenVINO. Example::

    python tools/analysis_tools/infer_benchmark.py softgate-hg4_mpii \\
        data/lspet_sample/images --num-images 32 \\
        --batch-sizes 1 8 --device cpu
"""
import os
import time
from argparse import ArgumentParser
from typing import List, Optional

import torch
from mmengine.config import DictAction

from softgate_mmpose.deployment import BACKENDS


def parse_args(argv: Optional[List[str]] = None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('pose2d', help='Alias, config name or config path.')
    parser.add_argument('folder', help='Folder of images.')
    parser.add_argument(
        '--weights',
        default=None,
        help='Checkpoint, or an .onnx file (runs in ONNX Runtime, or in '
        'OpenVINO with --backend openvino).')
    parser.add_argument(
        '--backend',
        default=None,
        choices=BACKENDS,
        help='Backend (default: from the weights\' extension).')
    parser.add_argument(
        '--num-images',
        type=int,
        default=32,
        help='First N images of the folder (sorted). 0 = all.')
    parser.add_argument(
        '--batch-sizes',
        type=int,
        nargs='+',
        default=[1, 8],
        help='Batch sizes to time; the first is the reference.')
    parser.add_argument(
        '--repeat', type=int, default=1, help='Timed passes per batch size.')
    parser.add_argument('--device', default=None, help='Device (auto).')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='Override settings of the pose config.')
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 1 or args.repeat < 1:
        parser.error('batch sizes and --repeat must be >= 1')
    return args


def main(argv: Optional[List[str]] = None) -> List[dict]:
    args = parse_args(argv)
    from softgate_mmpose.apis.inferencers import (SoftGateInferencer,
                                                  list_image_files)
    from softgate_mmpose.deployment import select_backend

    inferencer = SoftGateInferencer(
        args.pose2d,
        args.weights,
        device=args.device,
        show_progress=False,
        cfg_options=args.cfg_options,
        backend=args.backend)
    images = list_image_files(args.folder)
    if not images:
        raise SystemExit(f'No image files in folder {args.folder}')
    if args.num_images > 0:
        images = images[:args.num_images]
    backend = select_backend(args.weights, args.backend)
    print(f'model: {args.pose2d}  backend: {backend}  images: {len(images)} '
          f'from {args.folder}  device: {args.device or "auto"}  torch '
          f'threads: {torch.get_num_threads()}')

    def run(batch_size: int, inputs: List[str]) -> None:
        for _ in inferencer(inputs, batch_size=batch_size):
            pass

    rows = []
    for bs in args.batch_sizes:
        run(bs, images[:bs])  # warm-up: allocator, lazy init
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            run(bs, images)
            times.append(time.perf_counter() - start)
        best = min(times)
        rows.append(
            dict(
                backend=backend,
                batch_size=bs,
                seconds=best,
                images_per_s=len(images) / best))

    load = ' '.join(
        f'{x:.2f}'
        for x in os.getloadavg()) if hasattr(os, 'getloadavg') else 'n/a'
    ref = rows[0]['images_per_s']
    print(f'{"batch":>6} {"seconds":>9} {"images/s":>9} {"speed-up":>9}')
    for row in rows:
        print(f'{row["batch_size"]:>6} {row["seconds"]:>9.2f} '
              f'{row["images_per_s"]:>9.2f} '
              f'{row["images_per_s"] / ref:>8.2f}x')
    print(f'load average (1, 5, 15 min) after the run: {load}; '
          f'best of {args.repeat} pass(es)')
    return rows


if __name__ == '__main__':
    main()
