# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/infer.py: a video end to end in a subprocess (PyTorch and ONNX
Runtime), boxes from a JSON file, aliases and errors in-process."""
import json
import os.path as osp

import numpy as np
import pytest

from ..constants import LSP_ALIAS, MPII_ALIAS


@pytest.fixture(scope='module')
def cli(load_tool):
    return load_tool('infer.py')


@pytest.mark.slow
def test_video_end_to_end(mpii_tiny_ckpt, tmp_path, mpii_images, write_video,
                          read_video, tiny_cfg_args, run_tool, python_tool):
    images = mpii_images
    video = write_video(images, str(tmp_path / 'clip.mp4'))
    proc = run_tool(
        python_tool('infer.py', video, '--pose2d', MPII_ALIAS,
                    '--pose2d-weights', mpii_tiny_ckpt, '--device', 'cpu',
                    '--batch-size', '2', '--kpt-thr', '0', '--vis-out-dir',
                    str(tmp_path / 'vis'), '--pred-out-dir',
                    str(tmp_path / 'pred'), *tiny_cfg_args))
    assert 'Inference' in proc.stdout  # the progress bar
    frames = read_video(str(tmp_path / 'vis' / 'clip.mp4'))
    assert len(frames) == len(images)
    assert all(f.mean() > 10 for f in frames)
    with open(tmp_path / 'pred' / 'clip.json') as f:
        per_frame = json.load(f)
    assert len(per_frame) == len(images)
    for frame in per_frame:
        assert len(frame['instances'][0]['keypoints']) == 16
        assert len(frame['instances'][0]['keypoint_scores']) == 16


def test_bboxes_json(cli, mpii_tiny_ckpt, tmp_path, mpii_images,
                     tiny_cfg_args):
    image = mpii_images[3]
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(
        json.dumps({osp.basename(image): [[230, 90, 430, 460, 0.9]]}))
    rc = cli.main([
        osp.dirname(image), '--pose2d', MPII_ALIAS, '--pose2d-weights',
        mpii_tiny_ckpt, '--device', 'cpu', '--bboxes',
        str(boxes), '--pred-out-dir',
        str(tmp_path / 'pred'), '--no-progress', '--batch-size', '5',
        *tiny_cfg_args
    ])
    assert rc == 0
    name = osp.splitext(osp.basename(image))[0]
    with open(tmp_path / 'pred' / f'{name}.json') as f:
        instances = json.load(f)
    assert [i['bbox'][0] for i in instances] == [[230, 90, 430, 460]]
    assert instances[0]['bbox_score'] == pytest.approx(0.9)


def test_show_alias(cli, capsys):
    assert cli.main(['--show-alias']) == 0
    out = capsys.readouterr().out
    assert MPII_ALIAS in out and LSP_ALIAS in out


@pytest.mark.parametrize('args, message', [
    (['--pose2d', 'softgate-hg5_mpii'], 'Known softgate_mmpose aliases'),
    (['--pose2d', MPII_ALIAS, '--bboxes', 'missing.json'
      ], 'bboxes file not found'),
])
def test_errors(cli, capsys, args, message, mpii_images):
    assert cli.main([mpii_images[0], *args, '--device', 'cpu']) == 1
    assert message in capsys.readouterr().err


def test_bad_bboxes_json(cli, capsys, tmp_path, mpii_images):
    bad = tmp_path / 'boxes.json'
    bad.write_text('{not json')
    assert cli.main([
        mpii_images[0], '--pose2d', MPII_ALIAS, '--bboxes',
        str(bad), '--device', 'cpu'
    ]) == 1
    assert 'not valid JSON' in capsys.readouterr().err


def test_camera_index_input(cli):
    assert cli.parse_inputs('0') == 0
    assert cli.parse_inputs('webcam:1') == 'webcam:1'


# ---------------------------------------------------------- ONNX Runtime
@pytest.mark.slow
def test_onnx_video_end_to_end(mpii_tiny_ckpt, tiny_onnx, tmp_path,
                               mpii_images, write_video, tiny_cfg_args,
                               run_tool, python_tool):
    """The same video through an .onnx export (dynamic batch) and through
    PyTorch: the same keypoints."""
    video = write_video(mpii_images, str(tmp_path / 'clip.mp4'))
    common = [
        video, '--pose2d', MPII_ALIAS, '--device', 'cpu', '--batch-size', '2',
        '--no-progress', *tiny_cfg_args
    ]
    run_tool(
        python_tool('infer.py', *common, '--pose2d-weights',
                    tiny_onnx('dynamic.onnx', dynamic_batch=True),
                    '--pred-out-dir', str(tmp_path / 'ort')))
    run_tool(
        python_tool('infer.py', *common, '--pose2d-weights', mpii_tiny_ckpt,
                    '--pred-out-dir', str(tmp_path / 'pt')))
    frames = {}
    for name in ('ort', 'pt'):
        with open(tmp_path / name / 'clip.json') as f:
            frames[name] = json.load(f)
    assert len(frames['ort']) == len(frames['pt']) == len(mpii_images)
    for a, b in zip(frames['ort'], frames['pt']):
        # Heatmaps of ONNX Runtime and PyTorch differ by float rounding
        # (other kernels per CPU kind): a tiny fraction of a heatmap cell.
        np.testing.assert_allclose(
            a['instances'][0]['keypoints'],
            b['instances'][0]['keypoints'],
            atol=0.05)


def test_onnx_backend_errors(cli, capsys, mpii_tiny_ckpt, mpii_images,
                             tmp_path):
    image = mpii_images[0]
    # a PyTorch checkpoint forced into a runtime: named in the error
    for runtime in ('onnxruntime', 'openvino'):
        assert cli.main([
            image, '--pose2d', MPII_ALIAS, '--pose2d-weights', mpii_tiny_ckpt,
            '--backend', runtime
        ]) == 1
        err = capsys.readouterr().err
        assert 'needs the exported model' in err and 'mpii_tiny.pth' in err
        assert cli.main([image, '--pose2d', MPII_ALIAS, '--backend',
                         runtime]) == 1
        assert 'needs the exported model' in capsys.readouterr().err
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'garbage')
    for runtime in ('onnxruntime', 'openvino'):
        assert cli.main([
            image, '--pose2d', MPII_ALIAS, '--pose2d-weights',
            str(broken), '--backend', runtime
        ]) == 1
        assert 'broken.onnx' in capsys.readouterr().err


def test_openvino_backend(cli, tiny_onnx, mpii_images, tmp_path,
                          tiny_cfg_args):
    """--backend openvino runs the export with the pre- and post-processing
    of ONNX Runtime: the same keypoints on a real photograph."""
    pytest.importorskip('openvino')
    image = mpii_images[3]
    preds = {}
    for runtime in ('onnxruntime', 'openvino'):
        out = tmp_path / runtime
        assert cli.main([
            image, '--pose2d', MPII_ALIAS, '--pose2d-weights',
            tiny_onnx('tiny.onnx'), '--backend', runtime, '--device', 'cpu',
            '--pred-out-dir',
            str(out), '--no-progress', *tiny_cfg_args
        ]) == 0
        name = osp.splitext(osp.basename(image))[0]
        with open(out / f'{name}.json') as f:
            preds[runtime] = json.load(f)
    ort_kpts = np.asarray(preds['onnxruntime'][0]['keypoints'])
    assert ort_kpts.shape == (16, 2)
    # the runtimes' heatmaps differ by float rounding only
    # Two runtimes' kernels: rounding, a tiny fraction of a heatmap cell.
    np.testing.assert_allclose(
        preds['openvino'][0]['keypoints'], ort_kpts, atol=0.05)
