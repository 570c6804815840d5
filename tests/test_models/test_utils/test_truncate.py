"""truncate_stacks: the network cut after stack K outputs exactly the K-th
heatmaps of the full network, in PyTorch (forward, predict) and in ONNX."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmpose.models.backbones import HourglassNet
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from softgate_mmpose.models import SoftGatedStackedHourglass, truncate_stacks

DEFAULT_CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', 'mpii',
    'td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py')
TINY = dict(
    num_keypoints=5,
    num_stacks=3,
    stack_channels=16,
    depth=2,
    stem_channels=(8, 16, 16))


def build_estimator(num_stacks: int) -> nn.Module:
    """The default config's estimator, shrunk to 16 channels."""
    cfg = Config.fromfile(DEFAULT_CONFIG)
    cfg.model.backbone.update(
        num_stacks=num_stacks, stack_channels=16, stem_channels=(8, 16, 16))
    cfg.model.head.num_stages = num_stacks
    cfg.model.test_cfg = dict(flip_test=False)
    return MODELS.build(cfg.model)


def data_samples(n: int):
    samples = []
    for i in range(n):
        s = PoseDataSample(
            metainfo=dict(
                input_size=(64, 64),
                input_center=np.array([32. + i, 30.]),
                input_scale=np.array([64., 64.]),
                img_shape=(64, 64)))
        s.gt_instances = InstanceData(
            bboxes=np.array([[0., 0., 64., 64.]]), bbox_scores=np.ones(1))
        samples.append(s)
    return samples


@pytest.mark.parametrize('k', [1, 2, 3])
def test_backbone_cut_after_stack_k_gives_its_heatmaps(
        k, randomize_norms_and_gates):
    full = randomize_norms_and_gates(SoftGatedStackedHourglass(**TINY)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = full(x)
        cut = truncate_stacks(copy.deepcopy(full), k)
        outs = cut(x)
    assert cut.num_stacks == k and len(cut.hourglasses) == k
    assert len(cut.remap_features) == len(cut.remap_heatmaps) == k - 1
    assert len(outs) == k
    # the same layers on the same input in one process: bitwise equal
    for out, ref in zip(outs, expected):
        assert torch.equal(out, ref)


@pytest.mark.parametrize('k', [1, 2])
def test_estimator_predicts_stack_k(k, randomize_norms_and_gates):
    torch.manual_seed(0)
    full = randomize_norms_and_gates(build_estimator(3)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        full_heatmaps = full.head.forward(full.extract_feat(x))
        cut = truncate_stacks(full, k)
        assert cut is full
        assert cut.head.num_stages == k
        heatmaps = cut.head.forward(cut.extract_feat(x))
        assert len(heatmaps) == k
        assert torch.equal(heatmaps[-1], full_heatmaps[k - 1])

        # what remains is a K-stack model: its weights load strictly into
        # one built from the config, which predicts the same keypoints
        small = build_estimator(k).eval()
        small.load_state_dict(cut.state_dict(), strict=True)
        preds = cut.predict(x, data_samples(2))
        ref_preds = small.predict(x, data_samples(2))
    for p, r in zip(preds, ref_preds):
        np.testing.assert_array_equal(p.pred_instances.keypoints,
                                      r.pred_instances.keypoints)
    # and the keypoints are the decoded heatmaps of stack K
    decoded = cut.head.decode(full_heatmaps[k - 1])
    for p, d, s in zip(preds, decoded, data_samples(2)):
        # TopdownPoseEstimator: input-crop pixels to image pixels
        kpts = (
            d.keypoints / s.input_size * s.input_scale + s.input_center -
            0.5 * s.input_scale)
        np.testing.assert_allclose(
            p.pred_instances.keypoints, kpts, rtol=0, atol=1e-4)


def test_truncated_estimator_exports_stack_k(tmp_path,
                                             randomize_norms_and_gates):
    ort = pytest.importorskip('onnxruntime')

    class Net(nn.Module):  # images -> the last decoded stage's heatmaps

        def __init__(self, estimator):
            super().__init__()
            self.estimator = estimator

        def forward(self, x):
            return self.estimator.head.forward(
                self.estimator.extract_feat(x))[-1]

    full = randomize_norms_and_gates(build_estimator(3)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = full.head.forward(full.extract_feat(x))[1].numpy()
        net = Net(truncate_stacks(full, 2)).eval()
        path = str(tmp_path / 'cut.onnx')
        torch.onnx.export(
            net, (x, ),
            path,
            input_names=['x'],
            output_names=['heatmaps'],
            opset_version=17,
            dynamo=False)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    (actual, ) = session.run(None, {'x': x.numpy()})
    assert actual.shape == expected.shape == (1, 16, 16, 16)
    # ONNX Runtime's kernels sum in another order than PyTorch's
    assert np.abs(actual - expected).max() <= 1e-5 * np.abs(expected).max()


def test_per_stage_losses_are_truncated():
    cfg = Config.fromfile(DEFAULT_CONFIG)
    cfg.model.backbone.update(
        num_stacks=3, stack_channels=16, stem_channels=(8, 16, 16))
    cfg.model.head.num_stages = 3
    loss = dict(type='KeypointMSELoss', use_target_weight=True)
    cfg.model.head.loss = [loss, loss, dict(loss, loss_weight=2.)]
    model = truncate_stacks(MODELS.build(cfg.model), 2)
    assert len(model.head.loss_module) == 2
    assert model.head.loss_module[1].loss_weight == 1.


def test_full_count_is_a_no_op():
    model = build_estimator(2)
    keys = set(model.state_dict())
    assert truncate_stacks(model, 2) is model
    assert set(model.state_dict()) == keys


@pytest.mark.parametrize('k', [0, 4, -1, 2.0, '2', True])
def test_out_of_range_names_the_range(k):
    model = build_estimator(3)
    with pytest.raises(ValueError, match=r'1\.\.3'):
        truncate_stacks(model, k)
    assert model.backbone.num_stacks == 3 and len(
        model.backbone.hourglasses) == 3


def test_model_without_stacks():
    with pytest.raises(ValueError, match='no stacks'):
        truncate_stacks(nn.Sequential(nn.Conv2d(3, 4, 1)), 1)
    cfg = Config.fromfile(DEFAULT_CONFIG)
    cfg.model.backbone = dict(type='ResNet', depth=18)
    cfg.model.head = dict(type='HeatmapHead', in_channels=512, out_channels=16)
    with pytest.raises(ValueError, match='ResNet has no stacks'):
        truncate_stacks(MODELS.build(cfg.model), 1)


# its stem outputs 256 channels
HG_NET = dict(
    downsample_times=2,
    num_stacks=3,
    stage_channels=(256, 32, 32),
    stage_blocks=(1, 1, 1),
    feat_channel=16)


@pytest.mark.parametrize('k', [1, 2])
def test_mmpose_hourglass_net(k, randomize_norms_and_gates):
    full = randomize_norms_and_gates(HourglassNet(**HG_NET))
    full.eval()  # MMPose's BaseBackbone.train returns None
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = full(x)
        outs = truncate_stacks(copy.deepcopy(full), k)(x)
    assert len(outs) == k
    assert torch.equal(outs[-1], expected[k - 1])


def test_mmpose_hourglass_net_with_a_single_stage_head():
    cfg = Config.fromfile(DEFAULT_CONFIG)
    cfg.model.backbone = dict(type='HourglassNet', **HG_NET)
    cfg.model.head = dict(
        type='HeatmapHead',
        in_channels=16,
        out_channels=16,
        deconv_out_channels=None)
    model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match='HeatmapHead decodes only the last'):
        truncate_stacks(model, 2)
    assert truncate_stacks(model, 3) is model
