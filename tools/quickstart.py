# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Quickstart: a soft-gated pose model trained and evaluated on CPU, no
download.

Synthetic (default): generates (or reuses) a synthetic LSP-style pose dataset
under the work directory, trains the quickstart config with mmengine's
``Runner``, evaluates PCK@0.2 on the held-out split, prints the metric table,
whether the target was met and the wall time beside the machine's reference
conv rate, and draws the checkpoint's predictions on held-out images next to
the checkpoint.

Real (``--real``): converts the 400-image LSP-extended sample shipped in
``data/lspet_sample``, trains the sample's LSP config on its first 300 images
and evaluates it on the last 100, the same way, beside the mean-pose baseline
(the training people's mean pose placed into each held-out person's box).
``--real-eval val`` trains on the first 240 and evaluates on the next 60
instead: the split on which a recipe is chosen, the held-out 100 unread.

Example:
    python tools/quickstart.py --work-dir work_dirs/quickstart
    python tools/quickstart.py --real --work-dir work_dirs/quickstart-real
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from mmpose.apis import inference_topdown, init_model
from mmpose.visualization import PoseLocalVisualizer

from softgate_mmpose.datasets.baselines import mean_pose_pck
from softgate_mmpose.datasets.converters import (convert_dataset,
                                                 select_images, write_coco)
from softgate_mmpose.datasets.generators import generate_synthetic_dataset
from softgate_mmpose.evaluation import LspPCKAccuracy
from softgate_mmpose.utils import atomic_write_bytes
from softgate_mmpose.utils.machine import reference_conv_gmacs

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

SYNTHETIC_CONFIG = osp.join(
    ROOT, 'configs', 'synthetic',
    'td-hm_softgate-hg1-c64_1xb32-600it_synthetic-96x96.py')
REAL_CONFIG = osp.join(
    ROOT, 'configs', 'lsp',
    'td-hm_softgate-hg2-c64_1xb16-600it_lspet-sample-96x96.py')
REAL_DATA = osp.join(ROOT, 'data', 'lspet_sample')
#: Images of the LSP-extended sample used for training; the rest is held out.
REAL_NUM_TRAIN = 300
#: ``--real-eval val``: the first ``REAL_NUM_FIT`` of the training images fit
#: the model, the other training images evaluate it.
REAL_NUM_FIT = 240
#: Reference conv rate of the slow machine kind the run time is estimated
#: for, GMAC/s (a 2-core AVX2 CPU).
SLOW_GMACS = 30.
PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean')
TILE = 256  # side of one prediction tile, pixels


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and evaluate a soft-gated pose model on CPU, with '
        'no download: on generated data, or (--real) on the LSP-extended '
        'sample.')
    parser.add_argument(
        '--real',
        action='store_true',
        help='train on the first 300 images of the LSP-extended sample and '
        'evaluate on the last 100, beside the mean-pose baseline')
    parser.add_argument(
        '--real-eval',
        choices=('held-out', 'val'),
        default='held-out',
        help='--real: evaluate on the 100 held-out images (default), or '
        f'(val) train on the first {REAL_NUM_FIT} images and evaluate on the '
        f'other {REAL_NUM_TRAIN - REAL_NUM_FIT} training images, to choose a '
        'recipe without the held-out ones')
    parser.add_argument(
        '--config',
        help='config file (default: the synthetic quickstart config, or '
        'the small LSP config with --real)')
    parser.add_argument(
        '--work-dir',
        help='where the data, logs, checkpoint and prediction image go '
        '(default: work_dirs/quickstart, or work_dirs/quickstart-real)')
    parser.add_argument(
        '--data-root',
        help='synthetic: dataset directory (default: WORK_DIR/data), reused '
        'when it holds data of the same parameters; --real: the LSP-extended '
        f'sample (joints.mat, images/; default: {REAL_DATA})')
    parser.add_argument(
        '--seed', type=int, default=0, help='data and '
        'training seed')
    parser.add_argument(
        '--num-train',
        type=int,
        default=3000,
        help='synthetic training images')
    parser.add_argument(
        '--num-val', type=int, default=300, help='synthetic held-out images')
    parser.add_argument(
        '--image-size', type=int, default=160, help='synthetic image size')
    parser.add_argument(
        '--max-iters',
        type=int,
        help='training iterations (default: the config\'s); the schedule, '
        'validation and checkpoint follow')
    parser.add_argument(
        '--threads',
        type=int,
        default=2,
        help='torch intra-op threads (default: 2)')
    parser.add_argument(
        '--target',
        type=float,
        help='held-out Mean PCK@0.2 (percent) the run is expected to reach '
        '(default: 80 for the synthetic data, none with --real)')
    parser.add_argument(
        '--num-vis', type=int, default=8, help='held-out images drawn')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    args = parser.parse_args(argv)
    for name in ('threads', 'num_vis', 'num_train', 'num_val'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, name)}')
    if args.max_iters is not None and args.max_iters < 1:
        parser.error(f'--max-iters must be >= 1, got {args.max_iters}')
    if args.config is None:
        args.config = REAL_CONFIG if args.real else SYNTHETIC_CONFIG
    if args.work_dir is None:
        args.work_dir = osp.join(
            'work_dirs', 'quickstart-real' if args.real else 'quickstart')
    if args.target is None and not args.real:
        args.target = 80.
    return args


def set_max_iters(cfg: Config, max_iters: int) -> None:
    """Shorten or lengthen the run, keeping its schedule's shape."""
    if max_iters < 1:
        raise ValueError(f'--max-iters must be >= 1, got {max_iters}')
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    schedulers = []
    for scheduler in cfg.param_scheduler:
        begin = int(round(scheduler.get('begin', 0) * max_iters / old))
        end = min(max_iters,
                  int(round(scheduler.get('end', old) * max_iters / old)))
        end = max(end, 1)
        if begin < end:  # a very short run may leave no room for a phase
            scheduler.update(begin=begin, end=end)
            schedulers.append(scheduler)
    cfg.param_scheduler = schedulers


def build_cfg(args: argparse.Namespace,
              data_root: str,
              ann_files: Optional[Dict[str, str]] = None) -> Config:
    """The config with the run's data, seed, work directory and overrides.

    ``ann_files`` (split → path) replaces the config's annotation files.
    """
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        if ann_files is not None:
            split = 'train' if loader == 'train_dataloader' else 'val'
            cfg[loader].dataset.ann_file = ann_files[split]
    cfg.randomness = dict(seed=args.seed)
    cfg.launcher = 'none'
    if args.max_iters is not None:
        set_max_iters(cfg, args.max_iters)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def prepare_synthetic(args: argparse.Namespace) -> Tuple[str, None]:
    """Generate (or reuse) the synthetic dataset; returns its root."""
    data_root = args.data_root or osp.join(args.work_dir, 'data')
    t0 = time.time()
    data = generate_synthetic_dataset(
        data_root,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed)
    how = 'reused' if all(data['reused'].values()) else 'generated'
    print(
        f'[quickstart] synthetic data {how} in {time.time() - t0:.1f}s: '
        f'{args.num_train} train / {args.num_val} held-out images in '
        f'{data_root}',
        flush=True)
    return data_root, None


@dataclass
class RealData:
    """The converted LSP-extended sample of a ``--real`` run.

    Attributes:
        root (str): The sample directory (``data_root`` of the config).
        ann_files (dict[str, str]): ``'train'`` / ``'val'`` → the COCO JSON
            of the images trained on / evaluated.
        splits (dict[str, dict]): The same splits as COCO dicts.
        description (str): What is evaluated, for the printed table.
    """
    root: str
    ann_files: Dict[str, str]
    splits: Dict[str, dict]
    description: str


def real_split(num: int, evaluate: str) -> Dict[str, range]:
    """Image positions trained on (``'train'``) and evaluated (``'val'``).

    ``'held-out'``: the first ``REAL_NUM_TRAIN`` / the rest; ``'val'``: the
    first ``REAL_NUM_FIT`` / the other training images.
    """
    if num <= REAL_NUM_TRAIN:
        raise ValueError(f'the sample holds {num} images; the run trains on '
                         f'{REAL_NUM_TRAIN} and needs more to evaluate on')
    if evaluate == 'val':
        return dict(
            train=range(REAL_NUM_FIT), val=range(REAL_NUM_FIT, REAL_NUM_TRAIN))
    return dict(train=range(REAL_NUM_TRAIN), val=range(REAL_NUM_TRAIN, num))


def prepare_real(args: argparse.Namespace) -> RealData:
    """Convert the LSP-extended sample and split it (see :func:`real_split`).

    The images stay where they are (``data_root`` is the sample directory);
    the two COCO-style annotation files go to ``WORK_DIR/data``.
    """
    sample = osp.abspath(args.data_root or REAL_DATA)
    joints = osp.join(sample, 'joints.mat')
    images = osp.join(sample, 'images')
    missing = [p for p in (joints, images) if not osp.exists(p)]
    if missing:
        raise FileNotFoundError(
            'quickstart --real needs the LSP-extended sample (joints.mat and '
            f'images/ of 400 images) at "{sample}"; missing: ' +
            ', '.join(f'"{p}"' for p in missing) + '. Pass its location '
            'with --data-root.')
    _, converted = convert_dataset(joints, images, data_root=sample)
    coco = converted['train']
    try:
        indices = real_split(len(coco['images']), args.real_eval)
    except ValueError as error:
        raise ValueError(f'quickstart --real: "{joints}": {error}') from None
    out_dir = osp.join(args.work_dir, 'data')
    os.makedirs(out_dir, exist_ok=True)
    splits = {k: select_images(coco, v) for k, v in indices.items()}
    ann_files = {
        k: osp.abspath(
            write_coco(v, osp.join(out_dir, f'lspet_sample_{k}.json')))
        for k, v in splits.items()
    }
    num_train, num_val = len(indices['train']), len(indices['val'])
    if args.real_eval == 'val':
        description = (f'the validation split of the LSP-extended sample '
                       f'(training images {REAL_NUM_FIT + 1}-'
                       f'{REAL_NUM_TRAIN})')
        what = 'validation'
    else:
        description = 'the LSP-extended sample, held out'
        what = 'held-out'
    print(
        f'[quickstart] LSP-extended sample {sample}: {num_train} train / '
        f'{num_val} {what} images, annotations in {out_dir}',
        flush=True)
    return RealData(sample, ann_files, splits, description)


def collect_val_metrics(runner: Runner) -> dict:
    """The metrics of the last validation (logged by ``RuntimeInfoHook``)."""
    metrics = {}
    for key, buffer in runner.message_hub.log_scalars.items():
        if key.startswith('val/'):
            metrics[key[len('val/'):]] = float(buffer.current())
    return metrics


def person_tile(img: np.ndarray, bbox_xywh: np.ndarray,
                size: int) -> Tuple[np.ndarray, np.ndarray]:
    """The square around a person's box (1.25 times its longer side),
    resampled to ``size`` × ``size``.

    Returns:
        tuple: The tile and the 2×3 affine map from image to tile pixels.
    """
    x, y, w, h = bbox_xywh
    side = 1.25 * max(w, h)
    scale = size / side
    src_centre = np.array([x + w / 2, y + h / 2])
    matrix = np.array([[scale, 0., size / 2 - scale * src_centre[0]],
                       [0., scale, size / 2 - scale * src_centre[1]]])
    tile = cv2.warpAffine(
        img,
        matrix, (size, size),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT)
    return tile, matrix


def person_pck(pred: np.ndarray, ann: dict) -> Tuple[int, int]:
    """Correct and scored joints of one person, as the evaluation counts
    them (:class:`LspPCKAccuracy` at 0.2 over the labelled joints)."""
    gt = np.reshape(ann['keypoints'], (-1, 3))
    metric = LspPCKAccuracy(thr=0.2)
    metric.process([], [
        dict(
            pred_instances=dict(keypoints=pred.reshape(1, -1, 2)),
            gt_instances=dict(
                keypoints=gt[None, :, :2],
                keypoints_visible=np.minimum(gt[None, :, 2], 1)))
    ])
    result = metric.results[0]
    return int(result['correct'].sum()), int(result['evaluated'].sum())


def has_torso(ann: dict) -> bool:
    """Whether the metric can score the person: both torso joints
    labelled, apart."""
    kpts = np.reshape(ann['keypoints'], (-1, 3))
    a, b = kpts[list(LspPCKAccuracy.TORSO_JOINTS)]
    return bool(a[2] > 0 and b[2] > 0 and np.any(a[:2] != b[:2]))


def caption(tile: np.ndarray, text: str) -> np.ndarray:
    """``tile`` with ``text`` on a dark band at its top."""
    tile = tile.copy()
    tile[:22] = (tile[:22] * 0.35).astype(tile.dtype)
    cv2.putText(tile, text, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def draw_predictions(cfg: Config, checkpoint: str, num_vis: int,
                     out_file: str) -> None:
    """Draw the checkpoint's predictions on the first ``num_vis`` held-out
    people the metric scores, in a grid of tiles (each person's box,
    enlarged), each captioned with the person's PCK@0.2: correct over scored
    (labelled) joints."""
    model = init_model(cfg, checkpoint, device='cpu')
    visualizer = PoseLocalVisualizer.get_instance(
        'softgate_quickstart', radius=3, line_width=2)
    visualizer.set_dataset_meta(model.dataset_meta)
    val = cfg.val_dataloader.dataset
    data_root = val.data_root
    with open(osp.join(data_root, val.ann_file)) as f:
        ann = json.load(f)
    anns = {a['image_id']: a for a in ann['annotations'] if has_torso(a)}
    tiles = []
    for info in [i for i in ann['images'] if i['id'] in anns][:num_vis]:
        img_path = osp.join(data_root, val.data_prefix['img'],
                            info['file_name'])
        img = cv2.imread(img_path)
        if img is None:
            raise FileNotFoundError(f'could not read image "{img_path}"')
        bbox = np.array(anns[info['id']]['bbox'], dtype=np.float64)
        sample = inference_topdown(
            model, img, bbox[None], bbox_format='xywh')[0]
        kpts = sample.pred_instances.keypoints  # (1, K, 2), image pixels
        correct, scored = person_pck(kpts, anns[info['id']])
        tile, matrix = person_tile(img, bbox, TILE)
        sample.pred_instances.keypoints = kpts @ matrix[:, :2].T + matrix[:, 2]
        drawn = visualizer.add_datasample(
            info['file_name'],
            tile[..., ::-1],
            sample,
            draw_gt=False,
            draw_bbox=False,
            kpt_thr=0.)[..., ::-1]
        name = osp.splitext(osp.basename(info['file_name']))[0]
        pck = (f'PCK {100 * correct / scored:.0f} % ({correct}/{scored})'
               if scored else 'no torso: not scored')
        tiles.append(caption(drawn, f'{name}  {pck}'))
    if not tiles:
        raise ValueError(f'no annotated held-out image to draw in '
                         f'"{val.ann_file}"')
    cols = min(4, len(tiles))
    rows = int(math.ceil(len(tiles) / cols))
    tiles += [np.zeros_like(tiles[0])] * (rows * cols - len(tiles))
    grid = np.concatenate([
        np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1)
        for r in range(rows)
    ])
    ok, buf = cv2.imencode(osp.splitext(out_file)[1], grid)
    if not ok:
        raise RuntimeError(f'could not encode the prediction image {out_file}')
    atomic_write_bytes(out_file, buf.tobytes())


def stack_metrics(cfg: Config, checkpoint: str) -> Dict[int, dict]:
    """Held-out PCK of the checkpoint cut to each smaller number of stacks
    (``TruncateStacksHook``, as ``tools/test.py --num-stacks K``): each
    stack is trained to predict the heatmaps."""
    total = cfg.model.backbone.get('num_stacks', 1)
    results = {}
    for num_stacks in range(1, total):
        test_cfg = cfg.copy()
        test_cfg.update(
            load_from=checkpoint,
            test_dataloader=cfg.val_dataloader,
            test_evaluator=cfg.val_evaluator,
            test_cfg=dict(),
            work_dir=osp.join(cfg.work_dir, f'test_{num_stacks}_stacks'),
            custom_hooks=[
                *cfg.get('custom_hooks', []),
                dict(type='TruncateStacksHook', num_stacks=num_stacks)
            ])
        metrics = Runner.from_cfg(test_cfg).test()
        results[num_stacks] = {k.split('/')[-1]: v for k, v in metrics.items()}
    return results


def pck_table(metrics: Dict[str, float],
              baseline: Optional[Dict[str, float]] = None) -> str:
    """The per-part table: the model's PCK, and the baseline's beside it."""
    width = max(len(p) for p in PARTS)
    head = f'{"part":<{width}}  PCK@0.2 (%)'
    lines = [head + ('  mean pose (%)' if baseline else '')]
    for part in (p for p in PARTS if p in metrics):
        line = f'{part:<{width}}  {metrics[part]:6.2f}'
        if baseline:
            line += f'{"":7}{baseline[part]:6.2f}'
        lines.append(line)
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    torch.set_num_threads(args.threads)
    cpus, load_start = os.cpu_count(), os.getloadavg()[0]
    # The single-conv rate tells a slow machine from a problem.
    ref = reference_conv_gmacs(threads=args.threads)
    ref_line = (f'{ref["description"]}, {ref["threads"]} threads: '
                f'{ref["gmac_per_s"]:.1f} GMAC/s')
    print(
        f'[quickstart] {cpus} CPUs, load average {load_start:.2f}, '
        f'{args.threads} torch threads; machine reference: {ref_line}',
        flush=True)
    if args.threads > 1 and load_start >= cpus:
        # Intra-op threads wait for each other at every op; when other
        # processes hold the CPUs, each wait costs a scheduler time slice.
        print(
            '[quickstart] the CPUs are busy: if iterations are slow, '
            '--threads 1 avoids multi-threading stalls',
            flush=True)

    baseline = None
    try:
        if args.real:
            real = prepare_real(args)
            data_root, ann_files = real.root, real.ann_files
            what = real.description
            baseline = mean_pose_pck(real.splits['train'], real.splits['val'])
        else:
            data_root, ann_files = prepare_synthetic(args)
            what = 'the synthetic dataset'
    except (FileNotFoundError, ValueError) as error:
        print(f'[quickstart] ERROR: {error}', file=sys.stderr)
        return 1
    cfg = build_cfg(args, data_root, ann_files)
    runner = Runner.from_cfg(cfg)
    t0 = time.time()
    runner.train()
    train_time = time.time() - t0

    metrics = collect_val_metrics(runner)
    if 'Mean' not in metrics or not math.isfinite(metrics['Mean']):
        print(
            '[quickstart] ERROR: the held-out evaluation produced no '
            f'PCK (got {metrics})',
            file=sys.stderr)
        return 1
    # CheckpointHook records the path of the checkpoint it saved last.
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    vis_file = osp.splitext(checkpoint)[0] + '_predictions.jpg'
    draw_predictions(cfg, checkpoint, args.num_vis, vis_file)
    fewer_stacks = stack_metrics(cfg, checkpoint)
    total = time.time() - start

    num_val = len(runner.val_dataloader.dataset)
    print(f'\n[quickstart] held-out PCK@0.2 (torso), {num_val} images of '
          f'{what}:\n' + pck_table(metrics, baseline))
    if baseline:
        print('[quickstart] mean pose: the training people\'s mean joint '
              'positions in their boxes, placed into each evaluated '
              'person\'s box (the box the model is given); model / mean '
              f'pose: {metrics["Mean"] / baseline["Mean"]:.1f}x '
              f'(Mean {metrics["Mean"]:.2f} / {baseline["Mean"]:.2f})')
    for num_stacks, cut in fewer_stacks.items():
        print(f'[quickstart] the same checkpoint up to stack {num_stacks} '
              f'of {len(fewer_stacks) + 1} (--num-stacks {num_stacks}): '
              f'held-out Mean PCK@0.2 {cut["Mean"]:.2f}')
    if args.target is not None:
        met = metrics['Mean'] >= args.target
        print(f'[quickstart] target Mean PCK@0.2 >= {args.target:.0f}: '
              f'{"MET" if met else "NOT MET"} ({metrics["Mean"]:.2f})')
    print(f'[quickstart] wall time {total / 60:.1f} min (training and '
          f'evaluation {train_time / 60:.1f} min) with {args.threads} torch '
          f'threads on {cpus} CPUs, load average {load_start:.2f} at the '
          f'start, {os.getloadavg()[0]:.2f} at the end; machine reference: '
          f'{ref_line}')
    slow = total * ref['gmac_per_s'] / SLOW_GMACS
    print(f'[quickstart] estimated wall time on a {SLOW_GMACS:.0f} GMAC/s '
          f'machine (a 2-core AVX2 CPU): {slow / 60:.1f} min (this run\'s, '
          'scaled by the reference conv)')
    print(f'[quickstart] checkpoint:  {checkpoint}')
    print(f'[quickstart] predictions: {vis_file}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
