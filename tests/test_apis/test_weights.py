# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The weights loading shared by init_model and the inferencer
(softgate_mmpose/apis/weights.py): one resolution, one strict load, and
``num_stacks`` on a two-stack tiny model."""
import logging

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu
from mmpose.apis import inference_topdown

from softgate_mmpose.apis import SoftGateInferencer, init_model
from softgate_mmpose.apis.weights import resolve_model_source
from softgate_mmpose.models import truncate_stacks
from ..constants import MPII_ALIAS
from .samples import BOXES


@pytest.fixture(scope='module')
def two_stacks(tiny_pose_cfg) -> dict:
    """The tiny model with two stacks (and a head of two stages)."""
    return {
        **tiny_pose_cfg, 'model.backbone.num_stacks': 2,
        'model.head.num_stages': 2
    }


@pytest.fixture(scope='module')
def two_stack_ckpt(two_stacks, randomize_norms_and_gates, tmp_path_factory):
    """A checkpoint of the two-stack tiny model whose stacks differ."""
    torch.manual_seed(0)
    model = init_model(MPII_ALIAS, device='cpu', cfg_options=two_stacks)
    randomize_norms_and_gates(model)
    path = str(tmp_path_factory.mktemp('hg2') / 'hg2_tiny.pth')
    save_checkpoint(
        dict(
            state_dict=weights_to_cpu(model.state_dict()),
            meta=dict(dataset_meta=model.dataset_meta)), path)
    return path


def _keypoints(model, image) -> np.ndarray:
    return np.stack([
        s.pred_instances.keypoints[0]
        for s in inference_topdown(model, image, BOXES)
    ])


def test_source_resolution(mpii_tiny_ckpt, tiny_pose_cfg):
    source = resolve_model_source(MPII_ALIAS, mpii_tiny_ckpt)
    assert source.config.endswith('.py') and source.backend == 'pytorch'
    assert source.config_name == source.config
    source = resolve_model_source(
        MPII_ALIAS, mpii_tiny_ckpt, cfg_options=tiny_pose_cfg)
    assert source.config.model.backbone.num_stacks == 1  # merged
    assert source.config_name == source.config.filename
    with pytest.raises(ValueError, match='backend must be one of'):
        resolve_model_source(MPII_ALIAS, mpii_tiny_ckpt, backend='tensorrt')


def test_init_model_num_stacks(two_stack_ckpt, two_stacks, two_people):
    """The full checkpoint loads strictly, then stacks 2.. are dropped:
    the same as truncate_stacks on the full model."""
    full = init_model(
        MPII_ALIAS, two_stack_ckpt, device='cpu', cfg_options=two_stacks)
    full_kpts = _keypoints(full, two_people)
    one = init_model(
        MPII_ALIAS,
        two_stack_ckpt,
        device='cpu',
        cfg_options=two_stacks,
        num_stacks=1)
    assert one.backbone.num_stacks == 1
    one_kpts = _keypoints(one, two_people)
    by_hand = truncate_stacks(full, 1)
    # Identical weights, crops and batch: 1e-3 px (1e-6 of the image width)
    # only absorbs a kernel that accumulates in another order.
    np.testing.assert_allclose(
        _keypoints(by_hand, two_people), one_kpts, rtol=0, atol=1e-3)
    # stack 1 alone predicts other poses than both stacks
    assert np.abs(full_kpts - one_kpts).max() > 1
    same = init_model(
        MPII_ALIAS,
        two_stack_ckpt,
        device='cpu',
        cfg_options=two_stacks,
        num_stacks=2)
    np.testing.assert_allclose(
        _keypoints(same, two_people), full_kpts, rtol=0, atol=1e-3)


def test_inferencer_num_stacks(two_stack_ckpt, two_stacks, two_people):
    inferencer = SoftGateInferencer(
        MPII_ALIAS,
        two_stack_ckpt,
        device='cpu',
        cfg_options=two_stacks,
        show_progress=False,
        num_stacks=1)
    assert inferencer.model.backbone.num_stacks == 1
    preds = next(inferencer(two_people, bboxes=[BOXES]))['predictions'][0]
    ours = np.stack([p['keypoints'] for p in preds])
    model = init_model(
        MPII_ALIAS,
        two_stack_ckpt,
        device='cpu',
        cfg_options=two_stacks,
        num_stacks=1)
    # The same two crops in one batch through the same model: 1e-3 px only
    # absorbs a kernel that accumulates in another order.
    np.testing.assert_allclose(
        ours, _keypoints(model, two_people), rtol=0, atol=1e-3)


def test_num_stacks_out_of_range(two_stack_ckpt, two_stacks):
    with pytest.raises(ValueError, match=r'1\.\.2'):
        init_model(
            MPII_ALIAS,
            two_stack_ckpt,
            device='cpu',
            cfg_options=two_stacks,
            num_stacks=3)
    with pytest.raises(ValueError, match=r'1\.\.2'):
        SoftGateInferencer(
            MPII_ALIAS,
            two_stack_ckpt,
            device='cpu',
            cfg_options=two_stacks,
            num_stacks=0)


def test_num_stacks_of_an_exported_model(tiny_onnx, tiny_pose_cfg):
    onnx_file = tiny_onnx('tiny.onnx')
    for build in (init_model, SoftGateInferencer):
        with pytest.raises(ValueError, match='num_stacks applies to PyTorch'):
            build(
                MPII_ALIAS,
                onnx_file,
                device='cpu',
                cfg_options=tiny_pose_cfg,
                num_stacks=1)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_init_model_without_weights_says_so(tiny_pose_cfg, mpii_tiny_ckpt):
    logger = MMLogger.get_current_instance()
    for checkpoint, said in ((None, True), (mpii_tiny_ckpt, False)):
        records = _Records()
        logger.addHandler(records)
        try:
            init_model(MPII_ALIAS, checkpoint, cfg_options=tiny_pose_cfg)
        finally:
            logger.removeHandler(records)
        assert any('initial (random) weights' in m
                   for m in records.messages) == said
