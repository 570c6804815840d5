# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Pose inference on images, folders, videos and webcams.

MMPose's ``demo/inferencer_demo.py`` for the plugin's models: the same flags
(2D only), plus ``--batch-size``, ``--bboxes`` and ``--cfg-options``.

Examples::

    python tools/infer.py person.jpg --pose2d softgate-hg4_mpii \\
        --pose2d-weights hg4_mpii.pth --vis-out-dir vis --pred-out-dir preds
    python tools/infer.py frames/ --pose2d softgate-hg4_lsp \\
        --pose2d-weights hg4_lsp.pth --batch-size 8 --pred-out-dir preds
    python tools/infer.py clip.mp4 --pose2d softgate-hg4_mpii \\
        --pose2d-weights hg4_mpii.pth --vis-out-dir vis --pred-out-dir preds
    python tools/infer.py 0 --pose2d softgate-hg4_mpii \\
        --pose2d-weights hg4_mpii.pth            # webcam 0, shown on screen
    python tools/infer.py frames/ --pose2d softgate-hg4_mpii \
        --pose2d-weights hg4_mpii.onnx --batch-size 8 --pred-out-dir preds
    python tools/infer.py frames/ --pose2d softgate-hg4_mpii \
        --pose2d-weights hg4_mpii.onnx --backend openvino --pred-out-dir preds
    python tools/infer.py --show-alias

An ``.onnx`` file of ``tools/deployment/pytorch2onnx.py`` as
``--pose2d-weights`` runs the network in ONNX Runtime, or in OpenVINO with
``--backend openvino``, with the same pre-processing and decoding as
PyTorch; ``--pose2d`` is still the model's config (or alias). A file
exported with ``--dynamic-batch`` runs each batch in one call, a
fixed-batch file in chunks of its batch size.
"""
import json
import os.path as osp
import sys
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from typing import List, Optional

from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None):
    parser = ArgumentParser(
        description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument(
        'inputs',
        type=str,
        nargs='?',
        help='Image, folder of images, video file, "webcam[:ID]" or a camera '
        'index.')
    # init args
    parser.add_argument(
        '--pose2d',
        type=str,
        default=None,
        help='Alias of the plugin (see --show-alias), config file name or '
        'path, or an MMPose model name.')
    parser.add_argument(
        '--pose2d-weights',
        type=str,
        default=None,
        help='Checkpoint of the pose model (path or URL), or an .onnx export '
        'of it (runs in ONNX Runtime). Without it an alias uses '
        '$SOFTGATE_MMPOSE_WEIGHTS_DIR/<alias>.pth if present, else random '
        'weights (with a warning).')
    parser.add_argument(
        '--backend',
        choices=['pytorch', 'onnxruntime', 'openvino'],
        default=None,
        help='Inference backend (default: onnxruntime for an .onnx '
        '--pose2d-weights, openvino for an OpenVINO IR .xml, else '
        'pytorch).')
    parser.add_argument(
        '--num-stacks',
        type=int,
        default=None,
        metavar='K',
        help="PyTorch backend: run stacks 1..K of a stacked hourglass and "
        "decode stack K's heatmaps (default: all stacks). For a runtime, "
        'export with pytorch2onnx.py --num-stacks K instead.')
    parser.add_argument(
        '--det-model',
        type=str,
        default=None,
        help='MMDetection config path or metafile name of a person detector. '
        'Default: the whole image is the person box.')
    parser.add_argument(
        '--det-weights',
        type=str,
        default=None,
        help='Checkpoint of the detection model.')
    parser.add_argument(
        '--det-cat-ids',
        type=int,
        nargs='+',
        default=None,
        help='Detector class ids kept as persons (default 0, COCO person).')
    parser.add_argument(
        '--scope',
        type=str,
        default='mmpose',
        help='Scope where modules are defined.')
    parser.add_argument(
        '--device',
        type=str,
        default=None,
        help='Device used for inference (default: the available one).')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='Override settings of the pose config, e.g. '
        'model.test_cfg.flip_test=False.')
    parser.add_argument(
        '--no-progress', action='store_true', help='Hide the progress bar.')
    parser.add_argument(
        '--show-progress',
        action='store_true',
        help='Accepted for compatibility with MMPose; the bar is shown by '
        'default.')
    # call args
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='Images per forward pass (folders and videos).')
    parser.add_argument(
        '--bboxes',
        type=str,
        default=None,
        help='JSON file of person boxes (x1, y1, x2, y2[, score] in pixels): '
        'a list with one list of boxes per input, or an object mapping image '
        'file names (or video frame indices) to lists of boxes. Inputs '
        'without boxes use the detector or the whole image.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='Display the image/video in a popup window.')
    parser.add_argument(
        '--draw-bbox',
        action='store_true',
        help='Whether to draw the bounding boxes.')
    parser.add_argument(
        '--draw-heatmap',
        action='store_true',
        help='Whether to draw the predicted heatmaps.')
    parser.add_argument(
        '--bbox-thr',
        type=float,
        default=0.3,
        help='Bounding box score threshold')
    parser.add_argument(
        '--nms-thr',
        type=float,
        default=0.3,
        help='IoU threshold for bounding box NMS')
    parser.add_argument(
        '--pose-based-nms',
        type=lambda arg: arg.lower() in ('true', 'yes', 't', 'y', '1'),
        default=False,
        help='Whether to use pose-based NMS')
    parser.add_argument(
        '--kpt-thr', type=float, default=0.3, help='Keypoint score threshold')
    parser.add_argument(
        '--radius',
        type=int,
        default=3,
        help='Keypoint radius for visualization.')
    parser.add_argument(
        '--thickness',
        type=int,
        default=1,
        help='Link thickness for visualization.')
    parser.add_argument(
        '--skeleton-style',
        default='mmpose',
        type=str,
        choices=['mmpose', 'openpose'],
        help='Skeleton style selection')
    parser.add_argument(
        '--black-background',
        action='store_true',
        help='Plot predictions on a black image')
    parser.add_argument(
        '--vis-out-dir',
        type=str,
        default='',
        help='Directory for rendered images (a video becomes <name>.mp4).')
    parser.add_argument(
        '--pred-out-dir',
        type=str,
        default='',
        help='Directory for JSON predictions (one per image; one per video '
        'with a list of frames).')
    parser.add_argument(
        '--show-alias',
        action='store_true',
        help='List the plugin\'s model aliases (the Alias fields of '
        'configs/metafile.yml) and exit.')
    args = parser.parse_args(argv)
    if not args.show_alias:
        if args.inputs is None:
            parser.error('the inputs argument is required')
        if args.pose2d is None:
            parser.error('--pose2d is required (an alias, see --show-alias, '
                         'or a config)')
        if args.batch_size < 1:
            parser.error('--batch-size must be >= 1')
    return args


def load_bboxes(path: str):
    """The boxes of a ``--bboxes`` JSON file (a list or an object)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'bboxes file not found: {path}')
    try:
        with open(path) as f:
            bboxes = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'bboxes file {path} is not valid JSON: {e}')
    if not isinstance(bboxes, (list, dict)):
        raise ValueError(f'bboxes file {path} must hold a list or an object, '
                         f'not {type(bboxes).__name__}')
    return bboxes


def parse_inputs(inputs: str):
    """A camera index (an integer that is not a path) or the string."""
    if inputs.isdigit() and not osp.exists(inputs):
        return int(inputs)
    return inputs


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from softgate_mmpose.apis import SoftGateInferencer, list_model_aliases

    if args.show_alias:
        aliases = list_model_aliases()
        width = max(map(len, aliases)) + 2
        print(f'{"ALIAS".ljust(width)}CONFIG')
        for alias, cfg in aliases.items():
            print(f'{alias.ljust(width)}{cfg}')
        return 0

    try:
        bboxes = load_bboxes(args.bboxes) if args.bboxes else None
        inferencer = SoftGateInferencer(
            pose2d=args.pose2d,
            pose2d_weights=args.pose2d_weights,
            device=args.device,
            scope=args.scope,
            det_model=args.det_model,
            det_weights=args.det_weights,
            det_cat_ids=args.det_cat_ids,
            show_progress=not args.no_progress,
            cfg_options=args.cfg_options,
            backend=args.backend,
            num_stacks=args.num_stacks)
        call_args = dict(
            batch_size=args.batch_size,
            show=args.show,
            draw_bbox=args.draw_bbox,
            draw_heatmap=args.draw_heatmap,
            bbox_thr=args.bbox_thr,
            nms_thr=args.nms_thr,
            pose_based_nms=args.pose_based_nms,
            kpt_thr=args.kpt_thr,
            radius=args.radius,
            thickness=args.thickness,
            skeleton_style=args.skeleton_style,
            black_background=args.black_background,
            vis_out_dir=args.vis_out_dir,
            pred_out_dir=args.pred_out_dir)
        if bboxes is not None:
            call_args['bboxes'] = bboxes
        for _ in inferencer(parse_inputs(args.inputs), **call_args):
            pass
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f'infer.py: error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
