# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/analysis_tools/benchmark.py over softgate_mmpose.benchmarking: one
real run on a tiny plugin config (at 1 and 2 stacks) and a small MMPose
config under PyTorch, ONNX Runtime and OpenVINO at batch 1 and 2, its
outputs read back and checked against independent counts; the reference
conv, the accuracy look-ups and the bad inputs. Timings are never compared
with a limit (no timed tests)."""
import csv
import json
import os
import os.path as osp
import re

import pytest
import torch

from softgate_mmpose.benchmarking import BenchmarkError, accuracy, measure
from softgate_mmpose.benchmarking.configs import resolve_config_path
from softgate_mmpose.benchmarking.formatters.csv_table import CSV_COLUMNS
from softgate_mmpose.utils import machine
from ..constants import DEFAULT_CONFIG, TINY_BACKBONE, TINY_HEAD

MMPOSE_CONFIG = ('mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
                 'td-hm_mobilenetv2_8xb64-210e_mpii-256x256.py')
MMPOSE_NAME = 'td-hm_mobilenetv2_8xb64-210e_mpii-256x256'
HOURGLASS52 = ('mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
               'td-hm_hourglass52_8xb64-210e_mpii-256x256.py')
TINY_NAME = 'tiny_softgate'
TINY_1, TINY_2 = f'{TINY_NAME} [1 stack]', f'{TINY_NAME} [2 stacks]'
RTM_NAME = 'tiny_rtmpose'
MODELS = (TINY_1, TINY_2, RTM_NAME, MMPOSE_NAME)
BACKENDS = ('pytorch', 'onnxruntime', 'openvino')
RUNTIMES = BACKENDS[1:]
POSITIVE = ('params', 'macs', 'latency_ms', 'latency_ms_p25', 'latency_ms_p75',
            'latency_ms_min', 'latency_ms_max', 'batch_ms_per_image',
            'throughput', 'gmac_per_s', 'peak_mem_mb', 'weights_mb')
#: Largest runtime - PyTorch difference over the output peak: float32
#: kernels of another library sum in another order.
PARITY_TOL = 1e-4


def write_tiny_config(folder: str) -> str:
    """The tiny test model with two stacks on 64x64 inputs, inheriting the
    default config."""
    path = osp.join(folder, f'{TINY_NAME}.py')
    with open(path, 'w') as f:
        f.write(f"""_base_ = [{DEFAULT_CONFIG!r}]
codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16),
             sigma=2)
model = dict(
    backbone=dict({TINY_BACKBONE!r}, num_stacks=2),
    head=dict({TINY_HEAD!r}, num_stages=2, decoder=codec))
""")
    return path


def write_tiny_rtmpose_config(folder: str) -> str:
    """MMPose's RTMPose-m (SimCC head) shrunk to a narrow CSPNeXt on 64x64
    inputs."""
    path = osp.join(folder, f'{RTM_NAME}.py')
    with open(path, 'w') as f:
        f.write("""_base_ = ['mmpose::body_2d_keypoint/rtmpose/mpii/'
             'rtmpose-m_8xb64-210e_mpii-256x256.py']
codec = dict(type='SimCCLabel', input_size=(64, 64), sigma=(4.9, 5.66),
             simcc_split_ratio=2.0, normalize=False, use_dark=False)
model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.125),
    head=dict(in_channels=128, input_size=(64, 64), in_featuremap_size=(2, 2),
              gau_cfg=dict(hidden_dims=32), decoder=codec))
""")
    return path


@pytest.fixture(scope='module')
def bench(tmp_path_factory, run_tool, python_tool):
    """One run of the tool: a tiny heatmap model at 1 and 2 stacks, a tiny
    SimCC model and a small MMPose model under the three backends, 64x64
    inputs, batch 1 and 2, two rounds, one thread, an accuracy file for the
    tiny heatmap model."""
    tmp = str(tmp_path_factory.mktemp('benchmark'))
    config = write_tiny_config(tmp)
    rtm_config = write_tiny_rtmpose_config(tmp)
    acc_file = osp.join(tmp, 'metrics.json')
    with open(acc_file, 'w') as f:
        json.dump({'PCKh': 41.5, 'PCKh@0.1': 9.25}, f)
    out = osp.join(tmp, 'out')
    onnx_dir = osp.join(tmp, 'onnx')
    proc = run_tool(
        python_tool('analysis_tools/benchmark.py', config, rtm_config,
                    MMPOSE_CONFIG, '--onnx-dir', onnx_dir, '--backend',
                    *BACKENDS, '--input-size', '64', '64', '--batch-size', '2',
                    '--num-stacks', '1', '2', '--rounds', '2',
                    '--min-run-time', '0.05', '--warmup', '1', '--threads',
                    '1', '--out', out, '--subject', TINY_NAME, '--accuracy',
                    f'{TINY_NAME}={acc_file}'),
        timeout=600)
    with open(osp.join(out, 'benchmark.json')) as f:
        result = json.load(f)
    with open(osp.join(out, 'benchmark.csv')) as f:
        rows = list(csv.DictReader(f))
    with open(osp.join(out, 'benchmark.md')) as f:
        table = f.read()
    return dict(
        config=config,
        rtm_config=rtm_config,
        out=out,
        onnx_dir=onnx_dir,
        stdout=proc.stdout,
        result=result,
        rows=rows,
        table=table)


def _rows(bench, name):
    return {r['backend']: r for r in bench['rows'] if r['name'] == name}


@pytest.mark.slow
def test_every_model_under_every_backend(bench):
    out, rows = bench['out'], bench['rows']
    assert sorted(os.listdir(out)) == [
        'benchmark.csv', 'benchmark.json', 'benchmark.md', 'benchmark.png'
    ]
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [(r['name'], r['backend']) for r in rows
            ] == [(name, backend) for name in MODELS for backend in BACKENDS]
    for row in rows:
        for key in POSITIVE:
            assert float(row[key]) > 0, (row['name'], key, row[key])
        assert float(row['latency_ms_min']) <= float(
            row['latency_ms']) <= float(row['latency_ms_max'])
        assert int(row['latency_samples']) >= 2  # at least one per round
        assert int(row['batch']) == 2
        assert float(row['throughput']) == pytest.approx(
            1e3 / float(row['batch_ms_per_image']))
        assert float(row['peak_mem_mb']) >= float(row['weights_mb'])
    for name in MODELS:
        per_backend = _rows(bench, name)
        # One network, three backends: the same counts.
        assert len({(r['params'], r['macs'])
                    for r in per_backend.values()}) == 1
        # Each runtime computes what PyTorch does, at batch 1 and 2.
        assert per_backend['pytorch']['max_rel_diff'] == ''
        for runtime in RUNTIMES:
            diff = float(per_backend[runtime]['max_rel_diff'])
            assert 0 <= diff <= PARITY_TOL, (name, runtime, diff)
    models = bench['result']['models']
    assert [m['input_shape'] for m in models] == [[3, 64, 64]] * 12
    assert [m['num_stacks'] for m in models[::3]] == [1, 2, None, None]
    # The graphs timed: heatmaps, or the SimCC head's two vectors, with a
    # dynamic batch (batch 2 runs the same file).
    import onnx
    files = sorted(os.listdir(bench['onnx_dir']))
    assert len(files) == 4
    for name in files:
        graph = onnx.load(osp.join(bench['onnx_dir'], name)).graph
        outputs = [o.name for o in graph.output]
        assert outputs == (['simcc_x', 'simcc_y']
                           if RTM_NAME in name else ['heatmaps'])
        assert graph.input[0].type.tensor_type.shape.dim[0].dim_param
    env = bench['result']['environment']
    assert env['threads'] == 1
    assert 'onnxruntime' in env and 'openvino' in env

    with open(osp.join(out, 'benchmark.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    import matplotlib.image
    image = matplotlib.image.imread(osp.join(out, 'benchmark.png'))
    assert image.shape[0] > 300 and image.shape[1] > 600


@pytest.mark.slow
def test_num_stacks_cuts_the_subject(bench):
    """The subject at 1 of its 2 stacks: fewer parameters and MACs; the
    other configs are built as configured."""
    one, two = _rows(bench, TINY_1)['pytorch'], _rows(bench, TINY_2)['pytorch']
    assert int(one['params']) < int(two['params'])
    assert 0 < int(one['macs']) < int(two['macs'])
    assert one['num_stacks'] == '1' and two['num_stacks'] == '2'
    assert _rows(bench, RTM_NAME)['pytorch']['num_stacks'] == ''


@pytest.mark.slow
def test_counts_match_mmengine_analysis_of_mmpose_model(bench):
    """Params and MACs equal ``sum(p.numel())`` and mmengine's analysis of
    the models as MMPose's get_flops.py builds and analyses them."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmpose.apis import init_model

    rows = {r['name']: r for r in bench['rows'] if r['backend'] == 'pytorch'}
    mim = osp.join(
        osp.dirname(__import__('mmpose').__file__), '.mim', 'configs')
    paths = {
        TINY_2: bench['config'],
        RTM_NAME: bench['rtm_config'],
        MMPOSE_NAME: osp.join(mim,
                              MMPOSE_CONFIG.split('::')[1])
    }
    for name, path in paths.items():
        model = init_model(Config.fromfile(path), device='cpu')
        assert int(rows[name]['params']) == sum(p.numel()
                                                for p in model.parameters())
        model.forward = model._forward
        info = get_model_complexity_info(
            model, (3, 64, 64), show_table=False, show_arch=False)
        assert int(rows[name]['macs']) == info['flops'] > 0


@pytest.mark.slow
def test_fastest_runtimes_and_ratios(bench):
    result, rows, table = bench['result'], bench['rows'], bench['table']
    per_image = {
        (r['name'], r['backend'], b):
        float(r['latency_ms'] if b == 1 else r['batch_ms_per_image'])
        for r in rows
        for b in (1, 2)
    }
    fastest = {(f['name'], f['batch']): f for f in result['fastest']}
    assert sorted(fastest) == sorted(
        (name, b) for name in MODELS for b in (1, 2))
    for (name, b), f in fastest.items():
        best = min(BACKENDS, key=lambda k: per_image[(name, k, b)])
        assert f['backend'] == best
        assert f['ms_per_image'] == pytest.approx(per_image[(name, best, b)])
    # Each subject variant over each other model, at each batch: between
    # their fastest backends, and per backend.
    ratios = {
        (r['subject'], r['other'], r['batch'], r['kind']): r
        for r in result['ratios']
    }
    assert sorted(ratios) == sorted((s, o, b, k) for s in (TINY_1, TINY_2)
                                    for o in (RTM_NAME, MMPOSE_NAME)
                                    for b in (1, 2)
                                    for k in ('fastest', *BACKENDS))
    for (subject, other, b, kind), r in ratios.items():
        if kind == 'fastest':
            mine, theirs = fastest[(subject, b)], fastest[(other, b)]
            assert (r['subject_backend'],
                    r['other_backend']) == (mine['backend'], theirs['backend'])
            expected = mine['ms_per_image'] / theirs['ms_per_image']
        else:
            expected = (
                per_image[(subject, kind, b)] / per_image[(other, kind, b)])
        assert r['ratio'] == pytest.approx(expected, rel=1e-6)
        assert f"{r['ratio']:.3f}x" in table
    assert 'Fastest backend of each model' in table
    assert 'each at its fastest' in table


@pytest.mark.slow
def test_accuracy_and_table(bench):
    rows, table = bench['rows'], bench['table']
    tiny = [r for r in rows if r['name'] in (TINY_1, TINY_2)]
    mobilenet = [r for r in rows if r['name'] == MMPOSE_NAME]
    # A config of its own inheriting MMPose's has no reported figure.
    assert {r['accuracy'] for r in rows if r['name'] == RTM_NAME} == {''}
    # Measured from the file given; reported from MMPose's metafile.
    assert {(r['accuracy'], r['accuracy_key'], r['accuracy_source'])
            for r in tiny} == {('41.5', 'PCKh', 'measured')}
    published = _metafile_mean(MMPOSE_CONFIG)
    for r in mobilenet:
        assert r['accuracy_source'] == 'reported'
        assert r['accuracy_key'] == 'MPII Mean'
        assert float(r['accuracy']) == pytest.approx(published * 100)
    for text in ('| Model | Params (M) | GMACs | PyTorch b1 (ms), median',
                 'ONNX Runtime b1 (ms), median [IQR]',
                 'OpenVINO b1 (ms), median [IQR]', 'PyTorch b2 (ms/img)',
                 'OpenVINO b2 (ms/img)', 'ONNX Runtime max diff / peak',
                 'OpenVINO max diff / peak', f'| {TINY_1} |', '41.50 (PCKh)',
                 f'{published * 100:.1f} (MPII Mean, reported)',
                 'Reference Conv2d(144, 144, 3, padding=1)', 'Command: '):
        assert text in table, text
    # No verdicts against targets: the tool reports figures.
    assert not re.search(r'\b(met|MISSED|target)\b', table)


@pytest.mark.slow
def test_progress_without_analysis_wall(bench):
    stdout = bench['stdout']
    assert re.search(r'reference Conv2d\(144, 144, 3.*GMAC/s', stdout)
    assert re.search(
        rf'\[1/4\] {re.escape(TINY_1)}: .* GMACs.*ONNX Runtime max .*'
        'OpenVINO max', stdout)
    assert re.search(rf'\[3/4\] {RTM_NAME}: .* GMACs.*OpenVINO max', stdout)
    assert re.search(rf'\[4/4\] {MMPOSE_NAME}: ', stdout)
    assert 'round 1/2:' in stdout and 'round 2/2:' in stdout
    assert re.search(
        rf'{re.escape(TINY_2)} \[OpenVINO\]: b1 .* GMAC/s.* b2 .* ms/img',
        stdout)
    assert re.search(
        r'fastest at batch 2: .* in (PyTorch|ONNX Runtime|'
        'OpenVINO)', stdout)
    assert re.search(
        rf'latency of {re.escape(TINY_1)} \[.*\] over '
        rf'{RTM_NAME} \[.*\] at batch 1: .*x \(fastest', stdout)
    # The table is printed, and mmengine's analysis warnings are not.
    assert '| Model | Params (M) |' in stdout
    assert 'never called' not in stdout
    assert 'Unsupported operator' not in stdout
    assert len(stdout) < 30000, stdout[:3000]


def _metafile_mean(config: str) -> float:
    """``Mean`` of ``config``'s entry in the MMPose metafile beside the
    config (the one metafile reader, but not through ``model-index.yml`` as
    the benchmark looks it up)."""
    from softgate_mmpose.apis.metafile import find_model, read_models
    mim = osp.join(osp.dirname(__import__('mmpose').__file__), '.mim')
    path = osp.join(mim, 'configs', config.split('::')[1])
    for name in sorted(os.listdir(osp.dirname(path))):
        if name.endswith('.yml'):
            model = find_model(
                read_models(osp.join(osp.dirname(path), name)), path)
            if model is not None:
                return model.results[0]['Metrics']['Mean']
    raise AssertionError(f'{config} not in its metafiles')


def test_reported_accuracy_of_mmpose_configs(tmp_path):
    reported = accuracy.reported_accuracy
    hg = reported(HOURGLASS52)
    # MMPose's model zoo: Hourglass-52 256x256, MPII PCKh@0.5 0.889.
    assert (hg['value'], hg['key'], hg['published']) == \
        (pytest.approx(88.9), 'MPII Mean', 0.889)
    rtm = reported('mmpose::body_2d_keypoint/rtmpose/mpii/'
                   'rtmpose-m_8xb64-210e_mpii-256x256.py')
    assert rtm['value'] == pytest.approx(90.7)
    # The same file by its path; a copy elsewhere or a plugin config has
    # no reported figure.
    path = resolve_config_path(HOURGLASS52)
    assert reported(path)['value'] == pytest.approx(88.9)
    copy = tmp_path / osp.basename(path)
    copy.write_text(open(path).read())
    assert reported(str(copy)) is None
    assert reported(DEFAULT_CONFIG) is None


def test_reference_conv():
    from mmengine.analysis import FlopAnalyzer

    threads = torch.get_num_threads()
    ref = machine.reference_conv_gmacs(threads=1, rounds=2, repeats=2)
    assert torch.get_num_threads() == threads  # no global side effect
    conv = torch.nn.Conv2d(144, 144, 3, padding=1, bias=False)
    assert ref['macs'] == FlopAnalyzer(conv, torch.randn(1, 144, 64,
                                                         64)).total()
    assert len(ref['rounds']) == 2
    for layout in ('nchw', 'channels_last'):
        best = ref[layout]
        assert best['gmac_per_s'] == pytest.approx(ref['macs'] /
                                                   best['latency_ms'] / 1e6)
        assert best['gmac_per_s'] == max(r[layout]['gmac_per_s']
                                         for r in ref['rounds'])
    assert ref['gmac_per_s'] == max(ref['nchw']['gmac_per_s'],
                                    ref['channels_last']['gmac_per_s'])
    with pytest.raises(ValueError, match='>= 1'):
        machine.reference_conv_gmacs(rounds=0)


@pytest.mark.parametrize('args, message', [
    (['configs/mpii/no_such_config.py'
      ], 'configs/mpii/no_such_config.py: config file not found'),
    (['mmpose::body_2d_keypoint/nothing_here.py'], 'config file not found'),
    (['no_such_package_xyz::a/b.py'], "package 'no_such_package_xyz' is "
     'not installed'),
    ([DEFAULT_CONFIG, '--backend', 'pytorch', 'tensorrt'
      ], "unknown backend 'tensorrt'; choose from pytorch, onnxruntime, "
     'openvino'),
    ([DEFAULT_CONFIG, '--batch-size', '0'], '--batch-size'),
    ([DEFAULT_CONFIG, '--num-stacks', '0'], '--num-stacks'),
    ([DEFAULT_CONFIG, '--subject', 'hrnet'], "--subject 'hrnet' is none"),
    ([DEFAULT_CONFIG, '--accuracy', 'a.json'], 'expected CONFIG=PATH'),
    ([DEFAULT_CONFIG, '--accuracy', 'other=a.json'
      ], 'none of the benchmarked configs'),
])
def test_bad_input_fails_before_measuring(load_tool, capsys, tmp_path, args,
                                          message):
    tool = load_tool('analysis_tools/benchmark.py')
    out = tmp_path / 'out'
    threads = torch.get_num_threads()
    assert tool.main([*args, '--out', str(out)]) == 2
    err = capsys.readouterr().err
    # the tool's last line (libraries may warn on stderr before it)
    last = err.strip().splitlines()[-1]
    assert last.startswith('benchmark.py: error: ') and message in last, err
    assert not out.exists()
    assert torch.get_num_threads() == threads


def test_bad_accuracy_file_names_file_and_keys(tmp_path):
    bad = tmp_path / 'metrics.json'
    bad.write_text(json.dumps({'loss': 1.0}))
    with pytest.raises(
            BenchmarkError,
            match=re.escape(f'{bad}: no metric PCKh') + '.*keys: loss'):
        accuracy.collect_accuracies([DEFAULT_CONFIG],
                                    [f'{DEFAULT_CONFIG}={bad}'], None)


def test_read_accuracy_formats(tmp_path):
    read = accuracy.read_accuracy
    lines = tmp_path / 'log.json'  # mmengine's json log: one dict a line
    lines.write_text('{"loss": 0.1, "step": 1}\n'
                     '{"mpii/PCKh": 80.5, "step": 2}\n'
                     '{"mpii/PCKh": 88.25, "step": 3}\n')
    assert read(str(lines)) == ('mpii/PCKh', 88.25)
    assert read(str(lines), 'loss') == ('loss', 0.1)
    with pytest.raises(BenchmarkError, match='not found'):
        read(str(tmp_path / 'missing.json'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"PCKh": ')
    with pytest.raises(BenchmarkError, match=re.escape(str(broken))):
        read(str(broken))


def test_summarize():
    s = measure.summarize([5., 1., 4., 2., 3.])
    assert (s['median'], s['p25'], s['p75'], s['min'], s['max']) == \
        (3., 2., 4., 1., 5.)
    assert measure.summarize([7.])['p25'] == 7.
