# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Inference with the plugin's models through MMPose's APIs.

Not imported by ``softgate_mmpose`` itself (as ``mmpose.apis`` is not by
``mmpose``): it pulls in MMPose's and MMDetection's inferencers.
"""
import softgate_mmpose  # noqa: F401  (registers the plugin's modules)
from .checkpoint_check import check_checkpoint_compatibility
from .inference import init_model
from .inferencers import SoftGateInferencer, SoftGatePose2DInferencer
from .model_aliases import (MODEL_ALIASES, get_config_root, list_model_aliases,
                            resolve_model)

__all__ = [
    'SoftGateInferencer', 'SoftGatePose2DInferencer', 'init_model',
    'check_checkpoint_compatibility', 'MODEL_ALIASES', 'get_config_root',
    'list_model_aliases', 'resolve_model'
]
