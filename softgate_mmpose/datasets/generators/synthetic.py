# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""A synthetic pose dataset in MMPose's format, for the quickstart and tests.

Each image shows one articulated figure (thick limbs, a torso, a head) with
the 14 joints of LSP, in a random pose, scale and position, over a cluttered
background, sometimes partly hidden behind occluding shapes. The annotations
are COCO-style keypoint JSON files that :class:`LspDataset` loads and
:class:`LspPCKAccuracy` scores.

Left and right follow from the figure itself, as with real people: a figure
faces the camera (a face, a collar) or turns its back (hair, plain torso), and
its right side is where a person facing that way has it. This is what makes
horizontal flipping a valid augmentation and flip testing meaningful: a
mirrored figure is a figure with left and right exchanged. (Colouring the two
sides differently would not survive a flip: the flipped image would show the
"right" colour on the joints relabelled left.)

Everything is drawn with OpenCV from a NumPy generator seeded per image, so a
seed gives the same bytes on every run.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.config import Config

from ...utils import atomic_write_bytes
from ..datasets.lsp_dataset import LSP_METAINFO_FILE


def _lsp_metainfo() -> Tuple[Tuple[str, ...], List[List[int]]]:
    """LSP's joint names (in LSP order) and its limbs as 1-based COCO
    ``skeleton`` pairs, read from ``datasets/metainfo/lsp.py``, the metainfo
    :class:`LspDataset` loads."""
    info = Config.fromfile(LSP_METAINFO_FILE)['dataset_info']
    keypoints = info['keypoint_info']
    names = tuple(keypoints[i]['name'] for i in sorted(keypoints))
    index = {name: i + 1 for i, name in enumerate(names)}
    skeleton = [[index[a], index[b]]
                for a, b in (info['skeleton_info'][i]['link']
                             for i in sorted(info['skeleton_info']))]
    return names, skeleton


#: Joint names in LSP order.
LSP_JOINTS, _SKELETON = _lsp_metainfo()
_J = {name: i for i, name in enumerate(LSP_JOINTS)}

#: Bumped whenever the drawing changes, so that stale data is regenerated.
GENERATOR_VERSION = 1
SPLITS = ('train', 'val')
_SPLIT_STREAM = {'train': 0, 'val': 1}
_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are drawn with 1/16 px
_ONE = 1 << _SHIFT

Color = Tuple[int, int, int]


def _rot(v: np.ndarray, angle: float) -> np.ndarray:
    """Rotate 2D vector(s) ``v`` by ``angle`` radians (image axes)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _sample_pose(rng: np.random.Generator) -> Dict[str, object]:
    """Sample a figure in body units (standing height about 1).

    Returns a dict with ``joints`` (14, 2) in LSP order, image axes (y down),
    the head circle (``head_center``, ``head_radius``), limb ``widths``,
    ``front`` (faces the camera) and the drawing order flags.
    """
    lean = rng.normal(0., np.deg2rad(18.))
    if rng.random() < 0.1:  # bending, cartwheels, lying down
        lean = rng.uniform(-np.pi * 0.6, np.pi * 0.6)
    up = np.array([np.sin(lean), -np.cos(lean)])
    down = -up
    right_ax = np.array([np.cos(lean), np.sin(lean)])  # image-right if upright
    front = bool(rng.random() < 0.8)
    # A person facing the camera has its right side on the image's left.
    side_sign = {'right': -1. if front else 1., 'left': 1. if front else -1.}

    # Turning the body foreshortens its width.
    yaw = rng.uniform(0.45, 1.0)
    torso = rng.uniform(0.26, 0.33)
    shoulder_w = rng.uniform(0.085, 0.12) * yaw
    hip_w = rng.uniform(0.055, 0.08) * yaw

    def length(base: float) -> float:
        # Limbs pointing at the camera look shorter.
        if rng.random() < 0.3:
            return base * rng.uniform(0.45, 0.9)
        return base * rng.uniform(0.9, 1.05)

    joints = np.zeros((len(LSP_JOINTS), 2))
    pelvis = np.zeros(2)
    neck = pelvis + torso * up
    joints[_J['neck']] = neck
    head_dir = _rot(up, rng.normal(0., np.deg2rad(15.)))
    head_len = rng.uniform(0.15, 0.19)
    joints[_J['head_top']] = neck + head_len * head_dir
    head_radius = 0.42 * head_len
    head_center = neck + (head_len - head_radius) * head_dir

    for side, sign in side_sign.items():
        out = sign * right_ax  # away from the body on this side
        shoulder = neck + 0.035 * down + shoulder_w * out
        hip = pelvis + hip_w * out
        # Arm: abduction from hanging down (negative: across the body).
        abd = rng.uniform(np.deg2rad(-35.), np.deg2rad(175.))
        upper = np.cos(abd) * down + np.sin(abd) * out
        elbow = shoulder + length(0.165) * upper
        fore = _rot(upper, rng.uniform(-1., 1.) * np.deg2rad(150.))
        wrist = elbow + length(0.155) * fore
        # Leg: mostly downwards, sometimes kicking.
        abd = rng.uniform(np.deg2rad(-25.), np.deg2rad(60.))
        if rng.random() < 0.15:
            abd = rng.uniform(np.deg2rad(60.), np.deg2rad(120.))
        thigh = np.cos(abd) * down + np.sin(abd) * out
        knee = hip + length(0.235) * thigh
        shin = _rot(thigh, rng.uniform(-1., 1.) * np.deg2rad(110.))
        ankle = knee + length(0.225) * shin
        for name, point in (('shoulder', shoulder), ('elbow', elbow),
                            ('wrist', wrist), ('hip', hip), ('knee', knee),
                            ('ankle', ankle)):
            joints[_J[f'{side}_{name}']] = point

    widths = dict(
        upper_arm=rng.uniform(0.045, 0.06),
        forearm=rng.uniform(0.035, 0.048),
        thigh=rng.uniform(0.06, 0.08),
        shin=rng.uniform(0.048, 0.062),
        neck=0.045)
    return dict(
        joints=joints,
        head_center=head_center,
        head_radius=head_radius,
        head_dir=head_dir,
        widths=widths,
        front=front,
        arms_behind={
            side: bool(rng.random() < 0.15)
            for side in ('right', 'left')
        },
        leg_order=list(rng.permutation(['right', 'left'])),
        arm_order=list(rng.permutation(['right', 'left'])))


def _random_color(rng: np.random.Generator,
                  lo: int = 0,
                  hi: int = 256) -> Color:
    return tuple(int(c) for c in rng.integers(lo, hi, size=3))


def _pt(p: np.ndarray) -> Tuple[int, int]:
    """A point in OpenCV's fixed-point sub-pixel format."""
    return int(round(p[0] * _ONE)), int(round(p[1] * _ONE))


def _limb(img: np.ndarray, a: np.ndarray, b: np.ndarray, width: float,
          color: Color, outline: Optional[Color]) -> None:
    """A thick segment with round ends and an optional darker rim."""
    w = max(int(round(width)), 2)
    if outline is not None:
        cv2.line(img, _pt(a), _pt(b), outline, w + 2, cv2.LINE_AA, _SHIFT)
    cv2.line(img, _pt(a), _pt(b), color, w, cv2.LINE_AA, _SHIFT)


def _draw_background(img: np.ndarray, rng: np.random.Generator) -> None:
    """Low-frequency colour noise with clutter shapes, in place."""
    h, w = img.shape[:2]
    cells = int(rng.integers(2, 7))
    base = rng.integers(0, 256, size=(cells, cells, 3)).astype(np.uint8)
    img[:] = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    size = min(h, w)
    for _ in range(int(rng.integers(3, 11))):
        color = _random_color(rng)
        kind = rng.integers(0, 4)
        c = (rng.uniform(0, w), rng.uniform(0, h))
        if kind == 0:
            p2 = (c[0] + rng.normal(0, size / 3),
                  c[1] + rng.normal(0, size / 3))
            cv2.rectangle(img, _pt(c), _pt(p2), color, -1, cv2.LINE_AA,
                          _SHIFT)
        elif kind == 1:
            axes = (rng.uniform(2, size / 4), rng.uniform(2, size / 4))
            cv2.ellipse(img, _pt(c), _pt(axes), float(rng.uniform(0, 180)),
                        0, 360, color, -1, cv2.LINE_AA, _SHIFT)
        else:
            # Stick-like distractors, as thick as the figure's limbs.
            p2 = (c[0] + rng.normal(0, size / 4),
                  c[1] + rng.normal(0, size / 4))
            thickness = int(rng.integers(1, max(3, size // 16)))
            cv2.line(img, _pt(c), _pt(p2), color, thickness, cv2.LINE_AA,
                     _SHIFT)


def _draw_figure(img: np.ndarray, mask: np.ndarray, pose: dict,
                 scale: float, rng: np.random.Generator) -> None:
    """Draw the figure (already in pixels) on ``img`` and its ``mask``."""
    j = pose['joints']
    widths = {k: v * scale for k, v in pose['widths'].items()}
    skin = (int(rng.integers(40, 140)), int(rng.integers(90, 190)),
            int(rng.integers(150, 256)))  # BGR
    shirt = _random_color(rng)
    pants = _random_color(rng)
    hair = _random_color(rng, 0, 90)
    shoe = _random_color(rng, 0, 120)
    outline = tuple(int(c) for c in rng.integers(0, 60, size=3))

    def both(draw) -> None:
        draw(img, True)
        draw(mask, False)

    def limb(a, b, width, color):
        both(lambda canvas, rgb: _limb(canvas, a, b, width, color if rgb else
                                       (255, ), outline if rgb else None))

    def leg(side: str) -> None:
        hip, knee, ankle = (j[_J[f'{side}_{n}']] for n in ('hip', 'knee',
                                                          'ankle'))
        limb(hip, knee, widths['thigh'], pants)
        limb(knee, ankle, widths['shin'], pants)
        foot = ankle + 0.25 * (ankle - knee)
        limb(ankle, foot, widths['shin'] * 1.1, shoe)

    def arm(side: str) -> None:
        shoulder, elbow, wrist = (j[_J[f'{side}_{n}']]
                                  for n in ('shoulder', 'elbow', 'wrist'))
        limb(shoulder, elbow, widths['upper_arm'], shirt)
        limb(elbow, wrist, widths['forearm'], skin)
        hand = wrist + 0.3 * (wrist - elbow)
        limb(wrist, hand, widths['forearm'] * 1.25, skin)

    for side in pose['leg_order']:
        leg(side)
    for side in pose['arm_order']:
        if pose['arms_behind'][side]:
            arm(side)

    # Torso: shoulders to hips, with a collar when facing the camera.
    quad = np.array([
        j[_J['right_shoulder']], j[_J['left_shoulder']], j[_J['left_hip']],
        j[_J['right_hip']]
    ])
    corners = np.array([_pt(p) for p in quad], dtype=np.int32)
    cv2.fillConvexPoly(img, corners, outline, cv2.LINE_AA, _SHIFT)
    centre = quad.mean(axis=0)
    inner = np.array([_pt(centre + 0.88 * (p - centre)) for p in quad],
                     dtype=np.int32)
    cv2.fillConvexPoly(img, inner, shirt, cv2.LINE_AA, _SHIFT)
    cv2.fillConvexPoly(mask, corners, 255, cv2.LINE_8, _SHIFT)
    neck = j[_J['neck']]
    limb(neck, pose['head_center'], widths['neck'], skin)
    pelvis = quad[2:].mean(axis=0)
    if pose['front']:
        collar = neck + 0.3 * (pelvis - neck)
        for shoulder in quad[:2]:
            cv2.line(img, _pt(shoulder + 0.4 * (neck - shoulder)),
                     _pt(collar), outline, max(1, int(scale * 0.012)),
                     cv2.LINE_AA, _SHIFT)

    # Head: a face when facing the camera, hair when turned away.
    center, radius = pose['head_center'], pose['head_radius'] * scale
    up = pose['head_dir']
    across = np.array([-up[1], up[0]])
    both(lambda canvas, rgb: cv2.circle(canvas, _pt(center), int(
        radius * _ONE), (skin if pose['front'] else hair) if rgb else 255, -1,
                                        cv2.LINE_AA, _SHIFT))
    if pose['front']:
        cv2.ellipse(img, _pt(center), _pt((radius, radius)),
                    float(np.degrees(np.arctan2(up[1], up[0]))), -70, 70,
                    hair, max(1, int(radius * 0.5)), cv2.LINE_AA, _SHIFT)
        eye_r = max(radius * 0.14, 0.8)
        for s in (-1, 1):
            eye = center + radius * (0.05 * up + 0.38 * s * across)
            cv2.circle(img, _pt(eye), int(eye_r * _ONE), (20, 20, 20), -1,
                       cv2.LINE_AA, _SHIFT)
        cv2.line(img, _pt(center - radius * (0.45 * up + 0.25 * across)),
                 _pt(center - radius * (0.45 * up - 0.25 * across)),
                 (40, 40, 120), max(1, int(radius * 0.12)), cv2.LINE_AA,
                 _SHIFT)

    for side in pose['arm_order']:
        if not pose['arms_behind'][side]:
            arm(side)


def _render_sample(rng: np.random.Generator,
                   image_size: Tuple[int, int]) -> Tuple[np.ndarray, dict]:
    """Render one image; returns it (BGR) and its annotation fields."""
    w, h = image_size
    pose = _sample_pose(rng)
    # Extent of the figure in body units, with room for limb widths and head.
    extent_pts = np.concatenate([
        pose['joints'], pose['head_center'][None] +
        pose['head_radius'] * np.array([[-1, -1], [1, 1]])
    ])
    lo = extent_pts.min(axis=0) - 0.06
    hi = extent_pts.max(axis=0) + 0.06
    margin = 2.
    max_scale = min((w - 2 * margin) / (hi[0] - lo[0]),
                    (h - 2 * margin) / (hi[1] - lo[1]))
    scale = max_scale * rng.uniform(0.5, 1.0)
    offset = np.array([
        rng.uniform(margin, w - margin - scale * (hi[0] - lo[0])),
        rng.uniform(margin, h - margin - scale * (hi[1] - lo[1]))
    ]) - scale * lo
    pose['joints'] = pose['joints'] * scale + offset
    pose['head_center'] = pose['head_center'] * scale + offset

    img = np.empty((h, w, 3), np.uint8)
    _draw_background(img, rng)
    mask = np.zeros((h, w), np.uint8)
    _draw_figure(img, mask, pose, scale, rng)

    # Occluders: labelled joints behind them get COCO visibility 1.
    visible = np.full(len(LSP_JOINTS), 2)
    if rng.random() < 0.4:
        occluded = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 3))):
            # Aim at a random joint so that occlusions actually happen.
            target = pose['joints'][rng.integers(len(LSP_JOINTS))]
            c = target + rng.normal(0, 0.05 * scale, size=2)
            axes = rng.uniform(0.05, 0.14, size=2) * scale
            angle = float(rng.uniform(0, 180))
            color = _random_color(rng)
            if rng.random() < 0.5:
                box = cv2.boxPoints(((float(c[0]), float(c[1])),
                                     (float(2 * axes[0]), float(2 * axes[1])),
                                     angle))
                pts = np.array([_pt(p) for p in box], dtype=np.int32)
                cv2.fillConvexPoly(img, pts, color, cv2.LINE_AA, _SHIFT)
                cv2.fillConvexPoly(occluded, pts, 255, cv2.LINE_8, _SHIFT)
            else:
                for canvas, col in ((img, color), (occluded, 255)):
                    cv2.ellipse(canvas, _pt(c), _pt(axes), angle, 0, 360,
                                col, -1, cv2.LINE_AA, _SHIFT)
        for k, (x, y) in enumerate(pose['joints']):
            xi = min(max(int(round(x)), 0), w - 1)
            yi = min(max(int(round(y)), 0), h - 1)
            if occluded[yi, xi]:
                visible[k] = 1
        mask[occluded > 0] = 0

    # Sensor noise and blur.
    sigma = rng.uniform(0., 10.)
    noise = rng.standard_normal((h, w, 3), dtype=np.float32) * sigma
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)

    ys, xs = np.nonzero(mask)
    if len(xs) == 0:  # fully occluded: fall back to the joints' box
        xs, ys = pose['joints'][:, 0], pose['joints'][:, 1]
    x0, y0 = float(xs.min()), float(ys.min())
    bbox = [x0, y0, float(xs.max()) - x0 + 1, float(ys.max()) - y0 + 1]
    keypoints = np.concatenate(
        [np.round(pose['joints'], 2), visible[:, None]], axis=1)
    ann = dict(
        bbox=[round(v, 2) for v in bbox],
        area=float(np.count_nonzero(mask)),
        keypoints=[float(v) if i % 3 != 2 else int(v)
                   for i, v in enumerate(keypoints.reshape(-1))],
        num_keypoints=int(np.count_nonzero(visible)),
        front=pose['front'])
    return img, ann


def _normalize_size(image_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(image_size, (int, np.integer)):
        size = (int(image_size), int(image_size))
    else:
        size = tuple(int(s) for s in image_size)
    if len(size) != 2 or min(size) < 32:
        raise ValueError('image_size must be an int or a (width, height) '
                         f'pair, each at least 32 pixels; got {image_size!r}')
    return size


def _split_params(split: str, num: int, image_size: Tuple[int, int],
                  seed: int) -> dict:
    return dict(
        generator='softgate_mmpose.datasets.generators.synthetic',
        version=GENERATOR_VERSION,
        split=split,
        num_images=num,
        image_size=list(image_size),
        seed=seed)


def _existing_matches(ann_path: str, params: dict, img_dir: str) -> bool:
    """Whether ``ann_path`` was written with ``params`` and its images
    exist."""
    try:
        with open(ann_path) as f:
            content = json.load(f)
    except (OSError, ValueError):
        return False
    if content.get('info', {}).get('params') != params:
        return False
    return all(
        osp.isfile(osp.join(img_dir, img['file_name']))
        for img in content.get('images', []))


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
        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) \
                or num < 1:
            raise ValueError(
                f'num_{split} must be a positive integer, got {num!r}')
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    size = _normalize_size(image_size)
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(
            f'generate_synthetic_dataset: out_dir "{out_dir}" exists and is '
            'not a directory')
    img_dir = osp.join(out_dir, 'images')
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)

    result = dict(
        data_root=out_dir,
        ann_files={},
        num_images=dict(counts),
        image_size=size,
        seed=int(seed),
        reused={})
    for split in SPLITS:
        num = int(counts[split])
        ann_rel = osp.join('annotations', f'synthetic_{split}.json')
        ann_path = osp.join(out_dir, ann_rel)
        result['ann_files'][split] = ann_rel
        params = _split_params(split, num, size, int(seed))
        if not force and _existing_matches(ann_path, params, img_dir):
            result['reused'][split] = True
            continue
        result['reused'][split] = False

        images: List[dict] = []
        annotations: List[dict] = []
        for i in range(num):
            rng = np.random.default_rng([int(seed), _SPLIT_STREAM[split], i])
            img, ann = _render_sample(rng, size)
            ok, buf = cv2.imencode('.jpg', img,
                                   [cv2.IMWRITE_JPEG_QUALITY, 92])
            if not ok:
                raise RuntimeError(f'could not encode {split} image {i}')
            file_name = f'{split}_{i:06d}.jpg'
            atomic_write_bytes(osp.join(img_dir, file_name), buf.tobytes())
            images.append(
                dict(id=i + 1, file_name=file_name, width=size[0],
                     height=size[1]))
            front = ann.pop('front')
            annotations.append(
                dict(
                    id=i + 1,
                    image_id=i + 1,
                    category_id=1,
                    iscrowd=0,
                    facing='front' if front else 'back',
                    **ann))
        content = dict(
            info=dict(
                description='softgate-mmpose synthetic poses, LSP joints',
                params=params),
            images=images,
            annotations=annotations,
            categories=[
                dict(
                    id=1,
                    name='person',
                    supercategory='person',
                    keypoints=list(LSP_JOINTS),
                    skeleton=_SKELETON)
            ])
        atomic_write_bytes(ann_path,
                            json.dumps(content, separators=(',', ':'))
                            .encode())
        # Images of an earlier, larger run of this split are stale.
        pattern = re.compile(rf'^{split}_(\d+)\.jpg$')
        for name in os.listdir(img_dir):
            m = pattern.match(name)
            if m and int(m.group(1)) >= num:
                os.remove(osp.join(img_dir, name))
    return result
