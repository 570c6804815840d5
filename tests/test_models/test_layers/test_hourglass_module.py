import pytest
import torch
import torch.nn as nn

from softgate_mmpose.models.layers import SoftGatedHourglassModule

BLOCK = dict(type='HierarchicalBlock', gate='channel')


def count(module, cls):
    return sum(isinstance(m, cls) for m in module.modules())


@pytest.mark.parametrize('merge', ['concat-1x1', 'concat-3x3', 'add'])
@pytest.mark.parametrize('pre_upsample_block', [False, True])
@pytest.mark.parametrize('post_merge_block', [False, True])
def test_shape_for_every_option(merge, pre_upsample_block, post_merge_block):
    hg = SoftGatedHourglassModule(
        3,
        16,
        BLOCK,
        merge=merge,
        pre_upsample_block=pre_upsample_block,
        post_merge_block=post_merge_block)
    assert hg(torch.randn(2, 16, 32, 24)).shape == (2, 16, 32, 24)


@pytest.mark.parametrize('depth', [1, 2, 4])
@pytest.mark.parametrize('pre_upsample_block,post_merge_block,per_level',
                         [(False, False, 2), (True, False, 3),
                          (False, True, 3), (True, True, 4)])
def test_block_count(depth, pre_upsample_block, post_merge_block, per_level):
    hg = SoftGatedHourglassModule(
        depth,
        8,
        BLOCK,
        pre_upsample_block=pre_upsample_block,
        post_merge_block=post_merge_block)
    # per level: upper + lower (+ options); one more block at the bottom
    from softgate_mmpose.models.layers import HierarchicalBlock
    assert count(hg, HierarchicalBlock) == depth * per_level + 1


@pytest.mark.parametrize('merge,kernel', [('concat-1x1', 1),
                                          ('concat-3x3', 3)])
def test_concat_merge_conv(merge, kernel):
    hg = SoftGatedHourglassModule(2, 8, BLOCK, merge=merge)
    conv = hg.merge_conv.conv
    assert (conv.in_channels, conv.out_channels,
            conv.kernel_size) == (16, 8, (kernel, kernel))
    assert hg.merge_conv.with_norm and hg.merge_conv.with_activation
    plain = SoftGatedHourglassModule(
        2, 8, BLOCK, merge=merge, merge_norm=False)
    assert not plain.merge_conv.with_norm and plain.merge_conv.with_activation
    assert plain.merge_conv.conv.bias is not None


def test_add_merge_is_sum_of_branches():
    hg = SoftGatedHourglassModule(1, 8, BLOCK, merge='add').eval()
    assert hg.merge_conv is None
    x = torch.randn(1, 8, 8, 8)
    with torch.no_grad():
        up = hg.up_block(x)
        low = hg.inner(hg.low_block(nn.functional.max_pool2d(x, 2)))
        low = low.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        expected = up + low
        # The module's own layers: rounding at most, far below 1e-5 of the
        # peak (nearest upsampling copies values).
        torch.testing.assert_close(
            hg(x), expected, rtol=0, atol=1e-5 * expected.abs().max().item())


def test_norm_cfg_reaches_every_level():
    hg = SoftGatedHourglassModule(
        4, 16, BLOCK, norm_cfg=dict(type='GN', num_groups=4))
    assert count(hg, nn.modules.batchnorm._BatchNorm) == 0
    # 3 per block, 9 blocks, plus the 4 merge convs
    assert count(hg, nn.GroupNorm) == 9 * 3 + 4


def test_bad_arguments():
    with pytest.raises(ValueError, match='merge must be one of'):
        SoftGatedHourglassModule(2, 8, BLOCK, merge='mul')
    with pytest.raises(ValueError, match='depth'):
        SoftGatedHourglassModule(0, 8, BLOCK)
