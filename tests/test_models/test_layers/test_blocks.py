import pytest
import torch
import torch.nn as nn

from softgate_mmpose.models.layers import HierarchicalBlock, PreActBottleneck


@pytest.mark.parametrize('block_type', [HierarchicalBlock, PreActBottleneck])
@pytest.mark.parametrize('in_channels,out_channels', [(16, 16), (8, 32)])
@pytest.mark.parametrize('gate', ['channel', 'scalar', 'none'])
def test_output_shape(block_type, in_channels, out_channels, gate):
    block = block_type(in_channels, out_channels, gate=gate)
    out = block(torch.randn(2, in_channels, 9, 7))
    assert out.shape == (2, out_channels, 9, 7)


def test_hierarchical_branch_widths_and_concat():
    block = HierarchicalBlock(24, 32).eval()
    assert [
        m.conv.out_channels for m in (block.conv1, block.conv2, block.conv3)
    ] == [16, 8, 8]
    assert [
        m.conv.kernel_size for m in (block.conv1, block.conv2, block.conv3)
    ] == [(3, 3)] * 3
    # pre-activation order: norm -> act -> conv, the norm sized for the conv's
    # input
    assert block.conv1.order == ('norm', 'act', 'conv')
    assert block.conv1.norm.num_features == 24
    x = torch.randn(1, 24, 6, 6)
    with torch.no_grad():
        o1 = block.conv1(x)
        o2 = block.conv2(o1)
        o3 = block.conv3(o2)
        expected = torch.cat([o1, o2, o3], 1) + block.skip(x)
        # The block's own layers: rounding differences at most (a forward
        # may fuse), far below 1e-5 of the peak.
        torch.testing.assert_close(
            block(x),
            expected,
            rtol=0,
            atol=1e-5 * expected.abs().max().item())


@pytest.mark.parametrize('block_type', [HierarchicalBlock, PreActBottleneck])
def test_gate_none_equals_plain_residual_sum(block_type):
    block = block_type(16, 16, gate='none').eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        if block_type is HierarchicalBlock:
            o1 = block.conv1(x)
            o2 = block.conv2(o1)
            body = torch.cat([o1, o2, block.conv3(o2)], 1)
        else:
            body = block.conv3(block.conv2(block.conv1(x)))
        expected = body + x
        # The block's own layers: rounding at most, far below 1e-5 of the
        # peak.
        torch.testing.assert_close(
            block(x),
            expected,
            rtol=0,
            atol=1e-5 * expected.abs().max().item())


def test_gate_init_zero_removes_the_identity_path():
    block = HierarchicalBlock(16, 16, gate='channel', gate_init=0.).eval()
    plain = HierarchicalBlock(16, 16, gate='none').eval()
    plain.load_state_dict(block.state_dict(), strict=False)
    x = torch.randn(1, 16, 5, 5)
    with torch.no_grad():
        plain_out = plain(x)
        # (body + x) - x rounds once, by at most an ulp of |body + x|.
        torch.testing.assert_close(
            block(x),
            plain_out - x,
            rtol=0,
            atol=1e-6 * plain_out.abs().max().item())


def test_bottleneck_widths():
    block = PreActBottleneck(64, 128)
    assert [(m.conv.in_channels, m.conv.out_channels, m.conv.kernel_size[0])
            for m in (block.conv1, block.conv2, block.conv3)] == [(64, 64, 1),
                                                                  (64, 64, 3),
                                                                  (64, 128, 1)]
    assert block.skip.projection is not None


@pytest.mark.parametrize('block_type', [HierarchicalBlock, PreActBottleneck])
def test_norm_and_act_cfg_reach_every_layer(block_type):
    block = block_type(
        16,
        32,
        norm_cfg=dict(type='GN', num_groups=4),
        act_cfg=dict(type='SiLU'))
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in block.modules())
    assert sum(isinstance(m, nn.GroupNorm) for m in block.modules()) == 3
    assert sum(isinstance(m, nn.SiLU) for m in block.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in block.modules())


def test_conv_bias_option():
    assert all(
        m.bias is None for m in HierarchicalBlock(8, 8).modules()
        if isinstance(m, nn.Conv2d))
    assert all(
        m.bias is not None
        for m in HierarchicalBlock(8, 16, conv_bias=True).modules()
        if isinstance(m, nn.Conv2d))


def test_bad_channels_are_refused():
    with pytest.raises(ValueError, match='divisible by 4'):
        HierarchicalBlock(8, 18)
    with pytest.raises(ValueError, match='even'):
        PreActBottleneck(8, 9)
