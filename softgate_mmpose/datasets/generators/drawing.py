# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Drawing synthetic pose images: background, figure, occluders, noise.

Everything is drawn with OpenCV in fixed-point sub-pixel coordinates from a
NumPy generator, so a generator state gives the same pixels on every run.
The order of the generator's draws is part of the data.

A figure facing the camera shows a face and a collar, one turned away shows
hair and a plain torso: left and right follow from the figure, which is what
makes horizontal flipping a valid augmentation. (Colouring the two sides
differently would not survive a flip: the flipped image would show the
"right" colour on the joints relabelled left.)
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

from .figure import JOINT_INDEX, LSP_JOINTS, Figure, sample_figure

_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are drawn with 1/16 px
_ONE = 1 << _SHIFT
_MARGIN = 2.  # pixels kept free around the figure
_PAD = 0.06  # body units around the joints for the limbs' widths

Color = Tuple[int, ...]


@dataclass
class Sample:
    """One rendered image and its annotation.

    Attributes:
        image (np.ndarray): (H, W, 3) BGR uint8 image.
        keypoints (np.ndarray): (14, 3) x, y (rounded to 0.01 px) and COCO
            visibility (2 visible, 1 behind an occluder).
        bbox (list[float]): x, y, w, h of the figure's visible pixels.
        area (float): Number of the figure's visible pixels.
        front (bool): Whether the figure faces the camera.
    """
    image: np.ndarray
    keypoints: np.ndarray
    bbox: List[float]
    area: float
    front: bool

    def coco_annotation(self, ann_id: int) -> dict:
        """The COCO keypoint annotation of this sample as image ``ann_id``."""
        return dict(
            id=ann_id,
            image_id=ann_id,
            category_id=1,
            iscrowd=0,
            facing='front' if self.front else 'back',
            bbox=[round(v, 2) for v in self.bbox],
            area=self.area,
            keypoints=[
                float(v) if i % 3 != 2 else int(v)
                for i, v in enumerate(self.keypoints.reshape(-1))
            ],
            num_keypoints=int(np.count_nonzero(self.keypoints[:, 2])))


@dataclass
class _Palette:
    """A figure's colours (BGR)."""
    skin: Color
    shirt: Color
    pants: Color
    hair: Color
    shoe: Color
    outline: Color


def _random_color(rng: np.random.Generator,
                  lo: int = 0,
                  hi: int = 256) -> Color:
    return tuple(int(c) for c in rng.integers(lo, hi, size=3))


def _sample_palette(rng: np.random.Generator) -> _Palette:
    skin = (int(rng.integers(40, 140)), int(rng.integers(90, 190)),
            int(rng.integers(150, 256)))
    return _Palette(
        skin=skin,
        shirt=_random_color(rng),
        pants=_random_color(rng),
        hair=_random_color(rng, 0, 90),
        shoe=_random_color(rng, 0, 120),
        outline=_random_color(rng, 0, 60))


def _pt(p) -> Tuple[int, int]:
    """A point in OpenCV's fixed-point sub-pixel format."""
    return int(round(p[0] * _ONE)), int(round(p[1] * _ONE))


def _line(img: np.ndarray, a, b, color, thickness: int) -> None:
    cv2.line(img, _pt(a), _pt(b), color, thickness, cv2.LINE_AA, _SHIFT)


def _limb(img: np.ndarray, a: np.ndarray, b: np.ndarray, width: float,
          color: Color, outline: Optional[Color]) -> None:
    """A thick segment with round ends and an optional darker rim."""
    w = max(int(round(width)), 2)
    if outline is not None:
        _line(img, a, b, outline, w + 2)
    _line(img, a, b, color, w)


def draw_background(img: np.ndarray, rng: np.random.Generator) -> None:
    """Low-frequency colour noise with clutter shapes, in place."""
    h, w = img.shape[:2]
    cells = int(rng.integers(2, 7))
    base = rng.integers(0, 256, size=(cells, cells, 3)).astype(np.uint8)
    img[:] = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    size = min(h, w)
    for _ in range(int(rng.integers(3, 11))):
        _draw_clutter(img, rng, size)


def _draw_clutter(img: np.ndarray, rng: np.random.Generator,
                  size: int) -> None:
    """A box, an ellipse or a stick as thick as the figure's limbs."""
    h, w = img.shape[:2]
    color = _random_color(rng)
    kind = rng.integers(0, 4)
    c = (rng.uniform(0, w), rng.uniform(0, h))
    if kind == 0:
        p2 = (c[0] + rng.normal(0, size / 3), c[1] + rng.normal(0, size / 3))
        cv2.rectangle(img, _pt(c), _pt(p2), color, -1, cv2.LINE_AA, _SHIFT)
    elif kind == 1:
        axes = (rng.uniform(2, size / 4), rng.uniform(2, size / 4))
        cv2.ellipse(img, _pt(c), _pt(axes), float(rng.uniform(0, 180)), 0, 360,
                    color, -1, cv2.LINE_AA, _SHIFT)
    else:
        p2 = (c[0] + rng.normal(0, size / 4), c[1] + rng.normal(0, size / 4))
        _line(img, c, p2, color, int(rng.integers(1, max(3, size // 16))))


class _FigurePainter:
    """Draws one figure (in pixels) on an image and its silhouette (255)
    on a mask."""

    def __init__(self, img: np.ndarray, mask: np.ndarray, figure: Figure,
                 scale: float, palette: _Palette) -> None:
        self.img, self.mask = img, mask
        self.figure, self.scale, self.colors = figure, scale, palette
        self.widths = {k: v * scale for k, v in figure.widths.items()}

    def limb(self, a, b, width: float, color: Color) -> None:
        """A limb, outlined on the image, filled on the mask."""
        _limb(self.img, a, b, width, color, self.colors.outline)
        _limb(self.mask, a, b, width, (255, ), None)

    def leg(self, side: str) -> None:
        hip, knee, ankle = (
            self.figure.joint(side, n) for n in ('hip', 'knee', 'ankle'))
        self.limb(hip, knee, self.widths['thigh'], self.colors.pants)
        self.limb(knee, ankle, self.widths['shin'], self.colors.pants)
        foot = ankle + 0.25 * (ankle - knee)
        self.limb(ankle, foot, self.widths['shin'] * 1.1, self.colors.shoe)

    def arm(self, side: str) -> None:
        shoulder, elbow, wrist = (
            self.figure.joint(side, n) for n in ('shoulder', 'elbow', 'wrist'))
        self.limb(shoulder, elbow, self.widths['upper_arm'], self.colors.shirt)
        self.limb(elbow, wrist, self.widths['forearm'], self.colors.skin)
        hand = wrist + 0.3 * (wrist - elbow)
        self.limb(wrist, hand, self.widths['forearm'] * 1.25, self.colors.skin)

    def torso(self) -> None:
        """Shoulders to hips, the neck, and a collar when facing the
        camera."""
        fig, colors = self.figure, self.colors
        quad = np.array([
            fig.joint('right', 'shoulder'),
            fig.joint('left', 'shoulder'),
            fig.joint('left', 'hip'),
            fig.joint('right', 'hip')
        ])
        corners = np.array([_pt(p) for p in quad], dtype=np.int32)
        cv2.fillConvexPoly(self.img, corners, colors.outline, cv2.LINE_AA,
                           _SHIFT)
        centre = quad.mean(axis=0)
        inner = np.array([_pt(centre + 0.88 * (p - centre)) for p in quad],
                         dtype=np.int32)
        cv2.fillConvexPoly(self.img, inner, colors.shirt, cv2.LINE_AA, _SHIFT)
        cv2.fillConvexPoly(self.mask, corners, 255, cv2.LINE_8, _SHIFT)
        neck = fig.joints[JOINT_INDEX['neck']]
        self.limb(neck, fig.head_center, self.widths['neck'], colors.skin)
        if fig.front:
            collar = neck + 0.3 * (quad[2:].mean(axis=0) - neck)
            thickness = max(1, int(self.scale * 0.012))
            for shoulder in quad[:2]:
                _line(self.img, shoulder + 0.4 * (neck - shoulder), collar,
                      colors.outline, thickness)

    def head(self) -> None:
        """A face when facing the camera, hair when turned away."""
        fig, colors = self.figure, self.colors
        center, radius = fig.head_center, fig.head_radius * self.scale
        color = colors.skin if fig.front else colors.hair
        for canvas, fill in ((self.img, color), (self.mask, 255)):
            cv2.circle(canvas, _pt(center), int(radius * _ONE), fill, -1,
                       cv2.LINE_AA, _SHIFT)
        if fig.front:
            self._face(center, radius)

    def _face(self, center: np.ndarray, radius: float) -> None:
        up = self.figure.head_dir
        across = np.array([-up[1], up[0]])
        cv2.ellipse(self.img, _pt(center), _pt((radius, radius)),
                    float(np.degrees(np.arctan2(up[1], up[0]))), -70, 70,
                    self.colors.hair, max(1, int(radius * 0.5)), cv2.LINE_AA,
                    _SHIFT)
        eye_r = max(radius * 0.14, 0.8)
        for s in (-1, 1):
            eye = center + radius * (0.05 * up + 0.38 * s * across)
            cv2.circle(self.img, _pt(eye), int(eye_r * _ONE), (20, 20, 20), -1,
                       cv2.LINE_AA, _SHIFT)
        _line(self.img, center - radius * (0.45 * up + 0.25 * across),
              center - radius * (0.45 * up - 0.25 * across), (40, 40, 120),
              max(1, int(radius * 0.12)))

    def draw(self) -> None:
        """Legs, arms behind the torso, torso, head, arms in front."""
        fig = self.figure
        for side in fig.leg_order:
            self.leg(side)
        for side in fig.arm_order:
            if fig.arms_behind[side]:
                self.arm(side)
        self.torso()
        self.head()
        for side in fig.arm_order:
            if not fig.arms_behind[side]:
                self.arm(side)


def _place(figure: Figure, rng: np.random.Generator,
           image_size: Tuple[int, int]) -> Tuple[Figure, float]:
    """The figure in pixels, at a random scale and position that keep it
    inside the image; returns it and its scale (pixels per body unit)."""
    w, h = image_size
    lo, hi = figure.extent(_PAD)
    max_scale = min((w - 2 * _MARGIN) / (hi[0] - lo[0]),
                    (h - 2 * _MARGIN) / (hi[1] - lo[1]))
    scale = max_scale * rng.uniform(0.5, 1.0)
    offset = np.array([
        rng.uniform(_MARGIN, w - _MARGIN - scale * (hi[0] - lo[0])),
        rng.uniform(_MARGIN, h - _MARGIN - scale * (hi[1] - lo[1]))
    ]) - scale * lo
    return figure.transformed(scale, offset), scale


def _draw_occluder(img: np.ndarray, occluded: np.ndarray, figure: Figure,
                   scale: float, rng: np.random.Generator) -> None:
    """A box or an ellipse aimed at a random joint, so that occlusions
    actually happen; drawn on ``img`` and as 255 on ``occluded``."""
    target = figure.joints[rng.integers(len(LSP_JOINTS))]
    c = target + rng.normal(0, 0.05 * scale, size=2)
    axes = rng.uniform(0.05, 0.14, size=2) * scale
    angle = float(rng.uniform(0, 180))
    color = _random_color(rng)
    if rng.random() < 0.5:
        box = cv2.boxPoints(((float(c[0]), float(c[1])),
                             (float(2 * axes[0]), float(2 * axes[1])), angle))
        pts = np.array([_pt(p) for p in box], dtype=np.int32)
        cv2.fillConvexPoly(img, pts, color, cv2.LINE_AA, _SHIFT)
        cv2.fillConvexPoly(occluded, pts, 255, cv2.LINE_8, _SHIFT)
    else:
        for canvas, col in ((img, color), (occluded, 255)):
            cv2.ellipse(canvas, _pt(c), _pt(axes), angle, 0, 360, col, -1,
                        cv2.LINE_AA, _SHIFT)


def _occlude(img: np.ndarray, mask: np.ndarray, figure: Figure, scale: float,
             rng: np.random.Generator) -> np.ndarray:
    """Sometimes occluders in front of the figure; the joints' COCO
    visibility (1 behind an occluder, else 2). Clears ``mask`` where
    occluded."""
    h, w = mask.shape
    visible = np.full(len(LSP_JOINTS), 2)
    if rng.random() >= 0.4:
        return visible
    occluded = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        _draw_occluder(img, occluded, figure, scale, rng)
    for k, (x, y) in enumerate(figure.joints):
        xi = min(max(int(round(x)), 0), w - 1)
        yi = min(max(int(round(y)), 0), h - 1)
        if occluded[yi, xi]:
            visible[k] = 1
    mask[occluded > 0] = 0
    return visible


def _sensor_noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of a random strength, sometimes a slight blur."""
    sigma = rng.uniform(0., 10.)
    noise = rng.standard_normal(img.shape, dtype=np.float32) * sigma
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (3, 3), 0)
    return img


def _visible_box(mask: np.ndarray, figure: Figure) -> List[float]:
    """x, y, w, h of the mask's pixels; the joints' box when none is left
    (a fully occluded figure)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        xs, ys = figure.joints[:, 0], figure.joints[:, 1]
    x0, y0 = float(xs.min()), float(ys.min())
    return [x0, y0, float(xs.max()) - x0 + 1, float(ys.max()) - y0 + 1]


def render_sample(rng: np.random.Generator, image_size: Tuple[int,
                                                              int]) -> Sample:
    """Render one image of ``image_size`` (width, height) and annotate it."""
    w, h = image_size
    figure, scale = _place(sample_figure(rng), rng, image_size)
    img = np.empty((h, w, 3), np.uint8)
    draw_background(img, rng)
    mask = np.zeros((h, w), np.uint8)
    _FigurePainter(img, mask, figure, scale, _sample_palette(rng)).draw()
    visible = _occlude(img, mask, figure, scale, rng)
    img = _sensor_noise(img, rng)
    keypoints = np.concatenate([np.round(figure.joints, 2), visible[:, None]],
                               axis=1)
    return Sample(
        image=img,
        keypoints=keypoints,
        bbox=_visible_box(mask, figure),
        area=float(np.count_nonzero(mask)),
        front=figure.front)
