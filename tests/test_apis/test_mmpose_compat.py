# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Every piece of MMPose the inferencer overrides, copies or relies on
(softgate_mmpose/apis/inferencers/mmpose_compat.py) is named, pinned to the
installed MMPose by its source, and behaves as the plugin assumes."""
import hashlib
import importlib
import inspect
import io
import logging

import cv2
import mmpose
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmpose.apis.inferencers import Pose2DInferencer, base_mmpose_inferencer

from softgate_mmpose.apis import (SoftGateInferencer, SoftGatePose2DInferencer,
                                  list_model_aliases)
from softgate_mmpose.apis.inferencers.inputs import SizedBatches
from softgate_mmpose.apis.inferencers.mmpose_compat import (
    COUPLINGS, MMPOSE_VERSION, RANDOM_WEIGHTS_MESSAGE, UPSTREAM_SHA256)
from ..constants import MPII_ALIAS
from .samples import BOX_LEFT, BOX_RIGHT


def _resolve(dotted: str):
    """The object at ``package.module.Class.attr``, as defined (static
    look-up: a descriptor such as ``cache_randomness`` is not bound)."""
    parts = dotted.split('.')
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = inspect.getattr_static(obj, name)
        return obj
    raise ImportError(dotted)


def _source_sha256(obj) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()


class _Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _logged(fn):
    logger = MMLogger.get_current_instance()
    records = _Records()
    logger.addHandler(records)
    try:
        result = fn()
    finally:
        logger.removeHandler(records)
    return result, records.messages


def test_written_for_this_mmpose():
    assert mmpose.__version__ == MMPOSE_VERSION, (
        f'mmpose_compat.py was checked against MMPose {MMPOSE_VERSION}; '
        f'{mmpose.__version__} is installed: re-check its couplings')


@pytest.mark.parametrize(
    'coupling', COUPLINGS, ids=[f'{c.how}:{c.ours}' for c in COUPLINGS])
def test_coupling_pinned_to_upstream_source(coupling):
    """A change to the source of a named upstream piece fails here: re-check
    what ``coupling.why`` says the plugin assumes, then update the hash."""
    assert coupling.how in ('overridden', 'copied', 'relied on')
    _resolve(coupling.ours)  # the plugin's side exists
    assert _source_sha256(_resolve(coupling.upstream)) == \
        UPSTREAM_SHA256[coupling.upstream], (
            f'{coupling.upstream} changed since MMPose {MMPOSE_VERSION}; '
            f'the plugin {coupling.how} it in {coupling.ours}: '
            f'{coupling.why}')


def test_every_pinned_piece_is_a_coupling():
    assert set(UPSTREAM_SHA256) == {c.upstream for c in COUPLINGS}


#: Plugin classes and the upstream class they derive from.
SUBCLASSES = [
    ('softgate_mmpose.apis.inferencers.SoftGatePose2DInferencer',
     Pose2DInferencer),
    ('softgate_mmpose.apis.inferencers.SoftGateInferencer', Pose2DInferencer),
    ('softgate_mmpose.datasets.datasets.mpii_dataset.CheckedMpiiDataset',
     'mmpose.datasets.datasets.body.mpii_dataset.MpiiDataset'),
    ('softgate_mmpose.datasets.datasets.lsp_dataset.LspDataset',
     'mmpose.datasets.datasets.base.base_coco_style_dataset.'
     'BaseCocoStyleDataset'),
    ('softgate_mmpose.datasets.transforms.common_transforms.'
     'UniformRandomBBoxTransform',
     'mmpose.datasets.transforms.common_transforms.RandomBBoxTransform'),
]


@pytest.mark.parametrize(
    'ours, upstream',
    SUBCLASSES,
    ids=[o.rsplit('.', 1)[1] for o, _ in SUBCLASSES])
def test_every_override_is_named(ours, upstream):
    """Each upstream method a plugin class redefines is a coupling named in
    mmpose_compat.py."""
    cls = _resolve(ours)
    upstream = _resolve(upstream) if isinstance(upstream, str) else upstream
    assert issubclass(cls, upstream)
    upstream_names = {
        name
        for klass in inspect.getmro(upstream) if klass is not object
        for name in vars(klass)
    }
    named = {(c.upstream.rsplit('.', 1)[1], c.ours)
             for c in COUPLINGS if c.how == 'overridden'}
    for name, value in vars(cls).items():
        if name in upstream_names and callable(value):
            assert (name, f'{ours}.{name}') in named, \
                f'{ours}.{name} overrides upstream but is not named'


def test_no_underscored_method_of_mmpose_is_overridden():
    """The plugin overrides none of MMPose's underscored methods."""
    ours = []
    for cls in (SoftGatePose2DInferencer, SoftGateInferencer):
        for name, value in vars(cls).items():
            if name.startswith('_') and not name.startswith('__') and \
                    callable(value):
                ours.append(f'{cls.__name__}.{name}')
    mmpose_private = {
        name
        for klass in inspect.getmro(Pose2DInferencer)
        for name in vars(klass)
        if name.startswith('_') and not name.startswith('__')
    }
    overridden = [n for n in ours if n.split('.')[1] in mmpose_private]
    assert overridden == []


def test_random_weights_message(tiny_pose_cfg, mpii_tiny_ckpt):
    """MMPose logs the message the plugin filters; the plugin logs its own
    only when there really are no weights."""
    cfg = Config.fromfile(list_model_aliases()[MPII_ALIAS])
    cfg.merge_from_dict(tiny_pose_cfg)
    _, messages = _logged(lambda: Pose2DInferencer(
        cfg, None, device='cpu', det_model='whole_image'))
    assert any(m.startswith(RANDOM_WEIGHTS_MESSAGE) for m in messages)

    _, messages = _logged(lambda: SoftGateInferencer(
        MPII_ALIAS, mpii_tiny_ckpt, device='cpu', cfg_options=tiny_pose_cfg))
    assert not any('random' in m or RANDOM_WEIGHTS_MESSAGE in m
                   for m in messages)
    _, messages = _logged(lambda: SoftGateInferencer(
        MPII_ALIAS, device='cpu', cfg_options=tiny_pose_cfg))
    assert not any(m.startswith(RANDOM_WEIGHTS_MESSAGE) for m in messages)
    assert any('initial (random) weights' in m for m in messages)


def test_whole_image_builds_no_detector(inferencer):
    assert inferencer.detector is None


@pytest.mark.parametrize('as_array', [False, True])
def test_copied_data_info_matches_mmpose(inferencer, two_people, as_array):
    """The caller's whole-image box gives exactly MMPose's own whole-image
    crop (its preprocess_single without a detector)."""
    image = cv2.imread(two_people) if as_array else two_people
    h, w = cv2.imread(two_people).shape[:2]
    ours = inferencer.preprocess_single(
        image, index=3, bboxes=np.array([[0, 0, w, h]], np.float32))
    theirs = Pose2DInferencer.preprocess_single(inferencer, image, index=3)
    assert len(ours) == len(theirs) == 1
    assert ours[0]['inputs'].equal(theirs[0]['inputs'])
    ours_meta = ours[0]['data_samples'].metainfo
    theirs_meta = theirs[0]['data_samples'].metainfo
    assert sorted(ours_meta) == sorted(theirs_meta)
    for key, value in theirs_meta.items():
        np.testing.assert_equal(ours_meta[key], value, err_msg=key)
    np.testing.assert_equal(ours[0]['data_samples'].gt_instances.bboxes,
                            theirs[0]['data_samples'].gt_instances.bboxes)


def _one_input_batch(inferencer, image, boxes):
    """The collated crops of one input with ``boxes``."""
    batches = inferencer.preprocess([image], bboxes=[boxes], bbox_thr=-1)
    return next(iter(batches))[0]


def test_copied_pose_nms_matches_mmpose(inferencer, two_people):
    """On one input the plugin's forward equals MMPose's, with the
    pose-based NMS and the box score filter; a duplicate box is
    suppressed."""
    boxes = [BOX_LEFT + [0.9], BOX_LEFT + [0.8], BOX_RIGHT + [0.2]]
    for kwargs in (dict(pose_based_nms=True), dict(bbox_thr=0.5),
                   dict(pose_based_nms=False)):
        data = _one_input_batch(inferencer, two_people, boxes)
        ours = inferencer.forward(data, **kwargs)
        data = _one_input_batch(inferencer, two_people, boxes)
        theirs = Pose2DInferencer.forward(inferencer, data, **kwargs)
        assert len(ours) == len(theirs) == 1
        a, b = ours[0].pred_instances, theirs[0].pred_instances
        np.testing.assert_equal(a.bboxes, b.bboxes)
        np.testing.assert_equal(a.keypoints, b.keypoints)
    kept = inferencer.forward(
        _one_input_batch(inferencer, two_people, boxes), pose_based_nms=True)
    assert kept[0].pred_instances.bbox_scores.tolist() == pytest.approx(
        [0.9, 0.2])


def test_pose_nms_per_input(inferencer, two_people):
    """Two inputs in one batch: an instance of one input never suppresses
    one of the other (MMPose merges a batch into one sample)."""
    batches = inferencer.preprocess([two_people, two_people],
                                    batch_size=2,
                                    bboxes=[[BOX_LEFT], [BOX_LEFT]])
    samples = inferencer.forward(next(iter(batches))[0], pose_based_nms=True)
    assert [len(s.pred_instances) for s in samples] == [1, 1]


def test_video_info_of_a_video(inferencer, mpii_images, write_video, tmp_path):
    """MMPose's _inputs_to_list gives the name and fps the plugin's video
    output uses."""
    video = write_video(mpii_images, str(tmp_path / 'clip.mp4'), fps=5.)
    frames = inferencer._inputs_to_list(video)
    assert len(frames) == len(mpii_images)
    assert inferencer.video_info['name'] == 'clip.mp4'
    assert inferencer.video_info['fps'] == pytest.approx(5.)
    assert inferencer.video_info['writer'] is None


def test_progress_bar_reads_the_length_hint():
    """MMPose's __call__ wraps preprocess() in rich's track, which takes
    the total from the batches' length hint."""
    from rich.console import Console
    from rich.progress import Progress, track
    assert base_mmpose_inferencer.track is track
    with Progress(console=Console(file=io.StringIO())) as progress:
        batches = progress.track(SizedBatches(iter(range(3)), 3))
        assert next(iter(batches)) == 0
        assert progress.tasks[0].total == 3
