# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Convert a checkpoint of the public SGSC reimplementation
(github.com/dkurzend/Soft_Gated_Pose_Estimation_Pytorch) to MMPose.

    python tools/model_converters/sgsc2mmpose.py \
        checkpoints/SGSC_model_weights.tar sgsc_hg4_c144_mpii.pth --arch sgsc

``--arch sgsc`` pairs with
``configs/mpii/td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py``,
``--arch shg`` with
``configs/mpii/td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py``.
"""
import argparse
import sys

from softgate_mmpose.models.converters.sgsc import ARCHS, convert_checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a Soft_Gated_Pose_Estimation_Pytorch checkpoint '
        '({"model_state_dict": ...}) to an MMPose checkpoint.')
    parser.add_argument('src', metavar='IN', help='their .tar checkpoint')
    parser.add_argument('dst', metavar='OUT', help='output .pth file')
    parser.add_argument(
        '--arch',
        required=True,
        choices=sorted(ARCHS),
        help='sgsc: SGSC_PoseNet(4, 144, 16); shg: PoseNet(8, 256, 16)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        ckpt = convert_checkpoint(args.src, args.dst, args.arch)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'{args.src} -> {args.dst}: {len(ckpt["state_dict"])} tensors '
          f'(--arch {args.arch})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
