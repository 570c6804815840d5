# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Row-local layers evaluated in horizontal strips give the whole-map values."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from softgate_mmpose.models.layers import HierarchicalBlock, PreActBottleneck
from softgate_mmpose.models.utils import conv_chain_halo, forward_in_strips
from .test_fuse import randomize_norms

CL = torch.channels_last


def _block(block_type=HierarchicalBlock, in_channels=8, out_channels=16):
    block = block_type(in_channels, out_channels, gate='channel', gate_init=0.6)
    return randomize_norms(block).eval()


@pytest.mark.parametrize('height, rows', [(21, 4), (24, 8), (9, 2), (16, 16), (10, 64)])
@pytest.mark.parametrize('memory_format', [CL, torch.contiguous_format])
@pytest.mark.parametrize('block_type', [HierarchicalBlock, PreActBottleneck])
def test_strips_equal_the_whole_map(height, rows, memory_format, block_type):
    block = _block(block_type)
    x = torch.randn(2, 8, height, 7).contiguous(memory_format=memory_format)
    with torch.no_grad():
        whole = block(x)
        strips = forward_in_strips(block, x, block.halo, rows)
    torch.testing.assert_close(strips, whole, rtol=1e-5, atol=1e-5)
    assert strips.is_contiguous(memory_format=memory_format)  # layout kept


@pytest.mark.parametrize('height', [32, 33])
def test_strips_with_pooling_after_the_block(height):
    block, pool = _block(), nn.MaxPool2d(2, 2)
    x = torch.randn(1, 8, height, 12).contiguous(memory_format=CL)
    with torch.no_grad():
        whole = pool(block(x))
        strips = forward_in_strips(block, x, block.halo, 6, pool)
    assert strips.shape == whole.shape
    torch.testing.assert_close(strips, whole, rtol=1e-5, atol=1e-5)


def test_too_small_a_halo_shows():
    # The crop is exact only with the block's full context: one row less
    # changes the rows next to every cut.
    block = _block()
    x = torch.randn(1, 8, 24, 8)
    with torch.no_grad():
        whole = block(x)
        short = forward_in_strips(block, x, block.halo - 1, 8)
    assert not torch.allclose(short, whole, rtol=1e-4, atol=1e-4)
    rows_differ = (short - whole).abs().amax(dim=(0, 1, 3)) > 1e-4
    assert set(rows_differ.nonzero().flatten().tolist()) <= {7, 8, 15, 16}


def test_block_halos():
    assert _block(HierarchicalBlock).halo == 3
    assert _block(PreActBottleneck).halo == 1
    # a norm that mixes rows, or one still using batch statistics
    gn = HierarchicalBlock(8, 16, norm_cfg=dict(type='GN', num_groups=4)).eval()
    assert gn.halo is None
    assert _block().train().halo is None


def test_conv_chain_halo_of_layer_types():
    def cm(kernel, **kwargs):
        return ConvModule(4, 4, kernel, norm_cfg=None, **kwargs)

    assert conv_chain_halo([cm(1), cm(3, padding=1), cm(5, padding=2)]) == 3
    assert conv_chain_halo([cm(3, padding=2, dilation=2)]) == 2
    assert conv_chain_halo([cm(3, padding=1, stride=2)]) is None
    assert conv_chain_halo([cm(3, padding=0)]) is None  # not "same"
    assert conv_chain_halo([cm(3, padding=1, padding_mode='reflect')]) is None
    assert conv_chain_halo([cm(2, padding=1)]) is None  # even kernel


def test_a_skip_projection_that_is_not_row_local_disables_strips():
    block = _block(HierarchicalBlock, in_channels=8, out_channels=16)
    assert block.skip.halo == 0
    block.skip.projection.conv.stride = (2, 2)  # no longer pixel-wise
    assert block.skip.halo is None and block.halo is None
