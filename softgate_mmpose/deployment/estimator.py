# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Top-down heatmap pose estimation with an exported model in ONNX Runtime
or OpenVINO.

The exported file (:func:`~.export.export_onnx`) holds backbone and head up
to the heatmaps. Everything around it stays MMPose's, taken from the same
config as the PyTorch model: the test pipeline (crop), the data
preprocessor (normalisation), flip test, the codec's decoding
(:meth:`BaseHead.decode`) and the mapping back to image coordinates
(:meth:`TopdownPoseEstimator.add_pred_to_datasample`). So keypoints differ
from PyTorch's only by the numerical difference of the runtimes.
"""
import os
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.structures import PoseDataSample
from torch import Tensor

from .runtime import RUNTIMES, create_session

#: Backends of the inferencer, ``init_model`` and the benchmark.
BACKENDS = ('pytorch', 'onnxruntime', 'openvino')
#: Extensions of exported models (OpenVINO also reads its IR ``.xml``).
EXPORT_EXTENSIONS = {'onnxruntime': ('.onnx', ), 'openvino': ('.onnx', '.xml')}


def select_backend(weights: Optional[str],
                   backend: Optional[str] = None) -> str:
    """The backend for ``weights``: ``backend`` if given, else
    ``'onnxruntime'`` for an ``.onnx`` file, ``'openvino'`` for an IR
    ``.xml`` and ``'pytorch'`` otherwise.

    Raises:
        ValueError: An unknown backend, a runtime backend without an
            exported file, or an exported file for ``'pytorch'``.
    """
    ext = os.path.splitext(str(weights))[1].lower() if weights else ''
    exported = ext in ('.onnx', '.xml')
    if backend is None:
        return {'.onnx': 'onnxruntime', '.xml': 'openvino'}.get(ext, 'pytorch')
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend in RUNTIMES and ext not in EXPORT_EXTENSIONS[backend]:
        raise ValueError(
            f'The {backend} backend needs the exported model as weights '
            f'({" or ".join(EXPORT_EXTENSIONS[backend])}, written by '
            f'tools/deployment/pytorch2onnx.py), got {weights}.')
    if backend == 'pytorch' and exported:
        raise ValueError(f'{weights} is an exported model: use the '
                         'onnxruntime or openvino backend (or a PyTorch '
                         'checkpoint)')
    return backend


class RuntimePoseEstimator(nn.Module):
    """A top-down heatmap estimator whose network runs in ONNX Runtime or
    OpenVINO.

    It stands in for the PyTorch ``TopdownPoseEstimator`` it is built from
    (``test_step``, ``cfg``, ``dataset_meta``, ``test_cfg``), whose data
    preprocessor, head decoding and test-time settings it uses; the PyTorch
    network itself is not run.

    The model's input is ``(N, 3, H, W)`` of the config's crop size; its
    heatmap output ``(N, K, h, w)``. A file exported with a dynamic batch
    runs all crops of a batch in one call; a fixed-batch file (``N`` fixed,
    e.g. 1) runs them in chunks of ``N``, the last one padded.

    Args:
        model_file (str): The exported model (``.onnx``; OpenVINO also
            reads an IR ``.xml``).
        pose_estimator (nn.Module): The config's ``TopdownPoseEstimator``
            (weights are not used).
        backend (str): ``'onnxruntime'`` or ``'openvino'``. Defaults to
            ``'onnxruntime'``.
        output_name (str, optional): The heatmap output. Defaults to
            ``'heatmaps'`` (the name the export gives it), else the model's
            last output.
        device (str, optional): ``'cuda...'`` puts ONNX Runtime's CUDA
            provider first when it is available. Defaults to CPU.
        num_threads (int, optional): The runtime's threads; ``None`` keeps
            its default (all cores).

    Raises:
        FileNotFoundError: A missing file.
        ValueError: A file the runtime cannot load, or one whose input size,
            joint count or heatmap size differs from the config's (the
            message names the file).
    """

    def __init__(self,
                 model_file: str,
                 pose_estimator: nn.Module,
                 backend: str = 'onnxruntime',
                 output_name: Optional[str] = None,
                 device: Optional[str] = None,
                 num_threads: Optional[int] = None) -> None:
        super().__init__()
        model_file = str(model_file)
        self.model_file = model_file
        self.backend = backend
        self.estimator = pose_estimator
        self.session = create_session(
            model_file, backend, num_threads, device=str(device or 'cpu'))
        inputs, outputs = self.session.inputs, self.session.outputs
        if len(inputs) != 1:
            raise ValueError(f'{model_file} has {len(inputs)} inputs; a pose '
                             'model export has one (the image batch)')
        names = self.session.output_names
        if output_name is None:  # the export names it 'heatmaps'
            output_name = 'heatmaps' if 'heatmaps' in names else names[-1]
        elif output_name not in names:
            raise ValueError(f'{model_file} has no output {output_name!r} '
                             f'(outputs: {names})')
        self.output_name = output_name
        self._output_index = names.index(output_name)
        in_shape = list(inputs[0].shape)
        out_shape = list(outputs[self._output_index].shape)
        if len(in_shape) != 4 or len(out_shape) != 4:
            raise ValueError(
                f'{model_file}: expected an (N, 3, H, W) input and an '
                f'(N, K, h, w) heatmap output, got {in_shape} and '
                f'{out_shape} (only heatmap heads are supported)')
        self.batch_size = in_shape[0]  # None: dynamic
        self._check_shapes(in_shape, out_shape)

    @property
    def onnx_file(self) -> str:
        """The model file (the name of the ONNX Runtime estimator)."""
        return self.model_file

    # ------------------------------------------------------------ checks
    def _expected_sizes(self):
        """``(K, (W, H) input, (w, h) heatmap)`` of the config."""
        codec = self.estimator.head.decoder
        return (self.num_keypoints, tuple(codec.input_size),
                tuple(getattr(codec, 'heatmap_size', ()) or ()))

    @property
    def num_keypoints(self) -> int:
        """The joint count of the config's model (its head's output)."""
        out = getattr(self.estimator.head, 'out_channels', None)
        if isinstance(out, int):
            return out
        return int(self.estimator.dataset_meta['num_keypoints'])

    def _check_shapes(self, in_shape: list, out_shape: list) -> None:
        num_keypoints, (in_w, in_h), heatmap_size = self._expected_sizes()
        k = out_shape[1]
        if k is not None and k != num_keypoints:
            raise ValueError(
                f'{self.model_file} predicts {k} keypoints, but the config '
                f'builds a model for {num_keypoints}: export the model of '
                'this config (or use the config of the exported model).')
        h, w = in_shape[2], in_shape[3]
        if (h, w) != (in_h, in_w) and h is not None and w is not None:
            raise ValueError(
                f'{self.model_file} takes {w}x{h} inputs, but the config '
                f'crops {in_w}x{in_h}: export with --shape 1 3 {in_h} {in_w}.')
        if heatmap_size and None not in (out_shape[2], out_shape[3]):
            hw = (out_shape[3], out_shape[2])
            if hw != tuple(heatmap_size):
                raise ValueError(
                    f'{self.model_file} outputs {hw[0]}x{hw[1]} heatmaps, but '
                    "the config's codec decodes "
                    f'{heatmap_size[0]}x{heatmap_size[1]}.')

    # ---------------------------------------------------- model interface
    @property
    def cfg(self):
        return self.estimator.cfg

    @property
    def dataset_meta(self) -> Dict:
        return self.estimator.dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, value: Dict) -> None:
        self.estimator.dataset_meta = value

    @property
    def test_cfg(self) -> Dict:
        return self.estimator.test_cfg

    @property
    def data_preprocessor(self) -> nn.Module:
        return self.estimator.data_preprocessor

    @property
    def head(self) -> nn.Module:
        return self.estimator.head

    def heatmaps(self, inputs: Tensor) -> Tensor:
        """Run the network in the runtime.

        Args:
            inputs (Tensor): Normalised crops, shape (N, 3, H, W).

        Returns:
            Tensor: Heatmaps, shape (N, K, h, w), on ``inputs``' device.
        """
        batch = inputs.detach().float().cpu().numpy()
        n = len(batch)
        chunk = self.batch_size or n
        outputs = []
        for start in range(0, n, chunk):
            part = batch[start:start + chunk]
            if len(part) < chunk:  # a fixed-batch file: pad the last chunk
                pad = np.zeros((chunk - len(part), *part.shape[1:]),
                               dtype=part.dtype)
                part = np.concatenate([part, pad])
            out = self.session(part)[self._output_index]
            outputs.append(out[:min(chunk, n - start)])
        heatmaps = np.concatenate(outputs)
        if heatmaps.shape[1] != self.num_keypoints:
            raise ValueError(
                f'{self.model_file} predicted {heatmaps.shape[1]} keypoints, '
                f'but the config builds a model for {self.num_keypoints}.')
        return torch.from_numpy(heatmaps).to(inputs.device)

    def predict(self, inputs: Tensor,
                data_samples: List[PoseDataSample]) -> List[PoseDataSample]:
        """``TopdownPoseEstimator.predict`` with the network in the runtime:
        the same flip test, codec decoding and coordinate mapping."""
        test_cfg = self.test_cfg
        batch_heatmaps = self.heatmaps(inputs)
        if test_cfg.get('flip_test', False):
            flipped = flip_heatmaps(
                self.heatmaps(inputs.flip(-1)),
                flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                flip_indices=data_samples[0].metainfo['flip_indices'],
                shift_heatmap=test_cfg.get('shift_heatmap', False))
            batch_heatmaps = (batch_heatmaps + flipped) * 0.5
        preds = self.head.decode(batch_heatmaps)
        fields = [PixelData(heatmaps=hm) for hm in batch_heatmaps] \
            if test_cfg.get('output_heatmaps', False) else None
        return self.estimator.add_pred_to_datasample(preds, fields,
                                                     data_samples)

    @torch.no_grad()
    def test_step(self, data: Union[dict, tuple, list]) -> List:
        """Preprocess a collated batch and predict, as ``BaseModel``."""
        data = self.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    def forward(self, inputs: Tensor) -> Tensor:  # noqa: D401
        """The heatmaps of normalised crops (see :meth:`heatmaps`)."""
        return self.heatmaps(inputs)


def build_runtime_estimator(
        model_file: str,
        pose_estimator: nn.Module,
        backend: str = 'onnxruntime',
        device: Optional[str] = None,
        num_threads: Optional[int] = None,
        output_name: Optional[str] = None) -> RuntimePoseEstimator:
    """Wrap ``pose_estimator``'s config around an exported model run by
    ``backend``; logs which batching the file allows.

    Args:
        model_file (str): The exported model.
        pose_estimator (nn.Module): The config's ``TopdownPoseEstimator``.
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        device (str, optional): See :class:`RuntimePoseEstimator`.
        num_threads (int, optional): The runtime's threads.
        output_name (str, optional): The heatmap output.

    Returns:
        RuntimePoseEstimator: Runs as the PyTorch estimator does.
    """
    model = RuntimePoseEstimator(
        model_file,
        pose_estimator,
        backend=backend,
        output_name=output_name,
        device=device,
        num_threads=num_threads)
    if model.batch_size is not None:
        print_log(
            f'{model_file} has a fixed batch of {model.batch_size}: crops '
            f'run in chunks of {model.batch_size} (export with '
            '--dynamic-batch to run a whole batch at once).',
            logger='current')
    return model


#: The estimator's name from when it ran ONNX Runtime only.
OnnxRuntimePoseEstimator = RuntimePoseEstimator

__all__: Sequence[str] = [
    'BACKENDS', 'RuntimePoseEstimator', 'OnnxRuntimePoseEstimator',
    'build_runtime_estimator', 'select_backend'
]
