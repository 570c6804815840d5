# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Top-down heatmap pose estimation with an exported model in ONNX Runtime.

The ``.onnx`` file of ``tools/deployment/pytorch2onnx.py`` holds backbone and
head up to the heatmaps. Everything around it stays MMPose's, taken from the
same config as the PyTorch model: the test pipeline (crop), the data
preprocessor (normalisation), flip test, the codec's decoding
(:meth:`BaseHead.decode`) and the mapping back to image coordinates
(:meth:`TopdownPoseEstimator.add_pred_to_datasample`). So keypoints differ
from PyTorch's only by the numerical difference of the two runtimes.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.structures import PixelData
from torch import Tensor

from mmpose.models.utils.tta import flip_heatmaps
from mmpose.structures import PoseDataSample

#: Backends of the inferencer and ``init_model``.
BACKENDS = ('pytorch', 'onnxruntime')


def select_backend(weights: Optional[str],
                   backend: Optional[str] = None) -> str:
    """The backend for ``weights``: ``backend`` if given, else
    ``'onnxruntime'`` for an ``.onnx`` file and ``'pytorch'`` otherwise.

    Raises:
        ValueError: An unknown backend, or ``'onnxruntime'`` without an
            ``.onnx`` file.
    """
    is_onnx = weights is not None and str(weights).lower().endswith('.onnx')
    if backend is None:
        return 'onnxruntime' if is_onnx else 'pytorch'
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'onnxruntime' and weights is None:
        raise ValueError('The onnxruntime backend needs the .onnx file as '
                         'weights (export one with '
                         'tools/deployment/pytorch2onnx.py).')
    if backend == 'pytorch' and is_onnx:
        raise ValueError(f'{weights} is an ONNX model: use the onnxruntime '
                         'backend (or a PyTorch checkpoint)')
    return backend


def _dim(value) -> Optional[int]:
    """A static ONNX dimension, or ``None`` for a symbolic one."""
    return value if isinstance(value, int) and value > 0 else None


class OnnxRuntimePoseEstimator(nn.Module):
    """A top-down heatmap estimator whose network runs in ONNX Runtime.

    It stands in for the PyTorch ``TopdownPoseEstimator`` it is built from
    (``test_step``, ``cfg``, ``dataset_meta``, ``test_cfg``), whose data
    preprocessor, head decoding and test-time settings it uses; the PyTorch
    network itself is not run.

    The ``.onnx`` input is ``(N, 3, H, W)`` of the config's crop size; its
    heatmap output ``(N, K, h, w)``. A file exported with a dynamic batch
    runs all crops of a batch in one call; a fixed-batch file (``N`` fixed,
    e.g. 1) runs them in chunks of ``N``, the last one padded.

    Args:
        onnx_file (str): The exported model.
        pose_estimator (nn.Module): The config's ``TopdownPoseEstimator``
            (weights are not used).
        output_name (str, optional): The heatmap output. Defaults to
            ``'heatmaps'`` (the name ``tools/deployment/pytorch2onnx.py``
            gives it), else the model's last output.
        device (str, optional): ``'cuda...'`` puts ONNX Runtime's CUDA
            provider first when it is available. Defaults to CPU.
        num_threads (int, optional): ONNX Runtime intra-op threads; ``None``
            keeps its default (all cores).

    Raises:
        FileNotFoundError: A missing file.
        ValueError: A file ONNX Runtime cannot load, or one whose input size,
            joint count or heatmap size differs from the config's (the
            message names the file).
    """

    def __init__(self,
                 onnx_file: str,
                 pose_estimator: nn.Module,
                 output_name: Optional[str] = None,
                 device: Optional[str] = None,
                 num_threads: Optional[int] = None) -> None:
        super().__init__()
        import onnxruntime as ort

        onnx_file = str(onnx_file)
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX model file not found: {onnx_file}')
        self.onnx_file = onnx_file
        self.estimator = pose_estimator
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        providers = ['CPUExecutionProvider']
        if device and str(device).startswith('cuda') and \
                'CUDAExecutionProvider' in ort.get_available_providers():
            providers.insert(0, 'CUDAExecutionProvider')
        try:
            self.session = ort.InferenceSession(
                onnx_file, sess_options=options, providers=providers)
        except Exception as e:  # ORT raises its own Fail/InvalidProtobuf
            raise ValueError(
                f'ONNX Runtime cannot load {onnx_file}: {e}') from e

        inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        if len(inputs) != 1:
            raise ValueError(f'{onnx_file} has {len(inputs)} inputs; a pose '
                             'model export has one (the image batch)')
        self.input_name = inputs[0].name
        names = [o.name for o in outputs]
        if output_name is None:  # pytorch2onnx.py names it 'heatmaps'
            output_name = 'heatmaps' if 'heatmaps' in names else names[-1]
        elif output_name not in names:
            raise ValueError(f'{onnx_file} has no output {output_name!r} '
                             f'(outputs: {names})')
        self.output_name = output_name
        in_shape = list(inputs[0].shape)
        out_shape = list(outputs[names.index(output_name)].shape)
        if len(in_shape) != 4 or len(out_shape) != 4:
            raise ValueError(
                f'{onnx_file}: expected an (N, 3, H, W) input and an '
                f'(N, K, h, w) heatmap output, got {in_shape} and '
                f'{out_shape} (only heatmap heads are supported)')
        self.batch_size = _dim(in_shape[0])  # None: dynamic
        self._check_shapes(in_shape, out_shape)

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
        k = _dim(out_shape[1])
        if k is not None and k != num_keypoints:
            raise ValueError(
                f'{self.onnx_file} predicts {k} keypoints, but the config '
                f'builds a model for {num_keypoints}: export the model of '
                'this config (or use the config of the exported model).')
        h, w = _dim(in_shape[2]), _dim(in_shape[3])
        if (h, w) != (in_h, in_w) and h is not None and w is not None:
            raise ValueError(
                f'{self.onnx_file} takes {w}x{h} inputs, but the config crops '
                f'{in_w}x{in_h}: export with --shape 1 3 {in_h} {in_w}.')
        if heatmap_size and None not in (_dim(out_shape[2]),
                                         _dim(out_shape[3])):
            hw = (out_shape[3], out_shape[2])
            if hw != tuple(heatmap_size):
                raise ValueError(
                    f'{self.onnx_file} outputs {hw[0]}x{hw[1]} heatmaps, but '
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
        """Run the network in ONNX Runtime.

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
            out = self.session.run([self.output_name],
                                   {self.input_name: part})[0]
            outputs.append(out[:min(chunk, n - start)])
        heatmaps = np.concatenate(outputs)
        if heatmaps.shape[1] != self.num_keypoints:
            raise ValueError(
                f'{self.onnx_file} predicted {heatmaps.shape[1]} keypoints, '
                f'but the config builds a model for {self.num_keypoints}.')
        return torch.from_numpy(heatmaps).to(inputs.device)

    def predict(self, inputs: Tensor,
                data_samples: List[PoseDataSample]) -> List[PoseDataSample]:
        """``TopdownPoseEstimator.predict`` with the network in ONNX Runtime:
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


def build_onnxruntime_estimator(onnx_file: str,
                                pose_estimator: nn.Module,
                                device: Optional[str] = None,
                                output_name: Optional[str] = None,
                                num_threads: Optional[int] = None
                                ) -> OnnxRuntimePoseEstimator:
    """Wrap ``pose_estimator``'s config around an ``.onnx`` file; logs which
    batching the file allows."""
    model = OnnxRuntimePoseEstimator(
        onnx_file,
        pose_estimator,
        output_name=output_name,
        device=device,
        num_threads=num_threads)
    if model.batch_size is not None:
        print_log(
            f'{onnx_file} has a fixed batch of {model.batch_size}: crops run '
            f'in chunks of {model.batch_size} (export with --dynamic-batch '
            'to run a whole batch at once).',
            logger='current')
    return model


__all__: Sequence[str] = [
    'BACKENDS', 'OnnxRuntimePoseEstimator', 'build_onnxruntime_estimator',
    'select_backend'
]
