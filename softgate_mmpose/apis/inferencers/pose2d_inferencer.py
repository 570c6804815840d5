# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""MMPose's 2D pose inferencer with the plugin's aliases, user boxes,
batched folders, the strict checkpoint check and ONNX Runtime."""
import logging
import math
import mimetypes
import os
import os.path as osp
from typing import (Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.infer.infer import ModelType
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist

from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.evaluation.functional import nearby_joints_nms
from mmpose.structures import PoseDataSample, merge_data_samples
from ...utils.checkpoint import load_checked_checkpoint
from ..model_aliases import resolve_model
from ..onnxruntime_estimator import build_onnxruntime_estimator, select_backend
from .mmpose_compat import without_random_weights_warning

InputType = Union[str, np.ndarray]
BBoxesType = Union[Sequence, np.ndarray, Dict[Union[str, int], Sequence]]


class _SizedBatches:
    """An iterable of batches that knows how many it holds, so that the
    progress bar of ``MMPoseInferencer.__call__`` shows a total and ETA."""

    def __init__(self, batches: Iterator, num_batches: Optional[int]):
        self._batches = batches
        self._num_batches = num_batches

    def __iter__(self) -> Iterator:
        return self._batches

    def __length_hint__(self) -> int:
        # ``operator.length_hint`` (used by rich's ``track``); 0 = unknown.
        return self._num_batches or 0


def _is_url(path: str) -> bool:
    return '://' in path


def _media_type(path: str) -> Optional[str]:
    """``'image'``, ``'video'`` or ``None`` from the file extension."""
    mime = mimetypes.guess_type(path)[0]
    return mime.split('/')[0] if mime else None


def list_image_files(folder: str) -> List[str]:
    """Sorted image files of ``folder`` (by extension, not recursive)."""
    return sorted(
        osp.join(folder, f) for f in os.listdir(folder)
        if osp.isfile(osp.join(folder, f)) and _media_type(f) == 'image')


def _check_image(path: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path}')
    if not cv2.haveImageReader(path):
        raise ValueError(f'Cannot read image {path}: OpenCV finds no '
                         'decoder for its content (not an image file?).')


def _check_video(path: str) -> None:
    cap = cv2.VideoCapture(path)
    try:
        readable = cap.isOpened() and cap.read()[0]
    finally:
        cap.release()
    if not readable:
        raise ValueError(
            f'Cannot read video {path}: OpenCV decodes no frame from it '
            '(not a video file, a broken one, or a codec OpenCV lacks).')


def _as_boxes(entry, where: str) -> Optional[np.ndarray]:
    """One input's boxes as an (N, 4) or (N, 5) float32 array, or ``None``
    when there are none (then the detector or the whole image is used)."""
    if entry is None:
        return None
    try:
        boxes = np.asarray(entry, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f'bboxes of {where} are not numeric boxes: {e}')
    if boxes.size == 0:
        return None
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
        raise ValueError(
            f'bboxes of {where} must have shape (N, 4) as x1, y1, x2, y2 '
            f'(or (N, 5) with a score), got shape {boxes.shape}')
    bad = ~np.isfinite(boxes).all(1) | (boxes[:, 2] <= boxes[:, 0]) | (
        boxes[:, 3] <= boxes[:, 1])
    if bad.any():
        raise ValueError(f'bboxes of {where} hold boxes without area or '
                         f'with non-finite values: {boxes[bad].tolist()}')
    return boxes


def _camera_id(inputs: str) -> Optional[int]:
    """The camera of ``'webcam'`` / ``'webcam:<id>'``, else ``None``."""
    if not inputs.lower().startswith('webcam'):
        return None
    parts = inputs.split(':')
    if len(parts) == 1:
        return 0
    if len(parts) == 2 and parts[1].isdigit():
        return int(parts[1])
    raise ValueError(f'Expected a camera as "webcam:<id>", got {inputs!r}')


def check_inputs(inputs) -> Tuple[Union[str, list], str]:
    """Check the inputs before anything runs or is written.

    A folder becomes its sorted image files (not recursive; MMPose fails on
    files without a known type); a missing path, an unreadable image or
    video, a folder without images or a camera that cannot be opened raises.

    Args:
        inputs: An image path or array, a list of them, a folder, a video
            file, ``'webcam'`` / ``'webcam:<id>'`` or a camera index.

    Returns:
        tuple: ``(inputs for MMPose, kind)`` with kind ``'images'``,
        ``'video'`` or ``'webcam'``.
    """
    if isinstance(inputs, os.PathLike):
        inputs = os.fspath(inputs)
    if isinstance(inputs, (int, np.integer)) and not isinstance(inputs, bool):
        inputs = f'webcam:{int(inputs)}'
    if isinstance(inputs, str) and not _is_url(inputs):
        camera = _camera_id(inputs)
        if camera is not None and not osp.exists(inputs):
            cap = cv2.VideoCapture(camera)
            opened = cap.isOpened()
            cap.release()
            if not opened:
                raise RuntimeError(f'Cannot open camera {inputs!r} (OpenCV '
                                   'VideoCapture failed); check the index.')
            return inputs, 'webcam'
        if osp.isdir(inputs):
            images = list_image_files(inputs)
            if not images:
                raise ValueError(f'No image files in folder {inputs}')
            return images, 'images'
        if not osp.exists(inputs):
            raise FileNotFoundError(f'Input not found: {inputs}')
        kind = _media_type(inputs)
        if kind == 'video':
            _check_video(inputs)
            return inputs, 'video'
        if kind == 'image':
            _check_image(inputs)
            return inputs, 'images'
        raise ValueError(f'Cannot tell whether {inputs} is an image or a '
                         'video from its extension.')
    if isinstance(inputs, (list, tuple)):
        inputs = [
            os.fspath(x) if isinstance(x, os.PathLike) else x for x in inputs
        ]
        for x in inputs:
            if isinstance(x, str) and not _is_url(x):
                _check_image(x)
    return inputs, 'images'


class SoftGatePose2DInferencer(Pose2DInferencer):
    """:class:`mmpose.apis.Pose2DInferencer` for the plugin's models.

    Differences from MMPose 1.3.2's ``Pose2DInferencer``:

    - ``model`` may be an alias of the plugin's metafile
      (``'softgate-hg4_mpii'``), the file name of one of its configs, a
      config path or a config object, and ``cfg_options`` edits the config
      (e.g. a small test model);
    - ``weights`` may be an ``.onnx`` file of
      ``tools/deployment/pytorch2onnx.py``: the network then runs in ONNX
      Runtime, with the config's pipeline, flip test and codec decoding
      around it (:class:`~softgate_mmpose.apis.OnnxRuntimePoseEstimator`);
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
        backend (str, optional): ``'pytorch'`` or ``'onnxruntime'``; by
            default chosen from the weights' extension.
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
                 backend: Optional[str] = None) -> None:
        model, weights = resolve_model(model, weights)
        self.backend = select_backend(weights, backend)
        if cfg_options:
            if isinstance(model, str):
                model = Config.fromfile(model)
            elif isinstance(model, dict) and not isinstance(model, Config):
                model = Config(model)
            model.merge_from_dict(cfg_options)
        config_name = model if isinstance(model, str) else \
            getattr(model, 'filename', None) or 'the given config'

        if det_model is None:
            det_model = 'whole_image'
        elif det_model not in ('whole_image', 'whole-image'):
            det_model = os.fspath(det_model) if isinstance(
                det_model, os.PathLike) else det_model
            if isinstance(det_model, str) and det_model.endswith('.py') \
                    and not osp.isfile(det_model):
                raise FileNotFoundError(
                    f'Detector config file not found: {det_model}')
            if det_weights is not None and not _is_url(det_weights) and \
                    not osp.isfile(det_weights):
                raise FileNotFoundError(
                    f'Detector checkpoint file not found: {det_weights}')
            if det_cat_ids is None:
                det_cat_ids = 0  # COCO 'person'

        # MMPose builds the model from the config; the weights are loaded
        # below, through the plugin's strict check (or run in ONNX Runtime).
        with without_random_weights_warning():
            super().__init__(
                model=model,
                weights=None,
                device=device,
                scope=scope,
                det_model=det_model,
                det_weights=det_weights,
                det_cat_ids=det_cat_ids,
                show_progress=show_progress)
        if self.backend == 'onnxruntime':
            self.model = build_onnxruntime_estimator(
                weights, self.model, device=device)
        elif weights is not None:
            load_checked_checkpoint(
                self.model,
                weights,
                self.cfg,
                checkpoint_name=str(weights),
                config_name=str(config_name))
            self.visualizer.set_dataset_meta(self.model.dataset_meta)
        else:
            print_log(
                'No weights given: the model of '
                f'{config_name} runs with its initial (random) weights.',
                logger='current',
                level=logging.WARNING)
        self._video_output: Optional[dict] = None
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
                file, ``'webcam'``, ``'webcam:<id>'`` or a camera index (int).
            return_datasamples (bool): Yield :obj:`PoseDataSample` instead of
                dicts. Defaults to False.
            batch_size (int): Images per forward pass. Defaults to 1.
            out_dir (str, optional): Sets ``vis_out_dir`` and
                ``pred_out_dir`` to its ``visualizations`` and
                ``predictions`` sub-folders.
            **kwargs: MMPose's call arguments: ``bboxes``, ``bbox_thr``,
                ``nms_thr``, ``show``, ``draw_bbox``, ``radius``,
                ``thickness``, ``kpt_thr``, ``vis_out_dir``,
                ``pred_out_dir``, ... An unknown one raises.
        """
        known = set.union(self.preprocess_kwargs, self.forward_kwargs,
                          self.visualize_kwargs, self.postprocess_kwargs)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f'Unknown arguments {unknown}; known ones: '
                             f'{sorted(known)}')
        inputs, self._input_kind = check_inputs(inputs)
        self._video_output = None
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

    def _bboxes_per_input(
            self, inputs, bboxes: Optional[BBoxesType]
    ) -> Optional[List[Optional[np.ndarray]]]:
        """Normalise ``bboxes`` to one (N, 4|5) array (or None) per input.

        ``bboxes`` is either a sequence with one entry per input (MMPose's
        convention; a single (N, 4) array is accepted for a single input), or
        a dict keyed by image file name or path, or by frame index for a
        video. Inputs without an entry use the detector or the whole image.
        """
        if bboxes is None:
            return None
        if self.cfg.data_mode != 'topdown':
            raise ValueError('bboxes are only used by top-down models')
        if not hasattr(inputs, '__len__'):
            raise ValueError('bboxes cannot be given for a webcam stream')
        n = len(inputs)
        is_video = isinstance(inputs, mmcv.VideoReader)
        if isinstance(bboxes, dict):
            per_input: List = [None] * n
            if is_video:
                index = {str(i): i for i in range(n)}
            else:
                index = {}
                for i, x in enumerate(inputs):
                    if not isinstance(x, str):
                        raise ValueError('bboxes given as a dict need file '
                                         'inputs (keys are file names)')
                    index[x] = index[osp.basename(x)] = i
            unknown = [k for k in bboxes if str(k) not in index]
            if unknown:
                raise ValueError(
                    f'bboxes name inputs that are not given: {unknown[:5]}' +
                    (' (keys are frame indices for a video)'
                     if is_video else ''))
            for key, entry in bboxes.items():
                i = index[str(key)]
                per_input[i] = _as_boxes(entry, f'input {key}')
            return per_input
        if n == 1:  # also accept the single input's (N, 4) boxes directly
            try:
                flat = np.asarray(bboxes, dtype=np.float32)
            except (TypeError, ValueError):
                flat = None
            if flat is not None and flat.ndim == 2:
                bboxes = [flat]
        if len(bboxes) != n:
            raise ValueError(
                f'bboxes holds {len(bboxes)} entries for {n} inputs; give '
                'one (N, 4) array of x1, y1, x2, y2 boxes per input.')
        names = [
            x if isinstance(x, str) else f'#{i}' for i, x in enumerate(inputs)
        ] if not is_video else None
        return [
            _as_boxes(entry, names[i] if names else f'frame {i}')
            for i, entry in enumerate(bboxes)
        ]

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
                :meth:`_bboxes_per_input`. Defaults to None.
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
        # Validate eagerly: nothing runs or is written on bad boxes.
        per_input = self._bboxes_per_input(inputs, bboxes)
        num_batches = math.ceil(len(inputs) / batch_size) if hasattr(
            inputs, '__len__') else None
        return _SizedBatches(
            self._iter_batches(inputs, batch_size, per_input, bbox_thr,
                               nms_thr), num_batches)

    def _iter_batches(self, inputs, batch_size, per_input, bbox_thr,
                      nms_thr) -> Iterator[Tuple[dict, list]]:
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
        bboxes = _as_boxes(bboxes, f'input {index}')
        if bboxes is not None and bboxes.shape[1] == 5:
            # scored boxes are thresholded like the detector's
            bboxes = bboxes[bboxes[:, 4] > bbox_thr]
        if bboxes is None or len(bboxes) == 0:
            return super().preprocess_single(
                input, index=index, bbox_thr=bbox_thr, nms_thr=nms_thr)
        if isinstance(input, str):
            data_info = dict(img_path=input)
        else:
            data_info = dict(img=input, img_path=f'{index}.jpg'.rjust(10, '0'))
        data_info.update(self.model.dataset_meta)
        data_infos = []
        for box in bboxes:
            inst = data_info.copy()
            inst['bbox'] = box[None, :4]
            inst['bbox_score'] = box[4:5] if box.size == 5 else np.ones(
                1, dtype=np.float32)
            data_infos.append(self.pipeline(inst))
        return data_infos

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
        data_samples = self.model.test_step(inputs)
        if self.cfg.data_mode == 'topdown' and merge_results:
            groups: Dict[int, List[PoseDataSample]] = {}
            for ds in data_samples:
                groups.setdefault(ds.metainfo.get('input_index', 0),
                                  []).append(ds)
            data_samples = [merge_data_samples(g) for g in groups.values()]

        # The same filters as MMPose's Pose2DInferencer.forward, per input.
        if bbox_thr > 0:
            for ds in data_samples:
                if 'bbox_scores' in ds.pred_instances:
                    ds.pred_instances = ds.pred_instances[
                        ds.pred_instances.bbox_scores > bbox_thr]
        if pose_based_nms:
            for ds in data_samples:
                if len(ds.pred_instances) == 0:
                    continue
                kpts = ds.pred_instances.keypoints
                scores = ds.pred_instances.bbox_scores
                keep = nearby_joints_nms(
                    [
                        dict(keypoints=kpts[i], score=scores[i])
                        for i in range(len(kpts))
                    ],
                    num_nearby_joints_thr=kpts.shape[-2] // 3)
                ds.pred_instances = ds.pred_instances[keep]
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
        if self._video_output is None:
            info = self.video_info
            if osp.splitext(vis_out_dir)[1]:
                out_file = vis_out_dir
            else:
                stem = osp.splitext(osp.basename(info['name']))[0]
                out_file = osp.join(vis_out_dir, f'{stem}.mp4')
            mkdir_or_exist(osp.dirname(osp.abspath(out_file)))
            root, ext = osp.splitext(out_file)
            partial = f'{root}.partial{ext}'
            height, width = visualization.shape[:2]
            fps = info.get('fps') or 0
            writer = cv2.VideoWriter(partial, cv2.VideoWriter_fourcc(*'mp4v'),
                                     fps if fps > 0 else 30,  # cameras: 0
                                     (width, height))
            if not writer.isOpened():
                raise RuntimeError(
                    f'Cannot open a video writer for {out_file}')
            self._video_output = dict(
                writer=writer, output_file=out_file, partial_file=partial)
        self._video_output['writer'].write(mmcv.rgb2bgr(visualization))

    def finish_video(self) -> None:
        """Close the video writer and move the partial file into place."""
        out = self._video_output
        if out is None:
            return
        self._video_output = None
        out['writer'].release()
        os.replace(out['partial_file'], out['output_file'])
        print_log(
            f'the output video has been saved at {out["output_file"]}',
            logger='current',
            level=logging.INFO)

    def discard_video(self) -> None:
        """Close the video writer and delete its partial file (after an
        error or an early stop)."""
        out = self._video_output
        if out is None:
            return
        self._video_output = None
        out['writer'].release()
        if osp.exists(out['partial_file']):
            os.remove(out['partial_file'])
