# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Random articulated figures with LSP's 14 joints, in body units.

A figure stands about one unit tall, in image axes (x right, y down). Left
and right follow from the figure itself, as with real people: a figure faces
the camera or turns its back, and its right side is where a person facing
that way has it.

The order of the generator's draws is part of the data: a seed gives the
same figure only as long as every draw happens in the same order.
"""
from dataclasses import dataclass, replace
from typing import Dict, List, Tuple

import numpy as np
from mmengine.config import Config

from ..datasets.lsp_dataset import LSP_METAINFO_FILE

SIDES = ('right', 'left')


def _lsp_metainfo() -> Tuple[Tuple[str, ...], List[List[int]]]:
    """LSP's joint names (in LSP order) and its limbs as 1-based COCO
    ``skeleton`` pairs, read from ``datasets/metainfo/lsp.py``, the metainfo
    :class:`LspDataset` loads."""
    info = Config.fromfile(LSP_METAINFO_FILE)['dataset_info']
    keypoints = info['keypoint_info']
    names = tuple(keypoints[i]['name'] for i in sorted(keypoints))
    index = {name: i + 1 for i, name in enumerate(names)}
    links = (
        info['skeleton_info'][i]['link']
        for i in sorted(info['skeleton_info']))
    return names, [[index[a], index[b]] for a, b in links]


#: Joint names in LSP order, and the limbs as 1-based COCO skeleton pairs.
LSP_JOINTS, LSP_SKELETON = _lsp_metainfo()
JOINT_INDEX = {name: i for i, name in enumerate(LSP_JOINTS)}


@dataclass
class Figure:
    """A figure's geometry and drawing order.

    Attributes:
        joints (np.ndarray): (14, 2) joints in LSP order.
        head_center (np.ndarray): (2,) centre of the head circle.
        head_radius (float): Radius of the head circle.
        head_dir (np.ndarray): (2,) unit vector from the neck to the head
            top.
        widths (dict[str, float]): Limb widths (``upper_arm``, ``forearm``,
            ``thigh``, ``shin``, ``neck``).
        front (bool): Whether the figure faces the camera.
        arms_behind (dict[str, bool]): Per side, whether the arm is drawn
            behind the torso.
        leg_order (list[str]): The sides' legs in drawing order.
        arm_order (list[str]): The sides' arms in drawing order.
    """
    joints: np.ndarray
    head_center: np.ndarray
    head_radius: float
    head_dir: np.ndarray
    widths: Dict[str, float]
    front: bool
    arms_behind: Dict[str, bool]
    leg_order: List[str]
    arm_order: List[str]

    def joint(self, side: str, name: str) -> np.ndarray:
        """The joint ``name`` of ``side``, e.g. ``joint('left', 'knee')``."""
        return self.joints[JOINT_INDEX[f'{side}_{name}']]

    def transformed(self, scale: float, offset: np.ndarray) -> 'Figure':
        """The figure scaled by ``scale`` and moved by ``offset`` (points
        only: widths and the head radius stay in body units)."""
        return replace(
            self,
            joints=self.joints * scale + offset,
            head_center=self.head_center * scale + offset)

    def extent(self, pad: float) -> Tuple[np.ndarray, np.ndarray]:
        """Lowest and highest (x, y) of the joints and the head, padded by
        ``pad`` for the limbs' widths."""
        head_box = self.head_center[None] + self.head_radius * np.array(
            [[-1, -1], [1, 1]])
        points = np.concatenate([self.joints, head_box])
        return points.min(axis=0) - pad, points.max(axis=0) + pad


@dataclass
class _Trunk:
    """The unit axes and widths that place the limbs of one figure."""
    up: np.ndarray
    right_ax: np.ndarray  # image-right if upright
    front: bool
    torso: float
    shoulder_w: float
    hip_w: float

    @property
    def down(self) -> np.ndarray:
        return -self.up

    def outwards(self, side: str) -> np.ndarray:
        """Away from the body on ``side``: a person facing the camera has
        its right side on the image's left."""
        sign = 1. if (side == 'left') == self.front else -1.
        return sign * self.right_ax


def _rot(v: np.ndarray, angle: float) -> np.ndarray:
    """Rotate 2D vector(s) ``v`` by ``angle`` radians (image axes)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _length(rng: np.random.Generator, base: float) -> float:
    """A limb's length: limbs pointing at the camera look shorter."""
    if rng.random() < 0.3:
        return base * rng.uniform(0.45, 0.9)
    return base * rng.uniform(0.9, 1.05)


def _sample_trunk(rng: np.random.Generator) -> _Trunk:
    lean = rng.normal(0., np.deg2rad(18.))
    if rng.random() < 0.1:  # bending, cartwheels, lying down
        lean = rng.uniform(-np.pi * 0.6, np.pi * 0.6)
    up = np.array([np.sin(lean), -np.cos(lean)])
    right_ax = np.array([np.cos(lean), np.sin(lean)])
    front = bool(rng.random() < 0.8)
    yaw = rng.uniform(0.45, 1.0)  # turning the body foreshortens its width
    torso = rng.uniform(0.26, 0.33)
    shoulder_w = rng.uniform(0.085, 0.12) * yaw
    hip_w = rng.uniform(0.055, 0.08) * yaw
    return _Trunk(up, right_ax, front, torso, shoulder_w, hip_w)


def _sample_arm(rng: np.random.Generator, shoulder: np.ndarray,
                down: np.ndarray, out: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Elbow and wrist; abduction from hanging down (negative: across the
    body)."""
    abd = rng.uniform(np.deg2rad(-35.), np.deg2rad(175.))
    upper = np.cos(abd) * down + np.sin(abd) * out
    elbow = shoulder + _length(rng, 0.165) * upper
    fore = _rot(upper, rng.uniform(-1., 1.) * np.deg2rad(150.))
    return elbow, elbow + _length(rng, 0.155) * fore


def _sample_leg(rng: np.random.Generator, hip: np.ndarray, down: np.ndarray,
                out: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Knee and ankle: mostly downwards, sometimes kicking."""
    abd = rng.uniform(np.deg2rad(-25.), np.deg2rad(60.))
    if rng.random() < 0.15:
        abd = rng.uniform(np.deg2rad(60.), np.deg2rad(120.))
    thigh = np.cos(abd) * down + np.sin(abd) * out
    knee = hip + _length(rng, 0.235) * thigh
    shin = _rot(thigh, rng.uniform(-1., 1.) * np.deg2rad(110.))
    return knee, knee + _length(rng, 0.225) * shin


def sample_figure(rng: np.random.Generator) -> Figure:
    """Sample a figure in body units (standing height about 1)."""
    trunk = _sample_trunk(rng)
    joints = np.zeros((len(LSP_JOINTS), 2))
    pelvis = np.zeros(2)
    neck = pelvis + trunk.torso * trunk.up
    joints[JOINT_INDEX['neck']] = neck
    head_dir = _rot(trunk.up, rng.normal(0., np.deg2rad(15.)))
    head_len = rng.uniform(0.15, 0.19)
    joints[JOINT_INDEX['head_top']] = neck + head_len * head_dir
    head_radius = 0.42 * head_len

    for side in SIDES:
        out = trunk.outwards(side)
        shoulder = neck + 0.035 * trunk.down + trunk.shoulder_w * out
        hip = pelvis + trunk.hip_w * out
        elbow, wrist = _sample_arm(rng, shoulder, trunk.down, out)
        knee, ankle = _sample_leg(rng, hip, trunk.down, out)
        points = dict(
            shoulder=shoulder,
            elbow=elbow,
            wrist=wrist,
            hip=hip,
            knee=knee,
            ankle=ankle)
        for name, point in points.items():
            joints[JOINT_INDEX[f'{side}_{name}']] = point

    widths = dict(
        upper_arm=rng.uniform(0.045, 0.06),
        forearm=rng.uniform(0.035, 0.048),
        thigh=rng.uniform(0.06, 0.08),
        shin=rng.uniform(0.048, 0.062),
        neck=0.045)
    return Figure(
        joints=joints,
        head_center=neck + (head_len - head_radius) * head_dir,
        head_radius=head_radius,
        head_dir=head_dir,
        widths=widths,
        front=trunk.front,
        arms_behind={side: bool(rng.random() < 0.15)
                     for side in SIDES},
        leg_order=list(rng.permutation(list(SIDES))),
        arm_order=list(rng.permutation(list(SIDES))))
