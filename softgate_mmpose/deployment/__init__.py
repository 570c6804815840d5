# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Export a top-down pose model to ONNX and run it in ONNX Runtime or
OpenVINO.

- :mod:`.config`: config files (``package::path``), the input shape;
- :mod:`.export`: the exportable network (:class:`HeatmapModel`),
  :func:`build_model` (``num_stacks``, the deploy transform) and
  :func:`export_onnx`;
- :mod:`.runtime`: :func:`create_session`, one factory for both runtimes;
- :mod:`.verify`: :func:`relative_difference` and :func:`verify` against
  PyTorch;
- :mod:`.estimator`: :class:`RuntimePoseEstimator`, the exported network
  with MMPose's pre- and post-processing (:func:`build_runtime_estimator`,
  :func:`select_backend`).

``tools/deployment/pytorch2onnx.py`` is the command line over it.
"""
from .config import (ExportError, config_name, input_shape_of, load_config,
                     package_config_root, resolve_config)
from .estimator import (BACKENDS, OnnxRuntimePoseEstimator,
                        RuntimePoseEstimator, build_runtime_estimator,
                        select_backend)
from .export import (DEFAULT_OPSET, INPUT_NAME, HeatmapModel, build_model,
                     check_output_path, export_onnx)
from .runtime import (RUNTIMES, RuntimeSession, check_runtime, create_session,
                      runtime_version)
from .verify import (DEFAULT_TOLERANCE, flat_outputs, relative_difference,
                     torch_outputs, verify)

__all__ = [
    'BACKENDS', 'DEFAULT_OPSET', 'DEFAULT_TOLERANCE', 'ExportError',
    'HeatmapModel', 'INPUT_NAME', 'OnnxRuntimePoseEstimator', 'RUNTIMES',
    'RuntimePoseEstimator', 'RuntimeSession', 'build_model',
    'build_runtime_estimator', 'check_output_path', 'check_runtime',
    'config_name', 'create_session', 'export_onnx', 'flat_outputs',
    'input_shape_of', 'load_config', 'package_config_root',
    'relative_difference', 'resolve_config', 'runtime_version',
    'select_backend', 'torch_outputs', 'verify'
]
