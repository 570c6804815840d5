"""One forward per module: eval mode is the training computation with BN on
its running statistics (checked against a functional re-implementation), and
parameters get gradients in both modes."""
import copy

import pytest
import torch
import torch.nn.functional as F

from softgate_mmpose.models.layers import (HierarchicalBlock, PreActBottleneck,
                                           SoftGatedHourglassModule)


def preact(cm, x):
    """norm -> ReLU -> conv of a ConvModule, from its tensors."""
    n = cm.norm
    x = F.batch_norm(
        x,
        n.running_mean,
        n.running_var,
        n.weight,
        n.bias,
        training=False,
        eps=n.eps)
    return F.conv2d(
        F.relu(x), cm.conv.weight, cm.conv.bias, padding=cm.conv.padding)


def skip(block, x):
    s = block.skip
    if s.projection is not None:
        x = F.conv2d(x, s.projection.conv.weight, s.projection.conv.bias)
    return x if s.alpha is None else x * s.alpha


def hierarchical(block, x):
    o1 = preact(block.conv1, x)
    o2 = preact(block.conv2, o1)
    o3 = preact(block.conv3, o2)
    return torch.cat((o1, o2, o3), 1) + skip(block, x)


def bottleneck(block, x):
    return preact(block.conv3, preact(block.conv2, preact(
        block.conv1, x))) + skip(block, x)


@pytest.mark.parametrize('block_type,reference',
                         [(HierarchicalBlock, hierarchical),
                          (PreActBottleneck, bottleneck)])
@pytest.mark.parametrize('in_channels', [16, 8])
def test_eval_is_the_computation_on_running_stats(block_type, reference,
                                                  in_channels,
                                                  randomize_norms_and_gates):
    block = randomize_norms_and_gates(
        block_type(in_channels, 16, gate='channel')).eval()
    x = torch.randn(2, in_channels, 7, 9)
    with torch.no_grad():
        expected = reference(block, x)
        # Same maths, other kernels (e.g. unfused): float rounding only,
        # orders of magnitude below 1e-5 of the output's peak.
        torch.testing.assert_close(
            block(x),
            expected,
            rtol=0,
            atol=1e-5 * expected.abs().max().item())


@pytest.mark.parametrize('merge', ['concat-1x1', 'concat-3x3', 'add'])
def test_hourglass_train_with_frozen_norms_equals_eval(
        merge, randomize_norms_and_gates):
    # BN layers in eval mode inside a training-mode module (norm_eval) run
    # the same code as a module in eval mode: the outputs are identical.
    hg = randomize_norms_and_gates(
        SoftGatedHourglassModule(
            2, 16, dict(type='HierarchicalBlock', gate='channel'),
            merge=merge))
    x = torch.randn(2, 16, 16, 12)
    hg.train()
    for m in hg.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    with torch.no_grad():
        frozen = hg(x)
        # The same ops on the same input and thread count: bitwise equal.
        assert torch.equal(hg.eval()(x), frozen)


def test_concat_1x1_merge_equals_the_concatenation(randomize_norms_and_gates):
    hg = randomize_norms_and_gates(
        SoftGatedHourglassModule(
            1,
            8,
            dict(type='HierarchicalBlock', gate='channel'),
            merge='concat-1x1')).eval()
    assert hg.split_merge
    up, low = torch.randn(2, 8, 6, 4), torch.randn(2, 8, 3, 2)
    with torch.no_grad():
        expected = hg.merge_conv(
            torch.cat((up, F.interpolate(low, scale_factor=2.)), 1))
        # The split conv sums two half-width partial products: another
        # accumulation order, rounding far below 1e-5 of the peak.
        torch.testing.assert_close(
            hg.merge_branches(up, low),
            expected,
            rtol=0,
            atol=1e-5 * expected.abs().max().item())


@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_gradients_in_both_modes(mode, randomize_norms_and_gates):
    hg = randomize_norms_and_gates(
        SoftGatedHourglassModule(
            2, 8,
            dict(type='HierarchicalBlock', gate='channel', gate_init=0.5)))
    hg.train(mode == 'train')
    hg(torch.randn(2, 8, 8, 8)).square().mean().backward()
    for name, p in hg.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_copies_compute_the_same(randomize_norms_and_gates):
    hg = randomize_norms_and_gates(
        SoftGatedHourglassModule(
            2, 8, dict(type='HierarchicalBlock', gate='channel'))).eval()
    x = torch.randn(1, 8, 8, 8)
    with torch.no_grad():
        out = hg(x)
        # Equal weights, the same ops and thread count: bitwise equal.
        assert torch.equal(copy.deepcopy(hg)(x), out)
