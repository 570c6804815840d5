"""tools/deployment/pytorch2onnx.py: exports that ONNX Runtime runs to PyTorch's values, and
clear errors with nothing written for bad input."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

CONFIGS = 'configs/mpii'
DEFAULT = f'{CONFIGS}/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py'
LSP = 'configs/lsp/td-hm_softgate-hg4-c144_1xb24-200e_lsp-256x256.py'
TINY = dict(model=dict(
    backbone=dict(num_stacks=1, stack_channels=16, depth=2, stem_channels=(8, 16, 16)),
    head=dict(num_stages=1)))
TINY_ARGS = [
    '--cfg-options', 'model.backbone.num_stacks=1', 'model.backbone.stack_channels=16',
    'model.backbone.depth=2', 'model.backbone.stem_channels=(8,16,16)',
    'model.head.num_stages=1'
]


@pytest.fixture(scope='module')
def p2o(load_tool):
    return load_tool('deployment/pytorch2onnx.py')


def save_checkpoint(model, path, num_keypoints, seed=0, randomize=None):
    if randomize is not None:
        randomize(model.pose_model, seed)
    torch.save(
        dict(state_dict=model.pose_model.state_dict(),
             meta=dict(dataset_meta=dict(num_keypoints=num_keypoints))), path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('config,size', [
    (DEFAULT, 128),
    (f'{CONFIGS}/td-hm_softgate-hg2-c144_1xb24-200e_mpii-256x256.py', 128),
    (f'{CONFIGS}/td-hm_softgate-hg8-c256_1xb24-200e_mpii-256x256.py', 64),
    (f'{CONFIGS}/td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py', 64),
    (f'{CONFIGS}/td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py', 64),
], ids=lambda v: osp.basename(str(v)))
def test_plugin_configs_export_to_the_last_stack(p2o, repo_root, tmp_path, config, size,
                                                 randomize_norms_and_gates):
    model = p2o.build_model(osp.join(repo_root, config))
    randomize_norms_and_gates(model)
    out = tmp_path / 'model.onnx'
    shape = (1, 3, size, size)
    with torch.no_grad():  # the old eval path failed to export without gradients
        names = p2o.export_onnx(model, str(out), shape)
    assert names == ['heatmaps']
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ['input']
    assert [o.name for o in graph.output] == ['heatmaps']
    # the heatmaps are the last stack's
    x = torch.randn(shape)
    with torch.no_grad():
        stacks = model.pose_model.backbone(x)
        torch.testing.assert_close(model(x), stacks[-1])
    assert p2o.verify_onnx(model, str(out), shape) <= 1e-4


@pytest.mark.slow
def test_mmpose_config_exports(p2o, tmp_path, randomize_norms_and_gates):
    config = ('mmpose::body_2d_keypoint/topdown_heatmap/mpii/'
              'td-hm_hrnet-w32_8xb64-210e_mpii-256x256.py')
    model = p2o.build_model(config)
    randomize_norms_and_gates(model)
    out = str(tmp_path / 'hrnet.onnx')
    p2o.export_onnx(model, out, (1, 3, 64, 64))
    assert p2o.verify_onnx(model, out, (1, 3, 64, 64)) <= 1e-4


def test_default_shape_comes_from_the_codec(p2o, repo_root):
    cfg = p2o.load_config(osp.join(repo_root, DEFAULT))
    assert p2o.input_shape_of(cfg) == (1, 3, 256, 256)
    assert p2o.input_shape_of(cfg, batch_size=4)[0] == 4


def test_verify_detects_a_wrong_graph(p2o, repo_root, tmp_path, randomize_norms_and_gates):
    model = p2o.build_model(osp.join(repo_root, DEFAULT), cfg_options=TINY)
    randomize_norms_and_gates(model)
    out = str(tmp_path / 'tiny.onnx')
    p2o.export_onnx(model, out, (1, 3, 64, 64))
    assert p2o.verify_onnx(model, out, (1, 3, 64, 64)) <= 1e-4
    randomize_norms_and_gates(model, seed=1)  # the graph no longer matches the model
    assert p2o.verify_onnx(model, out, (1, 3, 64, 64)) > 1e-2


@pytest.mark.slow
def test_cli_checkpoint_dynamic_batch_and_verify(p2o, repo_root, tmp_path, capsys,
                                                 randomize_norms_and_gates):
    model = p2o.build_model(osp.join(repo_root, DEFAULT), cfg_options=TINY)
    ckpt = save_checkpoint(model, tmp_path / 'tiny.pth', 16, randomize=randomize_norms_and_gates)
    out = tmp_path / 'tiny.onnx'
    rc = p2o.main([
        osp.join(repo_root, DEFAULT), ckpt, '--output-file', str(out), '--shape', '1', '3',
        '64', '64', '--dynamic-batch', '--verify', *TINY_ARGS
    ])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "'heatmaps'" in printed and printed.count('verify') == 2
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    (heatmaps, ) = session.run(None, {'input': np.zeros((3, 3, 64, 64), np.float32)})
    assert heatmaps.shape == (3, 16, 16, 16)
    # the checkpoint's weights were exported, not the initialised ones
    model.pose_model.load_state_dict(torch.load(ckpt)['state_dict'])
    assert p2o.verify_onnx(model, str(out), (2, 3, 64, 64)) <= 1e-4
    # above the tolerance: exit status 1, the difference printed
    rc = p2o.main([
        osp.join(repo_root, DEFAULT), ckpt, '--output-file', str(out), '--shape', '1', '3',
        '64', '64', '--verify', '--tolerance', '0', *TINY_ARGS
    ])
    captured = capsys.readouterr()
    diff = float(captured.out.split('/ peak = ')[1].split()[0])
    assert diff > 0 and rc == 1
    assert 'verification failed' in captured.err


def test_bad_configs_are_refused(p2o, tmp_path, capsys):
    not_pose = tmp_path / 'not_pose.py'
    not_pose.write_text('x = 1\n')
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    for config, message in [(str(tmp_path / 'missing.py'), 'config file not found'),
                            ('mmpose::no/such_config.py', 'config file not found'),
                            ('nosuchpackage::a.py', 'not installed'),
                            (str(not_pose), 'not a top-down pose config'),
                            (str(broken), 'cannot read the config')]:
        out = tmp_path / 'out.onnx'
        assert p2o.main([config, '--output-file', str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and config in err
        assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ['broken.py', 'not_pose.py']


def test_checkpoint_of_another_joint_set_is_refused(p2o, repo_root, tmp_path, capsys):
    mpii = p2o.build_model(osp.join(repo_root, DEFAULT), cfg_options=TINY)
    ckpt = save_checkpoint(mpii, tmp_path / 'mpii.pth', 16)
    out = tmp_path / 'lsp.onnx'
    rc = p2o.main([osp.join(repo_root, LSP), ckpt, '--output-file', str(out), *TINY_ARGS])
    err = capsys.readouterr().err
    assert rc == 2
    assert '16 keypoints' in err and '14 keypoints' in err and 'mpii.pth' in err
    assert sorted(os.listdir(tmp_path)) == ['mpii.pth']


def test_unwritable_output_leaves_nothing(p2o, repo_root, tmp_path, capsys):
    config = osp.join(repo_root, DEFAULT)
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    for out, message in [(tmp_path / 'no_such_dir' / 'm.onnx', 'not an existing folder'),
                         (blocker / 'm.onnx', 'not an existing folder'),
                         (tmp_path, 'is a folder')]:
        assert p2o.main([config, '--output-file', str(out), *TINY_ARGS]) == 2
        assert message in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ['a_file']
    assert blocker.read_text() == ''
