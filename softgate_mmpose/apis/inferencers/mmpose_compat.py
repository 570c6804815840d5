# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""What the plugin's inferencer assumes about MMPose beyond its public API.

The inferencer composes MMPose's public methods (``preprocess_single``,
``preprocess``, ``forward``, ``visualize``, ``save_visualization``,
``postprocess``, ``__call__``) and overrides none of its underscored ones. One
assumption remains, named here so that an MMPose upgrade has one place to
check (``tests/test_apis/test_mmpose_compat.py`` pins the version):

- MMPose's inferencers log :data:`RANDOM_WEIGHTS_MESSAGE` when they are built
  without weights. The plugin builds MMPose's inferencer without weights and
  loads them itself, through its strict checkpoint check (or runs the model
  in ONNX Runtime), so that message would be wrong; it is filtered out while
  the inferencer is built, and the plugin logs its own when there really are
  no weights.
"""
import contextlib
import logging
from typing import Iterator

from mmengine.logging import MMLogger

#: The MMPose release these assumptions were checked against.
MMPOSE_VERSION = '1.3.2'

#: Start of the warning of ``BaseMMPoseInferencer._load_weights_to_model``
#: for a model built without a checkpoint.
RANDOM_WEIGHTS_MESSAGE = 'Checkpoint is not loaded'


class _DropMessage(logging.Filter):

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.prefix)


@contextlib.contextmanager
def without_random_weights_warning() -> Iterator[None]:
    """Drop MMPose's "Checkpoint is not loaded" warning from the current
    mmengine logger inside the block."""
    logger = MMLogger.get_current_instance()
    drop = _DropMessage(RANDOM_WEIGHTS_MESSAGE)
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)
