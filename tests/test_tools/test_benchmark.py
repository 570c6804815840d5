# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/benchmark.py on a tiny plugin config and a small
``mmpose::`` config: its files, its counts against independent ones, its
input checks. Timings are only checked to be positive (no timed tests)."""
import csv
import json
import os
import os.path as osp
import re

import pytest
import torch

from softgate_mmpose.utils.benchmark import (CSV_COLUMNS, BenchmarkError,
                                             parse_accuracy_args,
                                             read_accuracy,
                                             resolve_config_path,
                                             run_benchmark, summarize)
from ..conftest import DEFAULT_CONFIG
from .conftest import python_tool, run_tool

MMPOSE_CONFIG = ('mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
                 'td-hm_mobilenetv2_8xb64-210e_mpii-256x256.py')
TINY_NAME = 'tiny_softgate'
NUMERIC = ('params', 'macs', 'latency_ms', 'latency_ms_p25', 'latency_ms_p75',
           'latency_ms_min', 'latency_ms_max', 'throughput', 'gmac_per_s',
           'peak_mem_mb', 'weights_mb')


def write_tiny_config(folder: str) -> str:
    """One 16-channel soft-gated stack on 64x64 inputs, inheriting the
    default config."""
    path = osp.join(folder, f'{TINY_NAME}.py')
    with open(path, 'w') as f:
        f.write(f"""_base_ = [{DEFAULT_CONFIG!r}]
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
             sigma=2)
model = dict(
    backbone=dict(num_stacks=1, stack_channels=16, depth=2,
                  stem_channels=(8, 16, 16)),
    head=dict(num_stages=1, decoder=codec))
""")
    return path


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    """One run of the tool: batch 2, 2 repeats, 1 thread, an accuracy file
    for the tiny config, the targets checked on the tiny config."""
    tmp = str(tmp_path_factory.mktemp('benchmark'))
    config = write_tiny_config(tmp)
    acc_file = osp.join(tmp, 'metrics.json')
    with open(acc_file, 'w') as f:
        json.dump({'PCKh': 41.5, 'PCKh@0.1': 9.25}, f)
    out = osp.join(tmp, 'out')
    proc = run_tool(
        python_tool('analysis_tools/benchmark.py', config, MMPOSE_CONFIG,
                    '--batch', '2', '--repeats', '2', '--batch-repeats', '1',
                    '--warmup', '1', '--threads', '1', '--out', out,
                    '--target', TINY_NAME, '--accuracy',
                    f'{TINY_NAME}={acc_file}'),
        timeout=600)
    with open(osp.join(out, 'benchmark.json')) as f:
        result = json.load(f)
    return dict(config=config, out=out, stdout=proc.stdout, result=result)


def test_writes_table_csv_json_and_png(bench):
    out = bench['out']
    assert sorted(os.listdir(out)) == [
        'benchmark.csv', 'benchmark.json', 'benchmark.md', 'benchmark.png'
    ]
    with open(osp.join(out, 'benchmark.csv')) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [r['name'] for r in rows] == [
        TINY_NAME, 'td-hm_mobilenetv2_8xb64-210e_mpii-256x256'
    ]
    for row in rows:
        for key in NUMERIC:
            assert float(row[key]) > 0, (row['name'], key, row[key])
        assert float(row['latency_ms_min']) <= float(
            row['latency_ms']) <= float(row['latency_ms_max'])

    models = bench['result']['models']
    assert [m['name'] for m in models] == [r['name'] for r in rows]
    assert models[0]['input_shape'] == [3, 64, 64]  # from the tiny codec
    assert models[1]['input_shape'] == [3, 256, 256]
    for m in models:
        assert all(m[k] > 0 for k in NUMERIC)
        # peak memory = weights (fp32 params and buffers) + forward peak rise
        assert m['peak_mem_mb'] >= m['weights_mb'] >= m['params'] * 4 / 2**20
    assert bench['result']['environment']['threads'] == 1

    with open(osp.join(out, 'benchmark.md')) as f:
        table = f.read()
    for text in ('| Model | Params (M) | GMACs | Latency b1 (ms)',
                 'Throughput b2 (img/s)', 'GMAC/s b1', 'Peak mem b2 (MB)',
                 f'| {TINY_NAME} |', '41.50 (PCKh)',
                 '| td-hm_mobilenetv2_8xb64-210e_mpii-256x256 |', 'Command: ',
                 'Reference Conv2d(144, 144, 3, padding=1)'):
        assert text in table, text

    with open(osp.join(out, 'benchmark.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image
    image = matplotlib.image.imread(osp.join(out, 'benchmark.png'))
    assert image.shape[0] > 300 and image.shape[1] > 600


def test_params_and_macs_match_mmengine_analysis(bench):
    """Counts equal ``sum(p.numel())`` and mmengine's analysis of the same
    models, built and analysed here as MMPose's get_flops.py does."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmpose.apis import init_model

    models = bench['result']['models']
    for config, row in zip((bench['config'], MMPOSE_CONFIG), models):
        model = init_model(
            Config.fromfile(resolve_config_path(config)), device='cpu')
        assert row['params'] == sum(p.numel() for p in model.parameters())
        model.forward = model._forward
        info = get_model_complexity_info(
            model,
            tuple(row['input_shape']),
            show_table=False,
            show_arch=False)
        assert row['macs'] == info['flops'] > 0
        assert row['gmacs'] == pytest.approx(info['flops'] / 1e9)


def test_reference_conv_targets_accuracy_and_progress(bench):
    result = bench['result']
    ref = result['reference_conv']
    assert ref['macs'] == 144 * 144 * 9 * 64 * 64  # one MAC per weight/pixel
    assert [r['when'] for r in ref['rounds']] == ['before', 'after']
    for layout in ('nchw', 'channels_last'):  # the faster round
        assert ref[layout]['gmac_per_s'] == max(
            r[layout]['gmac_per_s'] for r in ref['rounds']) > 0
    assert ref['gmac_per_s'] == max(ref['nchw']['gmac_per_s'],
                                    ref['channels_last']['gmac_per_s'])

    tiny, other = result['models']
    assert (tiny['accuracy'], tiny['accuracy_key']) == (41.5, 'PCKh')
    assert other['accuracy'] is None
    assert tiny['gmac_per_s'] == pytest.approx(
        tiny['macs'] / tiny['latency_ms'] / 1e6)

    targets = result['targets']
    assert targets['model'] == TINY_NAME
    latency_checks = targets['checks'][:2]
    # Neither Hourglass-52 nor HRNet-W32 ran: no verdict rather than a guess.
    assert [c['met'] for c in latency_checks] == [None, None]
    for rate, layout in zip(targets['checks'][2:],
                            ('nchw', 'channels_last')):
        assert layout in rate['what']
        assert rate['ratio'] == pytest.approx(tiny['gmac_per_s'] /
                                              ref[layout]['gmac_per_s'])
        assert rate['met'] == (rate['ratio'] >= 0.6)

    stdout = bench['stdout']
    assert 'torch.set_num_threads(1)' in stdout
    assert re.search(r'\[ref, before\] Conv2d\(144, 144, 3.*GMAC/s', stdout)
    assert re.search(r'\[ref, after\] Conv2d\(144, 144, 3.*GMAC/s', stdout)
    assert re.search(rf'\[1/2\] {TINY_NAME}: .* GMAC/s', stdout)
    assert re.search(r'\[2/2\] td-hm_mobilenetv2\S*: .* GMAC/s', stdout)
    assert re.search(r'MAC rate vs single 3x3 conv \(nchw\).*-> (met|MISSED)',
                     stdout)
    assert re.search(r'MAC rate, % of the single conv', stdout)
    assert 'load average' in stdout


def test_bad_accuracy_file_fails_before_writing(tmp_path):
    config = write_tiny_config(str(tmp_path))
    bad = tmp_path / 'metrics.json'
    bad.write_text(json.dumps({'loss': 1.0}))
    out = tmp_path / 'out'
    proc = run_tool(
        python_tool('analysis_tools/benchmark.py', config, '--out', str(out),
                    '--accuracy', f'{TINY_NAME}={bad}'),
        check=False)
    assert proc.returncode == 2
    assert f'{bad}: no metric PCKh' in proc.stdout and 'keys: loss' in \
        proc.stdout
    assert not out.exists()


def test_read_accuracy_formats(tmp_path):
    lines = tmp_path / 'log.json'  # mmengine's json log: one dict a line
    lines.write_text('{"loss": 0.1, "step": 1}\n'
                     '{"mpii/PCKh": 80.5, "step": 2}\n'
                     '{"mpii/PCKh": 88.25, "step": 3}\n')
    assert read_accuracy(str(lines)) == ('mpii/PCKh', 88.25)
    assert read_accuracy(str(lines), 'loss') == ('loss', 0.1)
    with pytest.raises(BenchmarkError, match='not found'):
        read_accuracy(str(tmp_path / 'missing.json'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"PCKh": ')
    with pytest.raises(BenchmarkError, match=re.escape(str(broken))):
        read_accuracy(str(broken))


def test_input_checks():
    configs = [DEFAULT_CONFIG]
    assert parse_accuracy_args(
        ['td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256=a.json'],
        configs) == {DEFAULT_CONFIG: 'a.json'}
    with pytest.raises(BenchmarkError, match='none of the benchmarked'):
        parse_accuracy_args(['other=a.json'], configs)
    with pytest.raises(BenchmarkError, match='expected CONFIG=PATH'):
        parse_accuracy_args(['a.json'], configs)
    with pytest.raises(BenchmarkError, match='config file not found'):
        resolve_config_path('mmpose::body_2d_keypoint/nothing_here.py')
    with pytest.raises(BenchmarkError, match='not installed'):
        resolve_config_path('no_such_package_xyz::a/b.py')
    with pytest.raises(BenchmarkError, match='--batch'):
        run_benchmark(configs, batch=0)
    if not torch.cuda.is_available():
        with pytest.raises(BenchmarkError, match='CUDA is not available'):
            run_benchmark(configs, device='cuda')


def test_summarize():
    s = summarize([5., 1., 4., 2., 3.])
    assert (s['median'], s['p25'], s['p75'], s['min'], s['max']) == \
        (3., 2., 4., 1., 5.)
    assert summarize([7.])['p25'] == summarize([7.])['p75'] == 7.
