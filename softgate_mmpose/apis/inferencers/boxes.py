# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Where the person boxes come from: the caller's boxes, checked and
assigned to their inputs, else a detector or the whole image."""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np

from .inputs import is_url

#: Boxes as the caller gives them: one entry per input, or a dict keyed by
#: image file name or path, or by frame index of a video.
BBoxesType = Union[Sequence, np.ndarray, Dict[Union[str, int], Sequence]]

#: ``det_model`` values of MMPose that build no detector.
WHOLE_IMAGE = ('whole_image', 'whole-image')


@dataclass(frozen=True)
class DetectorArgs:
    """The detector arguments of MMPose's ``Pose2DInferencer``.

    Attributes:
        det_model (Any): MMDetection config (path or metafile name) or
            object, or ``'whole_image'`` for no detector.
        det_weights (str, optional): Checkpoint of the detector.
        det_cat_ids (int | Sequence[int], optional): Classes kept as
            persons.
    """
    det_model: Any
    det_weights: Optional[str]
    det_cat_ids: Optional[Union[int, Sequence[int]]]


def detector_args(
        det_model: Any = None,
        det_weights: Optional[str] = None,
        det_cat_ids: Optional[Union[int, Tuple[int,
                                               ...]]] = None) -> DetectorArgs:
    """Check the detector arguments and fill in the plugin's defaults.

    Without ``det_model`` the whole image is the person box (MMPose would
    download an RTMDet person detector for body datasets); a detector's
    classes default to COCO's person class 0.

    Raises:
        FileNotFoundError: A missing detector config or checkpoint file.
    """
    if det_model is None or det_model in WHOLE_IMAGE:
        return DetectorArgs(WHOLE_IMAGE[0], det_weights, det_cat_ids)
    if isinstance(det_model, os.PathLike):
        det_model = os.fspath(det_model)
    if isinstance(det_model, str) and det_model.endswith('.py') and \
            not osp.isfile(det_model):
        raise FileNotFoundError(f'Detector config file not found: {det_model}')
    if det_weights is not None and not is_url(det_weights) and \
            not osp.isfile(det_weights):
        raise FileNotFoundError(
            f'Detector checkpoint file not found: {det_weights}')
    return DetectorArgs(det_model, det_weights,
                        0 if det_cat_ids is None else det_cat_ids)


def as_boxes(entry: Optional[Sequence], where: str) -> Optional[np.ndarray]:
    """One input's boxes as an (N, 4) or (N, 5) float32 array.

    Args:
        entry (Sequence, optional): x1, y1, x2, y2 boxes in pixels, with
            an optional score; one box may be given flat.
        where (str): The input, for messages.

    Returns:
        np.ndarray | None: Shape (N, 4) or (N, 5), or ``None`` when there
        are none (then the detector or the whole image is used).

    Raises:
        ValueError: Non-numeric boxes, another shape, or boxes without area
            or with non-finite values.
    """
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


def scored_above(boxes: Optional[np.ndarray],
                 bbox_thr: float) -> Optional[np.ndarray]:
    """Drop scored (N, 5) boxes not above ``bbox_thr``, as the detector's
    boxes are; (N, 4) boxes are kept."""
    if boxes is not None and boxes.shape[1] == 5:
        return boxes[boxes[:, 4] > bbox_thr]
    return boxes


def _input_index(inputs: Sequence, is_video: bool) -> Dict[str, int]:
    """``{key: input index}``: frame indices of a video, else the path and
    file name of each input."""
    if is_video:
        return {str(i): i for i in range(len(inputs))}
    index = {}
    for i, x in enumerate(inputs):
        if not isinstance(x, str):
            raise ValueError('bboxes given as a dict need file inputs '
                             '(keys are file names)')
        index[x] = index[osp.basename(x)] = i
    return index


def _boxes_by_key(inputs: Sequence, bboxes: dict,
                  is_video: bool) -> List[Optional[np.ndarray]]:
    index = _input_index(inputs, is_video)
    unknown = [k for k in bboxes if str(k) not in index]
    if unknown:
        raise ValueError(
            f'bboxes name inputs that are not given: {unknown[:5]}' +
            (' (keys are frame indices for a video)' if is_video else ''))
    per_input: List[Optional[np.ndarray]] = [None] * len(inputs)
    for key, entry in bboxes.items():
        per_input[index[str(key)]] = as_boxes(entry, f'input {key}')
    return per_input


def _single_input_boxes(bboxes: Sequence) -> Sequence:
    """One input's (N, 4) boxes given directly become a one-entry list."""
    try:
        flat = np.asarray(bboxes, dtype=np.float32)
    except (TypeError, ValueError):
        return bboxes
    return [flat] if flat.ndim == 2 else bboxes


def _boxes_in_order(inputs: Sequence, bboxes: Sequence,
                    is_video: bool) -> List[Optional[np.ndarray]]:
    n = len(inputs)
    if n == 1:
        bboxes = _single_input_boxes(bboxes)
    if len(bboxes) != n:
        raise ValueError(
            f'bboxes holds {len(bboxes)} entries for {n} inputs; give '
            'one (N, 4) array of x1, y1, x2, y2 boxes per input.')
    if is_video:
        names = [f'frame {i}' for i in range(n)]
    else:
        names = [
            x if isinstance(x, str) else f'#{i}' for i, x in enumerate(inputs)
        ]
    return [as_boxes(entry, name) for entry, name in zip(bboxes, names)]


def bboxes_per_input(
        inputs: Sequence,
        bboxes: Optional[BBoxesType]) -> Optional[List[Optional[np.ndarray]]]:
    """Assign the caller's boxes to the inputs, checking them all.

    Args:
        inputs (Sequence): Listed inputs (paths, arrays) or a
            ``mmcv.VideoReader``; a stream without length is refused.
        bboxes (sequence | dict, optional): Either one entry per input
            (MMPose's convention; a single (N, 4) array is accepted for a
            single input), or a dict keyed by image file name or path, or by
            frame index for a video.

    Returns:
        list | None: One (N, 4|5) array or ``None`` per input (``None``:
        the detector or the whole image), or ``None`` without ``bboxes``.

    Raises:
        ValueError: Boxes that do not match the inputs or are malformed.
    """
    if bboxes is None:
        return None
    if not hasattr(inputs, '__len__'):
        raise ValueError('bboxes cannot be given for a webcam stream')
    is_video = isinstance(inputs, mmcv.VideoReader)
    if isinstance(bboxes, dict):
        return _boxes_by_key(inputs, bboxes, is_video)
    return _boxes_in_order(inputs, bboxes, is_video)


__all__ = [
    'BBoxesType', 'DetectorArgs', 'WHOLE_IMAGE', 'as_boxes',
    'bboxes_per_input', 'detector_args', 'scored_above'
]
