# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Inference with the plugin's models through MMPose's APIs.

Not imported by ``softgate_mmpose`` itself (as ``mmpose.apis`` is not by
``mmpose``): it pulls in MMPose's and MMDetection's inferencers.

Public API: :class:`SoftGateInferencer` (and
:class:`SoftGatePose2DInferencer`), :func:`init_model` (for
:func:`mmpose.apis.inference_topdown`), :class:`RuntimePoseEstimator` (an
exported model in ONNX Runtime or OpenVINO; :class:`OnnxRuntimePoseEstimator`
is its former name), the alias resolution
(:func:`resolve_model`, :func:`list_model_aliases`, :func:`get_config_root`),
the metafile reader (:func:`read_models`, :func:`read_metafile`) and
:func:`check_checkpoint_compatibility` (from
:mod:`softgate_mmpose.utils.checkpoint`).
"""
import softgate_mmpose  # noqa: F401  (registers the plugin's modules)
from ..deployment import OnnxRuntimePoseEstimator, RuntimePoseEstimator
from ..utils.checkpoint import check_checkpoint_compatibility
from .inference import init_model
from .inferencers import SoftGateInferencer, SoftGatePose2DInferencer
from .metafile import MetafileModel, read_metafile, read_models
from .model_aliases import (find_mmpose_model, get_config_root,
                            list_model_aliases, resolve_model)

__all__ = [
    'SoftGateInferencer', 'SoftGatePose2DInferencer', 'init_model',
    'OnnxRuntimePoseEstimator', 'RuntimePoseEstimator',
    'check_checkpoint_compatibility', 'find_mmpose_model', 'get_config_root',
    'list_model_aliases', 'MetafileModel', 'read_metafile', 'read_models',
    'resolve_model'
]
