"""Every layer exports to ONNX (TorchScript exporter, under ``no_grad``) and
ONNX Runtime gives PyTorch's eval-mode values, with random BN statistics and
gates."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from softgate_mmpose.models.layers import (HierarchicalBlock, PreActBottleneck,
                                           SoftGatedHourglassModule,
                                           SoftGatedSkip)

ort = pytest.importorskip('onnxruntime')


def export_and_run(module: nn.Module, x: torch.Tensor, path: str):
    module.eval()
    with torch.no_grad():
        expected = module(x).numpy()
        torch.onnx.export(
            module, (x, ),
            path,
            input_names=['x'],
            output_names=['y'],
            opset_version=17,
            dynamo=False)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    (actual, ) = session.run(None, {'x': x.numpy()})
    return actual, expected


def rel_diff(actual, expected) -> float:
    """Greatest difference relative to the peak: ONNX Runtime's MLAS and
    PyTorch's oneDNN kernels (which differ per CPU kind) sum in other orders,
    so the difference scales with the output's magnitude."""
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize('in_channels,gate', [(8, 'channel'), (4, 'scalar'),
                                              (8, 'none')])
def test_skip_exports(in_channels, gate, tmp_path, randomize_norms_and_gates):
    skip = randomize_norms_and_gates(SoftGatedSkip(in_channels, 8, gate=gate))
    x = torch.randn(2, in_channels, 6, 5)
    if gate == 'none' and in_channels == 8:
        pytest.skip('an identity has no graph to export')
    actual, expected = export_and_run(skip, x, str(tmp_path / 'skip.onnx'))
    # At most an 8-term 1x1 conv and a product: a few ulps of the peak.
    assert rel_diff(actual, expected) <= 1e-6


@pytest.mark.parametrize('block_type', [HierarchicalBlock, PreActBottleneck])
@pytest.mark.parametrize('in_channels', [16, 8])
def test_blocks_export(block_type, in_channels, tmp_path,
                       randomize_norms_and_gates):
    block = randomize_norms_and_gates(
        block_type(in_channels, 16, gate='channel'))
    x = torch.randn(2, in_channels, 10, 8)
    actual, expected = export_and_run(block, x, str(tmp_path / 'block.onnx'))
    # Three 3x3 convs of up to 144 terms each, BN in between: rounding only.
    assert rel_diff(actual, expected) <= 1e-5


@pytest.mark.parametrize('merge', ['concat-1x1', 'concat-3x3', 'add'])
@pytest.mark.parametrize('merge_norm', [True, False])
def test_hourglass_exports_for_every_merge(merge, merge_norm, tmp_path,
                                           randomize_norms_and_gates):
    hg = randomize_norms_and_gates(
        SoftGatedHourglassModule(
            3,
            16,
            dict(type='HierarchicalBlock', gate='channel'),
            merge=merge,
            merge_norm=merge_norm,
            post_merge_block=merge == 'concat-3x3'))
    x = torch.randn(1, 16, 16, 24)
    actual, expected = export_and_run(hg, x, str(tmp_path / 'hg.onnx'))
    assert actual.shape == expected.shape == (1, 16, 16, 24)
    # Three levels of blocks: the rounding of each block, compounded.
    assert rel_diff(actual, expected) <= 1e-5
