# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""UniformRandomBBoxTransform: the reimplementation's uniform rotation.

And scale, for every sample.
"""
import numpy as np
import pytest
from mmpose.registry import TRANSFORMS
from scipy.stats import kstest

from softgate_mmpose.datasets.transforms import UniformRandomBBoxTransform

N = 4000


def draw(transform_cfg: dict, seed: int = 0):
    """(offset (N, 2) in bbox units, scale (N, ), rotation (N, )).

    Of N boxes.
    """
    np.random.seed(seed)
    transform = TRANSFORMS.build(transform_cfg)
    results = transform(
        dict(
            bbox_center=np.zeros((N, 2), np.float32),
            bbox_scale=np.full((N, 2), 100., np.float32)))
    scale = results['bbox_scale'] / 100.
    np.testing.assert_allclose(scale[:, 0], scale[:, 1])
    return results['bbox_center'] / 100., scale[:, 0], results['bbox_rotation']


def test_defaults_are_the_reimplementations_augmentation():
    assert isinstance(
        TRANSFORMS.build(dict(type='UniformRandomBBoxTransform')),
        UniformRandomBBoxTransform)
    offset, scale, rotation = draw(dict(type='UniformRandomBBoxTransform'))
    assert np.all(offset == 0)
    # Every box rotated, uniformly within +-30 degrees; every box scaled,
    # uniformly in 0.75-1.25.
    assert np.all(rotation != 0) and np.abs(rotation).max() <= 30
    assert np.abs(rotation).max() > 29.5
    assert kstest(rotation, 'uniform', args=(-30, 60)).pvalue > 0.01
    assert 0.31 < np.mean(np.abs(rotation) > 20) < 0.36
    assert scale.min() >= 0.75 and scale.max() <= 1.25
    assert kstest(scale, 'uniform', args=(0.75, 0.5)).pvalue > 0.01
    assert 0.31 < np.mean(np.abs(scale - 1) > 0.25 * 2 / 3) < 0.36


def test_differs_from_mmposes_truncated_normal():
    """MMPose's transform with the same factors rotates only some boxes.

    And not uniformly.
    """
    _, scale, rotation = draw(
        dict(
            type='RandomBBoxTransform',
            shift_prob=0,
            scale_factor=(0.75, 1.25),
            rotate_factor=30))
    assert 0.3 < np.mean(rotation == 0) < 0.5  # rotate_prob=0.6
    # A normal truncated at +-1 sigma has fewer draws in the outer third than a
    # uniform (1/3).
    assert np.mean(np.abs(rotation[rotation != 0]) > 20) < 0.3
    assert np.mean(np.abs(scale - 1) > 0.25 * 2 / 3) < 0.3


def test_factors_and_probabilities():
    offset, scale, rotation = draw(
        dict(
            type='UniformRandomBBoxTransform',
            shift_factor=0.1,
            shift_prob=1.,
            scale_factor=(0.5, 1.0),
            rotate_factor=10.,
            rotate_prob=0.5))
    assert np.abs(offset).max() <= 0.1 and np.all(offset != 0)
    assert kstest(
        offset.reshape(-1), 'uniform', args=(-0.1, 0.2)).pvalue > 0.01
    assert scale.min() >= 0.5 and scale.max() <= 1.0
    assert 0.45 < np.mean(rotation == 0) < 0.55
    assert np.abs(rotation).max() <= 10
    # The draws are seeded by numpy's global generator, as MMPose's (mmengine
    # seeds it).
    np.testing.assert_array_equal(
        draw(dict(type='UniformRandomBBoxTransform'), seed=3)[2],
        draw(dict(type='UniformRandomBBoxTransform'), seed=3)[2])


@pytest.mark.parametrize('scale_factor', [(1.25, 0.75), (0., 1.), (-0.5, 1.5)])
def test_bad_scale_factor(scale_factor):
    with pytest.raises(
            ValueError, match=r'scale_factor must be \(low, high\)'):
        TRANSFORMS.build(
            dict(type='UniformRandomBBoxTransform', scale_factor=scale_factor))
