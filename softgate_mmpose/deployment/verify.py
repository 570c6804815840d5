# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""How far a runtime's outputs are from PyTorch's, relative to the peak."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .export import model_device
from .runtime import RuntimeSession, create_session

#: Largest accepted ``max |runtime - PyTorch| / max |PyTorch|`` of an
#: export: float32 kernels of another library sum in another order (and
#: fuse BN into convs), which moves the heatmaps by a few ulps of the peak
#: per layer.
DEFAULT_TOLERANCE = 1e-4


def relative_difference(actual: Sequence[np.ndarray],
                        expected: Sequence[np.ndarray]) -> float:
    """``max |actual - expected| / max |expected|`` over all outputs
    (``inf`` when the outputs do not correspond)."""
    if len(actual) != len(expected):
        return float('inf')
    worst = 0.
    for a, e in zip(actual, expected):
        a, e = np.asarray(a), np.asarray(e)
        if a.shape != e.shape:
            return float('inf')
        peak = float(np.abs(e).max())
        diff = float(np.abs(a - e).max())
        worst = max(worst, diff / peak if peak > 0 else diff)
    return worst


def torch_outputs(model: nn.Module, inputs: np.ndarray) -> List[np.ndarray]:
    """PyTorch's outputs of ``model`` on ``inputs`` as float32 arrays."""
    with torch.no_grad():
        out = model(torch.from_numpy(inputs).to(model_device(model)))
    return [t.float().cpu().numpy() for t in flat_outputs(out)]


def flat_outputs(outputs) -> List[Tensor]:
    """The tensors of a network output (a tensor or a tuple of them)."""
    if isinstance(outputs, Tensor):
        return [outputs]
    return [t for o in outputs for t in flat_outputs(o)]


def verify(model: nn.Module,
           model_file: Union[str, RuntimeSession],
           shape: Sequence[int],
           backend: str = 'onnxruntime',
           seed: int = 0,
           num_threads: Optional[int] = None) -> float:
    """Largest difference between a runtime and PyTorch, relative to the
    outputs' peak, on a random input.

    Args:
        model (nn.Module): The exported model, in eval mode.
        model_file (str | RuntimeSession): Its exported file, or a session
            of it.
        shape (Sequence[int]): Input shape (N, C, H, W).
        backend (str): ``'onnxruntime'`` or ``'openvino'`` (for a file).
        seed (int): Seed of the random input. Defaults to 0.
        num_threads (int, optional): The runtime's threads.

    Returns:
        float: ``max |runtime - torch| / max |torch|`` over all outputs.
    """
    session = model_file if isinstance(model_file, RuntimeSession) else \
        create_session(model_file, backend, num_threads)
    x = np.random.default_rng(seed).standard_normal(tuple(shape)).astype(
        np.float32)
    return relative_difference(session(x), torch_outputs(model, x))
