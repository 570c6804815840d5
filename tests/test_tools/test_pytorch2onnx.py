# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/deployment/pytorch2onnx.py over softgate_mmpose.deployment: exports
that ONNX Runtime and OpenVINO run to PyTorch's values, --num-stacks, and
clear errors with nothing written for bad input."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from softgate_mmpose import deployment
from softgate_mmpose.models import switch_to_deploy
from ..constants import DEFAULT_CONFIG, TINY_CFG_OPTIONS, TINY_MODEL

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

CONFIGS = osp.dirname(DEFAULT_CONFIG)
LSP = osp.join(
    osp.dirname(CONFIGS), 'lsp',
    'td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py')
TINY_ARGS = ['--cfg-options', *TINY_MODEL]
#: Export tolerance relative to the heatmap peak: ONNX Runtime's and
#: OpenVINO's float32 kernels sum in other orders than PyTorch's.
TOL = deployment.DEFAULT_TOLERANCE


@pytest.fixture(scope='module')
def cli(load_tool):
    """The command line (``main``); its logic is the package's."""
    return load_tool('deployment/pytorch2onnx.py')


def randomized_model(config, randomize, seed=0, **kwargs):
    """A model with random norm statistics and gates, then deployed (the
    transform folds them, so they are set before it)."""
    model = deployment.build_model(config, deploy=False, **kwargs)
    randomize(model.pose_model, seed)
    switch_to_deploy(model.pose_model)
    return model


def save_checkpoint(model, path, num_keypoints, seed=0, randomize=None):
    if randomize is not None:
        randomize(model.pose_model, seed)
    torch.save(
        dict(
            state_dict=model.pose_model.state_dict(),
            meta=dict(dataset_meta=dict(num_keypoints=num_keypoints))), path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    'config,size', [
        (DEFAULT_CONFIG, 128),
        (f'{CONFIGS}/td-hm_softgate-hg2-c144_1xb24-200e_mpii-256x256.py', 128),
        (f'{CONFIGS}/td-hm_softgate-hg8-c256_1xb24-200e_mpii-256x256.py', 64),
        (f'{CONFIGS}/td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py', 64),
        (f'{CONFIGS}/td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py', 64),
    ],
    ids=lambda v: osp.basename(str(v)))
def test_plugin_configs_export_to_the_last_stack(tmp_path, config, size,
                                                 randomize_norms_and_gates):
    model = randomized_model(config, randomize_norms_and_gates)
    out = tmp_path / 'model.onnx'
    shape = (1, 3, size, size)
    with torch.no_grad(
    ):  # the old eval path failed to export without gradients
        names = deployment.export_onnx(model, str(out), shape)
    assert names == ['heatmaps']
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ['input']
    assert [o.name for o in graph.output] == ['heatmaps']
    # the heatmaps are the last stack's
    x = torch.randn(shape)
    with torch.no_grad():
        stacks = model.pose_model.backbone(x)
        # The same network: rounding at most, scaled to the heatmaps' peak.
        torch.testing.assert_close(
            model(x),
            stacks[-1],
            rtol=0,
            atol=1e-5 * stacks[-1].abs().max().item())
    assert deployment.verify(model, str(out), shape) <= TOL


@pytest.mark.slow
def test_mmpose_config_exports(tmp_path, randomize_norms_and_gates):
    config = ('mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
              'td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py')
    model = randomized_model(config, randomize_norms_and_gates)
    out = str(tmp_path / 'hrnet.onnx')
    deployment.export_onnx(model, out, (1, 3, 64, 64))
    assert deployment.verify(model, out, (1, 3, 64, 64)) <= TOL


def test_default_shape_comes_from_the_codec():
    cfg = deployment.load_config(DEFAULT_CONFIG)
    assert deployment.input_shape_of(cfg) == (1, 3, 256, 256)
    assert deployment.input_shape_of(cfg, batch_size=4)[0] == 4


def test_verify_detects_a_wrong_graph(tmp_path, randomize_norms_and_gates):
    model = deployment.build_model(
        DEFAULT_CONFIG, deploy=False, cfg_options=TINY_CFG_OPTIONS)
    randomize_norms_and_gates(model.pose_model)
    out = str(tmp_path / 'tiny.onnx')
    deployment.export_onnx(model, out, (1, 3, 64, 64))
    assert deployment.verify(model, out, (1, 3, 64, 64)) <= TOL
    # the graph no longer matches the model
    randomize_norms_and_gates(model.pose_model, seed=1)
    assert deployment.verify(model, out, (1, 3, 64, 64)) > 1e-2


@pytest.mark.slow
def test_cli_checkpoint_dynamic_batch_and_verify(cli, tmp_path, capsys,
                                                 randomize_norms_and_gates):
    model = deployment.build_model(
        DEFAULT_CONFIG, deploy=False, cfg_options=TINY_CFG_OPTIONS)
    ckpt = save_checkpoint(
        model, tmp_path / 'tiny.pth', 16, randomize=randomize_norms_and_gates)
    out = tmp_path / 'tiny.onnx'
    rc = cli.main([
        DEFAULT_CONFIG, ckpt, '--output-file',
        str(out), '--shape', '1', '3', '64', '64', '--dynamic-batch',
        '--verify-backend', 'onnxruntime', 'openvino', *TINY_ARGS
    ])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "'heatmaps'" in printed
    # two shapes (batch 1 and 2) in each runtime
    assert printed.count('max |ONNX Runtime - PyTorch|') == 2
    assert printed.count('max |OpenVINO - PyTorch|') == 2
    session = ort.InferenceSession(
        str(out), providers=['CPUExecutionProvider'])
    (heatmaps, ) = session.run(None,
                               {'input': np.zeros((3, 3, 64, 64), np.float32)})
    assert heatmaps.shape == (3, 16, 16, 16)
    # the checkpoint's weights were exported, not the initialised ones
    model.pose_model.load_state_dict(torch.load(ckpt)['state_dict'])
    assert deployment.verify(model, str(out), (2, 3, 64, 64)) <= TOL
    # above the tolerance: exit status 1, the difference printed
    rc = cli.main([
        DEFAULT_CONFIG, ckpt, '--output-file',
        str(out), '--shape', '1', '3', '64', '64', '--verify', '--tolerance',
        '0', *TINY_ARGS
    ])
    captured = capsys.readouterr()
    diff = float(captured.out.split('/ peak = ')[1].split()[0])
    assert diff > 0 and rc == 1
    assert 'verification failed' in captured.err


def test_cli_num_stacks(cli, tmp_path, capsys, randomize_norms_and_gates):
    """--num-stacks 2 of a 3-stack model: the export computes the full
    PyTorch model's second stack."""
    options = dict(TINY_CFG_OPTIONS)
    options.update({
        'model.backbone.num_stacks': 3,
        'model.head.num_stages': 3
    })
    full = deployment.build_model(
        DEFAULT_CONFIG, deploy=False, cfg_options=options)
    ckpt = save_checkpoint(
        full, tmp_path / 'three.pth', 16, randomize=randomize_norms_and_gates)
    out = tmp_path / 'two.onnx'
    args = [f'{k}={v}'.replace(' ', '') for k, v in options.items()]
    rc = cli.main([
        DEFAULT_CONFIG, ckpt, '--output-file',
        str(out), '--shape', '1', '3', '64', '64', '--num-stacks', '2',
        '--verify-backend', 'openvino', '--cfg-options', *args
    ])
    printed = capsys.readouterr().out
    assert rc == 0 and 'stacks 1..2' in printed, printed
    x = np.random.default_rng(0).standard_normal(
        (1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        stacks = full.pose_model.backbone(torch.from_numpy(x))
    assert len(stacks) == 3
    for backend in deployment.RUNTIMES:
        (heatmaps, ) = deployment.create_session(str(out), backend)(x)
        second = stacks[1].numpy()
        # runtime kernels vs PyTorch's, relative to the peak (see TOL)
        assert deployment.relative_difference([heatmaps], [second]) <= TOL
        # not the last stack's output
        assert deployment.relative_difference([heatmaps],
                                              [stacks[2].numpy()]) > 1e-2
    # K outside the model's stacks: exit status 2, the range named
    rc = cli.main([
        DEFAULT_CONFIG, ckpt, '--output-file',
        str(tmp_path / 'four.onnx'), '--num-stacks', '4', '--cfg-options',
        *args
    ])
    err = capsys.readouterr().err
    assert rc == 2 and '1..3' in err and '--num-stacks 4' in err
    assert not (tmp_path / 'four.onnx').exists()


def test_bad_configs_are_refused(cli, tmp_path, capsys):
    not_pose = tmp_path / 'not_pose.py'
    not_pose.write_text('x = 1\n')
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    for config, message in [
        (str(tmp_path / 'missing.py'), 'config file not found'),
        ('mmpose::no/such_config.py', 'config file not found'),
        ('nosuchpackage::a.py', 'not installed'),
        (str(not_pose), 'not a top-down pose config'),
        (str(broken), 'cannot read the config')
    ]:
        out = tmp_path / 'out.onnx'
        assert cli.main([config, '--output-file', str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and config in err
        assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ['broken.py', 'not_pose.py']


def test_checkpoint_of_another_joint_set_is_refused(cli, tmp_path, capsys):
    mpii = deployment.build_model(
        DEFAULT_CONFIG, deploy=False, cfg_options=TINY_CFG_OPTIONS)
    ckpt = save_checkpoint(mpii, tmp_path / 'mpii.pth', 16)
    out = tmp_path / 'lsp.onnx'
    rc = cli.main([LSP, ckpt, '--output-file', str(out), *TINY_ARGS])
    err = capsys.readouterr().err
    assert rc == 2
    assert '16 keypoints' in err and '14 keypoints' in err and \
        'mpii.pth' in err
    assert sorted(os.listdir(tmp_path)) == ['mpii.pth']


def test_unwritable_output_leaves_nothing(cli, tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    for out, message in [(tmp_path / 'no_such_dir' / 'm.onnx',
                          'not an existing folder'),
                         (blocker / 'm.onnx', 'not an existing folder'),
                         (tmp_path, 'is a folder')]:
        assert cli.main(
            [DEFAULT_CONFIG, '--output-file',
             str(out), *TINY_ARGS]) == 2
        assert message in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ['a_file']
    assert blocker.read_text() == ''
