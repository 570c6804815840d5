# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The backends a network is timed in: eager PyTorch, ONNX Runtime and
OpenVINO.

All run the same network, built by
:func:`softgate_mmpose.deployment.build_model` and, for the runtimes,
exported by :func:`~softgate_mmpose.deployment.export_onnx` and loaded by
:func:`~softgate_mmpose.deployment.create_session`: the normalised image
batch to the head's outputs (the heatmaps, or a SimCC head's two vectors).
"""
from typing import Callable, Dict, Sequence

import numpy as np
import torch
import torch.nn as nn

from softgate_mmpose.deployment import RUNTIMES, check_runtime, create_session
from .configs import BenchmarkError

#: Backend name -> label in reports.
BACKENDS: Dict[str, str] = {'pytorch': 'PyTorch', **RUNTIMES}


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
    for backend in backends:
        if backend == 'pytorch':
            continue
        try:
            check_runtime(backend)
        except ImportError as e:
            raise BenchmarkError(f'--backend {backend}: {e}') from e
    if device.type != 'cpu' and 'openvino' in backends:
        raise BenchmarkError('--backend openvino runs on the CPU only; use '
                             '--device cpu')
    if device.type != 'cpu' and 'onnxruntime' in backends:
        import onnxruntime
        if 'CUDAExecutionProvider' not in \
                onnxruntime.get_available_providers():
            raise BenchmarkError(
                f'--backend onnxruntime --device {device.type}: this '
                "onnxruntime has no CUDAExecutionProvider (pip package "
                "'onnxruntime-gpu'); use --device cpu")


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


class RuntimeRunner:
    """A runtime session of the exported network (ONNX Runtime, OpenVINO).

    Args:
        backend: ``'onnxruntime'`` or ``'openvino'``.
        onnx_file: The exported network.
        threads: The runtime's threads per call.
        device: ``cuda`` runs ONNX Runtime's CUDA execution provider.
    """

    def __init__(self, backend: str, onnx_file: str, threads: int,
                 device: torch.device):
        self.backend = backend
        self.session = create_session(
            onnx_file, backend, threads, device=str(device))

    def make_inputs(self, batch: int, shape: Sequence[int]) -> np.ndarray:
        return np.random.default_rng(0).standard_normal(
            (batch, *shape)).astype(np.float32)

    def __call__(self, inputs: np.ndarray):
        return self.session(inputs)


def make_runner(backend: str, network: nn.Module, device: torch.device,
                threads: int, onnx_file: str) -> Callable:
    """A runner of ``network`` under ``backend`` (a runtime loads the
    network's export, ``onnx_file``)."""
    if backend == 'pytorch':
        return PyTorchRunner(network, device)
    try:
        return RuntimeRunner(backend, onnx_file, threads, device)
    except (ValueError, FileNotFoundError) as e:
        raise BenchmarkError(str(e)) from e
