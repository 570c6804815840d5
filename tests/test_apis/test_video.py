# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The inferencer's video output (softgate_mmpose/apis/inferencers/video.py):
a partial file until complete, nothing left after a discard."""
import os

import numpy as np
import pytest

from softgate_mmpose.apis.inferencers.video import (VideoOutput, partial_file,
                                                    video_output_file)


def _frames(n: int = 3) -> list:
    """RGB frames (H, W, 3) of distinct flat colours."""
    return [np.full((48, 64, 3), 40 * (i + 1), np.uint8) for i in range(n)]


def test_output_file_names(tmp_path):
    assert video_output_file('vis', 'clips/run.avi') == \
        os.path.join('vis', 'run.mp4')
    assert video_output_file('vis/out.mp4', 'run.avi') == 'vis/out.mp4'
    assert partial_file('vis/run.mp4') == 'vis/run.partial.mp4'


def test_partial_until_finished(tmp_path, read_video):
    out = str(tmp_path / 'vis' / 'run.mp4')
    video = VideoOutput(out, (64, 48), fps=0)  # a camera's 0 fps
    for frame in _frames():
        video.write(frame)
    assert os.listdir(tmp_path / 'vis') == ['run.partial.mp4']
    video.finish()
    assert os.listdir(tmp_path / 'vis') == ['run.mp4']
    frames = read_video(out)
    assert len(frames) == 3
    assert frames[0].shape == (48, 64, 3)
    # flat colours survive the codec up to its rounding
    assert frames[2].mean() > frames[0].mean() + 40


def test_discard_leaves_nothing(tmp_path):
    video = VideoOutput(str(tmp_path / 'run.mp4'), (64, 48), fps=5)
    video.write(_frames(1)[0])
    video.discard()
    assert os.listdir(tmp_path) == []


def test_writer_that_cannot_open(tmp_path):
    """A container OpenCV cannot write is refused, naming the file."""
    out = str(tmp_path / 'run.notavideo')
    with pytest.raises(RuntimeError, match=r'run\.notavideo'):
        VideoOutput(out, (64, 48))
    assert os.listdir(tmp_path) == []
