# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from typing import Tuple

import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmpose.datasets.transforms import RandomBBoxTransform
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class UniformRandomBBoxTransform(RandomBBoxTransform):
    """:class:`~mmpose.datasets.transforms.RandomBBoxTransform` with uniform
    draws, applied to every sample by default.

    MMPose draws the shift, scale and rotation from a normal distribution
    truncated at one standard deviation of each factor and applies each with
    a probability (rotation with ``rotate_prob=0.6``). Newell et al.'s stacked
    hourglass code and the public reimplementation of the soft-gated network
    draw them uniformly and always rotate and scale: rotation
    :math:`U(-30, 30)` degrees and scale :math:`U(0.75, 1.25)`, no shift.
    With its defaults, this transform does the same.

    Required Keys:

        - bbox_center
        - bbox_scale

    Modified Keys:

        - bbox_center
        - bbox_scale

    Added Keys:

        - bbox_rotation

    Args:
        shift_factor (float): Shift in :math:`U(-f, f)` times the bbox width
            and height. Defaults to 0.16.
        shift_prob (float): Probability of a shift. Defaults to 0.
        scale_factor (tuple[float, float]): The bbox scale is multiplied by
            :math:`U(low, high)`. Defaults to (0.75, 1.25).
        scale_prob (float): Probability of a rescaling. Defaults to 1.
        rotate_factor (float): Rotation in :math:`U(-r, r)` degrees.
            Defaults to 30.
        rotate_prob (float): Probability of a rotation. Defaults to 1.
    """

    def __init__(self,
                 shift_factor: float = 0.16,
                 shift_prob: float = 0.,
                 scale_factor: Tuple[float, float] = (0.75, 1.25),
                 scale_prob: float = 1.,
                 rotate_factor: float = 30.,
                 rotate_prob: float = 1.) -> None:
        low, high = scale_factor
        if not 0 < low <= high:
            raise ValueError(
                f'scale_factor must be (low, high) with 0 < low <= high, '
                f'got {scale_factor}')
        super().__init__(
            shift_factor=shift_factor,
            shift_prob=shift_prob,
            scale_factor=scale_factor,
            scale_prob=scale_prob,
            rotate_factor=rotate_factor,
            rotate_prob=rotate_prob)

    @cache_randomness
    def _get_transform_params(self, num_bboxes: int) -> Tuple:
        """Draw the parameters of ``num_bboxes`` boxes.

        Returns:
            tuple:
            - offset (np.ndarray): (N, 2) shift in units of the bbox size.
            - scale (np.ndarray): (N, 1) scale factor.
            - rotate (np.ndarray): (N, ) rotation in degrees.
        """
        draws = np.random.uniform(-1., 1., size=(num_bboxes, 4))
        offset = draws[:, :2] * self.shift_factor
        offset = np.where(
            np.random.rand(num_bboxes, 1) < self.shift_prob, offset, 0.)
        low, high = self.scale_factor
        scale = (high + low) / 2 + draws[:, 2:3] * (high - low) / 2
        scale = np.where(
            np.random.rand(num_bboxes, 1) < self.scale_prob, scale, 1.)
        rotate = draws[:, 3] * self.rotate_factor
        rotate = np.where(
            np.random.rand(num_bboxes) < self.rotate_prob, rotate, 0.)
        return (offset.astype(np.float32), scale.astype(np.float32),
                rotate.astype(np.float32))
