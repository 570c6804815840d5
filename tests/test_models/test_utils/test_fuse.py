# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The eval-mode fast paths give the values of the plain modules.

The reference is the training code path with every norm layer in eval mode
(as ``norm_eval`` runs it): the same layers, unfused, on running statistics.
"""
import copy
import pickle

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from softgate_mmpose.models import SoftGatedStackedHourglass
from softgate_mmpose.models.layers import (HierarchicalBlock, PreActBottleneck,
                                           SoftGatedHourglassModule,
                                           SoftGatedSkip)
from softgate_mmpose.models.utils import (clear_eval_cache, conv_norm_act,
                                          fuse, norm_act_conv, scaled_conv,
                                          split_conv_norm)
from softgate_mmpose.models.utils.fuse import _folded_conv_norm

BN = nn.modules.batchnorm._BatchNorm


def randomize_norms(module: nn.Module, seed: int = 0,
                    negative_scales: bool = False) -> nn.Module:
    """Running stats and affine parameters far from the identity, so that a
    wrong fold shows; optionally some negative scales."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, BN):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 2 + 0.2)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                if negative_scales:
                    m.weight[::3] *= -1
                m.bias.copy_(torch.randn(c, generator=gen) * 0.5)
    return module


def reference(module: nn.Module, *inputs):
    """The training code path on running statistics (norms in eval)."""
    module.train()
    for m in module.modules():
        if isinstance(m, BN):
            m.eval()
    try:
        with torch.no_grad():
            return module(*inputs)
    finally:
        module.eval()


def assert_close_all(actual, expected, rtol=1e-4, atol=1e-4):
    if isinstance(expected, torch.Tensor):
        actual, expected = (actual, ), (expected, )
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        scale = e.abs().max().item()
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('act', [dict(type='ReLU'), None])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('size, stride', [((7, 5), 1), ((20, 18), 1),
                                          ((40, 36), 2)])
def test_conv_norm_act_folds_the_norm(bias, act, channels_last, size, stride):
    # 20x18 and 40x36 channels-last inputs take oneDNN's reordered-weight conv
    cm = randomize_norms(
        ConvModule(6, 10, 3, stride=stride, padding=1, bias=bias,
                   norm_cfg=dict(type='BN'), act_cfg=act)).eval()
    x = torch.randn(2, 6, *size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert_close_all(conv_norm_act(cm, x), cm(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('negative_scales', [False, True])
@pytest.mark.parametrize('act', ['ReLU', 'SiLU'])
def test_norm_act_conv_folds_the_pre_activation_norm(negative_scales, act):
    # ReLU with positive scales takes the add-ReLU path, the others the
    # multiply-add fallback
    cm = randomize_norms(
        ConvModule(8, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                   act_cfg=dict(type=act), order=('norm', 'act', 'conv')),
        negative_scales=negative_scales).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        assert_close_all(norm_act_conv(cm, x), cm(x), rtol=1e-5, atol=1e-5)


def test_split_conv_norm_is_the_conv_of_the_concatenation():
    cm = randomize_norms(
        ConvModule(12, 5, 1, norm_cfg=dict(type='BN'))).eval()
    a, b = torch.randn(2, 7, 4, 4), torch.randn(2, 5, 4, 4)
    with torch.no_grad():
        conv_a, conv_b = split_conv_norm(cm, 7)
        out = conv_a(a) + conv_b(b)
        assert_close_all(out, cm.norm(cm.conv(torch.cat((a, b), 1))))
    # a 3x3 conv does not split over nearest upsampling: refused
    assert split_conv_norm(ConvModule(12, 5, 3, padding=1).eval(), 7) is None


@pytest.mark.parametrize('scale_shape', [(1, 6, 1, 1), (1, ), None])
def test_scaled_conv_folds_the_scale(scale_shape):
    cm = ConvModule(4, 6, 1, bias=True, norm_cfg=None, act_cfg=None).eval()
    scale = None if scale_shape is None else torch.randn(scale_shape)
    x = torch.randn(2, 4, 5, 5).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = cm(x) if scale is None else scale * cm(x)
        assert_close_all(scaled_conv(cm, x, scale), expected, rtol=1e-5,
                         atol=1e-5)


def test_gated_projection_is_the_skip():
    skip = SoftGatedSkip(4, 8, gate='channel', gate_init=0.3, bias=True).eval()
    x = torch.randn(2, 4, 3, 3)
    with torch.no_grad():
        assert_close_all(skip.gated_projection(x), skip(x), rtol=1e-5,
                         atol=1e-5)
    with pytest.raises(ValueError, match='needs a projection'):
        SoftGatedSkip(4, 4).gated_projection(x)


def test_unsupported_layers_fall_back_to_the_module():
    gn = ConvModule(8, 4, 3, padding=1, norm_cfg=dict(type='GN', num_groups=2),
                    order=('norm', 'act', 'conv')).eval()
    x = torch.randn(1, 8, 5, 5)
    with torch.no_grad():
        assert torch.equal(norm_act_conv(gn, x), gn(x))
    training_bn = ConvModule(8, 4, 1, norm_cfg=dict(type='BN')).train()
    with torch.no_grad():  # batch statistics: no fold possible
        assert torch.equal(conv_norm_act(training_bn, x), training_bn(x))


@pytest.mark.parametrize('size, memory_format',
                         [(5, torch.contiguous_format),
                          (20, torch.channels_last)])
def test_cache_follows_in_place_updates_and_clear(size, memory_format):
    cm = randomize_norms(
        ConvModule(8, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                   order=('norm', 'act', 'conv'))).eval()
    x = torch.randn(1, 8, size, size).contiguous(memory_format=memory_format)
    with torch.no_grad():
        norm_act_conv(cm, x)  # fills the cache
        cm.norm.running_var.mul_(3.)  # bumps the version counter
        cm.conv.weight.add_(0.1)
        assert_close_all(norm_act_conv(cm, x), cm(x), rtol=1e-5, atol=1e-5)
        other = randomize_norms(copy.deepcopy(cm), seed=1)
        cm.load_state_dict(other.state_dict())
        assert_close_all(norm_act_conv(cm, x), other(x), rtol=1e-5, atol=1e-5)
        # writes through .data bypass the version counter: clear by hand
        cm.norm.running_mean.data.add_(1.)
        clear_eval_cache(cm)
        assert_close_all(norm_act_conv(cm, x), cm(x), rtol=1e-5, atol=1e-5)


def test_onednn_weight_is_reordered_once_per_input_shape():
    cm = randomize_norms(
        ConvModule(8, 4, 3, padding=1, norm_cfg=dict(type='BN'))).eval()
    cl = torch.channels_last
    with torch.no_grad():
        for shape in [(1, 8, 16, 16), (1, 8, 16, 16), (2, 8, 16, 16),
                      (1, 8, 15, 15), (1, 8, 24, 24)]:
            x = torch.randn(shape).contiguous(memory_format=cl)
            assert_close_all(conv_norm_act(cm, x), cm(x), rtol=1e-5,
                             atol=1e-5)
        conv_norm_act(cm, torch.randn(1, 8, 24, 24))  # NCHW: plain conv
        folded = _folded_conv_norm(cm, channels_last=True)  # the cached one
    packed = folded._packed if fuse._onednn else {}
    # 15x15 is below the size where oneDNN's conv pays off
    assert set(packed) <= {(1, 8, 16, 16), (2, 8, 16, 16), (1, 8, 24, 24)}
    if fuse._onednn:
        assert len(packed) == 3


def test_module_with_cached_weights_copies_and_pickles():
    model = SoftGatedStackedHourglass(
        num_keypoints=5, num_stacks=2, stack_channels=16, depth=2,
        stem_channels=(8, 16, 16))
    model.init_weights()
    randomize_norms(model).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = model(x)  # fills the caches, oneDNN weights included
        copied = copy.deepcopy(model)
        loaded = pickle.loads(pickle.dumps(model))
        for other in (copied, loaded):
            assert_close_all(other(x), out, rtol=1e-6, atol=1e-6)


def test_parameters_get_gradients_in_eval_mode():
    cm = randomize_norms(
        ConvModule(8, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                   order=('norm', 'act', 'conv'))).eval()
    ref = copy.deepcopy(cm)
    x = torch.randn(2, 8, 5, 5)
    norm_act_conv(cm, x).square().sum().backward()
    ref(x).square().sum().backward()
    for (name, p), q in zip(cm.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-4,
                                   msg=name)


@pytest.mark.parametrize('block_type', [HierarchicalBlock, PreActBottleneck])
@pytest.mark.parametrize('gate', ['channel', 'scalar', 'none'])
@pytest.mark.parametrize('in_channels', [16, 8])
def test_block_eval_path_equals_training_path(block_type, gate, in_channels):
    block = randomize_norms(
        block_type(in_channels, 16, gate=gate, gate_init=0.7)).eval()
    x = torch.randn(2, in_channels, 8, 6)
    with torch.no_grad():
        fast = block(x)
    assert_close_all(fast, reference(block, x))


@pytest.mark.parametrize('merge', ['concat-1x1', 'concat-3x3', 'add'])
@pytest.mark.parametrize('merge_norm', [True, False])
def test_hourglass_eval_path_equals_training_path(merge, merge_norm):
    hg = randomize_norms(
        SoftGatedHourglassModule(
            2, 16, dict(type='HierarchicalBlock', gate='channel',
                        gate_init=0.5), merge=merge,
            merge_norm=merge_norm)).eval()
    x = torch.randn(2, 16, 16, 12)
    with torch.no_grad():
        fast = hg(x)
    assert_close_all(fast, reference(hg, x))


@pytest.mark.parametrize('block', ['HierarchicalBlock', 'PreActBottleneck'])
@pytest.mark.parametrize('negative_scales', [False, True])
@pytest.mark.parametrize('size', [(64, 48), (160, 40)])
def test_backbone_eval_path_equals_training_path(block, negative_scales,
                                                 size):
    model = SoftGatedStackedHourglass(
        num_keypoints=5, num_stacks=2, stack_channels=16, depth=2,
        stem_channels=(8, 16, 16),
        block_cfg=dict(type=block, gate='channel', gate_init=0.5))
    model.init_weights()
    randomize_norms(model, negative_scales=negative_scales).eval()
    keys = list(model.state_dict())
    x = torch.randn(2, 3, *size)
    # the taller input runs the stem block in three strips (32, 32, 16 rows)
    assert (size[0] // 2 > model.STEM_STRIP_ROWS) == (size[0] > 64)
    with torch.no_grad():
        fast = model(x)
    assert_close_all(fast, reference(model, x))
    # outputs in the default layout; nothing added to the state dict
    assert all(h.is_contiguous() for h in fast)
    assert list(model.state_dict()) == keys


def test_backbone_cache_is_rebuilt_after_training():
    model = SoftGatedStackedHourglass(
        num_keypoints=5, num_stacks=2, stack_channels=16, depth=2,
        stem_channels=(8, 16, 16))
    model.init_weights()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        model.eval()(x)  # fills the caches
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    sum(o.square().mean() for o in model(x)).backward()
    opt.step()  # changes weights and, in train mode, BN running stats
    model.eval()
    with torch.no_grad():
        fast = model(x)
    assert_close_all(fast, reference(model, x))
