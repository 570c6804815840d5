# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Listing and checking of the inferencer's inputs
(softgate_mmpose/apis/inferencers/inputs.py) and the caller's boxes
(boxes.py), without a model."""
import operator
import os.path as osp
import pathlib
import shutil

import cv2
import numpy as np
import pytest

from softgate_mmpose.apis.inferencers.boxes import (bboxes_per_input,
                                                    detector_args)
from softgate_mmpose.apis.inferencers.inputs import SizedBatches, check_inputs


def test_folder_lists_its_images(tmp_path, mpii_images):
    for path in reversed(mpii_images[:3]):
        shutil.copy(path, tmp_path)
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / 'sub').mkdir()
    shutil.copy(mpii_images[3], tmp_path / 'sub')
    inputs, kind = check_inputs(pathlib.Path(tmp_path))
    assert kind == 'images'
    assert inputs == [
        str(tmp_path / osp.basename(p)) for p in sorted(mpii_images[:3])
    ]


def test_kinds(tmp_path, mpii_images, write_video):
    assert check_inputs(mpii_images[0]) == (mpii_images[0], 'images')
    video = write_video(mpii_images[:2], str(tmp_path / 'clip.mp4'))
    assert check_inputs(video) == (video, 'video')
    array = cv2.imread(mpii_images[0])
    inputs, kind = check_inputs([array, pathlib.Path(mpii_images[1])])
    assert kind == 'images' and inputs[1] == mpii_images[1]
    with pytest.raises(ValueError, match='Cannot tell whether'):
        (tmp_path / 'x.unknownext').write_text('x')
        check_inputs(str(tmp_path / 'x.unknownext'))
    with pytest.raises(ValueError, match='webcam:<id>'):
        check_inputs('webcam:a:b')


def test_sized_batches():
    batches = SizedBatches(iter([1, 2]), 2)
    assert operator.length_hint(batches) == 2
    assert list(batches) == [1, 2]
    assert operator.length_hint(SizedBatches(iter([]), None)) == 0


def test_boxes_per_input():
    paths = ['a/one.jpg', 'b/two.jpg']
    per_input = bboxes_per_input(paths, {'two.jpg': [[0, 0, 10, 20, 0.5]]})
    assert per_input[0] is None
    np.testing.assert_array_equal(per_input[1], [[0, 0, 10, 20, 0.5]])
    # a single input's (N, 4) boxes given directly
    single = bboxes_per_input(paths[:1], [[0, 0, 10, 20], [5, 5, 9, 9]])
    assert single[0].shape == (2, 4)
    assert bboxes_per_input(paths, None) is None
    with pytest.raises(ValueError, match='webcam stream'):
        bboxes_per_input(iter(paths), [[]])
    with pytest.raises(ValueError, match='non-finite'):
        bboxes_per_input(paths[:1], [[[0, 0, np.nan, 20]]])
    with pytest.raises(ValueError, match='not numeric'):
        bboxes_per_input(paths[:1], [[['a', 0, 1, 2]]])


def test_detector_args(tmp_path):
    assert detector_args().det_model == 'whole_image'
    assert detector_args('whole-image').det_cat_ids is None
    det = detector_args('rtmdet_tiny_8xb32-300e_coco')
    assert det.det_cat_ids == 0  # COCO person by default
    with pytest.raises(FileNotFoundError, match='Detector config'):
        detector_args(str(tmp_path / 'det.py'))
    with pytest.raises(FileNotFoundError, match='Detector checkpoint'):
        detector_args('rtmdet_tiny_8xb32-300e_coco', str(tmp_path / 'det.pth'))
