# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/analysis_tools/gpu_benchmark.py over
softgate_mmpose.benchmarking.gpu: its dry run on the CPU with the tiny
model (real train_step, real exported network), the synthetic training
batch against MMPose's codec, the batch-norm calibration and bad options.
Timings are never compared with a limit (no timed tests)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn

from softgate_mmpose.benchmarking.configs import BenchmarkError, load_config
from softgate_mmpose.benchmarking.gpu import (GpuOptions, calibrate_batch_norm,
                                              check_options, scaled_codec,
                                              synthetic_batch,
                                              train_batch_sizes)
from ..constants import DEFAULT_CONFIG, TINY_BACKBONE, TINY_HEAD

TINY_NAME = 'tiny_softgate_gpu'
#: fp32 channels-last against fp32 contiguous: the same float32 math with
#: other kernels (summation order), relative to the output peak.
FP32_TOL = 1e-4


def write_tiny_config(folder: str) -> str:
    """The tiny test model on 64x64 inputs, inheriting the default config
    (its Adam optimizer and its own training batch of 24)."""
    path = osp.join(folder, f'{TINY_NAME}.py')
    with open(path, 'w') as f:
        f.write(f"""_base_ = [{DEFAULT_CONFIG!r}]
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
             sigma=2)
model = dict(
    backbone=dict({TINY_BACKBONE!r}),
    head=dict({TINY_HEAD!r}, decoder=codec))
""")
    return path


@pytest.mark.slow
def test_quick_run_writes_figures(tmp_path, run_tool, python_tool):
    config = write_tiny_config(str(tmp_path))
    out = tmp_path / 'out'
    proc = run_tool(
        python_tool('analysis_tools/gpu_benchmark.py', config, '--device',
                    'cpu', '--quick', '--out', str(out)))
    report = json.loads((out / 'gpu_benchmark.json').read_text())
    assert report['models'] == [TINY_NAME]
    assert report['environment']['gpu'] is None
    assert report['options']['input_size'] == 128  # --quick
    train = report['train']
    assert [(f['model'], f['batch']) for f in train] == [(TINY_NAME, 2)]
    assert train[0]['amp'] == 'off' and train[0]['own_batch'] is False
    assert train[0]['images_per_s'] > 0
    assert np.isfinite(train[0]['final_loss'])
    infer = {(f['dtype'], f['memory_format']): f for f in report['infer']}
    assert set(infer) == {(d, m)
                          for d in ('fp32', 'fp16')
                          for m in ('channels_last', 'contiguous')}
    assert all(f['ms'] > 0 and f['batch'] == 1 for f in infer.values())
    assert infer['fp32', 'contiguous']['difference'] == 0
    assert infer['fp32', 'channels_last']['difference'] < FP32_TOL
    # fp16 of a network whose heatmaps did not vanish: a real difference,
    # neither zero (fp16 not applied) nor the whole peak (flushed to 0).
    for fmt in ('channels_last', 'contiguous'):
        assert 0 < infer['fp16', fmt]['difference'] < 1
    table = (out / 'gpu_benchmark.md').read_text()
    assert table in proc.stdout
    assert f'| {TINY_NAME} | 2 |' in table and f'| {TINY_NAME} | 1 |' in table


def test_train_batch_sizes_include_own():
    cfg = load_config(DEFAULT_CONFIG)
    assert train_batch_sizes(cfg, GpuOptions(train_batch_sizes=(64, ))) == \
        [24, 64]
    assert train_batch_sizes(
        cfg, GpuOptions(train_batch_sizes=(8, ), own_batch=False)) == [8]


def test_synthetic_batch_matches_codec(tmp_path):
    cfg = load_config(write_tiny_config(str(tmp_path)))
    codec = scaled_codec(cfg, 128)
    assert codec['input_size'] == (128, 128)
    assert codec['heatmap_size'] == (32, 32)
    data = synthetic_batch(cfg, 16, 3, 128, torch.device('cpu'),
                           np.random.default_rng(0))
    assert len(data['inputs']) == len(data['data_samples']) == 3
    for inputs, sample in zip(data['inputs'], data['data_samples']):
        assert inputs.shape == (3, 128, 128) and inputs.dtype == torch.uint8
        heatmaps = sample.gt_fields.heatmaps
        weights = sample.gt_instance_labels.keypoint_weights
        assert heatmaps.shape == (16, 32, 32) and weights.shape == (1, 16)
        # Visible joints inside the image get a Gaussian peaking at 1.
        visible = weights[0] > 0
        assert visible.any()
        peaks = heatmaps.flatten(1).max(dim=1).values
        assert torch.all(peaks[visible] > 0.5)


def test_calibrate_batch_norm_uses_batch_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    batches = [torch.randn(2, 3, 8, 8) * 5 + 2 for _ in range(3)]
    calibrate_batch_norm(net, batches)
    assert not net.training
    assert net[1].momentum == 0.1  # restored
    with torch.no_grad():
        feats = [net[0](b) for b in batches]
    # Cumulative average of the per-batch means and unbiased variances.
    means = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats]).mean(0)
    variances = torch.stack(
        [f.transpose(0, 1).flatten(1).var(dim=1) for f in feats]).mean(0)
    # float32 sums of 72 values per channel and batch
    torch.testing.assert_close(net[1].running_mean, means)
    torch.testing.assert_close(net[1].running_var, variances)


@pytest.mark.parametrize('changes,message', [
    (dict(dtypes=('fp8', )), '--dtype fp8'),
    (dict(memory_formats=('nhwc', )), '--memory-format nhwc'),
    (dict(amp_dtype='float8'), '--amp-dtype float8'),
    (dict(input_size=96), '--input-size 96'),
    (dict(infer_batch_sizes=(0, )), 'must be positive'),
    (dict(device='tpu'), '--device tpu'),
])
def test_bad_options(changes, message):
    options = GpuOptions(device='cpu')
    for key, value in changes.items():
        setattr(options, key, value)
    with pytest.raises(BenchmarkError, match=message):
        check_options(options)


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present')
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(BenchmarkError, match='no CUDA device'):
        check_options(GpuOptions(device='cuda'))
