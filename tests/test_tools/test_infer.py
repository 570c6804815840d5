# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""tools/infer.py: a video end to end in a subprocess, boxes from a JSON
file, aliases and errors in-process."""
import importlib.util
import json
import os.path as osp

import pytest

from tests.test_apis.inference_helpers import (MPII_ALIAS, TINY, mpii_images,
                                               read_video,
                                               save_tiny_checkpoint,
                                               write_video)
from .conftest import TOOLS, python_tool, run_tool

TINY_ARGS = ['--cfg-options'
             ] + [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]


def _load_cli():
    spec = importlib.util.spec_from_file_location('infer_cli',
                                                  osp.join(TOOLS, 'infer.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def cli():
    return _load_cli()


@pytest.fixture(scope='module')
def mpii_ckpt(tmp_path_factory):
    return save_tiny_checkpoint(
        MPII_ALIAS, str(tmp_path_factory.mktemp('ckpt') / 'mpii_tiny.pth'))


def test_video_end_to_end(mpii_ckpt, tmp_path):
    images = mpii_images()
    video = write_video(images, str(tmp_path / 'clip.mp4'))
    proc = run_tool(
        python_tool('infer.py', video, '--pose2d', MPII_ALIAS,
                    '--pose2d-weights', mpii_ckpt, '--device', 'cpu',
                    '--batch-size', '2', '--kpt-thr', '0', '--vis-out-dir',
                    str(tmp_path / 'vis'), '--pred-out-dir',
                    str(tmp_path / 'pred'), *TINY_ARGS))
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


def test_bboxes_json(cli, mpii_ckpt, tmp_path):
    image = mpii_images()[3]
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(
        json.dumps({osp.basename(image): [[230, 90, 430, 460, 0.9]]}))
    rc = cli.main([
        osp.dirname(image), '--pose2d', MPII_ALIAS, '--pose2d-weights',
        mpii_ckpt, '--device', 'cpu', '--bboxes',
        str(boxes), '--pred-out-dir',
        str(tmp_path / 'pred'), '--no-progress', '--batch-size', '5',
        *TINY_ARGS
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
    assert 'softgate-hg4_mpii' in out and 'softgate-hg4_lsp' in out


@pytest.mark.parametrize('args, message', [
    (['--pose2d', 'softgate-hg5_mpii'], 'Known softgate_mmpose aliases'),
    (['--pose2d', MPII_ALIAS, '--bboxes', 'missing.json'
      ], 'bboxes file not found'),
])
def test_errors(cli, capsys, args, message):
    assert cli.main([mpii_images()[0], *args, '--device', 'cpu']) == 1
    assert message in capsys.readouterr().err


def test_bad_bboxes_json(cli, capsys, tmp_path):
    bad = tmp_path / 'boxes.json'
    bad.write_text('{not json')
    assert cli.main([
        mpii_images()[0], '--pose2d', MPII_ALIAS, '--bboxes',
        str(bad), '--device', 'cpu'
    ]) == 1
    assert 'not valid JSON' in capsys.readouterr().err


def test_camera_index_input(cli):
    assert cli.parse_inputs('0') == 0
    assert cli.parse_inputs('webcam:1') == 'webcam:1'
