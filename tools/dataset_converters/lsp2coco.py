# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Convert LSP / LSP-extended ``joints.mat`` files to COCO-style keypoint JSON.

The command line of :func:`softgate_mmpose.datasets.converters.lsp.convert_lsp`
(layouts, visibility and box rules are documented there).
"""
import argparse
import sys

from softgate_mmpose.datasets.converters.lsp import (LSP_TRAIN_SIZE,
                                                     MERGED_NAME, convert_lsp,
                                                     default_data_root)

EPILOG = f"""\
layouts (recognised from the shape of the "joints" variable):
  LSP           3x14xN, rows x, y, flag (1 = occluded), im0001.jpg...;
                the first {LSP_TRAIN_SIZE} images -> lsp_train.json,
                the rest -> lsp_test.json
  LSP-extended  14x3xN, columns x, y, flag (1 = visible), im00001.jpg...;
                all images -> lspet_train.json
  Any other shape is refused. Visibility is COCO's: 2 visible, 1 labelled but
  occluded, 0 not labelled in the image (NaN, negative or out-of-image
  position; LSP's out-of-image joints keep their position for the standard
  all-joints evaluation, the others are written 0, 0, 0).

merging (the common 11k training set):
  --merge-with JOINTS_MAT IMAGES_DIR converts the other dataset in the same run
  and additionally writes {MERGED_NAME}_train.json = LSP train + LSP-extended.
  All files of one run share the same --data-root.

example:
  python tools/dataset_converters/lsp2coco.py \\
      --joints data/lsp/lsp_dataset/joints.mat \\
      --images data/lsp/lsp_dataset/images \\
      --merge-with data/lsp/lspet_dataset/joints.mat \\
          data/lsp/lspet_dataset/images \\
      --data-root data/lsp --out-dir data/lsp/annotations
  -> lsp_train.json, lsp_test.json, lspet_train.json,
     {MERGED_NAME}_train.json with file_name like
     "lsp_dataset/images/im0001.jpg"; in a config use
     data_root='data/lsp/', data_prefix=dict(img=''),
     ann_file='annotations/{MERGED_NAME}_train.json'.

Nothing is written unless every output is valid (no empty split, every image
present and decodable); files are written atomically.
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert LSP / LSP-extended joints.mat to COCO-style '
        'keypoint JSON, one <dataset>_<split>.json per split.',
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--joints',
        required=True,
        metavar='JOINTS_MAT',
        help='joints.mat of LSP (3x14xN) or LSP-extended (14x3xN)')
    parser.add_argument(
        '--images',
        required=True,
        metavar='DIR',
        help='directory of its images (im0001.jpg... / im00001.jpg...)')
    parser.add_argument(
        '--out-dir',
        required=True,
        metavar='OUT',
        help='output directory (created when needed)')
    parser.add_argument(
        '--dataset',
        choices=['auto', 'lsp', 'lspet'],
        default='auto',
        help='layout of --joints; "auto" (default) recognises it from the '
        'shape, "lsp"/"lspet" also require it')
    parser.add_argument(
        '--merge-with',
        nargs=2,
        metavar=('JOINTS_MAT', 'IMAGES_DIR'),
        help='the other dataset (LSP-extended for LSP and vice versa); also '
        f'writes {MERGED_NAME}_train.json')
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='directory the image file_name entries are relative to (the '
        "config's data_root + data_prefix['img']); default: --images, or "
        'with --merge-with the deepest directory holding both image dirs')
    parser.add_argument(
        '--margin',
        type=float,
        default=0.1,
        help='person box = extent of the labelled joints grown on each side '
        'by MARGIN x its longer side (default: 0.1)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        written = convert_lsp(
            args.joints,
            args.images,
            args.out_dir,
            dataset=args.dataset,
            merge_with=args.merge_with,
            data_root=args.data_root,
            margin=args.margin)
    except (OSError, ValueError) as e:
        print(f'lsp2coco: error: {e}', file=sys.stderr)
        return 1
    for path in written.values():
        print(f'wrote {path}')
    data_root = args.data_root or default_data_root(args.images,
                                                    args.merge_with)
    print(f'image file_name entries are relative to {data_root}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
