import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpose.registry import MODELS

from softgate_mmpose.models import SoftGatedStackedHourglass
from softgate_mmpose.models.layers import SoftGatedSkip
from ...constants import TINY_BACKBONE

# The tiny test model's backbone with 2 stacks (stack-to-stack checks) and
# 5 joints.
TINY = dict(TINY_BACKBONE, num_keypoints=5, num_stacks=2)
CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs')
MPII_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'mpii', '*.py')))


@pytest.mark.parametrize('config', MPII_CONFIGS, ids=osp.basename)
def test_every_mpii_config_builds_and_gives_per_stack_heatmaps(config):
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model).eval()
    stacks = cfg.model.backbone.num_stacks
    assert cfg.model.head.num_stages == stacks
    # the smallest input the depth-4 hourglass takes: 4 * 2**4 = 64 pixels
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 64))
        assert len(feats) == stacks
        assert all(f.shape == (1, 16, 16, 16) for f in feats)
        # the head (final_layer=None) passes every stack's heatmaps on for
        # supervision
        outs = model.head.forward(feats)
        assert len(outs) == stacks
        assert all(torch.equal(o, f) for o, f in zip(outs, feats))


@pytest.mark.parametrize('merge', ['concat-1x1', 'concat-3x3', 'add'])
@pytest.mark.parametrize('block', ['HierarchicalBlock', 'PreActBottleneck'])
@pytest.mark.parametrize('gate', ['channel', 'scalar', 'none'])
def test_shapes_for_every_option(merge, block, gate):
    model = SoftGatedStackedHourglass(
        **TINY, merge=merge, block_cfg=dict(type=block, gate=gate)).eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 48))
    assert [o.shape for o in outs] == [(2, 5, 16, 12)] * 2


def test_gradients_reach_every_alpha():
    model = SoftGatedStackedHourglass(
        **TINY,
        block_cfg=dict(
            type='HierarchicalBlock', gate='channel', gate_init=0.5))
    gates = [m for m in model.modules() if isinstance(m, SoftGatedSkip)]
    # stem 3 + per stack (hourglass 2 levels x 2 + 1) + feature block
    assert len(gates) == 3 + 2 * (5 + 1)
    sum(o.square().mean() for o in model(torch.randn(2, 3, 64, 64))).backward()
    for g in gates:
        assert g.alpha.grad is not None and torch.all(g.alpha.grad != 0), g


@pytest.mark.parametrize('gate_init', [0., 0.3, 1.])
def test_gate_init_honoured(gate_init):
    model = SoftGatedStackedHourglass(
        **TINY,
        block_cfg=dict(
            type='HierarchicalBlock', gate='channel', gate_init=gate_init))
    model.init_weights(
    )  # the Kaiming/Constant init must leave the gates alone
    alphas = [m.alpha for m in model.modules() if isinstance(m, SoftGatedSkip)]
    assert alphas and all(torch.all(a == gate_init) for a in alphas)


def test_non_bn_norm_cfg_reaches_every_norm_layer():
    gn = dict(type='GN', num_groups=4)
    model = SoftGatedStackedHourglass(**TINY, norm_cfg=gn)
    bn_model = SoftGatedStackedHourglass(**TINY)
    n_bn = sum(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in bn_model.modules())
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in model.modules())
    assert sum(isinstance(m, nn.GroupNorm)
               for m in model.modules()) == n_bn > 0


def test_heatmaps_feed_the_next_stack():
    model = SoftGatedStackedHourglass(**TINY).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        model.remap_heatmaps[0].conv.weight.add_(1.)
        after = model(x)
    # Stack 1 does not see the changed weights: the same ops on the same
    # input and thread count, bitwise equal.
    torch.testing.assert_close(before[0], after[0], rtol=0, atol=0)
    assert not torch.allclose(before[1], after[1])


def test_eval_mode_is_deterministic():
    model = SoftGatedStackedHourglass(**TINY)
    x = torch.randn(2, 3, 64, 64)
    model.train()
    model(x)  # update BN running stats so eval differs from init
    model.eval()
    with torch.no_grad():
        a, b = model(x), model(x)
    for p, q in zip(a, b):
        assert torch.equal(p, q)  # same ops, input and threads: bitwise


def test_norm_eval_keeps_bn_in_eval_mode():
    model = SoftGatedStackedHourglass(**TINY, norm_eval=True).train()
    assert all(not m.training for m in model.modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm))


def test_model_learns_on_a_fixed_batch():
    torch.manual_seed(0)
    model = SoftGatedStackedHourglass(**TINY)
    model.init_weights()
    x = torch.randn(4, 3, 64, 64)
    target = torch.zeros(4, 5, 16, 16)
    target[:, :, 4, 8] = 1.
    target = nn.functional.avg_pool2d(target, 3, 1, 1) * 9
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(15):
        loss = sum(nn.functional.mse_loss(o, target) for o in model(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_stacks'):
        SoftGatedStackedHourglass(num_keypoints=4, num_stacks=0)
    with pytest.raises(ValueError, match='stem_channels'):
        SoftGatedStackedHourglass(num_keypoints=4, stem_channels=(8, 16))


def test_heatmap_convs_start_near_zero():
    model = SoftGatedStackedHourglass(**TINY)
    model.init_weights()
    for conv in model.heatmap_convs:
        assert conv.conv.weight.std() < 0.002
    assert model.features[0][1].conv.weight.std() > 0.05  # Kaiming elsewhere
