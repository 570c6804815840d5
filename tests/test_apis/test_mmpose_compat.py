# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The inferencer's assumptions about MMPose (softgate_mmpose/apis/inferencers/
mmpose_compat.py) hold for the installed MMPose."""
import inspect
import logging

import mmpose
from mmengine.logging import MMLogger

from mmpose.apis.inferencers import Pose2DInferencer
from softgate_mmpose.apis import SoftGateInferencer, SoftGatePose2DInferencer
from softgate_mmpose.apis.inferencers.mmpose_compat import (
    MMPOSE_VERSION, RANDOM_WEIGHTS_MESSAGE)


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
        f'{mmpose.__version__} is installed: re-check its assumptions')


def test_no_underscored_method_of_mmpose_is_overridden():
    """The plugin composes MMPose's public methods only."""
    ours = []
    for cls in (SoftGatePose2DInferencer, SoftGateInferencer):
        for name, value in vars(cls).items():
            if name.startswith('_') and not name.startswith('__') and \
                    callable(value):
                ours.append(f'{cls.__name__}.{name}')
    mmpose_private = {
        name
        for klass in inspect.getmro(Pose2DInferencer)
        for name in vars(klass) if name.startswith('_')
        and not name.startswith('__')
    }
    overridden = [n for n in ours if n.split('.')[1] in mmpose_private]
    assert overridden == []


def test_random_weights_message(tiny_pose_cfg, mpii_tiny_ckpt):
    """MMPose logs the message the plugin filters; the plugin logs its own
    only when there really are no weights."""
    from mmengine.config import Config

    from softgate_mmpose.apis import list_model_aliases
    cfg = Config.fromfile(list_model_aliases()['softgate-hg4_mpii'])
    cfg.merge_from_dict(tiny_pose_cfg)
    _, messages = _logged(lambda: Pose2DInferencer(
        cfg, None, device='cpu', det_model='whole_image'))
    assert any(m.startswith(RANDOM_WEIGHTS_MESSAGE) for m in messages)

    _, messages = _logged(lambda: SoftGateInferencer(
        'softgate-hg4_mpii', mpii_tiny_ckpt, device='cpu',
        cfg_options=tiny_pose_cfg))
    assert not any('random' in m or RANDOM_WEIGHTS_MESSAGE in m
                   for m in messages)
    _, messages = _logged(lambda: SoftGateInferencer(
        'softgate-hg4_mpii', device='cpu', cfg_options=tiny_pose_cfg))
    assert not any(m.startswith(RANDOM_WEIGHTS_MESSAGE) for m in messages)
    assert any('initial (random) weights' in m for m in messages)
