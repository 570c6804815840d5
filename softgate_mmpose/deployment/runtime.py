# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""One session factory for the runtimes that run an exported model:
ONNX Runtime and OpenVINO.

Both read the ``.onnx`` file of :func:`~.export.export_onnx` directly
(OpenVINO also takes an IR ``.xml`` with its ``.bin`` beside it) and run it
on the CPU in float32, with:

- ONNX Runtime: all graph optimisations, one inter-op thread (sequential
  execution: these graphs are chains) and ``num_threads`` intra-op threads;
- OpenVINO: the ``LATENCY`` performance hint (one stream: every call of the
  tools and the estimator is synchronous, one request at a time, and batches
  of people come as the batch dimension, which a single stream already runs
  on all threads; ``THROUGHPUT`` pays off only with parallel asynchronous
  requests), ``INFERENCE_NUM_THREADS`` = ``num_threads`` and
  ``INFERENCE_PRECISION_HINT`` f32 (on CPUs with bf16 units OpenVINO may
  otherwise compute in bfloat16, which the PyTorch parity checks would not
  pass).
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: Runtimes of :func:`create_session` -> label in messages and reports.
RUNTIMES: Dict[str, str] = {
    'onnxruntime': 'ONNX Runtime',
    'openvino': 'OpenVINO',
}


@dataclass(frozen=True)
class TensorInfo:
    """Name and shape of a model input or output; ``None`` for a dynamic
    dimension."""
    name: str
    shape: Tuple[Optional[int], ...]


class RuntimeSession:
    """A loaded model of one runtime: ``session(x)`` runs it.

    Attributes:
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        model_file (str): The file it was loaded from.
        inputs (list[TensorInfo]): The model's inputs.
        outputs (list[TensorInfo]): The model's outputs.
    """

    backend = ''

    def __init__(self, model_file: str, inputs: List[TensorInfo],
                 outputs: List[TensorInfo]):
        self.model_file = model_file
        self.inputs = inputs
        self.outputs = outputs

    @property
    def output_names(self) -> List[str]:
        return [o.name for o in self.outputs]

    def __call__(self, inputs: np.ndarray) -> List[np.ndarray]:
        """Run the model on its single input.

        Args:
            inputs (np.ndarray): float32, e.g. (N, 3, H, W).

        Returns:
            list[np.ndarray]: Every output, in :attr:`outputs` order.
        """
        raise NotImplementedError


class OnnxRuntimeSession(RuntimeSession):
    """An ``onnxruntime.InferenceSession`` (see the module's settings)."""

    backend = 'onnxruntime'

    def __init__(self,
                 model_file: str,
                 num_threads: Optional[int] = None,
                 device: str = 'cpu'):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = \
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ['CPUExecutionProvider']
        if str(device).startswith('cuda') and \
                'CUDAExecutionProvider' in ort.get_available_providers():
            providers.insert(0, 'CUDAExecutionProvider')
        try:
            self.session = ort.InferenceSession(
                model_file, sess_options=options, providers=providers)
        except Exception as e:  # ORT raises its own Fail/InvalidProtobuf
            raise ValueError(f'ONNX Runtime cannot load {model_file}: '
                             f'{_first_line(e)}') from e
        super().__init__(model_file,
                         [_ort_info(i) for i in self.session.get_inputs()],
                         [_ort_info(o) for o in self.session.get_outputs()])

    def __call__(self, inputs: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self.inputs[0].name: inputs})


class OpenVinoSession(RuntimeSession):
    """An OpenVINO model compiled for the CPU (see the module's settings).

    Args:
        model_file (str): ``.onnx``, or an IR ``.xml`` with its ``.bin``.
        num_threads (int, optional): ``INFERENCE_NUM_THREADS``; ``None``
            keeps OpenVINO's default (the cores it may use).
        performance_hint (str): ``'LATENCY'`` or ``'THROUGHPUT'``.
    """

    backend = 'openvino'

    def __init__(self,
                 model_file: str,
                 num_threads: Optional[int] = None,
                 performance_hint: str = 'LATENCY'):
        import openvino as ov

        core = ov.Core()
        config = {
            'PERFORMANCE_HINT': performance_hint,
            'INFERENCE_PRECISION_HINT': 'f32',
        }
        if num_threads:
            config['INFERENCE_NUM_THREADS'] = int(num_threads)
        try:
            model = core.read_model(model_file)
            self.compiled = core.compile_model(model, 'CPU', config)
        except Exception as e:  # RuntimeError with OpenVINO's report
            raise ValueError(f'OpenVINO cannot load {model_file}: '
                             f'{_first_line(e)}') from e
        self.request = self.compiled.create_infer_request()
        super().__init__(model_file,
                         [_ov_info(i) for i in self.compiled.inputs],
                         [_ov_info(o) for o in self.compiled.outputs])

    def __call__(self, inputs: np.ndarray) -> List[np.ndarray]:
        # infer() copies the outputs out of the request's tensors, so they
        # stay valid after the next call.
        results = self.request.infer({self.inputs[0].name: inputs})
        return [results[o] for o in self.compiled.outputs]


def _first_line(error: Exception) -> str:
    """The first non-empty line of a runtime's (often long) report."""
    lines = [line.strip() for line in str(error).splitlines()]
    return next((line for line in lines if line), type(error).__name__)


def _dim(value) -> Optional[int]:
    return value if isinstance(value, int) and value > 0 else None


def _ort_info(node) -> TensorInfo:
    return TensorInfo(node.name, tuple(_dim(d) for d in node.shape))


def _ov_info(port) -> TensorInfo:
    shape = tuple(d.get_length() if d.is_static else None
                  for d in port.get_partial_shape())
    return TensorInfo(port.get_any_name(), shape)


def check_runtime(backend: str) -> None:
    """Raise ``ValueError`` for an unknown runtime, ``ImportError`` with the
    package to install for one that is not installed."""
    if backend not in RUNTIMES:
        raise ValueError(f'unknown runtime {backend!r}; choose from '
                         f'{", ".join(RUNTIMES)}')
    try:
        __import__(backend)
    except ImportError as e:
        raise ImportError(
            f'the {RUNTIMES[backend]} runtime needs the {backend!r} package '
            f'(pip install -r requirements/runtime.txt): {e}') from e


def create_session(model_file: str,
                   backend: str = 'onnxruntime',
                   num_threads: Optional[int] = None,
                   device: str = 'cpu') -> RuntimeSession:
    """Load an exported model into a runtime.

    Args:
        model_file (str): The ``.onnx`` file (OpenVINO: or an IR ``.xml``).
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        num_threads (int, optional): Threads of one call; ``None`` keeps the
            runtime's default (all cores).
        device (str): ``'cuda...'`` puts ONNX Runtime's CUDA provider first
            where it is available; OpenVINO always runs on the CPU.

    Returns:
        RuntimeSession: Call it with the input batch.

    Raises:
        FileNotFoundError: A missing file (named).
        ValueError: An unknown runtime, or a file the runtime cannot load
            (named, with the runtime's reason).
    """
    check_runtime(backend)
    model_file = os.fspath(model_file)
    if not osp.isfile(model_file):
        raise FileNotFoundError(
            f'{RUNTIMES[backend]} model file not found: {model_file}')
    if backend == 'onnxruntime':
        return OnnxRuntimeSession(model_file, num_threads, device)
    return OpenVinoSession(model_file, num_threads)


def runtime_version(backend: str) -> str:
    """The installed version of a runtime's package."""
    return __import__(backend).__version__


__all__: Sequence[str] = [
    'RUNTIMES', 'TensorInfo', 'RuntimeSession', 'OnnxRuntimeSession',
    'OpenVinoSession', 'check_runtime', 'create_session', 'runtime_version'
]
