# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Quickstart: synthetic data, a soft-gated model trained on CPU, held-out PCK.

Generates (or reuses) a synthetic LSP-style pose dataset under the work
directory, trains the quickstart config with mmengine's ``Runner``, evaluates
PCK@0.2 on the held-out split, prints the metric table and whether the target
was met, and draws the checkpoint's predictions on held-out images next to the
checkpoint. No download needed.

Example:
    python tools/quickstart.py --work-dir work_dirs/quickstart
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmpose.apis import inference_topdown, init_model
from mmpose.visualization import PoseLocalVisualizer

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

from softgate_mmpose.datasets.generators.synthetic import \
    generate_synthetic_dataset  # noqa: E402

DEFAULT_CONFIG = osp.join(
    ROOT, 'configs', 'synthetic',
    'td-hm_softgate-hg2-c64_1xb32-600it_synthetic-96x96.py')
PARTS = ('Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and evaluate a soft-gated pose model on '
        'synthetic data, on CPU, with no download.')
    parser.add_argument(
        '--config', default=DEFAULT_CONFIG, help='quickstart config file')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/quickstart',
        help='where the data, logs, checkpoint and prediction image go')
    parser.add_argument(
        '--data-root',
        help='synthetic dataset directory (default: WORK_DIR/data); '
        'reused when it holds data of the same parameters')
    parser.add_argument('--seed', type=int, default=0, help='data and '
                        'training seed')
    parser.add_argument(
        '--num-train', type=int, default=3000, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=300, help='held-out images')
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
        default=80.,
        help='held-out PCK@0.2 (percent) the run is expected to reach')
    parser.add_argument(
        '--num-vis', type=int, default=8, help='held-out images drawn')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    args = parser.parse_args()
    for name in ('threads', 'num_vis', 'num_train', 'num_val'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{getattr(args, name)}')
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


def build_cfg(args: argparse.Namespace, data_root: str) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.randomness = dict(seed=args.seed)
    cfg.launcher = 'none'
    if args.max_iters is not None:
        set_max_iters(cfg, args.max_iters)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def collect_val_metrics(runner: Runner) -> dict:
    """The metrics of the last validation (logged by ``RuntimeInfoHook``)."""
    metrics = {}
    for key, buffer in runner.message_hub.log_scalars.items():
        if key.startswith('val/'):
            metrics[key[len('val/'):]] = float(buffer.current())
    return metrics


def draw_predictions(cfg: Config, checkpoint: str, data_root: str,
                     num_vis: int, out_file: str) -> None:
    """Draw the checkpoint's predictions on held-out images in a grid."""
    model = init_model(cfg, checkpoint, device='cpu')
    visualizer = PoseLocalVisualizer.get_instance(
        'softgate_quickstart', radius=3, line_width=2)
    visualizer.set_dataset_meta(model.dataset_meta)
    val = cfg.val_dataloader.dataset
    with open(osp.join(data_root, val.ann_file)) as f:
        ann = json.load(f)
    bboxes = {a['image_id']: a['bbox'] for a in ann['annotations']}
    upscale = 2  # draw on enlarged images so that the skeleton is legible
    tiles = []
    for info in ann['images'][:num_vis]:
        img_path = osp.join(data_root, val.data_prefix['img'],
                            info['file_name'])
        img = cv2.imread(img_path)
        sample = inference_topdown(
            model, img, np.array([bboxes[info['id']]]), bbox_format='xywh')[0]
        sample.pred_instances.keypoints = \
            sample.pred_instances.keypoints * upscale
        big = cv2.resize(img, None, fx=upscale, fy=upscale,
                         interpolation=cv2.INTER_CUBIC)
        tiles.append(
            visualizer.add_datasample(
                info['file_name'],
                big[..., ::-1],
                sample,
                draw_gt=False,
                draw_bbox=False,
                kpt_thr=0.)[..., ::-1])
    cols = min(4, len(tiles))
    rows = int(math.ceil(len(tiles) / cols))
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (rows * cols - len(tiles))
    grid = np.concatenate([
        np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1)
        for r in range(rows)
    ])
    ok, buf = cv2.imencode(osp.splitext(out_file)[1], grid)
    if not ok:
        raise RuntimeError(f'could not encode the prediction image {out_file}')
    # Write and rename, so that a reader never sees a partial image.
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(out_file), suffix='.tmp')
    with os.fdopen(fd, 'wb') as f:
        f.write(buf.tobytes())
    os.replace(tmp, out_file)


def main() -> int:
    args = parse_args()
    start = time.time()
    torch.set_num_threads(args.threads)
    cpus, load_start = os.cpu_count(), os.getloadavg()[0]
    print(f'[quickstart] {cpus} CPUs, load average {load_start:.2f}, '
          f'{args.threads} torch threads', flush=True)
    if args.threads > 1 and load_start >= cpus:
        # Intra-op threads wait for each other at every op; when other
        # processes hold the CPUs, each wait costs a scheduler time slice.
        print('[quickstart] the CPUs are busy: if iterations are slow, '
              '--threads 1 avoids multi-threading stalls', flush=True)
    data_root = args.data_root or osp.join(args.work_dir, 'data')

    t0 = time.time()
    data = generate_synthetic_dataset(
        data_root,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed)
    how = 'reused' if all(data['reused'].values()) else 'generated'
    print(f'[quickstart] synthetic data {how} in {time.time() - t0:.1f}s: '
          f'{args.num_train} train / {args.num_val} held-out images in '
          f'{data_root}', flush=True)

    cfg = build_cfg(args, data_root)
    runner = Runner.from_cfg(cfg)
    t0 = time.time()
    runner.train()
    train_time = time.time() - t0

    metrics = collect_val_metrics(runner)
    if 'Mean' not in metrics or not math.isfinite(metrics['Mean']):
        print('[quickstart] ERROR: the held-out evaluation produced no '
              f'PCK (got {metrics})', file=sys.stderr)
        return 1
    # CheckpointHook records the path of the checkpoint it saved last.
    with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    vis_file = osp.splitext(checkpoint)[0] + '_predictions.jpg'
    draw_predictions(cfg, checkpoint, data_root, args.num_vis, vis_file)
    total = time.time() - start

    width = max(len(p) for p in PARTS)
    lines = [f'{"part":<{width}}  PCK@0.2 (%)']
    lines += [f'{p:<{width}}  {metrics[p]:6.2f}' for p in PARTS
              if p in metrics]
    print('\n[quickstart] held-out PCK@0.2 (torso), '
          f'{args.num_val} images:\n' + '\n'.join(lines))
    met = metrics['Mean'] >= args.target
    print(f'[quickstart] target Mean PCK@0.2 >= {args.target:.0f}: '
          f'{"MET" if met else "NOT MET"} ({metrics["Mean"]:.2f})')
    print(f'[quickstart] wall time {total / 60:.1f} min (training and '
          f'evaluation {train_time / 60:.1f} min) with {args.threads} torch '
          f'threads on {cpus} CPUs, load average {load_start:.2f} at the '
          f'start, {os.getloadavg()[0]:.2f} at the end')
    print(f'[quickstart] checkpoint:  {checkpoint}')
    print(f'[quickstart] predictions: {vis_file}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
