# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from .inputs import list_image_files
from .pose2d_inferencer import SoftGatePose2DInferencer
from .softgate_inferencer import SoftGateInferencer

__all__ = [
    'SoftGateInferencer', 'SoftGatePose2DInferencer', 'list_image_files'
]
