# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""A synthetic pose dataset in MMPose's format, for the quickstart and tests.

Each image shows one articulated figure (thick limbs, a torso, a head) with
the 14 joints of LSP, in a random pose, scale and position, over a cluttered
background, sometimes partly hidden behind occluding shapes
(:mod:`.figure` samples the figure, :mod:`.drawing` draws it). The
annotations are COCO-style keypoint JSON files that :class:`LspDataset`
loads and :class:`LspPCKAccuracy` scores.

Every image is drawn from a NumPy generator seeded by ``(seed, split,
index)``, so a seed gives the same bytes on every run.
"""
import json
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np

from ...utils import atomic_write_bytes
from .drawing import render_sample
from .figure import LSP_JOINTS, LSP_SKELETON

#: Bumped whenever the drawing changes, so that stale data is regenerated.
GENERATOR_VERSION = 1
SPLITS = ('train', 'val')
_SPLIT_STREAM = {'train': 0, 'val': 1}
_JPEG_QUALITY = 92

__all__ = ['GENERATOR_VERSION', 'LSP_JOINTS', 'generate_synthetic_dataset']


@dataclass
class SplitParams:
    """What decides a split's content; stored in its annotation file, so
    that data written with the same parameters are reused."""
    split: str
    num_images: int
    image_size: Tuple[int, int]
    seed: int
    generator: str = 'softgate_mmpose.datasets.generators.synthetic'
    version: int = GENERATOR_VERSION

    def to_json(self) -> dict:
        """The parameters as stored (JSON types, in a fixed key order)."""
        return dict(
            generator=self.generator,
            version=self.version,
            split=self.split,
            num_images=self.num_images,
            image_size=list(self.image_size),
            seed=self.seed)


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f'{name} must be a positive integer, got {value!r}')


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')


def _normalize_size(image_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(image_size, (int, np.integer)):
        size = (int(image_size), int(image_size))
    else:
        size = tuple(int(s) for s in image_size)
    if len(size) != 2 or min(size) < 32:
        raise ValueError('image_size must be an int or a (width, height) '
                         f'pair, each at least 32 pixels; got {image_size!r}')
    return size


def _existing_matches(ann_path: str, params: SplitParams,
                      img_dir: str) -> bool:
    """Whether ``ann_path`` was written with ``params`` and its images
    exist."""
    try:
        with open(ann_path) as f:
            content = json.load(f)
    except (OSError, ValueError):
        return False
    if content.get('info', {}).get('params') != params.to_json():
        return False
    return all(
        osp.isfile(osp.join(img_dir, img['file_name']))
        for img in content.get('images', []))


def _write_images(params: SplitParams, img_dir: str) -> Tuple[List[dict], ...]:
    """Render and write the split's images; their COCO ``images`` and
    ``annotations`` entries."""
    width, height = params.image_size
    images, annotations = [], []
    for i in range(params.num_images):
        rng = np.random.default_rng(
            [params.seed, _SPLIT_STREAM[params.split], i])
        sample = render_sample(rng, params.image_size)
        ok, buf = cv2.imencode('.jpg', sample.image,
                               [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f'could not encode {params.split} image {i}')
        file_name = f'{params.split}_{i:06d}.jpg'
        atomic_write_bytes(osp.join(img_dir, file_name), buf.tobytes())
        images.append(
            dict(id=i + 1, file_name=file_name, width=width, height=height))
        annotations.append(sample.coco_annotation(i + 1))
    return images, annotations


def _annotation_file(params: SplitParams, images: List[dict],
                     annotations: List[dict]) -> bytes:
    content = dict(
        info=dict(
            description='softgate-mmpose synthetic poses, LSP joints',
            params=params.to_json()),
        images=images,
        annotations=annotations,
        categories=[
            dict(
                id=1,
                name='person',
                supercategory='person',
                keypoints=list(LSP_JOINTS),
                skeleton=LSP_SKELETON)
        ])
    return json.dumps(content, separators=(',', ':')).encode()


def _remove_stale_images(img_dir: str, split: str, num: int) -> None:
    """Delete the images of an earlier, larger run of ``split``."""
    pattern = re.compile(rf'^{split}_(\d+)\.jpg$')
    for name in os.listdir(img_dir):
        m = pattern.match(name)
        if m and int(m.group(1)) >= num:
            os.remove(osp.join(img_dir, name))


def _write_split(params: SplitParams, out_dir: str, ann_rel: str) -> None:
    """The split's images first, then the annotation file listing them."""
    img_dir = osp.join(out_dir, 'images')
    images, annotations = _write_images(params, img_dir)
    atomic_write_bytes(
        osp.join(out_dir, ann_rel),
        _annotation_file(params, images, annotations))
    _remove_stale_images(img_dir, params.split, params.num_images)


def _make_dirs(out_dir: str) -> None:
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(
            f'generate_synthetic_dataset: out_dir "{out_dir}" exists and is '
            'not a directory')
    for sub in ('images', 'annotations'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)


def generate_synthetic_dataset(out_dir: str,
                               num_train: int = 2000,
                               num_val: int = 200,
                               image_size: Union[int, Sequence[int]] = 160,
                               seed: int = 0,
                               force: bool = False) -> dict:
    """Write a synthetic single-person pose dataset with LSP's 14 joints.

    Layout (loadable with ``LspDataset(data_root=out_dir,
    ann_file='annotations/synthetic_train.json',
    data_prefix=dict(img='images/'))``)::

        out_dir/images/{train,val}_000000.jpg ...
        out_dir/annotations/synthetic_train.json
        out_dir/annotations/synthetic_val.json

    Image ``i`` of a split depends only on ``(seed, split, i)``: the two
    splits never share an image, and changing ``num_val`` leaves the training
    images unchanged. Every file is written atomically, the images before the
    annotation file that lists them, so an interrupted run never leaves an
    annotation file pointing at missing or partial images. A split whose
    annotation file already holds the same parameters (and whose images
    exist) is reused unless ``force``.

    Args:
        out_dir (str): Output directory, created if needed.
        num_train (int): Training images. Defaults to 2000.
        num_val (int): Held-out images. Defaults to 200.
        image_size (int | tuple[int, int]): Image ``(width, height)``, or
            one int for square images. Defaults to 160.
        seed (int): Seed of the whole dataset. Defaults to 0.
        force (bool): Regenerate even if matching data exist.
            Defaults to False.

    Returns:
        dict: ``data_root``, ``ann_files`` (split → path relative to
        ``data_root``), ``num_images`` (split → count), ``image_size``,
        ``seed`` and ``reused`` (split → whether existing data were kept).
    """
    counts = {'train': num_train, 'val': num_val}
    for split, num in counts.items():
        _check_count(f'num_{split}', num)
    _check_seed(seed)
    size = _normalize_size(image_size)
    _make_dirs(out_dir)

    ann_files: Dict[str, str] = {}
    reused: Dict[str, bool] = {}
    for split in SPLITS:
        params = SplitParams(split, int(counts[split]), size, int(seed))
        ann_files[split] = osp.join('annotations', f'synthetic_{split}.json')
        reused[split] = not force and _existing_matches(
            osp.join(out_dir, ann_files[split]), params,
            osp.join(out_dir, 'images'))
        if not reused[split]:
            _write_split(params, out_dir, ann_files[split])
    return dict(
        data_root=out_dir,
        ann_files=ann_files,
        num_images=dict(counts),
        image_size=size,
        seed=int(seed),
        reused=reused)
