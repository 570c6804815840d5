# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The backends a network is timed in: eager PyTorch and ONNX Runtime.

Both run the same network, built and (for ONNX Runtime) exported by
``tools/deployment/pytorch2onnx.py``: the normalised image batch to the
head's outputs (the last stack's heatmaps, or a SimCC head's two vectors).
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .configs import BenchmarkError

#: Backend name -> label in reports.
BACKENDS: Dict[str, str] = {
    'pytorch': 'PyTorch',
    'onnxruntime': 'ONNX Runtime',
}

_DEPLOYMENT_TOOL = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'deployment', 'pytorch2onnx.py')


def deployment_tool() -> ModuleType:
    """``tools/deployment/pytorch2onnx.py`` as a module (``tools/`` is not
    a package): its ``build_model``, ``export_onnx`` and ``input_shape_of``
    build and export the networks benchmarked here."""
    name = 'softgate_tools.deployment.pytorch2onnx'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _DEPLOYMENT_TOOL)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def check_backends(backends: Sequence[str], device: torch.device) -> None:
    """Raise :class:`BenchmarkError` for an unknown or unusable backend."""
    if not backends:
        raise BenchmarkError('no backend given')
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise BenchmarkError(
            f'unknown backend {", ".join(map(repr, unknown))}; choose from '
            f'{", ".join(BACKENDS)}')
    if len(set(backends)) != len(backends):
        raise BenchmarkError(f'backend given twice: {" ".join(backends)}')
    if 'onnxruntime' in backends:
        try:
            import onnxruntime
        except ImportError as e:
            raise BenchmarkError(
                '--backend onnxruntime: onnxruntime is not installed '
                f'({e})') from e
        if device.type != 'cpu' and 'CUDAExecutionProvider' not in \
                onnxruntime.get_available_providers():
            raise BenchmarkError(
                f'--backend onnxruntime --device {device.type}: this '
                "onnxruntime has no CUDAExecutionProvider (pip package "
                "'onnxruntime-gpu'); use --device cpu")


def flat_outputs(outputs) -> List[torch.Tensor]:
    """The tensors of a network output (a tensor or a tuple of them)."""
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for o in outputs for t in flat_outputs(o)]


class PyTorchRunner:
    """Eager PyTorch: ``network(inputs)`` (the caller disables autograd)."""

    backend = 'pytorch'

    def __init__(self, network: nn.Module, device: torch.device):
        self.network = network
        self.device = device

    def make_inputs(self, batch: int, shape: Sequence[int]) -> torch.Tensor:
        return torch.randn(batch, *shape, device=self.device)

    def __call__(self, inputs: torch.Tensor):
        return self.network(inputs)


class OnnxRuntimeRunner:
    """An ``onnxruntime.InferenceSession`` of the exported network.

    Args:
        onnx_file: The exported network.
        threads: ``intra_op_num_threads`` of the session (one inter-op
            thread, sequential execution, all graph optimisations).
        device: ``cpu`` runs the CPU execution provider, ``cuda`` the CUDA
            one.
    """

    backend = 'onnxruntime'

    def __init__(self, onnx_file: str, threads: int, device: torch.device):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = \
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = (['CUDAExecutionProvider', 'CPUExecutionProvider']
                     if device.type == 'cuda' else ['CPUExecutionProvider'])
        self.session = ort.InferenceSession(
            onnx_file, sess_options=options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name
        self.onnx_file = onnx_file

    def make_inputs(self, batch: int, shape: Sequence[int]) -> np.ndarray:
        return np.random.default_rng(0).standard_normal(
            (batch, *shape)).astype(np.float32)

    def __call__(self, inputs: np.ndarray):
        return self.session.run(None, {self.input_name: inputs})


def relative_difference(actual: Sequence[np.ndarray],
                        expected: Sequence[np.ndarray]) -> float:
    """The deployment tool's ``max |actual - expected| / max |expected|``."""
    return deployment_tool().relative_difference(actual, expected)


def export_network(network: nn.Module, onnx_file: str,
                   shape: Sequence[int], dynamic_batch: bool) -> None:
    """Export with ``tools/deployment/pytorch2onnx.py``'s ``export_onnx``.

    Raises:
        BenchmarkError: If the export fails (the exporter's message).
    """
    tool = deployment_tool()
    try:
        tool.export_onnx(
            network, onnx_file, shape=tuple(shape),
            dynamic_batch=dynamic_batch)
    except Exception as e:  # the exporter's errors, torch.onnx's
        raise BenchmarkError(
            f'ONNX export failed: {type(e).__name__}: {e}') from e


def make_runner(backend: str, network: nn.Module, device: torch.device,
                threads: int, onnx_file: Optional[str],
                shape: Sequence[int], dynamic_batch: bool) -> Callable:
    """A runner of ``network`` under ``backend`` (exports it first for
    ONNX Runtime, to ``onnx_file``)."""
    if backend == 'pytorch':
        return PyTorchRunner(network, device)
    export_network(network, onnx_file, (1, *shape), dynamic_batch)
    return OnnxRuntimeRunner(onnx_file, threads, device)
