import pytest
import torch

from softgate_mmpose.models.layers import SoftGatedSkip


@pytest.mark.parametrize('gate,alpha_shape', [('channel', (1, 8, 1, 1)),
                                              ('scalar', (1, ))])
def test_gate_shape_and_init(gate, alpha_shape):
    skip = SoftGatedSkip(8, 8, gate=gate, gate_init=0.25)
    assert skip.alpha.shape == alpha_shape
    assert torch.all(skip.alpha == 0.25)
    x = torch.randn(2, 8, 5, 5)
    # A product by a power of two is exact on every CPU.
    torch.testing.assert_close(skip(x), 0.25 * x, rtol=0, atol=0)


def test_channel_gate_scales_each_channel():
    skip = SoftGatedSkip(3, 3, gate='channel')
    with torch.no_grad():
        skip.alpha.copy_(torch.tensor([1., -2., 0.]).view(1, 3, 1, 1))
    x = torch.randn(2, 3, 4, 4)
    out = skip(x)
    # Products by 1 and -2 are exact on every CPU.
    torch.testing.assert_close(out[:, 0], x[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(out[:, 1], -2 * x[:, 1], rtol=0, atol=0)
    assert torch.all(out[:, 2] == 0)


def test_none_is_identity_without_parameters():
    skip = SoftGatedSkip(6, 6, gate='none')
    assert skip.alpha is None and len(list(skip.parameters())) == 0
    x = torch.randn(1, 6, 3, 3)
    assert skip(x) is x


def test_projection_when_channels_change_then_gate():
    skip = SoftGatedSkip(4, 8, gate='channel', gate_init=0.5, bias=True)
    assert skip.projection is not None
    x = torch.randn(2, 4, 6, 6)
    expected = 0.5 * skip.projection.conv(x)
    # The same conv, gated by an exact product: rounding only, if any.
    torch.testing.assert_close(
        skip(x), expected, rtol=0, atol=1e-6 * expected.abs().max().item())
    assert skip(x).shape == (2, 8, 6, 6)


def test_unknown_gate_is_refused():
    with pytest.raises(ValueError, match="gate must be one of"):
        SoftGatedSkip(4, 4, gate='sigmoid')
