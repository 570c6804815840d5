# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""MMPose's 2D pose inferencer with the plugin's aliases, user boxes,
batched folders, the strict checkpoint check and exported models.

The jobs around it live beside it: :mod:`.inputs` (listing and checking),
:mod:`.boxes` (person boxes), :mod:`..weights` (weights loading shared with
``init_model``), :mod:`.video` (video output) and :mod:`.mmpose_compat`
(what is overridden or copied from MMPose).
"""
import math
from typing import (Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.infer.infer import ModelType
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.structures import PoseDataSample, merge_data_samples

from ..weights import load_weights, resolve_model_source
from . import mmpose_compat
from .boxes import (BBoxesType, as_boxes, bboxes_per_input, detector_args,
                    scored_above)
from .inputs import SizedBatches, check_inputs
from .mmpose_compat import (box_instance, pose_data_info,
                            without_random_weights_warning)
from .video import VideoOutput, video_output_file

InputType = Union[str, np.ndarray]


def merge_per_input(
        data_samples: List[PoseDataSample]) -> List[PoseDataSample]:
    """Merge the per-crop predictions of a batch into one per input, by the
    ``input_index`` each crop is tagged with."""
    groups: Dict[int, List[PoseDataSample]] = {}
    for ds in data_samples:
        groups.setdefault(ds.metainfo.get('input_index', 0), []).append(ds)
    return [merge_data_samples(g) for g in groups.values()]


class SoftGatePose2DInferencer(Pose2DInferencer):
    """:class:`mmpose.apis.Pose2DInferencer` for the plugin's models.

    Differences from MMPose 1.3.2's ``Pose2DInferencer`` (each overridden
    or copied piece is named in :mod:`.mmpose_compat`):

    - ``model`` may be an alias of the plugin's metafile
      (``'softgate-hg4_mpii'``), the file name of one of its configs, a
      config path or a config object, and ``cfg_options`` edits the config
      (e.g. a small test model);
    - ``weights`` may be an ``.onnx`` file of
      ``tools/deployment/pytorch2onnx.py``: the network then runs in ONNX
      Runtime or OpenVINO, with the config's pipeline, flip test and codec
      decoding around it (:class:`~softgate_mmpose.apis.RuntimePoseEstimator`);
    - ``num_stacks`` runs only the first stacks of a stacked hourglass;
    - caller-supplied ``bboxes`` are used (MMPose's ``preprocess_single``
      replaces them by ``[]`` for top-down models);
    - without ``det_model`` the whole image is the person box (MMPose would
      download an RTMDet person detector for body datasets); a detector given
      by config and weights runs as in MMPose, ``det_cat_ids`` defaulting to
      COCO's person class 0;
    - ``batch_size`` images go through one forward pass (MMPose: one image);
    - a checkpoint that does not fit the config is refused with the reason
      (MMPose loads it non-strictly and warns);
    - missing or unreadable inputs and cameras raise a clear error, unknown
      call arguments too, and a video output is written to a partial file
      renamed when complete (deleted after an error or an early stop).

    Args:
        model (str | Config | dict): Alias, config file name or path, MMPose
            model name, or config object.
        weights (str, optional): Checkpoint path or URL, or an ``.onnx``
            file. Defaults to None.
        device (str, optional): Device to run on; ``None`` picks the available
            one. Defaults to None.
        scope (str): The registry scope. Defaults to ``'mmpose'``.
        det_model (str | Config, optional): MMDetection config (path or
            metafile name). ``None`` or ``'whole_image'`` uses the whole image
            as the single person box. Defaults to None.
        det_weights (str, optional): Checkpoint of the detector.
        det_cat_ids (int | Sequence[int], optional): Detector classes kept as
            persons. Defaults to ``0`` when a detector is given.
        show_progress (bool): Show a progress bar. Defaults to True.
        cfg_options (dict, optional): Overrides merged into the config.
        backend (str, optional): ``'pytorch'``, ``'onnxruntime'`` or
            ``'openvino'``; by default chosen from the weights' extension.
        num_stacks (int, optional): Keep stacks 1..K of a stacked hourglass
            (PyTorch backend). Defaults to None (all stacks).
    """

    def __init__(self,
                 model: Union[ModelType, str],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmpose',
                 det_model: Optional[Union[ModelType, str]] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Optional[Union[int, Sequence[int]]] = None,
                 show_progress: bool = True,
                 cfg_options: Optional[dict] = None,
                 backend: Optional[str] = None,
                 num_stacks: Optional[int] = None) -> None:
        source = resolve_model_source(model, weights, backend, cfg_options)
        self.backend = source.backend
        detector = detector_args(det_model, det_weights, det_cat_ids)
        # MMPose builds the model from the config; the weights are loaded
        # after, through the plugin's strict check (or run in a runtime).
        with without_random_weights_warning():
            super().__init__(
                model=source.config,
                weights=None,
                device=device,
                scope=scope,
                det_model=detector.det_model,
                det_weights=detector.det_weights,
                det_cat_ids=detector.det_cat_ids,
                show_progress=show_progress)
        self.model = load_weights(self.model, source, device, num_stacks)
        # a checkpoint's dataset meta takes precedence over the config's
        self.visualizer.set_dataset_meta(self.model.dataset_meta)
        self._video: Optional[VideoOutput] = None
        self._input_kind = 'images'

    # -------------------------------------------------------------- call
    def __call__(self,
                 inputs,
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: Optional[str] = None,
                 **kwargs) -> Iterator[dict]:
        """Run inference; yields one result dict (``predictions``,
        ``visualization``) per batch.

        Args:
            inputs: An image path or array, a list of them, a folder, a video
                file, ``'webcam'`` / ``'webcam:<id>'`` or a camera index.
            return_datasamples (bool): Return ``PoseDataSample``\\ s instead
                of dicts. Defaults to False.
            batch_size (int): Inputs per forward pass. Defaults to 1.
            out_dir (str, optional): Writes ``visualizations/`` and
                ``predictions/`` under it. Defaults to None.
            **kwargs: MMPose's call arguments: ``bboxes``, ``bbox_thr``,
                ``nms_thr``, ``pose_based_nms``, ``kpt_thr``, ``vis_out_dir``,
                ``pred_out_dir``, ... An unknown one raises.
        """
        self._check_call_arguments(kwargs)
        inputs, self._input_kind = check_inputs(inputs)
        self._video = None
        try:
            yield from super().__call__(
                inputs,
                return_datasamples=return_datasamples,
                batch_size=batch_size,
                out_dir=out_dir,
                **kwargs)
        except BaseException:
            # an error or an early stop: leave no half-written video behind
            self.discard_video()
            raise
        self.finish_video()

    def _check_call_arguments(self, kwargs: dict) -> None:
        known = set.union(self.preprocess_kwargs, self.forward_kwargs,
                          self.visualize_kwargs, self.postprocess_kwargs)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f'Unknown arguments {unknown}; known ones: '
                             f'{sorted(known)}')

    # --------------------------------------------------------- preprocess
    def preprocess(self,
                   inputs: Iterable,
                   batch_size: int = 1,
                   bboxes: Optional[BBoxesType] = None,
                   bbox_thr: float = 0.3,
                   nms_thr: float = 0.3,
                   **kwargs) -> Iterable[Tuple[dict, list]]:
        """Batches of ``batch_size`` inputs with all their person crops.

        Args:
            inputs (Iterable): Listed inputs (paths, arrays, video frames).
            batch_size (int): Inputs per forward pass. Defaults to 1.
            bboxes (sequence | dict, optional): Person boxes, see
                :func:`.boxes.bboxes_per_input`. Defaults to None.
            bbox_thr (float): Detector score threshold. Defaults to 0.3.
            nms_thr (float): Detector NMS IoU threshold. Defaults to 0.3.

        Returns:
            Iterable[tuple]: ``(collated crops, [inputs of the batch])``, with
            a length hint for the progress bar.
        """
        if self.cfg.data_mode != 'topdown':
            if bboxes is not None:
                raise ValueError('bboxes are only used by top-down models')
            return super().preprocess(
                inputs, batch_size, bbox_thr=bbox_thr, nms_thr=nms_thr)
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        # Checked eagerly: nothing runs or is written on bad boxes.
        per_input = bboxes_per_input(inputs, bboxes)
        num_batches = math.ceil(len(inputs) / batch_size) if hasattr(
            inputs, '__len__') else None
        return SizedBatches(
            self._iter_batches(inputs, batch_size, per_input, bbox_thr,
                               nms_thr), num_batches)

    def _iter_batches(self, inputs: Iterable, batch_size: int,
                      per_input: Optional[List[Optional[np.ndarray]]],
                      bbox_thr: float,
                      nms_thr: float) -> Iterator[Tuple[dict, list]]:
        crops, originals = [], []
        for i, single in enumerate(inputs):
            data_infos = self.preprocess_single(
                single,
                index=i,
                bbox_thr=bbox_thr,
                nms_thr=nms_thr,
                bboxes=per_input[i] if per_input is not None else None)
            for info in data_infos:
                # lets forward() regroup the crops of a batch by input
                info['data_samples'].set_metainfo(dict(input_index=i))
            crops.extend(data_infos)
            originals.append(single)
            if len(originals) == batch_size:
                yield self.collate_fn(crops), originals
                crops, originals = [], []
        if originals:
            yield self.collate_fn(crops), originals

    def preprocess_single(self,
                          input: InputType,
                          index: int,
                          bbox_thr: float = 0.3,
                          nms_thr: float = 0.3,
                          bboxes: Optional[np.ndarray] = None) -> List[dict]:
        """One input's crops: the caller's boxes if any, else MMPose's
        (detector boxes, or the whole image).

        Args:
            input (str | np.ndarray): Image path or BGR image.
            index (int): Index of the input (names array inputs).
            bbox_thr (float): Detector score threshold.
            nms_thr (float): Detector NMS IoU threshold.
            bboxes (np.ndarray, optional): (N, 4) xyxy boxes, or (N, 5) with
                a score, in image pixels. Scored boxes not above ``bbox_thr``
                are dropped; when no box is left, MMPose's boxes are used.

        Returns:
            list[dict]: The pipeline's output per box.
        """
        boxes = scored_above(as_boxes(bboxes, f'input {index}'), bbox_thr)
        if boxes is None or len(boxes) == 0:
            return super().preprocess_single(
                input, index=index, bbox_thr=bbox_thr, nms_thr=nms_thr)
        data_info = pose_data_info(input, index, self.model.dataset_meta)
        return [self.pipeline(box_instance(data_info, box)) for box in boxes]

    # ------------------------------------------------------------ forward
    @torch.no_grad()
    def forward(self,
                inputs: Union[dict, tuple],
                merge_results: bool = True,
                bbox_thr: float = -1,
                pose_based_nms: bool = False) -> List[PoseDataSample]:
        """One forward pass over all crops of the batch.

        Args:
            inputs (dict): Collated crops of one or more inputs.
            merge_results (bool): Merge the crops of each input into one data
                sample (one per input). Defaults to True.
            bbox_thr (float): Drop instances whose box score is not above it;
                ``-1`` keeps all. Defaults to -1.
            pose_based_nms (bool): Pose-based NMS per input. Defaults to
                False.

        Returns:
            list[PoseDataSample]: One per input when merged, else one per crop.
        """
        if self.cfg.data_mode != 'topdown' or not merge_results:
            return super().forward(inputs, merge_results, bbox_thr,
                                   pose_based_nms)
        per_crop = super().forward(
            inputs, merge_results=False, bbox_thr=bbox_thr)
        data_samples = merge_per_input(per_crop)
        if pose_based_nms:
            data_samples = [
                mmpose_compat.pose_based_nms(ds) for ds in data_samples
            ]
        return data_samples

    # ------------------------------------------------------------- output
    def save_visualization(self,
                           visualization: np.ndarray,
                           vis_out_dir: str,
                           img_name: Optional[str] = None) -> None:
        """MMPose's saving, except that a video goes to a partial file first
        (see :meth:`finish_video`) and is always an ``.mp4``."""
        if self._input_kind == 'images':
            return super().save_visualization(visualization, vis_out_dir,
                                              img_name)
        if self._video is None:
            height, width = visualization.shape[:2]
            self._video = VideoOutput(
                video_output_file(vis_out_dir, self.video_info['name']),
                (width, height), self.video_info.get('fps'))
        self._video.write(visualization)

    def finish_video(self) -> None:
        """Close the video writer and move the partial file into place."""
        video, self._video = self._video, None
        if video is not None:
            video.finish()

    def discard_video(self) -> None:
        """Close the video writer and delete its partial file (after an
        error or an early stop)."""
        video, self._video = self._video, None
        if video is not None:
            video.discard()
