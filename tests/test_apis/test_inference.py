# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""MMPose's low-level ``init_model`` / ``inference_topdown`` with the plugin's
configs, and the plugin's ``init_model``."""
import numpy as np
import pytest
from mmpose.apis import inference_topdown
from mmpose.apis import init_model as mmpose_init_model

from softgate_mmpose.apis import init_model, list_model_aliases
from ..constants import LSP_ALIAS, MPII_ALIAS
from .samples import BOXES


@pytest.fixture(scope='module')
def image(two_people):
    return two_people


def test_mmpose_init_model_and_inference_topdown(mpii_tiny_ckpt, image,
                                                 tiny_pose_cfg, inside,
                                                 crop_region):
    config = list_model_aliases()[MPII_ALIAS]
    model = mmpose_init_model(
        config, mpii_tiny_ckpt, device='cpu', cfg_options=tiny_pose_cfg)
    assert model.dataset_meta['num_keypoints'] == 16
    samples = inference_topdown(model, image, BOXES)
    assert len(samples) == 2
    for sample, box in zip(samples, BOXES):
        kpts = sample.pred_instances.keypoints
        assert kpts.shape == (1, 16, 2)
        assert sample.pred_instances.keypoint_scores.shape == (1, 16)
        assert inside(kpts[0], crop_region(box))
    # the plugin's init_model (alias, strict check) builds the same model
    ours = init_model(
        MPII_ALIAS, mpii_tiny_ckpt, device='cpu', cfg_options=tiny_pose_cfg)
    for a, b in zip(samples, inference_topdown(ours, image, BOXES)):
        # The same weights and kernels: rounding at most (pixels).
        np.testing.assert_allclose(
            a.pred_instances.keypoints,
            b.pred_instances.keypoints,
            rtol=0,
            atol=1e-2)
    # without boxes: the whole image
    whole = inference_topdown(ours, image)
    assert len(whole) == 1
    np.testing.assert_allclose(whole[0].pred_instances.bboxes,
                               [[0, 0, 854, 480]])


def test_lsp_config_low_level(image, tmp_path, lsp_config,
                              save_tiny_checkpoint, tiny_pose_cfg):
    ckpt = save_tiny_checkpoint(LSP_ALIAS, str(tmp_path / 'lsp.pth'))
    model = mmpose_init_model(
        lsp_config, ckpt, device='cpu', cfg_options=tiny_pose_cfg)
    assert model.dataset_meta['num_keypoints'] == 14
    samples = inference_topdown(model, image, BOXES[:1])
    assert samples[0].pred_instances.keypoints.shape == (1, 14, 2)
