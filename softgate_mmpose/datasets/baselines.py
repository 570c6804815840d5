# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The mean-pose baseline: what a top-down model scores without looking.

A top-down model is given each person's box. The mean pose places the
training people's mean joint positions, measured in each person's own box
frame, into every test person's box, whatever the image shows. Its PCK is
the floor a trained model's figure is read against.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np
from mmpose.structures.bbox import bbox_xywh2cs

from ..evaluation import LspPCKAccuracy


@dataclass(frozen=True)
class BoxFrames:
    """The regions a top-down model sees, one per person.

    ``GetBBoxCenterScale`` pads each box, ``TopdownAffine`` widens its
    shorter side to the input's aspect ratio; the region is mapped onto the
    input. Box coordinates are ``(x - center) / size``, within [-0.5, 0.5].

    Attributes:
        centers (np.ndarray): (N, 2) region centres, image pixels.
        sizes (np.ndarray): (N, 2) region width and height, image pixels.
    """
    centers: np.ndarray
    sizes: np.ndarray

    @classmethod
    def from_bboxes(cls,
                    bboxes_xywh: np.ndarray,
                    padding: float = 1.25,
                    aspect_ratio: float = 1.) -> 'BoxFrames':
        """Frames of (N, 4) ``x, y, w, h`` boxes, as MMPose's top-down
        pipeline builds them (``aspect_ratio``: input width / height)."""
        bboxes = np.asarray(bboxes_xywh, dtype=np.float64).reshape(-1, 4)
        centers, scales = bbox_xywh2cs(bboxes, padding=padding)
        centers = centers.reshape(-1, 2)
        w, h = scales.reshape(-1, 2).T
        wider = w > h * aspect_ratio
        sizes = np.stack([
            np.where(wider, w, h * aspect_ratio),
            np.where(wider, w / aspect_ratio, h)
        ],
                         axis=-1)
        return cls(centers, sizes)

    def to_box(self, keypoints: np.ndarray) -> np.ndarray:
        """(N, K, 2) image pixels → box coordinates."""
        return (keypoints - self.centers[:, None]) / self.sizes[:, None]

    def to_image(self, box_keypoints: np.ndarray) -> np.ndarray:
        """(N, K, 2) or (K, 2) box coordinates → (N, K, 2) image pixels."""
        return box_keypoints * self.sizes[:, None] + self.centers[:, None]


@dataclass(frozen=True)
class MeanPose:
    """The mean joint positions of training people in their box frames.

    Attributes:
        keypoints (np.ndarray): (K, 2) mean box coordinates per joint, over
            the people in whose image the joint is labelled; NaN for a joint
            labelled in no training image.
        counts (np.ndarray): (K,) number of people averaged per joint.
        padding (float): Box padding of the frames.
        aspect_ratio (float): Input width / height of the frames.
    """
    keypoints: np.ndarray
    counts: np.ndarray
    padding: float = 1.25
    aspect_ratio: float = 1.

    @classmethod
    def fit(cls,
            keypoints: np.ndarray,
            visible: np.ndarray,
            bboxes_xywh: np.ndarray,
            padding: float = 1.25,
            aspect_ratio: float = 1.) -> 'MeanPose':
        """Average the labelled joints of N training people.

        Args:
            keypoints (np.ndarray): (N, K, 2) joints, image pixels.
            visible (np.ndarray): (N, K) labelled (> 0) or not.
            bboxes_xywh (np.ndarray): (N, 4) the people's boxes.
            padding (float): Box padding, as ``GetBBoxCenterScale``'s.
            aspect_ratio (float): Input width / height of the model.
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)
        labelled = np.asarray(visible).reshape(keypoints.shape[:2]) > 0
        if len(keypoints) == 0:
            raise ValueError('MeanPose.fit needs at least one person')
        frames = BoxFrames.from_bboxes(bboxes_xywh, padding, aspect_ratio)
        box = frames.to_box(keypoints)
        counts = labelled.sum(0)
        with np.errstate(invalid='ignore'):  # 0 / 0: never labelled
            mean = (box * labelled[..., None]).sum(0) / counts[:, None]
        return cls(mean, counts, padding, aspect_ratio)

    def predict(self, bboxes_xywh: np.ndarray) -> np.ndarray:
        """(N, 4) boxes → (N, K, 2) predicted joints, image pixels."""
        frames = BoxFrames.from_bboxes(bboxes_xywh, self.padding,
                                       self.aspect_ratio)
        return frames.to_image(self.keypoints)


def coco_people(coco: dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joints, labels and boxes of a COCO keypoint dict's annotations.

    Returns:
        tuple: (N, K, 2) keypoints, (N, K) visibility (COCO's 0/1/2) and
        (N, 4) ``x, y, w, h`` boxes, in annotation order.
    """
    anns = coco['annotations']
    if not anns:
        raise ValueError('the COCO dict has no annotations')
    kpts = np.array([a['keypoints'] for a in anns], dtype=np.float64)
    kpts = kpts.reshape(len(anns), -1, 3)
    bboxes = np.array([a['bbox'] for a in anns], dtype=np.float64)
    return kpts[..., :2], kpts[..., 2], bboxes


def mean_pose_pck(train_coco: dict,
                  test_coco: dict,
                  thr: float = 0.2,
                  padding: float = 1.25,
                  aspect_ratio: float = 1.) -> Dict[str, float]:
    """PCK of the mean pose of ``train_coco``'s people on ``test_coco``'s.

    Scored by :class:`~softgate_mmpose.evaluation.LspPCKAccuracy` over the
    labelled joints, as the LSP configs evaluate a model.

    Args:
        train_coco (dict): COCO keypoint dict of the training people.
        test_coco (dict): COCO keypoint dict of the evaluated people.
        thr (float): PCK threshold, a fraction of the torso.
        padding (float): Box padding of the model's pipeline.
        aspect_ratio (float): Input width / height of the model.

    Returns:
        dict[str, float]: Per-part and ``'Mean'`` PCK, percent.
    """
    mean = MeanPose.fit(*coco_people(train_coco), padding, aspect_ratio)
    gt, visible, bboxes = coco_people(test_coco)
    pred = mean.predict(bboxes)
    metric = LspPCKAccuracy(thr=thr)
    metric.process([], [
        dict(
            pred_instances=dict(keypoints=p[None]),
            gt_instances=dict(keypoints=g[None], keypoints_visible=v[None]))
        for p, g, v in zip(pred, gt, np.minimum(visible, 1))
    ])
    return metric.compute_metrics(metric.results)
