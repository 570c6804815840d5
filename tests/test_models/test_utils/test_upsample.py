# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
import pytest
import torch
import torch.nn.functional as F

from softgate_mmpose.models.utils import add_upsampled_


@pytest.mark.parametrize('memory_format',
                         [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize('low_size, size', [((4, 3), (8, 6)), ((1, 1), (2, 2)),
                                            ((3, 3), (7, 5))])
def test_add_upsampled_is_the_nearest_upsampling_added_in_place(
        memory_format, low_size, size):
    out = torch.randn(2, 5, *size).contiguous(memory_format=memory_format)
    low = torch.randn(2, 5, *low_size).contiguous(memory_format=memory_format)
    expected = out + F.interpolate(low, size=size, mode='nearest')
    result = add_upsampled_(out, low)
    assert result is out
    assert torch.equal(out, expected)
    assert out.is_contiguous(memory_format=memory_format)
